//! Noise control: what stands between "a rule matched" and "a person is told".
//!
//! - **Exceptions** ([`Exception`]): event patterns that silence a rule's alert when they match the
//!   event too, for automation roles and known networks.
//! - **Threshold** ([`Threshold`]): the rule fires only when `count` matches with the same key fall
//!   within `within`, as a CloudWatch alarm on a metric filter would (five failed sign-ins from one
//!   IP address in five minutes).
//! - **Dedup** ([`Dedup`]): the first alert for a rule and key is delivered; repeats within the
//!   window are counted and delivered once, as a count, when the window closes — or, for Slack
//!   targets with a bot token, as replies in the first alert's thread.
//!
//! The settings live in rule files and the configuration ([`NoiseSettings`]); the state (open dedup
//! windows, recent threshold matches) lives in the store, written in the same transaction as the
//! alerts it lets through ([`state`]), so a restart neither repeats nor forgets.

pub mod key;
#[cfg(feature = "service")]
pub mod state;

use std::time::Duration;

pub use key::{KeyError, KeyTemplate};
#[cfg(feature = "service")]
pub use state::{DedupSummary, Verdict};

/// A rule's noise control; the default is none: every match is an alert.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoiseSettings {
    /// Patterns that silence the alert when they match the event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
    /// Fire only when enough matches come together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Fold repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<Dedup>,
}

impl NoiseSettings {
    /// Whether every match is an alert (no exceptions, threshold or dedup).
    pub fn is_none(&self) -> bool {
        self.exceptions.is_empty() && self.threshold.is_none() && self.dedup.is_none()
    }
}

/// An exception: when its pattern matches the event as well as the rule's, no alert.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exception {
    /// Why it exists ("terraform's deploy role").
    pub name: String,
    /// An EventBridge event pattern over the whole event.
    pub event_pattern: String,
}

/// Fire when `count` matches with the same key fall within `within`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Threshold {
    /// How many matches, at least 2.
    pub count: u32,
    /// The window, e.g. `"5m"`.
    #[serde(with = "humantime_serde_compat")]
    pub within: Duration,
    /// What the matches must share; `None` for the principal (see [`KeyTemplate::principal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyTemplate>,
}

/// Deliver the first alert for a key, fold repeats within `window`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dedup {
    /// The window, e.g. `"10m"`.
    #[serde(with = "humantime_serde_compat")]
    pub window: Duration,
    /// What makes two alerts the same; `None` for the principal and the event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyTemplate>,
}

/// Durations written as people write them (`"90s"`, `"5m"`, `"1h"`), for serde.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration such as \"90s\", \"5m\" or \"1h\""
            ))
        })
    }
}
