//! The service assembled: the store, the registry loaded from the configuration, the acceptor,
//! the deliverer, the API and the live sources; stopped in order so that nothing accepted is lost.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::Submission;
use super::accept::{Acceptor, Buses};
use super::bus::{BusError, BusRules, Destinations};
pub use super::managed::{CONFIG_OWNER, managed_rules};
use super::metrics::{DeliveryCounts, DestinationCounts, Metrics};
use crate::api::{ApiAuth, ApiState};
use crate::config::{Config, SourceSettings};
use crate::outbox::{Deliverer, DelivererConfig, Outbox};
use crate::registry::Registry;
use crate::rules::RulesError;
use crate::sources::live::SourceContext;
use crate::store::Checkpointer;
use crate::targets::Destination;

/// How many submissions the acceptor takes into one transaction at most.
const SUBMISSIONS_PER_BATCH: usize = 256;

/// How often the WAL is copied into the database file, off the event path (see
/// [`crate::store::Checkpointer`]).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Why the service could not start or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The data directory could not be made.
    #[error(
        "cannot create the data directory {path}: {source}; give --data-dir a directory this \
         user may write"
    )]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No data directory was given and the user has none.
    #[error("no data directory: pass --data-dir")]
    NoDataDir,
    /// The store or the registry failed.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] crate::outbox::OutboxError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A stored rule cannot be used.
    #[error(transparent)]
    Bus(#[from] super::bus::BusError),
    /// A rule pack could not be read.
    #[error("rule pack {path}: {source}")]
    RulePack {
        /// The pack's path as configured.
        path: String,
        /// Why.
        #[source]
        source: RulesError,
    },
    /// Two rules of the configuration share a name on a bus.
    #[error("two rules named {name} on the bus {bus}: rule names must be unique per bus")]
    DuplicateRule {
        /// The bus.
        bus: String,
        /// The name.
        name: String,
    },
    /// The API could not listen.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The API refused to start.
    #[error(transparent)]
    Serve(#[from] crate::api::ServeError),
    /// The data directory is in use, or its store is damaged.
    #[error(transparent)]
    Guard(#[from] crate::store::guard::GuardError),
    /// A task failed.
    #[error("{0}")]
    Task(String),
}

/// The user's data directory for trailbell (`~/.local/share/trailbell` on Linux).
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("trailbell"))
}

/// A running service.
pub struct Service {
    api_address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    store_path: PathBuf,
    metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
    submissions: Option<mpsc::Sender<Submission>>,
    deliverer: Arc<tokio::sync::Mutex<Option<Deliverer>>>,
    api: JoinHandle<Result<(), crate::api::ServeError>>,
    acceptor: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    checkpointer: Checkpointer,
    rules: usize,
    /// Held until the service is dropped: no other process uses the data directory meanwhile.
    _lock: crate::store::guard::DataDirLock,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("api_address", &self.api_address)
            .field("store_path", &self.store_path)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Starts everything; `data_dir` overrides the configuration's.
    pub async fn start(config: Config, data_dir: Option<PathBuf>) -> Result<Service, ServiceError> {
        let data_dir = data_dir
            .or_else(|| config.service.data_dir.clone())
            .or_else(default_data_dir)
            .ok_or(ServiceError::NoDataDir)?;
        std::fs::create_dir_all(&data_dir).map_err(|source| ServiceError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        // Before anything reads or writes the store: one service per directory, a sound store.
        let lock = crate::store::guard::lock_data_dir(&data_dir)?;
        let store_path = data_dir.join(crate::store::FILE_NAME);
        crate::store::guard::check_store(&store_path)?;
        // Before the acceptor's and deliverer's connections, which leave checkpoints to it.
        let checkpointer = Checkpointer::start(&store_path, CHECKPOINT_INTERVAL)?;
        let registry =
            Registry::open(&store_path, &config.service.account, &config.service.region)?;
        registry.leave_checkpoints_to_background()?;
        registry.set_rule_limits(config.service.rule_limits);
        let managed = managed_rules(&config)?;
        let rules = managed.len();
        registry.replace_managed_rules(CONFIG_OWNER, managed)?;

        let destinations = Destinations {
            configured: config
                .destinations
                .iter()
                .map(|d| {
                    (
                        d.name.clone(),
                        d.clone()
                            .with_default_endpoint(config.service.aws_endpoint_url.as_deref()),
                    )
                })
                .collect(),
            aws_endpoint_url: config.service.aws_endpoint_url.clone(),
        };
        let buses: Buses = Arc::new(RwLock::new(HashMap::new()));
        let used = rebuild(&registry, &destinations, &buses)?;
        let metrics = Arc::new(Metrics::default());
        let deliverer = start_delivery(&store_path, used.clone(), &metrics).await?;
        let deliverer = Arc::new(tokio::sync::Mutex::new(Some(deliverer)));

        let (shutdown, shutdown_rx) = watch::channel(false);
        let (submissions, receiver) = mpsc::channel::<Submission>(1024);

        let acceptor = Acceptor {
            connection: crate::store::open_with(&store_path, config.service.durability)?,
            buses: Arc::clone(&buses),
            metrics: Arc::clone(&metrics),
        };
        let acceptor = tokio::spawn(run_acceptor(acceptor, receiver, Arc::clone(&deliverer)));

        let mut background = vec![tokio::spawn(watch_registry(
            registry.clone(),
            destinations.clone(),
            Arc::clone(&buses),
            used,
            DeliverySlot {
                store_path: store_path.clone(),
                deliverer: Arc::clone(&deliverer),
                metrics: Arc::clone(&metrics),
            },
            shutdown_rx.clone(),
        ))];

        let listener = tokio::net::TcpListener::bind(config.service.listen)
            .await
            .map_err(|source| ServiceError::Listen {
                address: config.service.listen,
                source,
            })?;
        let api_address = listener
            .local_addr()
            .map_err(|source| ServiceError::Listen {
                address: config.service.listen,
                source,
            })?;
        let auth = if config.api.authentication {
            ApiAuth::Keys(config.api.access_keys.clone())
        } else {
            ApiAuth::Disabled
        };
        let mut state = ApiState::new(registry.clone(), submissions.clone(), auth);
        state.account = config.service.account.clone();
        state.region = config.service.region.clone();
        state.metrics = Arc::clone(&metrics);
        state.destinations = Some(destinations.clone());
        state.limits.http = config.service.http;
        let mut extra = operations_router(Arc::clone(&metrics), store_path.clone());
        let metrics_address = match config.service.metrics_listen {
            Some(address) => {
                let (served, bound) =
                    serve_metrics(address, extra, config.service.http, shutdown_rx.clone()).await?;
                background.push(served);
                // The API's address then answers /health but not /metrics (decision 0020).
                extra = operations_router(Arc::clone(&metrics), store_path.clone())
                    .layer(axum::middleware::from_fn(without_metrics));
                Some(bound)
            }
            None => None,
        };
        let mut api_shutdown = shutdown_rx.clone();
        let api = tokio::spawn(crate::api::serve_with(listener, state, extra, async move {
            let _ = api_shutdown.wait_for(|stop| *stop).await;
        }));

        for (index, source) in config.sources.iter().enumerate() {
            let (name, bus) = match source {
                SourceSettings::Directory {
                    path,
                    event_bus_name,
                    ..
                } => (format!("directory:{}", path.display()), event_bus_name),
                SourceSettings::Sqs {
                    queue_url,
                    event_bus_name,
                } => (format!("sqs:{queue_url}"), event_bus_name),
                SourceSettings::LookupEvents { event_bus_name, .. } => {
                    (format!("lookup-events:{index}"), event_bus_name)
                }
            };
            let context = SourceContext {
                name,
                event_bus_name: bus.clone(),
                submissions: submissions.clone(),
                metrics: Arc::clone(&metrics),
                shutdown: shutdown_rx.clone(),
            };
            background.push(match source.clone() {
                SourceSettings::Directory { path, interval, .. } => {
                    tokio::spawn(crate::sources::live::directory::watch(
                        context,
                        path,
                        interval,
                        store_path.clone(),
                    ))
                }
                SourceSettings::Sqs { queue_url, .. } => {
                    tokio::spawn(crate::sources::live::sqs::watch(
                        context,
                        queue_url,
                        config.service.aws_endpoint_url.clone(),
                    ))
                }
                SourceSettings::LookupEvents {
                    regions, interval, ..
                } => tokio::spawn(crate::sources::live::lookup::watch(
                    context,
                    regions,
                    interval,
                    config.service.aws_endpoint_url.clone(),
                    store_path.clone(),
                )),
            });
        }

        Ok(Service {
            api_address,
            metrics_address,
            store_path,
            metrics,
            shutdown,
            submissions: Some(submissions),
            deliverer,
            api,
            acceptor,
            background,
            checkpointer,
            rules,
            _lock: lock,
        })
    }

    /// Where the API listens (the port is the real one when 0 was configured).
    pub fn api_address(&self) -> SocketAddr {
        self.api_address
    }

    /// Where `/metrics` is served apart from the API (`service.metrics_listen`), if anywhere.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// The store file.
    pub fn store_path(&self) -> &Path {
        &self.store_path
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// How many rules came from the configuration.
    pub fn configured_rules(&self) -> usize {
        self.rules
    }

    /// Stops in order: the API and the sources stop taking events; the acceptor commits what it
    /// took; the deliverer finishes its attempts in flight. What is left pending stays in the
    /// outbox for the next start.
    pub async fn stop(mut self) -> Result<(), ServiceError> {
        let _ = self.shutdown.send(true);
        let api = self.api.await;
        for task in self.background.drain(..) {
            let _ = task.await;
        }
        // Sources and the API hold clones; with ours dropped the channel closes once they end.
        self.submissions.take();
        let _ = self.acceptor.await;
        if let Some(deliverer) = self.deliverer.lock().await.take() {
            deliverer.shutdown().await;
        }
        let checkpointer = self.checkpointer;
        let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        match api {
            Ok(result) => result.map_err(ServiceError::from),
            Err(err) => Err(ServiceError::Task(err.to_string())),
        }
    }
}

/// Compiles every bus's rules into `buses`; returns the destinations their targets use.
fn rebuild(
    registry: &Registry,
    destinations: &Destinations,
    buses: &Buses,
) -> Result<Vec<Destination>, ServiceError> {
    let mut compiled = HashMap::new();
    let mut used: BTreeMap<String, Destination> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = registry.list_buses(None, after.as_deref(), 100)?;
        for bus in &page {
            let rules = registry.rules_for_bus(&bus.name)?;
            match BusRules::build(&rules, destinations) {
                Ok((bus_rules, bus_destinations, problems)) => {
                    for problem in problems {
                        tracing::warn!(bus = %bus.name, "{problem}");
                    }
                    for destination in bus_destinations {
                        used.insert(destination.name.clone(), destination);
                    }
                    compiled.insert(bus.name.clone(), Arc::new(bus_rules));
                }
                Err(BusError::Rules(err)) => {
                    tracing::error!(bus = %bus.name, "the bus's rules do not compile: {err}")
                }
            }
        }
        after = page.last().map(|bus| bus.name.clone());
        if !more || after.is_none() {
            break;
        }
    }
    // Configured destinations get a worker even without rules, so their old rows drain.
    for (name, destination) in &destinations.configured {
        used.entry(name.clone())
            .or_insert_with(|| destination.clone());
    }
    if let Ok(mut current) = buses.write() {
        *current = compiled;
    }
    Ok(used.into_values().collect())
}

/// Where the running deliverer is kept, and what a restarted one needs.
struct DeliverySlot {
    store_path: PathBuf,
    deliverer: Arc<tokio::sync::Mutex<Option<Deliverer>>>,
    metrics: Arc<Metrics>,
}

/// Starts delivery to `used` with its outcomes counted in `metrics`.
async fn start_delivery(
    store_path: &Path,
    used: Vec<Destination>,
    metrics: &Arc<Metrics>,
) -> Result<Deliverer, crate::outbox::OutboxError> {
    metrics.delivering_to(used.iter().map(|d| d.name.clone()).collect());
    let deliverer = Deliverer::start(store_path, used, DelivererConfig::default()).await?;
    let mut outcomes = deliverer.subscribe();
    let metrics = Arc::clone(metrics);
    // Ends when the deliverer is dropped (its sender closes).
    tokio::spawn(async move {
        loop {
            match outcomes.recv().await {
                Ok(outcome) => metrics.graphs.delivery(&outcome),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "Delivery outcomes were not counted.");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(deliverer)
}

/// Recompiles on every registry change; restarts the deliverer when the set of destinations
/// changed (a rule put through the API may name a new SNS topic or SQS queue).
async fn watch_registry(
    registry: Registry,
    destinations: Destinations,
    buses: Buses,
    mut used: Vec<Destination>,
    slot: DeliverySlot,
    mut shutdown: watch::Receiver<bool>,
) {
    let DeliverySlot {
        store_path,
        deliverer,
        metrics,
    } = slot;
    let mut changes = registry.subscribe();
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let (registry, destinations, buses) =
            (registry.clone(), destinations.clone(), Arc::clone(&buses));
        let rebuilt =
            tokio::task::spawn_blocking(move || rebuild(&registry, &destinations, &buses)).await;
        let now_used = match rebuilt {
            Ok(Ok(now_used)) => now_used,
            Ok(Err(err)) => {
                tracing::error!("recompiling the rules failed: {err}");
                continue;
            }
            Err(err) => {
                tracing::error!("recompiling the rules failed: {err}");
                continue;
            }
        };
        if now_used != used {
            let mut slot = deliverer.lock().await;
            if let Some(old) = slot.take() {
                old.shutdown().await;
            }
            match start_delivery(&store_path, now_used.clone(), &metrics).await {
                Ok(started) => *slot = Some(started),
                Err(err) => tracing::error!("restarting delivery failed: {err}"),
            }
            used = now_used;
        }
    }
}

/// Takes submissions in batches until the channel closes; sweeps dedup windows as they close.
async fn run_acceptor(
    mut acceptor: Acceptor,
    mut receiver: mpsc::Receiver<Submission>,
    deliverer: Arc<tokio::sync::Mutex<Option<Deliverer>>>,
) {
    // When the next dedup window closes; learnt after each batch, in the same trip to the
    // blocking pool.
    let mut next_close = {
        let (returned, close) = tokio::task::spawn_blocking(move || {
            let close = acceptor.next_window_close();
            (acceptor, close)
        })
        .await
        .unwrap_or_else(|_| std::process::abort());
        acceptor = returned;
        close
    };
    loop {
        let wait = next_close.map(|close| {
            Duration::from_millis(u64::try_from(close - crate::outbox::now_ms()).unwrap_or(0))
        });
        let first = tokio::select! {
            received = receiver.recv() => match received {
                Some(submission) => Some(submission),
                None => return,
            },
            () = sleep_or_forever(wait) => None,
        };
        let mut batch = Vec::new();
        if let Some(first) = first {
            batch.push(first);
            while batch.len() < SUBMISSIONS_PER_BATCH {
                match receiver.try_recv() {
                    Ok(submission) => batch.push(submission),
                    Err(_) => break,
                }
            }
        }
        let sweep_due = next_close.is_some_and(|close| close <= crate::outbox::now_ms());
        let (returned, written, close) = tokio::task::spawn_blocking(move || {
            let mut written = 0;
            if sweep_due {
                match acceptor.sweep() {
                    Ok(count) => written += count,
                    Err(err) => tracing::error!("closing dedup windows failed: {err}"),
                }
            }
            let had_events = !batch.is_empty();
            if had_events {
                match acceptor.accept(batch) {
                    Ok(count) => written += count,
                    Err(err) => tracing::error!(
                        "events could not be stored; their senders were told: {err}"
                    ),
                }
            }
            // Only a batch or a sweep can open or close a window.
            let close = acceptor.next_window_close();
            (acceptor, written, close)
        })
        .await
        .unwrap_or_else(|_| std::process::abort());
        acceptor = returned;
        next_close = close;
        if written > 0
            && let Some(deliverer) = deliverer.lock().await.as_ref()
        {
            deliverer.wake();
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// Serves `router` (`/health`, `/metrics`) on `address` until shutdown.
async fn serve_metrics(
    address: SocketAddr,
    router: axum::Router,
    limits: crate::api::HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(JoinHandle<()>, SocketAddr), ServiceError> {
    let listen_error = |source| ServiceError::Listen { address, source };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    tracing::info!(address = %bound, "Metrics listening.");
    let served = tokio::spawn(crate::api::connections::serve(
        listener,
        router,
        limits,
        async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        },
    ));
    Ok((served, bound))
}

/// Hides `/metrics` on the API's address when it has an address of its own.
async fn without_metrics(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if request.uri().path() == "/metrics" {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// `/health` and `/metrics`.
fn operations_router(metrics: Arc<Metrics>, store_path: PathBuf) -> axum::Router {
    use axum::routing::get;
    let for_metrics = store_path.clone();
    let health_metrics = Arc::clone(&metrics);
    axum::Router::new()
        .route(
            "/health",
            get(move || {
                let (store_path, metrics) = (store_path.clone(), Arc::clone(&health_metrics));
                async move {
                    let problems =
                        tokio::task::spawn_blocking(move || health_problems(&store_path, &metrics))
                            .await
                            .unwrap_or_else(|err| vec![format!("the health check failed: {err}")]);
                    if problems.is_empty() {
                        (axum::http::StatusCode::OK, "ok\n".to_owned())
                    } else {
                        let mut body = problems.join("\n");
                        body.push('\n');
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, body)
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let (metrics, store_path) = (Arc::clone(&metrics), for_metrics.clone());
                async move {
                    let counts = tokio::task::spawn_blocking(move || delivery_counts(&store_path))
                        .await
                        .unwrap_or_default();
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        metrics.render(&counts),
                    )
                }
            }),
        )
}

/// Why the service is not healthy, one line each (decision 0018): the store cannot be opened or
/// its write lock taken within a second, the acceptor's last write failed (until one commits), or
/// a source's last look failed.
fn health_problems(store_path: &Path, metrics: &Metrics) -> Vec<String> {
    let mut problems = Vec::new();
    let store = crate::store::open(store_path)
        .map_err(|err| err.to_string())
        .and_then(|connection| {
            connection
                .busy_timeout(Duration::from_secs(1))
                .and_then(|()| connection.execute_batch("BEGIN IMMEDIATE; ROLLBACK;"))
                .map_err(|err| err.to_string())
        });
    if let Err(err) = store {
        problems.push(format!(
            "store {} cannot write: {err}",
            store_path.display()
        ));
    }
    if let Some(err) = metrics.store_error() {
        problems.push(format!(
            "store {} cannot write: the last write failed: {err}",
            store_path.display()
        ));
    }
    for (name, status) in metrics.sources() {
        if let Some(reason) = status.failing {
            problems.push(format!("source {name} is failing: {reason}"));
        }
    }
    problems
}

fn delivery_counts(store_path: &Path) -> DeliveryCounts {
    let mut counts = DeliveryCounts::default();
    // Best effort: a scrape while the store is busy shows no delivery counts rather than failing.
    let Ok(rows) = Outbox::open(store_path).and_then(|outbox| outbox.unsettled_counts()) else {
        return counts;
    };
    for (destination, (pending, dead)) in rows {
        counts
            .per_destination
            .insert(destination, DestinationCounts { pending, dead });
    }
    counts
}
