//! EventBridge's limits on rules and targets, written once: every origin (the configuration, the
//! API, rule packs, deploy, the outbox) checks a `RetryPolicy` or a target's inputs here, so the
//! bounds and the messages cannot drift apart (issue 14, item 1; docs/decisions/0055-one-model.md).

mod limits;

pub use limits::{
    Bound, EVENT_AGE_SECONDS, MAX_RETRY_ATTEMPTS, MAX_RULE_NAME, MAX_TARGET_ID, ONLY_ONE_INPUT,
    RetryField, RetryPolicy, RetryPolicyError, at_most_one_input,
};
