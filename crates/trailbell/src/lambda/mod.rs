//! trailbell as an EventBridge target in AWS Lambda (the `bootstrap` binary,
//! docs/decisions/0010-lambda.md).
//!
//! One invocation is one EventBridge event (its envelope, `detail` kept as raw JSON). It goes
//! through the service's pipeline: the configuration's rules compiled per bus
//! ([`crate::service::bus::BusRules`]), the [`crate::service::accept::Acceptor`] (exceptions,
//! threshold, dedup; alerts rendered and written to the outbox, in a SQLite store under `/tmp`),
//! then every alert of the event delivered before the invocation answers ([`deliver`]). An alert
//! that could not be delivered in time fails the invocation, so EventBridge retries the event;
//! alerts delivered (or dead-lettered) before are not sent again while the execution environment
//! stays warm, because their idempotency keys are in the store.

pub mod deliver;
pub mod source;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::config::{Config, remote_secrets};
use crate::outbox::dlq::DeadLetters;
use crate::outbox::retry::Backoff;
use crate::service::BusEvent;
use crate::service::accept::Acceptor;
use crate::service::bus::{BusRules, Destinations};
use crate::service::managed::{CONFIG_OWNER, managed_rules};
use crate::service::metrics::Metrics;
use crate::targets::client::TargetClient;
use deliver::{Delivery, Ending};

/// Where the store lives unless `TRAILBELL_STATE_DIR` says otherwise: Lambda's only writable
/// directory, kept between invocations of one execution environment only.
pub const DEFAULT_STATE_DIR: &str = "/tmp/trailbell";

/// How many other due outbox rows (dedup summaries, leftovers) an invocation sends on the way.
const BACKLOG_PER_INVOCATION: usize = 16;

/// Why the function could not start, or an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// The configuration could not be read or is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A secret reference could not be fetched.
    #[error(transparent)]
    Secret(#[from] remote_secrets::RemoteSecretError),
    /// The rules, the store or a destination's client could not be set up.
    #[error("start: {0}")]
    Start(String),
    /// The event's alerts could not be written to the store.
    #[error("store: {0}")]
    Store(String),
    /// Some alerts were not delivered in the invocation's time; EventBridge should retry.
    #[error("{undelivered} alert(s) of event {event_id} not delivered; last error: {last_error}")]
    Undelivered {
        /// The event.
        event_id: String,
        /// How many.
        undelivered: usize,
        /// The last failure.
        last_error: String,
    },
}

impl LambdaError {
    /// The `errorType` reported to the Runtime API.
    pub fn error_type(&self) -> &'static str {
        match self {
            LambdaError::Config(_) => "Trailbell.InvalidConfiguration",
            LambdaError::Secret(_) => "Trailbell.SecretUnavailable",
            LambdaError::Start(_) => "Trailbell.StartFailed",
            LambdaError::Store(_) => "Trailbell.StoreFailed",
            LambdaError::Undelivered { .. } => "Trailbell.Undelivered",
        }
    }
}

impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(error: LambdaError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What the function reads from its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `TRAILBELL_CONFIG`: a path or `s3://bucket/key`.
    pub config: Option<String>,
    /// Where `trailbell.toml` may lie beside the binary.
    pub executable_dir: Option<PathBuf>,
    /// `TRAILBELL_STATE_DIR`, default [`DEFAULT_STATE_DIR`].
    pub state_dir: PathBuf,
    /// `TRAILBELL_EVENT_BUS`: whose rules apply (the bus the EventBridge rule is on), `default`.
    pub event_bus_name: String,
    /// `TRAILBELL_RETRY_BASE_MS`: the first retry's backoff ceiling within an invocation.
    pub backoff: Backoff,
}

impl Settings {
    /// From the process's environment.
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let mut backoff = Backoff::default();
        if let Some(base) = var("TRAILBELL_RETRY_BASE_MS").and_then(|ms| ms.parse().ok()) {
            backoff.base = Duration::from_millis(base);
        }
        Settings {
            config: var("TRAILBELL_CONFIG"),
            executable_dir: std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf)),
            state_dir: var("TRAILBELL_STATE_DIR")
                .map_or_else(|| DEFAULT_STATE_DIR.into(), PathBuf::from),
            event_bus_name: var("TRAILBELL_EVENT_BUS").unwrap_or_else(|| "default".to_owned()),
            backoff,
        }
    }
}

/// The function's state between invocations (one execution environment).
pub struct Handler {
    acceptor: Arc<Mutex<Acceptor>>,
    connection: Arc<Mutex<rusqlite::Connection>>,
    clients: BTreeMap<String, (TargetClient, Duration)>,
    dead_letters: tokio::sync::Mutex<DeadLetters>,
    event_bus_name: String,
    backoff: Backoff,
    rules: usize,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("event_bus_name", &self.event_bus_name)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The part of an envelope the handler reads itself.
#[derive(Deserialize)]
struct EnvelopeId {
    id: String,
}

impl Handler {
    /// The cold start: reads the configuration, fetches its `ssm:`/`secretsmanager:` secrets,
    /// compiles the rules of `settings.event_bus_name`, opens the store and builds every used
    /// destination's client.
    pub async fn init(settings: &Settings) -> Result<Handler, LambdaError> {
        let text = source::read(
            settings.config.as_deref(),
            settings.executable_dir.as_deref(),
        )
        .await?;
        let config = parse_config(&text).await?;
        let start = |err: &dyn std::fmt::Display| LambdaError::Start(err.to_string());
        std::fs::create_dir_all(&settings.state_dir).map_err(|err| start(&err))?;
        let store_path = settings.state_dir.join(crate::store::FILE_NAME);
        let registry = crate::registry::Registry::open(
            &store_path,
            &config.service.account,
            &config.service.region,
        )
        .map_err(|err| start(&err))?;
        let managed = managed_rules(&config).map_err(|err| start(&err))?;
        registry
            .replace_managed_rules(CONFIG_OWNER, managed)
            .map_err(|err| start(&err))?;
        let destinations = Destinations {
            configured: config
                .destinations
                .iter()
                .map(|d| (d.name.clone(), d.clone()))
                .collect(),
            aws_endpoint_url: config.service.aws_endpoint_url.clone(),
        };
        let stored = registry
            .rules_for_bus(&settings.event_bus_name)
            .map_err(|err| start(&err))?;
        let (bus, used, problems) =
            BusRules::build(&stored, &destinations).map_err(|err| start(&err))?;
        for problem in problems {
            tracing::warn!(bus = %settings.event_bus_name, "{problem}");
        }
        let mut clients = BTreeMap::new();
        for destination in used {
            let client = TargetClient::new(&destination)
                .await
                .map_err(|err| start(&err))?;
            clients.insert(destination.name.clone(), (client, destination.timeout));
        }
        let rules = bus.runtime.len();
        let buses = HashMap::from([(settings.event_bus_name.clone(), Arc::new(bus))]);
        let acceptor = Acceptor {
            connection: crate::store::open(&store_path).map_err(|err| start(&err))?,
            buses: Arc::new(RwLock::new(buses)),
            metrics: Arc::new(Metrics::default()),
        };
        let connection = crate::store::open(&store_path).map_err(|err| start(&err))?;
        tracing::info!(
            config = %text.name, bus = %settings.event_bus_name, rules,
            destinations = clients.len(), "trailbell is ready."
        );
        Ok(Handler {
            acceptor: Arc::new(Mutex::new(acceptor)),
            connection: Arc::new(Mutex::new(connection)),
            clients,
            dead_letters: tokio::sync::Mutex::new(DeadLetters::new(Duration::from_secs(10))),
            event_bus_name: settings.event_bus_name.clone(),
            backoff: settings.backoff,
            rules,
        })
    }

    /// How many rules the bus has.
    pub fn rules(&self) -> usize {
        self.rules
    }

    /// One invocation: `envelope` is the event as EventBridge sent it; `deadline_ms` is the
    /// invocation's deadline (Unix ms). `Ok` when every alert of the event was delivered or
    /// dead-lettered, with counts; `Err` when some are still pending (EventBridge retries).
    pub async fn handle(
        &self,
        envelope: &str,
        deadline_ms: i64,
    ) -> Result<serde_json::Value, LambdaError> {
        let Ok(EnvelopeId { id: event_id }) = serde_json::from_str::<EnvelopeId>(envelope) else {
            // Retrying cannot make it an event: answer, and say so in the log.
            tracing::warn!("The invocation's payload is not an EventBridge event; ignored.");
            return Ok(json!({ "status": "ignored", "reason": "not an EventBridge event" }));
        };
        let submission_event = match BusEvent::read(
            event_id.clone(),
            envelope.to_owned(),
            crate::sources::live::now_rfc3339(),
        ) {
            Ok(event) => event,
            Err(err) => {
                // The door (decision 0016): retrying cannot make it readable; answer, and say so.
                tracing::warn!(event = %event_id, "The event cannot be read; refused: {err}");
                return Ok(json!({ "status": "refused", "reason": err.to_string() }));
            }
        };
        let bus_name = self.event_bus_name.clone();
        let acceptor = Arc::clone(&self.acceptor);
        let connection = Arc::clone(&self.connection);
        let wanted = event_id.clone();
        let (rows, backlog) = tokio::task::spawn_blocking(move || {
            let mut acceptor = acceptor
                .lock()
                .map_err(|_| "the acceptor is poisoned".to_owned())?;
            if let Err(err) = acceptor.sweep() {
                tracing::error!("closing dedup windows failed: {err}");
            }
            acceptor.write([(bus_name.as_str(), std::slice::from_ref(&submission_event))])?;
            drop(acceptor);
            let connection = connection
                .lock()
                .map_err(|_| "the store connection is poisoned".to_owned())?;
            let rows = deliver::rows_of_event(&connection, &wanted).map_err(|e| e.to_string())?;
            let backlog = deliver::due_backlog(&connection, &wanted, BACKLOG_PER_INVOCATION)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((rows, backlog))
        })
        .await
        .map_err(|err| LambdaError::Store(err.to_string()))?
        .map_err(LambdaError::Store)?;

        let mut dead_letters = self.dead_letters.lock().await;
        let mut delivery = Delivery {
            clients: &self.clients,
            connection: &self.connection,
            dead_letters: &mut dead_letters,
            backoff: self.backoff,
            deadline_ms,
        };
        let alerts = rows.len();
        let (mut delivered, mut dead, mut pending) = (0, 0, Vec::new());
        for row in rows {
            match delivery
                .deliver(row, true)
                .await
                .map_err(|err| LambdaError::Store(err.to_string()))?
            {
                Ending::Delivered => delivered += 1,
                Ending::Dead => dead += 1,
                Ending::Pending(error) => pending.push(error),
            }
        }
        // Best effort: one attempt each; their own events' retries (or later invocations)
        // carry on if they fail.
        for row in backlog {
            if let Err(err) = delivery.deliver(row, false).await {
                tracing::error!("a backlog row could not be recorded: {err}");
            }
        }
        if let Some(last_error) = pending.last() {
            return Err(LambdaError::Undelivered {
                event_id,
                undelivered: pending.len(),
                last_error: last_error.clone(),
            });
        }
        Ok(json!({
            "event_id": event_id,
            "alerts": alerts,
            "delivered": delivered,
            "dead_letters": dead,
        }))
    }
}

/// Parses the configuration after fetching the AWS-held secrets it references; then the deeper
/// checks `trailbell validate` makes.
async fn parse_config(text: &source::ConfigText) -> Result<Config, LambdaError> {
    // A file that is not TOML gets its problem from the parse below, with a location.
    let references = remote_secrets::references(&text.text).unwrap_or_default();
    let endpoint = remote_secrets::endpoint_in(&text.text);
    let fetched = remote_secrets::fetch(&references, endpoint.as_deref()).await?;
    let resolve = remote_secrets::resolver(fetched);
    let config = crate::config::parse(&text.name, &text.text, &resolve)
        .map_err(|err| LambdaError::Config(err.to_string()))?;
    let problems = crate::config::check(&text.name, &config);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(LambdaError::Config(lines.join("\n")));
    }
    Ok(config)
}

/// Reports a cold-start failure to the Runtime API (`POST /runtime/init/error`), as Lambda
/// expects of a custom runtime; Lambda then logs it and fails the invocation that started us.
pub async fn report_init_error(runtime_api: &str, error: &LambdaError) -> Result<(), String> {
    let url = format!("http://{runtime_api}/2018-06-01/runtime/init/error");
    let body = json!({
        "errorMessage": error.to_string(),
        "errorType": error.error_type(),
        "stackTrace": [],
    });
    let answer = reqwest::Client::new()
        .post(url)
        .header("Lambda-Runtime-Function-Error-Type", error.error_type())
        .json(&body)
        .send()
        .await
        .map_err(|err| err.without_url().to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {}", answer.status()))
    }
}
