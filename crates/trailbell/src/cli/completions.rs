//! `trailbell completions SHELL` and `trailbell man`: shell completions and manual pages, made
//! from the command-line definitions so they never drift from them.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell completions bash > /etc/bash_completion.d/trailbell
  trailbell completions zsh > \"${fpath[1]}/_trailbell\"
  trailbell completions fish > ~/.config/fish/completions/trailbell.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell man | man -l -
  trailbell man --out-dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Write a page per command (trailbell.1, trailbell-run.1, ...) into this directory instead
    /// of the main page to standard output.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = super::Cli::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "trailbell", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the main manual page, or writes every page into `--out-dir`.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let command = super::Cli::command();
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        }
        None => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
