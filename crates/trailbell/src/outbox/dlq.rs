//! Dead-letter queues: a row that dies is sent, as is, to its SQS dead-letter queue with message
//! attributes like EventBridge's (`ERROR_CODE`, `ERROR_MESSAGE`, `RULE_ARN`, `TARGET_ARN`,
//! `RETRY_ATTEMPTS`, `EXHAUSTED_RETRY_CONDITION`) plus `EVENT_ID`. One attempt: if the queue
//! cannot take it, the row records why (`dead_letter_status`) and stays in the outbox as a dead
//! letter, where `outbox list` shows it.

use std::collections::HashMap;
use std::time::Duration;

use crate::targets::client::Outgoing;
use crate::targets::sqs::SqsClient;

/// SQS clients per dead-letter queue URL, built on first use.
#[derive(Debug)]
pub(crate) struct DeadLetters {
    clients: HashMap<String, SqsClient>,
    timeout: Duration,
}

/// Why the message died, for its attributes.
#[derive(Debug)]
pub(crate) struct Cause<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub attempts: u32,
    pub exhausted_retry_condition: Option<&'a str>,
}

impl DeadLetters {
    pub fn new(timeout: Duration) -> DeadLetters {
        DeadLetters {
            clients: HashMap::new(),
            timeout,
        }
    }

    /// Gives `message` up for good: logs why, sends it to its queue when it has one (logging a
    /// failure), and returns the status to record with the row: `None` without a queue. The one
    /// way both the workers and the Lambda build make a dead letter.
    pub async fn give_up(
        &mut self,
        destination: &str,
        queue_url: Option<&str>,
        message: &Outgoing,
        cause: &Cause<'_>,
    ) -> Option<String> {
        tracing::error!(
            destination,
            id = message.id,
            rule = %message.rule_name,
            event = %message.event_id,
            attempts = cause.attempts,
            error_code = %cause.code,
            error = %cause.message,
            exhausted_retry_condition = cause.exhausted_retry_condition.unwrap_or("none"),
            "Delivery failed for good; the alert is a dead letter."
        );
        let queue_url = queue_url?;
        let status = self.send(queue_url, message, cause).await;
        if status != "sent" {
            tracing::error!(
                id = message.id,
                status = %status,
                "Cannot send a dead letter to its queue."
            );
        }
        Some(status)
    }

    /// Sends `message` to `queue_url`; returns the status to record: `sent` or `failed: ...`.
    pub async fn send(&mut self, queue_url: &str, message: &Outgoing, cause: &Cause<'_>) -> String {
        if !self.clients.contains_key(queue_url) {
            let client = SqsClient::for_queue_url(queue_url, self.timeout).await;
            self.clients.insert(queue_url.to_owned(), client);
        }
        let Some(client) = self.clients.get(queue_url) else {
            return "failed: no client".to_owned();
        };
        let attributes = [
            ("ERROR_CODE", cause.code.to_owned()),
            ("ERROR_MESSAGE", cause.message.to_owned()),
            ("RULE_ARN", message.rule_name.clone()),
            ("TARGET_ARN", message.target_id.clone()),
            ("EVENT_ID", message.event_id.clone()),
            // EventBridge's count: retries, not attempts (a first failure is 0).
            (
                "RETRY_ATTEMPTS",
                cause.attempts.saturating_sub(1).to_string(),
            ),
            (
                "EXHAUSTED_RETRY_CONDITION",
                cause
                    .exhausted_retry_condition
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ];
        match client.send(message, &attributes).await {
            Ok(_) => "sent".to_owned(),
            Err(err) => format!("failed: {err}"),
        }
    }
}
