//! `trailbell rules convert`: a filter pattern as an event pattern, or the other way, where the
//! two languages say exactly the same thing; otherwise why not (decision 0028).

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::rules::{RECORD_FIELD, event_pattern_for_filter};
use trailbell_pattern::{FilterPattern, Pattern, filter_pattern_for};

use super::EXIT_NEGATIVE;

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The language to convert into.
    #[arg(long, value_enum)]
    to: Language,
    /// A rule file (.toml: its filter_pattern or event_pattern), or a file holding one pattern
    /// (JSON: an event pattern; anything else: a filter pattern).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Language {
    EventPattern,
    FilterPattern,
}

/// Prints the translation and exits 0; exits 1 saying why when there is no exact one, 2 when
/// the input cannot be read.
pub fn convert(args: &ConvertArgs) -> anyhow::Result<ExitCode> {
    let display = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("failed to read {display}"))?;
    let (event_pattern, filter_pattern) = if args.file.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{display} is not a TOML rule file"))?;
        let key = |name: &str| table.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        (key("event_pattern"), key("filter_pattern"))
    } else if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
        (Some(text), None)
    } else {
        (None, Some(text))
    };

    let result = match args.to {
        Language::EventPattern => {
            let filter = filter_pattern
                .with_context(|| format!("{display} holds no filter pattern to convert"))?;
            let filter = filter.trim();
            FilterPattern::parse(filter)
                .with_context(|| format!("invalid filter pattern in {display}"))?;
            event_pattern_for_filter(filter).map_err(|err| err.to_string())
        }
        Language::FilterPattern => {
            let pattern = event_pattern
                .with_context(|| format!("{display} holds no event pattern to convert"))?;
            Pattern::parse(&pattern)
                .with_context(|| format!("invalid event pattern in {display}"))?;
            filter_pattern_for(&pattern, RECORD_FIELD).map_err(|err| err.to_string())
        }
    };
    match result {
        Ok(converted) => {
            writeln!(io::stdout().lock(), "{converted}").context("failed to write output")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            let line = format!("no exact translation of {display}: {why}");
            eprintln!("{}", trailbell::sanitize::for_terminal(&line));
            Ok(ExitCode::from(EXIT_NEGATIVE))
        }
    }
}
