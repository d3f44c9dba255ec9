//! `trailbell test-metric-filter`: which log event messages does one filter pattern match?
//! Answers like `aws logs test-metric-filter`, in the AWS CLI's JSON layout.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use trailbell_pattern::FilterPattern;

use super::Input;

/// CloudWatch Logs' bounds on `logEventMessages`.
const MAX_MESSAGES: usize = 50;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CloudWatch Logs filter pattern, or file://PATH to read it from a file.
    #[arg(long, value_name = "PATTERN|file://PATH", value_parser = Input::parse)]
    filter_pattern: Input,
    /// The log event messages to test (1 to 50); for CloudTrail, each a record's JSON.
    #[arg(long, value_name = "MESSAGE", num_args = 1.., required = true)]
    log_event_messages: Vec<String>,
}

#[derive(Serialize)]
struct Output<'a> {
    matches: Vec<Match<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Match<'a> {
    event_number: usize,
    event_message: &'a str,
    extracted_values: serde_json::Map<String, serde_json::Value>,
}

/// Prints the matching messages, numbered from 1, and succeeds whether or not any matched; an
/// invalid pattern or too many messages is an error.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let text = args.filter_pattern.read_text("--filter-pattern")?;
    let pattern = FilterPattern::parse(text.trim_end_matches(['\n', '\r']))
        .map_err(|err| anyhow::Error::new(err).context("InvalidParameterException"))?;
    if args.log_event_messages.len() > MAX_MESSAGES {
        anyhow::bail!(
            "InvalidParameterException: --log-event-messages takes 1 to {MAX_MESSAGES} messages, got {}",
            args.log_event_messages.len()
        );
    }
    let matches = args
        .log_event_messages
        .iter()
        .enumerate()
        .filter(|(_, message)| pattern.matches_message(message))
        .map(|(i, message)| Match {
            event_number: i + 1,
            event_message: message,
            extracted_values: serde_json::Map::new(),
        })
        .collect();

    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    Output { matches }
        .serialize(&mut serializer)
        .context("failed to render output")?;
    out.push(b'\n');
    io::stdout()
        .lock()
        .write_all(&out)
        .context("failed to write output")?;
    Ok(ExitCode::SUCCESS)
}
