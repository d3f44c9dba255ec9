//! TODO(outbox helper): the durable outbox.

/// The outbox's tables (see [`crate::store`]).
pub const SCHEMA: &str = "";
