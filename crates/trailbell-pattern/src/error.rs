//! Errors: a pattern that cannot be built, an event that cannot be read.

use std::fmt;

/// Why an event pattern was rejected.
///
/// The message follows Amazon EventBridge (`Event pattern is not valid. Reason: ...`) and names the
/// JSON path of the offending part of the pattern, and the rule when the pattern was added under a
/// name.
///
/// ```
/// use trailbell_pattern::Pattern;
///
/// let err = Pattern::parse(r#"{"source": [{"prefix": 5}]}"#).unwrap_err();
/// assert_eq!(err.path(), "$.source[0].prefix");
/// assert!(err.to_string().starts_with("Event pattern is not valid. Reason: "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    reason: String,
    path: String,
    rule: Option<String>,
}

impl PatternError {
    pub(crate) fn new(path: impl Into<String>, reason: impl Into<String>) -> PatternError {
        PatternError {
            reason: reason.into(),
            path: path.into(),
            rule: None,
        }
    }

    pub(crate) fn with_rule(mut self, rule: &str) -> PatternError {
        self.rule = Some(rule.to_owned());
        self
    }

    /// The reason, in EventBridge's words where they are known.
    ///
    /// ```
    /// let err = trailbell_pattern::Pattern::parse("[]").unwrap_err();
    /// assert_eq!(err.reason(), "Filter is not an object");
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The JSON path of the problem inside the pattern: `$` is the pattern itself, `.name` a field,
    /// `[i]` an array element (`["odd name"]` for a field name that is not a plain identifier).
    ///
    /// ```
    /// let err = trailbell_pattern::Pattern::parse(r#"{"a": {"b": 1}}"#).unwrap_err();
    /// assert_eq!(err.path(), "$.a.b");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The name of the rule whose pattern failed, when it was added under a name.
    ///
    /// ```
    /// use trailbell_pattern::MatcherBuilder;
    ///
    /// let mut builder = MatcherBuilder::new();
    /// let err = builder.add_rule("broken", "{").unwrap_err();
    /// assert_eq!(err.rule(), Some("broken"));
    /// ```
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule:?}: ")?;
        }
        write!(f, "Event pattern is not valid. Reason: {}", self.reason)?;
        if self.path != "$" {
            write!(f, " (at {})", self.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for PatternError {}

/// Why an event could not be matched: it is not valid JSON, or not a JSON object.
///
/// Matching itself never fails; only reading the event's bytes can.
///
/// ```
/// use trailbell_pattern::MatcherBuilder;
///
/// let matcher = MatcherBuilder::new().build();
/// let err = matcher.matches(br#"{"a": tru}"#).unwrap_err();
/// assert_eq!(err.offset(), 6);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    offset: usize,
    reason: &'static str,
}

impl EventError {
    pub(crate) fn new(offset: usize, reason: &'static str) -> EventError {
        EventError { offset, reason }
    }

    /// The byte offset in the event where reading failed.
    ///
    /// ```
    /// let err = trailbell_pattern::Pattern::parse("{}").unwrap().matches(b"[1]").unwrap_err();
    /// assert_eq!(err.offset(), 0);
    /// ```
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong, in a short lowercase phrase.
    ///
    /// ```
    /// let err = trailbell_pattern::Pattern::parse("{}").unwrap().matches(b"[1]").unwrap_err();
    /// assert_eq!(err.reason(), "event is not a JSON object");
    /// ```
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid event at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for EventError {}
