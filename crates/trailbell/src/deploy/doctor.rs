//! `trailbell doctor`: what in a live account keeps trailbell's alerts from arriving, each finding
//! with an explanation and the fix.

use std::collections::{BTreeMap, BTreeSet};

use super::apply::{actual_rules, has_permission, trails};
use super::plan::{self, Arn, NAME_PREFIX, Options, TargetSpec};
use super::regions::{landing, never_matches_cloudtrail};
use super::{Aws, DeployError};
use crate::rules::RulePack;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Alerts are lost.
    Error,
    /// Alerts may be lost or late.
    Warning,
}

/// One problem found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    /// Stable id, e.g. `trail-not-logging`.
    pub id: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Where (a region, or empty for the account).
    pub region: String,
    /// The resource concerned.
    pub resource: String,
    /// What is wrong and why it matters.
    pub explanation: String,
    /// What to do.
    pub fix: String,
}

/// Examines the account: its trails (from the first of `options.regions`), every rule on the bus
/// in every region `options` covers, and where `pack`'s rules should be deployed.
pub async fn examine(
    aws: &Aws,
    pack: &RulePack,
    options: &Options,
) -> Result<Vec<Finding>, DeployError> {
    let mut findings = Vec::new();
    let home = options
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| super::regions::GLOBAL_REGION.to_owned());
    check_trails(aws, &home, &mut findings).await?;

    let mut ours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut targets = BTreeSet::new();
    let mut dead_letter_queues = BTreeSet::new();
    if let Some(dlq) = &options.dead_letter_queue_arn {
        dead_letter_queues.insert(dlq.text.clone());
    }
    for region in options.all_regions() {
        for rule in actual_rules(aws, &region, options.bus(), "").await? {
            if let Some(why) = rule
                .event_pattern
                .as_deref()
                .and_then(never_matches_cloudtrail)
            {
                findings.push(Finding {
                    id: "pattern-never-matches",
                    severity: Severity::Error,
                    region: region.clone(),
                    resource: rule.name.clone(),
                    explanation: format!("rule {} can never match a CloudTrail event: {why}", rule.name),
                    fix: format!(
                        "correct the pattern (`trailbell test-event-pattern` checks it against a sample event), \
                         then `aws events put-rule --name {} --region {region} --event-pattern file://pattern.json`",
                        rule.name
                    ),
                });
            }
            if rule.is_ours() {
                ours.entry(rule.name.clone())
                    .or_default()
                    .insert(region.clone());
                for target in &rule.targets {
                    if target.id() == plan::TARGET_ID {
                        targets.insert(target.arn().to_owned());
                    }
                    if let Some(dlq) = target.dead_letter_config().and_then(|d| d.arn()) {
                        dead_letter_queues.insert(dlq.to_owned());
                    }
                }
            }
        }
    }

    check_coverage(pack, options, &ours, &mut findings);
    for arn in targets {
        let Ok(parsed) = Arn::parse(&arn) else {
            continue;
        };
        let target = match parsed.service.as_str() {
            "lambda" => TargetSpec::Lambda(parsed),
            "sns" => TargetSpec::Sns(parsed),
            _ => continue,
        };
        if !has_permission(aws, &target).await? {
            let (what, fix) = match &target {
                TargetSpec::Lambda(arn) => (
                    "the Lambda function has no resource policy statement that lets events.amazonaws.com invoke it",
                    format!(
                        "`trailbell deploy` adds it; by hand: aws lambda add-permission --function-name {} \
                         --statement-id {} --action lambda:InvokeFunction --principal events.amazonaws.com \
                         --source-arn 'arn:aws:events:{}:{}:rule/{NAME_PREFIX}*'",
                        arn.text, plan::PERMISSION_SID, arn.region, arn.account
                    ),
                ),
                _ => (
                    "the SNS topic's policy does not let events.amazonaws.com publish",
                    "`trailbell deploy` adds the statement; by hand: add an Allow of sns:Publish for the service principal events.amazonaws.com to the topic policy".to_owned(),
                ),
            };
            findings.push(Finding {
                id: "target-without-permission",
                severity: Severity::Error,
                region: target.arn().region.clone(),
                resource: arn.clone(),
                explanation: format!(
                    "trailbell's rules target {arn}, but {what}: EventBridge's deliveries fail"
                ),
                fix,
            });
        }
    }
    for dlq in dead_letter_queues {
        check_dead_letter_queue(aws, &dlq, &mut findings).await?;
    }
    findings.sort_by(|a, b| {
        (a.severity, a.id, &a.region, &a.resource).cmp(&(b.severity, b.id, &b.region, &b.resource))
    });
    Ok(findings)
}

async fn check_trails(
    aws: &Aws,
    region: &str,
    findings: &mut Vec<Finding>,
) -> Result<(), DeployError> {
    let trails = trails(aws, region).await?;
    if trails.is_empty() {
        findings.push(Finding {
            id: "no-trail",
            severity: Severity::Error,
            region: region.to_owned(),
            resource: String::new(),
            explanation: "the account has no CloudTrail trail: EventBridge still receives management \
                          events, but there is no record to investigate an alert with, and no archive for `trailbell scan`"
                .to_owned(),
            fix: "`trailbell deploy --create-trail NAME --trail-bucket BUCKET ...` creates a multi-region trail; \
                  or aws cloudtrail create-trail --name NAME --s3-bucket-name BUCKET --is-multi-region-trail, then start-logging"
                .to_owned(),
        });
        return Ok(());
    }
    let mut seen = BTreeSet::new();
    for trail in trails {
        if !seen.insert(trail.arn.clone()) {
            continue;
        }
        let mut finding = |id, severity, problem: &str, fix: String| {
            findings.push(Finding {
                id,
                severity,
                region: region.to_owned(),
                resource: trail.name.clone(),
                explanation: format!("trail {} {problem}", trail.name),
                fix,
            });
        };
        if !trail.logging {
            finding(
                "trail-not-logging",
                Severity::Error,
                "is stopped: it records nothing, and someone who stops a trail is often covering tracks",
                format!("aws cloudtrail start-logging --name {}", trail.arn),
            );
        }
        if !trail.multi_region {
            finding(
                "single-region-trail",
                Severity::Warning,
                "records only its home region: activity in every other region goes unrecorded",
                format!(
                    "aws cloudtrail update-trail --name {} --is-multi-region-trail",
                    trail.arn
                ),
            );
        }
        if !trail.management_events {
            finding(
                "no-management-events",
                Severity::Error,
                "records no management events: sign-ins and API calls, what trailbell's rules watch, are not recorded",
                format!(
                    "aws cloudtrail put-event-selectors --trail-name {} --event-selectors \
                     '[{{\"ReadWriteType\": \"All\", \"IncludeManagementEvents\": true}}]'",
                    trail.arn
                ),
            );
        }
    }
    Ok(())
}

/// Rules of the pack missing from regions where their events land.
fn check_coverage(
    pack: &RulePack,
    options: &Options,
    ours: &BTreeMap<String, BTreeSet<String>>,
    findings: &mut Vec<Finding>,
) {
    for rule in pack.rules() {
        let Ok(name) = plan::rule_name(&rule.name) else {
            continue;
        };
        let landing = landing(&rule.event_pattern, &options.regions);
        let deployed = ours.get(&name).cloned().unwrap_or_default();
        let missing: Vec<&String> = landing.regions.difference(&deployed).collect();
        if missing.is_empty() {
            continue;
        }
        let regions = missing
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let (id, severity, why) = if landing.sign_in {
            (
                "sign-in-rule-missing",
                Severity::Error,
                "console sign-ins are recorded in the region of the sign-in endpoint used (us-east-1, us-east-2, \
                 eu-north-1 or ap-southeast-2 for the global one), and a rule sees only its own region's events",
            )
        } else {
            (
                "rule-missing",
                Severity::Warning,
                "a rule sees only its own region's events",
            )
        };
        findings.push(Finding {
            id,
            severity,
            region: regions.clone(),
            resource: name.clone(),
            explanation: format!("rule {name} is not deployed in {regions}, where its events land: {why}"),
            fix: "trailbell deploy (with the same --rules and --regions) deploys it everywhere its events land".to_owned(),
        });
    }
}

async fn check_dead_letter_queue(
    aws: &Aws,
    arn: &str,
    findings: &mut Vec<Finding>,
) -> Result<(), DeployError> {
    let Ok(parsed) = Arn::parse(arn) else {
        return Ok(());
    };
    let sqs = aws.sqs(&parsed.region).await;
    let url = sqs
        .get_queue_url()
        .queue_name(parsed.name())
        .queue_owner_aws_account_id(&parsed.account)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("find queue {arn}"), e))?;
    let Some(url) = url.queue_url() else {
        return Ok(());
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("get the attributes of {arn}"), e))?;
    let count: u64 = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if count > 0 {
        findings.push(Finding {
            id: "dead-letter-queue-not-empty",
            severity: Severity::Warning,
            region: parsed.region.clone(),
            resource: arn.to_owned(),
            explanation: format!(
                "the dead-letter queue holds {count} event(s) EventBridge could not deliver: those alerts never arrived"
            ),
            fix: format!(
                "read them (aws sqs receive-message --queue-url {url} --attribute-names All --message-attribute-names All: \
                 ERROR_CODE and ERROR_MESSAGE say why), fix the target's permission or throttling, then redrive or delete them"
            ),
        });
    }
    Ok(())
}
