//! The store across versions, through the real binary: a store written before migrations
//! existed (`testdata/stores/v0-before-migrations.db`, made by `testdata/stores/make-fixture.sh`
//! with the binary of that version) opened by this one keeps its rules and its outbox rows; a
//! store from a newer trailbell is refused untouched, with a message that says so; a rule whose
//! stored metadata no longer reads is an error naming it.

use crate::common;
use crate::common::recorder;
use crate::common::service;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use recorder::{Recorder, Reply};
use serde_json::{Value, json};
use service::{ServiceProcess, api_call, entry_from_fixture, put_events};

/// The configuration the fixture was written with, its webhook at `url`.
fn fixture_config(url: &str) -> String {
    format!(
        r#"
[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "{url}"
timeout = "2s"

[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{{"source": ["aws.signin"], "detail": {{"userIdentity": {{"type": ["Root"]}}}}}}'
exceptions = [{{ name = "lab account", event_pattern = '{{"account": ["999999999999"]}}' }}]
Targets = [{{ Id = "hook", Arn = "hook", RetryPolicy = {{ MaximumRetryAttempts = 185, MaximumEventAgeInSeconds = 86400 }} }}]
"#
    )
}

/// A data directory holding a copy of the fixture store.
fn data_dir_with_fixture(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("the data directory");
    std::fs::copy(
        common::workspace_root().join("testdata/stores/v0-before-migrations.db"),
        data.join("trailbell.db"),
    )
    .expect("the fixture is copied");
    data
}

fn user_version(data: &Path) -> i64 {
    // Through SQLite directly, not through trailbell::store, which would upgrade the store.
    let output = Command::new("sqlite3")
        .arg(data.join("trailbell.db"))
        .arg("PRAGMA user_version;")
        .output()
        .expect("the sqlite3 CLI runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a number")
}

fn sql(data: &Path, statement: &str) {
    let output = Command::new("sqlite3")
        .arg(data.join("trailbell.db"))
        .arg(statement)
        .output()
        .expect("the sqlite3 CLI runs");
    assert!(
        output.status.success(),
        "{statement}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `trailbell run` that is expected to refuse to start: its output once it exited, or a panic
/// (after killing it) if it is still running after a minute.
fn run_expecting_exit(data: &Path, config: &str) -> Output {
    let config_path = data.with_extension("toml");
    std::fs::write(&config_path, config).expect("the configuration is written");
    let child = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .arg("run")
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(&config_path)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailbell run starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.expect("trailbell run exits"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("trailbell run started on a store it should refuse");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_written_before_migrations_keeps_its_rules_and_outbox_rows() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = data_dir_with_fixture(dir.path());
    assert_eq!(user_version(&data), 0, "the fixture predates migrations");

    let service = ServiceProcess::start(Some(&fixture_config(&hook.url("/hook"))), &data);
    // The two alerts the old version could not deliver (its webhook refused) are delivered now.
    let requests = hook.wait_for(2).await;
    for request in &requests {
        let body = request.json();
        assert_eq!(body["detail"]["userIdentity"]["type"], "Root", "{body}");
    }
    // The rule put through the API is still there, with its target.
    let rules = api_call(&service.address, "ListRules", json!({})).await;
    let api_rule = rules["Rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|rule| rule["Name"] == "api-console-login")
        .unwrap_or_else(|| panic!("the API's rule survived the upgrade: {rules}"));
    assert_eq!(api_rule["Description"], "put through the API");
    let targets = api_call(
        &service.address,
        "ListTargetsByRule",
        json!({"Rule": "api-console-login"}),
    )
    .await;
    assert_eq!(targets["Targets"][0]["Arn"], "hook", "{targets}");
    // And both rules still match.
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    hook.wait_for(4).await;
    assert_eq!(service.terminate(), 0);

    assert_eq!(user_version(&data), trailbell::store::VERSION);
    let status = common::run(&[
        "outbox",
        "status",
        "--data-dir",
        &data.display().to_string(),
        "--format",
        "json",
    ]);
    assert!(status.status.success(), "{status:?}");
    let rows: Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(rows[0]["destination"], "hook", "{rows}");
    assert_eq!(rows[0]["delivered"], 4, "{rows}");
    assert_eq!(rows[0]["pending"], 0, "{rows}");
}

#[test]
fn a_store_from_a_newer_trailbell_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = data_dir_with_fixture(dir.path());
    let newer = trailbell::store::VERSION + 1;
    sql(&data, &format!("PRAGMA user_version = {newer};"));
    let expected = format!(
        "was written by a newer trailbell (store version {newer}; this one knows versions up to {})",
        trailbell::store::VERSION
    );

    let output = run_expecting_exit(&data, &fixture_config("http://127.0.0.1:9/hook"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&expected), "{stderr}");

    let status = common::run(&[
        "outbox",
        "status",
        "--data-dir",
        &data.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&expected), "{stderr}");

    assert_eq!(user_version(&data), newer, "the store is left as it was");
}

#[test]
fn a_rule_whose_stored_metadata_does_not_read_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = data_dir_with_fixture(dir.path());
    // A rule put through the API, its metadata as a later version might write it.
    sql(
        &data,
        r#"UPDATE registry_rules SET extras = '{"severity": "urgent", "noise": {"exceptions": []}}'
           WHERE name = 'api-console-login';"#,
    );

    let output = run_expecting_exit(&data, &fixture_config("http://127.0.0.1:9/hook"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "rule api-console-login on the bus default: its stored metadata (title, severity, \
             noise control) cannot be read: unknown variant `urgent`"
        ),
        "{stderr}"
    );
}
