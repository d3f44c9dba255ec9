//! When a failed row is tried again, or given up, following EventBridge's `RetryPolicy`:
//! `MaximumRetryAttempts` retries after the first attempt (so 0 means one attempt), and never past
//! `MaximumEventAgeInSeconds` after the event was accepted.
//!
//! The delay before retry *n* (n = 1, 2, ...) is exponential backoff with full jitter: uniformly
//! random in `[0, min(cap, base * 2^(n-1))]`, base 1 s and cap 5 min by default, so a burst of
//! failures does not come back as a burst. A target's `Retry-After` replaces the jittered delay.

use std::time::Duration;

use crate::targets::RetryPolicy;
use crate::targets::client::{DeliveryError, FailureKind};

/// `EXHAUSTED_RETRY_CONDITION` for rows whose retries ran out.
pub const MAXIMUM_RETRY_ATTEMPTS: &str = "MaximumRetryAttempts";
/// `EXHAUSTED_RETRY_CONDITION` for rows older than their maximum age.
pub const MAXIMUM_EVENT_AGE_EXCEEDED: &str = "MaximumEventAgeExceeded";

/// Exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay before retry `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random delay before retry `retry`: uniform in `[0, ceiling]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ceiling))
    }
}

/// What to do with a row after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// Dead letter; `Some` names the exhausted condition, `None` is a permanent failure.
    Dead(Option<&'static str>),
}

/// Decides after attempt number `attempts` (1-based, this one included) failed with `error` at
/// `now`, for a row whose age counts from `age_from_ms`.
pub fn decide(
    policy: RetryPolicy,
    backoff: &Backoff,
    attempts: u32,
    age_from_ms: i64,
    now: i64,
    error: &DeliveryError,
) -> Decision {
    let retry_after = match error.kind {
        FailureKind::Permanent => return Decision::Dead(None),
        FailureKind::Retryable { retry_after } => retry_after,
    };
    if attempts > policy.maximum_retry_attempts {
        return Decision::Dead(Some(MAXIMUM_RETRY_ATTEMPTS));
    }
    let delay = match retry_after {
        // Rounded up, so the wait is never shorter than asked.
        Some(wait) => wait.as_millis().saturating_add(1),
        None => backoff.delay(attempts).as_millis(),
    };
    let next = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
    if next >= deadline(policy, age_from_ms) {
        return Decision::Dead(Some(MAXIMUM_EVENT_AGE_EXCEEDED));
    }
    Decision::RetryAt(next)
}

/// When a row whose age counts from `age_from_ms` is too old to try (Unix ms).
pub fn deadline(policy: RetryPolicy, age_from_ms: i64) -> i64 {
    age_from_ms.saturating_add(i64::from(policy.maximum_event_age_seconds) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        maximum_retry_attempts: 2,
        maximum_event_age_seconds: 60,
    };

    fn server_error() -> DeliveryError {
        DeliveryError::retryable("HTTP_500", "answered 500")
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitters_below_the_ceiling() {
        let backoff = Backoff::default();
        assert_eq!(backoff.ceiling(1), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(4), Duration::from_secs(8));
        assert_eq!(backoff.ceiling(185), Duration::from_secs(300));
        for retry in 1..20 {
            assert!(backoff.delay(retry) <= backoff.ceiling(retry));
        }
    }

    #[test]
    fn retries_until_maximum_retry_attempts_then_dies() {
        let backoff = Backoff::default();
        let now = 1_000_000;
        assert!(matches!(
            decide(POLICY, &backoff, 1, now, now, &server_error()),
            Decision::RetryAt(at) if at >= now && at <= now + 1000
        ));
        assert!(matches!(
            decide(POLICY, &backoff, 2, now, now, &server_error()),
            Decision::RetryAt(_)
        ));
        assert_eq!(
            decide(POLICY, &backoff, 3, now, now, &server_error()),
            Decision::Dead(Some(MAXIMUM_RETRY_ATTEMPTS))
        );
    }

    #[test]
    fn permanent_failures_die_at_once() {
        let error = DeliveryError::permanent("HTTP_400", "answered 400");
        assert_eq!(
            decide(POLICY, &Backoff::default(), 1, 0, 0, &error),
            Decision::Dead(None)
        );
    }

    #[test]
    fn retry_after_is_honoured_and_age_limits_it() {
        let error = DeliveryError {
            kind: FailureKind::Retryable {
                retry_after: Some(Duration::from_secs(5)),
            },
            ..server_error()
        };
        let backoff = Backoff::default();
        assert_eq!(
            decide(POLICY, &backoff, 1, 0, 10_000, &error),
            Decision::RetryAt(15_001)
        );
        // 5 s from 56 s is past the 60 s age.
        assert_eq!(
            decide(POLICY, &backoff, 1, 0, 56_000, &error),
            Decision::Dead(Some(MAXIMUM_EVENT_AGE_EXCEEDED))
        );
    }
}
