//! The service's counters, served as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::text::encode_registry;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::outbox::{DeliveryOutcome, OutcomeKind};

/// Counters of the whole service; cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Histograms and `trailbell_build_info`, kept by `prometheus-client` (decision 0058).
    pub graphs: Graphs,
    /// Events accepted onto a bus (PutEvents entries, events read by sources).
    pub events_in: AtomicU64,
    /// Events that could not be read (not JSON, too large) and were refused.
    pub events_refused: AtomicU64,
    /// Rule matches (one event matching three rules counts three).
    pub matched: AtomicU64,
    /// Matches silenced by an exception.
    pub suppressed: AtomicU64,
    /// Matches held back by a threshold or folded by dedup.
    pub held: AtomicU64,
    /// Alerts written to the outbox.
    pub enqueued: AtomicU64,
    /// Per source: (lag in seconds, errors).
    sources: Mutex<BTreeMap<String, SourceStatus>>,
    /// Why the acceptor's last write failed; cleared by its next commit. `/health` answers 503
    /// while it is set.
    store_error: Mutex<Option<String>>,
    /// The destinations being delivered to: their gauges read 0 when the outbox has nothing
    /// for them, rather than vanishing.
    destinations: Mutex<Vec<String>>,
}

/// The metrics `prometheus-client` keeps and encodes: latency histograms and the build's
/// version. Observing is lock-free; encoding reads only these, never the store.
#[derive(Debug)]
pub struct Graphs {
    /// How long a PutEvents request took to answer, in seconds (accepted events are committed
    /// to the store by then).
    pub put_events_seconds: Histogram,
    /// Delivery outcomes by destination and outcome (`delivered`, `retried`, `dead`): bounded by
    /// the configured destinations.
    deliveries: Family<Vec<(String, String)>, Counter>,
    /// Seconds from an event's acceptance to its alert's delivery, per destination.
    accepted_to_delivered: HandOffs,
    registry: Registry,
}

/// Label pairs (name, value).
type Labels = Vec<(String, String)>;

/// Hand-off histograms by label set, each made with [`hand_off_histogram`].
type HandOffs = Family<Labels, Histogram, fn() -> Histogram>;

/// Buckets for hand-off times: 10 ms to about 45 minutes (retries with backoff reach minutes).
fn hand_off_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 4.0, 10))
}

impl Graphs {
    /// Counts one outcome of the deliverer.
    pub fn delivery(&self, outcome: &DeliveryOutcome) {
        let name = match outcome.kind {
            OutcomeKind::Delivered { after_ms } => {
                #[allow(clippy::cast_precision_loss)] // milliseconds far below 2^52
                let seconds = after_ms.max(0) as f64 / 1000.0;
                self.accepted_to_delivered
                    .get_or_create(&vec![(
                        "destination".to_owned(),
                        outcome.destination.clone(),
                    )])
                    .observe(seconds);
                "delivered"
            }
            OutcomeKind::RetryScheduled { .. } => "retried",
            OutcomeKind::Dead => "dead",
            // Not an attempt's end.
            OutcomeKind::Deferred { .. } | OutcomeKind::Released => return,
        };
        self.deliveries
            .get_or_create(&vec![
                ("destination".to_owned(), outcome.destination.clone()),
                ("outcome".to_owned(), name.to_owned()),
            ])
            .inc();
    }
}

impl Default for Graphs {
    fn default() -> Self {
        // 1 ms to about 16 s: a commit is milliseconds, a stalled store seconds.
        let put_events_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let build_info = Family::<Vec<(String, String)>, Gauge>::default();
        build_info
            .get_or_create(&vec![(
                "version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )])
            .set(1);
        let mut registry = Registry::default();
        registry.register(
            "trailbell_put_events_duration_seconds",
            "Time to answer a PutEvents request.",
            put_events_seconds.clone(),
        );
        registry.register(
            "trailbell_build_info",
            "The running build; always 1.",
            build_info,
        );
        let deliveries = Family::<Vec<(String, String)>, Counter>::default();
        // Registered without `_total`: the encoder appends it to counters.
        registry.register(
            "trailbell_deliveries",
            "Delivery outcomes (delivered, retried, dead), per destination.",
            deliveries.clone(),
        );
        let accepted_to_delivered: HandOffs = Family::new_with_constructor(hand_off_histogram);
        registry.register(
            "trailbell_accepted_to_delivered_seconds",
            "Time from an event's acceptance to its alert's delivery, per destination.",
            accepted_to_delivered.clone(),
        );
        Graphs {
            put_events_seconds,
            deliveries,
            accepted_to_delivered,
            registry,
        }
    }
}

/// How one source is doing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceStatus {
    /// How far behind the newest event it has seen is, in seconds.
    pub lag_seconds: f64,
    /// Errors so far (unreadable files, failed calls).
    pub errors: u64,
    /// Events it handed to the service.
    pub events: u64,
    /// Why its last look failed as a whole (a directory it cannot list, a queue it cannot read);
    /// `None` once a look succeeds. `/health` answers 503 while it is set.
    pub failing: Option<String>,
}

/// Delivery counts from the outbox, read when `/metrics` is asked (indexed, see
/// [`crate::outbox::Outbox::unsettled_counts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Per destination.
    pub per_destination: BTreeMap<String, DestinationCounts>,
}

/// One destination's alerts that need attention, by state (delivered and retried ones are
/// counted as they happen, in `trailbell_deliveries_total`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestinationCounts {
    /// Waiting or in flight.
    pub pending: u64,
    /// Dead-lettered.
    pub dead: u64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Records a source's progress.
    pub fn source(&self, name: &str, update: impl FnOnce(&mut SourceStatus)) {
        if let Ok(mut sources) = self.sources.lock() {
            update(sources.entry(name.to_owned()).or_default());
        }
    }

    /// Records the outcome of a write of the acceptor: `Some` why it failed, `None` it committed.
    pub fn store_written(&self, error: Option<String>) {
        if let Ok(mut current) = self.store_error.lock() {
            *current = error;
        }
    }

    /// Records the destinations the deliverer now serves.
    pub fn delivering_to(&self, names: Vec<String>) {
        if let Ok(mut current) = self.destinations.lock() {
            *current = names;
        }
    }

    /// Why the store could not write the last time, if its last write failed.
    pub fn store_error(&self) -> Option<String> {
        self.store_error.lock().ok().and_then(|e| e.clone())
    }

    /// The sources' status, by name.
    pub fn sources(&self) -> BTreeMap<String, SourceStatus> {
        self.sources.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The Prometheus text exposition of every counter.
    ///
    /// ```
    /// use trailbell::service::metrics::{DeliveryCounts, Metrics};
    ///
    /// let metrics = Metrics::default();
    /// Metrics::bump(&metrics.events_in, 3);
    /// let text = metrics.render(&DeliveryCounts::default());
    /// assert!(text.contains("trailbell_events_in_total 3\n"));
    /// ```
    pub fn render(&self, deliveries: &DeliveryCounts) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        counter(
            &mut out,
            "trailbell_events_in_total",
            "Events accepted onto a bus.",
            load(&self.events_in),
        );
        counter(
            &mut out,
            "trailbell_events_refused_total",
            "Events refused as unreadable.",
            load(&self.events_refused),
        );
        counter(
            &mut out,
            "trailbell_matched_total",
            "Rule matches.",
            load(&self.matched),
        );
        counter(
            &mut out,
            "trailbell_suppressed_total",
            "Matches silenced by an exception.",
            load(&self.suppressed),
        );
        counter(
            &mut out,
            "trailbell_held_total",
            "Matches held by a threshold or folded by dedup.",
            load(&self.held),
        );
        counter(
            &mut out,
            "trailbell_enqueued_total",
            "Alerts written to the outbox.",
            load(&self.enqueued),
        );
        type Pick = fn(&DestinationCounts) -> u64;
        let families: [(&str, &str, Pick); 2] = [
            (
                "trailbell_pending",
                "Alerts waiting for delivery, per destination.",
                |c| c.pending,
            ),
            (
                "trailbell_dead_lettered",
                "Alerts dead-lettered, per destination.",
                |c| c.dead,
            ),
        ];
        let mut per_destination = deliveries.per_destination.clone();
        if let Ok(names) = self.destinations.lock() {
            for name in names.iter() {
                per_destination.entry(name.clone()).or_default();
            }
        }
        for (name, help, pick) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (destination, counts) in &per_destination {
                let _ = writeln!(
                    out,
                    "{name}{{destination=\"{}\"}} {}",
                    label(destination),
                    pick(counts)
                );
            }
        }
        let sources = self.sources();
        let _ = writeln!(
            out,
            "# HELP trailbell_source_lag_seconds How far behind each source is.\n# TYPE trailbell_source_lag_seconds gauge"
        );
        for (name, status) in &sources {
            let _ = writeln!(
                out,
                "trailbell_source_lag_seconds{{source=\"{}\"}} {}",
                label(name),
                status.lag_seconds
            );
        }
        let _ = writeln!(
            out,
            "# HELP trailbell_source_errors_total Errors per source.\n# TYPE trailbell_source_errors_total counter"
        );
        for (name, status) in &sources {
            let _ = writeln!(
                out,
                "trailbell_source_errors_total{{source=\"{}\"}} {}",
                label(name),
                status.errors
            );
        }
        // Without the OpenMetrics `# EOF`: the answer is Prometheus text 0.0.4.
        let _ = encode_registry(&mut out, &self.graphs.registry);
        out
    }
}

/// A label value escaped as Prometheus requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
