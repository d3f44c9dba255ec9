//! Accepted means delivered (issue 13, decision 0016): every event is either refused at the door,
//! named and counted, or fully processed. Driven through the real binary: PutEvents, the watched
//! directory and `trailbell scan` on the same file.

use crate::common;
use crate::common::recorder;
use crate::common::service;

use std::collections::BTreeSet;
use std::io::Write as _;

use recorder::{Recorder, Reply};
use serde_json::{Value, json};
use service::{DOOR_RULE, ServiceProcess, api_answer, put_events, webhook_config};

/// `depth` arrays around a number.
fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// The values that one of the two readings of an event refuses, by name: each is put where a
/// rule does not look, so matching alone would accept the event.
fn unreadable_values() -> Vec<(&'static str, String)> {
    vec![
        ("a number beyond f64", "1e400".to_owned()),
        ("nesting of 128 levels", nested(130)),
        ("nesting past the engine's limit", nested(600)),
        ("a lone surrogate", r#""x\ud800y""#.to_owned()),
    ]
}

async fn metric(service: &ServiceProcess, name: &str) -> u64 {
    let text = service::metrics_text(service).await;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn put_events_refuses_each_entry_it_cannot_read_and_alerts_on_the_rest() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), DOOR_RULE)),
        &dir.path().join("data"),
    );
    let entry =
        |detail: String| json!({"Source": "test.door", "DetailType": "t", "Detail": detail});
    let mut entries = vec![entry(r#"{"n": 1}"#.to_owned())];
    let cases = unreadable_values();
    for (_, value) in &cases {
        entries.push(entry(format!(r#"{{"ok": true, "extra": {value}}}"#)));
    }
    let answer = put_events(&service.address, Value::from(entries)).await;
    assert_eq!(answer["FailedEntryCount"], cases.len(), "{answer}");
    assert!(answer["Entries"][0]["EventId"].is_string(), "{answer}");
    for (index, (case, _)) in cases.iter().enumerate() {
        let result = &answer["Entries"][index + 1];
        assert_eq!(result["ErrorCode"], "MalformedDetail", "{case}: {result}");
        assert!(result.get("EventId").is_none(), "{case}: {result}");
        let message = result["ErrorMessage"].as_str().expect("a message");
        assert!(message.starts_with("Detail is malformed: "), "{message}");
    }
    let number = answer["Entries"][1]["ErrorMessage"].as_str().expect("text");
    assert_eq!(
        number,
        "Detail is malformed: number out of range at byte 26 of Detail."
    );
    assert_eq!(
        metric(&service, "trailbell_events_refused_total").await,
        cases.len() as u64
    );
    assert_eq!(metric(&service, "trailbell_events_in_total").await, 1);
    let first = hook.wait_for(1).await;
    assert_eq!(first[0].json()["detail"], json!({"n": 1}));
    // A later event is delivered after it: nothing of the refused ones is in between.
    let answer = put_events(&service.address, json!([entry(r#"{"n": 2}"#.to_owned())])).await;
    assert_eq!(answer["FailedEntryCount"], 0);
    let all = hook.wait_for(2).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].json()["detail"], json!({"n": 2}));
    for _ in &cases {
        service.stderr_line_with("A PutEvents entry was refused");
    }
    assert_eq!(service.terminate(), 0);
}

/// A CloudTrail file of root sign-ins, one readable and one per unreadable value (each with an
/// `eventID` of its own).
fn sign_in_file() -> (String, Vec<String>) {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::workspace_root().join("rules/events/console-login-root-no-mfa.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    let mut records = Vec::new();
    let mut ids = Vec::new();
    let mut record = |id: String, extra: Option<&str>| {
        let mut detail = fixture["detail"].clone();
        detail["eventID"] = Value::from(id.clone());
        let text = detail.to_string();
        records.push(match extra {
            Some(extra) => format!(r#"{{"extra": {extra}, {}"#, &text[1..]),
            None => text,
        });
        ids.push(id);
    };
    record("readable-1".to_owned(), None);
    for (index, (_, value)) in unreadable_values().iter().enumerate() {
        record(format!("unreadable-{index}"), Some(value));
    }
    (format!(r#"{{"Records": [{}]}}"#, records.join(",")), ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_gives_the_same_alerts_to_scan_and_to_a_watched_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (file, _) = sign_in_file();
    let scan_file = dir.path().join("scan.json");
    std::fs::write(&scan_file, &file).expect("write");
    let scanned = common::run(&[
        "scan",
        "--format",
        "json",
        scan_file.to_str().expect("UTF-8"),
    ]);
    assert_eq!(common::code(&scanned), 1, "{}", common::stderr(&scanned));
    let report: Value = serde_json::from_str(common::stdout(&scanned)).expect("JSON");
    let scan_alerts: BTreeSet<(String, String)> = report["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|alert| {
            (
                alert["rule"].as_str().expect("rule").to_owned(),
                alert["event_id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    assert!(!scan_alerts.is_empty());
    assert!(
        scan_alerts.iter().all(|(_, id)| id == "readable-1"),
        "{scan_alerts:?}"
    );
    let problems = common::stderr(&scanned);
    assert_eq!(
        report["stats"]["skipped_records"],
        unreadable_values().len(),
        "{problems}"
    );
    // The first problems of a file are listed, each with where the value is.
    assert!(
        problems.contains("trailbell run refuses it: number out of range at byte "),
        "{problems}"
    );

    let hook = Recorder::always(Reply::ok());
    let watched = dir.path().join("trail");
    std::fs::create_dir_all(&watched).expect("mkdir");
    let rest = format!(
        "[[rule_packs]]\npath = \"builtin\"\nTargets = [{{ Id = \"hook\", Arn = \"hook\", InputTransformer = {{ InputPathsMap = {{ id = \"$.detail.eventID\" }}, InputTemplate = '{{\"rule\": \"<aws.events.rule-name>\", \"id\": \"<id>\"}}' }} }}]\n\n[[sources]]\ntype = \"directory\"\npath = \"{}\"\ninterval = \"1s\"\n",
        watched.display()
    );
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), &rest)),
        &dir.path().join("data"),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(file.as_bytes()).expect("gzip");
    let part = watched.join("file.part");
    std::fs::write(&part, gz.finish().expect("gzip")).expect("write");
    let name = "111122223333_CloudTrail_us-east-1_20261127T0800Z_x.json.gz";
    std::fs::rename(&part, watched.join(name)).expect("rename");
    // Each refused record is named by the file, its index in it and its envelope's id (0041).
    for index in 0..unreadable_values().len() {
        let line = service.stderr_line_with("refused, it cannot be read: ");
        assert!(line.contains(name), "the file is named: {line}");
        let id = trailbell::cloudtrail::envelope_id(&format!("unreadable-{index}"));
        assert!(
            line.contains(&format!("record {} (byte ", index + 1))
                && line.contains(&format!("event {id})")),
            "{line}"
        );
    }
    let requests = hook.wait_for(scan_alerts.len()).await;
    let run_alerts: BTreeSet<(String, String)> = requests
        .iter()
        .map(|request| {
            let body = request.json();
            let text = |name: &str| body[name].as_str().expect("text").to_owned();
            (text("rule"), text("id"))
        })
        .collect();
    assert_eq!(run_alerts, scan_alerts);
    assert_eq!(
        metric(&service, "trailbell_events_refused_total").await,
        unreadable_values().len() as u64
    );
    assert_eq!(hook.requests().len(), scan_alerts.len());
    assert_eq!(service.terminate(), 0);
}

/// Polls `/metrics` until `name` (with its labels) reads `want` (30 s at most).
async fn wait_for_metric(service: &ServiceProcess, name: &str, want: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = service::metrics_text(service).await;
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse::<u64>().ok());
        if value == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is not {want}: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_input_path_that_selects_nothing_makes_a_dead_letter_that_is_counted_and_listed() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rule = r#"
[[rules]]
Name = "door"
EventPattern = '{"source": ["test.door"]}'
Targets = [
  { Id = "whole", Arn = "hook" },
  { Id = "path", Arn = "hook", InputPath = "$.detail.user" },
]
"#;
    let data = dir.path().join("data");
    let service = ServiceProcess::start(Some(&webhook_config(&hook.url("/"), rule)), &data);
    let entry = |detail: &str| json!({"Source": "test.door", "DetailType": "t", "Detail": detail});
    let answer = put_events(&service.address, json!([entry(r#"{"n": 1}"#)])).await;
    assert_eq!(answer["FailedEntryCount"], 0);
    let event_id = answer["Entries"][0]["EventId"].as_str().expect("an id");
    hook.wait_for(1).await;
    wait_for_metric(&service, "trailbell_dead_lettered{destination=\"hook\"}", 1).await;
    let listed = common::run(&[
        "outbox",
        "list",
        "--state",
        "dead",
        "--format",
        "json",
        "--data-dir",
        data.to_str().expect("UTF-8"),
    ]);
    let rows: Value = serde_json::from_str(common::stdout(&listed)).expect("JSON");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["target_id"], "path");
    assert_eq!(rows[0]["event_id"], event_id);
    assert_eq!(rows[0]["attempts"], 1, "no retries: {rows:?}");
    let error = rows[0]["last_error"].as_str().expect("an error");
    assert_eq!(
        error,
        r#"INVALID_PARAMETER: InputPath "$.detail.user" selects nothing in the event"#
    );
    // Where the path selects something, both targets get their alert.
    let answer = put_events(&service.address, json!([entry(r#"{"user": "alice"}"#)])).await;
    assert_eq!(answer["FailedEntryCount"], 0);
    let requests = hook.wait_for(3).await;
    assert!(
        requests.iter().any(|r| r.body == r#""alice""#),
        "{requests:?}"
    );
    assert_eq!(hook.requests().len(), 3, "the dead letter was never sent");
    assert_eq!(service.terminate(), 0);
}

/// One EventBridge API call with a plain HTTP request (authentication is off): status and body.
#[tokio::test(flavor = "multi_thread")]
async fn put_targets_refuses_an_arn_that_names_no_destination() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), "")),
        &dir.path().join("data"),
    );
    let (status, _) = api_answer(
        &service.address,
        "PutRule",
        json!({"Name": "r", "EventPattern": r#"{"source": ["test.door"]}"#}),
    )
    .await;
    assert_eq!(status, 200);
    for arn in [
        "nowhere",
        "arn:aws:sqs:us-east-1",
        "arn:aws:lambda:us-east-1:111122223333:function:f",
    ] {
        let (status, body) = api_answer(
            &service.address,
            "PutTargets",
            json!({"Rule": "r", "Targets": [{"Id": "t", "Arn": arn}]}),
        )
        .await;
        assert_eq!(status, 400, "{arn}: {body}");
        assert_eq!(body["__type"], "ValidationException", "{body}");
        let message = body["message"]
            .as_str()
            .or(body["Message"].as_str())
            .expect("a message");
        assert!(
            message.starts_with(&format!("Parameter {arn} is not valid.")),
            "{message}"
        );
    }
    let (_, listed) = api_answer(&service.address, "ListTargetsByRule", json!({"Rule": "r"})).await;
    assert_eq!(listed["Targets"], json!([]), "nothing was stored");
    let (status, body) = api_answer(
        &service.address,
        "PutTargets",
        json!({"Rule": "r", "Targets": [{"Id": "t", "Arn": "hook"}]}),
    )
    .await;
    assert_eq!(
        (status, &body["FailedEntryCount"]),
        (200, &json!(0)),
        "{body}"
    );
    assert_eq!(service.terminate(), 0);
}

#[test]
fn validate_and_run_refuse_a_target_arn_that_names_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("trailbell.toml");
    let rule = r#"
[[rules]]
Name = "door"
EventPattern = '{"source": ["test.door"]}'
Targets = [{ Id = "q", Arn = "arn:aws:sqs:us-east-1" }]
"#;
    std::fs::write(&file, webhook_config("http://127.0.0.1:9/", rule)).expect("write");
    let path = file.to_str().expect("UTF-8");
    let validated = common::run(&["validate", path]);
    assert_eq!(
        common::code(&validated),
        1,
        "{}",
        common::stderr(&validated)
    );
    let problems = common::stderr(&validated);
    assert!(
        problems.contains("rules[0].Targets[0].Arn")
            && problems
                .contains("neither a destination of this file nor an SNS topic or SQS queue ARN"),
        "{problems}"
    );
    let data = dir.path().join("data");
    let run = common::run(&[
        "run",
        "--config",
        path,
        "--data-dir",
        data.to_str().expect("UTF-8"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(common::code(&run), 2);
    assert!(
        common::stderr(&run).contains("rules[0].Targets[0].Arn"),
        "{}",
        common::stderr(&run)
    );
}

/// `/health`: its status and body.
async fn health(service: &ServiceProcess) -> (u16, String) {
    let response = reqwest::get(service.url("/health"))
        .await
        .expect("/health answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// Polls `/health` until it answers `status` (30 s at most); returns the body.
async fn wait_for_health(service: &ServiceProcess, status: u16) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (now, body) = health(service).await;
        if now == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/health is not {status}: {now} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_503_naming_a_failing_source_until_it_recovers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let watched = dir.path().join("not-yet");
    let rest = format!(
        "[[sources]]\ntype = \"directory\"\npath = \"{}\"\ninterval = \"1s\"\n",
        watched.display()
    );
    let service = ServiceProcess::start(
        Some(&webhook_config("http://127.0.0.1:9/", &rest)),
        &dir.path().join("data"),
    );
    let body = wait_for_health(&service, 503).await;
    assert!(
        body.contains(&format!(
            "source directory:{} is failing: ",
            watched.display()
        )) && body.contains("cannot list"),
        "{body}"
    );
    std::fs::create_dir_all(&watched).expect("mkdir");
    assert_eq!(wait_for_health(&service, 200).await, "ok\n");
    assert_eq!(service.terminate(), 0);
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` when this machine does not let the test mount one (not root, no mount).
    fn mount(at: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_makes_health_503_and_put_events_accepts_nothing_it_cannot_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), "4m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root and mount); the full disk is not tested"
        );
        return;
    };
    let hook = Recorder::always(Reply::ok());
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), DOOR_RULE)),
        &disk.0.join("data"),
    );
    assert_eq!(wait_for_health(&service, 200).await, "ok\n");
    // Fill the disk.
    let filler_path = disk.0.join("filler");
    {
        use std::io::Write as _;
        let mut filler = std::fs::File::create(&filler_path).expect("the filler");
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.sync_all();
    }
    // Events with big alerts, until the store cannot take them.
    let padding = "x".repeat(100 * 1024);
    let entry = json!({"Source": "test.door", "DetailType": "t", "Detail": json!({"pad": padding}).to_string()});
    let mut accepted = 0;
    let mut refused = None;
    for _ in 0..40 {
        let answer = put_events(&service.address, json!([entry, entry])).await;
        let failed = answer["FailedEntryCount"].as_u64().expect("a count");
        accepted += 2 - failed;
        if failed > 0 {
            refused = Some(answer);
            break;
        }
    }
    let refused = refused.expect("a full disk refuses events");
    for result in refused["Entries"].as_array().expect("entries") {
        if result.get("EventId").is_none() {
            assert_eq!(result["ErrorCode"], "InternalFailure", "{refused}");
        }
    }
    let (status, body) = health(&service).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("cannot write") && body.contains("full"),
        "{body}"
    );
    // Room again: the next events are stored, and /health recovers.
    std::fs::remove_file(&filler_path).expect("the filler goes");
    let answer = put_events(&service.address, json!([entry])).await;
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    accepted += 1;
    assert_eq!(wait_for_health(&service, 200).await, "ok\n");
    // Every event that got an EventId is delivered.
    let delivered = hook
        .wait_for(usize::try_from(accepted).expect("small"))
        .await;
    assert_eq!(delivered.len() as u64, accepted);
    assert_eq!(service.terminate(), 0);
}

/// `trailbell run` with `args`, which must exit within 60 s: its exit code and standard error.
fn run_expecting_exit(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(args)
        .current_dir(common::workspace_root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("trailbell starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("trailbell {args:?} did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_second_run_on_the_same_data_directory_refuses_to_start_naming_the_first() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let first = ServiceProcess::start(Some(&webhook_config("http://127.0.0.1:9/", "")), &data);
    let data_arg = data.to_str().expect("UTF-8");
    let (code, stderr) =
        run_expecting_exit(&["run", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the data directory {data_arg} is in use by another trailbell (pid {}",
            first.child.id()
        )),
        "{stderr}"
    );
    assert_eq!(first.terminate(), 0);
    // Once the first has stopped, the directory is free.
    let second = ServiceProcess::start(Some(&webhook_config("http://127.0.0.1:9/", "")), &data);
    assert_eq!(second.terminate(), 0);
}

#[test]
fn a_damaged_store_is_refused_at_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    // A real store, with rules in it, then its pages after the first overwritten.
    let service = ServiceProcess::start(None, &data);
    assert_eq!(service.terminate(), 0);
    let store = data.join("trailbell.db");
    let mut bytes = std::fs::read(&store).expect("the store");
    assert!(bytes.len() > 3 * 4096, "a store of several pages");
    for byte in &mut bytes[4096..] {
        *byte = 0xA5;
    }
    std::fs::write(&store, bytes).expect("damage");
    let data_arg = data.to_str().expect("UTF-8");
    let (code, stderr) =
        run_expecting_exit(&["run", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("the store {} is damaged (", store.display())),
        "{stderr}"
    );
    assert!(stderr.contains("move it aside"), "{stderr}");
    // A file that is no database at all.
    std::fs::write(&store, vec![b'x'; 8192]).expect("write");
    let (code, stderr) =
        run_expecting_exit(&["run", "--data-dir", data_arg, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is damaged (file is not a database)"),
        "{stderr}"
    );
}
