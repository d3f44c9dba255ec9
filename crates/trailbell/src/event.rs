//! The door every event passes before trailbell accepts it: one reading that decides both whether
//! the engine can match it and what its alerts say.
//!
//! The engine matches an event's bytes with its validating reading; alerts are rendered from a
//! `serde_json::Value` of the same bytes. The two readers disagree at the edges: serde_json refuses
//! numbers beyond `f64` (`1e400`) and nesting past 127 levels, the engine refuses a lone surrogate
//! escape (`\ud800`) and nesting past its own limit. An event only one of them accepts would
//! match and then have no content to alert with, so [`read`] asks both and accepts an event only
//! when both do: what it refuses is refused at the door (a PutEvents entry error, a named problem
//! of a source's file, a scan's problem), and what it accepts is fully processed (decision 0016).

use std::sync::{Arc, LazyLock};

use serde_json::Value;
use trailbell_pattern::{Matcher, MatcherBuilder};

/// A matcher with no rules: its validating reading still reads (and checks) every byte.
static VALIDATOR: LazyLock<Matcher> = LazyLock::new(|| MatcherBuilder::new().build());

/// Why an event cannot be taken in: a reason and the byte offset it applies to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct Unreadable {
    offset: usize,
    reason: String,
}

impl Unreadable {
    /// The byte offset, in the text that was read, of what could not be read.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What could not be read, without its location.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Reads an event (an EventBridge envelope, a JSON object) as both the engine and the alert
/// renderers will: its value when both can, the first refusal otherwise.
///
/// ```
/// let value = trailbell::event::read(br#"{"detail": {"n": 1e10}}"#)?;
/// assert_eq!(value["detail"]["n"], 1e10);
/// let err = trailbell::event::read(br#"{"detail": {"n": 1e400}}"#).unwrap_err();
/// assert_eq!(err.to_string(), "number out of range at byte 21");
/// assert!(trailbell::event::read(br#"{"s": "\ud800"}"#).is_err());
/// assert!(trailbell::event::read(b"[1]").is_err());
/// # Ok::<(), trailbell::event::Unreadable>(())
/// ```
pub fn read(event: &[u8]) -> Result<Value, Unreadable> {
    VALIDATOR.matches(event).map_err(|err| Unreadable {
        offset: err.offset(),
        reason: err.reason().to_owned(),
    })?;
    let value: Value = serde_json::from_slice(event).map_err(|err| serde_error(event, &err))?;
    if !value.is_object() {
        return Err(Unreadable {
            offset: 0,
            reason: "an event must be a JSON object".to_owned(),
        });
    }
    Ok(value)
}

/// serde_json's error, its line and column turned into a byte offset.
fn serde_error(text: &[u8], err: &serde_json::Error) -> Unreadable {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    let line_start = text
        .iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'\n')
        .nth(err.line().saturating_sub(2))
        .map_or(0, |(index, _)| index + 1);
    let line_start = if err.line() <= 1 { 0 } else { line_start };
    // serde_json's column is 1-based and points at the last byte it read.
    let offset = (line_start + err.column().saturating_sub(1)).min(text.len());
    Unreadable { offset, reason }
}

/// One event on its way onto a bus, as EventBridge would deliver it to a target. Made only by
/// [`BusEvent::read`], so that every event on a bus passed the door ([`read`]) and
/// carries the one reading its alerts are made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusEvent {
    /// The envelope's `id`.
    pub id: String,
    /// The whole envelope as JSON text: `version`, `id`, `detail-type`, `source`, `account`,
    /// `time`, `region`, `resources`, `detail` (and `replay-name` for replayed events).
    pub envelope: String,
    /// When trailbell accepted it, RFC 3339 UTC with milliseconds.
    pub ingestion_time: String,
    /// The envelope, read once at the door.
    value: Arc<Value>,
}

impl BusEvent {
    /// The event with id `id` and envelope `envelope`, when [`crate::event::read`] accepts it.
    pub fn read(id: String, envelope: String, ingestion_time: String) -> Result<Self, Unreadable> {
        let value = read(envelope.as_bytes())?;
        Ok(BusEvent {
            id,
            envelope,
            ingestion_time,
            value: Arc::new(value),
        })
    }

    /// An event a source's file reader already passed through the door: `value` is what
    /// [`read`] made of `envelope` ([`crate::cloudtrail::file_events`] is the only caller), so
    /// it is not read again.
    #[cfg(feature = "service")]
    pub(crate) fn read_at_the_door(
        id: String,
        envelope: String,
        ingestion_time: String,
        value: Arc<Value>,
    ) -> Self {
        BusEvent {
            id,
            envelope,
            ingestion_time,
            value,
        }
    }

    /// The envelope as read at the door: what matching saw, and what alerts are made from.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::read;

    fn nested(depth: usize) -> String {
        format!(
            r#"{{"detail": {}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    }

    #[test]
    fn both_readers_must_accept() {
        assert!(read(br#"{"a": [1, 2.5, "x", null, true, {"b": {}}]}"#).is_ok());
        // serde_json alone refuses these.
        assert_eq!(
            read(br#"{"n": -1e400}"#).unwrap_err().reason(),
            "number out of range"
        );
        assert!(read(nested(126).as_bytes()).is_ok());
        assert_eq!(
            read(nested(127).as_bytes()).unwrap_err().reason(),
            "recursion limit exceeded"
        );
        // The engine alone refuses these.
        let surrogate = read(br#"{"s": "x\ud800"}"#).unwrap_err();
        assert!(surrogate.reason().contains("surrogate"), "{surrogate}");
        assert!(read(nested(600).as_bytes()).is_err());
        assert!(read(b"{\"a\": 1} x").is_err());
    }

    #[test]
    fn offsets_count_bytes_across_lines() {
        let err = read(b"{\n  \"a\": 1,\n  \"n\": 1e400\n}").unwrap_err();
        assert_eq!(err.reason(), "number out of range");
        assert_eq!(err.offset(), 23, "{err}");
    }
}
