//! The running service (`trailbell run`): event buses fed by the API and the live sources, rules
//! matched, noise control applied, alerts written to the outbox, the outbox delivered.
//!
//! Sources hand events to the service as [`Submission`]s on a channel; the service answers each
//! once every alert its events raise is committed to the outbox, and only then may a source
//! acknowledge them (PutEvents answers, an SQS message is deleted).

pub mod accept;
pub mod bus;
pub mod metrics;
pub mod payload;
pub mod render;
pub mod run;

pub use run::{Service, ServiceError, default_data_dir};

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::event::Unreadable;

/// One event on its way onto a bus, as EventBridge would deliver it to a target. Made only by
/// [`BusEvent::read`], so that every event on a bus passed the door ([`crate::event::read`]) and
/// carries the one reading its alerts are made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusEvent {
    /// The envelope's `id`.
    pub id: String,
    /// The whole envelope as JSON text: `version`, `id`, `detail-type`, `source`, `account`,
    /// `time`, `region`, `resources`, `detail` (and `replay-name` for replayed events).
    pub envelope: String,
    /// When trailbell accepted it, RFC 3339 UTC with milliseconds.
    pub ingestion_time: String,
    /// The envelope, read once at the door.
    value: Arc<Value>,
}

impl BusEvent {
    /// The event with id `id` and envelope `envelope`, when [`crate::event::read`] accepts it.
    pub fn read(id: String, envelope: String, ingestion_time: String) -> Result<Self, Unreadable> {
        let value = crate::event::read(envelope.as_bytes())?;
        Ok(BusEvent {
            id,
            envelope,
            ingestion_time,
            value: Arc::new(value),
        })
    }

    /// An event a source's file reader already passed through the door: `value` is what
    /// [`crate::event::read`] made of `envelope` ([`crate::cloudtrail::file_events`] is the only
    /// caller), so it is not read again.
    pub(crate) fn read_at_the_door(
        id: String,
        envelope: String,
        ingestion_time: String,
        value: Arc<Value>,
    ) -> Self {
        BusEvent {
            id,
            envelope,
            ingestion_time,
            value,
        }
    }

    /// The envelope as read at the door: what matching saw, and what alerts are made from.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

/// Events for one bus, with a reply once they are safe (every alert in the outbox, the events in
/// the bus's archives) or could not be made safe.
#[derive(Debug)]
pub struct Submission {
    /// The bus's name (`default` unless the caller named another).
    pub event_bus_name: String,
    /// The events, in order.
    pub events: Vec<BusEvent>,
    /// Answered with `Ok` once the events are durable; `Err` with a message when they are not
    /// (the caller reports failure and keeps the events for a retry).
    pub done: oneshot::Sender<Result<(), String>>,
}
