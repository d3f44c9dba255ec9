//! `trailbell validate [FILE]`: every problem of a configuration at once.

use std::path::PathBuf;
use std::process::ExitCode;

use trailbell::config::{Config, EMBEDDED_DEFAULT, parse, validate};
use trailbell::sanitize;

use super::EXIT_NEGATIVE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file. [default: the embedded default]
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Exits 0 when valid, 1 with every problem listed when not.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (name, text) = match &args.file {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?,
        ),
        None => ("(embedded default)".to_owned(), EMBEDDED_DEFAULT.to_owned()),
    };
    let problems = validate(&name, &text, &|var| std::env::var(var).ok());
    if problems.is_empty() {
        let config: Option<Config> = parse(&name, &text, &|var| std::env::var(var).ok()).ok();
        let rules = config.as_ref().map_or(0, |c| c.rules.len());
        let packs = config.as_ref().map_or(0, |c| c.rule_packs.len());
        println!(
            "{}: valid ({rules} rules, {packs} rule packs)",
            sanitize::for_terminal(&name)
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("{}", sanitize::for_terminal(&problem.to_string()));
    }
    eprintln!("{} problem(s)", problems.len());
    Ok(ExitCode::from(EXIT_NEGATIVE))
}
