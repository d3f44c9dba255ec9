//! `trailbell doctor`: checks a live account and explains each finding with its fix.

use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::deploy::plan::{Arn, Options};
use trailbell::deploy::{Aws, doctor};
use trailbell::sanitize;

use super::EXIT_NEGATIVE;
use super::deploy::{AwsArgs, Format, load_rules};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell doctor --profile prod --region us-east-1
  trailbell doctor --regions us-east-1,eu-west-1 --format json")]
pub struct Args {
    /// The rule pack that should be deployed: a rule file, a directory of them, or `builtin`.
    #[arg(long, value_name = "PATH|builtin", default_value = "builtin")]
    rules: String,
    #[command(flatten)]
    aws: AwsArgs,
    /// A dead-letter queue to check, besides those on trailbell's rules.
    #[arg(long, value_name = "ARN")]
    dead_letter_queue_arn: Option<String>,
}

/// Exits 0 when nothing is wrong, 1 with every finding listed when something is.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
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
    match args.aws.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "findings": findings }))?
        ),
        Format::Text => {
            for finding in &findings {
                let place = [finding.region.as_str(), finding.resource.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "{} {} [{}]\n  {}\n  fix: {}",
                    match finding.severity {
                        doctor::Severity::Error => "error:",
                        doctor::Severity::Warning => "warning:",
                    },
                    finding.id,
                    sanitize::for_terminal(&place),
                    sanitize::for_terminal(&finding.explanation),
                    sanitize::for_terminal(&finding.fix)
                );
            }
            println!("{} finding(s)", findings.len());
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}
