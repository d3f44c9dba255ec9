//! SQS: SendMessage of the payload, with the idempotency key as a message attribute. FIFO queues
//! (`.fifo`) get a message group id (the message's, else the destination's, else
//! [`DEFAULT_MESSAGE_GROUP_ID`]) and the key as `MessageDeduplicationId`, so SQS itself drops a
//! redelivery within its five-minute window.

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;

use super::SqsDestination;
use super::aws;
use super::client::{Delivered, DeliveryError, Outgoing};
pub use super::sns::{DEFAULT_MESSAGE_GROUP_ID, IDEMPOTENCY_KEY_ATTRIBUTE};

/// An SQS queue, ready to send to.
#[derive(Debug)]
pub struct SqsClient {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    message_group_id: Option<String>,
}

impl SqsClient {
    /// Loads the AWS configuration (region from the queue URL).
    pub async fn new(config: &SqsDestination, timeout: Duration) -> Result<SqsClient, String> {
        url::Url::parse(&config.queue_url)
            .map_err(|_| format!("{:?} is not a queue URL", config.queue_url))?;
        let (region, _) = aws::sqs_url_parts(&config.queue_url);
        let sdk = aws::sdk_config(region, config.endpoint_url.as_deref(), timeout).await;
        Ok(SqsClient {
            client: aws_sdk_sqs::Client::new(&sdk),
            queue_url: config.queue_url.clone(),
            message_group_id: config.message_group_id.clone(),
        })
    }

    /// A client for a queue URL alone (the outbox's dead-letter queues): region from the URL, and
    /// for a URL outside AWS its own origin as endpoint.
    pub async fn for_queue_url(queue_url: &str, timeout: Duration) -> SqsClient {
        let (region, endpoint) = aws::sqs_url_parts(queue_url);
        let sdk = aws::sdk_config(region, endpoint.as_deref(), timeout).await;
        SqsClient {
            client: aws_sdk_sqs::Client::new(&sdk),
            queue_url: queue_url.to_owned(),
            message_group_id: None,
        }
    }

    /// Sends the payload once.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        self.send(message, &[]).await
    }

    /// Sends the payload once with extra string attributes (empty values are left out: SQS
    /// rejects them).
    pub async fn send(
        &self,
        message: &Outgoing,
        attributes: &[(&str, String)],
    ) -> Result<Delivered, DeliveryError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.payload);
        let key = std::iter::once((IDEMPOTENCY_KEY_ATTRIBUTE, message.idempotency_key.clone()));
        for (name, value) in key.chain(attributes.iter().cloned()) {
            if value.is_empty() {
                continue;
            }
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|err| DeliveryError::permanent("CONSTRUCTION", err.to_string()))?;
            request = request.message_attributes(name, value);
        }
        if self.queue_url.ends_with(".fifo") {
            let group = message
                .attributes
                .message_group_id
                .as_deref()
                .or(self.message_group_id.as_deref())
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
