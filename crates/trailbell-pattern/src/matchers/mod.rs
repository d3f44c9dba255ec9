//! The value matchers of a pattern's leaf lists, one module per operator.
//!
//! Each operator parses its own JSON form (with a located error) and decides alone whether it accepts
//! one leaf value of an event. The reference matcher calls these directly; the compiled matcher
//! indexes the common ones and calls these for the rest.

mod anything_but;
mod cidr;
mod exact;
mod numeric;
mod text;
mod wildcard;

use std::borrow::Cow;

use serde_json::Value;

pub(crate) use anything_but::AnythingBut;
pub(crate) use cidr::Cidr;
pub(crate) use exact::Literal;
pub(crate) use numeric::NumericRange;
pub(crate) use text::fold_case;
pub(crate) use wildcard::Wildcard;

use crate::error::PatternError;
use crate::limits::Limits;
use crate::path::JsonPath;

/// One leaf value of an event: the scalars that patterns compare against.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LeafValue<'a> {
    String(Cow<'a, str>),
    Number(f64),
    Bool(bool),
    Null,
}

/// One element of a pattern's leaf list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ValueMatcher {
    Exact(Literal),
    Prefix(String),
    /// The prefix, lowercased.
    PrefixIgnoreCase(String),
    Suffix(String),
    /// The suffix, lowercased.
    SuffixIgnoreCase(String),
    /// The value, lowercased.
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(NumericRange),
    Exists(bool),
    Cidr(Cidr),
}

impl ValueMatcher {
    /// Whether this matcher accepts one leaf value. `Exists` is decided by the caller, which knows
    /// whether the field has values at all.
    pub(crate) fn accepts(&self, value: &LeafValue<'_>) -> bool {
        let text = match value {
            LeafValue::String(s) => Some(s.as_ref()),
            _ => None,
        };
        match self {
            ValueMatcher::Exact(literal) => literal.accepts(value),
            ValueMatcher::Prefix(p) => text.is_some_and(|s| s.starts_with(p.as_str())),
            ValueMatcher::Suffix(p) => text.is_some_and(|s| s.ends_with(p.as_str())),
            ValueMatcher::PrefixIgnoreCase(p) => {
                text.is_some_and(|s| fold_case(s).starts_with(p.as_str()))
            }
            ValueMatcher::SuffixIgnoreCase(p) => {
                text.is_some_and(|s| fold_case(s).ends_with(p.as_str()))
            }
            ValueMatcher::EqualsIgnoreCase(p) => text.is_some_and(|s| fold_case(s) == p.as_str()),
            ValueMatcher::Wildcard(w) => text.is_some_and(|s| w.accepts(s)),
            ValueMatcher::AnythingBut(a) => a.accepts(value),
            ValueMatcher::Numeric(range) => match value {
                LeafValue::Number(n) => range.contains(*n),
                _ => false,
            },
            ValueMatcher::Exists(wanted) => *wanted,
            ValueMatcher::Cidr(cidr) => text.is_some_and(|s| cidr.contains_str(s)),
        }
    }

    /// Parses one element of a leaf list: a literal, or an object with one operator.
    pub(crate) fn parse(
        value: &Value,
        path: &JsonPath,
        limits: &Limits,
    ) -> Result<ValueMatcher, PatternError> {
        let object = match value {
            Value::Array(_) => {
                return Err(PatternError::new(
                    path.as_str(),
                    "Match value must be String, number, true, false, or null",
                ));
            }
            Value::Object(object) => object,
            literal => return Literal::parse(literal, path).map(ValueMatcher::Exact),
        };
        let mut entries = object.iter();
        let (operator, operand) = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            (None, _) => {
                return Err(PatternError::new(
                    path.as_str(),
                    "Empty objects are not allowed",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(PatternError::new(
                    path.as_str(),
                    "Only one key allowed in match expression",
                ));
            }
        };
        let at = path.field(operator);
        match operator.as_str() {
            "prefix" => text::parse_affix(operand, &at, "prefix").map(|(s, ignore_case)| {
                if ignore_case {
                    ValueMatcher::PrefixIgnoreCase(s)
                } else {
                    ValueMatcher::Prefix(s)
                }
            }),
            "suffix" => text::parse_affix(operand, &at, "suffix").map(|(s, ignore_case)| {
                if ignore_case {
                    ValueMatcher::SuffixIgnoreCase(s)
                } else {
                    ValueMatcher::Suffix(s)
                }
            }),
            "equals-ignore-case" => text::parse_string(operand, &at, "equals-ignore-case")
                .map(|s| ValueMatcher::EqualsIgnoreCase(fold_case(&s))),
            "wildcard" => Wildcard::parse(operand, &at, limits).map(ValueMatcher::Wildcard),
            "anything-but" => {
                AnythingBut::parse(operand, &at, limits).map(ValueMatcher::AnythingBut)
            }
            "numeric" => NumericRange::parse(operand, &at).map(ValueMatcher::Numeric),
            // event-ruler's explicit exact match: strings only; the same as the bare string.
            "exactly" => match operand {
                Value::String(_) => Literal::parse(operand, &at).map(ValueMatcher::Exact),
                _ => Err(PatternError::new(
                    at.as_str(),
                    "exact match pattern must be a string",
                )),
            },
            "exists" => match operand {
                Value::Bool(b) => Ok(ValueMatcher::Exists(*b)),
                _ => Err(PatternError::new(
                    at.as_str(),
                    "exists match pattern must be either true or false.",
                )),
            },
            "cidr" => Cidr::parse(operand, &at).map(ValueMatcher::Cidr),
            other => Err(PatternError::new(
                at.as_str(),
                format!("Unrecognized match type {other}"),
            )),
        }
    }

    /// How selective the matcher is expected to be: lower is rarer. Used to pick the predicate a
    /// compiled conjunction is filed under.
    pub(crate) fn selectivity_cost(&self) -> u32 {
        match self {
            ValueMatcher::Exact(_) | ValueMatcher::EqualsIgnoreCase(_) => 1,
            ValueMatcher::Prefix(_)
            | ValueMatcher::Suffix(_)
            | ValueMatcher::PrefixIgnoreCase(_)
            | ValueMatcher::SuffixIgnoreCase(_) => 2,
            ValueMatcher::Wildcard(_) | ValueMatcher::Cidr(_) => 3,
            ValueMatcher::Numeric(_) => 4,
            ValueMatcher::AnythingBut(_) | ValueMatcher::Exists(_) => 10,
        }
    }
}
