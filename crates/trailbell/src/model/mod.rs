//! The validated model of rules, written once: EventBridge's limits on rules and targets
//! (`limits.rs`; docs/decisions/0055-one-model-limits-and-checks.md) and the rule every origin builds through one
//! checked constructor (`rule.rs`, [`RuleSpec`]; docs/decisions/0065-rule-and-target-specs.md).
//! Targets are separate resources, as in EventBridge: [`crate::targets::TargetSpec`].

mod limits;
mod rule;

pub use limits::{
    Bound, EVENT_AGE_SECONDS, MAX_RETRY_ATTEMPTS, MAX_RULE_NAME, MAX_TARGET_ID, ONLY_ONE_INPUT,
    RetryField, RetryPolicy, RetryPolicyError, at_most_one_input,
};
pub use rule::{
    MAX_DESCRIPTION, MetadataError, RULE_STATES, RuleError, RuleExtras, RuleField, RuleFields,
    RuleSpec, RuleState, valid_name,
};
