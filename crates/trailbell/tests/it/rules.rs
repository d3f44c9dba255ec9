//! `trailbell rules`, run for real: the built-in pack's tests, failing tests, invalid rule files and
//! the listing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;

use common::{code, stderr, stdout, workspace_root};

fn trailbell(args: &[&str]) -> Output {
    common::run(args)
}

/// A fresh, empty directory for one test under cargo's per-target temporary directory, with an
/// `events/` subdirectory for fixtures.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rules-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("events")).expect("scratch directory is created");
    dir
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

const ROOT_ONLY: &str = r#"
name = "root-only"
title = "Anything done as root"
severity = "high"
description = "Root did something."
event_pattern = '{"detail": {"userIdentity": {"type": ["Root"]}}}'

[[tests]]
name = "root sign-in, from a fixture beside the rule"
event = "my-root-sign-in"
matches = true

[[tests]]
name = "IAM user sign-in, wrongly expected to match"
event = "console-login-iam-mfa"
matches = true

[[tests]]
name = "inline root event, wrongly expected not to match"
event_json = '{"detail": {"userIdentity": {"type": "Root"}}}'
matches = false

[[tests]]
name = "inline IAM user event"
event_json = '{"detail": {"userIdentity": {"type": "IAMUser"}}}'
matches = false
"#;

#[test]
fn the_builtin_pack_passes_its_own_tests() {
    let output = trailbell(&["rules", "test"]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let out = stdout(&output);
    let summary = out.lines().last().expect("a summary line");
    assert!(summary.ends_with(" passed, 0 failed"), "{out}");
    let passed: usize = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count of passed tests");
    assert!(passed >= 4 * 26, "{out}");
    // Besides the summary, only the named differences between a rule's two languages.
    assert_eq!(
        out.lines().filter(|l| !l.starts_with("differs ")).count(),
        1,
        "{out}"
    );
    assert_eq!(stderr(&output), "");
}

#[test]
fn the_builtin_pack_on_disk_is_the_embedded_one() {
    let embedded = trailbell(&["rules", "list", "--format", "json"]);
    let on_disk = trailbell(&["rules", "list", "--format", "json", "rules"]);
    assert_eq!(code(&on_disk), 0, "{}", stderr(&on_disk));
    let names = |output: &Output| -> Vec<(String, String)> {
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        list.as_array()
            .expect("an array")
            .iter()
            .map(|rule| (rule["name"].to_string(), rule["title"].to_string()))
            .collect()
    };
    assert_eq!(names(&embedded), names(&on_disk));
    let tested = trailbell(&["rules", "test", "rules"]);
    assert_eq!(code(&tested), 0, "{}", stdout(&tested));
}

#[test]
fn failing_tests_are_named_and_exit_1() {
    let dir = scratch_dir("failing");
    fs::write(dir.join("root-only.toml"), ROOT_ONLY).expect("rule file is written");
    fs::copy(
        workspace_root().join("rules/events/console-login-root-mfa.json"),
        dir.join("events/my-root-sign-in.json"),
    )
    .expect("fixture is copied");

    let output = trailbell(&["rules", "test", path_arg(&dir)]);
    assert_eq!(code(&output), 1, "{}{}", stdout(&output), stderr(&output));
    let source = dir.join("root-only.toml").display().to_string();
    let lines: Vec<&str> = stdout(&output).lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "FAIL root-only / \"IAM user sign-in, wrongly expected to match\": expected a match, got none ({source})"
            )
            .as_str(),
            format!(
                "FAIL root-only / \"inline root event, wrongly expected not to match\": expected no match, got a match ({source})"
            )
            .as_str(),
            "2 passed, 2 failed",
        ]
    );

    // One file rather than the directory: fixtures are looked up beside it all the same.
    let output = trailbell(&["rules", "test", path_arg(&dir.join("root-only.toml"))]);
    assert_eq!(code(&output), 1, "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).ends_with("2 passed, 2 failed\n"));
}

#[test]
fn invalid_rule_files_exit_2_listing_every_problem() {
    let dir = scratch_dir("invalid");
    fs::write(
        dir.join("a.toml"),
        r#"
name = "a"
title = "A"
severity = "hgh"
descripton = "typo"
event_pattern = '{"source": ["aws.signin"], "detail": {"x": [{"prefix": 5}]}}'

[[tests]]
name = "t"
event = "no-such-fixture"
matches = "yes"
"#,
    )
    .expect("rule file is written");
    fs::write(dir.join("b.toml"), "name = \"not-b\"\ntitle = [").expect("rule file is written");
    fs::write(
        dir.join("c.toml"),
        ROOT_ONLY.replace("name = \"root-only\"", "name = \"c\""),
    )
    .expect("rule file is written");

    let output = trailbell(&["rules", "test", path_arg(&dir)]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    assert_eq!(stdout(&output), "");
    let a = dir.join("a.toml").display().to_string();
    let b = dir.join("b.toml").display().to_string();
    let c = dir.join("c.toml").display().to_string();
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        format!("invalid rules {}: 8 problems in rule files:", dir.display()),
        "{err}"
    );
    let expected = [
        format!(
            "  {a}: severity: unknown severity \"hgh\", expected one of info, low, medium, high, critical"
        ),
        format!("  {a}: description: missing, expected a string"),
        format!(
            "  {a}: event_pattern: Event pattern is not valid. Reason: prefix match pattern must be a string (at $.detail.x[0].prefix)"
        ),
        format!(
            "  {a}: tests[0].event: unknown event fixture \"no-such-fixture\" (looked in {}/ and the built-in fixtures)",
            dir.join("events").display()
        ),
        format!("  {a}: tests[0].matches: expected a boolean, found a string"),
        format!("  {a}: descripton: unknown key, did you mean description?"),
    ];
    assert_eq!(&lines[1..7], expected, "{err}");
    assert!(
        lines[7].starts_with(&format!("  {b}: invalid TOML at line 2, column ")),
        "{err}"
    );
    assert_eq!(
        lines[8],
        format!(
            "  {c}: tests[0].event: unknown event fixture \"my-root-sign-in\" (looked in {}/ and the built-in fixtures)",
            dir.join("events").display()
        ),
        "{err}"
    );
    assert_eq!(lines.len(), 9, "{err}");

    // `rules list` refuses the same files the same way.
    let listed = trailbell(&["rules", "list", path_arg(&dir)]);
    assert_eq!(code(&listed), 2);
    assert_eq!(stderr(&listed), err);
}

#[test]
fn missing_paths_and_empty_directories_exit_2() {
    let dir = scratch_dir("empty");
    let output = trailbell(&["rules", "test", path_arg(&dir)]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        format!(
            "invalid rules {0}: no rule files (*.toml) in {0}\n",
            dir.display()
        )
    );

    let missing = dir.join("missing");
    let output = trailbell(&["rules", "list", path_arg(&missing)]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with(&format!(
            "invalid rules {0}: failed to read {0}: ",
            missing.display()
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rules_list_json_describes_every_rule() {
    let output = trailbell(&["rules", "list", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let rules = list.as_array().expect("a JSON array");
    assert!(rules.len() >= 26);
    let severities = ["info", "low", "medium", "high", "critical"];
    for rule in rules {
        assert!(
            rule["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{rule}"
        );
        assert!(
            rule["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{rule}"
        );
        assert!(rule["description"].as_str().is_some(), "{rule}");
        assert!(
            rule["severity"]
                .as_str()
                .is_some_and(|s| severities.contains(&s)),
            "{rule}"
        );
        assert!(rule["cis"].is_array(), "{rule}");
        assert!(rule["tests"].as_u64().is_some_and(|n| n >= 4), "{rule}");
        let source = rule["source"].as_str().expect("a source");
        assert_eq!(
            source,
            format!("rules/{}.toml", rule["name"].as_str().unwrap_or_default())
        );
    }
    let root = rules
        .iter()
        .find(|rule| rule["name"] == "root-console-sign-in")
        .expect("root-console-sign-in is built in");
    assert_eq!(root["severity"], "high");
    let seed = rules
        .iter()
        .find(|rule| rule["name"] == "console-sign-in")
        .expect("console-sign-in is built in");
    assert_eq!(seed["severity"], "info");
}

#[test]
fn rules_list_table_has_a_header_and_a_line_per_rule() {
    let output = trailbell(&["rules", "list"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let out = stdout(&output);
    let mut lines = out.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("NAME ") && header.ends_with("  SEVERITY  TITLE"),
        "{out}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 26, "{out}");
    assert!(
        rows.iter()
            .any(|row| row.starts_with("security-group-opened-to-internet ")
                && row.contains("  high  ")),
        "{out}"
    );
}

#[test]
fn untrusted_text_in_user_rules_is_escaped() {
    let dir = scratch_dir("escape");
    fs::write(
        dir.join("x.toml"),
        "name = \"x\"\ntitle = \"t\"\nseverity = \"low\"\ndescription = \"d\"\nevent_pattern = '{}'\n\
         [[tests]]\nname = \"evil\\u001b[2J\\nFAIL forged\"\nevent_json = '{\"a\": 1}'\nmatches = false\n",
    )
    .expect("rule file is written");
    let output = trailbell(&["rules", "test", path_arg(&dir)]);
    assert_eq!(code(&output), 1);
    let out = stdout(&output);
    assert!(!out.contains('\u{1b}'), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn rules_list_markdown_is_the_committed_docs_rules_md() {
    let output = trailbell(&["rules", "list", "--format", "markdown"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let committed =
        fs::read_to_string(workspace_root().join("docs/RULES.md")).expect("docs/RULES.md");
    assert!(
        stdout(&output) == committed,
        "docs/RULES.md is stale: run `trailbell rules list --format markdown > docs/RULES.md`"
    );
    // A user's pack gets its tables alone, with its ATT&CK ids linked.
    let dir = scratch_dir("markdown");
    fs::write(
        dir.join("mine.toml"),
        "name = \"mine\"\ntitle = \"A | B\"\nseverity = \"low\"\ndescription = \"d\"\n\
         attack = [\"T1078.004\"]\nevent_pattern = '{}'\n",
    )
    .expect("write");
    let output = trailbell(&["rules", "list", "--format", "markdown", path_arg(&dir)]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let page = stdout(&output);
    assert!(page.starts_with("# Rules\n"), "{page}");
    assert!(
        page.contains(
            "| `mine` | low | A \\| B | [T1078.004](https://attack.mitre.org/techniques/T1078/004/) |  |"
        ),
        "{page}"
    );
}

#[test]
fn import_sigma_converts_what_it_can_and_names_each_refusal() {
    let sigma = workspace_root().join("testdata/sigma");
    let output = trailbell(&["rules", "import-sigma", "--report", path_arg(&sigma)]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "6 converted, 4 refused, of 10 Sigma rules (60% converted)\n"
    );
    let refusals: Vec<&str> = stderr(&output).lines().collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert!(
        refusals.iter().any(|line| line.ends_with(
            "aws_cloudtrail_refused_regex.yml: userIdentity.arn|re: regular expressions cannot be expressed"
        )),
        "{refusals:?}"
    );

    // --out writes rule files that load as a pack, authorship kept.
    let out = scratch_dir("sigma-out");
    let output = trailbell(&[
        "rules",
        "import-sigma",
        "--out",
        path_arg(&out),
        path_arg(&sigma),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let listed = trailbell(&["rules", "list", "--format", "json", path_arg(&out)]);
    assert_eq!(code(&listed), 0, "{}", stderr(&listed));
    let rules: serde_json::Value = serde_json::from_str(stdout(&listed)).expect("JSON");
    let rules = rules.as_array().expect("an array");
    assert_eq!(rules.len(), 6);
    for rule in rules {
        let description = rule["description"].as_str().expect("a description");
        assert!(
            description.contains("Detection Rule License 1.1")
                && description.contains("trailbell tests"),
            "{rule}"
        );
    }
    let converted = fs::read_to_string(out.join("sigma-aws-guardduty-detector-deleted.toml"))
        .expect("a converted file");
    assert!(
        converted.starts_with("# Converted from the Sigma rule"),
        "{converted}"
    );

    // Every rule converted: exit 0; the file printed when there is no --out.
    let one = sigma.join("aws_cloudtrail_guardduty_detector_deleted.yml");
    let output = trailbell(&["rules", "import-sigma", path_arg(&one)]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).starts_with("# sigma-aws-guardduty-detector-deleted\n# Converted"));
    let missing = trailbell(&["rules", "import-sigma", "no/such/dir"]);
    assert_eq!(code(&missing), 2);
}
