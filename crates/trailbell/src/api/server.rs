//! The HTTP server: one route, `POST /`; the body read under a limit, the signature verified, the
//! action dispatched by `X-Amz-Target`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::error::AwsError;
use super::sigv4::{self, AuthError, SignedRequest};
use crate::registry::Registry;
use crate::secret::Secret;
use crate::service::Submission;
use crate::service::metrics::Metrics;

/// Who may call the API.
#[derive(Clone, Debug)]
pub enum ApiAuth {
    /// SigV4 with one of these access key ids and secret keys.
    Keys(Vec<(String, Secret)>),
    /// No authentication: allowed only on a loopback listen address.
    Disabled,
}

/// Limits of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// The largest request body read; larger ones get 413.
    pub max_body_bytes: usize,
    /// Connections and their timeouts.
    pub http: super::HttpLimits,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 1024 * 1024,
            http: super::HttpLimits::default(),
        }
    }
}

/// What the API serves from.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// Buses, rules, targets, archives, replays.
    pub registry: Registry,
    /// Where accepted events go; PutEvents answers once each submission is answered.
    pub submissions: mpsc::Sender<Submission>,
    /// Authentication.
    pub auth: ApiAuth,
    /// The account id in envelopes (normally the registry's).
    pub account: String,
    /// The region in envelopes (normally the registry's).
    pub region: String,
    /// Request limits.
    pub limits: ApiLimits,
    /// The service's counters (PutEvents counts the entries it refuses as unreadable).
    pub metrics: Arc<Metrics>,
    /// Where targets can point: PutTargets refuses an `Arn` that names none of them. `None`
    /// (the API without a service) takes any `Arn`.
    pub destinations: Option<crate::service::bus::Destinations>,
}

impl ApiState {
    /// A state with the registry's account and region and the default limits.
    pub fn new(registry: Registry, submissions: mpsc::Sender<Submission>, auth: ApiAuth) -> Self {
        ApiState {
            account: registry.account().to_owned(),
            region: registry.region().to_owned(),
            registry,
            submissions,
            auth,
            limits: ApiLimits::default(),
            metrics: Arc::default(),
            destinations: None,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `ApiAuth::Disabled` on an address others can reach.
    #[error(
        "refusing to serve the API without authentication on {0}: configure access keys or listen on a loopback address"
    )]
    AuthDisabledOffLoopback(SocketAddr),
    /// The listener failed.
    #[error("the API server failed: {0}")]
    Io(#[from] std::io::Error),
    /// Replays of a previous run could not be marked failed.
    #[error("cannot prepare the registry: {0}")]
    Registry(#[from] crate::registry::RegistryError),
}

/// Serves the API on `listener` until `shutdown` completes. Refuses to start with
/// [`ApiAuth::Disabled`] unless the listener's address is loopback. Replays left running by a
/// previous process are marked `FAILED` first.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// [`serve`], with `extra` routes (the service's `/health` and `/metrics`) beside the API's
/// `POST /`.
pub async fn serve_with(
    listener: TcpListener,
    state: ApiState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let address = listener.local_addr()?;
    if matches!(state.auth, ApiAuth::Disabled) && !address.ip().is_loopback() {
        return Err(ServeError::AuthDisabledOffLoopback(address));
    }
    let registry = state.registry.clone();
    let interrupted = tokio::task::spawn_blocking(move || registry.fail_interrupted_replays())
        .await
        .map_err(|err| std::io::Error::other(err.to_string()))??;
    if interrupted > 0 {
        tracing::warn!(
            replays = interrupted,
            "Replays interrupted by a restart marked failed."
        );
    }
    tracing::info!(%address, auth = matches!(state.auth, ApiAuth::Keys(_)), "EventBridge API listening.");
    let http = state.limits.http;
    let router = Router::new()
        .fallback(handle)
        .with_state(state)
        .merge(extra);
    super::connections::serve(listener, router, http, shutdown).await;
    Ok(())
}

async fn handle(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let action = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let result = answer(&state, &method, &uri, &headers, body, &action).await;
    let request_id = super::actions::new_uuid();
    let mut response = match result {
        Ok(value) => {
            let mut response = (StatusCode::OK, value.to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            response
        }
        Err(err) => {
            tracing::info!(action = %action, error = err.kind, status = err.status.as_u16(), "API request refused.");
            err.into_response()
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

async fn answer(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    target: &str,
) -> Result<serde_json::Value, AwsError> {
    let limit = state.limits.max_body_bytes;
    let body: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| AwsError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "RequestEntityTooLargeException",
            message: format!("Request must be smaller than {limit} bytes."),
        })?;
    if let ApiAuth::Keys(keys) = &state.auth {
        let request = SignedRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            headers,
            body: &body,
        };
        match sigv4::verify(keys, &state.region, &request, jiff::Timestamp::now()) {
            Ok(key_id) => tracing::debug!(access_key_id = key_id, "Request signature verified."),
            Err(err) => return Err(auth_error(&err)),
        }
    }
    if method != Method::POST || uri.path() != "/" {
        return Err(AwsError::client(
            "UnknownOperationException",
            format!("{method} {} is not an operation of this API.", uri.path()),
        ));
    }
    let action = target.strip_prefix("AWSEvents.").ok_or_else(|| {
        AwsError::client(
            "UnknownOperationException",
            format!("Unknown operation {target:?}; expected X-Amz-Target: AWSEvents.<Action>."),
        )
    })?;
    let result = super::actions::dispatch(state, action, &body).await;
    if result.is_ok() {
        tracing::info!(action, "API request answered.");
    }
    result
}

fn auth_error(err: &AuthError) -> AwsError {
    match err {
        AuthError::Missing => AwsError::forbidden(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        AuthError::UnknownKey => AwsError::forbidden(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        // AWS's own messages, capitalised as AWS writes them.
        AuthError::Expired { .. } | AuthError::NotYetCurrent { .. } => {
            AwsError::forbidden("InvalidSignatureException", capitalised(&err.to_string()))
        }
        AuthError::WrongRegion | AuthError::WrongService(_) => AwsError::forbidden(
            "InvalidSignatureException",
            format!("{}.", capitalised(&err.to_string())),
        ),
        AuthError::Mismatch => AwsError::forbidden(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        AuthError::Malformed(why) => AwsError::forbidden(
            "IncompleteSignatureException",
            format!("The request signature is malformed: {why}."),
        ),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
