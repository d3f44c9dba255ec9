//! Pattern JSON to the validated tree, checked the way EventBridge checks it.

use serde_json::{Map, Value};

use crate::ast::{FieldPattern, ObjectPattern};
use crate::error::{EventError, PatternError};
use crate::limits::Limits;
use crate::matchers::ValueMatcher;
use crate::path::JsonPath;

/// One event pattern, parsed and validated.
///
/// ```
/// use trailbell_pattern::Pattern;
///
/// let pattern = Pattern::parse(r#"{"detail": {"eventName": [{"prefix": "Delete"}]}}"#)?;
/// assert!(pattern.matches(br#"{"detail": {"eventName": "DeleteUser"}}"#)?);
/// assert!(!pattern.matches(br#"{"detail": {"eventName": "CreateUser"}}"#)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pattern {
    pub(crate) root: ObjectPattern,
}

impl Pattern {
    /// Parses and validates a pattern with the default [`Limits`].
    ///
    /// ```
    /// use trailbell_pattern::Pattern;
    ///
    /// assert!(Pattern::parse(r#"{"source": ["aws.signin"]}"#).is_ok());
    /// let err = Pattern::parse(r#"{"source": "aws.signin"}"#).unwrap_err();
    /// assert_eq!(err.path(), "$.source");
    /// ```
    pub fn parse(json: &str) -> Result<Pattern, PatternError> {
        Pattern::parse_with_limits(json, &Limits::default())
    }

    /// Parses and validates a pattern with the given limits.
    ///
    /// ```
    /// use trailbell_pattern::{Limits, Pattern};
    ///
    /// let limits = Limits { max_or_combinations: 2, ..Limits::default() };
    /// let pattern = r#"{"$or": [{"a": [1]}, {"b": [2]}, {"c": [3]}]}"#;
    /// assert!(Pattern::parse_with_limits(pattern, &limits).is_err());
    /// assert!(Pattern::parse(pattern).is_ok());
    /// ```
    pub fn parse_with_limits(json: &str, limits: &Limits) -> Result<Pattern, PatternError> {
        let chars = json.chars().count();
        if chars > limits.max_pattern_chars {
            return Err(PatternError::new(
                "$",
                format!(
                    "Event pattern is {chars} characters long; the limit is {}",
                    limits.max_pattern_chars
                ),
            ));
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|e| PatternError::new("$", format!("Filter is not valid JSON: {e}")))?;
        let Value::Object(object) = &value else {
            return Err(PatternError::new("$", "Filter is not an object"));
        };
        let root = parse_object(object, &JsonPath::root(), 1, limits)?;
        let combinations = combinations(&root);
        if combinations > limits.max_or_combinations as u64 {
            return Err(PatternError::new(
                "$",
                format!(
                    "The $or expands into {combinations} combinations; the limit is {}",
                    limits.max_or_combinations
                ),
            ));
        }
        Ok(Pattern { root })
    }

    /// How many combinations the pattern's `$or`s expand into: the conjunctions it compiles to,
    /// which is what a compiled rule costs. A pattern without `$or` has one.
    ///
    /// ```
    /// use trailbell_pattern::Pattern;
    ///
    /// let pattern = Pattern::parse(r#"{"$or": [{"a": [1]}, {"b": [2]}], "c": {"$or": [{"d": [3]}, {"e": [4]}, {"f": [5]}]}}"#)?;
    /// assert_eq!(pattern.or_combinations(), 6);
    /// assert_eq!(Pattern::parse(r#"{"a": [1, 2, 3]}"#)?.or_combinations(), 1);
    /// # Ok::<(), trailbell_pattern::PatternError>(())
    /// ```
    pub fn or_combinations(&self) -> u64 {
        combinations(&self.root)
    }

    /// Whether the pattern matches one event, by the reference semantics. For many patterns or
    /// many events, build a [`Matcher`](crate::Matcher) instead.
    ///
    /// ```
    /// use trailbell_pattern::Pattern;
    ///
    /// let pattern = Pattern::parse(r#"{"detail": {"additionalEventData": {"MFAUsed": [{"anything-but": {"equals-ignore-case": "yes"}}]}}}"#)?;
    /// assert!(pattern.matches(br#"{"detail": {"additionalEventData": {"MFAUsed": "No"}}}"#)?);
    /// assert!(!pattern.matches(br#"{"detail": {"additionalEventData": {"MFAUsed": "YES"}}}"#)?);
    /// assert!(!pattern.matches(br#"{"detail": {}}"#)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, event: &[u8]) -> Result<bool, EventError> {
        let tree = crate::event::tree::parse(event)?;
        Ok(crate::reference::conjunction_trees(&self.root)
            .iter()
            .any(|t| crate::reference::object_matches(t, Some(&tree))))
    }
}

fn parse_object(
    object: &Map<String, Value>,
    path: &JsonPath,
    depth: usize,
    limits: &Limits,
) -> Result<ObjectPattern, PatternError> {
    if depth > limits.max_depth {
        return Err(PatternError::new(
            path.as_str(),
            format!(
                "Event pattern nests deeper than {} objects",
                limits.max_depth
            ),
        ));
    }
    let mut pattern = ObjectPattern::default();
    for (name, value) in object {
        let at = path.field(name);
        if name == "$or" {
            pattern.ors.push(parse_or(value, &at, depth, limits)?);
            continue;
        }
        let field = match value {
            Value::Object(inner) => {
                FieldPattern::Object(parse_object(inner, &at, depth + 1, limits)?)
            }
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(PatternError::new(
                        at.as_str(),
                        "Empty arrays are not allowed",
                    ));
                }
                let matchers = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| ValueMatcher::parse(item, &at.index(i), limits))
                    .collect::<Result<Vec<_>, _>>()?;
                FieldPattern::Leaf(matchers)
            }
            _ => {
                return Err(PatternError::new(
                    at.as_str(),
                    format!("{name:?} must be an object or an array"),
                ));
            }
        };
        pattern.fields.push((name.as_str().into(), field));
    }
    Ok(pattern)
}

/// Reads a `$or`: an array of at least two objects. `$or` is always the operator, never a field
/// name, as event-ruler reads it; so anything else under that name is refused.
fn parse_or(
    value: &Value,
    path: &JsonPath,
    depth: usize,
    limits: &Limits,
) -> Result<Vec<ObjectPattern>, PatternError> {
    let Value::Array(items) = value else {
        return Err(PatternError::new(
            path.as_str(),
            "It must be an Array followed with $or.",
        ));
    };
    // Each element's kind first, then the count, then the branches: event-ruler's order.
    if let Some(bad) = items.iter().position(|item| !item.is_object()) {
        return Err(PatternError::new(
            path.index(bad).as_str(),
            "Only JSON object is allowed in array of $or relationship.",
        ));
    }
    if items.len() < 2 {
        return Err(PatternError::new(
            path.as_str(),
            "There must have at least 2 Objects in $or relationship.",
        ));
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.as_object().map(|branch| (i, branch)))
        .map(|(i, branch)| parse_object(branch, &path.index(i), depth + 1, limits))
        .collect()
}

/// How many conjunctions the pattern expands into, saturating.
pub(crate) fn combinations(pattern: &ObjectPattern) -> u64 {
    let mut total: u64 = 1;
    for (_, field) in &pattern.fields {
        if let FieldPattern::Object(inner) = field {
            total = total.saturating_mul(combinations(inner));
        }
    }
    for branches in &pattern.ors {
        let sum = branches
            .iter()
            .fold(0u64, |sum, b| sum.saturating_add(combinations(b)));
        total = total.saturating_mul(sum);
    }
    total
}
