//! What the registry holds: rules and their targets (the model's [`RuleSpec`] and
//! [`TargetSpec`]), buses, archives and replays.

pub use crate::model::RuleState;
use crate::model::RuleSpec;
use crate::targets::TargetSpec;

/// A rule as the registry holds it: the rule, checked when it was put and again when it is read
/// back, with what the registry adds (its ARN, who manages it) and its targets.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRule {
    /// `Name`, `EventBusName`, `EventPattern`, `State`, `Description` and trailbell's extras.
    pub spec: RuleSpec,
    /// `Arn`; computed by the registry (what callers put here is ignored on writes).
    pub arn: String,
    /// `ManagedBy`: set for rules that come from config files; such rules cannot be changed
    /// through the API.
    pub managed_by: Option<String>,
    /// The rule's targets, in the order they were first put.
    pub targets: Vec<TargetSpec>,
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
