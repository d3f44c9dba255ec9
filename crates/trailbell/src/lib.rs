//! trailbell, the application: rule files, event matching from the command line, and the helpers the
//! `trailbell` binary shares with tests.
//!
//! The matching itself lives in the engine crate, [`trailbell_pattern`]; this crate reads files, turns
//! them into a [`rules::RuleSet`] and prints results.
//!
//! # Contents
//!
//! - [`rules`]: rule packs (one TOML file per rule with a severity and tests; the built-in pack in
//!   `rules/`, embedded) and JSON rules files (`{"rule name": event pattern, ...}`), loaded and
//!   validated with every problem reported at once, compiled into one matcher.
//! - [`cloudtrail`]: CloudTrail log files read and their records turned into EventBridge envelopes.
//! - [`sources`] and [`scan`]: archives on disk (and standard input) expanded into files, and scanned
//!   in parallel with a rule set (`trailbell scan`).
//! - [`sanitize`]: escaping untrusted text (rule names, paths, event contents) before it reaches a
//!   terminal.
//!
//! The command line itself (`src/cli/`, `src/main.rs`) belongs to the binary.

/// Items of the service build only (`--features service`, the default): gated in one block
/// rather than an attribute each (docs/decisions/0061-build-features.md).
macro_rules! service_only {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "service")]
            $item
        )*
    };
}

pub mod alert;
pub mod api;
pub mod cloudtrail;
pub mod config;
#[cfg(feature = "service")]
pub mod deploy;
pub mod event;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod model;
pub mod noise;
#[cfg(feature = "service")]
pub mod outbox;
pub mod registry;
pub mod rules;
pub mod sanitize;
pub mod scan;
pub mod secret;
#[cfg(feature = "service")]
pub mod service;
pub mod sources;
pub mod store;
pub mod targets;
pub mod transform;
