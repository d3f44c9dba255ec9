//! prefix, suffix and equals-ignore-case, and the case folding they share.

use serde_json::Value;

use crate::error::PatternError;
use crate::path::JsonPath;

/// Lowercases character by character with Unicode's case mapping, so that `equals-ignore-case`
/// compares folded strings. Unlike `str::to_lowercase` it ignores context: a final capital sigma
/// folds to σ like any other, so that folding never depends on the neighbouring characters.
pub(crate) fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

pub(crate) fn parse_string(
    operand: &Value,
    path: &JsonPath,
    operator: &str,
) -> Result<String, PatternError> {
    match operand {
        Value::String(s) => Ok(s.clone()),
        _ => Err(PatternError::new(
            path.as_str(),
            format!("{operator} match pattern must be a string"),
        )),
    }
}

/// Parses a prefix or suffix operand: a string, or `{"equals-ignore-case": string}`. Returns the
/// text (lowercased when case is ignored) and whether case is ignored.
pub(crate) fn parse_affix(
    operand: &Value,
    path: &JsonPath,
    operator: &str,
) -> Result<(String, bool), PatternError> {
    match operand {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(object) => {
            let mut entries = object.iter();
            match (entries.next(), entries.next()) {
                (Some((key, value)), None) if key == "equals-ignore-case" => {
                    let text = parse_string(value, &path.field(key), "equals-ignore-case")?;
                    Ok((fold_case(&text), true))
                }
                (Some((key, _)), None) => Err(PatternError::new(
                    path.field(key).as_str(),
                    format!("Unsupported {operator} pattern: {key}"),
                )),
                _ => Err(PatternError::new(
                    path.as_str(),
                    format!(
                        "{operator} match pattern must be a string or an object with one key, equals-ignore-case"
                    ),
                )),
            }
        }
        _ => Err(PatternError::new(
            path.as_str(),
            format!("{operator} match pattern must be a string"),
        )),
    }
}
