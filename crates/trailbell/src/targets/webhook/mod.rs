//! Webhooks: an HTTP POST of the payload, as EventBridge API destinations send it: the configured
//! headers and authorization, `Content-Type: application/json` and an `Idempotency-Key` so the
//! receiver can drop the duplicates that at-least-once delivery allows. Any 2xx is delivered.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::client::{Delivered, DeliveryError, Outgoing, excerpt};
use super::http;
use super::{WebhookAuth, WebhookDestination};
use crate::secret::{Redactor, Secret};

/// The header carrying the outbox row's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// A webhook destination, ready to send.
#[derive(Debug)]
pub struct WebhookClient {
    http: reqwest::Client,
    endpoint: Secret,
    headers: Vec<(HeaderName, Secret)>,
    auth: Option<WebhookAuth>,
    /// Every configured secret, in the forms an answer may echo.
    redactor: Redactor,
}

impl WebhookClient {
    /// Checks the header names and builds the HTTP client.
    pub fn new(config: &WebhookDestination, timeout: Duration) -> Result<WebhookClient, String> {
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            HeaderValue::from_str(value.expose())
                .map_err(|_| format!("the value of header {name} is not a valid header value"))?;
            headers.push((name, value.clone()));
        }
        if let Some(WebhookAuth::ApiKey { header, .. }) = &config.auth {
            HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| format!("invalid API key header name {header:?}"))?;
        }
        url::Url::parse(config.endpoint.expose())
            .map_err(|_| "the webhook endpoint is not a valid URL".to_owned())?;
        let mut redactor = Redactor::default();
        redactor.add_url(config.endpoint.expose());
        for (_, value) in &config.headers {
            redactor.add(value.expose());
        }
        match &config.auth {
            Some(WebhookAuth::ApiKey { value, .. }) => redactor.add(value.expose()),
            Some(WebhookAuth::Basic { username, password }) => {
                redactor.add_basic(username, password.expose());
            }
            None => {}
        }
        Ok(WebhookClient {
            redactor,
            http: http::client(timeout)?,
            endpoint: config.endpoint.clone(),
            headers,
            auth: config.auth.clone(),
        })
    }

    /// POSTs the payload once.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let content_type = message
            .attributes
            .content_type
            .as_deref()
            .unwrap_or("application/json");
        let mut request = self
            .http
            .post(self.endpoint.expose())
            .header(CONTENT_TYPE, content_type)
            .header(IDEMPOTENCY_KEY_HEADER, &message.idempotency_key);
        for (name, value) in &self.headers {
            request = request.header(name, value.expose());
        }
        match &self.auth {
            Some(WebhookAuth::ApiKey { header, value }) => {
                request = request.header(header.as_str(), value.expose());
            }
            Some(WebhookAuth::Basic { username, password }) => {
                request = request.basic_auth(username, Some(password.expose()));
            }
            None => {}
        }
        let request = request.body(message.payload.clone());
        let result = http::send(request).await.and_then(|answer| {
            if answer.status.is_success() {
                Ok(Delivered {
                    status: Some(answer.status.as_u16()),
                    body: Some(excerpt(&answer.body)),
                    ..Delivered::default()
                })
            } else {
                Err(http::failure(&answer, None))
            }
        });
        // An answer may echo the request (its path, its headers): what is kept is redacted.
        result
            .map(|delivered| delivered.redacted(&self.redactor))
            .map_err(|err| err.redacted(&self.redactor))
    }
}
