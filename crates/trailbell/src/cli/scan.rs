//! `trailbell scan`: run a rule pack over CloudTrail archives and report the alerts.

use std::io::{self, BufWriter, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailbell::rules::{CompiledRules, RulePack, Severity};
use trailbell::sanitize;
use trailbell::scan::{
    self, EventSummary, Format, Observer, Problem, Report, ScanConfig, Stats, TimeWindow,
};
use trailbell::sources::{ExpandOptions, expand_input, local};
use trailbell_pattern::RuleId;

use super::{EXIT_ERROR, EXIT_NEGATIVE};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell scan AWSLogs/ --since 7d
  trailbell scan s3://my-trail-bucket/AWSLogs/111122223333/ --profile audit --region us-east-1
  trailbell scan --rules my-rules/ --format jsonl AWSLogs/ > alerts.jsonl
  trailbell scan AWSLogs/ --fail-on-alerts high     (exit 1 on a high or critical alert)")]
pub struct Args {
    /// What to scan: CloudTrail log files (.json.gz, .json), JSON lines of records or of
    /// EventBridge events, directories (walked recursively; CloudTrail-Digest/ skipped), S3
    /// archives (s3://bucket/prefix; credentials and region the usual AWS way), or - for standard
    /// input.
    #[arg(value_name = "PATH", required = true)]
    inputs: Vec<String>,
    /// For s3:// inputs: the endpoint of an S3-compatible store (http://127.0.0.1:9000) instead of
    /// AWS's; addressing is path-style then.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// For s3:// inputs: use this named profile of the AWS configuration files, as the aws CLI
    /// does. [default: AWS_PROFILE, else the default chain]
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// For s3:// inputs: the region to ask first (the bucket's own is followed). [default:
    /// AWS_REGION, else the profile's]
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The rules: a rule file or a directory of them. [default: the built-in pack]
    #[arg(long, value_name = "FILE|DIR")]
    rules: Option<PathBuf>,
    /// Only events at or after this time: RFC 3339 (2026-11-02T08:15:00Z), a date (2026-11-02,
    /// UTC) or a time ago (7d, 12h, 30m).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events before this time, in the same forms as --since.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// How to print the alerts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Stop at the first file or record that cannot be read (exit code 2).
    #[arg(long)]
    strict: bool,
    /// Worker threads. [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// The largest a file may decompress to, in MiB; larger ones are skipped (decompression bombs).
    #[arg(long, value_name = "MIB", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..))]
    max_file_mib: u64,
    /// Exit 1 when an alert at or above SEVERITY fired (info, low, medium, high, critical;
    /// without one, any alert): a CI gate on a rule backtest. Write it after the paths, or as
    /// --fail-on-alerts=SEVERITY.
    #[arg(
        long,
        value_name = "SEVERITY",
        num_args = 0..=1,
        default_missing_value = "info",
        value_parser = parse_severity
    )]
    fail_on_alerts: Option<Severity>,
}

fn parse_severity(value: &str) -> Result<Severity, String> {
    value.parse::<Severity>().map_err(|err| err.to_string())
}

/// Scans, reports, and answers 0 when everything was read, [`EXIT_NEGATIVE`] when something was
/// skipped, [`EXIT_ERROR`] when `--strict` stopped at a problem.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let pack = match &args.rules {
        Some(path) => {
            RulePack::load(path).with_context(|| format!("invalid rules {}", path.display()))?
        }
        None => RulePack::builtin(),
    };
    let rules = pack.compile().context("invalid rules")?;
    let window = TimeWindow::parse(
        args.since.as_deref(),
        args.until.as_deref(),
        jiff::Timestamp::now(),
    )?;
    if args.inputs.iter().filter(|input| *input == "-").count() > 1 {
        anyhow::bail!("standard input (-) can be scanned only once");
    }
    let options = ExpandOptions {
        window: window.clone(),
        endpoint_url: args.endpoint_url.clone(),
        profile: args.profile.clone(),
        region: args.region.clone(),
    };
    let inputs = args
        .inputs
        .iter()
        .map(|input| expand_input(input, &options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = ScanConfig {
        window,
        strict: args.strict,
        max_file_bytes: args.max_file_mib.saturating_mul(1 << 20),
        ..ScanConfig::default()
    };
    if let Some(threads) = args.threads {
        config.threads = usize::from(threads);
    }

    let stdout = io::stdout();
    let stdout_is_terminal = stdout.is_terminal();
    let census = Census::default();
    let mut observer = Printer {
        report: Report::new(args.format, &rules, BufWriter::new(stdout.lock())),
        bar: progress_bar(),
        flush_each_alert: stdout_is_terminal,
        alerts: 0,
        rules: &rules,
        failing: Failing {
            threshold: args.fail_on_alerts,
            count: 0,
        },
        census: &census,
    };
    let outcome = std::thread::scope(|scope| {
        if !observer.bar.is_hidden() {
            // The scan lists only a few files ahead of its workers; for an ETA, count the local
            // inputs' files beside it (a walk of names and sizes, cheap next to reading them).
            scope.spawn(|| census.count(&args.inputs, &options));
        }
        let outcome = scan::scan(inputs, &rules, &config, &mut observer);
        census.stop.store(true, Ordering::Relaxed);
        outcome
    })?;
    observer.bar.finish_and_clear();
    observer
        .report
        .finish(&outcome.rules, &outcome.stats)
        .context("failed to write the report")?;
    print_stats(&outcome.stats, args.format, &rules);
    let failing = observer.failing;
    if let Some(threshold) = failing.threshold
        && failing.count > 0
    {
        eprintln!(
            "--fail-on-alerts: {} alerts at or above {threshold}",
            failing.count
        );
    }

    Ok(if outcome.stopped {
        ExitCode::from(EXIT_ERROR)
    } else if failing.count > 0 || outcome.stats.skipped_anything() {
        ExitCode::from(EXIT_NEGATIVE)
    } else {
        ExitCode::SUCCESS
    })
}

/// The observer of `trailbell scan`: alerts to the report on standard output, problems and
/// progress to standard error.
struct Printer<'r, W: io::Write> {
    report: Report<'r, W>,
    bar: ProgressBar,
    flush_each_alert: bool,
    alerts: u64,
    census: &'r Census,
    rules: &'r CompiledRules,
    failing: Failing,
}

/// `--fail-on-alerts`: the severity that fails the scan, and how many alerts reached it.
#[derive(Clone, Copy)]
struct Failing {
    threshold: Option<Severity>,
    count: u64,
}

/// The files and bytes of the local inputs, counted ahead of the scan for the progress bar.
#[derive(Default)]
struct Census {
    files: AtomicU64,
    bytes: AtomicU64,
    stop: AtomicBool,
}

impl Census {
    fn count(&self, inputs: &[String], options: &ExpandOptions) {
        for input in inputs {
            if input == "-" || input.contains("://") {
                continue;
            }
            for object in local::expand(Path::new(input), options).flatten() {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes
                    .fetch_add(object.size().unwrap_or(0), Ordering::Relaxed);
            }
        }
    }
}

impl<W: io::Write> Observer for Printer<'_, W> {
    fn alert(&mut self, rule: RuleId, event: &EventSummary) -> io::Result<()> {
        self.alerts += 1;
        if self
            .failing
            .threshold
            .is_some_and(|threshold| self.rules.rule(rule).severity >= threshold)
        {
            self.failing.count += 1;
        }
        if self.flush_each_alert {
            let report = &mut self.report;
            self.bar.suspend(|| {
                report.alert(rule, event)?;
                report.flush()
            })
        } else {
            self.report.alert(rule, event)
        }
    }

    fn problem(&mut self, problem: &Problem) {
        let line = sanitize::for_terminal(&problem.to_string());
        self.bar.suspend(|| {
            let _ = writeln!(io::stderr().lock(), "{line}");
        });
    }

    fn progress(&mut self, stats: &Stats) {
        if self.bar.is_hidden() {
            return;
        }
        let files = stats.files.max(self.census.files.load(Ordering::Relaxed));
        let bytes = stats
            .bytes_listed
            .max(self.census.bytes.load(Ordering::Relaxed));
        self.bar.set_length(bytes.max(stats.bytes));
        self.bar.set_position(stats.bytes);
        self.bar.set_message(format!(
            "{}/{files} files, {} events, {} alerts",
            stats.files_done, stats.records, self.alerts
        ));
    }
}

/// A progress bar on standard error when it is a terminal, else a hidden one.
fn progress_bar() -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, eta {eta}  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The closing lines on standard error: what was read, how fast, what was guessed.
fn print_stats(stats: &Stats, format: Format, rules: &CompiledRules) {
    let mut err = io::stderr().lock();
    if format == Format::Table || io::stderr().is_terminal() {
        let secs = stats.elapsed_secs.max(1e-9);
        let _ = writeln!(
            err,
            "Scanned {} files ({:.1} MB, {:.1} MB decompressed), {} records with {} rules in {:.2} s \
             ({:.0} records/s, {:.1} MB/s decompressed): {} alerts, {} duplicates dropped, {} files and {} values skipped.",
            stats.files_done,
            stats.bytes as f64 / 1e6,
            stats.bytes_inflated as f64 / 1e6,
            stats.records,
            rules.len(),
            stats.elapsed_secs,
            stats.records as f64 / secs,
            stats.bytes_inflated as f64 / 1e6 / secs,
            stats.alerts,
            stats.duplicates,
            stats.skipped_files,
            stats.skipped_records,
        );
    }
    for (count, what) in [
        (
            stats.outside_window,
            "records outside --since/--until were not matched",
        ),
        (
            stats.untimed,
            "records without a readable eventTime were left out by --since/--until",
        ),
        (
            stats.excepted,
            "matches were silenced by their rule's exceptions",
        ),
        (
            stats.no_source,
            "records had no eventSource: their events have no source",
        ),
        (
            stats.no_detail_type,
            "records had no known eventType: their events have no detail-type",
        ),
        (
            stats.no_time,
            "records had no eventTime: their events have no time",
        ),
        (
            stats.odd_time,
            "records had an eventTime that is not a time: kept as written",
        ),
        (
            stats.no_event_id,
            "records had no eventID: they cannot be deduplicated",
        ),
    ] {
        if count > 0 {
            let _ = writeln!(err, "note: {count} {what}");
        }
    }
}
