//! Rules: named EventBridge event patterns, read from files, validated with every problem reported
//! at once, and compiled into one matcher.
//!
//! Two formats:
//!
//! - **Rule packs** ([`RulePack`]): one TOML file per rule with a title, a [`Severity`], a
//!   description, the event pattern and test events that must and must not match. The built-in
//!   pack ([`RulePack::builtin`]) is `rules/` at the repository root, embedded in the binary;
//!   [`RulePack::load`] reads a user's file or directory. Compiled, a pack is [`CompiledRules`];
//!   [`CompiledRules::run_tests`] runs every rule's tests. The format is described in
//!   docs/decisions/0002-rule-files.md and the built-in rules in docs/RULES.md.
//! - **JSON rules files** ([`RuleSet`]): one object of rule name to event pattern, what
//!   `trailbell match --rules` reads.
//!
//! ```
//! use trailbell::rules::RulePack;
//!
//! let compiled = RulePack::builtin().compile()?;
//! let event = br#"{"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail",
//!     "detail": {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"}}"#;
//! let ids = compiled.matcher().matches(event)?;
//! let rule = compiled.rule(ids[0]);
//! assert_eq!(rule.name, "iam-user-created-or-deleted");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builtin;
mod error;
mod file;
mod filter;
mod json;
mod markdown;
mod metadata;
mod pack;
mod parameters;
mod severity;
pub mod sigma;
mod testing;

pub use error::{FileProblem, RuleProblem, RulesError};
pub(crate) use file::toml_error;
pub use filter::{FilterRuleError, RECORD_FIELD, event_pattern_for_filter};
pub use json::RuleSet;
pub use markdown::{StratusTechnique, builtin_markdown, markdown, stratus_techniques};
pub use metadata::Metadata;
pub use pack::{CompiledRules, Rule, RulePack, RuleTest};
pub use parameters::Parameter;
pub use severity::{Severity, UnknownSeverity};
pub use testing::{FilterDifference, TestError, TestFailure, TestReport};
