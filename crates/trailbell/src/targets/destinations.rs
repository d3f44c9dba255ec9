//! Where a rule's targets resolve: configured destinations by name, and SNS topics and SQS queues
//! straight from their ARNs (what EventBridge's own targets are).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Destination, DestinationKind, SnsDestination, SqsDestination, is_topic_or_queue_arn};

/// Where targets resolve: configured destinations by name, and SNS topics and SQS queues by ARN.
#[derive(Clone, Debug, Default)]
pub struct Destinations {
    /// Configured destinations, by name.
    pub configured: BTreeMap<String, Destination>,
    /// The AWS endpoint for destinations made from ARNs (tests: moto).
    pub aws_endpoint_url: Option<String>,
}

impl Destinations {
    /// The destination a target's `Arn` names: a configured one by name (or by an API
    /// destination's ARN ending in `api-destination/<name>`), else an SNS topic or SQS queue made
    /// from the ARN.
    pub fn resolve(&self, arn: &str) -> Option<Destination> {
        if let Some(found) = self.configured.get(arn) {
            return Some(found.clone());
        }
        if let Some((_, rest)) = arn.split_once(":api-destination/") {
            let name = rest.split('/').next().unwrap_or(rest);
            return self.configured.get(name).cloned();
        }
        if !is_topic_or_queue_arn(arn) {
            return None;
        }
        let endpoint_url = self.aws_endpoint_url.clone();
        // The only two kinds an ARN alone makes; every other kind is configured by name.
        let kind = if arn.starts_with("arn:aws:sns:") {
            DestinationKind::Sns(SnsDestination {
                topic_arn: arn.to_owned(),
                chatbot_format: false,
                endpoint_url,
            })
        } else {
            DestinationKind::Sqs(SqsDestination {
                queue_url: self.queue_url(arn)?,
                message_group_id: None,
                endpoint_url,
            })
        };
        Some(Destination {
            name: arn.to_owned(),
            kind,
            rate_limit_per_second: None,
            timeout: Duration::from_secs(10),
            max_in_flight: None,
        })
    }

    /// The URL of the queue `arn:aws:sqs:<region>:<account>:<name>` names.
    pub fn queue_url(&self, arn: &str) -> Option<String> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some("aws"), Some("sqs"), Some(region), Some(account), Some(name)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(match &self.aws_endpoint_url {
            Some(endpoint) => format!("{}/{account}/{name}", endpoint.trim_end_matches('/')),
            None => format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
        })
    }
}
