//! The command line: clap definitions here, one file per subcommand. With `main.rs`, the only place
//! that uses `anyhow`.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

mod completions;
#[cfg(feature = "service")]
mod deploy;
#[cfg(feature = "service")]
mod doctor;
mod match_events;
#[cfg(feature = "service")]
mod outbox;
mod rules;
mod rules_convert;
#[cfg(feature = "service")]
mod run;
mod scan;
mod test_event_pattern;
mod test_metric_filter;
mod validate;

/// Exit code for a negative answer: the command ran, but some of its input was rejected.
pub const EXIT_NEGATIVE: u8 = 1;
/// Exit code for an error: the command could not do its job.
pub const EXIT_ERROR: u8 = 2;

/// A CloudTrail alerting service and EventBridge-pattern toolkit.
///
/// `trailbell run` receives AWS events (from EventBridge, S3 and SQS, CloudTrail or a directory),
/// matches them against EventBridge event patterns and sends alerts to Slack, SNS, SQS, webhooks,
/// files or the terminal. The other commands test patterns, scan CloudTrail archives, manage the
/// outbox and deploy the rules to AWS.
#[derive(Debug, Parser)]
#[command(
    name = "trailbell",
    version,
    after_help = "Examples:
  trailbell run                                   the built-in rules, alerts to the terminal
  TRAILBELL_SLACK_WEBHOOK_URL=https://hooks.slack.com/... trailbell run
  trailbell scan AWSLogs/ --since 7d --fail-on-alerts high
  trailbell test-event-pattern --event file://event.json --event-pattern file://pattern.json
Documentation: docs/INSTALL.md, docs/CONFIGURATION.md, docs/RULES.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test whether one event matches one event pattern, like `aws events test-event-pattern`.
    TestEventPattern(test_event_pattern::Args),
    /// Match events (JSON lines) against a file of named rules; print the matching rule names.
    Match(match_events::Args),
    /// List the rules of a rule pack (default: the built-in one), or run their tests.
    Rules(rules::Args),
    /// Run a rule pack (default: the built-in one) over CloudTrail log archives; report the alerts.
    Scan(scan::Args),
    /// Look at and repair the outbox: status, list, retry dead letters, purge.
    #[cfg(feature = "service")]
    Outbox(outbox::Args),
    /// Run the service: the EventBridge-compatible API, live sources, rules, alerts out.
    #[command(display_order = 0)]
    #[cfg(feature = "service")]
    Run(run::Args),
    /// Check a configuration file and report every problem at once.
    Validate(validate::Args),
    /// Deploy a rule pack as EventBridge rules in every region where its events land.
    #[cfg(feature = "service")]
    Deploy(deploy::Args),
    /// Delete every EventBridge rule and permission trailbell deployed; nothing else.
    #[cfg(feature = "service")]
    Destroy(deploy::DestroyArgs),
    /// Check a live account for what keeps alerts from arriving; explain each finding's fix.
    #[cfg(feature = "service")]
    Doctor(doctor::Args),
    /// Test which log event messages one CloudWatch Logs filter pattern matches, like
    /// `aws logs test-metric-filter`.
    TestMetricFilter(test_metric_filter::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one per command into a directory.
    Man(completions::ManArgs),
}

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::TestEventPattern(args) => test_event_pattern::run(&args),
        Command::Match(args) => match_events::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Scan(args) => scan::run(&args),
        #[cfg(feature = "service")]
        Command::Outbox(args) => outbox::run(&args),
        #[cfg(feature = "service")]
        Command::Run(args) => run::run(&args),
        Command::Validate(args) => validate::run(&args),
        #[cfg(feature = "service")]
        Command::Deploy(args) => deploy::run(&args),
        #[cfg(feature = "service")]
        Command::Destroy(args) => deploy::destroy(&args),
        #[cfg(feature = "service")]
        Command::Doctor(args) => doctor::run(&args),
        Command::TestMetricFilter(args) => test_metric_filter::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    }
}

/// A command-line value given either inline or, as the AWS CLI does, as `file://PATH`.
#[derive(Clone, Debug)]
enum Input {
    Inline(String),
    File(PathBuf),
}

impl Input {
    /// For clap: `file://PATH` names a file (relative or absolute), anything else is the value.
    fn parse(value: &str) -> Result<Input, String> {
        match value.strip_prefix("file://") {
            Some("") => Err("file:// needs a path, e.g. file://event.json".to_owned()),
            Some(path) => Ok(Input::File(PathBuf::from(path))),
            None => Ok(Input::Inline(value.to_owned())),
        }
    }

    /// The value's bytes; `flag` names the option in error messages.
    fn read_bytes(&self, flag: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Input::Inline(text) => Ok(text.clone().into_bytes()),
            Input::File(path) => {
                fs::read(path).with_context(|| format!("failed to read {}", self.describe(flag)))
            }
        }
    }

    /// The value as text; `flag` names the option in error messages.
    fn read_text(&self, flag: &str) -> anyhow::Result<String> {
        match self {
            Input::Inline(text) => Ok(text.clone()),
            Input::File(path) => fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", self.describe(flag))),
        }
    }

    /// Names the value for messages: `--event`, or `--event file event.json`.
    fn describe(&self, flag: &str) -> String {
        match self {
            Input::Inline(_) => flag.to_owned(),
            Input::File(path) => format!("{flag} file {}", path.display()),
        }
    }
}
