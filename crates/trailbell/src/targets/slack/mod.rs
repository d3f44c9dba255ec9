//! Slack: Block Kit cards and their delivery.

pub mod escape;
pub mod message;
pub mod send;
