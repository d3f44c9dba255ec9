//! What a kind's configuration reader gets from the configuration file's: its own keys, read with
//! serde; where to report a problem; how to resolve a secret reference (`env:NAME`, `file:PATH`).
//! Each kind reads its keys in its own folder (`slack/config.rs`, ...); the keys every
//! destination has (`type`, `optional`, `rate_limit_per_second`, `timeout`, `max_in_flight`) are
//! the configuration file's.

use serde::de::DeserializeOwned;

use crate::secret::Secret;

/// See the module documentation.
pub trait SettingsReader {
    /// The kind's keys as `T`; `None` after reporting the problem under its key path.
    fn keys<T: DeserializeOwned>(&mut self) -> Option<T>;

    /// Reports a problem at `key`, a key of the destination (`webhook_url`, `api_key.value`), or
    /// at the destination itself when `key` is empty.
    fn problem(&mut self, key: &str, message: String);

    /// The secret `reference` at `key` resolves to; `None` when it does not (reported, or the
    /// destination is optional and left out).
    fn secret(&mut self, key: &str, reference: &str) -> Option<Secret>;

    /// `value`, or a `missing` problem at `key`.
    fn required(&mut self, key: &str, value: Option<String>) -> Option<String> {
        if value.is_none() {
            self.problem(key, "missing".to_owned());
        }
        value
    }
}
