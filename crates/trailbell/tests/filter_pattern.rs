//! CloudWatch Logs filter patterns through the binary: `test-metric-filter`, rule files with a
//! `filter_pattern`, `rules convert`.

mod common;

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
