//! A token bucket per destination: at most `rate` deliveries per second on average, bursts of at
//! most `max(1, rate)`. The bucket starts full, so an idle destination sends at once.

use std::time::Duration;

use tokio::time::Instant;

/// See the module.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A bucket for `rate` per second; `None` when the rate is not a positive, finite number
    /// (no limit).
    pub fn new(rate: f64, now: Instant) -> Option<TokenBucket> {
        (rate.is_finite() && rate > 0.0).then(|| {
            let capacity = rate.max(1.0);
            TokenBucket {
                rate,
                capacity,
                tokens: capacity,
                updated: now,
            }
        })
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = now;
    }

    /// How long until a token is available (zero when one is).
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }

    /// Takes a token (call after [`TokenBucket::wait`] said zero).
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_second_spaces_deliveries_a_second_apart() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1.0, start).expect("a valid rate");
        assert_eq!(bucket.wait(start), Duration::ZERO);
        bucket.take(start);
        let wait = bucket.wait(start);
        assert_eq!(wait, Duration::from_secs(1));
        let later = start + Duration::from_millis(400);
        assert_eq!(bucket.wait(later), Duration::from_millis(600));
        assert_eq!(bucket.wait(start + Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn invalid_rates_mean_no_limit() {
        let now = Instant::now();
        assert!(TokenBucket::new(0.0, now).is_none());
        assert!(TokenBucket::new(f64::NAN, now).is_none());
        assert!(TokenBucket::new(-1.0, now).is_none());
    }
}
