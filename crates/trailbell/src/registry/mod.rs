//! TODO(api helper): event buses, rules and targets.

/// The registry's tables (see [`crate::store`]).
pub const SCHEMA: &str = "";
