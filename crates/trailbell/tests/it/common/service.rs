//! The real `trailbell run` in a child process, on a free port and a temporary data directory,
//! with the address read from the line it prints when it listens (never by sleeping).

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `trailbell run`.
pub struct ServiceProcess {
    pub child: Child,
    pub address: String,
    pub stdout: mpsc::Receiver<String>,
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stderr_lines: mpsc::Receiver<String>,
}

impl ServiceProcess {
    /// Starts `trailbell run` with `config` (TOML text; `None` for the embedded default) and
    /// `data_dir`, on 127.0.0.1 port 0.
    pub fn start(config: Option<&str>, data_dir: &Path) -> ServiceProcess {
        ServiceProcess::start_with_env(config, data_dir, &[])
    }

    pub fn start_with_env(
        config: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> ServiceProcess {
        ServiceProcess::start_with(config, data_dir, env, &[])
    }

    /// With environment variables and extra arguments of `trailbell run`.
    pub fn start_with(
        config: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> ServiceProcess {
        ServiceProcess::start_from(
            Command::new(env!("CARGO_BIN_EXE_trailbell")),
            config,
            data_dir,
            env,
            args,
        )
    }

    /// Like [`ServiceProcess::start_with_env`], with at most `open_files` file descriptors.
    pub fn start_with_open_files(
        config: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
        open_files: u32,
    ) -> ServiceProcess {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            &format!("ulimit -n {open_files} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_trailbell"),
        ]);
        ServiceProcess::start_from(command, config, data_dir, env, &[])
    }

    fn start_from(
        mut command: Command,
        config: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> ServiceProcess {
        command
            .arg("run")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args);
        command.args(["--listen", "127.0.0.1:0"]);
        if let Some(config) = config {
            let path = data_dir.with_extension("toml");
            std::fs::write(&path, config).expect("the configuration is written");
            command.arg("--config").arg(path);
        }
        command.env("RUST_LOG", "info");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .current_dir(crate::common::workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("trailbell run starts");
        let (address_tx, address_rx) = mpsc::channel();
        let stderr_lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = std::sync::Arc::clone(&stderr_lines);
        let (stderr_tx, stderr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest
                        .split(|c: char| c.is_whitespace() || c == '"')
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    let _ = address_tx.send(address);
                }
                lines.lock().expect("stderr lock").push(line.clone());
                let _ = stderr_tx.send(line);
            }
        });
        let (stdout_tx, stdout_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if stdout_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "trailbell run did not start listening; stderr:\n{}",
                    stderr_lines.lock().expect("stderr lock").join("\n")
                );
            }
        };
        ServiceProcess {
            child,
            address,
            stdout: stdout_rx,
            stderr: stderr_lines,
            stderr_lines: stderr_rx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Waits for a stdout line containing `needle`; returns it.
    pub fn stdout_line_with(&self, needle: &str) -> String {
        self.line_with(&self.stdout, "stdout", needle)
    }

    /// Waits for a standard-error line containing `needle`; returns it.
    pub fn stderr_line_with(&self, needle: &str) -> String {
        self.line_with(&self.stderr_lines, "stderr", needle)
    }

    /// Waits up to 30 s for a line of `lines` (the stream `stream`) containing `needle`.
    fn line_with(&self, lines: &mpsc::Receiver<String>, stream: &str, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no {stream} line with {needle:?} within 30 s; stderr:\n{}",
                    self.stderr_text()
                ),
            }
        }
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().expect("stderr lock").join("\n")
    }

    /// SIGTERM, then waits for the exit code.
    pub fn terminate(mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("trailbell run exits");
        status.code().unwrap_or(-1)
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One EventBridge API call with a plain HTTP request (authentication is off in these tests'
/// configurations): the status and the JSON answer.
pub async fn api_answer(
    address: &str,
    action: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/"))
        .header("X-Amz-Target", format!("AWSEvents.{action}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .expect("the API answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// [`api_answer`] for a call that must succeed: its JSON answer.
pub async fn api_call(address: &str, action: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, answer) = api_answer(address, action, body).await;
    assert!((200..300).contains(&status), "{action}: {status} {answer}");
    answer
}

/// PutEvents with a plain HTTP request (authentication is off in these tests' configurations):
/// `entries` is the JSON array of PutEvents entries. Returns the response body.
pub async fn put_events(address: &str, entries: serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/"))
        .header("X-Amz-Target", "AWSEvents.PutEvents")
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(serde_json::json!({ "Entries": entries }).to_string())
        .send()
        .await
        .expect("PutEvents answers");
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "PutEvents: {status} {body}");
    body
}

/// The service's `/metrics` answer.
pub async fn metrics_text(service: &ServiceProcess) -> String {
    reqwest::get(service.url("/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a body")
}

/// A service with one webhook destination at `hook_url` and `rules`, its data in a new temporary
/// directory (returned: the service's data lives as long as it).
pub fn start_with_webhook(hook_url: &str, rules: &str) -> (tempfile::TempDir, ServiceProcess) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&webhook_config(hook_url, rules)),
        &dir.path().join("data"),
    );
    (dir, service)
}

/// A PutEvents entry carrying the `detail` of the fixture `rules/events/<name>.json`.
pub fn entry_from_fixture(name: &str) -> serde_json::Value {
    let path: PathBuf = crate::common::workspace_root().join(format!("rules/events/{name}.json"));
    let text = std::fs::read_to_string(&path).expect("the fixture exists");
    let event: serde_json::Value = serde_json::from_str(&text).expect("the fixture is JSON");
    serde_json::json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
    })
}

/// A rule sending events of source `test.door` whole to the destination `hook`.
pub const DOOR_RULE: &str = r#"
[[rules]]
Name = "door"
EventPattern = '{"source": ["test.door"]}'
Targets = [{ Id = "whole", Arn = "hook" }]
"#;

/// A configuration with authentication off (loopback), one webhook destination and `rules`.
pub fn webhook_config(url: &str, rules: &str) -> String {
    format!(
        r#"
[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "{url}"
timeout = "2s"

{rules}
"#
    )
}

/// The body of the first message that reaches the SQS queue at `queue_url` within 30 seconds;
/// fails with the service's standard error when none does.
pub async fn first_queue_message(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    service: &ServiceProcess,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        if let Some(message) = received.messages().first() {
            return message.body().unwrap_or_default().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing reached the queue; stderr:\n{}",
            service.stderr_text()
        );
    }
}
