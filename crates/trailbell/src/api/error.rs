//! Errors in AWS JSON 1.1's shape: a status, `{"__type": ..., "message": ...}` and the
//! `x-amzn-ErrorType` header.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::registry::RegistryError;

/// An error answer of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `__type`: `ValidationException`, `ResourceNotFoundException`, ...
    pub kind: &'static str,
    /// `message`.
    pub message: String,
}

impl AwsError {
    /// A 400 error of `kind`.
    pub fn client(kind: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: StatusCode::BAD_REQUEST,
            kind,
            message: message.into(),
        }
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> AwsError {
        AwsError::client("ValidationException", message)
    }

    /// A 500 `InternalException`; the detail goes to the log, not to the caller.
    pub fn internal(detail: &dyn std::fmt::Display) -> AwsError {
        tracing::error!(error = %detail, "API request failed inside trailbell.");
        AwsError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "InternalException",
            message: "An internal error occurred.".to_owned(),
        }
    }

    /// A 403 authentication error of `kind`.
    pub fn forbidden(kind: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: StatusCode::FORBIDDEN,
            kind,
            message: message.into(),
        }
    }

    /// AWS's generic validation message for a field constraint, e.g.
    /// `1 validation error detected: Value 'x y' at 'name' failed to satisfy constraint: ...`.
    pub fn constraint(value: &str, at: &str, constraint: &str) -> AwsError {
        AwsError::validation(format!(
            "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}"
        ))
    }
}

impl From<RegistryError> for AwsError {
    fn from(err: RegistryError) -> AwsError {
        let kind = match &err {
            RegistryError::NotFound(_) => "ResourceNotFoundException",
            RegistryError::AlreadyExists(_) => "ResourceAlreadyExistsException",
            RegistryError::Validation(_) => "ValidationException",
            RegistryError::ManagedRule(_) => "ManagedRuleException",
            RegistryError::LimitExceeded(_) => "LimitExceededException",
            RegistryError::IllegalStatus(_) => "IllegalStatusException",
            RegistryError::Open(_)
            | RegistryError::Store(_)
            | RegistryError::Corrupt(_)
            | RegistryError::Metadata(_) => {
                return AwsError::internal(&err);
            }
        };
        AwsError::client(kind, err.to_string())
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"__type": self.kind, "message": self.message}).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        response
    }
}
