//! The running service (`trailbell run`): event buses fed by the API and the live sources, rules
//! matched, noise control applied, alerts written to the outbox, the outbox delivered.
//!
//! Sources hand events to the service as [`Submission`]s on a channel; the service answers each
//! once every alert its events raise is committed to the outbox, and only then may a source
//! acknowledge them (PutEvents answers, an SQS message is deleted).

pub mod accept;
pub mod bus;
pub mod managed;
pub mod metrics;
pub mod payload;
pub mod run;

pub use crate::event::BusEvent;
pub use run::{Service, ServiceError, default_data_dir};

use tokio::sync::oneshot;

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
