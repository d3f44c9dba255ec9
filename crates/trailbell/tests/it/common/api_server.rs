//! An in-process API server for tests: a registry in a temporary store, a task that records the
//! submissions and answers them (Ok, or Err when told to fail), the server on 127.0.0.1:0; and
//! the two clients that drive it, the aws CLI and the AWS SDK for Rust.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use trailbell::api::{ApiAuth, ApiState, ServeError, serve};
use trailbell::registry::Registry;
use trailbell::secret::Secret;
use trailbell::service::{BusEvent, Submission};

/// The test environment's dummy credentials (scripts/lib/test-services.sh).
pub const KEY_ID: &str = "testing";
pub const SECRET: &str = "testing";

/// One submission as the service saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub bus: String,
    pub events: Vec<BusEvent>,
}

pub struct TestServer {
    pub endpoint: String,
    pub registry: Registry,
    /// While true, the service answers submissions with an error.
    pub fail: Arc<AtomicBool>,
    seen: mpsc::UnboundedReceiver<Seen>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server checking SigV4 against the test keys.
    pub async fn start() -> TestServer {
        TestServer::start_with(ApiAuth::Keys(vec![(
            KEY_ID.to_owned(),
            Secret::new(SECRET),
        )]))
        .await
    }

    pub async fn start_with(auth: ApiAuth) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let registry = Registry::open(
            &dir.path().join("trailbell.db"),
            "123456789012",
            "us-east-1",
        )
        .expect("the registry opens");
        let (submissions, mut incoming) = mpsc::channel::<Submission>(16);
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let fail = Arc::new(AtomicBool::new(false));
        let failing = fail.clone();
        tokio::spawn(async move {
            while let Some(submission) = incoming.recv().await {
                let _ = seen_tx.send(Seen {
                    bus: submission.event_bus_name.clone(),
                    events: submission.events.clone(),
                });
                let answer = if failing.load(Ordering::SeqCst) {
                    Err("outbox unavailable".to_owned())
                } else {
                    Ok(())
                };
                let _ = submission.done.send(answer);
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let state = ApiState::new(registry.clone(), submissions, auth);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestServer {
            endpoint,
            registry,
            fail,
            seen,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    /// The next submission the service received (fails the test after 30 s).
    pub async fn next_submission(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(30), self.seen.recv())
            .await
            .expect("a submission arrives")
            .expect("the recorder runs")
    }

    /// Submissions already received, without waiting.
    pub fn received(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            all.push(seen);
        }
        all
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served
                .await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    /// An SDK client signing with `secret`.
    pub fn sdk_with(&self, key_id: &str, secret: &str) -> aws_sdk_eventbridge::Client {
        let config = aws_sdk_eventbridge::Config::builder()
            .behavior_version_latest()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
                key_id, secret, None, None, "tests",
            ))
            .build();
        aws_sdk_eventbridge::Client::from_conf(config)
    }

    /// An SDK client with the test keys.
    pub fn sdk(&self) -> aws_sdk_eventbridge::Client {
        self.sdk_with(KEY_ID, SECRET)
    }

    /// Runs `aws events ARGS --endpoint-url ...` with the test keys.
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        self.cli_with(SECRET, args).await
    }

    /// Runs `aws events ARGS` signing with `secret`.
    pub async fn cli_with(&self, secret: &str, args: &[&str]) -> CliOutput {
        let mut command = Command::new(aws_cli());
        command
            .arg("events")
            .args(args)
            .args([
                "--endpoint-url",
                &self.endpoint,
                "--region",
                "us-east-1",
                "--output",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the CLI task")
            .expect("the aws CLI runs (is .venv/bin on PATH?)");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        CliOutput {
            success: output.status.success(),
            json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What an `aws` command printed.
#[derive(Debug)]
pub struct CliOutput {
    pub success: bool,
    pub json: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// The JSON answer of a command that must succeed.
    pub fn ok(self) -> serde_json::Value {
        assert!(self.success, "aws failed: {}", self.stderr);
        self.json
    }

    /// The stderr of a command that must fail.
    pub fn err(self) -> String {
        assert!(!self.success, "aws succeeded: {}", self.stdout);
        self.stderr
    }
}

/// `aws` from the repository's `.venv` when there, else from PATH.
fn aws_cli() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/aws");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("aws")
    }
}
