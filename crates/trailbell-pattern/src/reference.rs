//! The reference matcher: walks the pattern tree over the event tree, one rule at a time. It is the
//! definition of the semantics (docs/decisions/0001-pattern-semantics.md), kept simple enough to be
//! obviously right; the compiled matcher must agree with it on every pattern and event.

use std::borrow::Cow;

use crate::ast::{FieldPattern, ObjectPattern};
use crate::compiled::RuleId;
use crate::dnf;
use crate::error::{EventError, PatternError};
use crate::event::tree::{self, Json};
use crate::limits::Limits;
use crate::matchers::{LeafValue, ValueMatcher};
use crate::parse::Pattern;

/// A slow, obviously correct matcher over many named rules.
///
/// ```
/// use trailbell_pattern::ReferenceMatcher;
///
/// let mut reference = ReferenceMatcher::new();
/// let root = reference.add_rule("root", r#"{"detail": {"userIdentity": {"type": ["Root"]}}}"#)?;
/// assert_eq!(reference.matches(br#"{"detail": {"userIdentity": {"type": "Root"}}}"#)?, vec![root]);
/// assert_eq!(reference.rule_name(root), "root");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReferenceMatcher {
    limits: Limits,
    /// Each rule's name and its conjunctions as merged pattern trees.
    rules: Vec<(String, Vec<ObjectPattern>)>,
}

impl ReferenceMatcher {
    /// An empty matcher with the default limits.
    ///
    /// ```
    /// let reference = trailbell_pattern::ReferenceMatcher::new();
    /// assert!(reference.matches(b"{}")?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> ReferenceMatcher {
        ReferenceMatcher::default()
    }

    /// An empty matcher whose patterns are parsed with `limits`.
    ///
    /// ```
    /// use trailbell_pattern::{Limits, ReferenceMatcher};
    ///
    /// let mut reference = ReferenceMatcher::with_limits(Limits { max_pattern_chars: 8, ..Limits::default() });
    /// assert!(reference.add_rule("long", r#"{"source": ["aws.signin"]}"#).is_err());
    /// ```
    pub fn with_limits(limits: Limits) -> ReferenceMatcher {
        ReferenceMatcher {
            limits,
            rules: Vec::new(),
        }
    }

    /// Parses `pattern_json` and adds it under `name`.
    ///
    /// ```
    /// let mut reference = trailbell_pattern::ReferenceMatcher::new();
    /// let err = reference.add_rule("bad", r#"{"a": []}"#).unwrap_err();
    /// assert_eq!(err.rule(), Some("bad"));
    /// ```
    pub fn add_rule(&mut self, name: &str, pattern_json: &str) -> Result<RuleId, PatternError> {
        let pattern = Pattern::parse_with_limits(pattern_json, &self.limits)
            .map_err(|e| e.with_rule(name))?;
        Ok(self.add_pattern(name, pattern))
    }

    /// Adds a parsed pattern under `name`.
    ///
    /// ```
    /// use trailbell_pattern::{Pattern, ReferenceMatcher};
    ///
    /// let mut reference = ReferenceMatcher::new();
    /// let id = reference.add_pattern("any", Pattern::parse("{}")?);
    /// assert_eq!(reference.matches(br#"{"x": 1}"#)?, vec![id]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_pattern(&mut self, name: &str, pattern: Pattern) -> RuleId {
        let id = RuleId::from_index(self.rules.len());
        self.rules
            .push((name.to_owned(), conjunction_trees(&pattern.root)));
        id
    }

    /// The name a rule was added under.
    ///
    /// ```
    /// let mut reference = trailbell_pattern::ReferenceMatcher::new();
    /// let id = reference.add_rule("x", "{}")?;
    /// assert_eq!(reference.rule_name(id), "x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rule_name(&self, id: RuleId) -> &str {
        self.rules.get(id.index()).map_or("", |(name, _)| name)
    }

    /// Every rule that matches the event, in the order the rules were added.
    ///
    /// ```
    /// let mut reference = trailbell_pattern::ReferenceMatcher::new();
    /// reference.add_rule("x", r#"{"a": [1]}"#)?;
    /// assert!(reference.matches(b"not json").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, event: &[u8]) -> Result<Vec<RuleId>, EventError> {
        let tree = tree::parse(event)?;
        Ok(self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, (_, trees))| trees.iter().any(|t| object_matches(t, Some(&tree))))
            .map(|(i, _)| RuleId::from_index(i))
            .collect())
    }
}

/// A pattern's conjunctions, each a tree whose fields are merged by path.
pub(crate) fn conjunction_trees(pattern: &ObjectPattern) -> Vec<ObjectPattern> {
    dnf::conjunctions(pattern)
        .iter()
        .map(|c| dnf::merged_tree(c))
        .collect()
}

/// Whether an object pattern matches an event value (`None` when the field is absent).
pub(crate) fn object_matches(pattern: &ObjectPattern, value: Option<&Json>) -> bool {
    if let Some(Json::Array(items)) = value {
        let mut elements = Vec::new();
        object_elements(items, &mut elements);
        if elements.is_empty() {
            return object_matches(pattern, None);
        }
        return elements.iter().any(|e| object_matches(pattern, Some(e)));
    }
    let object = value.filter(|v| matches!(v, Json::Object(_)));
    pattern
        .fields
        .iter()
        .all(|(name, field)| field_matches(field, object.and_then(|o| o.get(name))))
        && pattern
            .ors
            .iter()
            .all(|branches| branches.iter().any(|b| object_matches(b, object)))
}

fn field_matches(field: &FieldPattern, value: Option<&Json>) -> bool {
    match field {
        FieldPattern::Object(inner) => object_matches(inner, value),
        FieldPattern::Leaf(matchers) => {
            let mut values = Vec::new();
            if let Some(value) = value {
                leaf_values(value, &mut values);
            }
            matchers.iter().any(|m| match m {
                ValueMatcher::Exists(wanted) => *wanted != values.is_empty(),
                m => values.iter().any(|v| m.accepts(v)),
            })
        }
    }
}

/// The objects of an array, nested arrays flattened; scalars are not objects a pattern can enter.
fn object_elements<'a>(items: &'a [Json], out: &mut Vec<&'a Json>) {
    for item in items {
        match item {
            Json::Array(inner) => object_elements(inner, out),
            Json::Object(_) => out.push(item),
            _ => {}
        }
    }
}

/// The scalar values of a field, arrays flattened; objects hold no leaf value.
fn leaf_values<'a>(value: &'a Json, out: &mut Vec<LeafValue<'a>>) {
    match value {
        Json::Null => out.push(LeafValue::Null),
        Json::Bool(b) => out.push(LeafValue::Bool(*b)),
        Json::Number(n) => out.push(LeafValue::Number(*n)),
        Json::String(s) => out.push(LeafValue::String(Cow::Borrowed(s))),
        Json::Array(items) => items.iter().for_each(|item| leaf_values(item, out)),
        Json::Object(_) => {}
    }
}
