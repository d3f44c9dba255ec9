//! The time window of a scan (`--since`, `--until`): parsed from the command line, applied to each
//! event's time, and to the day in CloudTrail's key layout to skip whole days of files. Here, not in
//! `scan/`, because the sources prune their listings by it (and `scan/` uses the sources).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

use crate::cloudtrail::format_timestamp;

/// Events from `since` (inclusive) to `until` (exclusive), at whole seconds; either end may be
/// open.
///
/// ```
/// use trailbell::scan::TimeWindow;
///
/// let now = "2026-11-10T12:00:00Z".parse()?;
/// let window = TimeWindow::parse(Some("2026-11-02"), Some("7d"), now)?;
/// assert!(window.contains("2026-11-02T00:00:00Z"));
/// assert!(window.contains("2026-11-03T08:15:00Z"));
/// assert!(!window.contains("2026-11-03T12:00:00Z")); // 7 days before now: excluded
/// assert!(!window.contains("2026-11-01T23:59:59Z"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeWindow {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// `since` and `until` as normalized event times, compared as text against event times.
    since_text: Option<String>,
    until_text: Option<String>,
}

/// A `--since` or `--until` value that is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not RFC 3339, a date or a relative time.
    #[error(
        "invalid time {0:?}: expected RFC 3339 (2026-11-02T08:15:00Z), a date (2026-11-02) or a time ago (7d, 12h, 30m)"
    )]
    Invalid(String),
    /// `since` is not before `until`.
    #[error("--since ({since}) must be before --until ({until})")]
    Empty {
        /// The start, normalized.
        since: String,
        /// The end, normalized.
        until: String,
    },
}

impl TimeWindow {
    /// The window that holds every event.
    pub fn all() -> TimeWindow {
        TimeWindow::default()
    }

    /// The window between two command-line values, relative ones counted back from `now`.
    ///
    /// Each value is an RFC 3339 time (`2026-11-02T08:15:00Z`, `2026-11-02T09:15:00+01:00`), a
    /// date (`2026-11-02`, midnight UTC), or a time ago: a number and a unit, `d`, `h`, `m` or `s`,
    /// in any combination jiff reads (`7d`, `12h`, `1h30m`, `P7D`).
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now: Timestamp,
    ) -> Result<TimeWindow, WindowError> {
        let since = since.map(|text| parse_time(text, now)).transpose()?;
        let until = until.map(|text| parse_time(text, now)).transpose()?;
        TimeWindow::new(since, until)
    }

    /// The window between two times, truncated to the second.
    pub fn new(
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<TimeWindow, WindowError> {
        let since_text = since.map(format_timestamp);
        let until_text = until.map(format_timestamp);
        if let (Some(s), Some(u)) = (&since_text, &until_text)
            && s >= u
        {
            return Err(WindowError::Empty {
                since: s.clone(),
                until: u.clone(),
            });
        }
        Ok(TimeWindow {
            since,
            until,
            since_text,
            until_text,
        })
    }

    /// The start, inclusive.
    pub fn since(&self) -> Option<Timestamp> {
        self.since
    }

    /// The end, exclusive.
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }

    /// Whether the window is open at both ends.
    pub fn is_all(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// Whether an event at `time`, a normalized event time (`YYYY-MM-DDTHH:MM:SSZ`, see
    /// [`normalize_time`](crate::cloudtrail::normalize_time)), is in the window. Compares text,
    /// which for that form orders as time does.
    pub fn contains(&self, time: &str) -> bool {
        self.since_text.as_deref().is_none_or(|s| time >= s)
            && self.until_text.as_deref().is_none_or(|u| time < u)
    }

    /// Whether a CloudTrail log file delivered on `day` (the `YYYY/MM/DD` of its key, UTC) may hold
    /// events in the window.
    ///
    /// CloudTrail delivers a file minutes after its events, so the file's events are no later
    /// than its day: the days before the start's day hold none. Its events may be from the day
    /// before (just before midnight, or delayed), so the day after the end's day is kept.
    ///
    /// ```
    /// use trailbell::scan::TimeWindow;
    ///
    /// let window = TimeWindow::new(Some("2026-11-02T08:00:00Z".parse()?), Some("2026-11-03T00:00:00Z".parse()?))?;
    /// let day = |text: &str| text.parse::<jiff::civil::Date>();
    /// assert!(!window.may_contain_day(day("2026-11-01")?));
    /// assert!(window.may_contain_day(day("2026-11-02")?));
    /// assert!(window.may_contain_day(day("2026-11-03")?)); // events from just before midnight
    /// assert!(!window.may_contain_day(day("2026-11-04")?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn may_contain_day(&self, day: Date) -> bool {
        let utc = |t: Timestamp| t.to_zoned_datetime(TimeZone::UTC).date();
        let after_start = self.since.is_none_or(|since| day >= utc(since));
        let before_end = self.until.is_none_or(|until| {
            // The file of `day` may hold events from `day - 1`; those are before `until` when the
            // day before starts before it.
            match day.yesterday() {
                Ok(yesterday) => yesterday
                    .to_zoned_datetime(TimeZone::UTC)
                    .is_ok_and(|start| start.timestamp() < until),
                Err(_) => true,
            }
        });
        after_start && before_end
    }
}

/// The day in a CloudTrail key or path: `.../CloudTrail/<region>/YYYY/MM/DD/...` (the `/`
/// separated components of `path`, from the end). `None` when the path does not follow the layout.
///
/// ```
/// use trailbell::scan::layout_day;
///
/// let day = layout_day("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02").expect("layout");
/// assert_eq!(day.to_string(), "2026-11-02");
/// assert_eq!(layout_day("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02"), None);
/// assert_eq!(layout_day("logs/2026/11/02"), None);
/// ```
pub fn layout_day(path: &str) -> Option<Date> {
    let parts: Vec<&str> = path.trim_end_matches('/').rsplit('/').take(5).collect();
    let [day, month, year, _region, trail] = parts[..] else {
        return None;
    };
    if trail != "CloudTrail" || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let number = |text: &str| {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse::<i16>().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, WindowError> {
    let invalid = || WindowError::Invalid(text.to_owned());
    let trimmed = text.trim();
    if let Ok(timestamp) = trimmed.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    if let Ok(date) = trimmed.parse::<Date>() {
        return date
            .to_zoned_datetime(TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|_| invalid());
    }
    let span: Span = trimmed.parse().map_err(|_| invalid())?;
    if span.is_negative() || span.is_zero() {
        return Err(invalid());
    }
    // Days are 24 hours: counted in UTC, there is no daylight saving time to make them otherwise.
    let zoned: ZonedDateTime = now.to_zoned_datetime(TimeZone::UTC);
    zoned
        .checked_sub(span)
        .map(|then| then.timestamp())
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-10T12:34:56Z".parse().expect("time")
    }

    fn window(since: Option<&str>, until: Option<&str>) -> Result<TimeWindow, WindowError> {
        TimeWindow::parse(since, until, now())
    }

    #[test]
    fn every_form_of_time() {
        for (text, expected) in [
            ("2026-11-02T08:15:00Z", "2026-11-02T08:15:00Z"),
            ("2026-11-02T09:15:00+01:00", "2026-11-02T08:15:00Z"),
            ("2026-11-02T08:15:00.999Z", "2026-11-02T08:15:00Z"),
            ("2026-11-02", "2026-11-02T00:00:00Z"),
            ("7d", "2026-11-03T12:34:56Z"),
            ("12h", "2026-11-10T00:34:56Z"),
            ("1h30m", "2026-11-10T11:04:56Z"),
            ("90s", "2026-11-10T12:33:26Z"),
            ("P1D", "2026-11-09T12:34:56Z"),
        ] {
            let window = window(Some(text), None).expect(text);
            assert_eq!(window.since_text.as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn nonsense_and_empty_windows_are_errors() {
        for text in ["yesterday", "", "2026-11-32", "-7d", "0d", "7 parsecs"] {
            assert!(
                matches!(window(Some(text), None), Err(WindowError::Invalid(_))),
                "{text}"
            );
        }
        assert!(matches!(
            window(Some("2026-11-03"), Some("2026-11-02")),
            Err(WindowError::Empty { .. })
        ));
        assert!(matches!(
            window(Some("2026-11-02"), Some("2026-11-02")),
            Err(WindowError::Empty { .. })
        ));
    }

    #[test]
    fn since_is_inclusive_and_until_exclusive() {
        let w = window(Some("2026-11-02T08:15:00Z"), Some("2026-11-02T09:30:00Z")).expect("valid");
        assert!(w.contains("2026-11-02T08:15:00Z"));
        assert!(w.contains("2026-11-02T09:29:59Z"));
        assert!(!w.contains("2026-11-02T09:30:00Z"));
        assert!(!w.contains("2026-11-02T08:14:59Z"));
        assert!(TimeWindow::all().contains("anything"));
    }

    #[test]
    fn days_are_pruned_with_a_day_of_slack_after_the_end() {
        let w = window(None, Some("2026-11-02T00:00:01Z")).expect("valid");
        let day = |text: &str| text.parse::<Date>().expect("date");
        assert!(w.may_contain_day(day("2026-11-03")));
        assert!(!w.may_contain_day(day("2026-11-04")));
        assert!(w.may_contain_day(day("1999-01-01")));
        let w = window(None, Some("2026-11-02")).expect("valid");
        assert!(w.may_contain_day(day("2026-11-02")));
        assert!(!w.may_contain_day(day("2026-11-03")));
    }

    #[test]
    fn the_layout_needs_every_component() {
        assert!(layout_day("x/CloudTrail/eu-west-1/2026/11/02/").is_some());
        assert!(layout_day("CloudTrail/eu-west-1/2026/11/02").is_some());
        assert_eq!(layout_day("x/CloudTrail/eu-west-1/2026/13/02"), None);
        assert_eq!(layout_day("x/CloudTrail/eu-west-1/2026/1/02"), None);
        assert_eq!(layout_day("x/CloudTrail/eu-west-1/2026/11"), None);
        assert_eq!(layout_day("x/Other/eu-west-1/2026/11/02"), None);
        assert_eq!(layout_day("x/CloudTrail/eu-west-1/2026/+1/02"), None);
    }
}
