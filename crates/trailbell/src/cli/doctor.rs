//! `trailbell doctor`: checks a live account and explains each finding with its fix.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::deploy::plan::{Arn, Options};
use trailbell::deploy::{Aws, doctor, security_hub};
use trailbell::sanitize;

use super::EXIT_NEGATIVE;
use super::deploy::{AwsArgs, Format, load_rules};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell doctor --profile prod --region us-east-1
  trailbell doctor --regions us-east-1,eu-west-1 --format json
  trailbell doctor --log-group aws-cloudtrail-logs --region us-east-1")]
pub struct Args {
    /// The rule pack that should be deployed: a rule file, a directory of them, or `builtin`.
    #[arg(long, value_name = "PATH|builtin", default_value = "builtin")]
    rules: String,
    #[command(flatten)]
    aws: AwsArgs,
    /// A dead-letter queue to check, besides those on trailbell's rules.
    #[arg(long, value_name = "ARN")]
    dead_letter_queue_arn: Option<String>,
    /// Check the metric-filter form instead, as Security Hub's CloudWatch.1-14 do: a multi-region
    /// trail delivering to this log group and, per control, a metric filter on it with the
    /// control's pattern, an alarm on its metric and an SNS topic with a subscriber among the
    /// alarm's actions. Takes one region.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["rules", "dead_letter_queue_arn", "event_bus_name"])]
    log_group: Option<String>,
}

/// Exits 0 when nothing is wrong, 1 with every finding listed when something is.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let Some(log_group) = &args.log_group {
        return run_log_group(args, log_group);
    }
    let pack = load_rules(&args.rules)?;
    let options = Options {
        regions: args.aws.regions()?,
        event_bus_name: args.aws.event_bus_name.clone(),
        dead_letter_queue_arn: args
            .dead_letter_queue_arn
            .as_deref()
            .map(Arn::parse)
            .transpose()?,
        ..Options::default()
    };
    let aws = Aws::new(args.aws.endpoint_url.clone()).with_profile(args.aws.profile.clone());
    let findings = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(doctor::examine(&aws, &pack, &options))?;
    // Written, not printed: a closed standard output ends the command quietly (main.rs).
    let mut out = io::stdout().lock();
    match args.aws.format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "findings": findings }))?
        )?,
        Format::Text => print_findings(&mut out, &findings)?,
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

/// `doctor --log-group`: exits 0 when every control passes, 1 otherwise.
fn run_log_group(args: &Args, log_group: &str) -> anyhow::Result<ExitCode> {
    let regions = args.aws.regions()?;
    let [region] = regions.as_slice() else {
        anyhow::bail!(
            "--log-group takes one --region (a log group lives in one region), not {}",
            regions.join(", ")
        );
    };
    let aws = Aws::new(args.aws.endpoint_url.clone()).with_profile(args.aws.profile.clone());
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(security_hub::examine(&aws, region, log_group))?;
    let mut out = io::stdout().lock();
    match args.aws.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => {
            writeln!(
                out,
                "log group {} in {}",
                sanitize::for_terminal(&report.log_group),
                sanitize::for_terminal(&report.region)
            )?;
            if !report.trails.is_empty() {
                writeln!(
                    out,
                    "trail {} delivers to it{}",
                    sanitize::for_terminal(&report.trails.join(", ")),
                    if report.trail_ok {
                        ""
                    } else {
                        " (not multi-region, logging, with management events: see below)"
                    }
                )?;
            }
            for control in &report.controls {
                let how = if control.passed {
                    format!(
                        "filter {} -> alarm {} -> topic {}",
                        control.metric_filters.join(", "),
                        control.alarms.join(", "),
                        control.topics.join(", ")
                    )
                } else if !control.alarms.is_empty() {
                    format!(
                        "filter {} -> alarm {} -> topic {}, but no trail that Security Hub accepts delivers to the log group",
                        control.metric_filters.join(", "),
                        control.alarms.join(", "),
                        control.topics.join(", ")
                    )
                } else if control.metric_filters.is_empty() {
                    "no metric filter with its pattern".to_owned()
                } else {
                    format!(
                        "filter {}, but no alarm notifying a subscribed topic",
                        control.metric_filters.join(", ")
                    )
                };
                writeln!(
                    out,
                    "{:<13} {} CIS {:<4} {}: {}",
                    control.control,
                    if control.passed { "pass" } else { "FAIL" },
                    control.cis,
                    control.title,
                    sanitize::for_terminal(&how)
                )?;
            }
            print_findings(&mut out, &report.findings)?;
        }
    }
    Ok(
        if report.findings.is_empty() && report.controls.iter().all(|c| c.passed) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_NEGATIVE)
        },
    )
}

fn print_findings(out: &mut impl io::Write, findings: &[doctor::Finding]) -> io::Result<()> {
    for finding in findings {
        let place = [finding.region.as_str(), finding.resource.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        writeln!(
            out,
            "{} {} [{}]\n  {}\n  fix: {}",
            match finding.severity {
                doctor::Severity::Error => "error:",
                doctor::Severity::Warning => "warning:",
            },
            finding.id,
            sanitize::for_terminal(&place),
            sanitize::for_terminal(&finding.explanation),
            sanitize::for_terminal(&finding.fix)
        )?;
    }
    writeln!(out, "{} finding(s)", findings.len())
}
