//! One client per destination and the one question the outbox asks it: was this message delivered,
//! and if not, is it worth trying again? Each target kind sends in its own module; this one holds
//! the shared vocabulary: [`Outgoing`], [`Delivered`], [`DeliveryError`].

use std::fmt;
use std::time::Duration;

pub use super::TargetClient;
use crate::outbox::MessageAttributes;
use crate::secret::Redactor;

/// The longest response body kept with a failure or a delivery, in bytes.
pub const BODY_EXCERPT_BYTES: usize = 1024;

/// A message on its way out: an outbox row's payload and what the target needs to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The outbox row's id.
    pub id: i64,
    /// The row's idempotency key, sent along so receivers can drop duplicates.
    pub idempotency_key: String,
    /// The rule that raised the alert.
    pub rule_name: String,
    /// The rule's target id.
    pub target_id: String,
    /// The matching event's id.
    pub event_id: String,
    /// What to send, as the renderer made it (usually JSON).
    pub payload: String,
    /// Per-message options (FIFO group, Slack thread, content type).
    pub attributes: MessageAttributes,
    /// Slack `chat.postMessage`: the `ts` of the delivered parent message to reply under.
    pub thread_ts: Option<String>,
}

/// What a target confirmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The target's id for the message: Slack's `ts`, SNS's or SQS's `MessageId`.
    pub remote_id: Option<String>,
    /// Slack `chat.postMessage`: the channel id it was posted in.
    pub channel: Option<String>,
    /// The HTTP status, for HTTP targets.
    pub status: Option<u16>,
    /// The start of the response body, for HTTP targets.
    pub body: Option<String>,
}

/// Whether a failed attempt is worth repeating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttling, a server error, a timeout, a dropped connection: try again later, not before
    /// `retry_after` when the target said so.
    Retryable {
        /// The target's `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The target refused the message itself (bad payload, unknown channel, no permission):
    /// repeating it cannot help, so it goes to dead letters at once.
    Permanent,
}

/// A failed delivery attempt, classified, with the target's answer when there was one. Its text
/// never holds a secret: URLs are stripped from HTTP errors and secrets redacted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DeliveryError {
    /// Retry or give up.
    pub kind: FailureKind,
    /// A short machine-readable code, like EventBridge's `ERROR_CODE`: `HTTP_500`, `TIMEOUT`,
    /// `CONNECTION`, Slack's `channel_not_found`, an AWS error code.
    pub code: String,
    /// One line saying what happened.
    pub message: String,
    /// The HTTP status of the answer, if any.
    pub status: Option<u16>,
    /// The start of the answer's body, if any.
    pub body: Option<String>,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl DeliveryError {
    /// A retryable failure without an answer.
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind: FailureKind::Retryable { retry_after: None },
            code: code.into(),
            message: message.into(),
            status: None,
            body: None,
        }
    }

    /// A permanent failure without an answer.
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind: FailureKind::Permanent,
            ..DeliveryError::retryable(code, message)
        }
    }

    /// The attempt took longer than the destination's timeout.
    pub fn timeout(limit: Duration) -> DeliveryError {
        DeliveryError::retryable(
            "TIMEOUT",
            format!("no answer within {}", humantime::format_duration(limit)),
        )
    }

    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, FailureKind::Retryable { .. })
    }

    /// The text with every secret, in every form, replaced by `***`.
    #[must_use]
    pub fn redacted(mut self, redactor: &Redactor) -> DeliveryError {
        self.message = redactor.redact(&self.message);
        self.body = self.body.map(|body| redactor.redact(&body));
        self
    }
}

/// A problem building a destination's client (an invalid header name, an ARN without a region).
#[derive(Debug, thiserror::Error)]
#[error("destination {destination}: {message}")]
pub struct ClientError {
    /// The destination's name.
    pub destination: String,
    /// What is wrong; never a secret.
    pub message: String,
}

impl Delivered {
    /// The kept answer with every secret, in every form, replaced by `***`.
    #[must_use]
    pub fn redacted(mut self, redactor: &Redactor) -> Delivered {
        self.body = self.body.map(|body| redactor.redact(&body));
        self
    }
}

/// The first [`BODY_EXCERPT_BYTES`] of `body`, cut at a character boundary.
pub fn excerpt(body: &str) -> String {
    if body.len() <= BODY_EXCERPT_BYTES {
        return body.to_owned();
    }
    let mut end = BODY_EXCERPT_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

/// The one-line JSON record that standard output (JSON) and files get: the payload (as JSON when
/// it is JSON, else as a string) with the ids that identify it, and the alert's severity and
/// title, so that a line reads without the rule file.
pub fn json_line(message: &Outgoing) -> String {
    let payload = serde_json::from_str::<serde_json::Value>(&message.payload)
        .unwrap_or_else(|_| serde_json::Value::String(message.payload.clone()));
    let mut line = serde_json::json!({
        "idempotency_key": message.idempotency_key,
        "rule": message.rule_name,
        "target": message.target_id,
        "event_id": message.event_id,
        "payload": payload,
    });
    let attributes = &message.attributes;
    for (key, value) in [
        ("severity", &attributes.severity),
        ("title", &attributes.title),
    ] {
        if let Some(value) = value {
            line[key] = serde_json::Value::String(value.clone());
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_every_secret_occurrence() {
        let text = "POST https://hooks.example/T0/SECRET failed; SECRET again";
        let mut redactor = Redactor::default();
        redactor.add("SECRET");
        redactor.add("");
        let error = DeliveryError::retryable("X", text).redacted(&redactor);
        assert_eq!(
            error.message,
            "POST https://hooks.example/T0/*** failed; *** again"
        );
    }

    #[test]
    fn excerpt_cuts_long_bodies_at_a_character_boundary() {
        let body = "é".repeat(BODY_EXCERPT_BYTES);
        let cut = excerpt(&body);
        assert!(cut.len() <= BODY_EXCERPT_BYTES + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }
}
