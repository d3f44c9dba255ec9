//! The durable outbox: every alert is a row in the store before anything is acknowledged upstream,
//! and leaves only once its target confirmed it (at-least-once), or as a dead letter.
//!
//! - Writing: [`enqueue`] inside the caller's transaction (so alerts commit with the caller's other
//!   state), or [`Outbox::enqueue`]. Rows are unique on their [`idempotency_key`].
//! - Delivering: [`Deliverer`], one worker task per destination; see [`worker`].
//! - Retrying: EventBridge's `RetryPolicy` per row, exponential backoff with full jitter, the
//!   target's `Retry-After`; see [`retry`]. Rate limits per destination: [`rate`].
//! - Looking and repairing: [`Outbox::status`], [`Outbox::list`], [`Outbox::retry`],
//!   [`Outbox::purge`] (`trailbell outbox ...`).
//!
//! A row's states: `pending` (waiting for its next attempt), `in_flight` (claimed by a worker),
//! `delivered`, `dead`. docs/decisions/0006-outbox-and-delivery.md gives the reasoning.

pub(crate) mod dlq;
pub mod rate;
pub mod retry;
pub(crate) mod step;
pub(crate) mod store;
pub mod worker;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use store::{
    DestinationStatus, ListFilter, MessageState, MessageSummary, Outbox, PurgeSelection,
    RetrySelection, enqueue,
};
pub use worker::{Deliverer, DelivererConfig, DeliveryOutcome, OutcomeKind};

use crate::targets::RetryPolicy;

/// An alert for one target, on its way into the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The [`crate::targets::Destination`]'s name.
    pub destination: String,
    /// The rule that matched (its name or ARN; a dead-letter message carries it as `RULE_ARN`).
    pub rule_name: String,
    /// The rule's target id.
    pub target_id: String,
    /// The matching event's id.
    pub event_id: String,
    /// Unique per alert and target, see [`idempotency_key`]; a second row with the same key is
    /// ignored.
    pub idempotency_key: String,
    /// What to send, rendered for the destination.
    pub payload: String,
    /// Per-message options.
    pub attributes: MessageAttributes,
    /// How long and how often to retry.
    #[serde(with = "retry_policy_serde")]
    pub retry_policy: RetryPolicy,
    /// An SQS queue URL that gets the message if it ends as a dead letter.
    pub dead_letter_queue_url: Option<String>,
    /// When the event was accepted (Unix milliseconds); the event's age counts from here.
    pub accepted_at_ms: i64,
}

/// Per-message delivery options, kept with the row as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageAttributes {
    /// FIFO SQS queues and SNS topics: the message group (else the destination's).
    pub message_group_id: Option<String>,
    /// Slack `chat.postMessage`: reply in the thread of the message whose idempotency key this
    /// is, once that one is delivered (the reply waits for it).
    pub thread_parent_key: Option<String>,
    /// Webhooks: the `Content-Type` (default `application/json`).
    pub content_type: Option<String>,
    /// Why this alert cannot be sent to its target (its `InputPath` selects nothing in the event):
    /// the row carries the event and becomes a dead letter at its first turn, sent to the target's
    /// dead-letter queue if it has one, as EventBridge does with an invocation it cannot make
    /// (decision 0017).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undeliverable: Option<String>,
    /// The alert's severity (`low` .. `critical`), for JSON lines a person reads without the
    /// rule file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// The alert's title, for the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A problem with the outbox's store or its input.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] crate::store::StoreError),
    /// A query failed.
    #[error("outbox store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A message's retry policy is outside EventBridge's ranges.
    #[error(
        "message {key}: invalid retry policy: maximum retry attempts must be 0 to 185 and \
         maximum event age 60 to 86400 seconds"
    )]
    InvalidRetryPolicy {
        /// The message's idempotency key.
        key: String,
    },
    /// A background task failed.
    #[error("outbox task failed: {0}")]
    Task(String),
}

/// The idempotency key of the alert for `event_id` raised by `rule_arn` for `target_id`: the first
/// 32 hex digits (128 bits) of SHA-256 over a version tag and the three values, each prefixed
/// with its length so no two different triples collide by concatenation. Stable across versions
/// and processes; a replayed or redelivered event gets the same key.
///
/// ```
/// let key = trailbell::outbox::idempotency_key("e1", "arn:aws:events:us-east-1:1:rule/r", "t");
/// assert_eq!(key.len(), 32);
/// assert_ne!(key, trailbell::outbox::idempotency_key("e1", "arn:aws:events:us-east-1:1:rule/r", "u"));
/// ```
pub fn idempotency_key(event_id: &str, rule_arn: &str, target_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"trailbell-alert-v1");
    for part in [event_id, rule_arn, target_id] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    hex::encode(&digest[..16])
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// [`RetryPolicy`] as `{"maximum_retry_attempts": .., "maximum_event_age_seconds": ..}` (the type
/// itself is shared and carries no serde derive).
mod retry_policy_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::targets::RetryPolicy;

    #[derive(Serialize, Deserialize)]
    struct Policy {
        maximum_retry_attempts: u32,
        maximum_event_age_seconds: u32,
    }

    pub fn serialize<S: Serializer>(
        policy: &RetryPolicy,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Policy {
            maximum_retry_attempts: policy.maximum_retry_attempts,
            maximum_event_age_seconds: policy.maximum_event_age_seconds,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RetryPolicy, D::Error> {
        let policy = Policy::deserialize(deserializer)?;
        Ok(RetryPolicy {
            maximum_retry_attempts: policy.maximum_retry_attempts,
            maximum_event_age_seconds: policy.maximum_event_age_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_stable_and_unambiguous() {
        let key = idempotency_key("event", "rule", "target");
        assert_eq!(key, idempotency_key("event", "rule", "target"));
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        // Moving a character between fields changes the key.
        assert_ne!(key, idempotency_key("even", "trule", "target"));
        assert_ne!(key, idempotency_key("event", "rulet", "arget"));
    }
}
