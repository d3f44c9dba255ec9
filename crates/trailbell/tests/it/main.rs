//! trailbell's integration tests, one binary: each module drives the real `trailbell` (or
//! `bootstrap`) binary, the API or a store the way a user would. One binary links the AWS SDKs once
//! instead of once per file (issue 14, item 7). Run one part with `cargo test -p trailbell --test it
//! <module>::`, e.g. `cargo test -p trailbell --test it scan::`.

mod common;

mod accept;
mod api;
mod aws_targets;
mod cli;
mod delivery;
mod deploy;
mod doctor_log_group;
mod edge;
mod facts;
mod filter_pattern;
mod first_hour;
#[cfg(feature = "lambda")]
mod lambda;
mod layering;
mod lookup;
mod metrics;
mod model;
mod outbox;
mod rules;
mod run;
mod s3;
mod scan;
mod slack_messages;
mod store;
mod transform;
