//! `CreateArchive`, `DescribeArchive`, `ListArchives`, `DeleteArchive`, `StartReplay`,
//! `DescribeReplay`, `ListReplays`, `CancelReplay`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::rules::validate_pattern;
use super::{AwsError, blocking, check_name, epoch_seconds, timestamp};
use crate::api::replay;
use crate::api::server::ApiState;
use crate::registry::{ArchiveFilter, ArchiveInfo, ReplayInfo, ReplayState};

/// The longest archive name.
const MAX_ARCHIVE_NAME: usize = 48;
/// The longest replay name.
const MAX_REPLAY_NAME: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateArchiveRequest {
    #[serde(default)]
    archive_name: String,
    #[serde(default)]
    event_source_arn: String,
    description: Option<String>,
    event_pattern: Option<String>,
    retention_days: Option<i64>,
}

pub(super) async fn create_archive(
    state: &ApiState,
    request: CreateArchiveRequest,
) -> Result<Value, AwsError> {
    check_name(&request.archive_name, "archiveName", MAX_ARCHIVE_NAME)?;
    let bus = bus_from_arn(state, &request.event_source_arn, "EventSourceArn")?;
    if let Some(pattern) = &request.event_pattern {
        validate_pattern(pattern)?;
    }
    let retention_days = request.retention_days.unwrap_or(0);
    if retention_days < 0 {
        return Err(AwsError::constraint(
            &retention_days.to_string(),
            "retentionDays",
            "Member must have value greater than or equal to 0",
        ));
    }
    let archive = blocking(&state.registry, move |registry| {
        registry.create_archive(
            &request.archive_name,
            &bus,
            request.description.as_deref(),
            request.event_pattern.as_deref(),
            retention_days,
        )
    })
    .await?;
    Ok(json!({
        "ArchiveArn": archive.arn,
        "State": "ENABLED",
        "CreationTime": epoch_seconds(archive.created_ms),
    }))
}

/// The bus an `arn:aws:events:...:event-bus/NAME` parameter names.
fn bus_from_arn(state: &ApiState, arn: &str, parameter: &str) -> Result<String, AwsError> {
    if !arn.starts_with("arn:") {
        return Err(AwsError::validation(format!(
            "Parameter {parameter} is not valid. Reason: Must contain an event bus ARN."
        )));
    }
    state.registry.bus_name_from(arn).ok_or_else(|| {
        AwsError::client(
            "ResourceNotFoundException",
            format!("Event bus {arn} does not exist."),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ArchiveRequest {
    #[serde(default)]
    archive_name: String,
}

pub(super) async fn describe_archive(
    state: &ApiState,
    request: ArchiveRequest,
) -> Result<Value, AwsError> {
    check_name(&request.archive_name, "archiveName", MAX_ARCHIVE_NAME)?;
    let archive = blocking(&state.registry, move |registry| {
        registry.describe_archive(&request.archive_name)
    })
    .await?;
    let mut answer = archive_json(&archive);
    answer["ArchiveArn"] = json!(archive.arn);
    answer["Description"] = json!(archive.description);
    answer["EventPattern"] = json!(archive.event_pattern);
    Ok(answer)
}

fn archive_json(archive: &ArchiveInfo) -> Value {
    json!({
        "ArchiveName": archive.name,
        "EventSourceArn": archive.event_source_arn,
        "State": "ENABLED",
        "RetentionDays": archive.retention_days,
        "SizeBytes": archive.size_bytes,
        "EventCount": archive.event_count,
        "CreationTime": epoch_seconds(archive.created_ms),
    })
}

/// ListArchives' and ListReplays' request: at most one of the three filters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListFilteredRequest {
    name_prefix: Option<String>,
    event_source_arn: Option<String>,
    state: Option<String>,
}

impl ListFilteredRequest {
    /// AWS's error when more than one filter is given to `action`.
    fn at_most_one_filter(&self, action: &str) -> Result<(), AwsError> {
        let filters = [
            self.name_prefix.is_some(),
            self.event_source_arn.is_some(),
            self.state.is_some(),
        ];
        if filters.into_iter().filter(|given| *given).count() > 1 {
            return Err(AwsError::validation(format!(
                "At most one filter is allowed for {action}. Use either : State, EventSourceArn, or NamePrefix."
            )));
        }
        Ok(())
    }
}

pub(super) async fn list_archives(
    state: &ApiState,
    request: ListFilteredRequest,
) -> Result<Value, AwsError> {
    request.at_most_one_filter("ListArchives")?;
    let event_bus_name = request
        .event_source_arn
        .as_deref()
        .map(|arn| bus_from_arn(state, arn, "EventSourceArn"))
        .transpose()?;
    let archives = match request.state.as_deref() {
        // Archives are always ENABLED here.
        Some("ENABLED") | None => {
            let filter = ArchiveFilter {
                name_prefix: request.name_prefix,
                event_bus_name,
            };
            blocking(&state.registry, move |registry| {
                registry.list_archives(&filter)
            })
            .await?
        }
        Some("DISABLED" | "CREATING" | "UPDATING" | "CREATE_FAILED" | "UPDATE_FAILED") => {
            Vec::new()
        }
        Some(other) => {
            return Err(AwsError::constraint(
                other,
                "state",
                "Member must satisfy enum value set: [ENABLED, DISABLED, CREATING, UPDATING, CREATE_FAILED, UPDATE_FAILED]",
            ));
        }
    };
    Ok(json!({"Archives": archives.iter().map(archive_json).collect::<Vec<_>>()}))
}

pub(super) async fn delete_archive(
    state: &ApiState,
    request: ArchiveRequest,
) -> Result<Value, AwsError> {
    check_name(&request.archive_name, "archiveName", MAX_ARCHIVE_NAME)?;
    blocking(&state.registry, move |registry| {
        registry.delete_archive(&request.archive_name)
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct StartReplayRequest {
    #[serde(default)]
    replay_name: String,
    description: Option<String>,
    #[serde(default)]
    event_source_arn: String,
    event_start_time: Option<Value>,
    event_end_time: Option<Value>,
    destination: Option<Destination>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Destination {
    #[serde(default)]
    arn: String,
    #[serde(default)]
    filter_arns: Vec<String>,
}

pub(super) async fn start_replay(
    state: &ApiState,
    request: StartReplayRequest,
) -> Result<Value, AwsError> {
    check_name(&request.replay_name, "replayName", MAX_REPLAY_NAME)?;
    let time = |value: &Option<Value>, name: &str| {
        value.as_ref().and_then(timestamp).ok_or_else(|| {
            AwsError::validation(format!(
                "Parameter {name} is not valid. Reason: {name} is a required timestamp."
            ))
        })
    };
    let start = time(&request.event_start_time, "EventStartTime")?;
    let end = time(&request.event_end_time, "EventEndTime")?;
    if start >= end {
        return Err(AwsError::validation(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
        ));
    }
    let destination = request
        .destination
        .ok_or_else(|| AwsError::validation("Parameter Destination is required."))?;
    if !destination.filter_arns.is_empty() {
        return Err(AwsError::validation(
            "Parameter Destination.FilterArns is not valid. Reason: trailbell replays to every rule of the bus; FilterArns are not supported.",
        ));
    }
    let destination_bus = bus_from_arn(state, &destination.arn, "Destination.Arn")?;
    let archive = state
        .registry
        .resource_name(&request.event_source_arn, "archive/")
        .filter(|_| request.event_source_arn.starts_with("arn:"))
        .ok_or_else(|| {
            AwsError::validation(
                "Parameter EventSourceArn is not valid. Reason: Must contain an archive ARN.",
            )
        })?;
    let replay = {
        let (name, description) = (request.replay_name.clone(), request.description.clone());
        let archive = archive.clone();
        blocking(&state.registry, move |registry| {
            let info = registry.describe_archive(&archive).map_err(|_| {
                crate::registry::RegistryError::Validation(format!(
                    "Parameter EventSourceArn is not valid. Reason: Archive {archive} does not exist."
                ))
            })?;
            if info.event_bus_name != destination_bus {
                return Err(crate::registry::RegistryError::Validation(
                    "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.".to_owned(),
                ));
            }
            registry.create_replay(
                &name,
                &archive,
                description.as_deref(),
                start.as_millisecond(),
                end.as_millisecond(),
            )
        })
        .await?
    };
    replay::spawn(state, &replay);
    Ok(json!({
        "ReplayArn": replay.arn,
        "State": replay.state.as_str(),
        "ReplayStartTime": epoch_seconds(replay.replay_start_ms),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReplayRequest {
    #[serde(default)]
    replay_name: String,
}

pub(super) async fn describe_replay(
    state: &ApiState,
    request: ReplayRequest,
) -> Result<Value, AwsError> {
    check_name(&request.replay_name, "replayName", MAX_REPLAY_NAME)?;
    let replay = blocking(&state.registry, move |registry| {
        registry.describe_replay(&request.replay_name)
    })
    .await?;
    let mut answer = replay_json(&replay);
    answer["ReplayArn"] = json!(replay.arn);
    answer["Description"] = json!(replay.description);
    answer["Destination"] = json!({"Arn": replay.destination_arn});
    Ok(answer)
}

fn replay_json(replay: &ReplayInfo) -> Value {
    json!({
        "ReplayName": replay.name,
        "EventSourceArn": replay.event_source_arn,
        "State": replay.state.as_str(),
        "StateReason": replay.state_reason,
        "EventStartTime": epoch_seconds(replay.event_start_ms),
        "EventEndTime": epoch_seconds(replay.event_end_ms),
        "EventLastReplayedTime": replay.last_replayed_ms.map(epoch_seconds),
        "ReplayStartTime": epoch_seconds(replay.replay_start_ms),
        "ReplayEndTime": replay.replay_end_ms.map(epoch_seconds),
    })
}

pub(super) async fn list_replays(
    state: &ApiState,
    request: ListFilteredRequest,
) -> Result<Value, AwsError> {
    request.at_most_one_filter("ListReplays")?;
    let replay_state = request
        .state
        .as_deref()
        .map(|text| {
            ReplayState::parse(text).ok_or_else(|| {
                AwsError::constraint(
                    text,
                    "state",
                    "Member must satisfy enum value set: [CANCELLED, CANCELLING, COMPLETED, FAILED, RUNNING, STARTING]",
                )
            })
        })
        .transpose()?;
    let archive = request.event_source_arn.as_deref().map(|arn| {
        state
            .registry
            .resource_name(arn, "archive/")
            .unwrap_or_default()
    });
    let replays = blocking(&state.registry, move |registry| {
        registry.list_replays(
            request.name_prefix.as_deref(),
            archive.as_deref(),
            replay_state,
        )
    })
    .await?;
    Ok(json!({"Replays": replays.iter().map(replay_json).collect::<Vec<_>>()}))
}

pub(super) async fn cancel_replay(
    state: &ApiState,
    request: ReplayRequest,
) -> Result<Value, AwsError> {
    check_name(&request.replay_name, "replayName", MAX_REPLAY_NAME)?;
    let replay = blocking(&state.registry, move |registry| {
        registry.cancel_replay(&request.replay_name)
    })
    .await?;
    Ok(json!({"ReplayArn": replay.arn, "State": replay.state.as_str()}))
}
