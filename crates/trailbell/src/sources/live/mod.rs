//! Live sources for `trailbell run`: they find new CloudTrail files as they land and hand their
//! events to the service, acknowledging a file (recording it as done, deleting its SQS message)
//! only after the service said every alert from it is in the outbox.
//!
//! - [`directory`]: a local directory looked at on an interval.
//! - [`sqs`]: S3 event notifications for a trail's bucket on an SQS queue, direct or wrapped in SNS.
//! - [`lookup`]: CloudTrail `LookupEvents`, polled per region with a persisted cursor.

pub mod directory;
pub mod lookup;
pub mod sqs;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::cloudtrail::{FileEvent, RefusedRecord};
use crate::service::metrics::Metrics;
use crate::service::{BusEvent, Submission};

/// The most events handed to the service in one submission.
const EVENTS_PER_SUBMISSION: usize = 500;

/// The most refused records of one file named one by one in the log; the rest are counted.
const REFUSED_LISTED_PER_FILE: usize = 10;

/// What every live source needs.
#[derive(Clone, Debug)]
pub struct SourceContext {
    /// The source's name in metrics and logs.
    pub name: String,
    /// The bus its events go on.
    pub event_bus_name: String,
    /// Where events go.
    pub submissions: mpsc::Sender<Submission>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Turns true when the service stops.
    pub shutdown: watch::Receiver<bool>,
}

impl SourceContext {
    /// Hands `events` to the service and waits until they are safe; `Err` says why not. Each one
    /// already passed the door: [`file_events`](crate::cloudtrail::file_events) refuses what
    /// cannot be read, and the source names it with [`SourceContext::refused`] (decisions 0016
    /// and 0041).
    pub async fn submit(&self, events: Vec<FileEvent>, ingestion_time: &str) -> Result<(), String> {
        let mut readable: Vec<BusEvent> = events
            .into_iter()
            .map(|event| {
                BusEvent::read_at_the_door(
                    event.id,
                    event.envelope,
                    ingestion_time.to_owned(),
                    event.value,
                )
            })
            .collect();
        while !readable.is_empty() {
            let rest = readable.split_off(readable.len().min(EVENTS_PER_SUBMISSION));
            let (done, answer) = oneshot::channel();
            let submission = Submission {
                event_bus_name: self.event_bus_name.clone(),
                events: std::mem::replace(&mut readable, rest),
                done,
            };
            self.submissions
                .send(submission)
                .await
                .map_err(|_| "the service is stopping".to_owned())?;
            answer
                .await
                .map_err(|_| "the service is stopping".to_owned())??;
        }
        Ok(())
    }

    /// Records the values of `origin` (a file's name) that [`file_events`](crate::cloudtrail::file_events)
    /// refused: counted as refused events, the first few named one by one in the log (index,
    /// offset, why), the rest in one line. Returns how many.
    pub fn refused(&self, origin: &str, refused: &[RefusedRecord]) -> usize {
        Metrics::bump(&self.metrics.events_refused, refused.len() as u64);
        for record in refused.iter().take(REFUSED_LISTED_PER_FILE) {
            self.error(&format!("{origin}: {record}"));
        }
        if refused.len() > REFUSED_LISTED_PER_FILE {
            self.error(&format!(
                "{origin}: {} more records refused",
                refused.len() - REFUSED_LISTED_PER_FILE
            ));
        }
        refused.len()
    }

    /// Waits `period`, or less when the service stops; true when it is stopping.
    pub async fn pause(&mut self, period: Duration) -> bool {
        if *self.shutdown.borrow() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(period) => *self.shutdown.borrow(),
            _ = self.shutdown.changed() => true,
        }
    }

    /// Records how a whole look went: `Err` with why it failed (the source is failing, and
    /// `/health` says so, until a look succeeds).
    pub fn looked(&self, result: Result<(), String>) {
        let failing = result.err();
        if let Some(reason) = &failing {
            self.error(reason);
        }
        self.metrics
            .source(&self.name, |status| status.failing = failing);
    }

    /// Records an error of this source.
    pub fn error(&self, message: &str) {
        tracing::warn!(source = %self.name, "{message}");
        self.metrics.source(&self.name, |status| status.errors += 1);
    }

    /// Records a failed AWS call that will be tried again after `wait`: one line with the
    /// service, the operation, the error code and when the next try is (the full error is at
    /// debug level, from [`aws_failure`]). The source is failing (/health) until it next looks.
    pub fn aws_error(&self, failure: &AwsFailure, wait: Duration) {
        let next_try = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
            .map(|at| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        tracing::warn!(
            source = %self.name,
            service = failure.service,
            operation = failure.operation,
            error_code = %failure.code,
            next_try = %next_try,
            "{}; next try in {}s.",
            failure.summary(),
            wait.as_secs()
        );
        let failing = Some(failure.summary());
        self.metrics.source(&self.name, |status| {
            status.errors += 1;
            status.failing = failing;
        });
    }
}

/// A failed AWS call, in a line: what [`aws_failure`] keeps of an SDK error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFailure {
    /// The service, as AWS names it in its API (`SQS`, `S3`, `CloudTrail`).
    pub service: &'static str,
    /// The operation (`ReceiveMessage`).
    pub operation: &'static str,
    /// AWS's error code, or the kind of failure when no answer came (`ConnectionError`,
    /// `Timeout`, ...).
    pub code: String,
    /// AWS's message, if it sent one, on one line and capped.
    pub message: Option<String>,
}

impl AwsFailure {
    /// `SQS ReceiveMessage failed: AccessDenied (message)`.
    pub fn summary(&self) -> String {
        let mut text = format!("{} {} failed: {}", self.service, self.operation, self.code);
        if let Some(message) = &self.message {
            text.push_str(&format!(" ({message})"));
        }
        text
    }
}

/// What is worth a log line of an SDK error (its code and message), logging the whole error,
/// about 2 KB of SDK context per failure, at debug level only.
pub fn aws_failure<E, R>(
    service: &'static str,
    operation: &'static str,
    err: &aws_sdk_sqs::error::SdkError<E, R>,
) -> AwsFailure
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata as _, SdkError};
    tracing::debug!(
        service,
        operation,
        error = %DisplayErrorContext(err),
        "The AWS call failed; the whole error."
    );
    let code = match (err.code(), err) {
        (Some(code), _) => code.to_owned(),
        (None, SdkError::DispatchFailure(failure)) if failure.is_timeout() => "Timeout".to_owned(),
        (None, SdkError::DispatchFailure(failure)) if failure.is_io() => {
            "ConnectionError".to_owned()
        }
        (None, SdkError::DispatchFailure(_)) => "DispatchFailure".to_owned(),
        (None, SdkError::TimeoutError(_)) => "Timeout".to_owned(),
        (None, SdkError::ResponseError(_)) => "InvalidResponse".to_owned(),
        (None, SdkError::ConstructionFailure(_)) => "ConstructionFailure".to_owned(),
        (None, _) => "Unknown".to_owned(),
    };
    let message = err
        .message()
        .filter(|message| !message.trim().is_empty())
        .map(|message| {
            let line: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
            crate::sanitize::for_terminal_capped(&line, 200)
        });
    AwsFailure {
        service,
        operation,
        code,
        message,
    }
}

/// Now, RFC 3339 UTC with milliseconds: an event's ingestion time.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// How far behind `newest_event_time` (an envelope's `time`) is, in seconds.
pub fn lag_seconds(newest_event_time: &str) -> Option<f64> {
    let time: jiff::Timestamp = newest_event_time.parse().ok()?;
    let lag = jiff::Timestamp::now().duration_since(time);
    Some(lag.as_secs_f64().max(0.0))
}
