//! The delivery step the daemon's workers ([`super::worker`]) and the Lambda
//! ([`crate::lambda::deliver`]) share: one attempt within a time limit, the answer classified
//! (delivered, retry at a time, or dead with the condition that killed it), and the dead letter.
//! Each caller keeps only what differs: the worker batches outcomes into its claim transaction,
//! the Lambda writes each at once and waits for retries inside its invocation.

use std::time::Duration;

use super::dlq::{Cause, DeadLetters};
use super::now_ms;
use super::retry::{self, Backoff, Decision};
use super::store::DeliveryColumns;
use crate::targets::client::{Delivered, DeliveryError, Outgoing, TargetClient};

/// Why a row died without a failed attempt of its own (its age ran out first) and no earlier
/// error is known.
const TOO_OLD: &str = "the event is older than the target allows";

/// How one attempt at a row ended.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The target confirmed it.
    Delivered(Delivered),
    /// A retryable failure within the row's policy: try again at this time (Unix ms).
    RetryAt {
        /// Unix ms.
        at_ms: i64,
        /// The failure.
        error: DeliveryError,
    },
    /// A permanent failure, or retries or age exhausted: a dead letter.
    Dead {
        /// The failure.
        error: DeliveryError,
        /// `MaximumRetryAttempts` or `MaximumEventAgeExceeded`; `None` for a permanent failure.
        condition: Option<&'static str>,
    },
}

/// Whether the row is past its policy's maximum age at `now`: it dies without an attempt.
pub(crate) fn too_old(due: &DeliveryColumns, now: i64) -> bool {
    now >= retry::deadline(due.policy, due.age_from_ms)
}

/// Sends `outgoing` once through `client` within `limit`: when the attempt started (Unix ms) and
/// how it ended (a timeout is a retryable failure).
pub(crate) async fn send(
    client: &TargetClient,
    outgoing: &Outgoing,
    limit: Duration,
) -> (i64, Result<Delivered, DeliveryError>) {
    let started = now_ms();
    let result = match tokio::time::timeout(limit, client.deliver(outgoing)).await {
        Ok(result) => result,
        Err(_) => Err(DeliveryError::timeout(limit)),
    };
    (started, result)
}

/// Classifies the answer to attempt number `attempts` (1-based, this one included) at `due`.
pub(crate) fn judge(
    due: &DeliveryColumns,
    backoff: &Backoff,
    attempts: u32,
    result: Result<Delivered, DeliveryError>,
) -> Verdict {
    let error = match result {
        Ok(delivered) => return Verdict::Delivered(delivered),
        Err(error) => error,
    };
    match retry::decide(
        due.policy,
        backoff,
        attempts,
        due.age_from_ms,
        now_ms(),
        &error,
    ) {
        Decision::RetryAt(at_ms) => Verdict::RetryAt { at_ms, error },
        Decision::Dead(condition) => Verdict::Dead { error, condition },
    }
}

/// Sends a dying row to its dead-letter queue, if it has one, with its cause: the failed attempt's
/// error, or else the row's last recorded error (`code: message`), or else that it is too old.
/// What became of the queue message, for the row.
pub(crate) async fn bury(
    dead_letters: &mut DeadLetters,
    destination: &str,
    due: &DeliveryColumns,
    attempts: u32,
    error: Option<&DeliveryError>,
    last_error: Option<&str>,
    condition: Option<&'static str>,
) -> Option<String> {
    let (code, message) = match (error, last_error) {
        (Some(error), _) => (error.code.as_str(), error.message.as_str()),
        (None, Some(last)) => last.split_once(": ").unwrap_or(("", last)),
        (None, None) => ("", TOO_OLD),
    };
    let cause = Cause {
        code,
        message,
        attempts,
        exhausted_retry_condition: condition,
    };
    dead_letters
        .give_up(
            destination,
            due.dead_letter_queue_url.as_deref(),
            &due.outgoing,
            &cause,
        )
        .await
}
