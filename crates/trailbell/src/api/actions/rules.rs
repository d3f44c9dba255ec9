//! `PutRule`, `DescribeRule`, `ListRules`, `DeleteRule`, `EnableRule`, `DisableRule`.

use serde::Deserialize;
use serde_json::{Value, json};
use trailbell_pattern::Pattern;

use super::{AwsError, after_token, blocking, bus_name, check_name, next_token, page_limit};
use crate::api::server::ApiState;
use crate::model::{MAX_RULE_NAME, RuleError, RuleExtras, RuleField, RuleFields, RuleSpec};
use crate::registry::{RuleState, StoredRule};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutRuleRequest {
    #[serde(default)]
    name: String,
    schedule_expression: Option<String>,
    event_pattern: Option<String>,
    state: Option<String>,
    description: Option<String>,
    event_bus_name: Option<String>,
}

pub(super) async fn put_rule(state: &ApiState, request: PutRuleRequest) -> Result<Value, AwsError> {
    check_name(&request.name, "name", MAX_RULE_NAME)?;
    if request.schedule_expression.is_some() {
        return Err(AwsError::validation(
            "Parameter ScheduleExpression is not valid. Reason: trailbell does not run scheduled rules; only event patterns are supported.",
        ));
    }
    if request.event_pattern.is_none() {
        return Err(AwsError::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    let fields = RuleFields {
        event_bus_name: bus_name(state, request.event_bus_name.as_deref())?,
        name: request.name,
        event_pattern: request.event_pattern,
        state: request.state,
        description: request.description,
        extras: RuleExtras::default(),
    };
    let rule = RuleSpec::new(fields.clone()).map_err(|errors| aws_error(&fields, &errors))?;
    let arn = blocking(&state.registry, move |registry| registry.put_rule(&rule)).await?;
    Ok(json!({"RuleArn": arn}))
}

/// The first problem, in EventBridge's words: the pattern's, then the state's, then the
/// description's (the name was checked with the request's other constraints).
fn aws_error(fields: &RuleFields, errors: &[RuleError]) -> AwsError {
    let first = |field: RuleField| errors.iter().find(|error| error.field() == field);
    if let Some(error) = first(RuleField::EventPattern) {
        return AwsError::client("InvalidEventPatternException", error.to_string());
    }
    if first(RuleField::State).is_some() {
        return AwsError::constraint(
            fields.state.as_deref().unwrap_or_default(),
            "state",
            "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
        );
    }
    if let Some(error) = first(RuleField::Description) {
        return AwsError::constraint(
            fields.description.as_deref().unwrap_or_default(),
            "description",
            &error.to_string(),
        );
    }
    AwsError::validation(
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// `InvalidEventPatternException` with the engine's message unless `pattern` is valid.
pub(super) fn validate_pattern(pattern: &str) -> Result<(), AwsError> {
    Pattern::parse(pattern)
        .map(|_| ())
        .map_err(|err| AwsError::client("InvalidEventPatternException", err.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RuleRequest {
    #[serde(default)]
    name: String,
    event_bus_name: Option<String>,
    #[serde(default)]
    force: bool,
}

pub(super) async fn describe_rule(
    state: &ApiState,
    request: RuleRequest,
) -> Result<Value, AwsError> {
    check_name(&request.name, "name", MAX_RULE_NAME)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    let account = state.account.clone();
    let rule = blocking(&state.registry, move |registry| {
        registry.describe_rule(&bus, &request.name)
    })
    .await?;
    let mut answer = rule_json(&rule);
    answer["CreatedBy"] = json!(account);
    Ok(answer)
}

fn rule_json(rule: &StoredRule) -> Value {
    json!({
        "Name": rule.spec.name(),
        "Arn": rule.arn,
        "EventPattern": rule.spec.event_pattern(),
        "State": rule.spec.state().as_str(),
        "Description": rule.spec.description(),
        "ManagedBy": rule.managed_by,
        "EventBusName": rule.spec.event_bus_name(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListRulesRequest {
    name_prefix: Option<String>,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn list_rules(
    state: &ApiState,
    request: ListRulesRequest,
) -> Result<Value, AwsError> {
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    let limit = page_limit(request.limit)?;
    let after = after_token(request.next_token.as_deref())?;
    let (rules, more) = blocking(&state.registry, move |registry| {
        registry.list_rules(
            &bus,
            request.name_prefix.as_deref(),
            after.as_deref(),
            limit,
        )
    })
    .await?;
    let token = if more {
        next_token(rules.last().map(|rule| rule.spec.name()))
    } else {
        None
    };
    Ok(json!({
        "Rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
        "NextToken": token,
    }))
}

pub(super) async fn delete_rule(state: &ApiState, request: RuleRequest) -> Result<Value, AwsError> {
    check_name(&request.name, "name", MAX_RULE_NAME)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    blocking(&state.registry, move |registry| {
        registry.delete_rule(&bus, &request.name, request.force)
    })
    .await?;
    Ok(json!({}))
}

pub(super) async fn set_state(
    state: &ApiState,
    request: RuleRequest,
    enabled: bool,
) -> Result<Value, AwsError> {
    check_name(&request.name, "name", MAX_RULE_NAME)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    let rule_state = if enabled {
        RuleState::Enabled
    } else {
        RuleState::Disabled
    };
    blocking(&state.registry, move |registry| {
        registry.set_rule_state(&bus, &request.name, rule_state)
    })
    .await?;
    Ok(json!({}))
}
