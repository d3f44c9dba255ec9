//! The configuration file (`trailbell.toml`): the service, the API's keys, destinations, rules
//! (inline, in EventBridge's names, or whole rule packs) with their targets, and the sources.
//!
//! [`Config::load`] reads a file and reports every problem at once, each with its key path;
//! [`Config::embedded_default`] is what `trailbell run` uses without a file. The format is
//! documented in docs/CONFIGURATION.md and the choices in docs/decisions/0008-configuration.md.

mod check;
mod file;
pub mod remote_secrets;
mod secret_ref;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use check::{check, validate};
pub use file::parse;
pub use secret_ref::{SecretRefError, resolve_secret};

use crate::model::RuleSpec;
use crate::rules::{FileProblem, Severity};
use crate::secret::Secret;
use crate::targets::{Destination, TargetSpec};

/// The port the API listens on by default (127.0.0.1 only).
pub const DEFAULT_PORT: u16 = 9820;

/// The embedded default configuration: the built-in rule pack on the default bus, alerts to the
/// terminal, and to Slack when `TRAILBELL_SLACK_WEBHOOK_URL` is set.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where and as whom the service runs.
    pub service: ServiceSettings,
    /// Who may call the API.
    pub api: ApiSettings,
    /// Where alerts can go, by name.
    pub destinations: Vec<Destination>,
    /// Rule packs with the targets of their rules.
    pub rule_packs: Vec<RulePackSettings>,
    /// Rules written in the file.
    pub rules: Vec<RuleSettings>,
    /// Where events come from besides the API.
    pub sources: Vec<SourceSettings>,
    /// Optional destinations left out because their secret is not set, with why: said once at
    /// start, so a misspelt variable is not mistaken for a quiet channel.
    pub left_out: Vec<LeftOut>,
}

/// An optional destination left out of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The destination's name.
    pub destination: String,
    /// Why, naming the variable or file: `the environment variable NAME is not set`.
    pub reason: String,
}

/// `[service]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSettings {
    /// The store and other state; `None` for the user's data directory.
    pub data_dir: Option<PathBuf>,
    /// The API's address.
    pub listen: SocketAddr,
    /// The account id in ARNs and envelopes.
    pub account: String,
    /// The region in ARNs and envelopes.
    pub region: String,
    /// An AWS-compatible endpoint for every AWS client (tests: moto); `None` for AWS's own.
    pub aws_endpoint_url: Option<String>,
    /// What an accepted event survives.
    pub durability: crate::store::Durability,
    /// A second address serving only `/metrics` and `/health`; `None` for none.
    pub metrics_listen: Option<SocketAddr>,
    /// The HTTP server's connection limit and timeouts.
    pub http: crate::api::HttpLimits,
    /// What the rules of one bus may cost.
    pub rule_limits: crate::registry::RuleLimits,
}

/// `[api]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiSettings {
    /// SigV4 authentication against these keys; empty with `authentication = "disabled"`.
    pub access_keys: Vec<(String, Secret)>,
    /// Whether requests must be signed. Turning it off is allowed on a loopback address only.
    pub authentication: bool,
}

/// `[[rule_packs]]`: a directory of rule files (or the built-in pack) deployed on a bus, every rule
/// with the same targets.
#[derive(Clone, Debug, PartialEq)]
pub struct RulePackSettings {
    /// `builtin`, or a file or directory of rule files.
    pub path: String,
    /// The bus its rules go on.
    pub event_bus_name: String,
    /// Rules below this severity are left out.
    pub min_severity: Severity,
    /// The targets of every rule.
    pub targets: Vec<TargetSpec>,
}

/// `[[rules]]`: one rule in EventBridge's names, with trailbell's additions (title, severity,
/// noise control in its extras), and its targets; each built by the model's one checked
/// constructor, so the file refuses what the API refuses.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSettings {
    /// The rule.
    pub rule: RuleSpec,
    /// `Targets`.
    pub targets: Vec<TargetSpec>,
}

/// `[[sources]]`.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSettings {
    /// A directory watched for new CloudTrail files.
    Directory {
        /// The directory.
        path: PathBuf,
        /// How often it is looked at.
        interval: Duration,
        /// The bus its events go on.
        event_bus_name: String,
    },
    /// S3 event notifications (direct or through SNS) on an SQS queue, for CloudTrail files.
    Sqs {
        /// The queue.
        queue_url: String,
        /// The bus its events go on.
        event_bus_name: String,
    },
    /// CloudTrail `LookupEvents`, polled.
    LookupEvents {
        /// The regions asked.
        regions: Vec<String>,
        /// How often.
        interval: Duration,
        /// The bus its events go on.
        event_bus_name: String,
    },
}

/// Why a configuration could not be used: every problem, each with its file and key path.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<FileProblem>);

impl Config {
    /// The embedded default (see [`EMBEDDED_DEFAULT`]).
    ///
    /// ```
    /// let config = trailbell::config::Config::embedded_default()?;
    /// assert_eq!(config.service.listen.port(), trailbell::config::DEFAULT_PORT);
    /// assert!(config.destinations.iter().any(|d| d.name == "terminal"));
    /// # Ok::<(), trailbell::config::ConfigError>(())
    /// ```
    pub fn embedded_default() -> Result<Config, ConfigError> {
        parse("(embedded default)", EMBEDDED_DEFAULT, &|name| {
            std::env::var(name).ok()
        })
    }

    /// Reads a configuration file; environment variables resolve `env:NAME` secrets.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| {
            ConfigError(vec![FileProblem::new(
                &display,
                "",
                format!("failed to read: {err}"),
            )])
        })?;
        parse(&display, &text, &|name| std::env::var(name).ok())
    }

    /// This configuration when [`check`] finds nothing, else every problem it found: what
    /// `validate` refuses, `run` refuses too, rather than dropping a target with a warning.
    pub fn checked(self, file: &str) -> Result<Config, ConfigError> {
        let problems = check(file, &self);
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError(problems))
        }
    }

    /// The destination named `name`.
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }
}
