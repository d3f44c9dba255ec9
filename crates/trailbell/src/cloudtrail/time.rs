//! `eventTime` to the envelope's `time`: RFC 3339, UTC, whole seconds (`2026-11-02T08:15:00Z`), the
//! form EventBridge writes.

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The length of a normalized time, `YYYY-MM-DDTHH:MM:SSZ`.
pub const NORMALIZED_LEN: usize = 20;

/// `time` in EventBridge's form, or `None` when it is not a time this reader understands.
///
/// CloudTrail writes `2026-11-02T08:15:00Z`, returned as it is without parsing. Other forms are
/// accepted and converted to UTC, truncated to the second: fractional seconds
/// (`2026-11-02T08:15:00.123Z`), offsets (`2026-11-02T09:15:00+01:00`), a lowercase `t`/`z` or a
/// space separator, and a time with no offset at all, taken as UTC (`2026-11-02 08:15:00`).
///
/// ```
/// use trailbell::cloudtrail::normalize_time;
///
/// assert_eq!(normalize_time("2026-11-02T08:15:00Z").as_deref(), Some("2026-11-02T08:15:00Z"));
/// assert_eq!(normalize_time("2026-11-02T09:15:00.75+01:00").as_deref(), Some("2026-11-02T08:15:00Z"));
/// assert_eq!(normalize_time("2026-11-02 08:15:00").as_deref(), Some("2026-11-02T08:15:00Z"));
/// assert_eq!(normalize_time("yesterday"), None);
/// ```
pub fn normalize_time(time: &str) -> Option<Cow<'_, str>> {
    if is_normalized(time.as_bytes()) {
        return Some(Cow::Borrowed(time));
    }
    let timestamp = match time.parse::<Timestamp>() {
        Ok(timestamp) => timestamp,
        Err(_) => TimeZone::UTC
            .to_timestamp(time.parse::<DateTime>().ok()?)
            .ok()?,
    };
    Some(Cow::Owned(format_timestamp(timestamp)))
}

/// `timestamp` in EventBridge's form, truncated to the second.
pub fn format_timestamp(timestamp: Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether `time` is already `YYYY-MM-DDTHH:MM:SSZ` with fields in range (a leap second, `:60`,
/// included).
fn is_normalized(time: &[u8]) -> bool {
    let Ok(t) = <&[u8; NORMALIZED_LEN]>::try_from(time) else {
        return false;
    };
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if !digits.iter().all(|&i| t[i].is_ascii_digit()) {
        return false;
    }
    if t[4] != b'-' || t[7] != b'-' || t[10] != b'T' || t[13] != b':' || t[16] != b':' {
        return false;
    }
    if t[19] != b'Z' {
        return false;
    }
    let two = |i: usize| (t[i] - b'0') * 10 + (t[i + 1] - b'0');
    (1..=12).contains(&two(5))
        && (1..=31).contains(&two(8))
        && two(11) <= 23
        && two(14) <= 59
        && two(17) <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_times_pass_through_borrowed() {
        assert!(matches!(
            normalize_time("2026-11-02T08:15:00Z"),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn odd_forms_become_utc_seconds() {
        for (input, expected) in [
            ("2026-11-02T08:15:00.123456Z", "2026-11-02T08:15:00Z"),
            ("2026-11-02t08:15:00z", "2026-11-02T08:15:00Z"),
            ("2026-11-02T03:15:00-05:00", "2026-11-02T08:15:00Z"),
            ("2026-11-02T08:15:00", "2026-11-02T08:15:00Z"),
            ("2026-11-02 08:15:00.5", "2026-11-02T08:15:00Z"),
            ("2026-11-01T23:59:59+00:00", "2026-11-01T23:59:59Z"),
        ] {
            assert_eq!(normalize_time(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn non_times_are_none() {
        for input in [
            "",
            "2026-13-02T08:15:00Z",
            "2026-11-02T24:15:00Z",
            "HIDDEN_DUE_TO_SECURITY_REASONS",
            "1700000000",
        ] {
            assert_eq!(normalize_time(input), None, "{input}");
        }
    }
}
