//! The desired state, computed purely from a rule pack and the options: which rule goes to which
//! region, under which name, with which state, targets and tags.

use std::collections::{BTreeMap, BTreeSet};

use super::DeployError;
use super::regions::{GLOBAL_REGION, SIGN_IN_REGIONS, landing};
use crate::model::{RetryPolicy, RuleExtras, RuleFields, RuleSpec};
use crate::rules::{Rule, RulePack};

/// Every name trailbell gives an AWS resource starts with this.
pub const NAME_PREFIX: &str = "trailbell-";
/// The tag on everything trailbell owns; only resources with both the prefix and this tag are ever
/// updated or deleted.
pub const MANAGED_TAG_KEY: &str = "trailbell:managed";
/// The managed tag's value.
pub const MANAGED_TAG_VALUE: &str = "true";
/// The tag naming the pack rule a deployed rule came from.
pub const RULE_TAG_KEY: &str = "trailbell:rule";
/// The id of the target trailbell puts on its rules.
pub const TARGET_ID: &str = "trailbell";
/// The statement id of the permission trailbell adds to a Lambda function or SNS topic policy.
pub const PERMISSION_SID: &str = "trailbell-events";
/// EventBridge's limit on rule names.
const MAX_RULE_NAME_LEN: usize = crate::model::MAX_RULE_NAME;

/// Where alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// The trailbell Lambda function; gets an invoke permission.
    Lambda(Arn),
    /// An SNS topic (for teams keeping AWS Chatbot); gets a topic-policy statement.
    Sns(Arn),
    /// An SQS queue: for tests that follow an event to its target; no policy is added.
    Sqs(Arn),
}

impl TargetSpec {
    /// The target's ARN.
    pub fn arn(&self) -> &Arn {
        match self {
            TargetSpec::Lambda(arn) | TargetSpec::Sns(arn) | TargetSpec::Sqs(arn) => arn,
        }
    }
}

/// The parts of an ARN the plan needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    /// The whole ARN.
    pub text: String,
    /// `aws`, `aws-cn`, ...
    pub partition: String,
    /// The service, e.g. `lambda`.
    pub service: String,
    /// The region; empty for global resources.
    pub region: String,
    /// The account id.
    pub account: String,
    /// What follows the account: `function:name`, `topic-name`, `queue-name`.
    pub resource: String,
}

impl Arn {
    /// Parses `arn:partition:service:region:account:resource`.
    ///
    /// ```
    /// let arn = trailbell::deploy::plan::Arn::parse("arn:aws:sqs:eu-west-1:123456789012:q")?;
    /// assert_eq!((arn.region.as_str(), arn.resource.as_str()), ("eu-west-1", "q"));
    /// # Ok::<(), trailbell::deploy::DeployError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Arn, DeployError> {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, service, region, account, resource]
                if !partition.is_empty() && !service.is_empty() && !resource.is_empty() =>
            {
                Ok(Arn {
                    text: text.to_owned(),
                    partition: (*partition).to_owned(),
                    service: (*service).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                    resource: (*resource).to_owned(),
                })
            }
            _ => Err(DeployError::Options(format!(
                "{text:?} is not an ARN (arn:partition:service:region:account:resource)"
            ))),
        }
    }

    /// The last part of the resource: a function, topic or queue name.
    pub fn name(&self) -> &str {
        self.resource.rsplit(':').next().unwrap_or(&self.resource)
    }
}

/// A trail to create when the account has no multi-region trail that is logging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailSpec {
    /// The trail's name.
    pub name: String,
    /// Its S3 bucket, created with a bucket policy that lets CloudTrail write.
    pub bucket: String,
}

/// What `deploy` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The regions asked for (`--regions`); every region with a regional sign-in endpoint the
    /// account has enabled belongs here too.
    pub regions: Vec<String>,
    /// The event bus, `default` unless named.
    pub event_bus_name: Option<String>,
    /// Where alerts go; `None` only for `destroy` and `doctor`.
    pub target: Option<TargetSpec>,
    /// An SQS queue for events EventBridge could not deliver, in the target's region.
    pub dead_letter_queue_arn: Option<Arn>,
    /// The role EventBridge uses to forward events from other regions to the target region's bus.
    pub forward_role_arn: Option<String>,
    /// The trail to create if none fits.
    pub trail: Option<TrailSpec>,
}

impl Options {
    /// The event bus name.
    pub fn bus(&self) -> &str {
        self.event_bus_name.as_deref().unwrap_or("default")
    }

    /// Every region a deployment of any pack could touch: the asked ones, the sign-in regions and
    /// the target's. `destroy` and `doctor` look at all of them.
    pub fn all_regions(&self) -> BTreeSet<String> {
        let mut regions: BTreeSet<String> = self.regions.iter().cloned().collect();
        regions.extend(SIGN_IN_REGIONS.iter().map(|r| (*r).to_owned()));
        regions.insert(GLOBAL_REGION.to_owned());
        if let Some(target) = &self.target {
            regions.insert(target.arn().region.clone());
        }
        regions
    }
}

pub use crate::model::RuleState;

/// One target as deployed on a rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DesiredTarget {
    /// Always [`TARGET_ID`].
    pub id: String,
    /// The Lambda function, SNS topic, SQS queue, or the target region's event bus.
    pub arn: String,
    /// The role EventBridge assumes; only for forwarding to another region's bus.
    pub role_arn: Option<String>,
    /// The dead-letter queue, when it is in the rule's region.
    pub dead_letter_arn: Option<String>,
    /// Retry attempts and window: EventBridge's own defaults, written out so a plan shows them.
    pub retry_policy: RetryPolicy,
}

/// One EventBridge rule as it should be.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DesiredRule {
    /// Its region.
    pub region: String,
    /// Its bus.
    pub bus: String,
    /// `trailbell-<pack rule>`.
    pub name: String,
    /// The pack rule's name.
    pub rule: String,
    /// The pack rule's title.
    pub description: String,
    /// The pattern's JSON text.
    pub event_pattern: String,
    /// Its state.
    pub state: RuleState,
    /// Its targets (none for a `destroy`).
    pub targets: Vec<DesiredTarget>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// The whole desired state.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Desired {
    /// Rules by region, then name.
    pub rules: Vec<DesiredRule>,
}

/// The deployed name of a pack rule.
pub fn rule_name(rule: &str) -> Result<String, DeployError> {
    let name = format!("{NAME_PREFIX}{rule}");
    if name.len() > MAX_RULE_NAME_LEN {
        return Err(DeployError::Options(format!(
            "rule {rule:?} is too long to deploy: {name:?} is over EventBridge's {MAX_RULE_NAME_LEN} characters"
        )));
    }
    Ok(name)
}

/// The tags on everything trailbell owns, plus the pack rule's name.
pub fn tags(rule: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned()),
        (RULE_TAG_KEY.to_owned(), rule.to_owned()),
    ])
}

/// Where each rule of `pack` goes, with what.
///
/// A rule whose events land in a region other than the target's forwards them to the target
/// region's bus (with `forward_role_arn`), and is deployed in the target's region as well, where it
/// matches the forwarded events and delivers them.
pub fn desired(pack: &RulePack, options: &Options) -> Result<Desired, DeployError> {
    if options.regions.is_empty() {
        return Err(DeployError::Options("no regions to deploy to".to_owned()));
    }
    let Some(target) = &options.target else {
        return Err(DeployError::Options(
            "a target is needed: --target-lambda-arn or --target-sns-topic-arn".to_owned(),
        ));
    };
    let home = target.arn().region.clone();
    if home.is_empty() {
        return Err(DeployError::Options(format!(
            "the target {} names no region",
            target.arn().text
        )));
    }
    if let Some(dlq) = &options.dead_letter_queue_arn
        && dlq.service != "sqs"
    {
        return Err(DeployError::Options(format!(
            "the dead-letter queue {} is not an SQS queue",
            dlq.text
        )));
    }
    refuse_uncounted_thresholds(pack, target)?;
    let mut rules = Vec::new();
    for rule in pack.rules() {
        rules.extend(desired_rule(rule, options, target, &home)?);
    }
    rules.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
    Ok(Desired { rules })
}

/// A rule with a threshold fires on the `count`-th match: only the trailbell Lambda counts. An
/// SNS topic or SQS queue would get every single match, titled as if the count were reached
/// ("Five failed console sign-ins ..." on each failure), so such a deployment is refused.
fn refuse_uncounted_thresholds(pack: &RulePack, target: &TargetSpec) -> Result<(), DeployError> {
    if matches!(target, TargetSpec::Lambda(_)) {
        return Ok(());
    }
    let counted: Vec<String> = pack
        .rules()
        .iter()
        .filter_map(|rule| {
            let threshold = rule.noise.threshold.as_ref()?;
            Some(format!(
                "{} ({} matches within {})",
                rule.name,
                threshold.count,
                humantime::format_duration(threshold.within)
            ))
        })
        .collect();
    if counted.is_empty() {
        return Ok(());
    }
    Err(DeployError::Options(format!(
        "threshold rules cannot go to {}: EventBridge delivers every match and only the trailbell \
         Lambda counts them, so each single match would arrive titled as if the threshold were \
         reached. Rules: {}. Deploy to the Lambda (--target-lambda-arn), or leave them out \
         (--without-threshold-rules)",
        target.arn().text,
        counted.join(", ")
    )))
}

fn desired_rule(
    rule: &Rule,
    options: &Options,
    target: &TargetSpec,
    home: &str,
) -> Result<Vec<DesiredRule>, DeployError> {
    let name = rule_name(&rule.name)?;
    let landing = landing(&rule.event_pattern, &options.regions);
    let mut regions = landing.regions.clone();
    if regions.iter().any(|r| r != home) {
        regions.insert(home.to_owned());
    }
    let state = if landing.needs_read_only {
        RuleState::EnabledWithAllCloudtrailManagementEvents
    } else {
        RuleState::Enabled
    };
    // Checked as every rule is, so a rule AWS would refuse fails the plan, not the apply.
    let spec = RuleSpec::new(RuleFields {
        name: name.clone(),
        event_bus_name: options.bus().to_owned(),
        event_pattern: Some(rule.event_pattern.clone()),
        state: Some(state.as_str().to_owned()),
        description: Some(rule.title.clone()),
        extras: RuleExtras::default(),
    })
    .map_err(|errors| {
        DeployError::Options(format!(
            "rule {:?} cannot be deployed: {}",
            rule.name,
            errors
                .iter()
                .map(|error| format!("{}: {error}", error.field().path()))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let mut out = Vec::new();
    for region in regions {
        // At home the target itself; elsewhere home's bus, through the forwarding role.
        let (arn, role_arn) = if region == home {
            (target.arn().text.clone(), None)
        } else {
            let Some(role) = &options.forward_role_arn else {
                return Err(DeployError::Options(format!(
                    "rule {:?} must run in {region}, where its events land, but the target is in \
                     {home}: pass --forward-role-arn (a role EventBridge may assume to put events \
                     on {home}'s bus), or a target in {region}",
                    rule.name
                )));
            };
            let arn = target.arn();
            (
                format!(
                    "arn:{}:events:{home}:{}:event-bus/{}",
                    arn.partition,
                    arn.account,
                    options.bus()
                ),
                Some(role.clone()),
            )
        };
        let target = DesiredTarget {
            id: TARGET_ID.to_owned(),
            arn,
            role_arn,
            dead_letter_arn: options
                .dead_letter_queue_arn
                .as_ref()
                .filter(|dlq| dlq.region == region)
                .map(|dlq| dlq.text.clone()),
            retry_policy: RetryPolicy::default(),
        };
        out.push(DesiredRule {
            region,
            bus: spec.event_bus_name().to_owned(),
            name: spec.name().to_owned(),
            rule: rule.name.clone(),
            description: spec.description().unwrap_or_default().to_owned(),
            event_pattern: spec.event_pattern().unwrap_or_default().to_owned(),
            state: spec.state(),
            targets: vec![target],
            tags: tags(&rule.name),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(regions: &[&str]) -> Options {
        Options {
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            target: Some(TargetSpec::Lambda(
                Arn::parse("arn:aws:lambda:us-east-1:123456789012:function:trailbell")
                    .expect("an ARN"),
            )),
            forward_role_arn: Some("arn:aws:iam::123456789012:role/fwd".to_owned()),
            ..Options::default()
        }
    }

    #[test]
    fn root_sign_in_is_deployed_in_us_east_1_only_and_iam_user_sign_ins_everywhere_they_land() {
        let desired = desired(&RulePack::builtin(), &options(&["eu-west-1"])).expect("a plan");
        let regions = |rule: &str| -> Vec<&str> {
            desired
                .rules
                .iter()
                .filter(|r| r.rule == rule)
                .map(|r| r.region.as_str())
                .collect()
        };
        assert_eq!(regions("root-console-sign-in"), ["us-east-1"]);
        assert_eq!(
            regions("console-sign-in"),
            [
                "ap-southeast-2",
                "eu-north-1",
                "eu-west-1",
                "us-east-1",
                "us-east-2"
            ]
        );
        assert_eq!(regions("iam-user-created-or-deleted"), ["us-east-1"]);
        // eu-west-1's events, delivered from the target's region, us-east-1.
        assert_eq!(regions("vpc-changed"), ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn rules_outside_the_target_region_forward_to_its_bus() {
        let desired = desired(&RulePack::builtin(), &options(&["eu-west-1"])).expect("a plan");
        let vpc: Vec<&DesiredRule> = desired
            .rules
            .iter()
            .filter(|r| r.rule == "vpc-changed")
            .collect();
        assert_eq!(
            vpc[0].targets[0].arn,
            "arn:aws:events:us-east-1:123456789012:event-bus/default"
        );
        assert!(vpc[0].targets[0].role_arn.is_some());
        assert!(vpc[1].targets[0].arn.contains(":lambda:"));
        assert!(vpc.iter().all(|r| r.name == "trailbell-vpc-changed"));
        assert!(vpc.iter().all(|r| r.tags[MANAGED_TAG_KEY] == "true"));
    }

    #[test]
    fn without_a_forwarding_role_a_rule_outside_the_target_region_is_an_error() {
        let mut options = options(&["eu-west-1"]);
        options.forward_role_arn = None;
        let err = desired(&RulePack::builtin(), &options).expect_err("needs a role");
        assert!(err.to_string().contains("--forward-role-arn"), "{err}");
    }

    /// Regression: `deploy` shipped threshold rules as plain rules to SNS, which published
    /// "Five failed console sign-ins ..." on every single failed sign-in.
    #[test]
    fn threshold_rules_are_refused_for_targets_that_cannot_count() {
        let mut options = options(&["us-east-1"]);
        assert!(desired(&RulePack::builtin(), &options).is_ok());
        options.target = Some(TargetSpec::Sns(
            Arn::parse("arn:aws:sns:us-east-1:123456789012:alerts").expect("an ARN"),
        ));
        let err = desired(&RulePack::builtin(), &options).expect_err("refused");
        let message = err.to_string();
        assert!(
            message.contains("console-sign-in-failures-from-one-address (5 matches within 5m)")
                && message.contains("--target-lambda-arn")
                && message.contains("--without-threshold-rules"),
            "{message}"
        );
        let mut pack = RulePack::builtin();
        pack.retain(|rule| rule.noise.threshold.is_none());
        let plan = desired(&pack, &options).expect("a plan without threshold rules");
        assert!(
            plan.rules
                .iter()
                .all(|r| r.rule != "console-sign-in-failures-from-one-address")
        );
    }

    #[test]
    fn unauthorized_calls_need_read_only_events_and_iam_changes_do_not() {
        let desired = desired(&RulePack::builtin(), &options(&["us-east-1"])).expect("a plan");
        let state = |rule: &str| {
            desired
                .rules
                .iter()
                .find(|r| r.rule == rule)
                .map(|r| r.state)
        };
        assert_eq!(
            state("unauthorized-api-call"),
            Some(RuleState::EnabledWithAllCloudtrailManagementEvents)
        );
        assert_eq!(state("iam-policy-changed"), Some(RuleState::Enabled));
    }
}
