//! `trailbell test-event-pattern`: does one event match one pattern? Answers like
//! `aws events test-event-pattern`.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell_pattern::Pattern;

use super::Input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event pattern: JSON, or file://PATH to read it from a file.
    #[arg(long, value_name = "JSON|file://PATH", value_parser = Input::parse)]
    event_pattern: Input,
    /// The event: JSON, or file://PATH to read it from a file.
    #[arg(long, value_name = "JSON|file://PATH", value_parser = Input::parse)]
    event: Input,
}

/// Prints `{"Result": true}` or `{"Result": false}` and succeeds either way; an invalid pattern or
/// event is an error.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let pattern_text = args.event_pattern.read_text("--event-pattern")?;
    let pattern = Pattern::parse(&pattern_text)
        .map_err(|err| anyhow::Error::new(err).context("InvalidEventPatternException"))?;

    let event = args.event.read_bytes("--event")?;
    let matched = pattern
        .matches(&event)
        .with_context(|| format!("{} is not a valid event", args.event.describe("--event")))?;

    writeln!(io::stdout().lock(), "{{\"Result\": {matched}}}").context("failed to write output")?;
    Ok(ExitCode::SUCCESS)
}
