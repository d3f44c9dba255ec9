//! EventBridge: `PutEvents` of the alert to a bus, so rules on that bus can drive AWS-native
//! automation (Step Functions, Lambda, SSM). The entry's `Source` is [`SOURCE`], its `DetailType`
//! [`DETAIL_TYPE`], its `Detail` the alert's payload (a JSON object; anything else is wrapped as
//! `{"text": ...}`, since EventBridge only takes objects).

pub mod config;

#[cfg(feature = "service")]
use std::time::Duration;

#[cfg(feature = "service")]
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

#[cfg(feature = "service")]
use super::aws;
#[cfg(feature = "service")]
use super::client::{Delivered, DeliveryError, Outgoing};

/// The `Source` of every entry trailbell puts.
pub const SOURCE: &str = "trailbell";

/// The `DetailType` of every entry trailbell puts.
pub const DETAIL_TYPE: &str = "trailbell alert";

/// An event bus, by ARN (`type = "eventbridge"`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventBridgeDestination {
    /// `arn:aws:events:<region>:<account>:event-bus/<name>`.
    pub event_bus_arn: String,
    /// An EventBridge-compatible endpoint (tests: moto); `None` for AWS's.
    pub endpoint_url: Option<String>,
}

/// An event bus, ready to put to.
#[derive(Debug)]
#[cfg(feature = "service")]
pub struct EventBridgeClient {
    client: aws_sdk_eventbridge::Client,
    event_bus_arn: String,
}

#[cfg(feature = "service")]
impl EventBridgeClient {
    /// Loads the AWS configuration (region from the bus ARN).
    pub async fn new(
        config: &EventBridgeDestination,
        timeout: Duration,
    ) -> Result<EventBridgeClient, String> {
        let region = bus_region(&config.event_bus_arn)?;
        let sdk = aws::sdk_config(Some(region), config.endpoint_url.as_deref(), timeout).await;
        Ok(EventBridgeClient {
            client: aws_sdk_eventbridge::Client::new(&sdk),
            event_bus_arn: config.event_bus_arn.clone(),
        })
    }

    /// Puts the alert once. A failed entry (`FailedEntryCount` > 0) is a failure with the entry's
    /// error code; throttling and internal failures retry.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.event_bus_arn)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(detail(&message.payload))
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|err| aws::classify(&err))?;
        let Some(answer) = output.entries().first() else {
            return Err(DeliveryError::retryable(
                "NO_ENTRY",
                "PutEvents answered without an entry",
            ));
        };
        if output.failed_entry_count() > 0 || answer.error_code().is_some() {
            let code = answer.error_code().unwrap_or("Unknown").to_owned();
            let message = format!(
                "{code}: {}",
                answer.error_message().unwrap_or("the entry was refused")
            );
            return Err(if is_transient(&code) {
                DeliveryError::retryable(code, message)
            } else {
                DeliveryError::permanent(code, message)
            });
        }
        Ok(Delivered {
            remote_id: answer.event_id().map(str::to_owned),
            ..Delivered::default()
        })
    }
}

/// The region of an event bus ARN (`arn:aws:events:<region>:<account>:event-bus/<name>`), or
/// why it is not one.
pub fn bus_region(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "events", region, account, resource]
            if !region.is_empty()
                && !account.is_empty()
                && resource
                    .strip_prefix("event-bus/")
                    .is_some_and(|name| !name.is_empty()) =>
        {
            Ok((*region).to_owned())
        }
        _ => Err(format!(
            "{arn:?} is not an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)"
        )),
    }
}

/// Whether an entry's error code is worth retrying (PutEvents' per-entry codes).
#[cfg(feature = "service")]
fn is_transient(code: &str) -> bool {
    code.contains("Throttl") || matches!(code, "InternalFailure" | "InternalException")
}

/// The payload as an entry's `Detail`: a JSON object as it is, anything else as `{"text": ...}`.
pub fn detail(payload: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(object)) => serde_json::Value::Object(object).to_string(),
        _ => serde_json::json!({ "text": payload }).to_string(),
    }
}

#[cfg(test)]
#[cfg(feature = "service")]
mod tests {
    use super::*;

    #[test]
    fn details_are_objects() {
        assert_eq!(detail(r#"{"a": 1}"#), r#"{"a":1}"#);
        assert_eq!(detail("plain"), r#"{"text":"plain"}"#);
        assert_eq!(detail("[1]"), r#"{"text":"[1]"}"#);
        assert!(is_transient("ThrottlingException"));
        assert!(!is_transient("InvalidArgument"));
        assert_eq!(
            bus_region("arn:aws:events:eu-west-1:111122223333:event-bus/automation").as_deref(),
            Ok("eu-west-1")
        );
        assert!(bus_region("arn:aws:sns:eu-west-1:111122223333:topic").is_err());
        assert!(bus_region("arn:aws:events:eu-west-1:111122223333:rule/r").is_err());
    }
}
