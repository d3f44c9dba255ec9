//! `trailbell outbox status|list|retry|purge`: look at and repair the outbox in a data directory's
//! store, while the service runs or not.
//!
//! Exit codes: 0 success; 1 a negative answer (`status` found dead letters, `retry` found nothing to
//! retry); 2 an error (no store in the data directory, an unreadable store).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use trailbell::outbox::{
    DestinationStatus, ListFilter, MessageSummary, Outbox, PurgeSelection, RetrySelection, now_ms,
};
use trailbell::sanitize::for_terminal_capped;

use super::EXIT_NEGATIVE;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell outbox status --config /etc/trailbell/trailbell.toml
  trailbell outbox list --state dead
  trailbell outbox retry --all-dead --destination slack
  trailbell outbox purge --delivered-older-than 7d")]
pub struct Args {
    #[command(subcommand)]
    command: OutboxCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OutboxCommand {
    /// Count rows per destination and state. Exits 1 when there are dead letters.
    Status(Common),
    /// List rows, newest first, without payloads or secrets.
    List(ListArgs),
    /// Send dead letters again: attempts reset, age counted from now. Exits 1 if none matched.
    Retry(RetryArgs),
    /// Delete delivered rows older than a duration, dead letters, or rows by id.
    Purge(PurgeArgs),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The service's configuration file: its [service] data_dir is the store's directory, as
    /// for `trailbell run`.
    #[arg(long, value_name = "FILE", env = "TRAILBELL_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory holding the store (trailbell.db). [default: the configuration's, else
    /// the platform's data directory, e.g. ~/.local/share/trailbell]
    #[arg(long, value_name = "DIR", env = "TRAILBELL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// An aligned table for people, or JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum State {
    Pending,
    InFlight,
    Delivered,
    Dead,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Only rows in this state.
    #[arg(long, value_enum)]
    state: Option<State>,
    /// Only this destination's rows.
    #[arg(long, value_name = "NAME")]
    destination: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Debug, clap::Args)]
struct RetryArgs {
    #[command(flatten)]
    common: Common,
    /// Row ids (dead letters) to retry.
    #[arg(
        value_name = "ID",
        required_unless_present = "all_dead",
        conflicts_with = "all_dead"
    )]
    ids: Vec<i64>,
    /// Retry every dead letter (of --destination, if given).
    #[arg(long)]
    all_dead: bool,
    /// With --all-dead: only this destination's.
    #[arg(long, value_name = "NAME", requires = "all_dead")]
    destination: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PurgeArgs {
    #[command(flatten)]
    common: Common,
    /// Row ids to delete (not in flight).
    #[arg(value_name = "ID")]
    ids: Vec<i64>,
    /// Delete delivered rows older than this, e.g. `7d`, `12h`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    delivered_older_than: Option<Duration>,
    /// Delete dead letters (of --destination, if given).
    #[arg(long)]
    dead: bool,
    /// With --dead: only this destination's.
    #[arg(long, value_name = "NAME", requires = "dead")]
    destination: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        OutboxCommand::Status(common) => status(common),
        OutboxCommand::List(args) => list(args),
        OutboxCommand::Retry(args) => retry(args),
        OutboxCommand::Purge(args) => purge(args),
    }
}

/// The store of `--data-dir` (or the default data directory); an error if there is none, so a
/// typo in the directory is not mistaken for an empty outbox.
fn open(common: &Common) -> anyhow::Result<Outbox> {
    let configured = match &common.config {
        Some(path) => configured_data_dir(path)?,
        None => None,
    };
    let dir = match common.data_dir.clone().or(configured) {
        Some(dir) => dir,
        None => dirs::data_dir()
            .context("no data directory on this platform; give --data-dir")?
            .join("trailbell"),
    };
    let path = dir.join(trailbell::store::FILE_NAME);
    if !path.is_file() {
        bail!(
            "no outbox store at {} (is --data-dir right?)",
            path.display()
        );
    }
    Outbox::open(&path).with_context(|| format!("failed to open the outbox {}", path.display()))
}

/// The `[service] data_dir` of the configuration file at `path`, if it sets one. Only that key
/// is read: the outbox needs no destination's secret.
fn configured_data_dir(path: &Path) -> anyhow::Result<Option<PathBuf>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the configuration {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("the configuration {} is not TOML", path.display()))?;
    match table
        .get("service")
        .and_then(|service| service.get("data_dir"))
    {
        None => Ok(None),
        Some(toml::Value::String(dir)) => Ok(Some(PathBuf::from(dir))),
        Some(_) => bail!(
            "{}: service.data_dir: expected a path (a string)",
            path.display()
        ),
    }
}

fn status(common: &Common) -> anyhow::Result<ExitCode> {
    let outbox = open(common)?;
    let rows = outbox.status().context("failed to read the outbox")?;
    let mut out = BufWriter::new(io::stdout().lock());
    match common.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => write_status(&rows, &mut out)?,
    }
    out.flush()?;
    let dead = rows.iter().any(|row| row.dead > 0);
    Ok(if dead {
        ExitCode::from(EXIT_NEGATIVE)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_status(rows: &[DestinationStatus], out: &mut impl Write) -> io::Result<()> {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                for_terminal_capped(&row.destination, 40),
                row.pending.to_string(),
                row.in_flight.to_string(),
                row.delivered.to_string(),
                row.dead.to_string(),
                row.oldest_pending_ms.map(time).unwrap_or_default(),
            ]
        })
        .collect();
    write_table(
        &[
            "DESTINATION",
            "PENDING",
            "IN FLIGHT",
            "DELIVERED",
            "DEAD",
            "OLDEST PENDING",
        ],
        &table,
        out,
    )
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let outbox = open(&args.common)?;
    let filter = ListFilter {
        state: args.state.map(|state| match state {
            State::Pending => trailbell::outbox::MessageState::Pending,
            State::InFlight => trailbell::outbox::MessageState::InFlight,
            State::Delivered => trailbell::outbox::MessageState::Delivered,
            State::Dead => trailbell::outbox::MessageState::Dead,
        }),
        destination: args.destination.clone(),
        limit: args.limit,
    };
    let rows = outbox.list(&filter).context("failed to read the outbox")?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.common.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => write_list(&rows, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_list(rows: &[MessageSummary], out: &mut impl Write) -> io::Result<()> {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let next = match row.state {
                trailbell::outbox::MessageState::Pending => time(row.next_attempt_at_ms),
                _ => String::new(),
            };
            let answer = match (&row.response_status, &row.response_body) {
                (Some(status), Some(body)) => format!("{status} {}", body.trim()),
                (Some(status), None) => status.to_string(),
                _ => String::new(),
            };
            vec![
                row.id.to_string(),
                for_terminal_capped(&row.destination, 30),
                row.state.as_str().to_owned(),
                for_terminal_capped(&row.rule_name, 40),
                for_terminal_capped(&row.target_id, 20),
                for_terminal_capped(&row.event_id, 36),
                row.attempts.to_string(),
                row.retries.to_string(),
                next,
                for_terminal_capped(row.last_error.as_deref().unwrap_or(""), 80),
                for_terminal_capped(&answer, 60),
            ]
        })
        .collect();
    write_table(
        &[
            "ID",
            "DESTINATION",
            "STATE",
            "RULE",
            "TARGET",
            "EVENT",
            "ATTEMPTS",
            "RETRIES",
            "NEXT ATTEMPT",
            "LAST ERROR",
            "RESPONSE",
        ],
        &table,
        out,
    )
}

fn retry(args: &RetryArgs) -> anyhow::Result<ExitCode> {
    let mut outbox = open(&args.common)?;
    let selection = if args.all_dead {
        RetrySelection::Dead {
            destination: args.destination.clone(),
        }
    } else {
        RetrySelection::Ids(args.ids.clone())
    };
    let count = outbox
        .retry(&selection)
        .context("failed to update the outbox")?;
    report_count("retried", count, args.common.format)?;
    Ok(if count == 0 {
        ExitCode::from(EXIT_NEGATIVE)
    } else {
        ExitCode::SUCCESS
    })
}

fn purge(args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let mut selections = Vec::new();
    if let Some(age) = args.delivered_older_than {
        let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        selections.push(PurgeSelection::DeliveredBefore(
            now_ms().saturating_sub(age),
        ));
    }
    if args.dead {
        selections.push(PurgeSelection::Dead {
            destination: args.destination.clone(),
        });
    }
    if !args.ids.is_empty() {
        selections.push(PurgeSelection::Ids(args.ids.clone()));
    }
    if selections.is_empty() {
        bail!("nothing to purge: give row ids, --dead or --delivered-older-than");
    }
    let mut outbox = open(&args.common)?;
    let mut count = 0;
    for selection in &selections {
        count += outbox
            .purge(selection)
            .context("failed to update the outbox")?;
    }
    report_count("purged", count, args.common.format)?;
    Ok(ExitCode::SUCCESS)
}

fn report_count(verb: &str, count: usize, format: Format) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::json!({ verb: count })),
        Format::Table => writeln!(
            out,
            "{verb} {count} row{}",
            if count == 1 { "" } else { "s" }
        ),
    }
}

/// Unix milliseconds as RFC 3339 UTC, to the second.
fn time(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| format!("{t:.0}"))
        .unwrap_or_else(|_| millis.to_string())
}

fn write_table(header: &[&str], rows: &[Vec<String>], out: &mut impl Write) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>, out: &mut dyn Write| -> io::Result<()> {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if index + 1 < cells.len() {
                text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(header.to_vec(), out)?;
    for row in rows {
        line(row.iter().map(String::as_str).collect(), out)?;
    }
    Ok(())
}
