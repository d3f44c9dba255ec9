//! A rule's target as every origin builds it: [`TargetSpec::new`] is the one checked
//! constructor, whether the fields come from the configuration file, the API's `PutTargets` or a
//! row of the store (whose JSON is [`TargetFields`]; reading it back checks it again). Like
//! EventBridge's, a target is its own resource linked to a rule by the rule's name; its `Arn`
//! names the destination, resolved when a bus is compiled ([`super::Destinations`]).

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::model::{MAX_TARGET_ID, RetryPolicy, RetryPolicyError, valid_name};
use crate::transform::{InputTransformer, TargetInput, TransformError};

/// The longest `Arn` PutTargets accepts.
pub const MAX_ARN_CHARS: usize = 1600;

/// A target's fields as they arrive, with EventBridge's `Target` names (`DeadLetterConfig.Arn`
/// and `SqsParameters.MessageGroupId` flattened); also what the registry stores, so stores
/// written by earlier versions read as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetFields {
    /// `Id`, unique within the rule.
    pub id: String,
    /// `Arn`: where alerts go (a destination's name or ARN, an SNS topic's or SQS queue's ARN).
    pub arn: String,
    /// `RoleArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// `Input`: constant JSON text sent instead of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `InputPath`: a JSONPath into the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_path: Option<String>,
    /// `InputTransformer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformer>,
    /// `RetryPolicy`; EventBridge's defaults when `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "retry_policy_serde"
    )]
    pub retry_policy: Option<RetryPolicy>,
    /// `DeadLetterConfig.Arn`: an SQS queue ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
    /// `SqsParameters.MessageGroupId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs_message_group_id: Option<String>,
    /// `HttpParameters` (`PathParameterValues`, `HeaderParameters`, `QueryStringParameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_parameters: Option<HttpParameters>,
}

/// EventBridge's `HttpParameters`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpParameters {
    /// `PathParameterValues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_parameter_values: Option<Vec<String>>,
    /// `HeaderParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_parameters: Option<BTreeMap<String, String>>,
    /// `QueryStringParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
}

/// A target EventBridge would accept: a valid `Id` and `Arn`, at most one valid input, a retry
/// policy within bounds and an SQS dead-letter queue. Read its fields through `Deref`; its input
/// is parsed once, here ([`TargetSpec::input`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TargetFields", into = "TargetFields")]
pub struct TargetSpec {
    fields: TargetFields,
    parsed: TargetInput,
}

/// Why a target's fields are refused; [`TargetError::path`] names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// An `Id` outside 1 to 64 of `[.\-_A-Za-z0-9]`.
    #[error("{id:?}: use 1 to {max} letters, digits, '.', '-' or '_'", max = MAX_TARGET_ID)]
    Id {
        /// The id given.
        id: String,
    },
    /// An empty or overlong `Arn`.
    #[error("must have length between 1 and {max}", max = MAX_ARN_CHARS)]
    Arn,
    /// `Input`, `InputPath` or `InputTransformer` refused (or more than one given).
    #[error(transparent)]
    Input(#[from] TransformError),
    /// A `RetryPolicy` field out of bounds.
    #[error(transparent)]
    RetryPolicy(#[from] RetryPolicyError),
    /// A dead-letter queue that is not an SQS queue.
    #[error("must be an SQS queue ARN (arn:aws:sqs:region:account:name)")]
    DeadLetter {
        /// The ARN given.
        arn: String,
    },
}

impl TargetError {
    /// The key path of the field inside the target (`Id`, `RetryPolicy.MaximumRetryAttempts`);
    /// empty for its input, which spans three fields.
    pub fn path(&self) -> String {
        match self {
            TargetError::Id { .. } => "Id".to_owned(),
            TargetError::Arn => "Arn".to_owned(),
            TargetError::Input(_) => String::new(),
            TargetError::RetryPolicy(error) => format!("RetryPolicy.{}", error.field.name()),
            TargetError::DeadLetter { .. } => "DeadLetterConfig.Arn".to_owned(),
        }
    }
}

/// Every problem of one target, for serde (a stored target that no longer passes).
#[derive(Debug, thiserror::Error)]
#[error("target {id}: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TargetErrors {
    /// The target's `Id`.
    pub id: String,
    /// Its problems.
    pub errors: Vec<TargetError>,
}

impl TargetSpec {
    /// The one way to make a target: every problem of `fields` is reported, not only the first.
    ///
    /// ```
    /// use trailbell::targets::{TargetFields, TargetSpec};
    ///
    /// let target = TargetSpec::new(TargetFields {
    ///     id: "t".to_owned(),
    ///     arn: "terminal".to_owned(),
    ///     input_path: Some("$.detail".to_owned()),
    ///     ..TargetFields::default()
    /// })?;
    /// assert_eq!(target.id, "t");
    /// let errors = TargetSpec::new(TargetFields {
    ///     id: "t".to_owned(),
    ///     arn: "terminal".to_owned(),
    ///     input: Some("{".to_owned()),
    ///     dead_letter_arn: Some("queue".to_owned()),
    ///     ..TargetFields::default()
    /// })
    /// .unwrap_err();
    /// assert_eq!(errors.len(), 2);
    /// assert_eq!(errors[1].path(), "DeadLetterConfig.Arn");
    /// # Ok::<(), Vec<trailbell::targets::TargetError>>(())
    /// ```
    pub fn new(fields: TargetFields) -> Result<TargetSpec, Vec<TargetError>> {
        let mut errors = Vec::new();
        if !valid_name(&fields.id) {
            errors.push(TargetError::Id {
                id: fields.id.clone(),
            });
        }
        if fields.arn.is_empty() || fields.arn.chars().count() > MAX_ARN_CHARS {
            errors.push(TargetError::Arn);
        }
        let input = TargetInput::new(
            fields.input.as_deref(),
            fields.input_path.as_deref(),
            fields.input_transformer.as_ref(),
        )
        .map_err(|error| errors.push(error.into()))
        .ok();
        if let Some(policy) = fields.retry_policy
            && let Err(found) = policy.check()
        {
            errors.extend(found.into_iter().map(TargetError::from));
        }
        if let Some(arn) = &fields.dead_letter_arn
            && !arn.starts_with("arn:aws:sqs:")
        {
            errors.push(TargetError::DeadLetter { arn: arn.clone() });
        }
        match input {
            Some(parsed) if errors.is_empty() => Ok(TargetSpec { fields, parsed }),
            _ => Err(errors),
        }
    }

    /// `Input`, `InputPath` or `InputTransformer`, parsed.
    pub fn input(&self) -> &TargetInput {
        &self.parsed
    }

    /// `RetryPolicy`, EventBridge's defaults filled in.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.fields.retry_policy.unwrap_or_default()
    }

    /// The fields, as given.
    pub fn fields(&self) -> &TargetFields {
        &self.fields
    }
}

impl Deref for TargetSpec {
    type Target = TargetFields;

    fn deref(&self) -> &TargetFields {
        &self.fields
    }
}

impl TryFrom<TargetFields> for TargetSpec {
    type Error = TargetErrors;

    fn try_from(fields: TargetFields) -> Result<TargetSpec, TargetErrors> {
        let id = fields.id.clone();
        TargetSpec::new(fields).map_err(|errors| TargetErrors { id, errors })
    }
}

impl From<TargetSpec> for TargetFields {
    fn from(spec: TargetSpec) -> TargetFields {
        spec.fields
    }
}

/// [`RetryPolicy`] as EventBridge spells it: `{"MaximumRetryAttempts": .., "MaximumEventAgeInSeconds": ..}`.
pub mod retry_policy_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::RetryPolicy;

    /// The wire form; a missing field takes EventBridge's default.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct Wire {
        /// `MaximumRetryAttempts`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub maximum_retry_attempts: Option<i64>,
        /// `MaximumEventAgeInSeconds`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub maximum_event_age_in_seconds: Option<i64>,
    }

    impl From<RetryPolicy> for Wire {
        fn from(policy: RetryPolicy) -> Wire {
            Wire {
                maximum_retry_attempts: Some(i64::from(policy.maximum_retry_attempts)),
                maximum_event_age_in_seconds: Some(i64::from(policy.maximum_event_age_seconds)),
            }
        }
    }

    impl Wire {
        /// The policy, defaults filled in and values clamped to `u32`; [`super::TargetSpec::new`]
        /// checks the bounds.
        pub fn policy(self) -> RetryPolicy {
            let default = RetryPolicy::default();
            let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            RetryPolicy {
                maximum_retry_attempts: self
                    .maximum_retry_attempts
                    .map_or(default.maximum_retry_attempts, clamp),
                maximum_event_age_seconds: self
                    .maximum_event_age_in_seconds
                    .map_or(default.maximum_event_age_seconds, clamp),
            }
        }
    }

    /// Serializes `Option<RetryPolicy>`.
    pub fn serialize<S: Serializer>(
        policy: &Option<RetryPolicy>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        policy.map(Wire::from).serialize(serializer)
    }

    /// Deserializes `Option<RetryPolicy>`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<RetryPolicy>, D::Error> {
        Ok(Option::<Wire>::deserialize(deserializer)?.map(Wire::policy))
    }
}
