//! The CloudWatch Logs filter-pattern language: parsed, evaluated directly, and translated into
//! event patterns so that it runs in the same compiled matcher.
//!
//! - [`FilterPattern`]: one pattern, parsed as CloudWatch Logs documents it ("Filter pattern syntax
//!   for metric filters, subscription filters, and filter log events"): the JSON form
//!   (`{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }`) and term
//!   patterns (`ERROR`, `"exact phrase"`, `?a ?b`, `-term`, `%regex%`). It evaluates a record
//!   directly ([`FilterPattern::matches_record`]): that is the definition the rest is tested
//!   against. Semantics where AWS is silent: docs/decisions/0028-filter-pattern-semantics.md.
//! - [`Translation`]: the pattern as an EventBridge event pattern on the record, exact where the
//!   event-pattern language can say the same thing, else a wider pattern whose candidates need
//!   the direct check.
//! - [`FilterMatcher`]: many filter patterns in one compiled [`Matcher`](crate::Matcher), with
//!   the direct check run only on the candidates of inexact translations.
//!
//! ```
//! use trailbell_pattern::FilterPattern;
//!
//! let filter = FilterPattern::parse(
//!     r#"{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }"#)?;
//! assert!(filter.matches_message(
//!     r#"{"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}}"#));
//! let translation = filter.translation();
//! assert!(translation.is_exact());
//! assert_eq!(translation.under("detail").as_deref(), Some(
//!     r#"{"detail":{"additionalEventData":{"MFAUsed":[{"anything-but":"Yes"}]},"eventName":["ConsoleLogin"]}}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ast;
mod compile;
mod equivalence;
mod error;
mod eval;
mod from_event;
mod matcher;
mod parse;

use std::fmt;

pub use error::FilterError;
pub use from_event::{NoFilterForm, filter_pattern_for};
pub use matcher::{FilterMatcher, FilterMatcherBuilder};

/// One CloudWatch Logs filter pattern, parsed and validated.
#[derive(Clone, Debug)]
pub struct FilterPattern {
    text: String,
    form: ast::Form,
}

impl FilterPattern {
    /// Parses a filter pattern; the error names the column of the problem.
    ///
    /// ```
    /// use trailbell_pattern::FilterPattern;
    ///
    /// assert!(FilterPattern::parse("{ $.a = 1 && $.b = x || $.c IS NULL }").is_ok());
    /// let err = FilterPattern::parse("{ $.a = %ab(c)% }").unwrap_err();
    /// assert_eq!(err.reason(), "regex groups `(` and `)` are not supported");
    /// ```
    pub fn parse(text: &str) -> Result<FilterPattern, FilterError> {
        Ok(FilterPattern {
            text: text.to_owned(),
            form: parse::parse(text)?,
        })
    }

    /// The pattern's text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is the JSON form (`{ ... }`), which only JSON log events can match.
    pub fn is_json(&self) -> bool {
        matches!(self.form, ast::Form::Json(_))
    }

    /// Whether a log event message matches, as `aws logs test-metric-filter` would say: the JSON
    /// form reads the message as a JSON value (a message that is not JSON never matches), term
    /// patterns read its text.
    ///
    /// ```
    /// let filter = trailbell_pattern::FilterPattern::parse("ERROR -Exiting")?;
    /// assert!(filter.matches_message("[ERROR] A fatal exception has occurred"));
    /// assert!(!filter.matches_message("Exiting with ERRORCODE: -1"));
    /// # Ok::<(), trailbell_pattern::FilterError>(())
    /// ```
    pub fn matches_message(&self, message: &str) -> bool {
        match &self.form {
            ast::Form::Json(expr) => serde_json::from_str::<serde_json::Value>(message)
                .is_ok_and(|record| eval::expr_matches(expr, &record)),
            ast::Form::Terms(terms) => eval::terms_match(terms, message),
        }
    }

    /// Whether a parsed record matches (term patterns read the record's compact JSON text, which
    /// is what CloudTrail sends to CloudWatch Logs).
    pub fn matches_record(&self, record: &serde_json::Value) -> bool {
        match &self.form {
            ast::Form::Json(expr) => eval::expr_matches(expr, record),
            ast::Form::Terms(terms) => eval::terms_match(terms, &record.to_string()),
        }
    }

    /// Whether `other` says the same as this pattern, judged on the parsed forms: spacing, quotes,
    /// parentheses, the order and repetition of conditions and the distribution of `&&` over `||`
    /// do not count; what a condition tests does. Sound, not complete: `true` means the two match
    /// the same events, `false` that they are not written as the same conditions.
    ///
    /// ```
    /// use trailbell_pattern::FilterPattern;
    ///
    /// let security_hub = FilterPattern::parse(
    ///     r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#)?;
    /// let written = FilterPattern::parse(
    ///     r#"{ $.errorMessage = "Failed authentication" && $.eventName = "ConsoleLogin" }"#)?;
    /// assert!(security_hub.equivalent(&written));
    /// assert!(!security_hub.equivalent(&FilterPattern::parse("{ $.eventName = ConsoleLogin }")?));
    /// # Ok::<(), trailbell_pattern::FilterError>(())
    /// ```
    pub fn equivalent(&self, other: &FilterPattern) -> bool {
        equivalence::canonical(&self.form) == equivalence::canonical(&other.form)
    }

    /// The pattern's conditions in the canonical form [`FilterPattern::equivalent`] compares
    /// (`$.eventName = text:"ConsoleLogin"`), for telling how close two patterns are; empty for
    /// term patterns.
    pub fn conditions(&self) -> std::collections::BTreeSet<String> {
        equivalence::conditions(&self.form)
    }

    /// The pattern as an EventBridge event pattern on the record.
    pub fn translation(&self) -> Translation {
        match &self.form {
            ast::Form::Json(expr) => {
                let (pattern, exact) = compile::translate(expr);
                Translation { pattern, exact }
            }
            ast::Form::Terms(_) => Translation {
                pattern: None,
                exact: false,
            },
        }
    }
}

impl fmt::Display for FilterPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A filter pattern as an event pattern: on the record itself, or under a field of an envelope
/// (`detail` for the events EventBridge delivers).
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    pattern: Option<serde_json::Value>,
    exact: bool,
}

impl Translation {
    /// Whether the event pattern matches exactly the records the filter pattern matches. When
    /// not, it matches a superset and each candidate needs [`FilterPattern::matches_record`].
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// The event pattern's JSON text on the record; `None` when no part of the filter could be
    /// said as an event pattern (every record is then a candidate).
    pub fn on_record(&self) -> Option<String> {
        self.pattern.as_ref().map(serde_json::Value::to_string)
    }

    /// The event pattern's JSON text with the record under `field`.
    pub fn under(&self, field: &str) -> Option<String> {
        self.pattern.as_ref().map(|p| {
            let mut outer = serde_json::Map::new();
            outer.insert(field.to_owned(), p.clone());
            serde_json::Value::Object(outer).to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> (String, usize) {
        let err = FilterPattern::parse(text).expect_err(text);
        (err.reason().to_owned(), err.column())
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(
            refused("{ $.a = x "),
            ("expected `}` closing the JSON pattern".to_owned(), 11)
        );
        assert_eq!(refused("{ $.a ~ x }").1, 7, "the operator's column");
        assert_eq!(refused("{ $.a > x }").0, "`>` compares numbers only");
        assert_eq!(refused("{ $.a = \"x }").0, "unterminated quoted string");
        assert_eq!(refused("{ $ = x }").0, "expected `.` or `[` after `$`");
        assert_eq!(
            refused("{ $.a IS MAYBE }").0,
            "expected TRUE, FALSE or NULL after IS"
        );
        assert_eq!(
            refused("{ $.a = 1e999 }").0,
            "the number 1e999 is out of range"
        );
        assert_eq!(
            refused("{ $.a = x } y").0,
            "unexpected text after the closing `}`"
        );
        assert!(
            refused("[ip, user]")
                .0
                .starts_with("space-delimited patterns")
        );
    }

    #[test]
    fn regexes_are_held_to_the_documented_characters() {
        assert_eq!(
            refused("%a b%"),
            ("the character ' ' is not allowed in a regex".to_owned(), 3)
        );
        assert_eq!(
            refused("{ $.a = %(x)% }").0,
            "regex groups `(` and `)` are not supported"
        );
        assert!(FilterPattern::parse(r"%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%").is_ok());
        assert!(FilterPattern::parse("%[Ee]rror|[Ff]ail%").is_ok());
    }

    #[test]
    fn a_long_pattern_is_refused() {
        let text = format!("{{ $.a = {} }}", "x".repeat(1100));
        assert!(refused(&text).0.contains("more than 1024"));
    }

    #[test]
    fn deep_parentheses_are_refused_not_overflowed() {
        let text = format!("{{ {}$.a = 1{} }}", "(".repeat(500), ")".repeat(500));
        assert!(refused(&text).0.contains("nest more than"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // AWS's example: matches because `&&` groups the last two conditions.
        let filter = FilterPattern::parse(
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nomatch" }"#,
        )
        .expect("valid");
        assert!(filter.matches_message(
            r#"{"user": {"email": "John.Stiles@example.com"}, "coordinates": [[0, 1]], "actions": ["a", "b", "c"]}"#
        ));
    }

    #[test]
    fn keywords_ignore_case() {
        assert!(FilterPattern::parse("{ $.a is null || $.b not exists }").is_ok());
    }

    #[test]
    fn the_seed_pattern_translates_exactly() {
        let filter = FilterPattern::parse(
            "{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }",
        )
        .expect("valid");
        assert!(filter.translation().is_exact());
    }
}
