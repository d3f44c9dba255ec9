//! Delivery: [`Deliverer`] runs one worker task per destination on the caller's tokio runtime.
//!
//! A worker loops: wait for its rate limit's token, then, in one write transaction, record the
//! outcomes of its last batch and claim the destination's next due rows (the store marks them
//! `in_flight`); send them, [`Destination::in_flight`] attempts at a time (one, in order,
//! for Slack, FIFO queues and topics, files), each within the destination's timeout and ending
//! `delivered`, `pending` with the next attempt's time, or `dead`. With nothing due it
//! sleeps until the earliest pending row is due, [`Deliverer::wake`] is called, or
//! [`DelivererConfig::idle_check`] passes (rows made pending by another process). SQLite runs on
//! the blocking pool, never on the runtime's threads. One deliverer per store: on start, rows its
//! destinations left in flight (a crash) are made pending again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::dlq::DeadLetters;
use super::rate::TokenBucket;
use super::retry::{self, Backoff};
use super::step::{self, Verdict};
use super::store::{self, Claim, Claimed, Parent, Settlement};
use super::{OutboxError, now_ms};
use crate::targets::Destination;
use crate::targets::client::{Delivered, DeliveryError, Outgoing, TargetClient};

/// How a deliverer behaves (defaults for production; tests shorten the backoff).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelivererConfig {
    /// Backoff between retries.
    pub backoff: Backoff,
    /// The longest an idle worker sleeps before looking at the store again (catches rows that
    /// another process, like `trailbell outbox retry`, made pending).
    pub idle_check: Duration,
    /// The timeout for sending to a dead-letter queue.
    pub dead_letter_timeout: Duration,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        DelivererConfig {
            backoff: Backoff::default(),
            idle_check: Duration::from_secs(30),
            dead_letter_timeout: Duration::from_secs(10),
        }
    }
}

/// What happened to a row, broadcast to [`Deliverer::subscribe`]rs (tests, metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The row.
    pub id: i64,
    /// Its destination.
    pub destination: String,
    /// What happened.
    pub kind: OutcomeKind,
    /// Attempts made so far.
    pub attempts: u32,
}

/// See [`DeliveryOutcome::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    /// The target confirmed it.
    Delivered {
        /// Milliseconds from the event's acceptance to the target's confirmation.
        after_ms: i64,
    },
    /// The attempt failed; the next is due at this time (Unix ms).
    RetryScheduled {
        /// Unix ms.
        at_ms: i64,
    },
    /// A Slack reply waits for its parent until this time (Unix ms); no attempt was made.
    Deferred {
        /// Unix ms.
        until_ms: i64,
    },
    /// A dead letter.
    Dead,
    /// Claimed but not attempted before the worker stopped: pending again.
    Released,
}

/// The running delivery side: one worker per destination.
#[derive(Debug)]
pub struct Deliverer {
    workers: Vec<(String, Arc<Notify>)>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
    outcomes: broadcast::Sender<DeliveryOutcome>,
}

impl Deliverer {
    /// Opens the store at `store_path`, makes rows these destinations left in flight pending
    /// again, builds each destination's client and starts its worker on the current tokio
    /// runtime.
    pub async fn start(
        store_path: &Path,
        destinations: Vec<Destination>,
        config: DelivererConfig,
    ) -> Result<Deliverer, OutboxError> {
        let names: Vec<String> = destinations.iter().map(|d| d.name.clone()).collect();
        for (index, name) in names.iter().enumerate() {
            if names[..index].contains(name) {
                return Err(OutboxError::Task(format!(
                    "destination {name} is configured twice"
                )));
            }
        }
        let (shutdown, _) = watch::channel(false);
        let (outcomes, _) = broadcast::channel(1024);
        let mut deliverer = Deliverer {
            workers: Vec::new(),
            tasks: Vec::new(),
            shutdown,
            outcomes,
        };
        let path = store_path.to_owned();
        let orphans = blocking(move || {
            let connection = crate::store::open(&path)?;
            store::orphans(&connection, &names)
        })
        .await?;
        for (destination, count) in orphans {
            tracing::warn!(
                %destination,
                count,
                "Outbox rows wait for a destination that is not configured."
            );
        }
        for destination in destinations {
            let client = TargetClient::new(&destination)
                .await
                .map_err(|err| OutboxError::Task(err.to_string()))?;
            let path: PathBuf = store_path.to_owned();
            let name = destination.name.clone();
            let connection = blocking(move || {
                let connection = crate::store::open_for_bookkeeping(&path)?;
                let recovered = store::recover_in_flight(&connection, &name)?;
                if recovered > 0 {
                    tracing::warn!(
                        destination = %name,
                        recovered,
                        "Rows left in flight by an earlier process are pending again."
                    );
                }
                Ok(connection)
            })
            .await?;
            let notify = Arc::new(Notify::new());
            let limiter = destination
                .rate_limit_per_second
                .and_then(|rate| TokenBucket::new(rate, Instant::now()));
            let threads = matches!(&client, TargetClient::Slack(slack) if slack.supports_threads());
            // A rate-limited destination takes one row per token; a Slack destination with
            // threads one at a time, so that a reply's parent is settled before the reply is
            // claimed.
            let one_by_one = limiter.is_some() || threads;
            let worker = Worker {
                claim_limit: if one_by_one { 1 } else { CLAIM_BATCH },
                in_flight: if one_by_one {
                    1
                } else {
                    destination.in_flight()
                },
                limiter,
                threads,
                destination,
                client,
                connection: Arc::new(Mutex::new(connection)),
                notify: Arc::clone(&notify),
                shutdown: deliverer.shutdown.subscribe(),
                outcomes: deliverer.outcomes.clone(),
                config,
                dead_letters: DeadLetters::new(config.dead_letter_timeout),
            };
            deliverer
                .workers
                .push((worker.destination.name.clone(), notify));
            deliverer.tasks.push(tokio::spawn(worker.run()));
        }
        Ok(deliverer)
    }

    /// Tells every worker to look for due rows now (call after an enqueue commits).
    pub fn wake(&self) {
        for (_, notify) in &self.workers {
            notify.notify_one();
        }
    }

    /// Tells one destination's worker to look for due rows now.
    pub fn wake_destination(&self, destination: &str) {
        for (name, notify) in &self.workers {
            if name == destination {
                notify.notify_one();
            }
        }
    }

    /// Outcomes from now on (a slow receiver misses the oldest, see [`broadcast`]).
    pub fn subscribe(&self) -> broadcast::Receiver<DeliveryOutcome> {
        self.outcomes.subscribe()
    }

    /// Stops the workers: each finishes the attempt it has in flight (bounded by its
    /// destination's timeout) and records it; rows not yet claimed stay pending.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for task in self.tasks {
            if let Err(err) = task.await {
                tracing::error!(error = %err, "A delivery worker ended abnormally.");
            }
        }
    }
}

/// Runs `work` on the blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, OutboxError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, OutboxError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| OutboxError::Task(err.to_string()))?
}

struct Worker {
    destination: Destination,
    client: TargetClient,
    /// Whether Slack thread replies apply (`chat.postMessage`).
    threads: bool,
    /// Rows one claim takes ([`CLAIM_BATCH`]; 1 with a rate limit or threads).
    claim_limit: usize,
    /// Attempts at once (1 with a rate limit or threads: those go one by one, in order).
    in_flight: usize,
    connection: Arc<Mutex<Connection>>,
    notify: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    outcomes: broadcast::Sender<DeliveryOutcome>,
    config: DelivererConfig,
    limiter: Option<TokenBucket>,
    dead_letters: DeadLetters,
}

/// The most rows one claim takes. A batch is sent in chunks of `in_flight` attempts at once (one
/// at a time, in order, for Slack, FIFO targets, stdout and files); its outcomes are written
/// with the next claim (or sooner, see [`SETTLE_AFTER`]).
const CLAIM_BATCH: usize = 64;

/// Outcomes older than this are written before the batch ends: a slow target must not hold many
/// delivered rows `in_flight`, where a crash would send them again.
const SETTLE_AFTER: Duration = Duration::from_millis(20);

/// An outcome waiting to be written, and what to announce once it is.
struct Unsettled {
    settlement: Settlement,
    attempts: u32,
    kind: OutcomeKind,
}

impl Worker {
    async fn run(mut self) {
        let mut unsettled: Vec<Unsettled> = Vec::new();
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            if let Some(bucket) = &mut self.limiter {
                let wait = bucket.wait(Instant::now());
                if !wait.is_zero() {
                    if !unsettled.is_empty() {
                        self.settle(&mut unsettled, 0).await;
                    }
                    if self.sleep_or_stop(wait).await {
                        break;
                    }
                    continue;
                }
            }
            match self.settle(&mut unsettled, self.claim_limit).await {
                Some(Claim::Rows(rows)) => {
                    let mut rows = rows.into_iter().peekable();
                    let mut oldest: Option<Instant> = None;
                    while rows.peek().is_some() {
                        if *self.shutdown.borrow() {
                            unsettled.extend(rows.by_ref().map(|row| Unsettled {
                                settlement: Settlement::Released {
                                    id: row.due.outgoing.id,
                                },
                                attempts: row.due.attempts,
                                kind: OutcomeKind::Released,
                            }));
                            break;
                        }
                        let chunk: Vec<Claimed> = rows.by_ref().take(self.in_flight).collect();
                        self.attempt_all(chunk, &mut unsettled).await;
                        let first = *oldest.get_or_insert_with(Instant::now);
                        if first.elapsed() >= SETTLE_AFTER {
                            self.settle(&mut unsettled, 0).await;
                            oldest = None;
                        }
                    }
                }
                Some(Claim::Idle { next_due_ms }) => {
                    if self.idle(next_due_ms).await {
                        break;
                    }
                }
                None => {
                    if self.sleep_or_stop(Duration::from_secs(1)).await {
                        break;
                    }
                }
            }
        }
        if !unsettled.is_empty() {
            self.settle(&mut unsettled, 0).await;
        }
    }

    /// Writes `unsettled` and claims up to `limit` rows in one transaction, then announces what
    /// was written. `None` when the store failed (logged); the outcomes are kept for the next
    /// try, and their rows stay in flight (a restart makes them pending again).
    async fn settle(&self, unsettled: &mut Vec<Unsettled>, limit: usize) -> Option<Claim> {
        let name = self.destination.name.clone();
        let connection = Arc::clone(&self.connection);
        let settlements: Vec<Settlement> = unsettled.iter().map(|u| u.settlement.clone()).collect();
        let result = blocking(move || {
            let mut connection = connection
                .lock()
                .map_err(|_| OutboxError::Task("the outbox connection is poisoned".to_owned()))?;
            store::settle_and_claim(&mut connection, &name, &settlements, now_ms(), limit)
        })
        .await;
        match result {
            Ok(claim) => {
                for done in unsettled.drain(..) {
                    self.announce(done.settlement.id(), done.attempts, done.kind);
                }
                Some(claim)
            }
            Err(err) => {
                tracing::error!(
                    destination = %self.destination.name,
                    error = %err,
                    unsettled = unsettled.len(),
                    "Cannot write to the outbox, will try again."
                );
                None
            }
        }
    }

    /// Sleeps `wait` unless told to stop first; true when told to stop.
    async fn sleep_or_stop(&mut self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => false,
            stop = self.shutdown.wait_for(|stop| *stop) => { let _ = stop; true }
        }
    }

    /// Waits for a wake-up, the next due row or the idle check; true when told to stop.
    async fn idle(&mut self, next_due_ms: Option<i64>) -> bool {
        let wait = next_due_ms.map_or(self.config.idle_check, |due| {
            let millis = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
            Duration::from_millis(millis).min(self.config.idle_check)
        });
        let notify = Arc::clone(&self.notify);
        tokio::select! {
            () = notify.notified() => false,
            () = tokio::time::sleep(wait) => false,
            stop = self.shutdown.wait_for(|stop| *stop) => { let _ = stop; true }
        }
    }

    fn announce(&self, id: i64, attempts: u32, kind: OutcomeKind) {
        // No subscribers is fine.
        let _ = self.outcomes.send(DeliveryOutcome {
            id,
            destination: self.destination.name.clone(),
            kind,
            attempts,
        });
    }

    /// Makes one attempt at each of `chunk` (at most `in_flight` rows), all at once, and adds
    /// what to write to `unsettled`.
    async fn attempt_all(&mut self, mut chunk: Vec<Claimed>, unsettled: &mut Vec<Unsettled>) {
        if chunk.len() == 1
            && let Some(claimed) = chunk.pop()
        {
            unsettled.push(self.attempt(claimed).await);
            return;
        }
        // Only destinations without threads or a rate limit get here (`in_flight` > 1).
        let now = now_ms();
        let (too_old, due): (Vec<Claimed>, Vec<Claimed>) = chunk
            .into_iter()
            .partition(|claimed| step::too_old(&claimed.due, now));
        let sent = futures_util::future::join_all(
            due.iter().map(|claimed| self.send(&claimed.due.outgoing)),
        )
        .await;
        for (claimed, (started, result)) in due.into_iter().zip(sent) {
            unsettled.push(self.conclude(claimed, started, result).await);
        }
        for claimed in too_old {
            unsettled.push(
                self.die(claimed, None, Some(retry::MAXIMUM_EVENT_AGE_EXCEEDED))
                    .await,
            );
        }
    }

    /// Sends `outgoing` once, within the destination's timeout (see [`step::send`]).
    async fn send(&self, outgoing: &Outgoing) -> (i64, Result<Delivered, DeliveryError>) {
        step::send(&self.client, outgoing, self.destination.timeout).await
    }

    /// Makes one attempt at a claimed row (or defers it, or finds it too old) and says what to
    /// write.
    async fn attempt(&mut self, claimed: Claimed) -> Unsettled {
        let id = claimed.due.outgoing.id;
        let now = now_ms();
        if step::too_old(&claimed.due, now) {
            return self
                .die(claimed, None, Some(retry::MAXIMUM_EVENT_AGE_EXCEEDED))
                .await;
        }
        let mut outgoing = claimed.due.outgoing.clone();
        if self.threads {
            match &claimed.parent {
                Some(Parent::Delivered { ts }) => outgoing.thread_ts.clone_from(ts),
                Some(Parent::Waiting {
                    next_attempt_at_ms,
                    in_flight,
                }) => {
                    // After the parent's turn: later than its due time, so it is claimed first.
                    let until = if *in_flight {
                        now + 200
                    } else {
                        (*next_attempt_at_ms).max(now) + 1
                    };
                    return Unsettled {
                        settlement: Settlement::Deferred { id, until },
                        attempts: claimed.due.attempts,
                        kind: OutcomeKind::Deferred { until_ms: until },
                    };
                }
                Some(Parent::Gone) | None => {}
            }
        }
        if let Some(bucket) = &mut self.limiter {
            bucket.take(Instant::now());
        }
        let (started, result) = self.send(&outgoing).await;
        self.conclude(claimed, started, result).await
    }

    /// What to write after an attempt that started at `started` and ended with `result`.
    async fn conclude(
        &mut self,
        claimed: Claimed,
        started: i64,
        result: Result<Delivered, DeliveryError>,
    ) -> Unsettled {
        let id = claimed.due.outgoing.id;
        let attempts = claimed.due.attempts + 1;
        match step::judge(&claimed.due, &self.config.backoff, attempts, result) {
            Verdict::Delivered(delivered) => {
                tracing::debug!(
                    destination = %self.destination.name,
                    id,
                    rule = %claimed.due.outgoing.rule_name,
                    attempts,
                    "Alert delivered."
                );
                let finished = now_ms();
                Unsettled {
                    settlement: Settlement::Delivered {
                        id,
                        started,
                        finished,
                        delivered,
                    },
                    attempts,
                    kind: OutcomeKind::Delivered {
                        after_ms: finished.saturating_sub(claimed.due.age_from_ms),
                    },
                }
            }
            Verdict::RetryAt { at_ms, error } => {
                tracing::warn!(
                    destination = %self.destination.name,
                    id,
                    attempts,
                    error = %error,
                    "Delivery failed, will retry."
                );
                Unsettled {
                    settlement: Settlement::Retry {
                        id,
                        started,
                        next_attempt_at: at_ms,
                        error,
                    },
                    attempts,
                    kind: OutcomeKind::RetryScheduled { at_ms },
                }
            }
            Verdict::Dead { error, condition } => {
                self.die(claimed, Some((started, error)), condition).await
            }
        }
    }

    /// Makes the row a dead letter (after sending it to its dead-letter queue, if it has one).
    async fn die(
        &mut self,
        claimed: Claimed,
        attempt: Option<(i64, DeliveryError)>,
        condition: Option<&'static str>,
    ) -> Unsettled {
        let id = claimed.due.outgoing.id;
        let attempts = claimed.due.attempts + u32::from(attempt.is_some());
        let dead_letter_status = step::bury(
            &mut self.dead_letters,
            &self.destination.name,
            &claimed.due,
            attempts,
            attempt.as_ref().map(|(_, error)| error),
            claimed.last_error.as_deref(),
            condition,
        )
        .await;
        Unsettled {
            settlement: Settlement::Dead {
                id,
                finished: now_ms(),
                attempt,
                exhausted_retry_condition: condition,
                dead_letter_status,
            },
            attempts,
            kind: OutcomeKind::Dead,
        }
    }
}
