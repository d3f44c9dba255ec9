//! Delivery inside one invocation: an event's outbox rows sent through their destinations'
//! [`TargetClient`]s, each retried by its target's `RetryPolicy` (backoff with jitter, the
//! target's `Retry-After`) for as long as the invocation's remaining time allows. What is still
//! undelivered when time runs out stays pending in the outbox and fails the invocation, so
//! EventBridge invokes again with the same event; rows delivered or dead by then are not sent
//! again (their idempotency keys are in the store).

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::Connection;

use crate::outbox::dlq::DeadLetters;
use crate::outbox::retry::{self, Backoff};
use crate::outbox::step::{self, Verdict};
use crate::outbox::store::{self as rows, Death, DeliveryColumns};
use crate::outbox::{OutboxError, now_ms};
use crate::targets::client::{DeliveryError, TargetClient};

/// Time kept back from the deadline to record outcomes and answer the Runtime API.
pub const RESERVE: Duration = Duration::from_millis(300);

/// A row to deliver.
#[derive(Clone, Debug)]
pub struct Row {
    /// The destination's name.
    pub destination: String,
    /// What to send, the attempts made before (earlier invocations), the target's retry policy,
    /// when the row's age started counting and its dead-letter queue.
    pub(crate) due: DeliveryColumns,
}

/// How one row ended in this invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The target confirmed it.
    Delivered,
    /// Given up for good (sent to its dead-letter queue when it has one).
    Dead,
    /// Not delivered in time; pending in the outbox. The last error.
    Pending(String),
}

/// The rows of event `event_id` still to deliver (pending, or in flight when an earlier
/// invocation of this process ended mid-attempt), oldest first; with a thread reply's parent
/// `ts` filled in when the parent is delivered.
pub fn rows_of_event(connection: &Connection, event_id: &str) -> Result<Vec<Row>, OutboxError> {
    Ok(rows::undelivered_of_event(connection, event_id)?
        .into_iter()
        .map(|(destination, due)| Row { destination, due })
        .collect())
}

/// Other rows that are due (dedup summaries of closed windows; rows of events whose invocation
/// failed), at most `limit`: delivered on the way, best effort.
pub fn due_backlog(
    connection: &Connection,
    event_id: &str,
    limit: usize,
) -> Result<Vec<Row>, OutboxError> {
    Ok(rows::due_except_event(connection, event_id, limit)?
        .into_iter()
        .map(|(destination, due)| Row { destination, due })
        .collect())
}

/// Delivers rows within the invocation's time.
pub(crate) struct Delivery<'a> {
    /// A client per destination name.
    pub clients: &'a BTreeMap<String, (TargetClient, Duration)>,
    /// The store.
    pub connection: &'a std::sync::Mutex<Connection>,
    /// Dead-letter queue clients.
    pub(crate) dead_letters: &'a mut DeadLetters,
    /// Backoff between attempts in this invocation.
    pub backoff: Backoff,
    /// The invocation's deadline, Unix ms.
    pub deadline_ms: i64,
}

impl Delivery<'_> {
    /// Sends `row` until it is delivered, dead, or out of time (`retries == false`: one attempt).
    pub async fn deliver(&mut self, row: Row, retries: bool) -> Result<Ending, OutboxError> {
        let Some((client, timeout)) = self.clients.get(&row.destination) else {
            return Ok(Ending::Pending(format!(
                "the destination {} is not configured",
                row.destination
            )));
        };
        let id = row.due.outgoing.id;
        let mut attempts = row.due.attempts;
        loop {
            let now = now_ms();
            if step::too_old(&row.due, now) {
                self.die(
                    &row,
                    attempts,
                    None,
                    Some(retry::MAXIMUM_EVENT_AGE_EXCEEDED),
                )
                .await?;
                return Ok(Ending::Dead);
            }
            let left = self.left_ms(now);
            if left <= 0 {
                return Ok(Ending::Pending("no time left in the invocation".to_owned()));
            }
            let limit = (*timeout).min(Duration::from_millis(left.unsigned_abs()));
            let (started, result) = step::send(client, &row.due.outgoing, limit).await;
            attempts += 1;
            match step::judge(&row.due, &self.backoff, attempts, result) {
                Verdict::Delivered(delivered) => {
                    self.db(|c| rows::record_delivered(c, id, started, now_ms(), &delivered))?;
                    tracing::info!(
                        destination = %row.destination, rule = %row.due.outgoing.rule_name,
                        event = %row.due.outgoing.event_id, attempts, "Alert delivered."
                    );
                    return Ok(Ending::Delivered);
                }
                Verdict::Dead { error, condition } => {
                    self.die(&row, attempts, Some((started, &error)), condition)
                        .await?;
                    return Ok(Ending::Dead);
                }
                Verdict::RetryAt { at_ms, error } => {
                    tracing::warn!(
                        destination = %row.destination, event = %row.due.outgoing.event_id,
                        attempts, error = %error, "Delivery failed."
                    );
                    // The next attempt needs time to run too: half a second at least.
                    let fits = retries && self.left_ms(at_ms) > 500;
                    let next = if fits { at_ms } else { now_ms() };
                    self.db(|c| rows::record_retry(c, id, started, next, &error))?;
                    if !fits {
                        return Ok(Ending::Pending(error.to_string()));
                    }
                    let wait = u64::try_from(at_ms.saturating_sub(now_ms())).unwrap_or(0);
                    // A backoff delay, not synchronisation.
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }
    }

    /// Milliseconds left at `at` before the deadline less [`RESERVE`].
    fn left_ms(&self, at: i64) -> i64 {
        let reserve = i64::try_from(RESERVE.as_millis()).unwrap_or(0);
        self.deadline_ms - reserve - at
    }

    fn db<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, OutboxError>,
    ) -> Result<T, OutboxError> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| OutboxError::Task("the store connection is poisoned".to_owned()))?;
        work(&connection)
    }

    async fn die(
        &mut self,
        row: &Row,
        attempts: u32,
        attempt: Option<(i64, &DeliveryError)>,
        condition: Option<&'static str>,
    ) -> Result<(), OutboxError> {
        let dead_letter_status = step::bury(
            self.dead_letters,
            &row.destination,
            &row.due,
            attempts,
            attempt.map(|(_, error)| error),
            None,
            condition,
        )
        .await;
        let death = Death {
            attempt,
            exhausted_retry_condition: condition,
            dead_letter_status,
        };
        self.db(|c| rows::record_dead(c, row.due.outgoing.id, now_ms(), &death))
    }
}
