//! trailbell's matching benchmark: its compiled matcher and the `quamina` crate side by side, in
//! one process, on the same generated events.
//!
//! - [`citylots`] and [`cloudtrail`] generate deterministic events from a seed.
//! - [`rules`] holds the rule sets, modelled on aws/event-ruler's CityLots2 benchmark plus
//!   scaling series and CloudTrail security rules.
//! - [`engines`] wraps both engines behind one trait and turns panics into errors.
//! - [`run`] builds, verifies, times and compares; [`report`] prints.
//! - [`archive`] writes a synthetic CloudTrail trail to disk for the scan benchmark
//!   (`scripts/bench-scan`, binaries `trailbell-archive` and `decompress-only`).
//!
//! Run it with `cargo run --release -p trailbell-bench -- [--quick] [--json] [--only NAME]`;
//! docs/PERFORMANCE.md has the numbers and the method.

pub mod archive;
pub mod citylots;
pub mod cloudtrail;
pub mod corpus;
pub mod engines;
pub mod json;
pub mod report;
pub mod rng;
pub mod rules;
pub mod run;
