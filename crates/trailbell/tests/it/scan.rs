//! `trailbell scan`, driven as a user drives it: the real binary on the test data.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use trailbell::rules::RulePack;

fn testdata(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(path)
        .display()
        .to_string()
}

fn trailbell(args: &[&str], stdin: Option<&[u8]>) -> Output {
    match stdin {
        Some(input) => common::run_with_stdin(args, input),
        None => common::run(args),
    }
}

/// A finished scan in JSON lines: its alerts, summaries, stats, stderr and exit code.
struct Scan {
    code: i32,
    alerts: Vec<Value>,
    summaries: Vec<Value>,
    stats: Value,
    stderr: String,
}

impl Scan {
    /// `(rule, event_id)` of every alert, sorted.
    fn pairs(&self) -> BTreeSet<(String, String)> {
        self.alerts.iter().map(pair).collect()
    }

    fn stat(&self, name: &str) -> u64 {
        self.stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("stat {name}"))
    }
}

/// `(rule, event_id)` of an alert.
fn pair(alert: &Value) -> (String, String) {
    (
        alert["rule"].as_str().expect("rule").to_owned(),
        alert["event_id"].as_str().expect("event_id").to_owned(),
    )
}

fn scan_jsonl(args: &[&str], stdin: Option<&[u8]>) -> Scan {
    let mut all = vec!["scan", "--format", "jsonl"];
    all.extend_from_slice(args);
    let output = trailbell(&all, stdin);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let (mut alerts, mut summaries, mut stats) = (Vec::new(), Vec::new(), Value::Null);
    for line in stdout.lines() {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        match value["kind"].as_str() {
            Some("alert") => alerts.push(value),
            Some("summary") => summaries.push(value),
            Some("stats") => stats = value,
            other => panic!("unknown kind {other:?}: {line}"),
        }
    }
    Scan {
        code: output.status.code().expect("exit code"),
        alerts,
        summaries,
        stats,
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// The alerts the built-in pack gives for the sample envelopes, `(rule, eventID)`: what scanning
/// the sample records must give, if records become those envelopes. Threshold rules are left
/// out: the samples hold three failed sign-ins, under the five that fire one.
fn expected_sample_alerts() -> BTreeSet<(String, String)> {
    let rules = RulePack::builtin().compile().expect("built-in pack");
    let mut expected = BTreeSet::new();
    for entry in fs::read_dir(testdata("envelopes")).expect("envelopes") {
        let text = fs::read(entry.expect("entry").path()).expect("envelope");
        let envelope: Value = serde_json::from_slice(&text).expect("JSON");
        let event_id = envelope["detail"]["eventID"].as_str().expect("eventID");
        for id in rules.matcher().matches(&text).expect("valid event") {
            if rules.rule(id).noise.threshold.is_none() {
                expected.insert((rules.rule(id).name.clone(), event_id.to_owned()));
            }
        }
    }
    expected
}

#[test]
fn the_sample_archive_gives_the_alerts_of_the_sample_envelopes() {
    let scan = scan_jsonl(&[&testdata("AWSLogs")], None);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stderr, "");
    let expected = expected_sample_alerts();
    assert!(expected.len() >= 10, "{expected:?}");
    assert_eq!(scan.pairs(), expected);
    for (rule, event) in [
        (
            "root-console-sign-in",
            "5a1e0000-0000-4000-8000-000000000001",
        ),
        (
            "console-sign-in-without-mfa",
            "5a1e0000-0000-4000-8000-000000000004",
        ),
        (
            "iam-user-created-or-deleted",
            "5a1e0000-0000-4000-8000-000000000010",
        ),
        (
            "cloudtrail-stopped-or-changed",
            "5a1e0000-0000-4000-8000-000000000016",
        ),
    ] {
        assert!(
            scan.pairs().contains(&(rule.to_owned(), event.to_owned())),
            "{rule} {event}"
        );
    }
    // Three log files; the digest file beside them is not read.
    assert_eq!(scan.stat("files"), 3);
    assert_eq!(scan.stat("records"), 18);
    assert_eq!(scan.stat("alerts"), expected.len() as u64);
    let summed: u64 = scan
        .summaries
        .iter()
        .map(|s| s["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(summed, expected.len() as u64);
}

#[test]
fn alerts_carry_who_what_where_and_when() {
    let scan = scan_jsonl(&[&testdata("AWSLogs")], None);
    let alert = scan
        .alerts
        .iter()
        .find(|a| {
            a["rule"] == "root-console-sign-in"
                && a["event_id"] == "5a1e0000-0000-4000-8000-000000000001"
        })
        .expect("the root sign-in alert");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["time"], "2026-11-02T08:15:00Z");
    assert_eq!(alert["account"], "111122223333");
    assert_eq!(alert["region"], "us-east-1");
    assert_eq!(alert["who"], "arn:aws:iam::111122223333:root");
    assert_eq!(alert["what"], "signin.amazonaws.com:ConsoleLogin");
    assert_eq!(alert["source_ip"], "192.0.2.10");
    assert!(
        alert["file"]
            .as_str()
            .expect("file")
            .ends_with("abcdEXAMPLE16.json.gz")
    );
}

#[test]
fn the_json_format_is_one_document() {
    let output = trailbell(&["scan", "--format", "json", &testdata("AWSLogs")], None);
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let alerts = report["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), expected_sample_alerts().len());
    assert!(report["summary"].as_array().expect("summary").len() > 3);
    assert_eq!(report["stats"]["records"], 18);

    let output = trailbell(
        &[
            "scan",
            "--format",
            "json",
            "--since",
            "2030-01-01",
            &testdata("AWSLogs"),
        ],
        None,
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(report["alerts"], Value::Array(Vec::new()));
}

#[test]
fn the_table_has_a_row_per_alert_and_a_summary() {
    let output = trailbell(&["scan", &testdata("AWSLogs")], None);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("TIME                  SEVERITY  RULE")
    );
    let rows = lines.by_ref().take_while(|line| !line.is_empty()).count();
    assert_eq!(rows, expected_sample_alerts().len());
    assert!(lines.next().expect("summary header").starts_with("RULE"));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert!(stderr.starts_with("Scanned 3 files"), "{stderr}");
}

#[test]
fn table_cells_cannot_reach_the_terminal_raw() {
    let record = fs::read_to_string(testdata(
        "cloudtrail/records/console-login-root-no-mfa.json",
    ))
    .expect("record");
    let hostile = record.replace(
        "arn:aws:iam::111122223333:root",
        "\\u001b[2J\\u001b]0;pwned\\u0007\\n\\u202e",
    );
    let output = trailbell(&["scan", "-"], Some(hostile.as_bytes()));
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.contains(r"\u{1b}[2J"), "{stdout}");
    assert!(
        !stdout.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{stdout:?}"
    );
}

#[test]
fn each_kind_of_bad_input_is_named_counted_and_skipped() {
    for (file, reason, files, values) in [
        ("corrupt.json.gz", "corrupt gzip", 1, 0),
        ("truncated.json.gz", "truncated gzip", 1, 0),
        ("not-cloudtrail.json", "not CloudTrail", 1, 0),
        ("invalid-json.json", "invalid JSON at byte", 1, 0),
        ("oversized-record.json.gz", "over EventBridge's limit", 0, 1),
    ] {
        let path = testdata(&format!("cloudtrail/bad/{file}"));
        let scan = scan_jsonl(&[&path], None);
        assert_eq!(scan.code, 1, "{file}: {}", scan.stderr);
        let line = scan.stderr.lines().next().expect("a problem line");
        assert!(line.contains(&path), "{file}: {line}");
        assert!(line.contains(reason), "{file}: {line}");
        assert_eq!(scan.stderr.lines().count(), 1, "{}", scan.stderr);
        assert_eq!(scan.stat("skipped_files"), files, "{file}");
        assert_eq!(scan.stat("skipped_records"), values, "{file}");
    }
}

#[test]
fn the_rest_of_a_file_with_a_bad_value_is_still_scanned() {
    // The oversized record sits between a root sign-in and a StopLogging call.
    let scan = scan_jsonl(
        &[&testdata("cloudtrail/bad/oversized-record.json.gz")],
        None,
    );
    let rules: BTreeSet<String> = scan.pairs().into_iter().map(|(rule, _)| rule).collect();
    assert!(rules.contains("root-console-sign-in"), "{rules:?}");
    assert!(rules.contains("cloudtrail-stopped-or-changed"), "{rules:?}");
    assert!(scan.stderr.contains("at byte "), "{}", scan.stderr);
    // And the record before invalid JSON was scanned.
    let scan = scan_jsonl(&[&testdata("cloudtrail/bad/invalid-json.json")], None);
    assert!(
        scan.pairs()
            .iter()
            .any(|(rule, _)| rule == "root-console-sign-in")
    );
    assert!(
        scan.stderr.contains("(the 1 value before it was scanned)"),
        "{}",
        scan.stderr
    );
}

#[test]
fn a_scan_goes_on_past_bad_files_and_strict_stops_at_the_first() {
    let bad = testdata("cloudtrail/bad");
    let good = testdata("AWSLogs");
    let scan = scan_jsonl(&[&bad, &good], None);
    assert_eq!(scan.code, 1);
    assert_eq!(scan.stat("skipped_files"), 4);
    assert_eq!(scan.stat("skipped_records"), 1);
    assert_eq!(scan.stderr.lines().count(), 5, "{}", scan.stderr);
    assert!(scan.pairs().is_superset(&expected_sample_alerts()));

    let output = trailbell(
        &[
            "scan",
            "--strict",
            "--threads",
            "1",
            "--format",
            "jsonl",
            &bad,
            &good,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("corrupt.json.gz: corrupt gzip"), "{stderr}");
}

#[test]
fn unreadable_files_are_named_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/nonexistent/x", dir.path().join("gone.json.gz")).expect("symlink");
    let missing = dir.path().join("missing.json").display().to_string();
    let scan = scan_jsonl(&[&dir.path().display().to_string(), &missing], None);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert_eq!(scan.stat("skipped_files"), 2);
    assert!(
        scan.stderr
            .contains("gone.json.gz: no such file or directory")
    );
    assert!(
        scan.stderr
            .contains("missing.json: no such file or directory")
    );
}

#[test]
fn events_repeated_across_files_alert_once() {
    let scan = scan_jsonl(&[&testdata("cloudtrail/duplicates")], None);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stat("records"), 6);
    let pairs = scan.pairs();
    assert_eq!(pairs.len(), scan.alerts.len(), "an alert was repeated");
    assert!(pairs.contains(&(
        "cloudtrail-stopped-or-changed".to_owned(),
        "5a1e0000-0000-4000-8000-000000000016".to_owned()
    )));
    assert_eq!(scan.stat("duplicates"), 2);
    // The same events given twice on the command line, and once as envelopes: still once.
    let dir = testdata("cloudtrail/duplicates");
    let envelope = fs::read(testdata("envelopes/cloudtrail-stop-logging.json")).expect("read");
    let twice = scan_jsonl(&[&dir, &dir, "-"], Some(&envelope));
    assert_eq!(twice.pairs(), pairs);
    assert_eq!(twice.alerts.len(), pairs.len());
}

#[test]
fn since_and_until_filter_on_event_time() {
    let all = expected_sample_alerts();
    let late = scan_jsonl(
        &["--since", "2026-11-02T09:00:00Z", &testdata("AWSLogs")],
        None,
    );
    let early = scan_jsonl(
        &["--until", "2026-11-02T09:00:00Z", &testdata("AWSLogs")],
        None,
    );
    assert_eq!(late.code, 0);
    assert!(
        late.alerts
            .iter()
            .all(|a| a["time"] == "2026-11-02T09:30:00Z")
    );
    assert!(
        early
            .alerts
            .iter()
            .all(|a| a["time"] == "2026-11-02T08:15:00Z")
    );
    assert!(!late.alerts.is_empty() && !early.alerts.is_empty());
    let union: BTreeSet<_> = late.pairs().union(&early.pairs()).cloned().collect();
    assert_eq!(union, all);
    assert_eq!(
        late.stat("outside_window") + early.stat("outside_window"),
        18
    );

    // Whole days outside the window are not even read.
    let none = scan_jsonl(&["--since", "2026-11-04", &testdata("AWSLogs")], None);
    assert_eq!(none.code, 0);
    assert_eq!(none.stat("files"), 0);
    let day = scan_jsonl(
        &[
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-03",
            &testdata("AWSLogs"),
        ],
        None,
    );
    assert_eq!(day.pairs(), all);
}

#[test]
fn standard_input_takes_gzip_files_json_lines_and_single_events() {
    let gz = fs::read(testdata(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0935Z_abcdEXAMPLE16.json.gz",
    ))
    .expect("read");
    let scan = scan_jsonl(&["-"], Some(&gz));
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stat("records"), 16);
    assert!(!scan.alerts.is_empty());
    assert!(scan.alerts.iter().all(|a| a["file"] == "standard input"));

    let lines = fs::read(testdata("cloudtrail/mixed.jsonl")).expect("read");
    let scan = scan_jsonl(&["-"], Some(&lines));
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stat("records"), 3);
    let rules: BTreeSet<String> = scan.pairs().into_iter().map(|(rule, _)| rule).collect();
    assert!(
        rules.contains("security-group-opened-to-internet"),
        "{rules:?}"
    );
    assert!(rules.contains("console-sign-in-without-mfa"), "{rules:?}");

    let single = fs::read(testdata("cloudtrail/records/iam-create-user.json")).expect("read");
    let scan = scan_jsonl(&["-"], Some(&single));
    assert_eq!(scan.stat("records"), 1);
    assert_eq!(scan.alerts[0]["rule"], "iam-user-created-or-deleted");

    let scan = scan_jsonl(&["-"], Some(b"{\"not\": \"cloudtrail\"}\n"));
    assert_eq!(scan.code, 1);
    assert!(
        scan.stderr.contains("standard input: not CloudTrail"),
        "{}",
        scan.stderr
    );
}

#[test]
fn multi_member_gzip_files_are_read_whole() {
    let scan = scan_jsonl(&[&testdata("cloudtrail/multi-member.json.gz")], None);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stat("records"), 3);
}

#[test]
fn decompression_bombs_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("bomb.json.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b' '; 3 << 20]).expect("in memory");
    fs::write(&path, encoder.finish().expect("in memory")).expect("write");
    let path = path.display().to_string();
    let scan = scan_jsonl(&["--max-file-mib", "2", &path], None);
    assert_eq!(scan.code, 1);
    assert!(
        scan.stderr
            .contains("decompresses to more than 2097152 bytes"),
        "{}",
        scan.stderr
    );
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let sample = testdata("AWSLogs");
    for args in [
        vec!["scan", "--since", "last tuesday", sample.as_str()],
        vec![
            "scan",
            "--since",
            "2026-11-03",
            "--until",
            "2026-11-02",
            sample.as_str(),
        ],
        vec!["scan", "--rules", "/nonexistent/rules", sample.as_str()],
        vec!["scan", "ftp://example/logs"],
        vec!["scan", "--format", "xml", sample.as_str()],
        vec!["scan", "--threads", "0", sample.as_str()],
        vec!["scan", "-", "-"],
        vec!["scan"],
    ] {
        let output = trailbell(&args, Some(b""));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_rules_directory_replaces_the_built_in_pack() {
    // (Its tests' fixtures, in the built-in `rules/events/`, are found without being copied.)
    let scan = scan_with_rule("root-console-sign-in", &[&testdata("AWSLogs")]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let names: BTreeSet<String> = scan.pairs().into_iter().map(|(rule, _)| rule).collect();
    assert_eq!(names, BTreeSet::from(["root-console-sign-in".to_owned()]));
}

/// Scans with `--rules` a directory holding these rule files, `(file name, text)`.
fn scan_with_rule_files(files: &[(&str, &str)], args: &[&str]) -> Scan {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    let rules = dir.path().display().to_string();
    let mut all = vec!["--rules", rules.as_str()];
    all.extend_from_slice(args);
    scan_jsonl(&all, None)
}

/// The text of the built-in rule `name`.
fn builtin_rule(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../rules/{name}.toml"));
    fs::read_to_string(path).expect("a built-in rule file")
}

#[test]
fn a_rules_exceptions_silence_its_alerts_as_in_the_service() {
    let text = builtin_rule("console-sign-in");
    // Scans the sample archive with `rule_file` as the only rule.
    let archive = testdata("AWSLogs");
    let scan_with =
        |rule_file: &str| scan_with_rule_files(&[("console-sign-in.toml", rule_file)], &[&archive]);
    let before = scan_with(&text);
    assert_eq!(before.code, 0, "{}", before.stderr);
    let is_root = |alert: &Value| {
        alert["who"]
            .as_str()
            .is_some_and(|who| who.ends_with(":root"))
    };
    let roots = before.alerts.iter().filter(|a| is_root(a)).count();
    assert!(
        roots > 0 && roots < before.alerts.len(),
        "the sample has both kinds"
    );

    // The exception names the root sign-ins by `eventID`, a field of `detail` the rule's own
    // pattern does not read (it reads only `userIdentity`).
    let root_ids: Vec<String> = before
        .alerts
        .iter()
        .filter(|a| is_root(a))
        .map(|a| a["event_id"].to_string())
        .collect();
    let after = scan_with(&format!(
        "{text}\n[[exceptions]]\nname = \"root sign-ins are reviewed elsewhere\"\n\
         event_pattern = '{{\"detail\": {{\"eventID\": [{}]}}}}'\n",
        root_ids.join(", ")
    ));
    assert_eq!(after.code, 0, "{}", after.stderr);
    let expected: BTreeSet<(String, String)> = before
        .alerts
        .iter()
        .filter(|a| !is_root(a))
        .map(pair)
        .collect();
    assert_eq!(after.pairs(), expected);
    assert!(after.stat("excepted") >= roots as u64, "{}", after.stats);
    assert_eq!(before.stat("excepted"), 0);
}

/// Scans with only the built-in rule `name`.
fn scan_with_rule(name: &str, args: &[&str]) -> Scan {
    scan_with_rules(name, None, args)
}

/// Scans with the built-in rule `name` and, when given, a rule of this pattern.
fn scan_with_rules(name: &str, extra_pattern: Option<&str>, args: &[&str]) -> Scan {
    let (file, text) = (format!("{name}.toml"), builtin_rule(name));
    let mut files = vec![(file.as_str(), text.as_str())];
    let extra = extra_pattern.map(|pattern| {
        format!(
            "name = \"extra\"\ntitle = \"t\"\nseverity = \"info\"\ndescription = \"d\"\n\
             event_pattern = '{pattern}'\n"
        )
    });
    if let Some(extra) = &extra {
        files.push(("extra.toml", extra.as_str()));
    }
    scan_with_rule_files(&files, args)
}

/// A rule that names no text: with it a scan cannot pass over anything.
const NAMES_NO_TEXT: &str = r#"{"detail": {"eventVersion": [{"exists": true}]}}"#;

/// The alerts of `rule` only.
fn pairs_of(scan: &Scan, rule: &str) -> BTreeSet<(String, String)> {
    scan.pairs()
        .into_iter()
        .filter(|(r, _)| r == rule)
        .collect()
}

#[test]
fn records_no_rule_can_match_are_passed_over_with_the_same_alerts() {
    let archive = testdata("AWSLogs");
    let rule = "root-console-sign-in";
    for window in [&[][..], &["--until", "2026-11-02T09:00:00Z"][..]] {
        let mut args = window.to_vec();
        args.push(&archive);
        let passing = scan_with_rule(rule, &args);
        assert_eq!(passing.code, 0, "{}", passing.stderr);
        // The reference reads every record.
        let reading = scan_with_rules(rule, Some(NAMES_NO_TEXT), &args);
        assert_eq!(reading.code, 0, "{}", reading.stderr);
        assert_eq!(reading.stat("passed_over"), 0);
        assert!(!pairs_of(&passing, rule).is_empty(), "{window:?}");
        assert_eq!(passing.pairs(), pairs_of(&reading, rule), "{window:?}");
        for stat in ["records", "events", "outside_window", "untimed"] {
            assert_eq!(passing.stat(stat), reading.stat(stat), "{stat} {window:?}");
        }
        assert!(passing.stat("passed_over") > 0, "{window:?}");
        assert_eq!(passing.stderr, reading.stderr);
    }
    // Without a window, only the root sign-ins hold both `"ConsoleLogin"` and `"Root"`.
    let passing = scan_with_rule(rule, &[&archive]);
    let root_sign_ins = fs::read_dir(testdata("cloudtrail/records"))
        .expect("records")
        .filter(|entry| {
            let name = entry.as_ref().expect("entry").file_name();
            name.to_string_lossy().starts_with("console-login-root")
        })
        .count() as u64;
    assert!(root_sign_ins > 0);
    assert_eq!(
        passing.stat("passed_over"),
        passing.stat("records") - root_sign_ins
    );
    // With one, the records outside it are counted there, passed over or not.
    let windowed = scan_with_rule(rule, &["--until", "2026-11-02T09:00:00Z", &archive]);
    assert!(windowed.stat("outside_window") > 0);
    assert_eq!(
        windowed.stat("events") + windowed.stat("outside_window") + windowed.stat("untimed"),
        windowed.stat("records")
    );
}

#[test]
fn text_spelled_with_escapes_is_still_read() {
    let record = fs::read_to_string(testdata(
        "cloudtrail/records/console-login-root-no-mfa.json",
    ))
    .expect("record");
    let escaped = record
        .replace("\"ConsoleLogin\"", "\"Console\\u004cogin\"")
        .replace("\"Root\"", "\"R\\u006fot\"");
    assert_ne!(escaped, record);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("escaped.json");
    fs::write(&file, format!("{{\"Records\": [{escaped}]}}")).expect("write");
    let scan = scan_with_rule("root-console-sign-in", &[&file.display().to_string()]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(scan.stat("passed_over"), 0);
    assert_eq!(scan.alerts.len(), 1, "{:?}", scan.alerts);
}

#[test]
fn invalid_json_in_a_record_no_rule_can_match_is_still_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.json");
    fs::write(
        &file,
        r#"{"Records": [{"eventName": "DescribeInstances", "eventID": "a", "x": [1, tru]}]}"#,
    )
    .expect("write");
    let scan = scan_with_rule("root-console-sign-in", &[&file.display().to_string()]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert!(
        scan.stderr.contains("invalid JSON at byte"),
        "{}",
        scan.stderr
    );
    assert_eq!(scan.stat("skipped_files"), 1);
}

#[test]
fn objects_that_are_not_records_are_not_passed_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("other.json");
    fs::write(&file, r#"{"Records": [{"color": "blue"}, {"size": 3}]}"#).expect("write");
    let scan = scan_with_rule("root-console-sign-in", &[&file.display().to_string()]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert!(scan.stderr.contains("not CloudTrail"), "{}", scan.stderr);
    assert_eq!(scan.stat("passed_over"), 0);
}

/// A failed console sign-in record from `ip` at `time`, with its own event id.
fn failed_sign_in(number: u32, ip: &str, time: &str) -> Value {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules/events/console-login-iam-failure.json");
    let envelope: Value =
        serde_json::from_slice(&fs::read(fixture).expect("fixture")).expect("JSON");
    let mut record = envelope["detail"].clone();
    record["sourceIPAddress"] = Value::from(ip);
    record["eventTime"] = Value::from(time);
    record["eventID"] = Value::from(format!("f0000000-0000-4000-8000-{number:012}"));
    record
}

fn write_records(dir: &Path, name: &str, records: &[Value]) {
    let doc = serde_json::json!({ "Records": records });
    fs::write(dir.join(name), doc.to_string()).expect("write");
}

/// Regression: `scan` reported `console-sign-in-failures-from-one-address` ("Five failed console
/// sign-ins ...") on every single failed sign-in. It now counts over event time as the service
/// does, across files read in any order.
#[test]
fn scan_fires_a_threshold_rule_only_when_its_count_is_reached_in_event_time() {
    const RULE: &str = "console-sign-in-failures-from-one-address";
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = "198.51.100.7";
    // Two files, the later events in the first file: five from one address within five
    // minutes (08:00 to 08:04), a sixth long after, and four from another address.
    write_records(
        dir.path(),
        "a.json",
        &[
            failed_sign_in(3, ip, "2026-11-02T08:03:00Z"),
            failed_sign_in(4, ip, "2026-11-02T08:04:00Z"),
            failed_sign_in(6, ip, "2026-11-02T09:00:00Z"),
            failed_sign_in(10, "203.0.113.9", "2026-11-02T08:00:00Z"),
            failed_sign_in(11, "203.0.113.9", "2026-11-02T08:01:00Z"),
        ],
    );
    write_records(
        dir.path(),
        "b.json",
        &[
            failed_sign_in(0, ip, "2026-11-02T08:00:00Z"),
            failed_sign_in(1, ip, "2026-11-02T08:01:00Z"),
            failed_sign_in(2, ip, "2026-11-02T08:02:00Z"),
            failed_sign_in(12, "203.0.113.9", "2026-11-02T08:02:00Z"),
            failed_sign_in(13, "203.0.113.9", "2026-11-02T08:03:00Z"),
        ],
    );
    let scan = scan_jsonl(&[&dir.path().display().to_string()], None);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let fired = pairs_of(&scan, RULE);
    assert_eq!(
        fired,
        BTreeSet::from([(
            RULE.to_owned(),
            "f0000000-0000-4000-8000-000000000004".to_owned()
        )]),
        "{:#?}",
        scan.alerts
    );
    // Every single failure is still its own low alert.
    assert_eq!(pairs_of(&scan, "console-sign-in-failed").len(), 10);
    let summary = scan
        .summaries
        .iter()
        .find(|s| s["rule"] == RULE)
        .expect("a summary for the threshold rule");
    assert_eq!(summary["count"], 1, "{summary}");

    // Four failures from one address: no threshold alert at all.
    let four = tempfile::tempdir().expect("tempdir");
    write_records(
        four.path(),
        "a.json",
        &(0..4)
            .map(|n| failed_sign_in(n, ip, &format!("2026-11-02T08:0{n}:00Z")))
            .collect::<Vec<_>>(),
    );
    let scan = scan_jsonl(&[&four.path().display().to_string()], None);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert!(pairs_of(&scan, RULE).is_empty(), "{:#?}", scan.alerts);
    assert_eq!(pairs_of(&scan, "console-sign-in-failed").len(), 4);
}

/// The coverage claimed in docs/RULES.md: `trailbell scan` over each Stratus Red Team detonation
/// log (testdata/stratus/, Apache-2.0) raises exactly the rules rules/coverage/stratus-red-team.toml
/// names, thresholds counted as the service counts them.
#[test]
fn stratus_red_team_detonations_raise_the_expected_alerts() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for technique in trailbell::rules::stratus_techniques() {
        let file = testdata(&format!("stratus/{}.json", technique.id));
        if !technique.detonation_log {
            assert!(
                !Path::new(&file).exists(),
                "{file} exists: set detonation_log"
            );
            continue;
        }
        let scan = scan_jsonl(&[&file], None);
        assert_eq!(scan.code, 0, "{}: {}", technique.id, scan.stderr);
        assert_eq!(scan.stat("skipped_records"), 0, "{}", technique.id);
        let raised: BTreeSet<String> = scan.pairs().into_iter().map(|(rule, _)| rule).collect();
        let expected: BTreeSet<String> = technique.rules.iter().cloned().collect();
        if raised != expected {
            wrong.push(format!(
                "{}: raised {raised:?}, expected {expected:?}",
                technique.id
            ));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let on_disk = fs::read_dir(testdata("stratus"))
        .expect("testdata/stratus")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(checked, on_disk, "every detonation log has its entry");
}

/// The pack parameter `trusted_accounts`, set from the environment, silences the rule for the
/// accounts it lists and only for them.
#[test]
fn the_trusted_accounts_parameter_comes_from_the_environment() {
    const RULE: &str = "role-assumed-from-untrusted-account";
    let events: Vec<u8> = [
        "sts-assume-role-from-another-account",
        "sts-assume-role-from-a-third-account",
    ]
    .iter()
    .flat_map(|name| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../rules/events/{name}.json"));
        let event: Value = serde_json::from_slice(&fs::read(path).expect("fixture")).expect("JSON");
        let mut line = event.to_string().into_bytes();
        line.push(b'\n');
        line
    })
    .collect();
    let accounts = |scan: &Scan| -> Vec<String> {
        scan.alerts
            .iter()
            .filter(|alert| alert["rule"] == RULE)
            .map(|alert| alert["who"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let unset = scan_jsonl(&["-"], Some(&events));
    assert_eq!(unset.code, 0, "{}", unset.stderr);
    assert_eq!(accounts(&unset).len(), 2, "{:#?}", unset.alerts);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(["scan", "--format", "jsonl", "-"])
        .env(
            "TRAILBELL_PARAM_TRUSTED_ACCOUNTS",
            "111122223333, 999988887777",
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("trailbell starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&events)
        .expect("events written");
    let output = child.wait_with_output().expect("trailbell runs");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let fired: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON"))
        .filter(|value| value["kind"] == "alert" && value["rule"] == RULE)
        .collect();
    assert_eq!(fired.len(), 1, "{fired:#?}");
    // The third account's event (its own source address); 999988887777 is trusted now.
    assert_eq!(fired[0]["source_ip"], "198.51.100.41", "{}", fired[0]);
}
