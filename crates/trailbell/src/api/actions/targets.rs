//! `PutTargets`, `RemoveTargets`, `ListTargetsByRule`, `ListRuleNamesByTarget`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{AwsError, after_token, blocking, bus_name, check_name, next_token, page_limit};
use crate::api::server::ApiState;
use crate::model::{Bound, MAX_RULE_NAME, MAX_TARGET_ID, ONLY_ONE_INPUT, RetryField, RetryPolicy};
use crate::targets::{
    HttpParameters, MAX_ARN_CHARS, TargetError, TargetFields, TargetSpec, retry_policy_serde,
};
use crate::transform::{InputTransformer, TransformError};

/// At most this many targets per `PutTargets` or ids per `RemoveTargets` request.
const MAX_TARGETS_PER_REQUEST: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutTargetsRequest {
    #[serde(default)]
    rule: String,
    event_bus_name: Option<String>,
    #[serde(default)]
    targets: Vec<Target>,
}

/// EventBridge's `Target`, as it arrives.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Target {
    #[serde(default)]
    id: String,
    #[serde(default)]
    arn: String,
    role_arn: Option<String>,
    input: Option<String>,
    input_path: Option<String>,
    input_transformer: Option<InputTransformer>,
    retry_policy: Option<retry_policy_serde::Wire>,
    dead_letter_config: Option<Arn>,
    sqs_parameters: Option<SqsParameters>,
    http_parameters: Option<HttpParameters>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Arn {
    arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SqsParameters {
    message_group_id: Option<String>,
}

pub(super) async fn put_targets(
    state: &ApiState,
    request: PutTargetsRequest,
) -> Result<Value, AwsError> {
    check_name(&request.rule, "rule", MAX_RULE_NAME)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    if request.targets.is_empty() || request.targets.len() > MAX_TARGETS_PER_REQUEST {
        return Err(AwsError::constraint(
            "[Target]",
            "targets",
            "Member must have length between 1 and 10",
        ));
    }
    let mut accepted = Vec::new();
    let mut failed = Vec::new();
    for (index, target) in request.targets.into_iter().enumerate() {
        check_fields(&target, index + 1)?;
        // As EventBridge refuses an ARN that names no resource: an alert for it could only be
        // dropped (decision 0017).
        if let Some(destinations) = &state.destinations
            && destinations.resolve(&target.arn).is_none()
        {
            return Err(AwsError::validation(format!(
                "Parameter {} is not valid. Reason: it names neither a configured destination nor an SNS topic or SQS queue.",
                target.arn
            )));
        }
        let id = target.id.clone();
        match stored_target(target) {
            Ok(stored) => accepted.push(stored),
            Err(message) => failed.push(json!({
                "TargetId": id,
                "ErrorCode": "ValidationException",
                "ErrorMessage": message,
            })),
        }
    }
    if !accepted.is_empty() {
        let rule = request.rule.clone();
        blocking(&state.registry, move |registry| {
            registry.put_targets(&bus, &rule, &accepted)
        })
        .await?;
    } else {
        // Nothing to store, but the rule must still exist.
        let rule = request.rule.clone();
        blocking(&state.registry, move |registry| {
            registry.list_targets(&bus, &rule).map(|_| ())
        })
        .await?;
    }
    Ok(json!({"FailedEntryCount": failed.len(), "FailedEntries": failed}))
}

/// The constraints AWS checks on the whole request (`targets.N.member.field`).
fn check_fields(target: &Target, position: usize) -> Result<(), AwsError> {
    let at = |field: &str| format!("targets.{position}.member.{field}");
    check_name(&target.id, &at("id"), MAX_TARGET_ID)?;
    if target.arn.is_empty() || target.arn.chars().count() > MAX_ARN_CHARS {
        return Err(AwsError::constraint(
            &target.arn,
            &at("arn"),
            &format!("Member must have length between 1 and {MAX_ARN_CHARS}"),
        ));
    }
    if let Some(policy) = target.retry_policy
        && let Err(errors) = RetryPolicy::new(
            policy.maximum_retry_attempts,
            policy.maximum_event_age_in_seconds,
        )
        && let Some(error) = errors.first()
    {
        // AWS names the first field out of bounds, in its own words and camelCase path.
        let bound = match error.bound {
            Bound::Below(min) => format!("greater than or equal to {min}"),
            Bound::Above(max) => format!("less than or equal to {max}"),
        };
        let field = match error.field {
            RetryField::MaximumRetryAttempts => "retryPolicy.maximumRetryAttempts",
            RetryField::MaximumEventAgeInSeconds => "retryPolicy.maximumEventAgeInSeconds",
        };
        return Err(AwsError::constraint(
            &error.value.to_string(),
            &at(field),
            &format!("Member must have value {bound}"),
        ));
    }
    Ok(())
}

/// The target as stored, or why this entry fails (the first problem, in EventBridge's words).
fn stored_target(target: Target) -> Result<TargetSpec, String> {
    let id = target.id.clone();
    TargetSpec::new(TargetFields {
        id: target.id,
        arn: target.arn,
        role_arn: target.role_arn,
        input: target.input,
        input_path: target.input_path,
        input_transformer: target.input_transformer,
        retry_policy: target.retry_policy.map(retry_policy_serde::Wire::policy),
        dead_letter_arn: target.dead_letter_config.and_then(|config| config.arn),
        sqs_message_group_id: target.sqs_parameters.and_then(|sqs| sqs.message_group_id),
        http_parameters: target.http_parameters,
    })
    .map_err(|errors| match errors.first() {
        Some(TargetError::Input(TransformError::MoreThanOne)) => {
            format!("{ONLY_ONE_INPUT} for target {id}.")
        }
        Some(TargetError::Input(TransformError::InputNotJson)) => format!(
            "Parameter Input is not valid for target {id}. Reason: Input is not a valid JSON text."
        ),
        Some(TargetError::Input(TransformError::EmptyTemplate)) => format!(
            "Parameter InputTemplate is not valid for target {id}. Reason: InputTemplate must not be empty."
        ),
        Some(TargetError::DeadLetter { arn }) => format!(
            "Parameter DeadLetterConfig.Arn is not valid for target {id}. Reason: {arn:?} is not an SQS queue ARN."
        ),
        Some(error) => format!("{error} (target {id})."),
        None => format!("Target {id} is not valid."),
    })
}

/// A stored target in EventBridge's `Target` shape.
fn target_json(target: &TargetSpec) -> Value {
    json!({
        "Id": target.id,
        "Arn": target.arn,
        "RoleArn": target.role_arn,
        "Input": target.input,
        "InputPath": target.input_path,
        "InputTransformer": target.input_transformer,
        "RetryPolicy": target.retry_policy.map(retry_policy_serde::Wire::from),
        "DeadLetterConfig": target.dead_letter_arn.as_ref().map(|arn| json!({"Arn": arn})),
        "SqsParameters": target.sqs_message_group_id.as_ref().map(|id| json!({"MessageGroupId": id})),
        "HttpParameters": target.http_parameters,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RemoveTargetsRequest {
    #[serde(default)]
    rule: String,
    event_bus_name: Option<String>,
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    force: bool,
}

pub(super) async fn remove_targets(
    state: &ApiState,
    request: RemoveTargetsRequest,
) -> Result<Value, AwsError> {
    check_name(&request.rule, "rule", MAX_RULE_NAME)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    if request.ids.is_empty() || request.ids.len() > 100 {
        return Err(AwsError::constraint(
            "[String]",
            "ids",
            "Member must have length between 1 and 100",
        ));
    }
    blocking(&state.registry, move |registry| {
        registry.remove_targets(&bus, &request.rule, &request.ids, request.force)
    })
    .await?;
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListTargetsRequest {
    #[serde(default)]
    rule: String,
    event_bus_name: Option<String>,
    limit: Option<i64>,
}

/// All targets at once: a rule has at most five, so there is never a `NextToken`.
pub(super) async fn list_targets_by_rule(
    state: &ApiState,
    request: ListTargetsRequest,
) -> Result<Value, AwsError> {
    check_name(&request.rule, "rule", MAX_RULE_NAME)?;
    page_limit(request.limit)?;
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    let targets = blocking(&state.registry, move |registry| {
        registry.list_targets(&bus, &request.rule)
    })
    .await?;
    Ok(json!({"Targets": targets.iter().map(target_json).collect::<Vec<_>>()}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RuleNamesByTargetRequest {
    #[serde(default)]
    target_arn: String,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn list_rule_names_by_target(
    state: &ApiState,
    request: RuleNamesByTargetRequest,
) -> Result<Value, AwsError> {
    if request.target_arn.is_empty() {
        return Err(AwsError::constraint(
            "",
            "targetArn",
            "Member must have length greater than or equal to 1",
        ));
    }
    let bus = bus_name(state, request.event_bus_name.as_deref())?;
    let limit = page_limit(request.limit)?;
    let after = after_token(request.next_token.as_deref())?;
    let names = blocking(&state.registry, move |registry| {
        registry.rule_names_by_target(&bus, &request.target_arn)
    })
    .await?;
    let rest: Vec<String> = names
        .into_iter()
        .filter(|name| after.as_ref().is_none_or(|after| name > after))
        .collect();
    let page: Vec<String> = rest.iter().take(limit).cloned().collect();
    let token = if rest.len() > limit {
        next_token(page.last().map(String::as_str))
    } else {
        None
    };
    Ok(json!({"RuleNames": page, "NextToken": token}))
}
