//! Slack: Block Kit cards and their delivery.

pub mod config;
pub mod escape;
pub mod message;
#[cfg(feature = "service")]
pub mod send;
