//! SNS: Publish, optionally in AWS Chatbot's custom-notification format.
//!
//! The payload is published as is (the renderer made it, Chatbot's format included), with the
//! outbox row's idempotency key as the message attribute [`IDEMPOTENCY_KEY_ATTRIBUTE`]. FIFO
//! topics (`.fifo`) get a message group id and the key as deduplication id.

pub mod chatbot;

use std::time::Duration;

use aws_sdk_sns::types::MessageAttributeValue;

use super::SnsDestination;
use super::aws;
use super::client::{Delivered, DeliveryError, Outgoing};

/// The message attribute carrying the idempotency key (SNS and SQS).
pub const IDEMPOTENCY_KEY_ATTRIBUTE: &str = "trailbell.idempotency_key";

/// The message group id for FIFO topics and queues when neither the destination nor the message
/// names one.
pub const DEFAULT_MESSAGE_GROUP_ID: &str = "trailbell";

/// An SNS topic, ready to publish to.
#[derive(Debug)]
pub struct SnsClient {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsClient {
    /// Loads the AWS configuration (region from the topic ARN).
    pub async fn new(config: &SnsDestination, timeout: Duration) -> Result<SnsClient, String> {
        let region = aws::region_from_arn(&config.topic_arn)
            .ok_or_else(|| format!("{:?} is not an SNS topic ARN", config.topic_arn))?;
        let sdk = aws::sdk_config(Some(region), config.endpoint_url.as_deref(), timeout).await;
        Ok(SnsClient {
            client: aws_sdk_sns::Client::new(&sdk),
            topic_arn: config.topic_arn.clone(),
        })
    }

    /// Publishes the payload once.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let key = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&message.idempotency_key)
            .build()
            .map_err(|err| DeliveryError::permanent("CONSTRUCTION", err.to_string()))?;
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(&message.payload)
            .message_attributes(IDEMPOTENCY_KEY_ATTRIBUTE, key);
        if self.topic_arn.ends_with(".fifo") {
            let group = message
                .attributes
                .message_group_id
                .as_deref()
                .unwrap_or(DEFAULT_MESSAGE_GROUP_ID);
            request = request
                .message_group_id(group)
                .message_deduplication_id(&message.idempotency_key);
        }
        let output = request.send().await.map_err(|err| aws::classify(&err))?;
        Ok(Delivered {
            remote_id: output.message_id().map(str::to_owned),
            ..Delivered::default()
        })
    }
}
