//! The outbox's rows: writing them ([`enqueue`]), the workers' claims and outcomes, and the
//! [`Outbox`] handle that people and the CLI use to look and repair.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, params};
use serde::Serialize;

use super::{MessageAttributes, NewMessage, OutboxError, now_ms};
use crate::targets::RetryPolicy;
use crate::targets::client::{Delivered, DeliveryError, Outgoing};

/// Writes `messages` in the caller's transaction; a message whose idempotency key is already in
/// the outbox is ignored. Returns how many rows were added. Nothing is written unless the caller
/// commits, so alerts and the caller's own state (a cursor, an archive) commit together.
pub fn enqueue(tx: &Transaction<'_>, messages: &[NewMessage]) -> Result<usize, OutboxError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (idempotency_key, destination, rule_name, target_id,
            event_id, payload, attributes, maximum_retry_attempts, maximum_event_age_seconds,
            dead_letter_queue_url, accepted_at_ms, age_from_ms, next_attempt_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11)",
    )?;
    let mut added = 0;
    for message in messages {
        let policy = message.retry_policy;
        if policy.check().is_err() {
            return Err(OutboxError::InvalidRetryPolicy {
                key: message.idempotency_key.clone(),
            });
        }
        let attributes = serde_json::to_string(&message.attributes)
            .map_err(|err| OutboxError::Task(format!("cannot encode attributes: {err}")))?;
        added += insert.execute(params![
            message.idempotency_key,
            message.destination,
            message.rule_name,
            message.target_id,
            message.event_id,
            message.payload,
            attributes,
            policy.maximum_retry_attempts,
            policy.maximum_event_age_seconds,
            message.dead_letter_queue_url,
            message.accepted_at_ms,
        ])?;
    }
    Ok(added)
}

/// Where a row is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker, being delivered.
    InFlight,
    /// The target confirmed it.
    Delivered,
    /// Given up: a permanent failure, or retries or age exhausted.
    Dead,
}

impl MessageState {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::InFlight => "in_flight",
            MessageState::Delivered => "delivered",
            MessageState::Dead => "dead",
        }
    }

    /// Reads a stored or typed name (`in-flight` too).
    pub fn parse(text: &str) -> Option<MessageState> {
        match text {
            "pending" => Some(MessageState::Pending),
            "in_flight" | "in-flight" => Some(MessageState::InFlight),
            "delivered" => Some(MessageState::Delivered),
            "dead" => Some(MessageState::Dead),
            _ => None,
        }
    }
}

/// How many rows a destination has in each state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DestinationStatus {
    /// The destination's name.
    pub destination: String,
    /// Waiting for an attempt.
    pub pending: u64,
    /// Being delivered.
    pub in_flight: u64,
    /// Confirmed.
    pub delivered: u64,
    /// Dead letters.
    pub dead: u64,
    /// When the oldest pending row was accepted (Unix ms).
    pub oldest_pending_ms: Option<i64>,
    /// Attempts after each row's first, summed over the rows.
    pub retried: u64,
}

/// Which rows [`Outbox::list`] shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFilter {
    /// Only rows in this state.
    pub state: Option<MessageState>,
    /// Only this destination's rows.
    pub destination: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            state: None,
            destination: None,
            limit: 100,
        }
    }
}

/// A row as people see it: everything but the payload (no secrets are ever stored: destinations'
/// URLs and tokens live in the configuration, and errors are redacted before they are stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageSummary {
    /// The row id (what `outbox retry` and `purge` take).
    pub id: i64,
    /// The destination's name.
    pub destination: String,
    /// The rule.
    pub rule_name: String,
    /// The rule's target id.
    pub target_id: String,
    /// The event's id.
    pub event_id: String,
    /// The alert's idempotency key.
    pub idempotency_key: String,
    /// The state.
    pub state: MessageState,
    /// Attempts made.
    pub attempts: u32,
    /// Retries made: the attempts after the first, the number a retry policy's
    /// `MaximumRetryAttempts` counts (and a dead-letter message's `RETRY_ATTEMPTS` reports).
    pub retries: u32,
    /// When the event was accepted (Unix ms).
    pub accepted_at_ms: i64,
    /// When the next attempt is due (Unix ms; meaningful while pending).
    pub next_attempt_at_ms: i64,
    /// When the last attempt started (Unix ms).
    pub last_attempt_at_ms: Option<i64>,
    /// The last failure: `CODE: message`.
    pub last_error: Option<String>,
    /// The last answer's HTTP status.
    pub response_status: Option<u16>,
    /// The start of the last answer's body.
    pub response_body: Option<String>,
    /// The target's id for the delivered message (Slack `ts`, SNS/SQS message id).
    pub remote_id: Option<String>,
    /// When it was delivered or died (Unix ms).
    pub finished_at_ms: Option<i64>,
    /// For retries or age exhausted: `MaximumRetryAttempts` or `MaximumEventAgeExceeded`.
    pub exhausted_retry_condition: Option<String>,
    /// For dead letters with a dead-letter queue: `sent` or `failed: ...`.
    pub dead_letter_status: Option<String>,
}

/// Which dead letters [`Outbox::retry`] sends again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetrySelection {
    /// These rows, if they are dead.
    Ids(Vec<i64>),
    /// Every dead row, or every dead row of one destination.
    Dead {
        /// `None` for every destination.
        destination: Option<String>,
    },
}

/// Which rows [`Outbox::purge`] deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PurgeSelection {
    /// Delivered rows that finished before this time (Unix ms).
    DeliveredBefore(i64),
    /// Dead rows, of one destination or all.
    Dead {
        /// `None` for every destination.
        destination: Option<String>,
    },
    /// These rows, unless a worker holds them (in flight).
    Ids(Vec<i64>),
}

/// A handle on the outbox in a store file, for enqueueing, looking and repairing. (Delivery is
/// [`super::Deliverer`]'s.)
#[derive(Debug)]
pub struct Outbox {
    connection: Connection,
}

const SUMMARY_COLUMNS: &str = "id, destination, rule_name, target_id, event_id, idempotency_key,
    state, attempts, accepted_at_ms, next_attempt_at_ms, last_attempt_at_ms, last_error,
    response_status, response_body, remote_id, finished_at_ms, exhausted_retry_condition,
    dead_letter_status";

impl Outbox {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        Ok(Outbox {
            connection: crate::store::open(path)?,
        })
    }

    /// [`enqueue`] in a transaction of its own.
    pub fn enqueue(&mut self, messages: &[NewMessage]) -> Result<usize, OutboxError> {
        let tx = self.connection.transaction()?;
        let added = enqueue(&tx, messages)?;
        tx.commit()?;
        Ok(added)
    }

    /// Counts per destination and state, by destination name.
    pub fn status(&self) -> Result<Vec<DestinationStatus>, OutboxError> {
        let mut statement = self.connection.prepare(
            "SELECT destination,
                SUM(state = 'pending'), SUM(state = 'in_flight'),
                SUM(state = 'delivered'), SUM(state = 'dead'),
                MIN(CASE WHEN state = 'pending' THEN accepted_at_ms END),
                SUM(MAX(attempts - 1, 0))
             FROM outbox GROUP BY destination ORDER BY destination",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(DestinationStatus {
                destination: row.get(0)?,
                pending: count(row, 1)?,
                in_flight: count(row, 2)?,
                delivered: count(row, 3)?,
                dead: count(row, 4)?,
                oldest_pending_ms: row.get(5)?,
                retried: count(row, 6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per destination, the rows still to deliver (pending or in flight) and the dead ones: for
    /// `/metrics` on every scrape, so only these states are counted, by the `outbox_state`
    /// index; the cost follows what needs attention, not the delivered history (decision 0058).
    pub fn unsettled_counts(&self) -> Result<BTreeMap<String, (u64, u64)>, OutboxError> {
        let mut statement = self.connection.prepare(
            "SELECT destination, state, COUNT(*) FROM outbox
             WHERE state IN ('pending', 'in_flight', 'dead') GROUP BY destination, state",
        )?;
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                count(row, 2)?,
            ))
        })?;
        for row in rows {
            let (destination, state, n) = row?;
            let entry = counts.entry(destination).or_default();
            if state == "dead" {
                entry.1 += n;
            } else {
                entry.0 += n;
            }
        }
        Ok(counts)
    }

    /// Rows matching `filter`, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<MessageSummary>, OutboxError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM outbox
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR destination = ?2)
             ORDER BY id DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(
            params![
                filter.state.map(MessageState::as_str),
                filter.destination,
                limit
            ],
            summary,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One row, if it exists.
    pub fn get(&self, id: i64) -> Result<Option<MessageSummary>, OutboxError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                summary,
            )
            .optional()?)
    }

    /// One row by its idempotency key, if it exists.
    pub fn get_by_key(&self, key: &str) -> Result<Option<MessageSummary>, OutboxError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS} FROM outbox WHERE idempotency_key = ?1"),
                [key],
                summary,
            )
            .optional()?)
    }

    /// Makes the selected dead letters pending again, due now, with their attempts reset and
    /// their age counted from now. Returns how many. A running service picks them up within its
    /// idle check interval ([`super::DelivererConfig::idle_check`]).
    pub fn retry(&mut self, selection: &RetrySelection) -> Result<usize, OutboxError> {
        let now = now_ms();
        let set = "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = ?1,
            age_from_ms = ?1, finished_at_ms = NULL, exhausted_retry_condition = NULL,
            dead_letter_status = NULL WHERE state = 'dead'";
        let tx = self.connection.transaction()?;
        let changed = match selection {
            RetrySelection::Ids(ids) => {
                let mut statement = tx.prepare(&format!("{set} AND id = ?2"))?;
                let mut changed = 0;
                for id in ids {
                    changed += statement.execute(params![now, id])?;
                }
                changed
            }
            RetrySelection::Dead { destination } => tx.execute(
                &format!("{set} AND (?2 IS NULL OR destination = ?2)"),
                params![now, destination],
            )?,
        };
        tx.commit()?;
        Ok(changed)
    }

    /// Deletes the selected rows (never one in flight). Returns how many.
    pub fn purge(&mut self, selection: &PurgeSelection) -> Result<usize, OutboxError> {
        let tx = self.connection.transaction()?;
        let changed = match selection {
            PurgeSelection::DeliveredBefore(before_ms) => tx.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND finished_at_ms < ?1",
                [before_ms],
            )?,
            PurgeSelection::Dead { destination } => tx.execute(
                "DELETE FROM outbox WHERE state = 'dead' AND (?1 IS NULL OR destination = ?1)",
                [destination],
            )?,
            PurgeSelection::Ids(ids) => {
                let mut statement =
                    tx.prepare("DELETE FROM outbox WHERE id = ?1 AND state != 'in_flight'")?;
                let mut changed = 0;
                for id in ids {
                    changed += statement.execute([id])?;
                }
                changed
            }
        };
        tx.commit()?;
        Ok(changed)
    }
}

/// A COUNT or SUM column as u64.
fn count(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

fn summary(row: &Row<'_>) -> rusqlite::Result<MessageSummary> {
    let state: String = row.get(6)?;
    Ok(MessageSummary {
        id: row.get(0)?,
        destination: row.get(1)?,
        rule_name: row.get(2)?,
        target_id: row.get(3)?,
        event_id: row.get(4)?,
        idempotency_key: row.get(5)?,
        // The CHECK constraint keeps other values out.
        state: MessageState::parse(&state).unwrap_or(MessageState::Pending),
        attempts: row.get(7)?,
        retries: row.get::<_, u32>(7)?.saturating_sub(1),
        accepted_at_ms: row.get(8)?,
        next_attempt_at_ms: row.get(9)?,
        last_attempt_at_ms: row.get(10)?,
        last_error: row.get(11)?,
        response_status: row.get(12)?,
        response_body: row.get(13)?,
        remote_id: row.get(14)?,
        finished_at_ms: row.get(15)?,
        exhausted_retry_condition: row.get(16)?,
        dead_letter_status: row.get(17)?,
    })
}

// The workers' side.

/// The first twelve columns every delivery reads, in this order; callers add their own after.
pub(crate) const DELIVERY_COLUMNS: &str = "id, idempotency_key, rule_name, target_id, event_id, \
    payload, attributes, attempts, maximum_retry_attempts, maximum_event_age_seconds, \
    age_from_ms, dead_letter_queue_url";

/// What a row holds for a delivery attempt: [`DELIVERY_COLUMNS`], read.
#[derive(Clone, Debug)]
pub(crate) struct DeliveryColumns {
    pub outgoing: Outgoing,
    pub attempts: u32,
    pub policy: RetryPolicy,
    pub age_from_ms: i64,
    pub dead_letter_queue_url: Option<String>,
}

/// The rows of event `event_id` still to deliver (pending, or in flight when an earlier
/// invocation ended mid-attempt), by id, with their destinations: the Lambda's delivery, which
/// sends an event's alerts before its invocation answers.
#[cfg(feature = "lambda")]
pub(crate) fn undelivered_of_event(
    connection: &Connection,
    event_id: &str,
) -> Result<Vec<(String, DeliveryColumns)>, OutboxError> {
    select_due(
        connection,
        "event_id = ?1 AND state IN ('pending', 'in_flight')",
        params![event_id],
    )
}

/// Due pending rows of other events than `event_id`, at most `limit`, by id.
#[cfg(feature = "lambda")]
pub(crate) fn due_except_event(
    connection: &Connection,
    event_id: &str,
    limit: usize,
) -> Result<Vec<(String, DeliveryColumns)>, OutboxError> {
    select_due(
        connection,
        "event_id != ?1 AND state = 'pending' AND next_attempt_at_ms <= ?2 LIMIT ?3",
        params![event_id, now_ms(), i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

/// Rows under `condition`, sorted by id, a thread reply's parent `ts` filled in when the parent
/// is delivered.
#[cfg(feature = "lambda")]
fn select_due(
    connection: &Connection,
    condition: &str,
    parameters: &[&dyn rusqlite::ToSql],
) -> Result<Vec<(String, DeliveryColumns)>, OutboxError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS}, destination FROM outbox WHERE {condition}"
    ))?;
    let found =
        statement.query_map(parameters, |row| Ok((row.get(12)?, delivery_columns(row)?)))?;
    let mut rows = found.collect::<Result<Vec<(String, DeliveryColumns)>, _>>()?;
    rows.sort_by_key(|(_, due)| due.outgoing.id);
    for (_, due) in &mut rows {
        if let Some(parent) = &due.outgoing.attributes.thread_parent_key {
            due.outgoing.thread_ts = connection
                .query_row(
                    "SELECT remote_id FROM outbox WHERE idempotency_key = ?1
                     AND state = 'delivered'",
                    [parent],
                    |found| found.get::<_, Option<String>>(0),
                )
                .optional()?
                .flatten();
        }
    }
    Ok(rows)
}

/// Reads [`DELIVERY_COLUMNS`] (columns 0 to 11) of a row.
pub(crate) fn delivery_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryColumns> {
    let attributes: String = row.get(6)?;
    Ok(DeliveryColumns {
        outgoing: Outgoing {
            id: row.get(0)?,
            idempotency_key: row.get(1)?,
            rule_name: row.get(2)?,
            target_id: row.get(3)?,
            event_id: row.get(4)?,
            payload: row.get(5)?,
            attributes: serde_json::from_str::<MessageAttributes>(&attributes).unwrap_or_default(),
            thread_ts: None,
        },
        attempts: row.get(7)?,
        policy: RetryPolicy {
            maximum_retry_attempts: row.get(8)?,
            maximum_event_age_seconds: row.get(9)?,
        },
        age_from_ms: row.get(10)?,
        dead_letter_queue_url: row.get(11)?,
    })
}

/// A row a worker claimed (now `in_flight`).
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    /// What to send (without `thread_ts`, which the worker fills in), the attempts made before
    /// this one, the retry policy and the dead-letter queue.
    pub due: DeliveryColumns,
    pub last_error: Option<String>,
    /// For a Slack reply: where its parent is.
    pub parent: Option<Parent>,
}

/// A thread reply's parent row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    /// Delivered, with Slack's `ts` if it returned one.
    Delivered { ts: Option<String> },
    /// Not delivered yet: pending (due at this time) or in flight.
    Waiting {
        next_attempt_at_ms: i64,
        in_flight: bool,
    },
    /// Dead or not in the outbox: the reply goes out on its own.
    Gone,
}

/// What a claim found.
#[derive(Debug)]
pub(crate) enum Claim {
    /// Due rows, oldest due first, now `in_flight`.
    Rows(Vec<Claimed>),
    /// Nothing due; the earliest pending row's due time, if any.
    Idle { next_due_ms: Option<i64> },
}

/// The outcome of a claimed row, to be written: what the worker decided, owned so that it can
/// wait for the next trip to the store (see [`settle_and_claim`]).
#[derive(Clone, Debug)]
pub(crate) enum Settlement {
    /// The target confirmed it ([`record_delivered`]).
    Delivered {
        id: i64,
        started: i64,
        finished: i64,
        delivered: Delivered,
    },
    /// The attempt failed; try again at `next_attempt_at` ([`record_retry`]).
    Retry {
        id: i64,
        started: i64,
        next_attempt_at: i64,
        error: DeliveryError,
    },
    /// A dead letter ([`record_dead`]).
    Dead {
        id: i64,
        finished: i64,
        attempt: Option<(i64, DeliveryError)>,
        exhausted_retry_condition: Option<&'static str>,
        dead_letter_status: Option<String>,
    },
    /// Put back without an attempt, due at `until` ([`defer`]).
    Deferred { id: i64, until: i64 },
    /// Claimed but not attempted (the worker is stopping): pending again, due as it was.
    Released { id: i64 },
}

impl Settlement {
    /// The row.
    pub(crate) fn id(&self) -> i64 {
        match self {
            Settlement::Delivered { id, .. }
            | Settlement::Retry { id, .. }
            | Settlement::Dead { id, .. }
            | Settlement::Deferred { id, .. }
            | Settlement::Released { id } => *id,
        }
    }

    fn write(&self, connection: &Connection) -> Result<(), OutboxError> {
        match self {
            Settlement::Delivered {
                id,
                started,
                finished,
                delivered,
            } => record_delivered(connection, *id, *started, *finished, delivered),
            Settlement::Retry {
                id,
                started,
                next_attempt_at,
                error,
            } => record_retry(connection, *id, *started, *next_attempt_at, error),
            Settlement::Dead {
                id,
                finished,
                attempt,
                exhausted_retry_condition,
                dead_letter_status,
            } => {
                let death = Death {
                    attempt: attempt.as_ref().map(|(started, error)| (*started, error)),
                    exhausted_retry_condition: *exhausted_retry_condition,
                    dead_letter_status: dead_letter_status.clone(),
                };
                record_dead(connection, *id, *finished, &death)
            }
            Settlement::Deferred { id, until } => defer(connection, *id, *until),
            Settlement::Released { id } => {
                connection.execute(
                    "UPDATE outbox SET state = 'pending', claimed_at_ms = NULL
                     WHERE id = ?1 AND state = 'in_flight'",
                    [id],
                )?;
                Ok(())
            }
        }
    }
}

/// Rows left in flight by a process that stopped mid-attempt become pending again (they may have
/// reached their target: at-least-once). Only this deliverer's destinations.
pub(crate) fn recover_in_flight(
    connection: &Connection,
    destination: &str,
) -> Result<usize, OutboxError> {
    Ok(connection.execute(
        "UPDATE outbox SET state = 'pending', claimed_at_ms = NULL
         WHERE state = 'in_flight' AND destination = ?1",
        [destination],
    )?)
}

/// Pending rows of destinations no worker serves (configuration removed or renamed).
pub(crate) fn orphans(
    connection: &Connection,
    destinations: &[String],
) -> Result<Vec<(String, u64)>, OutboxError> {
    let mut statement = connection.prepare(
        "SELECT destination, COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')
         GROUP BY destination",
    )?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, count(row, 1)?)))?;
    let mut orphans = Vec::new();
    for row in rows {
        let (name, count): (String, u64) = row?;
        if !destinations.contains(&name) {
            orphans.push((name, count));
        }
    }
    Ok(orphans)
}

/// In one write transaction: writes `settlements` (the outcomes of earlier claims), then claims
/// up to `limit` of `destination`'s due rows (pending, due by `now`), oldest due first. One trip
/// to the store per batch of alerts instead of two per alert; `limit` 0 only settles.
pub(crate) fn settle_and_claim(
    connection: &mut Connection,
    destination: &str,
    settlements: &[Settlement],
    now: i64,
    limit: usize,
) -> Result<Claim, OutboxError> {
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for settlement in settlements {
        settlement.write(&tx)?;
    }
    let claimed = if limit == 0 {
        Vec::new()
    } else {
        claim_due(&tx, destination, now, limit)?
    };
    if !claimed.is_empty() || limit == 0 {
        tx.commit()?;
        return Ok(Claim::Rows(claimed));
    }
    let next_due_ms = tx.query_row(
        "SELECT MIN(next_attempt_at_ms) FROM outbox
         WHERE destination = ?1 AND state = 'pending'",
        [destination],
        |row| row.get(0),
    )?;
    tx.commit()?;
    Ok(Claim::Idle { next_due_ms })
}

/// Claims (marks `in_flight`) up to `limit` due rows, with each thread reply's parent.
fn claim_due(
    tx: &Transaction<'_>,
    destination: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, OutboxError> {
    let mut select = tx.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS}, last_error
         FROM outbox
         WHERE destination = ?1 AND state = 'pending' AND next_attempt_at_ms <= ?2
         ORDER BY next_attempt_at_ms, id LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut claimed = select
        .query_map(params![destination, now, limit], |row| {
            Ok(Claimed {
                due: delivery_columns(row)?,
                last_error: row.get(12)?,
                parent: None,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut mark = tx.prepare_cached(
        "UPDATE outbox SET state = 'in_flight', claimed_at_ms = ?2 WHERE id = ?1",
    )?;
    for row in &mut claimed {
        if let Some(parent_key) = &row.due.outgoing.attributes.thread_parent_key {
            let parent = tx
                .query_row(
                    "SELECT state, remote_id, next_attempt_at_ms FROM outbox
                     WHERE idempotency_key = ?1",
                    [parent_key],
                    |row| {
                        let state: String = row.get(0)?;
                        Ok(match state.as_str() {
                            "delivered" => Parent::Delivered { ts: row.get(1)? },
                            "pending" | "in_flight" => Parent::Waiting {
                                next_attempt_at_ms: row.get(2)?,
                                in_flight: state == "in_flight",
                            },
                            _ => Parent::Gone,
                        })
                    },
                )
                .optional()?;
            row.parent = Some(parent.unwrap_or(Parent::Gone));
        }
        mark.execute(params![row.due.outgoing.id, now])?;
    }
    Ok(claimed)
}

/// Puts a claimed row back, due at `until`, without counting an attempt (a thread reply waiting
/// for its parent).
pub(crate) fn defer(connection: &Connection, id: i64, until: i64) -> Result<(), OutboxError> {
    connection.execute(
        "UPDATE outbox SET state = 'pending', claimed_at_ms = NULL, next_attempt_at_ms = ?2
         WHERE id = ?1",
        params![id, until],
    )?;
    Ok(())
}

/// The target confirmed the row.
pub(crate) fn record_delivered(
    connection: &Connection,
    id: i64,
    started: i64,
    now: i64,
    delivered: &Delivered,
) -> Result<(), OutboxError> {
    connection.execute(
        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, claimed_at_ms = NULL,
            last_attempt_at_ms = ?2, finished_at_ms = ?3, response_status = ?4,
            response_body = ?5, remote_id = ?6, remote_channel = ?7
         WHERE id = ?1",
        params![
            id,
            started,
            now,
            delivered.status,
            delivered.body,
            delivered.remote_id,
            delivered.channel
        ],
    )?;
    Ok(())
}

/// An attempt failed and the row will be tried again at `next_attempt_at`.
pub(crate) fn record_retry(
    connection: &Connection,
    id: i64,
    started: i64,
    next_attempt_at: i64,
    error: &DeliveryError,
) -> Result<(), OutboxError> {
    connection.execute(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, claimed_at_ms = NULL,
            last_attempt_at_ms = ?2, next_attempt_at_ms = ?3, last_error = ?4,
            response_status = ?5, response_body = ?6
         WHERE id = ?1",
        params![
            id,
            started,
            next_attempt_at,
            error.to_string(),
            error.status,
            error.body
        ],
    )?;
    Ok(())
}

/// How a row died.
#[derive(Debug)]
pub(crate) struct Death<'a> {
    /// The failed attempt that killed it, if one was made (age can kill before an attempt).
    pub attempt: Option<(i64, &'a DeliveryError)>,
    /// `MaximumRetryAttempts` or `MaximumEventAgeExceeded`; `None` for a permanent failure.
    pub exhausted_retry_condition: Option<&'static str>,
    /// What became of the dead-letter queue message, if the row has a queue.
    pub dead_letter_status: Option<String>,
}

/// The row is a dead letter.
pub(crate) fn record_dead(
    connection: &Connection,
    id: i64,
    now: i64,
    death: &Death<'_>,
) -> Result<(), OutboxError> {
    let condition = death.exhausted_retry_condition;
    match death.attempt {
        Some((started, error)) => connection.execute(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, claimed_at_ms = NULL,
                last_attempt_at_ms = ?2, finished_at_ms = ?3, last_error = ?4,
                response_status = ?5, response_body = ?6, exhausted_retry_condition = ?7,
                dead_letter_status = ?8
             WHERE id = ?1",
            params![
                id,
                started,
                now,
                error.to_string(),
                error.status,
                error.body,
                condition,
                death.dead_letter_status
            ],
        )?,
        None => connection.execute(
            "UPDATE outbox SET state = 'dead', claimed_at_ms = NULL, finished_at_ms = ?2,
                exhausted_retry_condition = ?3, dead_letter_status = ?4
             WHERE id = ?1",
            params![id, now, condition, death.dead_letter_status],
        )?,
    };
    Ok(())
}
