//! Rules written as CloudWatch Logs filter patterns (issue 16, decision 0028): a filter pattern
//! applies to the CloudTrail record, which EventBridge delivers as the envelope's `detail`.

use trailbell_pattern::{FilterError, FilterMatcherBuilder, FilterPattern};

use super::testing::TestError;

/// Why a filter pattern has no event-pattern form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterRuleError {
    /// The filter pattern does not parse (with its position).
    #[error(transparent)]
    Parse(#[from] FilterError),
    /// A term pattern, which reads log text.
    #[error(
        "a term pattern reads log text and has no event-pattern form; use the JSON form `{{ $.field = value }}`"
    )]
    TermPattern,
    /// A JSON filter whose translation is wider than the filter.
    #[error(
        "this filter pattern has no exact event-pattern form (NOT EXISTS, [n] or [*] selectors, a regex, or two conditions under one top-level property); add an event_pattern beside it"
    )]
    Inexact,
}

/// The envelope field that holds the CloudTrail record.
pub const RECORD_FIELD: &str = "detail";

/// The event pattern that matches exactly the envelopes whose record `filter` matches, or why
/// there is none (the rule then needs an `event_pattern` beside its filter pattern).
///
/// ```
/// let pattern = trailbell::rules::event_pattern_for_filter("{ $.eventName = ConsoleLogin }")?;
/// assert_eq!(pattern, r#"{"detail":{"eventName":["ConsoleLogin"]}}"#);
/// let why = trailbell::rules::event_pattern_for_filter("{ $.a NOT EXISTS }").unwrap_err();
/// assert!(why.to_string().contains("no exact event-pattern form"));
/// # Ok::<(), trailbell::rules::FilterRuleError>(())
/// ```
pub fn event_pattern_for_filter(filter: &str) -> Result<String, FilterRuleError> {
    let parsed = FilterPattern::parse(filter)?;
    if !parsed.is_json() {
        return Err(FilterRuleError::TermPattern);
    }
    let translation = parsed.translation();
    match translation.under(RECORD_FIELD) {
        Some(pattern) if translation.is_exact() => Ok(pattern),
        _ => Err(FilterRuleError::Inexact),
    }
}

/// Whether `filter` matches the record of an envelope, through the compiled path (the event
/// pattern translation in the compiled matcher, checked directly when inexact) and through the
/// direct evaluator; an envelope that cannot be read is an error.
pub(crate) fn filter_answers(
    filter: &FilterPattern,
    envelope: &str,
) -> (Result<bool, TestError>, Result<bool, TestError>) {
    let record = match serde_json::from_str::<serde_json::Value>(envelope) {
        Ok(value) => value.get(RECORD_FIELD).cloned().unwrap_or_default(),
        Err(err) => {
            let err = TestError::not_json(&err);
            return (Err(err.clone()), Err(err));
        }
    };
    let direct = Ok(filter.matches_record(&record));
    let mut builder = FilterMatcherBuilder::new();
    builder.add("rule", filter.clone());
    let compiled = if record.is_object() {
        builder
            .build()
            .matches(record.to_string().as_bytes())
            .map(|found| !found.is_empty())
            .map_err(TestError::from)
    } else {
        // No record: nothing for a JSON pattern to match.
        Ok(false)
    };
    (compiled, direct)
}
