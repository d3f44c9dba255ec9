//! `PutEvents` and `TestEventPattern`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use trailbell_pattern::Pattern;

use super::{AwsError, blocking, bus_name, new_uuid, timestamp};
use crate::api::server::ApiState;
use crate::service::metrics::Metrics;
use crate::service::{BusEvent, Submission};

/// EventBridge's limit on a PutEvents request, computed as AWS documents
/// ("Calculating PutEvents event entry size").
pub const MAX_PUT_EVENTS_BYTES: usize = 256 * 1024;
/// At most this many entries per PutEvents request.
pub const MAX_PUT_EVENTS_ENTRIES: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutEventsRequest {
    #[serde(default)]
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    time: Option<Value>,
    source: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    detail_type: Option<String>,
    detail: Option<String>,
    event_bus_name: Option<String>,
}

impl Entry {
    /// The entry's size as AWS counts it: 14 bytes for a time, and the UTF-8 bytes of the
    /// source, detail type, detail and resources.
    fn size(&self) -> usize {
        let text = |field: &Option<String>| field.as_ref().map_or(0, String::len);
        usize::from(self.time.is_some()) * 14
            + text(&self.source)
            + text(&self.detail_type)
            + text(&self.detail)
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// An entry's result: an event on a bus, or an error.
enum Outcome {
    Accepted { bus: String, event: BusEvent },
    Failed { code: &'static str, message: String },
}

pub(super) async fn put_events(
    state: &ApiState,
    request: PutEventsRequest,
) -> Result<Value, AwsError> {
    let entries = request.entries;
    if entries.is_empty() {
        return Err(AwsError::constraint(
            "[]",
            "entries",
            "Member must have length greater than or equal to 1",
        ));
    }
    if entries.len() > MAX_PUT_EVENTS_ENTRIES {
        return Err(AwsError::constraint(
            "[PutEventsRequestEntry]",
            "entries",
            "Member must have length less than or equal to 10",
        ));
    }
    let total: usize = entries.iter().map(Entry::size).sum();
    if total > MAX_PUT_EVENTS_BYTES {
        return Err(AwsError::validation(
            "Total size of the entries in the request is over the limit.",
        ));
    }

    let now = jiff::Timestamp::now();
    let ingestion_time = now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let built: Vec<_> = entries
        .iter()
        .map(|entry| envelope(state, entry, now, &ingestion_time))
        .collect();
    // One trip to the registry for every bus the request names, not one per entry.
    let named: BTreeSet<String> = built
        .iter()
        .filter_map(|built| built.as_ref().ok().map(|(bus, _)| bus.clone()))
        .collect();
    let existing: BTreeSet<String> = blocking(&state.registry, move |registry| {
        let mut existing = BTreeSet::new();
        for bus in named {
            if registry.bus_exists(&bus)? {
                existing.insert(bus);
            }
        }
        Ok(existing)
    })
    .await?;
    let mut outcomes = Vec::with_capacity(entries.len());
    for built in built {
        let outcome = match built {
            Ok((bus, event)) if existing.contains(&bus) => Outcome::Accepted { bus, event },
            Ok((bus, _)) => Outcome::Failed {
                code: "ResourceNotFoundException",
                message: format!("Event bus {bus} does not exist."),
            },
            Err((code, message)) => Outcome::Failed { code, message },
        };
        outcomes.push(outcome);
    }

    let failed_buses = submit(state, &outcomes).await;
    let mut failed = 0;
    let results: Vec<Value> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Outcome::Accepted { bus, event } if !failed_buses.contains_key(bus) => {
                json!({"EventId": event.id})
            }
            Outcome::Accepted { bus, .. } => {
                failed += 1;
                tracing::warn!(bus = %bus, error = %failed_buses[bus], "Events not accepted by the service.");
                json!({"ErrorCode": "InternalFailure", "ErrorMessage": "The event could not be accepted; retry later."})
            }
            Outcome::Failed { code, message } => {
                failed += 1;
                json!({"ErrorCode": code, "ErrorMessage": message})
            }
        })
        .collect();
    Ok(json!({"FailedEntryCount": failed, "Entries": results}))
}

/// Archives and submits the accepted events, one submission per bus, and waits for every answer.
/// Returns the buses whose events were not accepted, with why.
async fn submit(state: &ApiState, outcomes: &[Outcome]) -> BTreeMap<String, String> {
    let mut by_bus: BTreeMap<String, Vec<BusEvent>> = BTreeMap::new();
    for outcome in outcomes {
        if let Outcome::Accepted { bus, event } = outcome {
            by_bus.entry(bus.clone()).or_default().push(event.clone());
        }
    }
    let mut failed = BTreeMap::new();
    let mut waiting = Vec::new();
    for (bus, events) in by_bus {
        let archived = if state.registry.may_have_archives() {
            let (bus, events) = (bus.clone(), events.clone());
            blocking(&state.registry, move |registry| {
                registry.archive_events(&bus, &events)
            })
            .await
        } else {
            Ok(0)
        };
        if let Err(err) = archived {
            failed.insert(bus, format!("archiving failed: {}", err.message));
            continue;
        }
        let (done, answer) = oneshot::channel();
        let submission = Submission {
            event_bus_name: bus.clone(),
            events,
            done,
        };
        if state.submissions.send(submission).await.is_err() {
            failed.insert(bus, "the service is not running".to_owned());
            continue;
        }
        waiting.push((bus, answer));
    }
    for (bus, answer) in waiting {
        match answer.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                failed.insert(bus, why);
            }
            Err(_) => {
                failed.insert(bus, "the service dropped the events".to_owned());
            }
        }
    }
    failed
}

/// The entry's bus and its event; or the per-entry error.
fn envelope(
    state: &ApiState,
    entry: &Entry,
    now: jiff::Timestamp,
    ingestion_time: &str,
) -> Result<(String, BusEvent), (&'static str, String)> {
    let required = |value: &Option<String>, name: &str| match value.as_deref() {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err((
            "InvalidArgument",
            format!("Parameter {name} is not valid. Reason: {name} is a required argument."),
        )),
    };
    let source = required(&entry.source, "Source")?;
    let detail_type = required(&entry.detail_type, "DetailType")?;
    let detail = required(&entry.detail, "Detail")?;
    let malformed = || ("MalformedDetail", "Detail is malformed.".to_owned());
    let detail = RawValue::from_string(detail.trim().to_owned()).map_err(|_| malformed())?;
    if !detail.get().starts_with('{') {
        return Err(malformed());
    }
    let time = match &entry.time {
        None | Some(Value::Null) => now,
        Some(value) => timestamp(value).ok_or_else(|| {
            (
                "InvalidArgument",
                "Parameter Time is not valid. Reason: Time must be epoch seconds or an RFC 3339 timestamp.".to_owned(),
            )
        })?,
    };
    let bus = bus_name(state, entry.event_bus_name.as_deref())
        .map_err(|err| ("ResourceNotFoundException", err.message))?;
    let id = new_uuid();
    let text = |value: &str| Value::from(value).to_string();
    let resources = Value::from(entry.resources.clone()).to_string();
    let head = format!(
        "{{\"version\":\"0\",\"id\":{},\"detail-type\":{},\"source\":{},\"account\":{},\"time\":{},\"region\":{},\"resources\":{resources},\"detail\":",
        text(&id),
        text(&detail_type),
        text(&source),
        text(&state.account),
        text(&time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        text(&state.region),
    );
    let envelope = format!("{head}{}}}", detail.get());
    // The door (decision 0016): an event the engine or the alert renderers cannot read is this
    // entry's error, never an EventId whose alerts are then dropped.
    let event = BusEvent::read(id, envelope, ingestion_time.to_owned()).map_err(|err| {
        let offset = err.offset().saturating_sub(head.len());
        tracing::warn!(
            offset,
            reason = err.reason(),
            "A PutEvents entry was refused: its Detail cannot be read."
        );
        Metrics::bump(&state.metrics.events_refused, 1);
        (
            "MalformedDetail",
            format!(
                "Detail is malformed: {} at byte {offset} of Detail.",
                err.reason()
            ),
        )
    })?;
    Ok((bus, event))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TestEventPatternRequest {
    event_pattern: Option<String>,
    event: Option<String>,
}

/// `{"Result": bool}`: the engine's answer, as `trailbell test-event-pattern` gives it.
pub(super) fn test_event_pattern(request: TestEventPatternRequest) -> Result<Value, AwsError> {
    let pattern = request
        .event_pattern
        .ok_or_else(|| AwsError::validation("Parameter EventPattern is required."))?;
    let event = request
        .event
        .ok_or_else(|| AwsError::validation("Parameter Event is required."))?;
    let pattern = Pattern::parse(&pattern)
        .map_err(|err| AwsError::client("InvalidEventPatternException", err.to_string()))?;
    let result = pattern.matches(event.as_bytes()).map_err(|err| {
        AwsError::validation(format!("Parameter Event is not valid. Reason: {err}"))
    })?;
    Ok(json!({"Result": result}))
}
