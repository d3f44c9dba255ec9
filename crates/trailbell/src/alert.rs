//! What a target is told about a match besides the event: the rule that fired and how often.

use crate::rules::Severity;

/// The rule behind an alert, and what noise control made of it; every target's renderer (Slack
/// cards, Chatbot notifications, input transformers) reads this with the event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AlertContext {
    /// The rule's name (`<aws.events.rule-name>`).
    pub rule_name: String,
    /// The rule's ARN (`<aws.events.rule-arn>`):
    /// `arn:aws:events:<region>:<account>:rule/[<bus>/]<name>`.
    pub rule_arn: String,
    /// One line saying what happened; the rule's name when it has no title.
    pub title: String,
    /// How urgent.
    pub severity: Severity,
    /// Why it matters and how to respond; may be empty.
    pub description: String,
    /// When trailbell accepted the event (`<aws.events.event.ingestion-time>`), RFC 3339 UTC.
    pub ingestion_time: String,
    /// How many events this alert stands for; `None` for one event.
    pub occurrences: Option<Occurrences>,
}

/// An alert that stands for several events: repeats folded by dedup, or a threshold reached.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Occurrences {
    /// How many matching events.
    pub count: u64,
    /// Within how many seconds.
    pub window_seconds: u64,
    /// What they had in common (the dedup or threshold key), as rendered from the event.
    pub key: String,
    /// Why: `Repeated` (dedup's summary of repeats) or `Threshold` (N within T reached).
    pub kind: OccurrenceKind,
}

/// See [`Occurrences::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OccurrenceKind {
    /// Dedup folded later repeats of an alert already sent into this count.
    Repeated,
    /// A threshold rule fired: `count` matches within `window_seconds`.
    Threshold,
}
