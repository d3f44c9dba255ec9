//! anything-but: accepts a value that the inner matcher rejects; never a missing field.

use serde_json::Value;

use super::LeafValue;
use super::exact::Literal;
use super::text::{fold_case, parse_string};
use super::wildcard::Wildcard;
use crate::error::PatternError;
use crate::limits::Limits;
use crate::path::JsonPath;

/// The forms of anything-but.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AnythingBut {
    /// Strings, or numbers, never both.
    Values(Vec<Literal>),
    /// Non-empty prefixes: a string or a list of strings, as event-ruler reads it.
    Prefixes(Vec<String>),
    /// Non-empty suffixes, likewise.
    Suffixes(Vec<String>),
    /// Lowercased values.
    EqualsIgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

impl AnythingBut {
    pub(crate) fn parse(
        operand: &Value,
        path: &JsonPath,
        limits: &Limits,
    ) -> Result<AnythingBut, PatternError> {
        match operand {
            Value::String(_) | Value::Number(_) => {
                Ok(AnythingBut::Values(vec![Literal::parse(operand, path)?]))
            }
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(PatternError::new(
                        path.as_str(),
                        "Empty arrays are not allowed",
                    ));
                }
                if let Some(bad) = items.iter().position(|v| !v.is_string() && !v.is_number()) {
                    return Err(PatternError::new(
                        path.index(bad).as_str(),
                        "Inside anything but list, start|null|boolean is not supported.",
                    ));
                }
                let first_is_string = items[0].is_string();
                if let Some(bad) = items.iter().position(|v| v.is_string() != first_is_string) {
                    return Err(PatternError::new(
                        path.index(bad).as_str(),
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                    ));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Literal::parse(v, &path.index(i)))
                    .collect::<Result<_, _>>()
                    .map(AnythingBut::Values)
            }
            Value::Object(object) => {
                let mut entries = object.iter();
                let (key, value) = match (entries.next(), entries.next()) {
                    (Some(entry), None) => entry,
                    _ => {
                        return Err(PatternError::new(
                            path.as_str(),
                            "Value of anything-but must be an array or single string/number value.",
                        ));
                    }
                };
                let at = path.field(key);
                match key.as_str() {
                    "prefix" => affixes(value, &at).map(AnythingBut::Prefixes),
                    "suffix" => affixes(value, &at).map(AnythingBut::Suffixes),
                    "equals-ignore-case" => {
                        string_or_list(value, &at, "equals-ignore-case").map(|list| {
                            AnythingBut::EqualsIgnoreCase(
                                list.iter().map(|s| fold_case(s)).collect(),
                            )
                        })
                    }
                    "wildcard" => {
                        let list = string_or_list(value, &at, "wildcard")?;
                        let many = value.is_array();
                        list.iter()
                            .enumerate()
                            .map(|(i, s)| {
                                let item_path = if many { at.index(i) } else { at.clone() };
                                Wildcard::from_text(s, &item_path, limits)
                            })
                            .collect::<Result<_, _>>()
                            .map(AnythingBut::Wildcards)
                    }
                    other => Err(PatternError::new(
                        at.as_str(),
                        format!("Unsupported anything-but pattern: {other}"),
                    )),
                }
            }
            Value::Bool(_) | Value::Null => Err(PatternError::new(
                path.as_str(),
                "Value of anything-but must be an array or single string/number value.",
            )),
        }
    }

    pub(crate) fn accepts(&self, value: &LeafValue<'_>) -> bool {
        let text = match value {
            LeafValue::String(s) => Some(s.as_ref()),
            _ => None,
        };
        match self {
            AnythingBut::Values(values) => !values.iter().any(|l| l.accepts(value)),
            AnythingBut::Prefixes(ps) => {
                !text.is_some_and(|s| ps.iter().any(|p| s.starts_with(p.as_str())))
            }
            AnythingBut::Suffixes(ps) => {
                !text.is_some_and(|s| ps.iter().any(|p| s.ends_with(p.as_str())))
            }
            AnythingBut::EqualsIgnoreCase(values) => match text {
                Some(s) => {
                    let folded = fold_case(s);
                    !values.contains(&folded)
                }
                None => true,
            },
            AnythingBut::Wildcards(wildcards) => {
                !text.is_some_and(|s| wildcards.iter().any(|w| w.accepts(s)))
            }
        }
    }
}

/// The operand of anything-but's prefix or suffix: a string or a non-empty list of strings, none
/// empty. An empty affix would exclude every string; event-ruler refuses it, and so does trailbell.
fn affixes(value: &Value, path: &JsonPath) -> Result<Vec<String>, PatternError> {
    let check = |item: &Value, at: &JsonPath| match item {
        Value::String(s) if s.is_empty() => Err(PatternError::new(
            at.as_str(),
            "Null prefix/suffix not allowed",
        )),
        Value::String(s) => Ok(s.clone()),
        _ => Err(PatternError::new(
            at.as_str(),
            "prefix/suffix match pattern must be a string",
        )),
    };
    match value {
        Value::Array(items) if items.is_empty() => Err(PatternError::new(
            path.as_str(),
            "Empty arrays are not allowed",
        )),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| check(item, &path.index(i)))
            .collect(),
        item => check(item, path).map(|s| vec![s]),
    }
}

fn string_or_list(
    value: &Value,
    path: &JsonPath,
    operator: &str,
) -> Result<Vec<String>, PatternError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_string(v, &path.index(i), operator))
            .collect(),
        Value::Array(_) => Err(PatternError::new(
            path.as_str(),
            "Empty arrays are not allowed",
        )),
        _ => Err(PatternError::new(
            path.as_str(),
            format!("{operator} match pattern must be a string or an array of strings"),
        )),
    }
}
