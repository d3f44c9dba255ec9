//! Noise control.

/// Noise control's tables (see [`crate::store`]).
pub const SCHEMA: &str = "";
