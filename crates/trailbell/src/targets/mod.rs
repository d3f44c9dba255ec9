//! Targets: where alerts go. A *destination* is a configured endpoint (a Slack webhook, an SNS
//! topic, an SQS queue, a webhook, standard output, a file, Security Hub, an event bus); a rule's
//! *targets* (EventBridge's `Targets`, with `Id`, `Input`/`InputPath`/`InputTransformer`,
//! `RetryPolicy`) point at destinations. Alerts reach a destination through the outbox
//! ([`crate::outbox`]), never directly.
//!
//! - [`slack`]: Block Kit cards ([`slack::message`]) sent by incoming webhook or `chat.postMessage`.
//! - [`sns`]: `Publish`, optionally in AWS Chatbot's custom-notification format ([`sns::chatbot`]).
//! - [`sqs`]: `SendMessage`, FIFO queues too.
//! - [`webhook`]: an HTTP POST of JSON, as EventBridge API destinations do.
//! - [`stdout`] and [`file`]: JSON lines (readable lines on a terminal, [`stdout::render`]).
//! - [`securityhub`]: ASFF findings through `BatchImportFindings`, updated on repeats.
//! - [`eventbridge`]: `PutEvents` of the alert to an event bus.
//!
//! # How to add a target kind
//!
//! 1. A folder `targets/<kind>/` with `mod.rs` holding the destination's settings
//!    (`<Kind>Destination`), its client (`<Kind>Client` with `new` and
//!    `deliver(&Outgoing) -> Result<Delivered, DeliveryError>`, classifying failures as retryable
//!    or permanent; AWS kinds use [`aws::sdk_config`] and [`aws::classify`]), `config.rs` reading
//!    its `type = "<kind>"` keys ([`settings::SettingsReader`]: serde, problems with their key,
//!    secrets) and, when it renders the alert its own way, that rendering (see
//!    `securityhub/finding.rs`).
//! 2. An arm in [`DestinationKind`] and one in [`TargetClient`]; then the compiler names every
//!    `match` to extend, all in this file: [`read_destination_kind`] (and [`KINDS`]),
//!    [`Destination::in_flight`], [`Destination::payload_kind`] (a new [`PayloadKind`] if it
//!    renders its own way, and its arm in the payload step), [`Destination::with_default_endpoint`],
//!    [`DestinationKind::default_rate_limit`], [`TargetClient::new`], [`TargetClient::deliver`].
//! 3. Its keys in docs/CONFIGURATION.md, and a test through `trailbell run` in `tests/it/` (see
//!    `tests/it/aws_targets.rs`).
//!
//! Files touched: the new folder, this file, the docs and the test (plus the payload step for a
//! new payload kind). A rule's targets ([`TargetSpec`]) name destinations by `Arn`; an SNS topic
//! or SQS queue ARN needs no configured destination ([`Destinations::resolve`]).

pub mod card;
mod destinations;
pub mod eventbridge;
pub mod securityhub;
pub mod settings;
pub mod slack;
mod spec;
// The configuration of kinds whose clients need the service build: in their folders, compiled in
// both builds.
#[path = "file/config.rs"]
pub mod file_config;
#[path = "sns/config.rs"]
pub mod sns_config;
#[path = "sqs/config.rs"]
pub mod sqs_config;
#[path = "stdout/config.rs"]
pub mod stdout_config;
#[path = "webhook/config.rs"]
pub mod webhook_config;
service_only! {
    pub mod aws;
    pub mod client;
    pub mod file;
    pub mod http;
    pub mod sns;
    pub mod sqs;
    pub mod stdout;
    pub mod webhook;
}

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;
#[cfg(feature = "service")]
use client::{ClientError, Delivered, DeliveryError, Outgoing};
pub use destinations::Destinations;
pub use spec::{
    HttpParameters, MAX_ARN_CHARS, TargetError, TargetErrors, TargetFields, TargetSpec,
    retry_policy_serde,
};

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
            DestinationKind::Webhook(_)
            | DestinationKind::SecurityHub(_)
            | DestinationKind::EventBridge(_) => 8,
            DestinationKind::Sns(sns) if !sns.topic_arn.ends_with(".fifo") => 8,
            DestinationKind::Sqs(sqs) if !sqs.queue_url.ends_with(".fifo") => 8,
            DestinationKind::Sns(_)
            | DestinationKind::Sqs(_)
            | DestinationKind::Slack(_)
            | DestinationKind::Stdout(_)
            | DestinationKind::File(_) => 1,
        }
    }

    /// How the matched event becomes this destination's payload when its target has no input of
    /// its own.
    pub fn payload_kind(&self) -> PayloadKind {
        match &self.kind {
            DestinationKind::Slack(SlackDestination::Api { .. }) => {
                PayloadKind::SlackCard { threads: true }
            }
            DestinationKind::Slack(SlackDestination::Webhook { .. }) => {
                PayloadKind::SlackCard { threads: false }
            }
            DestinationKind::Sns(sns) if sns.chatbot_format => PayloadKind::Chatbot,
            DestinationKind::Stdout(stdout) if stdout.format == LineFormat::Text => {
                PayloadKind::TerminalText
            }
            DestinationKind::SecurityHub(_) => PayloadKind::Finding,
            DestinationKind::Sns(_)
            | DestinationKind::Sqs(_)
            | DestinationKind::Webhook(_)
            | DestinationKind::Stdout(_)
            | DestinationKind::File(_)
            | DestinationKind::EventBridge(_) => PayloadKind::Event,
        }
    }

    /// The service's `aws_endpoint_url` for an AWS destination without an endpoint of its own
    /// (tests and emulators point every AWS client at one place).
    #[must_use]
    pub fn with_default_endpoint(mut self, endpoint: Option<&str>) -> Destination {
        let own = match &mut self.kind {
            DestinationKind::Sns(sns) => &mut sns.endpoint_url,
            DestinationKind::Sqs(sqs) => &mut sqs.endpoint_url,
            DestinationKind::SecurityHub(hub) => &mut hub.endpoint_url,
            DestinationKind::EventBridge(bus) => &mut bus.endpoint_url,
            DestinationKind::Slack(_)
            | DestinationKind::Webhook(_)
            | DestinationKind::Stdout(_)
            | DestinationKind::File(_) => return self,
        };
        if own.is_none() {
            *own = endpoint.map(str::to_owned);
        }
        self
    }
}

/// How a target's payload is made when it takes the matched event as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// A Block Kit card; `threads` when the destination can reply in threads.
    SlackCard {
        /// Slack through `chat.postMessage`.
        threads: bool,
    },
    /// AWS Chatbot's custom notification.
    Chatbot,
    /// One readable line for a terminal.
    TerminalText,
    /// An ASFF finding for Security Hub.
    Finding,
    /// The event envelope, JSON.
    Event,
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
    /// AWS Security Hub: findings in ASFF.
    SecurityHub(securityhub::SecurityHubDestination),
    /// An EventBridge event bus.
    EventBridge(eventbridge::EventBridgeDestination),
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

/// A ready client for one destination.
#[derive(Debug)]
#[cfg(feature = "service")]
pub enum TargetClient {
    /// See [`webhook::WebhookClient`].
    Webhook(webhook::WebhookClient),
    /// See [`slack::send::SlackClient`].
    Slack(slack::send::SlackClient),
    /// See [`sns::SnsClient`].
    Sns(sns::SnsClient),
    /// See [`sqs::SqsClient`].
    Sqs(sqs::SqsClient),
    /// See [`stdout::StdoutClient`].
    Stdout(stdout::StdoutClient),
    /// See [`file::FileClient`].
    File(file::FileClient),
    /// See [`securityhub::SecurityHubClient`].
    SecurityHub(securityhub::SecurityHubClient),
    /// See [`eventbridge::EventBridgeClient`].
    EventBridge(eventbridge::EventBridgeClient),
}

#[cfg(feature = "service")]
impl TargetClient {
    /// Builds the client for `destination` (AWS clients load their configuration here, hence
    /// `async`).
    pub async fn new(destination: &Destination) -> Result<TargetClient, ClientError> {
        let fail = |message: String| ClientError {
            destination: destination.name.clone(),
            message,
        };
        Ok(match &destination.kind {
            DestinationKind::Webhook(config) => TargetClient::Webhook(
                webhook::WebhookClient::new(config, destination.timeout).map_err(fail)?,
            ),
            DestinationKind::Slack(config) => TargetClient::Slack(
                slack::send::SlackClient::new(config, destination.timeout).map_err(fail)?,
            ),
            DestinationKind::Sns(config) => TargetClient::Sns(
                sns::SnsClient::new(config, destination.timeout)
                    .await
                    .map_err(fail)?,
            ),
            DestinationKind::Sqs(config) => TargetClient::Sqs(
                sqs::SqsClient::new(config, destination.timeout)
                    .await
                    .map_err(fail)?,
            ),
            DestinationKind::Stdout(config) => {
                TargetClient::Stdout(stdout::StdoutClient::new(config.format))
            }
            DestinationKind::File(config) => {
                TargetClient::File(file::FileClient::new(config.path.clone()))
            }
            DestinationKind::SecurityHub(config) => TargetClient::SecurityHub(
                securityhub::SecurityHubClient::new(config, destination.timeout).await,
            ),
            DestinationKind::EventBridge(config) => TargetClient::EventBridge(
                eventbridge::EventBridgeClient::new(config, destination.timeout)
                    .await
                    .map_err(fail)?,
            ),
        })
    }

    /// Sends `message` once. `Ok` only when the target confirmed it.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        if let Some(reason) = &message.attributes.undeliverable {
            // Nothing to send: a dead letter without retries (decision 0017).
            return Err(DeliveryError::permanent(
                "INVALID_PARAMETER",
                reason.clone(),
            ));
        }
        match self {
            TargetClient::Webhook(client) => client.deliver(message).await,
            TargetClient::Slack(client) => client.deliver(message).await,
            TargetClient::Sns(client) => client.deliver(message).await,
            TargetClient::Sqs(client) => client.deliver(message).await,
            TargetClient::Stdout(client) => client.deliver(message).await,
            TargetClient::File(client) => client.deliver(message).await,
            TargetClient::SecurityHub(client) => client.deliver(message).await,
            TargetClient::EventBridge(client) => client.deliver(message).await,
        }
    }
}

/// The kinds, as `type = "<kind>"` names them.
pub const KINDS: &[&str] = &[
    "slack",
    "sns",
    "sqs",
    "webhook",
    "stdout",
    "file",
    "securityhub",
    "eventbridge",
];

/// Reads a destination of `kind` from its own keys (those every destination has, the
/// configuration file's, removed): `Ok(None)` after the kind's reader reported why not, `Err`
/// for a kind trailbell does not have.
pub fn read_destination_kind(
    kind: &str,
    reader: &mut impl settings::SettingsReader,
) -> Result<Option<DestinationKind>, String> {
    Ok(match kind {
        "slack" => slack::config::read(reader).map(DestinationKind::Slack),
        "sns" => sns_config::read(reader).map(DestinationKind::Sns),
        "sqs" => sqs_config::read(reader).map(DestinationKind::Sqs),
        "webhook" => webhook_config::read(reader).map(DestinationKind::Webhook),
        "stdout" => stdout_config::read(reader).map(DestinationKind::Stdout),
        "file" => file_config::read(reader).map(DestinationKind::File),
        "securityhub" => securityhub::config::read(reader).map(DestinationKind::SecurityHub),
        "eventbridge" => eventbridge::config::read(reader).map(DestinationKind::EventBridge),
        other => {
            return Err(format!("{other:?}: expected one of {}", KINDS.join(", ")));
        }
    })
}

impl DestinationKind {
    /// The rate limit when none is configured: Slack accepts about one message per second per
    /// webhook or channel; the others have none.
    pub fn default_rate_limit(&self) -> Option<f64> {
        match self {
            DestinationKind::Slack(_) => Some(1.0),
            DestinationKind::Sns(_)
            | DestinationKind::Sqs(_)
            | DestinationKind::Webhook(_)
            | DestinationKind::Stdout(_)
            | DestinationKind::File(_)
            | DestinationKind::SecurityHub(_)
            | DestinationKind::EventBridge(_) => None,
        }
    }
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
