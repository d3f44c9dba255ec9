//! `trailbell doctor --log-group NAME`: the metric-filter form of the set-up as Security Hub's
//! CloudWatch.1-14 controls check it. For each control: a metric filter on the log group whose
//! pattern is equivalent to the control's (compared through the filter-pattern language, not as
//! text), an alarm on the filter's metric, and, among that alarm's actions, an SNS topic with at
//! least one confirmed subscription. Design: docs/decisions/0044-doctor-log-group.md.

use std::collections::{BTreeMap, BTreeSet};

use trailbell_pattern::FilterPattern;

use super::apply::{TrailInfo, trails};
use super::doctor::{Finding, Severity};
use super::metric_filters::{METRIC_NAMESPACE, logical};
use super::plan::Arn;
use super::{Aws, DeployError};

/// One Security Hub control of the CloudWatch.1-14 family.
#[derive(Clone, Copy, Debug)]
pub struct Control {
    /// `CloudWatch.1`.
    pub id: &'static str,
    /// The CIS AWS Foundations Benchmark recommendation (v1.4 to v3.0 numbering).
    pub cis: &'static str,
    /// What the alarm is for.
    pub title: &'static str,
    /// Security Hub's filter pattern, verbatim (testdata/filter-patterns/security_hub.toml).
    pub pattern: &'static str,
    /// The built-in rule whose `filter_pattern` is this one: the names `deploy --emit
    /// cis-metric-filters` gives its filter and alarm come from it.
    pub rule: &'static str,
}

/// Security Hub's CloudWatch.1-14, in order.
pub const CONTROLS: [Control; 14] = [
    Control {
        id: "CloudWatch.1",
        cis: "4.3",
        title: "usage of the root user",
        pattern: r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
        rule: "root-account-used",
    },
    Control {
        id: "CloudWatch.2",
        cis: "4.1",
        title: "unauthorized API calls",
        pattern: r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
        rule: "unauthorized-api-call",
    },
    Control {
        id: "CloudWatch.3",
        cis: "4.2",
        title: "Management Console sign-in without MFA",
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
        rule: "console-sign-in-without-mfa",
    },
    Control {
        id: "CloudWatch.4",
        cis: "4.4",
        title: "IAM policy changes",
        pattern: "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",
        rule: "iam-policy-changed",
    },
    Control {
        id: "CloudWatch.5",
        cis: "4.5",
        title: "CloudTrail configuration changes",
        pattern: "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
        rule: "cloudtrail-stopped-or-changed",
    },
    Control {
        id: "CloudWatch.6",
        cis: "4.6",
        title: "AWS Management Console authentication failures",
        pattern: r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
        rule: "console-sign-in-failed",
    },
    Control {
        id: "CloudWatch.7",
        cis: "4.7",
        title: "disabling or scheduled deletion of customer managed keys",
        pattern: "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
        rule: "kms-key-disabled-or-deletion-scheduled",
    },
    Control {
        id: "CloudWatch.8",
        cis: "4.8",
        title: "S3 bucket policy changes",
        pattern: "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
        rule: "s3-bucket-access-changed",
    },
    Control {
        id: "CloudWatch.9",
        cis: "4.9",
        title: "AWS Config configuration changes",
        pattern: "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",
        rule: "config-recording-changed",
    },
    Control {
        id: "CloudWatch.10",
        cis: "4.10",
        title: "security group changes",
        pattern: "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
        rule: "security-group-changed",
    },
    Control {
        id: "CloudWatch.11",
        cis: "4.11",
        title: "changes to network access control lists (NACL)",
        pattern: "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",
        rule: "network-acl-changed",
    },
    Control {
        id: "CloudWatch.12",
        cis: "4.12",
        title: "changes to network gateways",
        pattern: "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
        rule: "network-gateway-changed",
    },
    Control {
        id: "CloudWatch.13",
        cis: "4.13",
        title: "route table changes",
        pattern: "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}",
        rule: "route-table-changed",
    },
    Control {
        id: "CloudWatch.14",
        cis: "4.14",
        title: "VPC changes",
        pattern: "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
        rule: "vpc-changed",
    },
];

/// A metric filter as read from the log group.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MetricFilter {
    /// Its name.
    pub name: String,
    /// Its pattern as stored.
    pub pattern: String,
    /// The metrics it publishes, `(namespace, name)`.
    #[serde(skip)]
    pub metrics: Vec<(String, String)>,
    /// The controls whose pattern it is equivalent to.
    pub controls: Vec<&'static str>,
}

/// An alarm as read from CloudWatch, reduced to what the controls look at.
#[derive(Clone, Debug)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// The metrics it watches, `(namespace, name)` (one, or several for metric math).
    pub metrics: Vec<(String, String)>,
    /// Whether its actions run.
    pub actions_enabled: bool,
    /// Its ALARM-state actions.
    pub actions: Vec<String>,
}

/// An SNS topic named by an alarm action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    /// It exists, with this many confirmed and pending subscriptions.
    Subscriptions {
        /// Confirmed.
        confirmed: usize,
        /// Waiting for their endpoint's confirmation: they deliver nothing yet.
        pending: usize,
    },
    /// No such topic.
    Missing,
    /// Its subscriptions could not be listed with these credentials (a topic of another account,
    /// say): the SNS error.
    Unreadable(String),
}

/// What was read from the account.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Whether the log group exists.
    pub log_group_exists: bool,
    /// The trails that deliver to it.
    pub trails: Vec<TrailInfo>,
    /// Its metric filters.
    pub filters: Vec<MetricFilter>,
    /// The region's metric alarms.
    pub alarms: Vec<Alarm>,
    /// The SNS topics the alarms name, by ARN.
    pub topics: BTreeMap<String, Topic>,
}

/// One control's state.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ControlState {
    /// `CloudWatch.1`.
    pub control: &'static str,
    /// The CIS recommendation.
    pub cis: &'static str,
    /// What it is about.
    pub title: &'static str,
    /// Whether a filter, an alarm and a subscribed topic exist for it.
    pub passed: bool,
    /// The filters whose pattern is equivalent to the control's.
    pub metric_filters: Vec<String>,
    /// The alarms on those filters' metrics with an enabled action to a subscribed topic.
    pub alarms: Vec<String>,
    /// Those alarms' subscribed topics.
    pub topics: Vec<String>,
}

/// The whole answer for one log group.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The log group examined.
    pub log_group: String,
    /// Its region.
    pub region: String,
    /// The trails that deliver to it.
    pub trails: Vec<String>,
    /// Whether one of them is what Security Hub asks for: multi-region, logging, with management events.
    pub trail_ok: bool,
    /// CloudWatch.1-14 in order.
    pub controls: Vec<ControlState>,
    /// The log group's metric filters, each with the controls it satisfies.
    pub metric_filters: Vec<MetricFilter>,
    /// What is wrong, each with its fix.
    pub findings: Vec<Finding>,
}

/// Reads the log group's filters, the region's alarms and their topics, and judges each control.
pub async fn examine(aws: &Aws, region: &str, log_group: &str) -> Result<Report, DeployError> {
    let inventory = read(aws, region, log_group).await?;
    Ok(assess(region, log_group, inventory))
}

async fn read(aws: &Aws, region: &str, log_group: &str) -> Result<Inventory, DeployError> {
    let logs = aws.logs(region).await;
    let mut inventory = Inventory::default();
    let mut token = None;
    loop {
        let page = logs
            .describe_log_groups()
            .log_group_name_prefix(log_group)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("describe log groups in {region}"), e))?;
        if page
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(log_group))
        {
            inventory.log_group_exists = true;
            break;
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    if !inventory.log_group_exists {
        return Ok(inventory);
    }
    inventory.trails = trails(aws, region)
        .await?
        .into_iter()
        .filter(|t| {
            t.log_group_arn
                .as_deref()
                .is_some_and(|arn| names_log_group(arn, region, log_group))
        })
        .collect();

    let mut token = None;
    loop {
        let page = logs
            .describe_metric_filters()
            .log_group_name(log_group)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                DeployError::aws(format!("describe the metric filters of {log_group}"), e)
            })?;
        for filter in page.metric_filters() {
            inventory.filters.push(MetricFilter {
                name: filter.filter_name().unwrap_or_default().to_owned(),
                pattern: filter.filter_pattern().unwrap_or_default().to_owned(),
                metrics: filter
                    .metric_transformations()
                    .iter()
                    .map(|t| (t.metric_namespace().to_owned(), t.metric_name().to_owned()))
                    .collect(),
                controls: Vec::new(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }

    let cloudwatch = aws.cloudwatch(region).await;
    let mut token = None;
    loop {
        let page = cloudwatch
            .describe_alarms()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("describe the alarms in {region}"), e))?;
        for alarm in page.metric_alarms() {
            let mut metrics = Vec::new();
            if let (Some(namespace), Some(name)) = (alarm.namespace(), alarm.metric_name()) {
                metrics.push((namespace.to_owned(), name.to_owned()));
            }
            // A metric-math alarm names its metrics inside its queries.
            for query in alarm.metrics() {
                if let Some(metric) = query.metric_stat().and_then(|s| s.metric())
                    && let (Some(namespace), Some(name)) =
                        (metric.namespace(), metric.metric_name())
                {
                    metrics.push((namespace.to_owned(), name.to_owned()));
                }
            }
            inventory.alarms.push(Alarm {
                name: alarm.alarm_name().unwrap_or_default().to_owned(),
                metrics,
                actions_enabled: alarm.actions_enabled().unwrap_or(true),
                actions: alarm.alarm_actions().to_vec(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }

    let watched: BTreeSet<&(String, String)> =
        inventory.filters.iter().flat_map(|f| &f.metrics).collect();
    let topics: BTreeSet<String> = inventory
        .alarms
        .iter()
        .filter(|a| a.metrics.iter().any(|m| watched.contains(m)))
        .flat_map(|a| a.actions.iter())
        .filter(|action| Arn::parse(action).is_ok_and(|arn| arn.service == "sns"))
        .cloned()
        .collect();
    for topic in topics {
        let state = read_topic(aws, &topic).await?;
        inventory.topics.insert(topic, state);
    }
    Ok(inventory)
}

/// Whether `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]` is `log_group` in `region`.
fn names_log_group(arn: &str, region: &str, log_group: &str) -> bool {
    Arn::parse(arn).is_ok_and(|arn| {
        arn.service == "logs"
            && arn.region == region
            && arn
                .resource
                .strip_prefix("log-group:")
                .map(|rest| rest.strip_suffix(":*").unwrap_or(rest))
                == Some(log_group)
    })
}

async fn read_topic(aws: &Aws, topic: &str) -> Result<Topic, DeployError> {
    let Ok(arn) = Arn::parse(topic) else {
        return Ok(Topic::Missing);
    };
    let sns = aws.sns(&arn.region).await;
    let (mut confirmed, mut pending) = (0, 0);
    let mut token = None;
    loop {
        let page = match sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                return Ok(Topic::Missing);
            }
            // One topic doctor may not read is a finding about that control, not the end of the visit.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_authorization_error_exception()) =>
            {
                return Ok(Topic::Unreadable(
                    DeployError::aws(format!("list the subscriptions of {topic}"), e).to_string(),
                ));
            }
            Err(e) => {
                return Err(DeployError::aws(
                    format!("list the subscriptions of {topic}"),
                    e,
                ));
            }
        };
        for subscription in page.subscriptions() {
            // SNS shows an unconfirmed subscription's ARN as the word `PendingConfirmation`.
            match subscription.subscription_arn() {
                Some(arn) if arn.starts_with("arn:") => confirmed += 1,
                _ => pending += 1,
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(Topic::Subscriptions { confirmed, pending })
}

/// Judges each control on what was read; pure, so the rules are testable without AWS.
pub fn assess(region: &str, log_group: &str, mut inventory: Inventory) -> Report {
    let parsed: Vec<Option<FilterPattern>> = inventory
        .filters
        .iter()
        .map(|f| FilterPattern::parse(&f.pattern).ok())
        .collect();
    let mut findings = Vec::new();
    let mut controls = Vec::new();
    if !inventory.log_group_exists {
        findings.push(Finding {
            id: "log-group-missing",
            severity: Severity::Error,
            region: region.to_owned(),
            resource: log_group.to_owned(),
            explanation: format!(
                "there is no log group {log_group} in {region}: Security Hub's CloudWatch.1-14 need the trail's \
                 events in CloudWatch Logs, with a metric filter and an alarm for each control"
            ),
            fix: format!(
                "name the log group the trail delivers to (aws cloudtrail describe-trails: CloudWatchLogsLogGroupArn), \
                 or send the trail there: aws logs create-log-group --log-group-name {log_group} --region {region}, then \
                 aws cloudtrail update-trail --name TRAIL --cloud-watch-logs-log-group-arn ARN --cloud-watch-logs-role-arn ROLE"
            ),
        });
    }
    let trail_ok = inventory
        .trails
        .iter()
        .any(|t| t.multi_region && t.logging && t.management_events);
    if inventory.log_group_exists && !trail_ok {
        check_trails(region, log_group, &inventory.trails, &mut findings);
    }
    let wanted: Vec<Option<FilterPattern>> = CONTROLS
        .iter()
        .map(|c| FilterPattern::parse(c.pattern).ok())
        .collect();
    let matches = |filter: usize, control: usize| match (&parsed[filter], &wanted[control]) {
        (Some(have), Some(want)) => have.equivalent(want),
        _ => false,
    };
    for (c, control) in CONTROLS.iter().enumerate() {
        for f in 0..inventory.filters.len() {
            if matches(f, c) {
                inventory.filters[f].controls.push(control.id);
            }
        }
    }
    let meant_for = meant_for(&inventory.filters, &parsed, &wanted);
    for (c, control) in CONTROLS.iter().enumerate() {
        let matching: Vec<usize> = (0..inventory.filters.len())
            .filter(|&f| matches(f, c))
            .collect();
        let mut state = ControlState {
            control: control.id,
            cis: control.cis,
            title: control.title,
            passed: false,
            metric_filters: matching
                .iter()
                .map(|&i| inventory.filters[i].name.clone())
                .collect(),
            alarms: Vec::new(),
            topics: Vec::new(),
        };
        if !inventory.log_group_exists {
            controls.push(state);
            continue;
        }
        if matching.is_empty() {
            let near = (0..inventory.filters.len())
                .find(|&f| meant_for[f] == Some(c))
                .map(|f| &inventory.filters[f]);
            findings.push(missing_filter(control, region, log_group, near));
            controls.push(state);
            continue;
        }
        // Every chain filter -> alarm -> topic; the control passes on one whole chain.
        let mut problems = Vec::new();
        for &i in &matching {
            let filter = &inventory.filters[i];
            let alarms: Vec<&Alarm> = inventory
                .alarms
                .iter()
                .filter(|a| a.metrics.iter().any(|m| filter.metrics.contains(m)))
                .collect();
            if alarms.is_empty() {
                problems.push(no_alarm(control, region, filter));
                continue;
            }
            for alarm in alarms {
                let topics: Vec<&String> = alarm
                    .actions
                    .iter()
                    .filter(|a| Arn::parse(a).is_ok_and(|arn| arn.service == "sns"))
                    .collect();
                if topics.is_empty() {
                    problems.push(alarm_without_topic(control, region, alarm));
                    continue;
                }
                if !alarm.actions_enabled {
                    problems.push(alarm_actions_disabled(control, region, alarm));
                    continue;
                }
                for topic in topics {
                    match inventory.topics.get(topic) {
                        Some(Topic::Subscriptions { confirmed, .. }) if *confirmed > 0 => {
                            // Without a trail the chain sees no events: Security Hub fails it.
                            state.passed = trail_ok;
                            push_unique(&mut state.alarms, &alarm.name);
                            push_unique(&mut state.topics, topic);
                        }
                        Some(Topic::Subscriptions { pending, .. }) => {
                            problems
                                .push(topic_without_subscription(control, alarm, topic, *pending));
                        }
                        Some(Topic::Unreadable(why)) => {
                            problems.push(topic_unreadable(control, alarm, topic, why));
                        }
                        Some(Topic::Missing) | None => {
                            problems.push(topic_missing(control, alarm, topic));
                        }
                    }
                }
            }
        }
        // A control with a whole chain has what Security Hub asks of the log group; other chains'
        // gaps are not its problem (a missing trail is named once, above).
        if state.alarms.is_empty() {
            findings.extend(problems);
        }
        controls.push(state);
    }
    findings.sort_by(|a, b| {
        (a.severity, a.id, &a.region, &a.resource).cmp(&(b.severity, b.id, &b.region, &b.resource))
    });
    Report {
        log_group: log_group.to_owned(),
        region: region.to_owned(),
        trails: inventory.trails.iter().map(|t| t.name.clone()).collect(),
        trail_ok,
        controls,
        metric_filters: inventory.filters,
        findings,
    }
}

/// No trail delivers to the log group, or none that records every region's management events.
fn check_trails(region: &str, log_group: &str, trails: &[TrailInfo], findings: &mut Vec<Finding>) {
    if trails.is_empty() {
        findings.push(Finding {
            id: "log-group-without-trail",
            severity: Severity::Error,
            region: region.to_owned(),
            resource: log_group.to_owned(),
            explanation: format!(
                "no trail delivers to {log_group}: its metric filters see no events, and Security Hub fails \
                 CloudWatch.1-14 without a multi-region trail sending to the log group"
            ),
            fix: format!(
                "aws cloudtrail update-trail --region {region} --name TRAIL --cloud-watch-logs-log-group-arn \
                 arn:aws:logs:{region}:ACCOUNT:log-group:{log_group}:* --cloud-watch-logs-role-arn ROLE_ARN \
                 (a role CloudTrail assumes, allowed logs:CreateLogStream and logs:PutLogEvents on the group)"
            ),
        });
        return;
    }
    for trail in trails {
        let mut lacks = Vec::new();
        let mut fixes = Vec::new();
        if !trail.multi_region {
            lacks.push("records only its home region");
            fixes.push(format!(
                "aws cloudtrail update-trail --name {} --is-multi-region-trail",
                trail.arn
            ));
        }
        if !trail.logging {
            lacks.push("is stopped");
            fixes.push(format!("aws cloudtrail start-logging --name {}", trail.arn));
        }
        if !trail.management_events {
            lacks.push("records no management events");
            fixes.push(format!(
                "aws cloudtrail put-event-selectors --trail-name {} --event-selectors \
                 '[{{\"ReadWriteType\": \"All\", \"IncludeManagementEvents\": true}}]'",
                trail.arn
            ));
        }
        findings.push(Finding {
            id: "log-group-trail-incomplete",
            severity: Severity::Error,
            region: region.to_owned(),
            resource: trail.name.clone(),
            explanation: format!(
                "trail {} delivers to {log_group} but {}: Security Hub fails CloudWatch.1-14 unless a \
                 multi-region, logging trail with management events sends to the log group",
                trail.name,
                lacks.join(" and ")
            ),
            fix: fixes.join("; "),
        });
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}

/// `'text'` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn about(control: &Control) -> String {
    format!("{} (CIS {}, {})", control.id, control.cis, control.title)
}

/// For each filter that satisfies no control, the control it looks meant for: the one named
/// `trailbell-<rule>` after it, else the one sharing the largest part of its conditions (Jaccard:
/// shared over all of both), when that part is at least half. CIS 4.2 option 1, two of CloudWatch.3's
/// four conditions, is meant for CloudWatch.3; it shares one of three with CloudWatch.6.
fn meant_for(
    filters: &[MetricFilter],
    parsed: &[Option<FilterPattern>],
    wanted: &[Option<FilterPattern>],
) -> Vec<Option<usize>> {
    filters
        .iter()
        .zip(parsed)
        .map(|(filter, pattern)| {
            if !filter.controls.is_empty() {
                return None;
            }
            if let Some(c) = CONTROLS
                .iter()
                .position(|c| filter.name == format!("trailbell-{}", c.rule))
            {
                return Some(c);
            }
            let have = pattern.as_ref()?.conditions();
            let mut best: Option<(usize, usize, usize)> = None;
            for (c, want) in wanted.iter().enumerate() {
                let Some(want) = want else { continue };
                let want = want.conditions();
                let shared = have.intersection(&want).count();
                let union = have.union(&want).count();
                // shared/union >= 1/2, and larger than the best so far (compared as fractions).
                let better = best.is_none_or(|(_, s, u)| shared * u > s * union);
                if shared > 0 && 2 * shared >= union && better {
                    best = Some((c, shared, union));
                }
            }
            best.map(|(c, _, _)| c)
        })
        .collect()
}

/// No filter equivalent to the control's: one that was meant for it and says something else, or
/// none at all.
fn missing_filter(
    control: &Control,
    region: &str,
    log_group: &str,
    near: Option<&MetricFilter>,
) -> Finding {
    if let Some(filter) = near {
        let metric = filter.metrics.first().cloned().unwrap_or_else(|| {
            (
                METRIC_NAMESPACE.to_owned(),
                format!("{}EventCount", control.rule),
            )
        });
        return Finding {
            id: "metric-filter-pattern-differs",
            severity: Severity::Error,
            region: region.to_owned(),
            resource: filter.name.clone(),
            explanation: format!(
                "metric filter {} on {log_group} looks meant for {} but its pattern is not equivalent to Security Hub's, \
                 so the control fails: it has {}, Security Hub checks for {}",
                filter.name,
                about(control),
                filter.pattern,
                control.pattern
            ),
            fix: format!(
                "aws logs put-metric-filter --region {region} --log-group-name {} --filter-name {} --filter-pattern {} \
                 --metric-transformations metricName={},metricNamespace={},metricValue=1",
                shell_quote(log_group),
                shell_quote(&filter.name),
                shell_quote(control.pattern),
                metric.1,
                metric.0
            ),
        };
    }
    Finding {
        id: "metric-filter-missing",
        severity: Severity::Error,
        region: region.to_owned(),
        resource: log_group.to_owned(),
        explanation: format!(
            "no metric filter on {log_group} has a pattern equivalent to Security Hub's for {}: {}",
            about(control),
            control.pattern
        ),
        fix: format!(
            "`trailbell deploy --emit cis-metric-filters --log-group {log_group} --target-sns-topic-arn ARN` writes \
             every filter and alarm as a CloudFormation template; or by hand: aws logs put-metric-filter --region {region} \
             --log-group-name {} --filter-name trailbell-{} --filter-pattern {} --metric-transformations \
             metricName={}EventCount,metricNamespace={METRIC_NAMESPACE},metricValue=1, then an alarm on that metric",
            shell_quote(log_group),
            control.rule,
            shell_quote(control.pattern),
            logical(control.rule),
        ),
    }
}

fn alarm_command(alarm_name: &str, region: &str, metric: &(String, String)) -> String {
    format!(
        "aws cloudwatch put-metric-alarm --region {region} --alarm-name {} --namespace {} --metric-name {} \
         --statistic Sum --period 300 --evaluation-periods 1 --threshold 1 \
         --comparison-operator GreaterThanOrEqualToThreshold --treat-missing-data notBreaching --alarm-actions TOPIC_ARN",
        shell_quote(alarm_name),
        shell_quote(&metric.0),
        shell_quote(&metric.1)
    )
}

fn no_alarm(control: &Control, region: &str, filter: &MetricFilter) -> Finding {
    let metric = filter.metrics.first().cloned().unwrap_or_default();
    Finding {
        id: "metric-filter-without-alarm",
        severity: Severity::Error,
        region: region.to_owned(),
        resource: filter.name.clone(),
        explanation: format!(
            "metric filter {} satisfies {}, but no alarm watches its metric {}/{}: the events are counted and nobody is told",
            filter.name,
            about(control),
            metric.0,
            metric.1
        ),
        fix: alarm_command(&format!("trailbell-{}", control.rule), region, &metric),
    }
}

fn alarm_without_topic(control: &Control, region: &str, alarm: &Alarm) -> Finding {
    let metric = alarm.metrics.first().cloned().unwrap_or_default();
    Finding {
        id: "alarm-without-topic",
        severity: Severity::Error,
        region: region.to_owned(),
        resource: alarm.name.clone(),
        explanation: format!(
            "alarm {} watches the metric of {} but has no SNS topic among its alarm actions: it changes state and tells nobody",
            alarm.name,
            about(control)
        ),
        fix: format!(
            "put the alarm again with its settings and an SNS topic that has a subscriber, e.g. {}",
            alarm_command(&alarm.name, region, &metric)
        ),
    }
}

fn alarm_actions_disabled(control: &Control, region: &str, alarm: &Alarm) -> Finding {
    Finding {
        id: "alarm-actions-disabled",
        severity: Severity::Error,
        region: region.to_owned(),
        resource: alarm.name.clone(),
        explanation: format!(
            "alarm {} watches the metric of {} but its actions are disabled: it notifies nobody",
            alarm.name,
            about(control)
        ),
        fix: format!(
            "aws cloudwatch enable-alarm-actions --region {region} --alarm-names {}",
            shell_quote(&alarm.name)
        ),
    }
}

fn topic_without_subscription(
    control: &Control,
    alarm: &Alarm,
    topic: &str,
    pending: usize,
) -> Finding {
    let region = Arn::parse(topic).map(|a| a.region).unwrap_or_default();
    let pending = if pending > 0 {
        format!(" ({pending} waiting for confirmation, which deliver nothing)")
    } else {
        String::new()
    };
    Finding {
        id: "topic-without-subscription",
        severity: Severity::Error,
        region: region.clone(),
        resource: topic.to_owned(),
        explanation: format!(
            "alarm {} for {} notifies {topic}, which has no confirmed subscription{pending}: its messages reach nobody",
            alarm.name,
            about(control)
        ),
        fix: format!(
            "aws sns subscribe --region {region} --topic-arn {topic} --protocol email --notification-endpoint ADDRESS \
             (then confirm it from the mail), or subscribe the trailbell Lambda function or AWS Chatbot"
        ),
    }
}

fn topic_unreadable(control: &Control, alarm: &Alarm, topic: &str, why: &str) -> Finding {
    let region = Arn::parse(topic).map(|a| a.region).unwrap_or_default();
    Finding {
        id: "topic-unreadable",
        severity: Severity::Warning,
        region,
        resource: topic.to_owned(),
        explanation: format!(
            "alarm {} for {} notifies {topic}, whose subscriptions these credentials may not list ({why}): \
             whether anyone receives its messages is unknown, so the control is not counted as passing",
            alarm.name,
            about(control)
        ),
        fix: format!(
            "run doctor with credentials allowed sns:ListSubscriptionsByTopic on {topic} (e.g. --profile of the \
             topic's account), or check its subscriptions there"
        ),
    }
}

fn topic_missing(control: &Control, alarm: &Alarm, topic: &str) -> Finding {
    let region = Arn::parse(topic).map(|a| a.region).unwrap_or_default();
    Finding {
        id: "alarm-topic-missing",
        severity: Severity::Error,
        region: region.clone(),
        resource: topic.to_owned(),
        explanation: format!(
            "alarm {} for {} notifies {topic}, which does not exist",
            alarm.name,
            about(control)
        ),
        fix: format!(
            "create it (aws sns create-topic --region {region} --name NAME) and subscribe to it, or point the alarm's \
             actions at a topic that has a subscriber"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RulePack;

    #[test]
    fn every_control_pattern_is_the_built_in_rules_and_the_corpus() {
        let pack = RulePack::builtin();
        let corpus: toml::Value = toml::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../testdata/filter-patterns/security_hub.toml"
            ))
            .expect("the corpus"),
        )
        .expect("TOML");
        for control in &CONTROLS {
            let wanted = FilterPattern::parse(control.pattern).expect("valid");
            let rule = pack
                .rules()
                .iter()
                .find(|r| r.name == control.rule)
                .unwrap_or_else(|| panic!("no built-in rule {}", control.rule));
            assert!(
                rule.cis.iter().any(|c| c == control.cis),
                "{} is not CIS {}",
                rule.name,
                control.cis
            );
            let pattern = rule.filter_pattern.as_deref().expect("a filter pattern");
            assert_eq!(pattern, control.pattern, "{}", control.id);
            let verbatim = corpus["case"]
                .as_array()
                .expect("cases")
                .iter()
                .find(|c| c["control"].as_str() == Some(control.id))
                .and_then(|c| c["pattern"].as_str())
                .unwrap_or_else(|| panic!("no corpus case for {}", control.id));
            assert_eq!(verbatim, control.pattern, "{}", control.id);
            assert!(wanted.equivalent(&FilterPattern::parse(verbatim).expect("valid")));
        }
    }

    #[test]
    fn each_control_pattern_satisfies_only_its_own_control() {
        for a in &CONTROLS {
            for b in &CONTROLS {
                let (pa, pb) = (
                    FilterPattern::parse(a.pattern).expect("valid"),
                    FilterPattern::parse(b.pattern).expect("valid"),
                );
                assert_eq!(pa.equivalent(&pb), a.id == b.id, "{} vs {}", a.id, b.id);
            }
        }
    }

    fn filter(name: &str, pattern: &str, metric: &str) -> MetricFilter {
        MetricFilter {
            name: name.to_owned(),
            pattern: pattern.to_owned(),
            metrics: vec![("ns".to_owned(), metric.to_owned())],
            controls: Vec::new(),
        }
    }

    fn alarm(name: &str, metric: &str, actions: &[&str]) -> Alarm {
        Alarm {
            name: name.to_owned(),
            metrics: vec![("ns".to_owned(), metric.to_owned())],
            actions_enabled: true,
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:alerts";

    fn trail(multi_region: bool, logging: bool) -> TrailInfo {
        TrailInfo {
            name: "main".to_owned(),
            arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".to_owned(),
            multi_region,
            logging,
            ours: false,
            management_events: true,
            log_group_arn: Some("arn:aws:logs:us-east-1:111122223333:log-group:trail:*".to_owned()),
        }
    }

    /// CloudWatch.1 whole: a filter, an alarm, a subscribed topic.
    fn root_chain(trails: Vec<TrailInfo>) -> Inventory {
        Inventory {
            log_group_exists: true,
            trails,
            filters: vec![filter("f", CONTROLS[0].pattern, "m")],
            alarms: vec![alarm("a", "m", &[TOPIC])],
            topics: BTreeMap::from([(
                TOPIC.to_owned(),
                Topic::Subscriptions {
                    confirmed: 1,
                    pending: 0,
                },
            )]),
        }
    }

    #[test]
    fn a_whole_chain_without_a_good_trail_fails_once_for_the_trail() {
        assert!(
            assess("us-east-1", "trail", root_chain(vec![trail(true, true)])).controls[0].passed
        );

        let report = assess("us-east-1", "trail", root_chain(Vec::new()));
        assert!(!report.controls[0].passed);
        let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.id).collect();
        assert_eq!(
            ids,
            BTreeSet::from(["log-group-without-trail", "metric-filter-missing"])
        );

        let report = assess("us-east-1", "trail", root_chain(vec![trail(false, false)]));
        assert!(!report.controls[0].passed);
        let incomplete = report
            .findings
            .iter()
            .find(|f| f.id == "log-group-trail-incomplete")
            .expect("named");
        assert!(
            incomplete
                .explanation
                .contains("records only its home region and is stopped"),
            "{}",
            incomplete.explanation
        );
        assert!(incomplete.fix.contains("start-logging"));
    }

    #[test]
    fn a_topic_doctor_may_not_read_is_a_warning_not_a_pass() {
        let mut inventory = root_chain(vec![trail(true, true)]);
        inventory.topics.insert(
            TOPIC.to_owned(),
            Topic::Unreadable("AuthorizationError".to_owned()),
        );
        let report = assess("us-east-1", "trail", inventory);
        assert!(!report.controls[0].passed);
        let finding = report
            .findings
            .iter()
            .find(|f| f.id == "topic-unreadable")
            .expect("named");
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.explanation.contains("CloudWatch.1"));
    }

    #[test]
    fn the_log_group_is_read_from_the_trails_arn() {
        let arn = "arn:aws:logs:us-east-1:111122223333:log-group:aws-cloudtrail-logs:*";
        assert!(names_log_group(arn, "us-east-1", "aws-cloudtrail-logs"));
        assert!(!names_log_group(arn, "eu-west-1", "aws-cloudtrail-logs"));
        assert!(!names_log_group(arn, "us-east-1", "aws-cloudtrail"));
        assert!(names_log_group(
            "arn:aws:logs:us-east-1:111122223333:log-group:a/b",
            "us-east-1",
            "a/b"
        ));
    }

    #[test]
    fn a_chain_passes_and_a_rewritten_pattern_counts() {
        let inventory = Inventory {
            log_group_exists: true,
            trails: vec![trail(true, true)],
            filters: vec![filter(
                "failures",
                r#"{ $.errorMessage = "Failed authentication" && $.eventName = "ConsoleLogin" }"#,
                "m",
            )],
            alarms: vec![alarm("a", "m", &[TOPIC])],
            topics: BTreeMap::from([(
                TOPIC.to_owned(),
                Topic::Subscriptions {
                    confirmed: 1,
                    pending: 0,
                },
            )]),
        };
        let report = assess("us-east-1", "trail", inventory);
        let six = &report.controls[5];
        assert_eq!(six.control, "CloudWatch.6");
        assert!(six.passed);
        assert_eq!(six.alarms, ["a"]);
        assert_eq!(report.metric_filters[0].controls, ["CloudWatch.6"]);
        assert_eq!(report.controls.iter().filter(|c| c.passed).count(), 1);
        assert_eq!(
            report
                .findings
                .iter()
                .filter(|f| f.id == "metric-filter-missing")
                .count(),
            13
        );
    }

    #[test]
    fn a_cis_variant_is_named_as_differing_not_missing() {
        let inventory = Inventory {
            log_group_exists: true,
            filters: vec![filter(
                "no-mfa",
                r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
                "m",
            )],
            ..Inventory::default()
        };
        let report = assess("us-east-1", "trail", inventory);
        let differs: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.id == "metric-filter-pattern-differs")
            .collect();
        assert_eq!(differs.len(), 1, "{:?}", report.findings);
        assert!(differs[0].explanation.contains("CloudWatch.3"));
        assert!(differs[0].fix.contains("--filter-name 'no-mfa'"));
    }

    #[test]
    fn pending_subscriptions_do_not_count() {
        let mut inventory = root_chain(vec![trail(true, true)]);
        inventory.topics.insert(
            TOPIC.to_owned(),
            Topic::Subscriptions {
                confirmed: 0,
                pending: 1,
            },
        );
        let report = assess("us-east-1", "trail", inventory);
        assert!(!report.controls[0].passed);
        let finding = report
            .findings
            .iter()
            .find(|f| f.id == "topic-without-subscription")
            .expect("named");
        assert!(finding.explanation.contains("1 waiting for confirmation"));
    }
}
