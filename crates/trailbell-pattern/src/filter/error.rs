//! Why a filter pattern was refused: CloudWatch Logs' words, with the position.

use std::fmt;

/// Why a CloudWatch Logs filter pattern was refused.
///
/// The message starts as CloudWatch Logs' does (`Invalid filter pattern`) and names the 1-based
/// character column where the problem was found.
///
/// ```
/// use trailbell_pattern::FilterPattern;
///
/// let err = FilterPattern::parse("{ $.a = }").unwrap_err();
/// assert_eq!(err.column(), 9);
/// assert!(err.to_string().starts_with("Invalid filter pattern: "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    reason: String,
    column: usize,
}

impl FilterError {
    /// `at` is a byte offset into `text`; it is reported as a character column.
    pub(crate) fn new(text: &str, at: usize, reason: impl Into<String>) -> FilterError {
        let at = at.min(text.len());
        let column = text.char_indices().take_while(|(i, _)| *i < at).count() + 1;
        FilterError {
            reason: reason.into(),
            column,
        }
    }

    /// What is wrong, without the position.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The 1-based character column of the problem in the pattern's text.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Invalid filter pattern: {} (at column {})",
            self.reason, self.column
        )
    }
}

impl std::error::Error for FilterError {}
