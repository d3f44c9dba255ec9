//! `trailbell deploy` and `trailbell destroy`: a rule pack as EventBridge rules in every region
//! where its events land, idempotently; `--dry-run` prints the plan, `--emit cloudformation`
//! writes a template instead of calling AWS.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::deploy::apply::{self, Plan};
use trailbell::deploy::plan::{Arn, Options, TargetSpec, TrailSpec};
use trailbell::deploy::{Aws, cloudformation};
use trailbell::rules::RulePack;
use trailbell::sanitize;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per change or finding, for people.
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// What to emit instead of calling AWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// An AWS CloudFormation template (JSON).
    Cloudformation,
    /// A CloudFormation template with a CloudWatch Logs metric filter and alarm for each rule
    /// with a filter pattern (Security Hub CloudWatch.1-14); needs --log-group and
    /// --target-sns-topic-arn.
    CisMetricFilters,
}

/// Where and how to reach AWS; shared by deploy, destroy and doctor.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// Regions to deploy to, comma-separated; every enabled region with a regional sign-in
    /// endpoint belongs here. [default: the current region, AWS_REGION]
    #[arg(
        long,
        visible_alias = "region",
        value_delimiter = ',',
        value_name = "REGION,..."
    )]
    pub regions: Vec<String>,
    /// Use this named profile of the AWS configuration files, as the aws CLI does.
    /// [default: AWS_PROFILE, else the default chain]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The event bus. [default: default]
    #[arg(long, value_name = "NAME")]
    pub event_bus_name: Option<String>,
    /// Send every AWS call here (a moto server in tests).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

impl AwsArgs {
    /// The regions, or the current one.
    pub fn regions(&self) -> anyhow::Result<Vec<String>> {
        if !self.regions.is_empty() {
            return Ok(self.regions.clone());
        }
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .map(|region| vec![region])
            .context("no region: pass --regions or set AWS_REGION")
    }
}

/// The target flags.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct TargetArgs {
    /// The trailbell Lambda function's ARN; gets an invoke permission.
    #[arg(long, value_name = "ARN")]
    pub target_lambda_arn: Option<String>,
    /// An SNS topic's ARN (for teams keeping AWS Chatbot); gets a topic-policy statement.
    #[arg(long, value_name = "ARN")]
    pub target_sns_topic_arn: Option<String>,
    /// An SQS queue's ARN; for tests that follow an event to its target (no policy is added).
    #[arg(long, value_name = "ARN", hide = true)]
    pub target_sqs_queue_arn: Option<String>,
}

impl TargetArgs {
    /// The target, if one was given.
    pub fn target(&self) -> anyhow::Result<Option<TargetSpec>> {
        Ok(
            match (
                &self.target_lambda_arn,
                &self.target_sns_topic_arn,
                &self.target_sqs_queue_arn,
            ) {
                (Some(arn), _, _) => Some(TargetSpec::Lambda(Arn::parse(arn)?)),
                (_, Some(arn), _) => Some(TargetSpec::Sns(Arn::parse(arn)?)),
                (_, _, Some(arn)) => Some(TargetSpec::Sqs(Arn::parse(arn)?)),
                _ => None,
            },
        )
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell deploy --profile prod --regions us-east-1,eu-west-1 --target-sns-topic-arn arn:aws:sns:us-east-1:111122223333:alerts
  trailbell deploy --region us-east-1 --target-lambda-arn arn:aws:lambda:us-east-1:111122223333:function:trailbell --dry-run
  trailbell destroy --profile prod --regions us-east-1,eu-west-1")]
pub struct Args {
    /// A rule file, a directory of them, or `builtin`.
    #[arg(long, value_name = "PATH|builtin", default_value = "builtin")]
    rules: String,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// An SQS queue for events EventBridge cannot deliver (attached in its own region).
    #[arg(long, value_name = "ARN")]
    dead_letter_queue_arn: Option<String>,
    /// A role EventBridge assumes to forward events from other regions to the target region's bus.
    #[arg(long, value_name = "ARN")]
    forward_role_arn: Option<String>,
    /// Create this multi-region trail when the account has no logging multi-region trail.
    #[arg(long, value_name = "NAME", requires = "trail_bucket")]
    create_trail: Option<String>,
    /// The S3 bucket of the trail `--create-trail` creates.
    #[arg(long, value_name = "BUCKET", requires = "create_trail")]
    trail_bucket: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leave out the rules with a threshold, which only the Lambda target counts (an SNS topic
    /// would get every single match).
    #[arg(long)]
    without_threshold_rules: bool,
    /// Write the set-up in another form instead of calling AWS.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// Where `--emit` writes. [default: standard output]
    #[arg(long, value_name = "FILE", requires = "emit")]
    output: Option<PathBuf>,
    /// For `--emit cis-metric-filters`: the log group the trail delivers to.
    #[arg(long, value_name = "NAME")]
    log_group: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Print the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Loads `--rules`.
pub fn load_rules(rules: &str) -> anyhow::Result<RulePack> {
    if rules == "builtin" {
        return Ok(RulePack::builtin());
    }
    RulePack::load(Path::new(rules)).with_context(|| format!("invalid rules {rules}"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Deploys, or prints the plan, or emits a template.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut pack = load_rules(&args.rules)?;
    if let Some(Emit::CisMetricFilters) = args.emit {
        return emit_metric_filters(args, &pack);
    }
    if args.without_threshold_rules {
        pack.retain(|rule| rule.noise.threshold.is_none());
    }
    let options = Options {
        regions: args.aws.regions()?,
        event_bus_name: args.aws.event_bus_name.clone(),
        target: args.target.target()?,
        dead_letter_queue_arn: args
            .dead_letter_queue_arn
            .as_deref()
            .map(Arn::parse)
            .transpose()?,
        forward_role_arn: args.forward_role_arn.clone(),
        trail: match (&args.create_trail, &args.trail_bucket) {
            (Some(name), Some(bucket)) => Some(TrailSpec {
                name: name.clone(),
                bucket: bucket.clone(),
            }),
            _ => None,
        },
    };
    if options.target.is_none() {
        anyhow::bail!("a target is needed: --target-lambda-arn or --target-sns-topic-arn");
    }
    if let Some(Emit::Cloudformation) = args.emit {
        let template = cloudformation::template(&pack, &options)?;
        let text = serde_json::to_string_pretty(&template)?;
        match &args.output {
            Some(path) => std::fs::write(path, text + "\n")
                .with_context(|| format!("failed to write {}", path.display()))?,
            None => println!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let aws = Aws::new(args.aws.endpoint_url.clone()).with_profile(args.aws.profile.clone());
    runtime()?.block_on(async {
        let plan = apply::plan_deploy(&aws, &pack, &options).await?;
        if !args.dry_run {
            apply::apply(&aws, &plan).await?;
        }
        print_plan(&plan, args.dry_run, args.aws.format)
    })
}

/// `--emit cis-metric-filters`: no AWS call, only the template.
fn emit_metric_filters(args: &Args, pack: &RulePack) -> anyhow::Result<ExitCode> {
    let log_group = args
        .log_group
        .as_deref()
        .context("--emit cis-metric-filters needs --log-group NAME")?;
    let topic = match args.target.target()? {
        Some(TargetSpec::Sns(arn)) => arn.text,
        _ => anyhow::bail!("--emit cis-metric-filters needs --target-sns-topic-arn ARN"),
    };
    let template = trailbell::deploy::metric_filters::template(pack, log_group, &topic)
        .context("no rule of the pack has a filter pattern")?;
    let text = serde_json::to_string_pretty(&template)?;
    match &args.output {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("failed to write {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Deletes everything of trailbell's, or prints the plan.
pub fn destroy(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        regions: args.aws.regions()?,
        event_bus_name: args.aws.event_bus_name.clone(),
        target: args.target.target()?,
        ..Options::default()
    };
    let aws = Aws::new(args.aws.endpoint_url.clone()).with_profile(args.aws.profile.clone());
    runtime()?.block_on(async {
        let plan = apply::plan_destroy(&aws, &options).await?;
        if !args.dry_run {
            apply::apply(&aws, &plan).await?;
        }
        print_plan(&plan, args.dry_run, args.aws.format)
    })
}

fn print_plan(plan: &Plan, dry_run: bool, format: Format) -> anyhow::Result<ExitCode> {
    let summary = plan.summary();
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "dry_run": dry_run,
                "changes": plan.changes,
                "summary": summary,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Text => {
            for change in &plan.changes {
                let detail = if change.detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", change.detail)
                };
                println!(
                    "{:<9} {:<10} {:<14} {}{}",
                    change.action.as_str(),
                    change.kind.as_str(),
                    change.region,
                    sanitize::for_terminal(&change.name),
                    sanitize::for_terminal(&detail)
                );
            }
            println!(
                "{}{} to create, {} to update, {} unchanged, {} to delete",
                if dry_run {
                    "plan (dry run): "
                } else {
                    "applied: "
                },
                summary.create,
                summary.update,
                summary.unchanged,
                summary.delete
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
