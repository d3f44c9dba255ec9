//! Secrets (webhook URLs, tokens, API keys) that must never reach a log, an error or a listing.

use std::fmt;

/// A secret string: its `Debug` and `Display` print `***`, so it cannot leak through a log line,
/// an error message or `outbox list` by accident. [`Secret::expose`] is the one way to read it,
/// used only where the secret is sent to its endpoint.
///
/// ```
/// use trailbell::secret::Secret;
///
/// let url = Secret::new("https://hooks.slack.com/services/T0/B0/XXXX");
/// assert_eq!(format!("{url} {url:?}"), "*** Secret(***)");
/// assert!(url.expose().ends_with("XXXX"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself: only for sending it to where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
