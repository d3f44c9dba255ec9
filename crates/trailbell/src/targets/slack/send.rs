//! Sending a rendered Slack message (its full JSON: `text`, `blocks`, `attachments`).
//!
//! - Incoming webhook: POST the JSON; 200 is delivered; 429 waits for `Retry-After`; 5xx retry;
//!   other answers (400 `invalid_payload`, 403 `action_prohibited`, 404 `no_service` or
//!   `channel_not_found`, 410 `channel_is_archived`) are permanent, their body kept as the code.
//! - Bot token: `chat.postMessage` with `channel` (and `thread_ts` for a reply); the answer's JSON
//!   `ok` decides; `ratelimited` (HTTP 429) and Slack's transient errors retry, every other `error`
//!   (`channel_not_found`, `no_text`, `invalid_blocks`, `invalid_auth`, ...) is permanent. The
//!   answer's `ts` and `channel` are kept so replies can thread under the message.

use std::time::{Duration, SystemTime};

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::secret::{Redactor, Secret};
use crate::targets::SlackDestination;
use crate::targets::client::{Delivered, DeliveryError, FailureKind, Outgoing, excerpt};
use crate::targets::http;

/// Slack Web API errors that are worth retrying; every other `error` is permanent.
const TRANSIENT_API_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// A Slack destination, ready to send.
#[derive(Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    mode: Mode,
    /// The URL or token, in the forms an answer may echo.
    redactor: Redactor,
}

#[derive(Debug)]
enum Mode {
    Webhook {
        url: Secret,
    },
    Api {
        token: Secret,
        channel: String,
        post_message_url: String,
    },
}

impl SlackClient {
    /// Builds the HTTP client for `config`.
    pub fn new(config: &SlackDestination, timeout: Duration) -> Result<SlackClient, String> {
        let mode = match config {
            SlackDestination::Webhook { url } => {
                url::Url::parse(url.expose())
                    .map_err(|_| "the Slack webhook URL is not a valid URL".to_owned())?;
                Mode::Webhook { url: url.clone() }
            }
            SlackDestination::Api {
                token,
                channel,
                api_base_url,
            } => {
                let post_message_url =
                    format!("{}/chat.postMessage", api_base_url.trim_end_matches('/'));
                url::Url::parse(&post_message_url)
                    .map_err(|_| format!("invalid Slack API base URL {api_base_url:?}"))?;
                Mode::Api {
                    token: token.clone(),
                    channel: channel.clone(),
                    post_message_url,
                }
            }
        };
        let mut redactor = Redactor::default();
        match &mode {
            Mode::Webhook { url } => redactor.add_url(url.expose()),
            Mode::Api { token, .. } => redactor.add(token.expose()),
        }
        Ok(SlackClient {
            http: http::client(timeout)?,
            mode,
            redactor,
        })
    }

    /// Whether this client can reply in threads (only the Web API can).
    pub fn supports_threads(&self) -> bool {
        matches!(self.mode, Mode::Api { .. })
    }

    /// Sends the message once.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let result = match &self.mode {
            Mode::Webhook { url } => self.deliver_webhook(url, message).await,
            Mode::Api {
                token,
                channel,
                post_message_url,
            } => {
                self.deliver_api(token, channel, post_message_url, message)
                    .await
            }
        };
        result
            .map(|delivered| delivered.redacted(&self.redactor))
            .map_err(|err| err.redacted(&self.redactor))
    }

    async fn deliver_webhook(
        &self,
        url: &Secret,
        message: &Outgoing,
    ) -> Result<Delivered, DeliveryError> {
        let request = self
            .http
            .post(url.expose())
            .header(CONTENT_TYPE, "application/json")
            .body(message.payload.clone());
        let answer = http::send(request).await?;
        if answer.status.is_success() {
            return Ok(Delivered {
                status: Some(answer.status.as_u16()),
                body: Some(excerpt(&answer.body)),
                ..Delivered::default()
            });
        }
        // Slack answers errors with a bare code: `invalid_payload`, `no_service`, ...
        let code = slack_code(&answer.body);
        Err(http::failure(&answer, code.as_deref()))
    }

    async fn deliver_api(
        &self,
        token: &Secret,
        channel: &str,
        url: &str,
        message: &Outgoing,
    ) -> Result<Delivered, DeliveryError> {
        let mut body = match serde_json::from_str::<Value>(&message.payload) {
            Ok(Value::Object(body)) => body,
            _ => {
                return Err(DeliveryError::permanent(
                    "invalid_payload",
                    "the Slack message is not a JSON object",
                ));
            }
        };
        body.insert("channel".to_owned(), Value::String(channel.to_owned()));
        if let Some(ts) = &message.thread_ts {
            body.insert("thread_ts".to_owned(), Value::String(ts.clone()));
        }
        let request = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Value::Object(body).to_string());
        let answer = http::send(request).await?;
        if !answer.status.is_success() {
            let code = serde_json::from_str::<Value>(&answer.body)
                .ok()
                .and_then(|json| json.get("error").and_then(Value::as_str).map(str::to_owned));
            return Err(http::failure(&answer, code.as_deref()));
        }
        let json: Value = serde_json::from_str(&answer.body).map_err(|_| DeliveryError {
            status: Some(answer.status.as_u16()),
            body: Some(excerpt(&answer.body)),
            ..DeliveryError::retryable("invalid_response", "Slack's answer is not JSON")
        })?;
        if json.get("ok").and_then(Value::as_bool) == Some(true) {
            let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
            return Ok(Delivered {
                remote_id: text("ts"),
                channel: text("channel"),
                status: Some(answer.status.as_u16()),
                body: None,
            });
        }
        let error = json
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_owned();
        let kind = if TRANSIENT_API_ERRORS.contains(&error.as_str()) {
            FailureKind::Retryable {
                retry_after: http::retry_after(&answer.headers, SystemTime::now()),
            }
        } else {
            FailureKind::Permanent
        };
        Err(DeliveryError {
            kind,
            message: format!("chat.postMessage answered ok=false, error {error}"),
            code: error,
            status: Some(answer.status.as_u16()),
            body: Some(excerpt(&answer.body)),
        })
    }
}

/// A bare Slack error code in a webhook's answer (`invalid_payload`), if that is what it is.
fn slack_code(body: &str) -> Option<String> {
    let code = body.trim();
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'_' || byte.is_ascii_digit());
    plausible.then(|| code.to_owned())
}
