//! The numbers EventBridge documents for rules and targets, and the one check of each.

use std::ops::RangeInclusive;

/// `MaximumRetryAttempts`: 0 to 185; EventBridge's default is the maximum.
pub const MAX_RETRY_ATTEMPTS: u32 = 185;
/// `MaximumEventAgeInSeconds`: 60 to 86400; EventBridge's default is the maximum.
pub const EVENT_AGE_SECONDS: RangeInclusive<u32> = 60..=86_400;
/// A rule's name: 1 to 64 characters.
pub const MAX_RULE_NAME: usize = 64;
/// A target's `Id`: 1 to 64 characters.
pub const MAX_TARGET_ID: usize = 64;
/// EventBridge's own words when a target names more than one input.
pub const ONLY_ONE_INPUT: &str =
    "Only one of Input, InputPath, or InputTransformer must be provided";

/// Whether a target names at most one of `Input`, `InputPath` and `InputTransformer`.
pub fn at_most_one_input(input: bool, input_path: bool, input_transformer: bool) -> bool {
    [input, input_path, input_transformer]
        .into_iter()
        .filter(|given| *given)
        .count()
        <= 1
}

/// EventBridge's `RetryPolicy` for a target: how long and how often delivery is retried before the
/// alert goes to dead letters. Only [`RetryPolicy::new`] and [`Default`] make one, so a value in
/// hand is within EventBridge's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RetryPolicy {
    /// `MaximumRetryAttempts`, 0 to 185 (default 185).
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`, 60 to 86400 (default 86400).
    pub maximum_event_age_seconds: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            maximum_retry_attempts: MAX_RETRY_ATTEMPTS,
            maximum_event_age_seconds: *EVENT_AGE_SECONDS.end(),
        }
    }
}

/// Which field of a `RetryPolicy` is out of bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryField {
    /// `MaximumRetryAttempts`.
    MaximumRetryAttempts,
    /// `MaximumEventAgeInSeconds`.
    MaximumEventAgeInSeconds,
}

impl RetryField {
    /// The field's name as EventBridge's JSON and the configuration file spell it.
    pub fn name(self) -> &'static str {
        match self {
            RetryField::MaximumRetryAttempts => "MaximumRetryAttempts",
            RetryField::MaximumEventAgeInSeconds => "MaximumEventAgeInSeconds",
        }
    }

    fn range(self) -> (i64, i64) {
        match self {
            RetryField::MaximumRetryAttempts => (0, i64::from(MAX_RETRY_ATTEMPTS)),
            RetryField::MaximumEventAgeInSeconds => (
                i64::from(*EVENT_AGE_SECONDS.start()),
                i64::from(*EVENT_AGE_SECONDS.end()),
            ),
        }
    }
}

/// Which side of its range a value fell off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Below the minimum (the minimum).
    Below(i64),
    /// Above the maximum (the maximum).
    Above(i64),
}

/// A `RetryPolicy` field out of EventBridge's bounds; the caller puts [`RetryField::name`] in
/// its own key path (`rules[0].Targets[0].RetryPolicy.MaximumRetryAttempts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be between {} and {}", .field.range().0, .field.range().1)]
pub struct RetryPolicyError {
    /// The field.
    pub field: RetryField,
    /// The value given.
    pub value: i64,
    /// The bound it broke.
    pub bound: Bound,
}

impl RetryPolicy {
    /// A policy from its two fields, each defaulting to EventBridge's maximum; every field out of
    /// bounds is reported, not only the first.
    pub fn new(
        maximum_retry_attempts: Option<i64>,
        maximum_event_age_seconds: Option<i64>,
    ) -> Result<RetryPolicy, Vec<RetryPolicyError>> {
        let default = RetryPolicy::default();
        let mut errors = Vec::new();
        let mut field = |field: RetryField, value: Option<i64>, default: u32| -> u32 {
            let Some(value) = value else { return default };
            let (min, max) = field.range();
            let bound = if value < min {
                Bound::Below(min)
            } else if value > max {
                Bound::Above(max)
            } else {
                return u32::try_from(value).unwrap_or(default);
            };
            errors.push(RetryPolicyError {
                field,
                value,
                bound,
            });
            default
        };
        let policy = RetryPolicy {
            maximum_retry_attempts: field(
                RetryField::MaximumRetryAttempts,
                maximum_retry_attempts,
                default.maximum_retry_attempts,
            ),
            maximum_event_age_seconds: field(
                RetryField::MaximumEventAgeInSeconds,
                maximum_event_age_seconds,
                default.maximum_event_age_seconds,
            ),
        };
        if errors.is_empty() {
            Ok(policy)
        } else {
            Err(errors)
        }
    }

    /// Whether this policy is within bounds: a policy read back from a store is checked again.
    pub fn check(self) -> Result<RetryPolicy, Vec<RetryPolicyError>> {
        RetryPolicy::new(
            Some(i64::from(self.maximum_retry_attempts)),
            Some(i64::from(self.maximum_event_age_seconds)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_eventbridges_and_every_field_is_reported() {
        assert_eq!(RetryPolicy::new(None, None), Ok(RetryPolicy::default()));
        assert_eq!(
            RetryPolicy::new(Some(0), Some(60)),
            Ok(RetryPolicy {
                maximum_retry_attempts: 0,
                maximum_event_age_seconds: 60
            })
        );
        let errors = RetryPolicy::new(Some(186), Some(59)).expect_err("both out of bounds");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].bound, Bound::Above(185));
        assert_eq!(errors[1].bound, Bound::Below(60));
        assert_eq!(errors[0].to_string(), "must be between 0 and 185");
        assert!(at_most_one_input(true, false, false));
        assert!(!at_most_one_input(true, true, false));
    }
}
