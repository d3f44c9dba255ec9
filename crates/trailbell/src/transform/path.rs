//! The JSON paths of `InputPath` and `InputPathsMap`: the subset EventBridge documents, parsed once
//! and evaluated against an event without panicking.

use serde_json::Value;

use super::TransformError;

/// The longest path PutTargets accepts (`InputPath` and each `InputPathsMap` value).
pub const MAX_PATH_CHARS: usize = 256;

/// A parsed JSON path: `$` followed by `.name`, `.*`, `[index]` or `[*]` steps.
///
/// EventBridge documents dot notation with names of alphanumerics, dashes, underscores and forward
/// slashes, array indices and wildcards; anything else (quoted bracket names, `..`, filters, slices)
/// is refused when the target is validated, as PutTargets refuses it.
///
/// ```
/// use trailbell::transform::InputPath;
///
/// let path = InputPath::parse("$.detail.items[0].name")?;
/// let event = serde_json::json!({"detail": {"items": [{"name": "a"}, {"name": "b"}]}});
/// assert_eq!(path.select(&event), Some(serde_json::json!("a")));
/// assert_eq!(InputPath::parse("$.detail.items[*].name")?.select(&event),
///            Some(serde_json::json!(["a", "b"])));
/// assert!(InputPath::parse("$.detail['items']").is_err());
/// # Ok::<(), trailbell::transform::TransformError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Name(String),
    Index(usize),
    Wildcard,
}

impl InputPath {
    /// Parses `text`, refusing what PutTargets refuses ("InputPath … is invalid").
    pub fn parse(text: &str) -> Result<InputPath, TransformError> {
        let invalid = || TransformError::InvalidInputPath {
            path: text.to_owned(),
        };
        if text.chars().count() > MAX_PATH_CHARS {
            return Err(invalid());
        }
        let Some(mut rest) = text.strip_prefix('$') else {
            return Err(invalid());
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name == "*" {
                    steps.push(Step::Wildcard);
                } else if !name.is_empty() && name.chars().all(is_name_char) {
                    steps.push(Step::Name(name.to_owned()));
                } else {
                    return Err(invalid());
                }
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(invalid)?;
                let inner = &after[..end];
                if inner == "*" {
                    steps.push(Step::Wildcard);
                } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                    steps.push(Step::Index(inner.parse().map_err(|_| invalid())?));
                } else {
                    return Err(invalid());
                }
                rest = &after[end + 1..];
            } else {
                return Err(invalid());
            }
        }
        Ok(InputPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path has a wildcard step, so that it selects a list of values.
    pub fn is_indefinite(&self) -> bool {
        self.steps.contains(&Step::Wildcard)
    }

    /// What the path selects in `event`: the value for a path without wildcards, the array of every
    /// match for a path with one; `None` when nothing matches.
    pub fn select(&self, event: &Value) -> Option<Value> {
        let mut current: Vec<&Value> = vec![event];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match (step, value) {
                    (Step::Name(name), Value::Object(map)) => next.extend(map.get(name)),
                    (Step::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                    (Step::Wildcard, Value::Object(map)) => next.extend(map.values()),
                    (Step::Wildcard, Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
            }
            current = next;
        }
        if self.is_indefinite() {
            if current.is_empty() {
                None
            } else {
                Some(Value::Array(current.into_iter().cloned().collect()))
            }
        } else {
            current.first().map(|v| (*v).clone())
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '/')
}
