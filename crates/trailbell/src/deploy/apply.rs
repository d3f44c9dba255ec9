//! The actual state, read from AWS; the diff against the desired state as a plan of changes
//! (create, update, unchanged, delete); and applying a plan.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_eventbridge::types as eb;
use serde_json::{Value, json};

use super::plan::{
    self, DesiredRule, DesiredTarget, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, NAME_PREFIX, Options,
    PERMISSION_SID, TargetSpec, TrailSpec,
};
use super::{Aws, DeployError};
use crate::rules::RulePack;

/// What a change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new resource.
    Create,
    /// An existing resource of ours changed.
    Update,
    /// Nothing to do.
    Unchanged,
    /// A resource of ours no longer wanted.
    Delete,
}

impl Action {
    /// Lowercase, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

/// What a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An EventBridge rule with its target.
    Rule,
    /// The CloudTrail trail (with its bucket when created).
    Trail,
    /// The target's permission for EventBridge: a Lambda permission or an SNS topic statement.
    Permission,
}

impl Kind {
    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rule => "rule",
            Kind::Trail => "trail",
            Kind::Permission => "permission",
        }
    }
}

/// One line of a plan.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// What it is about.
    pub kind: Kind,
    /// Where.
    pub region: String,
    /// The resource's name or ARN.
    pub name: String,
    /// What differs, or why.
    pub detail: String,
    #[serde(skip)]
    op: Op,
}

#[derive(Clone, Debug)]
enum Op {
    None,
    PutRule(Box<DesiredRule>),
    DeleteRule {
        bus: String,
    },
    CreateTrail(TrailSpec),
    StartLogging {
        arn: String,
    },
    AddLambdaPermission {
        function: String,
        source_arn: String,
    },
    RemoveLambdaPermission {
        function: String,
    },
    SetTopicPolicy {
        topic: String,
        policy: String,
    },
}

/// A plan: every change, in the order it is applied.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Plan {
    /// The changes, unchanged ones included.
    pub changes: Vec<Change>,
}

/// How many changes of each action a plan holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Creations.
    pub create: usize,
    /// Updates.
    pub update: usize,
    /// Nothing to do.
    pub unchanged: usize,
    /// Deletions.
    pub delete: usize,
}

impl Plan {
    /// Counts by action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Unchanged => summary.unchanged += 1,
                Action::Delete => summary.delete += 1,
            }
        }
        summary
    }
}

/// A rule as it is in AWS.
#[derive(Clone, Debug)]
pub struct ActualRule {
    /// Its region.
    pub region: String,
    /// Its bus.
    pub bus: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its pattern, if it has one (scheduled rules do not).
    pub event_pattern: Option<String>,
    /// Its state.
    pub state: String,
    /// Its description.
    pub description: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its targets.
    pub targets: Vec<eb::Target>,
}

impl ActualRule {
    /// Whether trailbell owns it: the name prefix and the managed tag.
    pub fn is_ours(&self) -> bool {
        self.name.starts_with(NAME_PREFIX)
            && self.tags.get(MANAGED_TAG_KEY).map(String::as_str) == Some(MANAGED_TAG_VALUE)
    }
}

/// The rules on `bus` in `region` whose names start with `prefix` (all rules for `""`), with their
/// tags and targets.
pub async fn actual_rules(
    aws: &Aws,
    region: &str,
    bus: &str,
    prefix: &str,
) -> Result<Vec<ActualRule>, DeployError> {
    let client = aws.events(region).await;
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let mut request = client
            .list_rules()
            .event_bus_name(bus)
            .set_next_token(token);
        if !prefix.is_empty() {
            request = request.name_prefix(prefix);
        }
        let page = request
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("list rules in {region}"), e))?;
        for rule in page.rules() {
            let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else {
                continue;
            };
            let tags = client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| DeployError::aws(format!("list the tags of {arn}"), e))?
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            let targets = client
                .list_targets_by_rule()
                .rule(name)
                .event_bus_name(bus)
                .send()
                .await
                .map_err(|e| DeployError::aws(format!("list the targets of {arn}"), e))?
                .targets()
                .to_vec();
            rules.push(ActualRule {
                region: region.to_owned(),
                bus: bus.to_owned(),
                name: name.to_owned(),
                arn: arn.to_owned(),
                event_pattern: rule.event_pattern().map(str::to_owned),
                state: rule
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                description: rule.description().unwrap_or_default().to_owned(),
                tags,
                targets,
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(rules)
}

/// The plan that makes AWS match `pack` deployed with `options`.
pub async fn plan_deploy(
    aws: &Aws,
    pack: &RulePack,
    options: &Options,
) -> Result<Plan, DeployError> {
    let desired = plan::desired(pack, options)?;
    let mut changes = Vec::new();
    if let Some(trail) = trail_change(aws, options).await? {
        changes.push(trail);
    }
    if let Some(target) = &options.target {
        changes.extend(permission_changes(aws, target, options, true).await?);
    }
    let mut by_key: BTreeMap<(String, String), DesiredRule> = desired
        .rules
        .into_iter()
        .map(|r| ((r.region.clone(), r.name.clone()), r))
        .collect();
    let mut deletes = Vec::new();
    for region in options.all_regions() {
        for actual in actual_rules(aws, &region, options.bus(), NAME_PREFIX).await? {
            let key = (actual.region.clone(), actual.name.clone());
            match by_key.remove(&key) {
                Some(_) if !actual.is_ours() => {
                    return Err(DeployError::NotOurs {
                        kind: "rule",
                        name: actual.name,
                        region: actual.region,
                    });
                }
                Some(want) => {
                    let differences = differences(&want, &actual);
                    changes.push(Change {
                        action: if differences.is_empty() {
                            Action::Unchanged
                        } else {
                            Action::Update
                        },
                        kind: Kind::Rule,
                        region: want.region.clone(),
                        name: want.name.clone(),
                        detail: differences.join(", "),
                        op: if differences.is_empty() {
                            Op::None
                        } else {
                            Op::PutRule(Box::new(want))
                        },
                    });
                }
                None if actual.is_ours() => deletes.push(delete_rule(&actual)),
                None => {}
            }
        }
    }
    for want in by_key.into_values() {
        changes.push(Change {
            action: Action::Create,
            kind: Kind::Rule,
            region: want.region.clone(),
            name: want.name.clone(),
            detail: format!("state {}", want.state.as_str()),
            op: Op::PutRule(Box::new(want)),
        });
    }
    changes.extend(deletes);
    Ok(Plan { changes })
}

/// The plan that removes everything of trailbell's from the regions `options` covers: its rules and
/// their targets, and its permission statements. The trail and its bucket stay (decision 0009).
pub async fn plan_destroy(aws: &Aws, options: &Options) -> Result<Plan, DeployError> {
    let mut changes = Vec::new();
    let mut target_arns = BTreeSet::new();
    if let Some(target) = &options.target {
        target_arns.insert(target.arn().text.clone());
    }
    for region in options.all_regions() {
        for actual in actual_rules(aws, &region, options.bus(), NAME_PREFIX).await? {
            if actual.is_ours() {
                for target in &actual.targets {
                    if target.id() == plan::TARGET_ID {
                        target_arns.insert(target.arn().to_owned());
                    }
                }
                changes.push(delete_rule(&actual));
            }
        }
    }
    for arn in target_arns {
        let Ok(parsed) = plan::Arn::parse(&arn) else {
            continue;
        };
        let target = match parsed.service.as_str() {
            "lambda" => TargetSpec::Lambda(parsed),
            "sns" => TargetSpec::Sns(parsed),
            _ => continue,
        };
        changes.extend(permission_changes(aws, &target, options, false).await?);
    }
    Ok(Plan { changes })
}

fn delete_rule(actual: &ActualRule) -> Change {
    Change {
        action: Action::Delete,
        kind: Kind::Rule,
        region: actual.region.clone(),
        name: actual.name.clone(),
        detail: String::new(),
        op: Op::DeleteRule {
            bus: actual.bus.clone(),
        },
    }
}

/// What differs between a desired rule and a deployed one, by field.
fn differences(want: &DesiredRule, actual: &ActualRule) -> Vec<String> {
    let mut out = Vec::new();
    let parse = |text: &str| serde_json::from_str::<Value>(text).ok();
    if actual.event_pattern.as_deref().and_then(parse) != parse(&want.event_pattern) {
        out.push("event pattern".to_owned());
    }
    if actual.state != want.state.as_str() {
        out.push(format!("state {} -> {}", actual.state, want.state.as_str()));
    }
    if actual.description != want.description {
        out.push("description".to_owned());
    }
    for (key, value) in &want.tags {
        if actual.tags.get(key) != Some(value) {
            out.push(format!("tag {key}"));
        }
    }
    let ours: Vec<&eb::Target> = actual
        .targets
        .iter()
        .filter(|t| t.id() == plan::TARGET_ID)
        .collect();
    match (ours.as_slice(), want.targets.first()) {
        ([actual], Some(want)) if same_target(want, actual) => {}
        ([], None) => {}
        _ => out.push("target".to_owned()),
    }
    out
}

fn same_target(want: &DesiredTarget, actual: &eb::Target) -> bool {
    let retry = actual.retry_policy();
    actual.arn() == want.arn
        && actual.role_arn() == want.role_arn.as_deref()
        && actual.dead_letter_config().and_then(|d| d.arn()) == want.dead_letter_arn.as_deref()
        && retry
            .and_then(|r| r.maximum_retry_attempts())
            .map(i64::from)
            == Some(i64::from(want.retry_policy.maximum_retry_attempts))
        && retry
            .and_then(|r| r.maximum_event_age_in_seconds())
            .map(i64::from)
            == Some(i64::from(want.retry_policy.maximum_event_age_seconds))
}

/// The trail change: none when no trail was asked for; unchanged when a multi-region trail is
/// logging; else create ours, or start or widen ours.
async fn trail_change(aws: &Aws, options: &Options) -> Result<Option<Change>, DeployError> {
    let Some(spec) = &options.trail else {
        return Ok(None);
    };
    let region = options
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| super::regions::GLOBAL_REGION.to_owned());
    let trails = trails(aws, &region).await?;
    if let Some(good) = trails.iter().find(|t| t.multi_region && t.logging) {
        return Ok(Some(Change {
            action: Action::Unchanged,
            kind: Kind::Trail,
            region,
            name: good.name.clone(),
            detail: "a multi-region trail is logging".to_owned(),
            op: Op::None,
        }));
    }
    let change = match trails.iter().find(|t| t.name == spec.name) {
        None => Change {
            action: Action::Create,
            kind: Kind::Trail,
            region,
            name: spec.name.clone(),
            detail: format!("multi-region, logging, to s3://{}", spec.bucket),
            op: Op::CreateTrail(spec.clone()),
        },
        Some(ours) if ours.ours && ours.multi_region => Change {
            action: Action::Update,
            kind: Kind::Trail,
            region,
            name: spec.name.clone(),
            detail: "start logging".to_owned(),
            op: Op::StartLogging {
                arn: ours.arn.clone(),
            },
        },
        Some(_) => {
            return Err(DeployError::Options(format!(
                "trail {} exists but is not a logging multi-region trail of trailbell's; fix it \
                 (trailbell doctor explains how) or pass another --create-trail name",
                spec.name
            )));
        }
    };
    Ok(Some(change))
}

/// A trail as the plan and the doctor see it.
#[derive(Clone, Debug)]
pub struct TrailInfo {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether it records every region.
    pub multi_region: bool,
    /// Whether it is logging.
    pub logging: bool,
    /// Whether it carries trailbell's managed tag.
    pub ours: bool,
    /// Whether it records management events (a trail without selectors does).
    pub management_events: bool,
    /// The CloudWatch Logs log group it delivers to, if any.
    pub log_group_arn: Option<String>,
}

/// Every trail visible from `region` (shadow trails of other regions' multi-region trails too).
pub async fn trails(aws: &Aws, region: &str) -> Result<Vec<TrailInfo>, DeployError> {
    let client = aws.cloudtrail(region).await;
    let described = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("describe trails in {region}"), e))?;
    let mut out = Vec::new();
    for trail in described.trail_list() {
        let (Some(name), Some(arn)) = (trail.name(), trail.trail_arn()) else {
            continue;
        };
        let status = client
            .get_trail_status()
            .name(arn)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("get the status of trail {name}"), e))?;
        let tags = client
            .list_tags()
            .resource_id_list(arn)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("list the tags of trail {name}"), e))?;
        let ours = tags.resource_tag_list().iter().any(|r| {
            r.tags_list()
                .iter()
                .any(|t| t.key() == MANAGED_TAG_KEY && t.value() == Some(MANAGED_TAG_VALUE))
        });
        let selectors = client
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("get the event selectors of trail {name}"), e))?;
        let management_events = (selectors.event_selectors().is_empty()
            && selectors.advanced_event_selectors().is_empty())
            || selectors
                .event_selectors()
                .iter()
                .any(|s| s.include_management_events().unwrap_or(true))
            || selectors.advanced_event_selectors().iter().any(|s| {
                s.field_selectors().iter().any(|f| {
                    f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
                })
            });
        out.push(TrailInfo {
            name: name.to_owned(),
            arn: arn.to_owned(),
            multi_region: trail.is_multi_region_trail().unwrap_or(false),
            logging: status.is_logging().unwrap_or(false),
            ours,
            management_events,
            log_group_arn: trail.cloud_watch_logs_log_group_arn().map(str::to_owned),
        });
    }
    Ok(out)
}

/// The source ARN pattern of trailbell's rules in `region` on `bus`.
pub fn rules_source_arn(partition: &str, region: &str, account: &str, bus: &str) -> String {
    if bus == "default" {
        format!("arn:{partition}:events:{region}:{account}:rule/{NAME_PREFIX}*")
    } else {
        format!("arn:{partition}:events:{region}:{account}:rule/{bus}/{NAME_PREFIX}*")
    }
}

/// Whether the target lets EventBridge deliver to it, and the change to make it so (`want`) or to
/// take trailbell's statement away (`!want`).
async fn permission_changes(
    aws: &Aws,
    target: &TargetSpec,
    options: &Options,
    want: bool,
) -> Result<Vec<Change>, DeployError> {
    let arn = target.arn();
    let has = has_permission(aws, target).await?;
    let source_arn = rules_source_arn(&arn.partition, &arn.region, &arn.account, options.bus());
    let change = |action: Action, detail: &str, op: Op| Change {
        action,
        kind: Kind::Permission,
        region: arn.region.clone(),
        name: arn.text.clone(),
        detail: detail.to_owned(),
        op,
    };
    Ok(match (target, want, has) {
        (TargetSpec::Sqs(_), _, _) => Vec::new(),
        (_, true, true) | (_, false, false) => {
            if want {
                vec![change(
                    Action::Unchanged,
                    "events.amazonaws.com may deliver",
                    Op::None,
                )]
            } else {
                Vec::new()
            }
        }
        (TargetSpec::Lambda(_), true, false) => vec![change(
            Action::Create,
            "lambda:InvokeFunction for events.amazonaws.com",
            Op::AddLambdaPermission {
                function: arn.text.clone(),
                source_arn,
            },
        )],
        (TargetSpec::Lambda(_), false, true) => vec![change(
            Action::Delete,
            "",
            Op::RemoveLambdaPermission {
                function: arn.text.clone(),
            },
        )],
        (TargetSpec::Sns(_), _, _) => {
            let policy = topic_policy(aws, arn).await?;
            let policy = with_statement(
                policy,
                want.then(|| {
                    json!({
                        "Sid": PERMISSION_SID,
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": arn.text,
                        "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
                    })
                }),
            );
            let op = Op::SetTopicPolicy {
                topic: arn.text.clone(),
                policy: policy.to_string(),
            };
            if want {
                vec![change(
                    Action::Create,
                    "sns:Publish for events.amazonaws.com",
                    op,
                )]
            } else {
                vec![change(Action::Delete, "", op)]
            }
        }
    })
}

/// Whether trailbell's statement is in the target's policy (always true for SQS, which trailbell
/// does not manage).
pub async fn has_permission(aws: &Aws, target: &TargetSpec) -> Result<bool, DeployError> {
    let arn = target.arn();
    match target {
        TargetSpec::Sqs(_) => Ok(true),
        TargetSpec::Lambda(_) => {
            let client = aws.lambda(&arn.region).await;
            match client.get_policy().function_name(&arn.text).send().await {
                Ok(out) => {
                    let policy: Value = out
                        .policy()
                        .and_then(|p| serde_json::from_str(p).ok())
                        .unwrap_or(Value::Null);
                    Ok(has_statement(&policy))
                }
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    Ok(false)
                }
                Err(err) => Err(DeployError::aws(
                    format!("get the policy of {}", arn.text),
                    err,
                )),
            }
        }
        TargetSpec::Sns(_) => Ok(has_statement(&topic_policy(aws, arn).await?)),
    }
}

fn has_statement(policy: &Value) -> bool {
    policy
        .get("Statement")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.get("Sid") == Some(&json!(PERMISSION_SID)))
        })
}

/// The policy without trailbell's statement, plus `statement` if given; other statements kept.
fn with_statement(mut policy: Value, statement: Option<Value>) -> Value {
    if !policy.is_object() {
        policy = json!({"Version": "2012-10-17", "Statement": []});
    }
    let mut statements: Vec<Value> = policy
        .get("Statement")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.get("Sid") != Some(&json!(PERMISSION_SID)))
        .collect();
    statements.extend(statement);
    policy["Statement"] = Value::Array(statements);
    policy
}

async fn topic_policy(aws: &Aws, topic: &plan::Arn) -> Result<Value, DeployError> {
    let out = aws
        .sns(&topic.region)
        .await
        .get_topic_attributes()
        .topic_arn(&topic.text)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("get the attributes of {}", topic.text), e))?;
    Ok(out
        .attributes()
        .and_then(|a| a.get("Policy"))
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null))
}

/// Applies every change of `plan` that is not `Unchanged`, in order.
pub async fn apply(aws: &Aws, plan: &Plan) -> Result<(), DeployError> {
    for change in &plan.changes {
        match &change.op {
            Op::None => {}
            Op::PutRule(rule) => put_rule(aws, rule).await?,
            Op::DeleteRule { bus } => {
                let client = aws.events(&change.region).await;
                let targets = client
                    .list_targets_by_rule()
                    .rule(&change.name)
                    .event_bus_name(bus)
                    .send()
                    .await
                    .map_err(|e| {
                        DeployError::aws(format!("list the targets of {}", change.name), e)
                    })?;
                let ids: Vec<String> = targets
                    .targets()
                    .iter()
                    .map(|t| t.id().to_owned())
                    .collect();
                if !ids.is_empty() {
                    client
                        .remove_targets()
                        .rule(&change.name)
                        .event_bus_name(bus)
                        .set_ids(Some(ids))
                        .send()
                        .await
                        .map_err(|e| {
                            DeployError::aws(format!("remove the targets of {}", change.name), e)
                        })?;
                }
                client
                    .delete_rule()
                    .name(&change.name)
                    .event_bus_name(bus)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws(format!("delete rule {}", change.name), e))?;
            }
            Op::CreateTrail(spec) => create_trail(aws, &change.region, spec).await?,
            Op::StartLogging { arn } => {
                aws.cloudtrail(&change.region)
                    .await
                    .start_logging()
                    .name(arn)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws(format!("start logging on {arn}"), e))?;
            }
            Op::AddLambdaPermission {
                function,
                source_arn,
            } => {
                aws.lambda(&change.region)
                    .await
                    .add_permission()
                    .function_name(function)
                    .statement_id(PERMISSION_SID)
                    .action("lambda:InvokeFunction")
                    .principal("events.amazonaws.com")
                    .source_arn(source_arn)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws(format!("add a permission to {function}"), e))?;
            }
            Op::RemoveLambdaPermission { function } => {
                aws.lambda(&change.region)
                    .await
                    .remove_permission()
                    .function_name(function)
                    .statement_id(PERMISSION_SID)
                    .send()
                    .await
                    .map_err(|e| {
                        DeployError::aws(format!("remove the permission from {function}"), e)
                    })?;
            }
            Op::SetTopicPolicy { topic, policy } => {
                aws.sns(&change.region)
                    .await
                    .set_topic_attributes()
                    .topic_arn(topic)
                    .attribute_name("Policy")
                    .attribute_value(policy)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws(format!("set the policy of {topic}"), e))?;
            }
        }
    }
    Ok(())
}

async fn put_rule(aws: &Aws, rule: &DesiredRule) -> Result<(), DeployError> {
    let client = aws.events(&rule.region).await;
    let tags = rule
        .tags
        .iter()
        .map(|(k, v)| eb::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DeployError::aws("build a tag", e))?;
    let put = client
        .put_rule()
        .name(&rule.name)
        .event_bus_name(&rule.bus)
        .event_pattern(&rule.event_pattern)
        .state(eb::RuleState::from(rule.state.as_str()))
        .description(&rule.description)
        .set_tags(Some(tags.clone()))
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("put rule {} in {}", rule.name, rule.region), e))?;
    if let Some(arn) = put.rule_arn() {
        // PutRule sets tags only when it creates the rule.
        client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("tag rule {}", rule.name), e))?;
    }
    let targets = rule
        .targets
        .iter()
        .map(|t| {
            eb::Target::builder()
                .id(&t.id)
                .arn(&t.arn)
                .set_role_arn(t.role_arn.clone())
                .retry_policy(
                    eb::RetryPolicy::builder()
                        .maximum_retry_attempts(sdk_int(t.retry_policy.maximum_retry_attempts))
                        .maximum_event_age_in_seconds(sdk_int(
                            t.retry_policy.maximum_event_age_seconds,
                        ))
                        .build(),
                )
                .set_dead_letter_config(
                    t.dead_letter_arn
                        .as_ref()
                        .map(|arn| eb::DeadLetterConfig::builder().arn(arn).build()),
                )
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DeployError::aws("build a target", e))?;
    if !targets.is_empty() {
        let out = client
            .put_targets()
            .rule(&rule.name)
            .event_bus_name(&rule.bus)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("put the target of {}", rule.name), e))?;
        if out.failed_entry_count() > 0 {
            return Err(DeployError::Aws {
                what: format!("put the target of {}", rule.name),
                message: format!("{:?}", out.failed_entries()),
            });
        }
    }
    Ok(())
}

async fn create_trail(aws: &Aws, region: &str, spec: &TrailSpec) -> Result<(), DeployError> {
    let s3 = aws.s3(region).await;
    let exists = s3.head_bucket().bucket(&spec.bucket).send().await.is_ok();
    if exists {
        let tagged = s3
            .get_bucket_tagging()
            .bucket(&spec.bucket)
            .send()
            .await
            .map(|t| {
                t.tag_set()
                    .iter()
                    .any(|t| t.key() == MANAGED_TAG_KEY && t.value() == MANAGED_TAG_VALUE)
            })
            .unwrap_or(false);
        if !tagged {
            return Err(DeployError::NotOurs {
                kind: "bucket",
                name: spec.bucket.clone(),
                region: region.to_owned(),
            });
        }
    } else {
        let mut create = s3.create_bucket().bucket(&spec.bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("create bucket {}", spec.bucket), e))?;
        let tag = aws_sdk_s3::types::Tag::builder()
            .key(MANAGED_TAG_KEY)
            .value(MANAGED_TAG_VALUE)
            .build()
            .map_err(|e| DeployError::aws("build a tag", e))?;
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| DeployError::aws("build a tag set", e))?;
        s3.put_bucket_tagging()
            .bucket(&spec.bucket)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| DeployError::aws(format!("tag bucket {}", spec.bucket), e))?;
    }
    let policy = bucket_policy(&spec.bucket, "aws");
    s3.put_bucket_policy()
        .bucket(&spec.bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("set the policy of bucket {}", spec.bucket), e))?;
    let cloudtrail = aws.cloudtrail(region).await;
    let tag = aws_sdk_cloudtrail::types::Tag::builder()
        .key(MANAGED_TAG_KEY)
        .value(MANAGED_TAG_VALUE)
        .build()
        .map_err(|e| DeployError::aws("build a tag", e))?;
    let trail = cloudtrail
        .create_trail()
        .name(&spec.name)
        .s3_bucket_name(&spec.bucket)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .tags_list(tag)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("create trail {}", spec.name), e))?;
    let arn = trail.trail_arn().unwrap_or(&spec.name).to_owned();
    cloudtrail
        .start_logging()
        .name(&arn)
        .send()
        .await
        .map_err(|e| DeployError::aws(format!("start logging on {arn}"), e))?;
    Ok(())
}

/// The bucket policy CloudTrail needs to write a trail's logs (the CloudTrail user guide's).
pub fn bucket_policy(bucket: &str, partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": format!("arn:{partition}:s3:::{bucket}"),
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": format!("arn:{partition}:s3:::{bucket}/AWSLogs/*"),
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
        ],
    })
}

/// A bounded `RetryPolicy` field as the SDK's `i32` (the bounds, 185 and 86400, fit).
fn sdk_int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
