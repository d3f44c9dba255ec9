//! What the registry holds: rules and their targets (with EventBridge's field names in serde),
//! buses, archives and replays.

use serde::{Deserialize, Serialize};

use crate::targets::RetryPolicy;

/// A rule's `State`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleState {
    /// Matched against events.
    #[default]
    Enabled,
    /// Kept but not matched.
    Disabled,
    /// Matched, including CloudTrail management events (as `Enabled` here: trailbell receives
    /// whatever events its sources give it).
    EnabledWithAllCloudtrailManagementEvents,
}

impl RuleState {
    /// EventBridge's spelling (`ENABLED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
            RuleState::EnabledWithAllCloudtrailManagementEvents => {
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
            }
        }
    }

    /// Reads EventBridge's spelling.
    pub fn parse(text: &str) -> Option<RuleState> {
        match text {
            "ENABLED" => Some(RuleState::Enabled),
            "DISABLED" => Some(RuleState::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Some(RuleState::EnabledWithAllCloudtrailManagementEvents)
            }
            _ => None,
        }
    }

    /// Whether events are matched against the rule.
    pub fn is_enabled(self) -> bool {
        self != RuleState::Disabled
    }
}

/// A rule with its targets, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredRule {
    /// `Name`, unique on its bus.
    pub name: String,
    /// `EventBusName`.
    pub event_bus_name: String,
    /// `Arn`; computed by the registry (what callers put here is ignored on writes).
    pub arn: String,
    /// `EventPattern`, the JSON text as given.
    pub event_pattern: Option<String>,
    /// `State`.
    pub state: RuleState,
    /// `Description`.
    pub description: Option<String>,
    /// `ManagedBy`: set for rules that come from config files; such rules cannot be changed
    /// through the API.
    pub managed_by: Option<String>,
    /// The rule's targets, in the order they were first put.
    pub targets: Vec<StoredTarget>,
    /// Opaque JSON of the config loader (title, severity, noise settings); `Null` for API rules.
    #[serde(default)]
    pub extras: serde_json::Value,
}

/// A rule's target, with EventBridge's `Target` field names (`DeadLetterConfig.Arn` and
/// `SqsParameters.MessageGroupId` flattened).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredTarget {
    /// `Id`, unique within the rule.
    pub id: String,
    /// `Arn`: where alerts go (a destination's ARN or name).
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
    /// `RetryPolicy`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "retry_policy_serde"
    )]
    pub retry_policy: Option<RetryPolicy>,
    /// `DeadLetterConfig.Arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
    /// `SqsParameters.MessageGroupId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs_message_group_id: Option<String>,
    /// `HttpParameters` (`PathParameterValues`, `HeaderParameters`, `QueryStringParameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_parameters: Option<HttpParameters>,
}

/// EventBridge's `InputTransformer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    /// `InputPathsMap`: variable name to JSONPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_paths_map: Option<std::collections::BTreeMap<String, String>>,
    /// `InputTemplate`.
    pub input_template: String,
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
    pub header_parameters: Option<std::collections::BTreeMap<String, String>>,
    /// `QueryStringParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<std::collections::BTreeMap<String, String>>,
}

/// [`RetryPolicy`] as EventBridge spells it: `{"MaximumRetryAttempts": .., "MaximumEventAgeInSeconds": ..}`.
pub mod retry_policy_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::targets::RetryPolicy;

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
        /// The policy, defaults filled in and values clamped to `u32` (the API checks ranges).
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

/// An event bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusInfo {
    /// `Name`.
    pub name: String,
    /// `Arn`.
    pub arn: String,
    /// `Description`.
    pub description: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// An archive of a bus's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// `ArchiveName`.
    pub name: String,
    /// `ArchiveArn`.
    pub arn: String,
    /// The archived bus's name.
    pub event_bus_name: String,
    /// `EventSourceArn`, the bus's ARN.
    pub event_source_arn: String,
    /// `Description`.
    pub description: Option<String>,
    /// `EventPattern`: only matching events are archived; all when `None`.
    pub event_pattern: Option<String>,
    /// `RetentionDays`; 0 keeps events forever.
    pub retention_days: i64,
    /// `EventCount`.
    pub event_count: i64,
    /// `SizeBytes`: the envelopes' bytes.
    pub size_bytes: i64,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// A replay's `State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayState {
    /// Accepted, not yet running.
    Starting,
    /// Re-submitting events.
    Running,
    /// Asked to stop.
    Cancelling,
    /// Every event in the range re-submitted.
    Completed,
    /// Stopped on request.
    Cancelled,
    /// Stopped by an error (see the state reason).
    Failed,
}

impl ReplayState {
    /// EventBridge's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Starting => "STARTING",
            ReplayState::Running => "RUNNING",
            ReplayState::Cancelling => "CANCELLING",
            ReplayState::Completed => "COMPLETED",
            ReplayState::Cancelled => "CANCELLED",
            ReplayState::Failed => "FAILED",
        }
    }

    /// Reads EventBridge's spelling.
    pub fn parse(text: &str) -> Option<ReplayState> {
        [
            ReplayState::Starting,
            ReplayState::Running,
            ReplayState::Cancelling,
            ReplayState::Completed,
            ReplayState::Cancelled,
            ReplayState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A replay of an archive's events onto its bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayInfo {
    /// `ReplayName`.
    pub name: String,
    /// `ReplayArn`.
    pub arn: String,
    /// The archive replayed.
    pub archive_name: String,
    /// `EventSourceArn`: the archive's ARN.
    pub event_source_arn: String,
    /// `Destination.Arn`: the bus's ARN.
    pub destination_arn: String,
    /// The destination bus's name.
    pub destination_bus: String,
    /// `Description`.
    pub description: Option<String>,
    /// `State`.
    pub state: ReplayState,
    /// `StateReason`.
    pub state_reason: Option<String>,
    /// `EventStartTime`, Unix milliseconds (inclusive).
    pub event_start_ms: i64,
    /// `EventEndTime`, Unix milliseconds (exclusive).
    pub event_end_ms: i64,
    /// `EventLastReplayedTime`, Unix milliseconds.
    pub last_replayed_ms: Option<i64>,
    /// `ReplayStartTime`, Unix milliseconds.
    pub replay_start_ms: i64,
    /// `ReplayEndTime`, Unix milliseconds.
    pub replay_end_ms: Option<i64>,
}
