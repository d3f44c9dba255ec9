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

/// The shortest secret redacted: shorter ones would blank out ordinary words.
const MIN_REDACTED_CHARS: usize = 4;

/// Replaces configured secrets in text that a target sent back or an error carries, in every form a
/// target may echo them: as configured, percent-encoded (as in a URL), form-encoded, and base64
/// (as in a basic `Authorization` header). A URL also counts its path, query, password and long
/// path segments and query values as secrets, since an echo of the request shows those alone.
///
/// ```
/// use trailbell::secret::Redactor;
///
/// let mut redactor = Redactor::default();
/// redactor.add_url("https://hooks.example/services/T0/B0/abcdefghijklmnop1234");
/// redactor.add_basic("alert", "pa ss/word");
/// let echoed = "POST /services/T0/B0/abcdefghijklmnop1234 Authorization: Basic YWxlcnQ6cGEgc3Mvd29yZA==";
/// assert_eq!(redactor.redact(echoed), "POST *** Authorization: Basic ***");
/// assert_eq!(redactor.redact("token=pa%20ss%2Fword"), "token=***");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Every form of every secret, longest first so that a longer form wins over its parts.
    forms: Vec<String>,
}

impl Redactor {
    /// Adds `secret` in all its forms.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_REDACTED_CHARS {
            return;
        }
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let forms = [
            secret.to_owned(),
            percent_encoded(secret),
            encoded,
            STANDARD.encode(secret),
            STANDARD_NO_PAD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ];
        for form in forms {
            if !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Adds a URL and the parts of it that carry secrets.
    pub fn add_url(&mut self, url: &str) {
        self.add(url);
        let Ok(parsed) = url::Url::parse(url) else {
            return;
        };
        if parsed.path().len() > 1 {
            self.add(parsed.path());
        }
        for segment in parsed.path_segments().into_iter().flatten() {
            if segment.len() >= 16 {
                self.add(segment);
            }
        }
        if let Some(query) = parsed.query() {
            self.add(query);
        }
        for (_, value) in parsed.query_pairs() {
            if value.len() >= 8 {
                self.add(&value);
            }
        }
        if let Some(password) = parsed.password() {
            self.add(password);
        }
    }

    /// Adds a basic-authentication password, and `user:password` as the header carries it.
    pub fn add_basic(&mut self, username: &str, password: &str) {
        self.add(password);
        self.add(&format!("{username}:{password}"));
    }

    /// `text` with every form of every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), "***");
            }
        }
        text
    }
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
