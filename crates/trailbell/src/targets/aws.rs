//! What the AWS targets (SNS, SQS, the outbox's SQS dead-letter queues) share: an SDK
//! configuration without the SDK's own retries (the outbox retries, and counts the attempts), and
//! which SDK errors are worth retrying.

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use super::client::{DeliveryError, FailureKind, excerpt};

/// The SDK configuration for one destination: credentials and region the usual way (the region
/// from the resource when it names one), `endpoint_url` when given (tests: moto), one attempt per
/// call, `timeout` for the whole call.
pub async fn sdk_config(
    region: Option<String>,
    endpoint_url: Option<&str>,
    timeout: Duration,
) -> SdkConfig {
    let region = RegionProviderChain::first_try(region.map(Region::new))
        .or_default_provider()
        .or_else(Region::from_static("us-east-1"));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
    if let Some(endpoint_url) = endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    loader.load().await
}

/// The region in an ARN (`arn:aws:sns:<region>:...`).
pub fn region_from_arn(arn: &str) -> Option<String> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty()).then(|| region.to_owned())
}

/// The region and, for a queue URL outside AWS (moto, an emulator), the endpoint the URL itself
/// names: `https://sqs.<region>.amazonaws.com/...` or `https://<region>.queue.amazonaws.com/...`.
pub fn sqs_url_parts(queue_url: &str) -> (Option<String>, Option<String>) {
    let Ok(url) = url::Url::parse(queue_url) else {
        return (None, None);
    };
    let Some(host) = url.host_str() else {
        return (None, None);
    };
    let labels: Vec<&str> = host.split('.').collect();
    let is_aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    if is_aws {
        let region = match labels.as_slice() {
            ["sqs", region, ..] => Some((*region).to_owned()),
            [region, "queue", ..] => Some((*region).to_owned()),
            _ => None,
        };
        (region, None)
    } else {
        let origin = url.origin().ascii_serialization();
        (None, Some(origin))
    }
}

/// An SDK error, classified: throttling, server errors, timeouts and connection failures retry;
/// a service's refusal (`NotFound`, `InvalidParameter`, `AuthorizationError`, ...) is permanent.
pub fn classify<E, R>(err: &SdkError<E, R>) -> DeliveryError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HasStatus + std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or("no message").to_owned();
            let status = service.raw().status();
            let throttled = code.contains("Throttl")
                || code.contains("TooManyRequests")
                || code == "RequestThrottled";
            let transient = status >= 500
                || matches!(
                    code.as_str(),
                    "InternalError" | "InternalFailure" | "ServiceUnavailable" | "KMSThrottling"
                );
            DeliveryError {
                kind: if throttled || transient {
                    FailureKind::Retryable { retry_after: None }
                } else {
                    FailureKind::Permanent
                },
                message: format!("{code}: {}", excerpt(&message)),
                code,
                status: Some(status),
                body: None,
            }
        }
        SdkError::TimeoutError(_) => DeliveryError::retryable("TIMEOUT", "the AWS call timed out"),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            DeliveryError::retryable("TIMEOUT", "the AWS call timed out")
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => DeliveryError::permanent(
            "DISPATCH",
            format!("the AWS call could not be sent: {}", error_chain(err)),
        ),
        SdkError::DispatchFailure(_) => DeliveryError::retryable(
            "CONNECTION",
            format!("the AWS call could not be sent: {}", error_chain(err)),
        ),
        SdkError::ResponseError(response) => DeliveryError {
            status: Some(response.raw().status()),
            ..DeliveryError::retryable("RESPONSE", "AWS's answer could not be read")
        },
        SdkError::ConstructionFailure(_) => DeliveryError::permanent(
            "CONSTRUCTION",
            format!("the AWS call could not be built: {}", error_chain(err)),
        ),
        _ => DeliveryError::retryable("UNKNOWN", error_chain(err)),
    }
}

/// An error and its causes on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An SDK response's HTTP status (so [`classify`] works for every SDK crate's error type).
pub trait HasStatus {
    /// The status code.
    fn status(&self) -> u16;
}

impl HasStatus for aws_sdk_sqs::config::http::HttpResponse {
    fn status(&self) -> u16 {
        aws_sdk_sqs::config::http::HttpResponse::status(self).as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_arns_and_queue_urls() {
        assert_eq!(
            region_from_arn("arn:aws:sns:eu-west-1:123456789012:alerts").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_from_arn("not an arn"), None);
        assert_eq!(
            sqs_url_parts("https://sqs.eu-west-2.amazonaws.com/123456789012/q"),
            (Some("eu-west-2".to_owned()), None)
        );
        assert_eq!(
            sqs_url_parts("http://127.0.0.1:5000/123456789012/q"),
            (None, Some("http://127.0.0.1:5000".to_owned()))
        );
    }
}
