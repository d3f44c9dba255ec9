//! The Amazon EventBridge event-pattern language, exact and complete, compiled so that many rules
//! cost about as much as one.
//!
//! This crate is trailbell's matching engine. It is pure: pattern JSON and event bytes in, rule ids
//! out. It does no I/O, knows nothing of AWS, files or async runtimes, and never panics on input.
//!
//! # Contents
//!
//! - [`Pattern`]: one event pattern, parsed and validated the way EventBridge validates it, with a
//!   located [`PatternError`] when it is not valid.
//! - [`MatcherBuilder`] and [`Matcher`]: many named rules compiled into one immutable, `Send + Sync`
//!   matcher that returns every matching rule for an event, reading the event's raw bytes.
//! - [`ReferenceMatcher`]: a tree-walking matcher that is obviously correct and slow. The compiled
//!   matcher is tested against it.
//! - [`Limits`]: the knobs that bound what a pattern may cost.
//!
//! # The language
//!
//! Exact values (strings, numbers by value, `true`, `false`, `null`), `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`, `anything-but` (values and its `prefix`, `suffix`,
//! `equals-ignore-case` and `wildcard` forms), `numeric`, `exists`, `cidr` and `$or`, with
//! EventBridge's array semantics: a field matches when any element of an event array matches, and
//! the fields of one pattern must be found in the same element of an array of objects.
//!
//! # Example
//!
//! ```
//! use trailbell_pattern::MatcherBuilder;
//!
//! let mut builder = MatcherBuilder::new();
//! builder.add_rule("console-sign-in", r#"{
//!     "source": ["aws.signin"],
//!     "detail-type": ["AWS Console Sign In via CloudTrail"],
//!     "detail": {"userIdentity": {"type": ["Root", "IAMUser"]}}
//! }"#)?;
//! builder.add_rule("root", r#"{"detail": {"userIdentity": {"type": ["Root"]}}}"#)?;
//! let matcher = builder.build();
//!
//! let event = br#"{"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail",
//!                  "detail": {"userIdentity": {"type": "IAMUser"}}}"#;
//! assert_eq!(matcher.matching_rules(event)?, vec!["console-sign-in"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod ast;
mod compiled;
mod dnf;
mod error;
mod event;
mod filter;
mod limits;
mod matchers;
mod parse;
mod path;
mod reference;

pub use compiled::{Cache, Matcher, MatcherBuilder, RuleId, TextRequirements};
pub use error::{EventError, PatternError};
pub use filter::{
    FilterError, FilterMatcher, FilterMatcherBuilder, FilterPattern, NoFilterForm, Translation,
    filter_pattern_for,
};
pub use limits::Limits;
pub use parse::Pattern;
pub use reference::ReferenceMatcher;
