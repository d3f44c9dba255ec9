//! What the HTTP targets (webhooks, Slack) share: the client, `Retry-After`, and which answers are
//! worth retrying: 429, 408 and 5xx are; other 4xx (and 3xx: redirects are not followed) are not.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::client::{DeliveryError, FailureKind, excerpt};

/// The longest `Retry-After` honoured; a longer one is cut to this (the event's age limit still
/// applies).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// An HTTP client for one destination: its timeout, no redirects (a redirect would resend the
/// payload to a place nobody configured).
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("trailbell/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot build an HTTP client: {}", err.without_url()))
}

/// The most of an answer's body read: enough for Slack's JSON (which echoes the message) and for
/// the excerpt the outbox keeps; the rest is never read, and the connection is dropped.
pub const ANSWER_READ_BYTES: usize = 64 * 1024;

/// An answer: status, headers, the start of the body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body's first [`ANSWER_READ_BYTES`] as text (lossy).
    pub body: String,
}

/// Sends `request` and reads at most [`ANSWER_READ_BYTES`] of the answer, so that a huge or endless
/// answer costs neither memory nor time; failures to connect, timeouts and broken answers are
/// retryable [`DeliveryError`]s without the URL.
pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, DeliveryError> {
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut bytes = Vec::new();
    while bytes.len() < ANSWER_READ_BYTES {
        match response.chunk().await.map_err(transport_error)? {
            Some(chunk) => {
                let room = ANSWER_READ_BYTES - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    // Dropping the response closes its connection instead of reading the rest.
    drop(response);
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A reqwest error as a retryable failure, its URL removed and its causes kept.
pub fn transport_error(err: reqwest::Error) -> DeliveryError {
    let err = err.without_url();
    let code = if err.is_timeout() {
        "TIMEOUT"
    } else if err.is_connect() {
        "CONNECTION"
    } else {
        "TRANSPORT"
    };
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DeliveryError::retryable(code, message)
}

/// Classifies a non-success answer by its status: 429, 408 and 5xx retry (429 after its
/// `Retry-After`), anything else is permanent. `code` overrides the default `HTTP_<status>`.
pub fn failure(answer: &Answer, code: Option<&str>) -> DeliveryError {
    let status = answer.status;
    let retryable = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error();
    let kind = if retryable {
        FailureKind::Retryable {
            retry_after: retry_after(&answer.headers, SystemTime::now()),
        }
    } else {
        FailureKind::Permanent
    };
    let code = code.map_or_else(|| format!("HTTP_{}", status.as_u16()), str::to_owned);
    let body = excerpt(&answer.body);
    let reason = status.canonical_reason().unwrap_or("unknown status");
    DeliveryError {
        kind,
        code,
        message: format!("answered {} {reason}", status.as_u16()),
        status: Some(status.as_u16()),
        body: Some(body),
    }
}

/// The `Retry-After` header as a delay from `now`: delta-seconds or an HTTP date; a date in the
/// past is no delay; capped at [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// See [`retry_after`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
        let now = jiff::Timestamp::try_from(now).ok()?;
        let millis = date.as_millisecond() - now.as_millisecond();
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37 UTC
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
    }
}
