//! The acceptor: the one writer that turns submitted events into alerts. For each batch of
//! submissions it matches every event against its bus's rules, applies exceptions, thresholds and
//! dedup, renders a payload per target, and writes every alert to the outbox — all in one SQLite
//! transaction — then answers the submissions and wakes the deliverer. An event is acknowledged
//! only after that commit: nothing accepted can be lost by a crash.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rusqlite::{Connection, Transaction};
use serde_json::Value;
use trailbell_pattern::RuleId;

use super::bus::{BusRules, PayloadKind};
use super::metrics::Metrics;
use super::payload::{alert_payload, repeat_payload};
use super::{BusEvent, Submission};
use crate::alert::AlertContext;
use crate::noise::state::{DedupSummary, Verdict, close_due_windows, decide};
use crate::outbox::{self, MessageAttributes, NewMessage};
use crate::registry::RuleState;

/// The compiled rules of every bus, swapped whole when the registry changes.
pub type Buses = Arc<RwLock<HashMap<String, Arc<BusRules>>>>;

/// The acceptor's state between batches.
pub struct Acceptor {
    /// The store, the acceptor's own connection.
    pub connection: Connection,
    /// Every bus's rules.
    pub buses: Buses,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl Acceptor {
    /// Handles a batch of submissions in one transaction; answers each. Returns the number of
    /// alerts written, or the error every submission was answered with.
    pub fn accept(&mut self, batch: Vec<Submission>) -> Result<usize, String> {
        let result = self.write(
            batch
                .iter()
                .map(|submission| (submission.event_bus_name.as_str(), &submission.events[..])),
        );
        for submission in batch {
            let _ = submission.done.send(result.clone().map(|_| ()));
        }
        result
    }

    /// Matches each bus's events and writes their alerts in one transaction, with no one to
    /// answer (the Lambda, which answers its invocation itself). Returns the number of alerts
    /// written.
    pub fn write<'a>(
        &mut self,
        batch: impl IntoIterator<Item = (&'a str, &'a [BusEvent])>,
    ) -> Result<usize, String> {
        let now_ms = outbox::now_ms();
        let buses = match self.buses.read() {
            Ok(buses) => buses.clone(),
            Err(_) => HashMap::new(),
        };
        let metrics = Arc::clone(&self.metrics);
        let result = (|| -> Result<usize, String> {
            let tx = self
                .connection
                .transaction()
                .map_err(|err| err.to_string())?;
            let mut messages = Vec::new();
            for (bus_name, events) in batch {
                let Some(bus) = buses.get(bus_name) else {
                    // A bus without rules (or created after the last rebuild): nothing matches.
                    Metrics::bump(&metrics.events_in, events.len() as u64);
                    continue;
                };
                for event in events {
                    Metrics::bump(&metrics.events_in, 1);
                    accept_event(&tx, bus, event, now_ms, &metrics, &mut messages)
                        .map_err(|err| err.to_string())?;
                }
            }
            let written = outbox::enqueue(&tx, &messages).map_err(|err| err.to_string())?;
            tx.commit().map_err(|err| err.to_string())?;
            Metrics::bump(&metrics.enqueued, written as u64);
            Ok(written)
        })();
        self.metrics
            .store_written(result.as_ref().err().map(ToString::to_string));
        result
    }

    /// Closes the dedup windows whose time is up and writes their summaries; returns how many.
    pub fn sweep(&mut self) -> Result<usize, String> {
        let now_ms = outbox::now_ms();
        let buses = match self.buses.read() {
            Ok(buses) => buses.clone(),
            Err(_) => HashMap::new(),
        };
        let tx = self
            .connection
            .transaction()
            .map_err(|err| err.to_string())?;
        let summaries = close_due_windows(&tx, now_ms).map_err(|err| err.to_string())?;
        let mut messages = Vec::new();
        for summary in &summaries {
            summary_messages(&buses, summary, now_ms, &mut messages);
        }
        let written = outbox::enqueue(&tx, &messages).map_err(|err| err.to_string())?;
        tx.commit().map_err(|err| err.to_string())?;
        Metrics::bump(&self.metrics.enqueued, written as u64);
        Ok(written)
    }

    /// When the next dedup window closes (ms since the epoch), if one is open.
    pub fn next_window_close(&mut self) -> Option<i64> {
        let tx = self.connection.transaction().ok()?;
        crate::noise::state::next_window_close(&tx).ok().flatten()
    }
}

fn accept_event(
    tx: &Transaction<'_>,
    bus: &BusRules,
    event: &BusEvent,
    now_ms: i64,
    metrics: &Metrics,
    messages: &mut Vec<NewMessage>,
) -> rusqlite::Result<()> {
    let bytes = event.envelope.as_bytes();
    // Every `BusEvent` passed the door (`crate::event::read`), whose reading is the engine's
    // validating one: matching a readable event cannot fail.
    let ids: Vec<RuleId> = match bus.compiled.matcher().matches(bytes) {
        Ok(ids) => ids,
        Err(err) => {
            Metrics::bump(&metrics.events_refused, 1);
            tracing::error!(event = %event.id, "An event passed the door but the engine cannot read it: {err}");
            return Ok(());
        }
    };
    if ids.is_empty() {
        return Ok(());
    }
    // The reading made at the door: the alert's content comes from what matching saw.
    let value = event.value();
    let read_only_management = is_read_only_management_event(value);
    // A replay delivers again, as EventBridge's do: its alerts get keys of their own (and a retry
    // of the same replay still cannot enqueue twice).
    let key_id = match value.get("replay-name").and_then(Value::as_str) {
        Some(replay) => format!("{}/replay/{replay}", event.id),
        None => event.id.clone(),
    };
    let event_time_ms = value
        .get("time")
        .and_then(Value::as_str)
        .and_then(|time| time.parse::<jiff::Timestamp>().ok())
        .map_or(now_ms, |time| time.as_millisecond());
    for id in ids {
        let rule = bus.compiled.rule(id);
        let Some(runtime) = bus.runtime.get(id.index()) else {
            continue;
        };
        // EventBridge sends read-only management events only to rules that ask for them.
        if read_only_management
            && runtime.state != RuleState::EnabledWithAllCloudtrailManagementEvents
        {
            continue;
        }
        Metrics::bump(&metrics.matched, 1);
        if let Some(exception) = bus.compiled.suppressed_by(id, bytes) {
            Metrics::bump(&metrics.suppressed, 1);
            tracing::debug!(rule = %rule.name, exception = %exception.name, "suppressed");
            continue;
        }
        let verdict = decide(
            tx,
            &runtime.arn,
            &rule.noise,
            value,
            &event.id,
            &event.envelope,
            event_time_ms,
            now_ms,
        )?;
        let mut context = AlertContext {
            rule_name: rule.name.clone(),
            rule_arn: runtime.arn.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            description: rule.description.clone(),
            ingestion_time: event.ingestion_time.clone(),
            occurrences: None,
        };
        match verdict {
            Verdict::Alert { occurrences } => {
                context.occurrences = occurrences;
                for target in &runtime.targets {
                    let rendered = alert_payload(target, value, &event.envelope, &context);
                    messages.push(alert_message(
                        target,
                        &context,
                        &runtime.arn,
                        &event.id,
                        &key_id,
                        rendered,
                        &event.envelope,
                        now_ms,
                    ));
                }
            }
            Verdict::Repeat { first_event_id, .. } => {
                Metrics::bump(&metrics.held, 1);
                for target in &runtime.targets {
                    if target.kind != (PayloadKind::SlackCard { threads: true }) {
                        continue;
                    }
                    messages.push(NewMessage {
                        destination: target.destination.clone(),
                        rule_name: rule.name.clone(),
                        target_id: target.id.clone(),
                        event_id: event.id.clone(),
                        idempotency_key: outbox::idempotency_key(&key_id, &runtime.arn, &target.id),
                        payload: repeat_payload(value, &context),
                        attributes: MessageAttributes {
                            thread_parent_key: Some(outbox::idempotency_key(
                                &first_event_id,
                                &runtime.arn,
                                &target.id,
                            )),
                            ..MessageAttributes::default()
                        },
                        retry_policy: target.retry_policy,
                        dead_letter_queue_url: target.dead_letter_queue_url.clone(),
                        accepted_at_ms: now_ms,
                    });
                }
            }
            Verdict::BelowThreshold { .. } => Metrics::bump(&metrics.held, 1),
        }
    }
    Ok(())
}

/// The outbox row of one alert for one target; `key_id` names the alert in its idempotency key
/// (the event's id, or a replay's or a summary's name for it). When the target's input could
/// not be rendered (an `InputPath` that selects nothing), the row holds the event and says why
/// it cannot be sent: it becomes a dead letter, counted and listed, never dropped (decision 0017).
#[allow(clippy::too_many_arguments)]
fn alert_message(
    target: &super::bus::TargetRuntime,
    context: &AlertContext,
    rule_arn: &str,
    event_id: &str,
    key_id: &str,
    rendered: Result<String, crate::transform::TransformError>,
    envelope: &str,
    now_ms: i64,
) -> NewMessage {
    let (payload, undeliverable) = match rendered {
        Ok(payload) => (payload, None),
        Err(err) => {
            tracing::warn!(
                rule = %context.rule_name, target = %target.id, event = %event_id,
                "The target's input cannot be made from the event; the alert is a dead letter: {err}"
            );
            (envelope.to_owned(), Some(err.to_string()))
        }
    };
    NewMessage {
        destination: target.destination.clone(),
        rule_name: context.rule_name.clone(),
        target_id: target.id.clone(),
        event_id: event_id.to_owned(),
        idempotency_key: outbox::idempotency_key(key_id, rule_arn, &target.id),
        payload,
        attributes: MessageAttributes {
            message_group_id: target.message_group_id.clone(),
            undeliverable,
            severity: Some(context.severity.as_str().to_owned()),
            title: Some(context.title.clone()),
            ..MessageAttributes::default()
        },
        retry_policy: target.retry_policy,
        dead_letter_queue_url: target.dead_letter_queue_url.clone(),
        accepted_at_ms: now_ms,
    }
}

/// A closed dedup window's summary, for every target of its rule that did not get the repeats
/// as thread replies.
fn summary_messages(
    buses: &HashMap<String, Arc<BusRules>>,
    summary: &DedupSummary,
    now_ms: i64,
    messages: &mut Vec<NewMessage>,
) {
    let Ok(value) = serde_json::from_str::<Value>(&summary.last_envelope) else {
        return;
    };
    for bus in buses.values() {
        for (index, runtime) in bus.runtime.iter().enumerate() {
            if runtime.arn != summary.rule {
                continue;
            }
            let rule = &bus.compiled.rules()[index];
            let context = AlertContext {
                rule_name: rule.name.clone(),
                rule_arn: runtime.arn.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                description: rule.description.clone(),
                ingestion_time: crate::sources::live::now_rfc3339(),
                occurrences: Some(summary.occurrences.clone()),
            };
            let summary_id = format!(
                "{}#repeats@{}",
                summary.first_event_id, summary.opened_at_ms
            );
            for target in &runtime.targets {
                if target.kind == (PayloadKind::SlackCard { threads: true }) {
                    continue;
                }
                let rendered = alert_payload(target, &value, &summary.last_envelope, &context);
                messages.push(alert_message(
                    target,
                    &context,
                    &runtime.arn,
                    value.get("id").and_then(Value::as_str).unwrap_or_default(),
                    &summary_id,
                    rendered,
                    &summary.last_envelope,
                    now_ms,
                ));
            }
        }
    }
}

/// A CloudTrail management event that only reads (`readOnly: true`, an API call or console
/// action): EventBridge delivers those only to rules in state
/// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
fn is_read_only_management_event(event: &Value) -> bool {
    let detail = event.get("detail");
    detail
        .and_then(|d| d.get("readOnly"))
        .and_then(Value::as_bool)
        == Some(true)
        && detail
            .and_then(|d| d.get("managementEvent"))
            .and_then(Value::as_bool)
            != Some(false)
        && event
            .get("detail-type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("via CloudTrail"))
}
