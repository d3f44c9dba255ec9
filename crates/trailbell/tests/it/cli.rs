//! The `trailbell` binary, run for real: arguments in, stdout, stderr and exit code out.

use crate::common;

use common::{code, stderr, stdout, workspace_root};

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SEED_RULES: &str = "testdata/rules/seed.json";
const SAMPLE_EVENTS: &str = "testdata/events/samples.jsonl";
const CONSOLE_SIGN_IN: &str = r#"{
    "source": ["aws.signin"],
    "detail-type": ["AWS Console Sign In via CloudTrail"],
    "detail": {"userIdentity": {"type": ["Root", "IAMUser"]}}
}"#;

fn trailbell(args: &[&str]) -> Output {
    common::run_with_stdin(args, b"")
}

fn trailbell_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    common::run_with_stdin(args, stdin)
}

/// A scratch file for one test, under cargo's per-target temporary directory.
fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    fs::write(&path, contents).expect("scratch file is written");
    path
}

fn envelope(name: &str) -> String {
    format!("file://testdata/envelopes/{name}.json")
}

#[test]
fn test_event_pattern_prints_true_for_a_matching_event() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"source": ["aws.signin"]}"#,
        "--event",
        r#"{"source": "aws.signin", "detail": {}}"#,
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "{\"Result\": true}\n");
    assert_eq!(stderr(&output), "");
}

#[test]
fn test_event_pattern_prints_false_and_succeeds_for_a_non_matching_event() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"source": ["aws.signin"]}"#,
        "--event",
        r#"{"source": "aws.ec2"}"#,
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "{\"Result\": false}\n");
}

#[test]
fn test_event_pattern_reads_file_urls_relative_to_the_working_directory() {
    let pattern = scratch_file("console-sign-in-pattern.json", CONSOLE_SIGN_IN);
    let pattern_url = format!("file://{}", pattern.display());
    for (event, expected) in [
        ("console-login-root-no-mfa", true),
        ("console-login-iam-mfa", true),
        ("console-login-saml", false),
        ("iam-create-user", false),
    ] {
        let output = trailbell(&[
            "test-event-pattern",
            "--event-pattern",
            &pattern_url,
            "--event",
            &envelope(event),
        ]);
        assert_eq!(code(&output), 0, "{event}: {}", stderr(&output));
        assert_eq!(
            stdout(&output),
            format!("{{\"Result\": {expected}}}\n"),
            "{event}"
        );
    }
}

#[test]
fn test_event_pattern_reads_file_urls_with_absolute_paths() {
    let event = workspace_root().join("testdata/envelopes/console-login-root-mfa.json");
    let event = fs::canonicalize(event).expect("sample envelope exists");
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"detail": {"additionalEventData": {"MFAUsed": [{"equals-ignore-case": "yes"}]}}}"#,
        "--event",
        &format!("file://{}", event.display()),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "{\"Result\": true}\n");
}

#[test]
fn test_event_pattern_names_a_file_it_cannot_read() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        "file://no/such/pattern.json",
        "--event",
        "{}",
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("failed to read --event-pattern file no/such/pattern.json: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn test_event_pattern_reports_an_invalid_pattern_like_eventbridge() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"source": [{"prefix": 5}]}"#,
        "--event",
        "{}",
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    assert!(
        message.starts_with("InvalidEventPatternException: Event pattern is not valid. Reason: "),
        "{message}"
    );
    assert!(
        message.trim_end().ends_with("(at $.source[0].prefix)"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn test_event_pattern_rejects_a_pattern_that_is_not_an_object() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        "[]",
        "--event",
        "{}",
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "InvalidEventPatternException: Event pattern is not valid. Reason: Filter is not an object\n"
    );
}

#[test]
fn test_event_pattern_reports_an_invalid_event_with_its_byte_offset() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        "{}",
        "--event",
        r#"{"a": tru}"#,
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("invalid event at byte 6: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn test_event_pattern_rejects_an_event_that_is_not_an_object() {
    let output = trailbell(&[
        "test-event-pattern",
        "--event-pattern",
        "{}",
        "--event",
        "[1]",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid event at byte 0: event is not a JSON object"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn match_answers_every_sample_event_with_the_seed_rules() {
    let output = trailbell(&["match", "--rules", SEED_RULES, "--events", SAMPLE_EVENTS]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    // One line per sample, in the file's order (the envelopes sorted by file name).
    let expected = [
        r#"[]"#,                                                       // cloudtrail-stop-logging
        r#"["console-sign-in","sign-in-without-mfa"]"#,                // console-login-iam-failure
        r#"["console-sign-in"]"#,                                      // console-login-iam-mfa
        r#"["console-sign-in","sign-in-without-mfa"]"#,                // console-login-iam-no-mfa
        r#"["console-sign-in","root-sign-in","sign-in-without-mfa"]"#, // console-login-root-failure
        r#"["console-sign-in","root-sign-in"]"#, // console-login-root-mfa ("YES")
        r#"["console-sign-in","root-sign-in","sign-in-without-mfa"]"#, // console-login-root-no-mfa
        r#"["sign-in-without-mfa"]"#,            // console-login-saml
        r#"["sign-in-without-mfa"]"#,            // console-login-sso
        r#"["console-sign-in","sign-in-without-mfa"]"#, // console-login-unknown-user
        r#"[]"#,                                 // ec2-describe-instances
        r#"["security-group-changed"]"#,         // ec2-sg-ingress-open-22
        r#"[]"#,                                 // ec2-stop-instances
        r#"[]"#,                                 // ec2-unauthorized
        r#"["iam-user-created-or-deleted"]"#,    // iam-create-user
        r#"["iam-user-created-or-deleted"]"#,    // iam-delete-user
        r#"[]"#,                                 // rds-delete-db-instance
        r#"[]"#,                                 // s3-put-bucket-policy
    ];
    assert_eq!(stdout(&output).lines().collect::<Vec<_>>(), expected);
}

#[test]
fn match_reads_standard_input_and_reports_malformed_lines() {
    let events = concat!(
        "{\"source\": \"aws.signin\", \"detail-type\": \"AWS Console Sign In via CloudTrail\", ",
        "\"detail\": {\"userIdentity\": {\"type\": \"Root\"}, \"additionalEventData\": {\"MFAUsed\": \"Yes\"}}}\n",
        "\n",
        "{\"source\": \"aws.iam\", \"detail\": tru}\n",
        "   \n",
        "{\"source\": \"aws.ec2\"}\n",
    );
    let output = trailbell_with_stdin(&["match", "--rules", SEED_RULES], events.as_bytes());
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "[\"console-sign-in\",\"root-sign-in\"]\nnull\n[]\n"
    );
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("line 3: invalid event at byte 32: "),
        "{message}"
    );
}

#[test]
fn match_treats_a_line_that_is_not_utf8_as_malformed() {
    let output = trailbell_with_stdin(
        &["match", "--rules", SEED_RULES],
        b"{\"source\": \"\xff\xfe\"}\n{}\n",
    );
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "null\n[]\n");
    assert!(
        stderr(&output).starts_with("line 1: invalid event at byte "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn match_succeeds_on_empty_input() {
    let output = trailbell_with_stdin(&["match", "--rules", SEED_RULES], b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn match_handles_a_large_event() {
    let padding = "a".repeat(2 * 1024 * 1024);
    let event = format!(
        "{{\"source\": \"aws.iam\", \"detail-type\": \"AWS API Call via CloudTrail\", \"detail\": {{\"pad\": \"{padding}\", \"eventSource\": \"iam.amazonaws.com\", \"eventName\": \"DeleteUser\"}}}}\n{{}}\n"
    );
    let output = trailbell_with_stdin(&["match", "--rules", SEED_RULES], event.as_bytes());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "[\"iam-user-created-or-deleted\"]\n[]\n");
}

#[test]
fn match_lists_every_invalid_rule_before_reading_events() {
    let rules = scratch_file(
        "invalid-rules.json",
        r#"{
            "fine": {"source": ["aws.signin"]},
            "not-an-object": ["aws.signin"],
            "bad-prefix": {"source": [{"prefix": 5}]},
            "bad-numeric": {"detail": {"n": [{"numeric": [">", "x"]}]}}
        }"#,
    );
    let rules = rules.to_str().expect("scratch path is UTF-8");
    // Malformed events too: they must not be read, so they must not be reported.
    let output = trailbell_with_stdin(&["match", "--rules", rules], b"not json\n");
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 4, "{message}");
    assert_eq!(
        lines[0],
        format!("invalid rules file {rules}: 3 invalid rules:")
    );
    assert!(
        lines[1].starts_with("  rule \"bad-numeric\": Event pattern is not valid. Reason: "),
        "{message}"
    );
    assert!(
        lines[2].starts_with("  rule \"bad-prefix\": Event pattern is not valid. Reason: "),
        "{message}"
    );
    assert!(
        lines[3].starts_with("  rule \"not-an-object\": Event pattern is not valid. Reason: "),
        "{message}"
    );
    assert!(!message.contains("line 1"), "{message}");
}

#[test]
fn match_rejects_a_rules_file_that_is_not_an_object() {
    let rules = scratch_file("array-rules.json", "[]");
    let output = trailbell(&["match", "--rules", rules.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("expected a JSON object of rule names to event patterns"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn match_names_a_rules_file_it_cannot_read() {
    let output = trailbell(&["match", "--rules", "no/such/rules.json"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("failed to read rules file no/such/rules.json: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn match_names_an_events_file_it_cannot_open() {
    let output = trailbell(&[
        "match",
        "--rules",
        SEED_RULES,
        "--events",
        "no/such/events.jsonl",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("failed to open events file no/such/events.jsonl: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rule_names_are_escaped_on_the_terminal() {
    let rules = scratch_file("escape-rules.json", r#"{"\u001b[31mred\nline": [1]}"#);
    let output = trailbell(&["match", "--rules", rules.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(!message.contains('\u{1b}'), "{message}");
    assert_eq!(message.lines().count(), 2, "{message}");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(["match", "--rules", SEED_RULES])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailbell starts");
    // Close the reading end before trailbell writes anything.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let _ = stdin.write_all(&b"{}\n".repeat(1000));
    drop(stdin);
    let output = child.wait_with_output().expect("trailbell runs");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

#[test]
fn unknown_commands_are_usage_errors() {
    let output = trailbell(&["frobnicate"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("unrecognized subcommand"),
        "{}",
        stderr(&output)
    );
}
