//! A fresh AWS account in moto for each test: the credentials of a role assumed in an account id
//! no other test uses (moto keeps accounts apart by those credentials), so tests share one server.
//! Test files add their own methods with `impl Account` blocks.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use super::moto_endpoint;

pub struct Account {
    pub endpoint: String,
    pub id: String,
    pub key: String,
    pub secret: String,
    pub token: String,
    /// A directory for the test's files.
    pub dir: tempfile::TempDir,
}

impl Account {
    /// An account whose id lies in `first .. first + span`: test files take ranges apart from
    /// each other's, so that test binaries running at once never share an account.
    pub fn in_range(first: u64, span: u64) -> Account {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = u64::from(std::process::id()) * 1_000_000
            + u64::from(COUNTER.fetch_add(1, Ordering::Relaxed)) * 10_000
            + u64::from(nanos % 10_000);
        let id = format!("{:012}", first + n % span);
        let endpoint = moto_endpoint();
        let out = Command::new("aws")
            .args(["--endpoint-url", &endpoint, "--output", "json"])
            .args(["sts", "assume-role"])
            .args([
                "--role-arn",
                &format!("arn:aws:iam::{id}:role/trailbell-test"),
            ])
            .args(["--role-session-name", "trailbell-test"])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .expect("the aws CLI runs (scripts/test puts .venv/bin on PATH)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let creds: Value = serde_json::from_slice(&out.stdout).expect("assume-role JSON");
        let field = |name: &str| {
            creds["Credentials"][name]
                .as_str()
                .expect("a credential")
                .to_owned()
        };
        Account {
            endpoint,
            id,
            key: field("AccessKeyId"),
            secret: field("SecretAccessKey"),
            token: field("SessionToken"),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// Puts this account's credentials and region into `command`'s environment.
    pub fn env(&self, command: &mut Command) {
        command
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_SESSION_TOKEN", &self.token)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1");
    }

    /// Runs the aws CLI in this account; its JSON answer (null when empty).
    pub fn aws(&self, args: &[&str]) -> Value {
        let mut command = Command::new("aws");
        command.args(["--endpoint-url", &self.endpoint, "--output", "json"]);
        command.args(args);
        self.env(&mut command);
        let out = command.output().expect("the aws CLI runs");
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&out.stdout).expect("aws prints JSON")
        }
    }

    /// Runs `trailbell` with `args` and the endpoint in this account.
    pub fn trailbell(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trailbell"));
        command.args(args).args(["--endpoint-url", &self.endpoint]);
        self.env(&mut command);
        command.output().expect("trailbell runs")
    }
}
