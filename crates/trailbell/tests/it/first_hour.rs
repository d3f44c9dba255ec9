//! What a new operator meets in the first hour (issue 20), driven through the real binaries:
//! start-up notes and errors, alert lines that read without the rule file, escaping for Slack,
//! colour only for a terminal, `bootstrap` outside Lambda, one line per failing source call.

use crate::common;
use crate::common::recorder;
use crate::common::service;

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use recorder::{Recorder, Reply};
use serde_json::{Value, json};
use service::{ServiceProcess, entry_from_fixture, put_events};

const ROOT_SIGN_IN_RULE: &str = r#"
[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{"source": ["aws.signin"], "detail": {"userIdentity": {"type": ["Root"]}}}'
"#;

/// `trailbell run ARGS` to its end (it is expected to fail at start), with `env` and without
/// the Slack variable of the caller's environment.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailbell"));
    command
        .args(args)
        .env_remove("TRAILBELL_SLACK_WEBHOOK_URL")
        .env_remove("NO_COLOR")
        .current_dir(common::workspace_root())
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("trailbell runs")
}

/// A port something already listens on (held until the listener is dropped).
fn taken_port() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    (listener, address)
}

#[test]
fn the_embedded_default_says_once_at_start_that_slack_is_left_out_and_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A misspelt variable is set; the one trailbell reads is not.
    let service = ServiceProcess::start_with_env(
        None,
        &dir.path().join("data"),
        &[("TRAILBELL_SLACK_WEBHOK_URL", "https://hooks.example/x")],
    );
    let stderr = service.stderr_text();
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("TRAILBELL_SLACK_WEBHOOK_URL"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains("left out"), "{}", notes[0]);
    assert!(notes[0].contains("is not set"), "{}", notes[0]);
    assert!(notes[0].contains("slack"), "{}", notes[0]);
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_and_file_json_lines_carry_the_alerts_severity_and_title() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("alerts.jsonl");
    let config = format!(
        r#"
[api]
authentication = "disabled"

[destinations.out]
type = "stdout"
format = "json"

[destinations.file]
type = "file"
path = "{}"

{ROOT_SIGN_IN_RULE}
Targets = [{{ Id = "out", Arn = "out" }}, {{ Id = "file", Arn = "file" }}]
"#,
        file.display()
    );
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    let line: Value =
        serde_json::from_str(&service.stdout_line_with("idempotency_key")).expect("a JSON line");
    assert_eq!(line["rule"], "root-sign-in", "{line}");
    assert_eq!(line["severity"], "high", "{line}");
    assert_eq!(line["title"], "Root signed in", "{line}");

    let deadline = Instant::now() + Duration::from_secs(30);
    let written = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(first) = text.lines().next() {
            break serde_json::from_str::<Value>(first).expect("a JSON line");
        }
        assert!(Instant::now() < deadline, "nothing written to {file:?}");
        std::thread::yield_now();
    };
    assert_eq!(written["severity"], "high", "{written}");
    assert_eq!(written["title"], "Root signed in", "{written}");
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_to_left_override_in_an_event_reaches_slack_escaped_as_on_the_terminal() {
    let slack = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = format!(
        r#"
[api]
authentication = "disabled"

[destinations.slack]
type = "slack"
webhook_url = "{}"

{ROOT_SIGN_IN_RULE}
Targets = [{{ Id = "slack", Arn = "slack" }}]
"#,
        slack.url("/hook")
    );
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));
    let mut entry = entry_from_fixture("console-login-root-no-mfa");
    let mut detail: Value =
        serde_json::from_str(entry["Detail"].as_str().expect("text")).expect("JSON");
    detail["sourceIPAddress"] = json!("192.0.2.10\u{202e}gpj.exe\u{200b}");
    entry["Detail"] = json!(detail.to_string());
    put_events(&service.address, json!([entry])).await;
    let body = slack.wait_for(1).await[0].body.clone();
    assert!(body.contains("192.0.2.10"), "{body}");
    assert!(!body.contains('\u{202e}'), "raw override in {body}");
    assert!(!body.contains('\u{200b}'), "raw zero-width space in {body}");
    // JSON writes the escape's backslash as `\\`.
    assert!(
        body.contains(r"192.0.2.10\\u{202e}gpj.exe\\u{200b}"),
        "{body}"
    );
    // The terminal line escapes the same characters the same way.
    let stdout_config = format!(
        r#"
[api]
authentication = "disabled"

[destinations.slack]
type = "stdout"
format = "text"

{ROOT_SIGN_IN_RULE}
Targets = [{{ Id = "slack", Arn = "slack" }}]
"#
    );
    drop(service);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(Some(&stdout_config), &dir.path().join("data"));
    put_events(&service.address, json!([entry])).await;
    let line = service.stdout_line_with("root-sign-in");
    assert!(
        line.contains(r"192.0.2.10\u{202e}gpj.exe\u{200b}"),
        "{line}"
    );
    assert_eq!(service.terminate(), 0);
}

#[test]
fn log_lines_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let (_held, address) = taken_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let output = run_to_exit(
        &["run", "--data-dir", path(&data), "--listen", &address],
        &[],
    );
    assert_eq!(common::code(&output), 2);
    let stderr = common::stderr(&output);
    assert!(stderr.contains("WARN"), "a log line was written: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
}

/// `trailbell run` on a pseudo-terminal (util-linux `script`), to its start-up failure.
fn run_on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_trailbell")),
            "/dev/null",
        ])
        .env_remove("TRAILBELL_SLACK_WEBHOOK_URL")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let (_held, address) = taken_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let args = format!(
        "run --data-dir {} --listen {address}",
        dir.path().join("data").display()
    );
    let coloured = run_on_a_terminal(&args, None);
    assert!(coloured.contains("WARN"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = run_on_a_terminal(&args, Some("1"));
    assert!(plain.contains("WARN"), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "NO_COLOR is honoured: {plain:?}");
}

#[test]
fn bootstrap_outside_lambda_explains_itself_and_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::null())
        .output()
        .expect("bootstrap runs");
    assert_eq!(common::code(&output), 2);
    let stderr = common::stderr(&output);
    assert!(stderr.contains("AWS Lambda"), "{stderr}");
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{stderr}");
    assert!(stderr.contains("trailbell run"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_address_in_use_is_said_once() {
    let (_held, address) = taken_port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run_to_exit(
        &[
            "run",
            "--data-dir",
            path(&dir.path().join("data")),
            "--listen",
            &address,
        ],
        &[("TRAILBELL_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")],
    );
    assert_eq!(common::code(&output), 2);
    let stderr = common::stderr(&output);
    let error: Vec<&str> = stderr.lines().filter(|l| l.contains(&address)).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert_eq!(error[0].matches("os error 98").count(), 1, "{stderr}");
}

#[test]
fn an_unwritable_data_directory_says_permission_denied_and_the_path_once() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let trailbell = env!("CARGO_BIN_EXE_trailbell");
    let args = ["run", "--data-dir", path(&data), "--listen", "127.0.0.1:0"];
    // Root writes anywhere: run as nobody then (util-linux `setpriv`).
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                trailbell,
            ])
            .args(args);
        command
    } else {
        let mut command = Command::new(trailbell);
        command.args(args);
        command
    };
    let output = command
        .env("TRAILBELL_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("trailbell runs");
    assert_eq!(common::code(&output), 2);
    let stderr = common::stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(
        stderr.to_lowercase().matches("permission denied").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches(path(&data)).count(), 1, "{stderr}");
    assert!(stderr.contains("--data-dir"), "the fix: {stderr}");
    assert!(!stderr.contains("Error code 14"), "{stderr}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn listen_accepts_a_host_name_that_resolves_to_loopback() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(["run", "--data-dir", path(&dir.path().join("data"))])
        .args(["--listen", "localhost:0"])
        .env_remove("TRAILBELL_SLACK_WEBHOOK_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailbell run starts");
    let stderr = child.stderr.take().expect("piped");
    let mut seen = Vec::new();
    let mut listening = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line");
        if line.contains("listening on http://") {
            listening = Some(line);
            break;
        }
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = listening.unwrap_or_else(|| panic!("no banner; stderr:\n{}", seen.join("\n")));
    assert!(line.contains("listening on http://127.0.0.1:"), "{line}");

    let output = run_to_exit(&["run", "--listen", "localhost"], &[]);
    assert_eq!(common::code(&output), 2);
    assert!(
        common::stderr(&output).contains("give HOST:PORT"),
        "{}",
        common::stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_source_logs_one_short_line_per_failure_with_code_and_next_try() {
    // Nothing listens on a port that was just free: every SQS call fails to connect.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = format!(
        r#"
[service]
aws_endpoint_url = "http://127.0.0.1:{closed}"

[api]
authentication = "disabled"

[destinations.out]
type = "stdout"

[[sources]]
type = "sqs"
queue_url = "http://127.0.0.1:{closed}/123456789012/trail-notifications"
"#
    );
    let service = ServiceProcess::start_with_env(
        Some(&config),
        &dir.path().join("data"),
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    let line = service.stderr_line_with("SQS ReceiveMessage failed");
    assert!(line.contains("ConnectionError"), "{line}");
    assert!(line.contains("next try in 5s"), "{line}");
    assert!(line.contains("next_try="), "{line}");
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
    let stderr = service.stderr_text();
    assert!(
        !stderr.contains("dispatch failure"),
        "the SDK's whole error is for debug level: {stderr}"
    );
    assert_eq!(service.terminate(), 0);
}

/// A store in `data`, made by a `trailbell run` that stops at start (its port is taken).
fn make_store(env: &[(&str, &str)], args: &[&str]) {
    let (_held, address) = taken_port();
    let mut all = vec!["run", "--listen", &address];
    all.extend_from_slice(args);
    let output = run_to_exit(&all, env);
    assert_eq!(common::code(&output), 2, "{}", common::stderr(&output));
}

fn outbox_status(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["outbox", "status", "--format", "json"];
    all.extend_from_slice(args);
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailbell"));
    command
        .args(&all)
        .env_remove("TRAILBELL_CONFIG")
        .env_remove("TRAILBELL_DATA_DIR")
        .env("HOME", "/nonexistent")
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("trailbell runs")
}

#[test]
fn outbox_finds_the_store_through_config_data_dir_and_their_environment_variables() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    // `run` takes its data directory from TRAILBELL_DATA_DIR.
    make_store(&[("TRAILBELL_DATA_DIR", path(&data))], &[]);
    assert!(data.join("trailbell.db").is_file());
    let config = dir.path().join("trailbell.toml");
    std::fs::write(
        &config,
        format!(
            "[service]\ndata_dir = \"{}\"\n\n[destinations.slack]\ntype = \"slack\"\n\
             webhook_url = \"env:UNSET_SECRET_OF_THIS_TEST\"\n",
            data.display()
        ),
    )
    .expect("write");

    // Nothing given: the default directory, which has no store.
    let output = outbox_status(&[], &[]);
    assert_eq!(common::code(&output), 2, "{}", common::stderr(&output));
    assert!(common::stderr(&output).contains("no outbox store"));

    for (args, env) in [
        (vec!["--config", path(&config)], vec![]),
        (vec![], vec![("TRAILBELL_CONFIG", path(&config))]),
        (vec!["--data-dir", path(&data)], vec![]),
        (vec![], vec![("TRAILBELL_DATA_DIR", path(&data))]),
    ] {
        let output = outbox_status(&args, &env);
        assert_eq!(
            common::code(&output),
            0,
            "{args:?} {env:?}: {}",
            common::stderr(&output)
        );
        assert_eq!(common::stdout(&output).trim(), "[]");
    }
    // --data-dir wins over the configuration's.
    let output = outbox_status(
        &[
            "--config",
            path(&config),
            "--data-dir",
            path(&dir.path().join("none")),
        ],
        &[],
    );
    assert_eq!(common::code(&output), 2);
    assert!(
        common::stderr(&output).contains("none"),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn scan_fail_on_alerts_exits_1_at_or_above_the_severity_only() {
    let logs = common::workspace_root().join("testdata/AWSLogs");
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "jsonl", path(&logs)];
        args.extend_from_slice(extra);
        common::run(&args)
    };
    let plain = scan(&[]);
    assert_eq!(common::code(&plain), 0, "{}", common::stderr(&plain));
    let severities: Vec<String> = common::stdout(&plain)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON"))
        .filter(|line| line["kind"] == "alert")
        .map(|alert| alert["severity"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(severities.iter().any(|s| s == "high"), "{severities:?}");
    assert!(
        !severities.iter().any(|s| s == "critical"),
        "{severities:?}"
    );

    let any = scan(&["--fail-on-alerts"]);
    assert_eq!(common::code(&any), 1);
    let high = scan(&["--fail-on-alerts", "high"]);
    assert_eq!(common::code(&high), 1);
    let expected = severities.iter().filter(|s| *s == "high").count();
    assert!(
        common::stderr(&high).contains(&format!("{expected} alerts at or above high")),
        "{}",
        common::stderr(&high)
    );
    let critical = scan(&["--fail-on-alerts=critical"]);
    assert_eq!(common::code(&critical), 0, "{}", common::stderr(&critical));
    let wrong = scan(&["--fail-on-alerts", "severe"]);
    assert_eq!(common::code(&wrong), 2);
}

#[test]
fn completions_and_the_manual_page_come_from_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let output = common::run(&["completions", shell]);
        assert_eq!(common::code(&output), 0, "{shell}");
        let script = common::stdout(&output);
        for word in ["scan", "outbox", "fail-on-alerts", "profile"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let bash = common::run(&["completions", "bash"]);
    let check = Command::new("bash")
        .args(["-n", "-c", common::stdout(&bash)])
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let man = common::run(&["man"]);
    assert_eq!(common::code(&man), 0);
    let page = common::stdout(&man);
    assert!(page.contains(".TH trailbell 1"), "{page}");
    assert!(page.contains("CloudTrail alerting service"), "{page}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = common::run(&["man", "--out-dir", path(dir.path())]);
    assert_eq!(common::code(&output), 0, "{}", common::stderr(&output));
    for page in [
        "trailbell.1",
        "trailbell-run.1",
        "trailbell-scan.1",
        "trailbell-outbox.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
}

#[test]
fn help_says_what_trailbell_is_lists_run_first_and_shows_examples() {
    let help = common::run(&["--help"]);
    let text = common::stdout(&help);
    assert!(
        text.starts_with("A CloudTrail alerting service and EventBridge-pattern toolkit"),
        "{text}"
    );
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(commands.first(), Some(&"run"), "{text}");
    for command in ["run", "scan", "outbox", "deploy", "doctor"] {
        let help = common::run(&[command, "--help"]);
        assert!(
            common::stdout(&help).contains(&format!("Examples:\n  trailbell {command}")),
            "{command}: {}",
            common::stdout(&help)
        );
    }
}

/// An AWS configuration file with one profile, and an environment with no other credentials.
fn profile_env(dir: &Path) -> Vec<(String, String)> {
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        "[profile tb-audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .expect("write");
    vec![
        ("AWS_CONFIG_FILE".into(), path(&config).to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            path(&dir.join("no-credentials")).to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

fn trailbell_with(args: &[&str], env: &[(String, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailbell"));
    command.args(args).current_dir(common::workspace_root());
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("trailbell runs")
}

fn aws_cli(endpoint: &str, args: &[&str]) {
    let output = Command::new("aws")
        .args(["--endpoint-url", endpoint, "--region", "us-east-1"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .current_dir(common::workspace_root())
        .output()
        .expect("the aws CLI runs (scripts/test puts it on PATH)");
    assert!(
        output.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn scan_of_s3_takes_profile_and_region_as_the_aws_cli_does() {
    let endpoint = common::moto_endpoint();
    let bucket = format!("tb-first-hour-{}", std::process::id());
    aws_cli(&endpoint, &["s3", "mb", &format!("s3://{bucket}")]);
    aws_cli(
        &endpoint,
        &[
            "s3",
            "cp",
            "--recursive",
            "testdata/AWSLogs",
            &format!("s3://{bucket}/AWSLogs"),
        ],
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let env = profile_env(dir.path());
    let url = format!("s3://{bucket}/AWSLogs/");
    let scan = |profile: &str| {
        trailbell_with(
            &[
                "scan",
                "--format",
                "jsonl",
                &url,
                "--endpoint-url",
                &endpoint,
                "--profile",
                profile,
                "--region",
                "eu-west-1",
            ],
            &env,
        )
    };
    let output = scan("tb-audit");
    assert_eq!(common::code(&output), 0, "{}", common::stderr(&output));
    let local = common::run(&[
        "scan",
        "--format",
        "jsonl",
        path(&common::workspace_root().join("testdata/AWSLogs")),
    ]);
    assert_eq!(
        common::stdout(&output).lines().count(),
        common::stdout(&local).lines().count()
    );
    assert!(common::stdout(&output).lines().count() > 0);
    let output = scan("no-such-profile");
    assert_eq!(common::code(&output), 2, "{}", common::stdout(&output));
}

#[test]
fn deploy_takes_profile_and_region_as_the_aws_cli_does() {
    let endpoint = common::moto_endpoint();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let env = profile_env(dir.path());
    let deploy = |profile: &str| {
        trailbell_with(
            &[
                "deploy",
                "--dry-run",
                "--format",
                "json",
                "--profile",
                profile,
                "--region",
                "eu-west-3",
                "--target-sqs-queue-arn",
                "arn:aws:sqs:eu-west-3:123456789012:alerts",
                // Thresholds need the Lambda (decision 0032); this test is about the flags.
                "--without-threshold-rules",
                "--forward-role-arn",
                "arn:aws:iam::123456789012:role/forward",
                "--endpoint-url",
                &endpoint,
            ],
            &env,
        )
    };
    let output = deploy("tb-audit");
    assert_eq!(common::code(&output), 0, "{}", common::stderr(&output));
    assert!(
        common::stdout(&output).contains("eu-west-3"),
        "{}",
        common::stdout(&output)
    );
    let output = deploy("no-such-profile");
    assert_ne!(common::code(&output), 0, "{}", common::stdout(&output));
}
