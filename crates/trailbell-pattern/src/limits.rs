//! Limits on what a pattern may cost, as configuration rather than panics.

/// Limits applied when a pattern is parsed. Exceeding one is a [`PatternError`](crate::PatternError),
/// never a panic or a hang.
///
/// ```
/// use trailbell_pattern::{Limits, Pattern};
///
/// let limits = Limits { max_pattern_chars: 10, ..Limits::default() };
/// let err = Pattern::parse_with_limits(r#"{"source": ["aws.signin"]}"#, &limits).unwrap_err();
/// assert!(err.reason().contains("10"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest pattern text, in characters (EventBridge: 4096 by default, raisable by quota).
    pub max_pattern_chars: usize,
    /// The most combinations that `$or` may expand into (EventBridge: 1000).
    pub max_or_combinations: usize,
    /// The most `*` characters in one wildcard value.
    pub max_wildcard_stars: usize,
    /// The deepest nesting of objects in a pattern.
    pub max_depth: usize,
}

impl Default for Limits {
    /// EventBridge's defaults.
    ///
    /// ```
    /// assert_eq!(trailbell_pattern::Limits::default().max_pattern_chars, 4096);
    /// ```
    fn default() -> Limits {
        Limits {
            max_pattern_chars: 4096,
            max_or_combinations: 1000,
            max_wildcard_stars: 32,
            max_depth: 64,
        }
    }
}
