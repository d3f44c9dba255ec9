//! Targets: where alerts go. A *destination* is a configured endpoint (a Slack webhook, an SNS
//! topic, an SQS queue, a webhook, standard output, a file); a rule's *targets* (EventBridge's
//! `Targets`, with `Id`, `Input`/`InputPath`/`InputTransformer`, `RetryPolicy`) point at
//! destinations. Alerts reach a destination through the outbox ([`crate::outbox`]), never
//! directly.
//!
//! - [`slack`]: Block Kit cards ([`slack::message`]) sent by incoming webhook or `chat.postMessage`.
//! - [`sns`]: `Publish`, optionally in AWS Chatbot's custom-notification format ([`sns::chatbot`]).
//! - [`sqs`]: `SendMessage`, FIFO queues too.
//! - [`webhook`]: an HTTP POST of JSON, as EventBridge API destinations do.
//! - [`stdout`] and [`file`]: JSON lines (readable lines on a terminal).

pub mod aws;
pub mod client;
pub mod file;
pub mod http;
pub mod slack;
pub mod sns;
pub mod sqs;
pub mod stdout;
pub mod webhook;

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// A configured endpoint that alerts are delivered to, with its rate limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// Unique among destinations; what outbox rows and metrics name (never the secret URL).
    pub name: String,
    /// What and where.
    pub kind: DestinationKind,
    /// At most this many deliveries per second (EventBridge's `InvocationRateLimitPerSecond`);
    /// `None` for no limit. Slack's default is 1, Slack's own limit per webhook.
    pub rate_limit_per_second: Option<f64>,
    /// How long one attempt may take before it counts as a timeout (retried).
    pub timeout: Duration,
    /// At most this many attempts at once; `None` for the kind's default
    /// ([`Destination::in_flight`]).
    pub max_in_flight: Option<usize>,
}

/// The most attempts at once a destination may be configured for.
pub const MAX_IN_FLIGHT: usize = 64;

impl Destination {
    /// How many attempts may be in flight at once: the configured number, else 8 for webhooks,
    /// SNS topics and standard SQS queues (whose receivers do not see order anyway: EventBridge
    /// does not keep it either) and 1, in order, for Slack (threads, one message a second), FIFO
    /// topics and queues, standard output and files.
    pub fn in_flight(&self) -> usize {
        if let Some(configured) = self.max_in_flight {
            return configured.clamp(1, MAX_IN_FLIGHT);
        }
        match &self.kind {
            DestinationKind::Webhook(_) => 8,
            DestinationKind::Sns(sns) if !sns.topic_arn.ends_with(".fifo") => 8,
            DestinationKind::Sqs(sqs) if !sqs.queue_url.ends_with(".fifo") => 8,
            DestinationKind::Sns(_)
            | DestinationKind::Sqs(_)
            | DestinationKind::Slack(_)
            | DestinationKind::Stdout(_)
            | DestinationKind::File(_) => 1,
        }
    }
}

/// See [`Destination::kind`].
#[derive(Clone, Debug, PartialEq)]
pub enum DestinationKind {
    /// Slack, by incoming webhook or bot token.
    Slack(SlackDestination),
    /// An SNS topic.
    Sns(SnsDestination),
    /// An SQS queue.
    Sqs(SqsDestination),
    /// Any HTTP endpoint taking JSON.
    Webhook(WebhookDestination),
    /// Standard output.
    Stdout(StdoutDestination),
    /// A file, appended to.
    File(FileDestination),
}

/// How trailbell reaches Slack.
#[derive(Clone, Debug, PartialEq)]
pub enum SlackDestination {
    /// An incoming webhook (`https://hooks.slack.com/services/...`): one channel, no threads.
    Webhook {
        /// The webhook URL: a secret, since it is all it takes to post.
        url: Secret,
    },
    /// A bot token and channel, through `chat.postMessage` (threads possible).
    Api {
        /// `xoxb-...`.
        token: Secret,
        /// A channel id (`C0123456789`) or name.
        channel: String,
        /// Slack's Web API base URL, `https://slack.com/api` unless a test points elsewhere.
        api_base_url: String,
    },
}

/// An SNS topic.
#[derive(Clone, Debug, PartialEq)]
pub struct SnsDestination {
    /// `arn:aws:sns:<region>:<account>:<name>`.
    pub topic_arn: String,
    /// Publish AWS Chatbot's custom-notification JSON instead of the alert's payload, so a
    /// Chatbot channel subscribed to the topic renders it.
    pub chatbot_format: bool,
    /// An SNS-compatible endpoint (tests: moto); `None` for AWS's.
    pub endpoint_url: Option<String>,
}

/// An SQS queue.
#[derive(Clone, Debug, PartialEq)]
pub struct SqsDestination {
    /// The queue URL.
    pub queue_url: String,
    /// For FIFO queues (`.fifo`): the message group id (EventBridge's `SqsParameters`).
    pub message_group_id: Option<String>,
    /// An SQS-compatible endpoint (tests: moto); `None` for AWS's.
    pub endpoint_url: Option<String>,
}

/// An HTTP endpoint taking a POST of JSON (EventBridge's API destination + connection).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDestination {
    /// The URL: a secret, since URLs often carry tokens.
    pub endpoint: Secret,
    /// Extra headers; values are secrets.
    pub headers: Vec<(String, Secret)>,
    /// Authorization, as EventBridge connections have it.
    pub auth: Option<WebhookAuth>,
}

/// See [`WebhookDestination::auth`].
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookAuth {
    /// A header carrying a key, e.g. `x-api-key: ...`.
    ApiKey {
        /// The header's name.
        header: String,
        /// The key.
        value: Secret,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
}

/// Standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StdoutDestination {
    /// How each alert is written.
    pub format: LineFormat,
}

/// A file that alerts are appended to, a JSON line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDestination {
    /// The file; created if missing.
    pub path: PathBuf,
}

/// How standard output shows alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// A JSON line each (the payload with its idempotency key).
    Json,
    /// One readable, escaped line each: for a person at a terminal.
    Text,
}

// One RetryPolicy with its bounds, in `model/` (issue 14, item 1).
pub use crate::model::RetryPolicy;

/// Whether `arn` names an SNS topic or an SQS queue whole (`arn:aws:sns:<region>:<account>:<name>`,
/// likewise `sqs`, no part empty): a target trailbell can send to without a configured destination.
///
/// ```
/// use trailbell::targets::is_topic_or_queue_arn;
///
/// assert!(is_topic_or_queue_arn("arn:aws:sqs:us-east-1:111122223333:alerts"));
/// assert!(!is_topic_or_queue_arn("arn:aws:sqs:us-east-1"));
/// assert!(!is_topic_or_queue_arn("arn:aws:lambda:us-east-1:111122223333:function:f"));
/// ```
pub fn is_topic_or_queue_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", "aws", "sns" | "sqs", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty()
    )
}
