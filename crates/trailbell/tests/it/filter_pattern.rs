//! CloudWatch Logs filter patterns through the binary: `test-metric-filter`, rule files with a
//! `filter_pattern`, `rules convert`.

use crate::common;

use common::{code, stderr, stdout, workspace_root};

const SEED: &str = "{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }";

/// The CloudTrail record (the envelope's `detail`) of a built-in fixture, compact, as a trail
/// sends it to CloudWatch Logs.
fn record(fixture: &str) -> String {
    let path = workspace_root().join(format!("rules/events/{fixture}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    let envelope: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    envelope["detail"].to_string()
}

#[test]
fn test_metric_filter_answers_like_the_aws_cli_for_the_seed_pattern() {
    let no_mfa = record("console-login-iam-no-mfa");
    let mfa = record("console-login-iam-mfa");
    let root_upper = record("console-login-root-mfa");
    let output = common::run(&[
        "test-metric-filter",
        "--filter-pattern",
        SEED,
        "--log-event-messages",
        &mfa,
        &no_mfa,
        "not json at all",
        &root_upper,
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // The AWS CLI's layout: four-space indentation, the API's key order.
    let expected = format!(
        "{{\n    \"matches\": [\n        {{\n            \"eventNumber\": 2,\n            \"eventMessage\": {},\n            \"extractedValues\": {{}}\n        }},\n        {{\n            \"eventNumber\": 4,\n            \"eventMessage\": {},\n            \"extractedValues\": {{}}\n        }}\n    ]\n}}\n",
        serde_json::Value::String(no_mfa),
        serde_json::Value::String(root_upper),
    );
    assert_eq!(stdout(&output), expected);
    assert_eq!(stderr(&output), "");
}

#[test]
fn test_metric_filter_prints_an_empty_list_and_succeeds_when_nothing_matches() {
    let output = common::run(&[
        "test-metric-filter",
        "--filter-pattern",
        SEED,
        "--log-event-messages",
        &record("console-login-iam-mfa"),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "{\n    \"matches\": []\n}\n");
}

#[test]
fn test_metric_filter_matches_term_patterns_on_text() {
    let output = common::run(&[
        "test-metric-filter",
        "--filter-pattern",
        "ERROR -Exiting",
        "--log-event-messages",
        "[ERROR] A fatal exception has occurred",
        "Exiting with ERRORCODE: -1",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let answer: serde_json::Value = serde_json::from_str(stdout(&output)).expect("JSON");
    assert_eq!(answer["matches"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer["matches"][0]["eventNumber"], 1);
}

#[test]
fn test_metric_filter_refuses_an_invalid_pattern_with_its_column() {
    let output = common::run(&[
        "test-metric-filter",
        "--filter-pattern",
        "{ $.eventName = ConsoleLogin && }",
        "--log-event-messages",
        "{}",
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.contains("InvalidParameterException"), "{err}");
    assert!(
        err.contains("Invalid filter pattern: expected a property selector starting with `$` or `(` (at column 33)"),
        "{err}"
    );
}

#[test]
fn test_metric_filter_refuses_more_than_fifty_messages() {
    let mut args = vec![
        "test-metric-filter",
        "--filter-pattern",
        "x",
        "--log-event-messages",
    ];
    args.extend(std::iter::repeat_n("x", 51));
    let output = common::run(&args);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("1 to 50 messages, got 51"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn test_metric_filter_reads_the_pattern_from_a_file() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("seed-filter.txt");
    std::fs::write(&path, format!("{SEED}\n")).expect("written");
    let output = common::run(&[
        "test-metric-filter",
        "--filter-pattern",
        &format!("file://{}", path.display()),
        "--log-event-messages",
        &record("console-login-iam-no-mfa"),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("\"eventNumber\": 1"));
}

/// A scratch directory for one test, emptied first.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn rules_test_names_every_difference_between_the_cis_filters_and_the_pack() {
    let output = common::run(&["rules", "test"]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let differences: Vec<&str> = stdout(&output)
        .lines()
        .filter(|l| l.starts_with("differs "))
        .collect();
    // Each is a documented difference (testdata/filter-patterns/README.md): the CIS filters
    // count failed calls and calls the pack files under a sibling rule; the pack alerts on
    // successful changes, on root sign-ins without MFA, and on more event names.
    let expected = [
        // CloudWatch.5 is one filter for both CloudTrail rules, failed calls included.
        r#"differs cloudtrail-created-or-started / "logging stopped": the event pattern does not match, the filter pattern matches"#,
        r#"differs cloudtrail-stopped-or-changed / "management events no longer recorded": the event pattern matches, the filter pattern does not"#,
        r#"differs cloudtrail-stopped-or-changed / "logging started": the event pattern does not match, the filter pattern matches"#,
        r#"differs cloudtrail-stopped-or-changed / "StopLogging denied": the event pattern does not match, the filter pattern matches"#,
        // CloudWatch.6 wants errorMessage "Failed authentication"; an unknown user gets another.
        r#"differs console-sign-in-failed / "no such user in the account": the event pattern matches, the filter pattern does not"#,
        // CloudWatch.3: IAM users only, and MFAUsed compared case-sensitively with "Yes".
        r#"differs console-sign-in-without-mfa / "root, MFAUsed No": the event pattern matches, the filter pattern does not"#,
        r#"differs console-sign-in-without-mfa / "root, no MFAUsed field at all": the event pattern matches, the filter pattern does not"#,
        r#"differs console-sign-in-without-mfa / "IAM user, MFAUsed YES": the event pattern does not match, the filter pattern matches"#,
        r#"differs console-sign-in-without-mfa / "IAM user, MFAUsed yes": the event pattern does not match, the filter pattern matches"#,
        // CloudWatch.1: invokedBy NOT EXISTS leaves out root's console actions (signin.amazonaws.com).
        r#"differs root-account-used / "root attaches a policy in the console": the event pattern matches, the filter pattern does not"#,
        // CloudWatch.8 has no public-access-block calls, counts failures, and covers both S3 rules.
        r#"differs s3-bucket-access-changed / "bucket public access block turned off": the event pattern matches, the filter pattern does not"#,
        r#"differs s3-bucket-access-changed / "bucket public access block deleted": the event pattern matches, the filter pattern does not"#,
        r#"differs s3-bucket-access-changed / "account public access block turned off": the event pattern matches, the filter pattern does not"#,
        r#"differs s3-bucket-access-changed / "bucket policy change denied": the event pattern does not match, the filter pattern matches"#,
        r#"differs s3-bucket-access-changed / "CORS configuration (see s3-bucket-configuration-changed)": the event pattern does not match, the filter pattern matches"#,
        r#"differs s3-bucket-configuration-changed / "bucket policy (see s3-bucket-access-changed)": the event pattern does not match, the filter pattern matches"#,
        // CloudWatch.10 predates ModifySecurityGroupRules, and counts failed calls.
        r#"differs security-group-changed / "rule modified": the event pattern matches, the filter pattern does not"#,
        r#"differs security-group-changed / "ingress denied (nothing changed)": the event pattern does not match, the filter pattern matches"#,
        // CloudWatch.2 is the CIS v1.2 form, without the HeadBucket and log-delivery exclusions.
        r#"differs unauthorized-api-call / "S3 HeadBucket denied": the event pattern does not match, the filter pattern matches"#,
        r#"differs unauthorized-api-call / "log delivery denied": the event pattern does not match, the filter pattern matches"#,
    ];
    assert_eq!(differences, expected);
}

#[test]
fn a_rule_written_only_as_a_filter_pattern_is_tested_and_scanned() {
    let dir = scratch_dir("filter-only-rule");
    std::fs::write(
        dir.join("no-mfa.toml"),
        format!(
            r#"name = "no-mfa"
title = "Console sign-in without MFA"
severity = "high"
description = "The seed's metric filter."
filter_pattern = '{SEED}'

[[tests]]
name = "no MFA"
event = "console-login-iam-no-mfa"
matches = true

[[tests]]
name = "MFA"
event = "console-login-iam-mfa"
matches = false
"#
        ),
    )
    .expect("written");
    let dir_arg = dir.display().to_string();
    let output = common::run(&["rules", "test", &dir_arg]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert_eq!(stdout(&output), "4 passed, 0 failed\n");

    // The rule runs in the compiled matcher like any other: scan the sample archive with it.
    let output = common::run(&[
        "scan",
        "--rules",
        &dir_arg,
        "--format",
        "jsonl",
        "testdata/AWSLogs",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let alerts: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("rule").is_some())
        .collect();
    assert!(!alerts.is_empty(), "{}", stdout(&output));
    assert!(alerts.iter().all(|a| a["rule"] == "no-mfa"), "{alerts:?}");
}

#[test]
fn a_pinned_filter_answer_that_does_not_hold_fails_the_test() {
    let dir = scratch_dir("filter-pinned");
    std::fs::write(
        dir.join("r.toml"),
        format!(
            r#"name = "r"
title = "t"
severity = "low"
description = "d"
event_pattern = '{{"detail": {{"eventName": ["ConsoleLogin"]}}}}'
filter_pattern = '{SEED}'

[[tests]]
name = "MFA"
event = "console-login-iam-mfa"
matches = true
filter_matches = true
"#
        ),
    )
    .expect("written");
    let output = common::run(&["rules", "test", &dir.display().to_string()]);
    assert_eq!(code(&output), 1, "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output)
            .starts_with(r#"FAIL r / "MFA (filter_pattern)": expected a match, got none"#),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_filter_without_an_exact_translation_needs_an_event_pattern_beside_it() {
    let dir = scratch_dir("filter-inexact");
    std::fs::write(
        dir.join("r.toml"),
        r#"name = "r"
title = "t"
severity = "low"
description = "d"
filter_pattern = '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS}'
"#,
    )
    .expect("written");
    std::fs::write(
        dir.join("s.toml"),
        r#"name = "s"
title = "t"
severity = "low"
description = "d"
filter_pattern = '{ $.a = }'
"#,
    )
    .expect("written");
    let output = common::run(&["rules", "test", &dir.display().to_string()]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("r.toml: filter_pattern: this filter pattern has no exact event-pattern form"),
        "{err}"
    );
    assert!(
        err.contains(
            "s.toml: filter_pattern: Invalid filter pattern: expected a value (at column 9)"
        ),
        "{err}"
    );
}

#[test]
fn config_rules_take_a_filter_pattern_in_place_of_an_event_pattern() {
    let dir = scratch_dir("filter-config");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[api]\nauthentication = \"disabled\"\n\n[[rules]]\nName = \"no-mfa\"\nFilterPattern = '{SEED}'\n"
        ),
    )
    .expect("written");
    let output = common::run(&["validate", &good.display().to_string()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        r#"[[rules]]
Name = "inexact"
FilterPattern = '{ $.a NOT EXISTS }'

[[rules]]
Name = "neither"

[[rules]]
Name = "invalid-beside"
EventPattern = '{"source": ["aws.signin"]}'
FilterPattern = '{ $.a = x'
"#,
    )
    .expect("written");
    let output = common::run(&["validate", &bad.display().to_string()]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let err = stderr(&output);
    for expected in [
        "rules[0].FilterPattern: this filter pattern has no exact event-pattern form",
        "rules[1].EventPattern: missing: a rule needs EventPattern or FilterPattern",
        "rules[2].FilterPattern: Invalid filter pattern: expected `}` closing the JSON pattern",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

/// Every built-in fixture envelope, and each again as a failed call (`errorCode` AccessDenied)
/// and as a successful one (no `errorCode`): the record corpus the CIS filters and the pack's
/// event patterns are compared on.
fn envelope_corpus() -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for dir in ["rules/events", "testdata/envelopes"] {
        let mut paths: Vec<_> = std::fs::read_dir(workspace_root().join(dir))
            .expect("fixture directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("readable");
            let envelope: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = format!("{dir}/{stem}");
            let mut failed = envelope.clone();
            failed["detail"]["errorCode"] = "AccessDenied".into();
            let mut succeeded = envelope.clone();
            if let Some(detail) = succeeded["detail"].as_object_mut() {
                detail.remove("errorCode");
                detail.remove("errorMessage");
            }
            out.push((name.clone(), envelope));
            out.push((format!("{name} +errorCode"), failed));
            out.push((format!("{name} -errorCode"), succeeded));
        }
    }
    out
}

#[test]
fn the_cis_filters_and_the_pack_differ_only_as_documented() {
    use trailbell::rules::RulePack;
    use trailbell_pattern::{FilterPattern, Pattern};

    let corpus = envelope_corpus();
    let mut lines = Vec::new();
    for rule in RulePack::builtin().rules() {
        let Some(filter) = &rule.filter_pattern else {
            continue;
        };
        let filter = FilterPattern::parse(filter).expect("built-in filters are valid");
        let pattern = Pattern::parse(&rule.event_pattern).expect("built-in patterns are valid");
        for (name, envelope) in &corpus {
            let event = pattern
                .matches(envelope.to_string().as_bytes())
                .expect("an object");
            let by_filter = filter.matches_record(&envelope["detail"]);
            if event != by_filter {
                let side = if event {
                    "event pattern only"
                } else {
                    "filter pattern only"
                };
                lines.push(format!("{} | {name} | {side}", rule.name));
            }
        }
    }
    let found = lines.join("\n") + "\n";
    let path = workspace_root().join("testdata/filter-patterns/pack-differences.txt");
    let documented = std::fs::read_to_string(&path).unwrap_or_default();
    let documented: String = documented
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        found == documented,
        "the differences changed; found:\n{found}"
    );
}

#[test]
fn rules_convert_translates_exactly_both_ways() {
    let output = common::run(&[
        "rules",
        "convert",
        "--to",
        "event-pattern",
        "rules/console-sign-in-without-mfa.toml",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let converted = stdout(&output).trim_end().to_owned();
    assert_eq!(
        converted,
        r#"{"detail":{"additionalEventData":{"MFAUsed":[{"anything-but":"Yes"}]},"eventName":["ConsoleLogin"],"responseElements":{"ConsoleLogin":["Success"]},"userIdentity":{"type":["IAMUser"]}}}"#
    );

    // And back: the event pattern said as a filter pattern again.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("converted.json");
    std::fs::write(&path, &converted).expect("written");
    let output = common::run(&[
        "rules",
        "convert",
        "--to",
        "filter-pattern",
        &path.display().to_string(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "{ ($.additionalEventData.MFAUsed != \"Yes\") && ($.eventName = \"ConsoleLogin\") && ($.responseElements.ConsoleLogin = \"Success\") && ($.userIdentity.type = \"IAMUser\") }\n"
    );
}

#[test]
fn rules_convert_says_why_there_is_no_exact_translation() {
    let output = common::run(&[
        "rules",
        "convert",
        "--to",
        "filter-pattern",
        "rules/console-sign-in-without-mfa.toml",
    ]);
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output)
            .contains("$.detail-type: a filter pattern sees only the CloudTrail record (detail)"),
        "{}",
        stderr(&output)
    );
    let output = common::run(&[
        "rules",
        "convert",
        "--to",
        "event-pattern",
        "rules/root-account-used.toml",
    ]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("no exact event-pattern form (NOT EXISTS"),
        "{}",
        stderr(&output)
    );
    let output = common::run(&["rules", "convert", "--to", "event-pattern", "no/such/file"]);
    assert_eq!(code(&output), 2);
}

#[test]
fn emit_cis_metric_filters_writes_a_template_that_passes_cfn_lint() {
    let dir = scratch_dir("cis-metric-filters");
    let file = dir.join("template.json");
    let output = common::run(&[
        "deploy",
        "--emit",
        "cis-metric-filters",
        "--log-group",
        "cloudtrail-logs",
        "--target-sns-topic-arn",
        "arn:aws:sns:us-east-1:123456789012:alerts",
        "--output",
        &file.display().to_string(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    let resources = template["Resources"].as_object().expect("resources");
    let filters: Vec<&serde_json::Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Logs::MetricFilter")
        .collect();
    let alarms: Vec<&serde_json::Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    let with_filter = trailbell::rules::RulePack::builtin()
        .rules()
        .iter()
        .filter(|r| r.filter_pattern.is_some())
        .count();
    assert_eq!(filters.len(), with_filter);
    assert_eq!(alarms.len(), with_filter);

    // Every Security Hub control's pattern is there verbatim, on the log group.
    let reference: toml::Table = std::fs::read_to_string(
        workspace_root().join("testdata/filter-patterns/security_hub.toml"),
    )
    .expect("corpus")
    .parse()
    .expect("TOML");
    let cases = reference["case"].as_array().expect("cases");
    for case in cases {
        let pattern = case["pattern"].as_str().expect("a pattern");
        assert!(
            filters
                .iter()
                .any(|f| f["Properties"]["FilterPattern"] == pattern
                    && f["Properties"]["LogGroupName"] == "cloudtrail-logs"),
            "{} has no metric filter",
            case["control"]
        );
    }
    // Each alarm watches its filter's metric and notifies the topic.
    for alarm in &alarms {
        let props = &alarm["Properties"];
        assert!(filters.iter().any(|f| {
            let t = &f["Properties"]["MetricTransformations"][0];
            t["MetricName"] == props["MetricName"] && t["MetricNamespace"] == props["Namespace"]
        }));
        assert_eq!(
            props["AlarmActions"][0],
            "arn:aws:sns:us-east-1:123456789012:alerts"
        );
    }

    let lint = std::process::Command::new("cfn-lint")
        .arg(&file)
        .output()
        .expect("cfn-lint runs (scripts/test puts .venv/bin on PATH)");
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn emit_cis_metric_filters_needs_a_log_group_and_a_topic() {
    let output = common::run(&[
        "deploy",
        "--emit",
        "cis-metric-filters",
        "--target-sns-topic-arn",
        "arn:aws:sns:us-east-1:123456789012:alerts",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("needs --log-group NAME"),
        "{}",
        stderr(&output)
    );
    let output = common::run(&[
        "deploy",
        "--emit",
        "cis-metric-filters",
        "--log-group",
        "g",
        "--target-lambda-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("needs --target-sns-topic-arn"),
        "{}",
        stderr(&output)
    );
}
