//! An event pattern on the record said as a filter pattern, where the two languages agree
//! exactly (decision 0028); otherwise why not.

use serde_json::{Map, Value as Json};

use crate::{Pattern, PatternError};

/// Why an event pattern has no exact filter-pattern form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoFilterForm {
    reason: String,
}

impl NoFilterForm {
    fn new(reason: impl Into<String>) -> NoFilterForm {
        NoFilterForm {
            reason: reason.into(),
        }
    }

    /// Why, naming the JSON path of the part that has no exact form.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for NoFilterForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for NoFilterForm {}

impl From<PatternError> for NoFilterForm {
    fn from(err: PatternError) -> NoFilterForm {
        NoFilterForm::new(err.to_string())
    }
}

/// The filter pattern (on the record) equal to an event pattern whose only top-level field is
/// `under` (e.g. `detail`).
///
/// ```
/// use trailbell_pattern::filter_pattern_for;
///
/// let text = filter_pattern_for(
///     r#"{"detail": {"eventName": ["ConsoleLogin"], "additionalEventData": {"MFAUsed": [{"anything-but": "Yes"}]}}}"#,
///     "detail",
/// )?;
/// assert_eq!(text, r#"{ ($.additionalEventData.MFAUsed != "Yes") && ($.eventName = "ConsoleLogin") }"#);
/// let why = filter_pattern_for(r#"{"source": ["aws.signin"]}"#, "detail").unwrap_err();
/// assert!(why.reason().contains("$.source"));
/// # Ok::<(), trailbell_pattern::NoFilterForm>(())
/// ```
pub fn filter_pattern_for(event_pattern: &str, under: &str) -> Result<String, NoFilterForm> {
    Pattern::parse(event_pattern)?;
    let value: Json =
        serde_json::from_str(event_pattern).map_err(|e| NoFilterForm::new(e.to_string()))?;
    let Json::Object(top) = value else {
        return Err(NoFilterForm::new("the pattern is not an object"));
    };
    if let Some(other) = top.keys().find(|k| *k != under) {
        return Err(NoFilterForm::new(format!(
            "$.{other}: a filter pattern sees only the CloudTrail record ({under}), not the envelope's {other:?}"
        )));
    }
    let Some(Json::Object(record)) = top.get(under) else {
        return Err(NoFilterForm::new(format!(
            "the pattern has no {under:?} object"
        )));
    };
    let mut path = Vec::new();
    let text = object(record, &mut path, true)?;
    Ok(format!("{{ {text} }}"))
}

fn at(path: &[String]) -> String {
    format!("$.{}", path.join("."))
}

fn object(
    map: &Map<String, Json>,
    path: &mut Vec<String>,
    root: bool,
) -> Result<String, NoFilterForm> {
    if map.is_empty() {
        return Err(NoFilterForm::new(format!(
            "{}: an empty object constrains nothing",
            at_or_root(path)
        )));
    }
    // EventBridge wants the fields of an object found in one element of an array of objects; a
    // filter pattern judges each condition alone. They agree when only one constraint sits below
    // the record's top level.
    if !root && map.len() > 1 {
        return Err(NoFilterForm::new(format!(
            "{}: two constraints inside one object must hold in the same array element for EventBridge, not for a filter pattern",
            at(path)
        )));
    }
    let mut parts = Vec::new();
    for (name, value) in map {
        if name == "$or" {
            let Json::Array(branches) = value else {
                continue;
            };
            let mut alternatives = Vec::new();
            for branch in branches {
                let Json::Object(branch) = branch else {
                    return Err(NoFilterForm::new("a $or branch is not an object"));
                };
                alternatives.push(format!("({})", object(branch, path, root)?));
            }
            parts.push(format!("({})", alternatives.join(" || ")));
            continue;
        }
        if name.is_empty() || !name.chars().all(is_name_char) {
            return Err(NoFilterForm::new(format!(
                "{}.{name:?}: a property selector cannot name this field",
                at_or_root(path)
            )));
        }
        path.push(name.clone());
        let part = match value {
            // A nested object's parts come parenthesised already.
            Json::Object(inner) => object(inner, path, false)?,
            Json::Array(matchers) => format!("({})", leaf(matchers, path)?),
            _ => {
                return Err(NoFilterForm::new(format!(
                    "{}: not a list of matchers",
                    at(path)
                )));
            }
        };
        path.pop();
        parts.push(part);
    }
    Ok(parts.join(" && "))
}

fn at_or_root(path: &[String]) -> String {
    if path.is_empty() {
        "$".to_owned()
    } else {
        at(path)
    }
}

fn is_name_char(c: char) -> bool {
    !(c.is_whitespace() || "[].()=!<>&|\"{}%$".contains(c))
}

fn leaf(matchers: &[Json], path: &[String]) -> Result<String, NoFilterForm> {
    let selector = at(path);
    let mut out = Vec::new();
    for m in matchers {
        out.push(matcher(m, &selector)?);
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        out.iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" || ")
    })
}

fn quoted(text: &str, selector: &str) -> Result<String, NoFilterForm> {
    if text.contains('*') {
        return Err(NoFilterForm::new(format!(
            "{selector}: a literal `*` reads as a wildcard in a filter pattern"
        )));
    }
    Ok(format!(
        "\"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

fn matcher(m: &Json, selector: &str) -> Result<String, NoFilterForm> {
    let no = |what: &str| {
        Err(NoFilterForm::new(format!(
            "{selector}: {what} has no filter-pattern form"
        )))
    };
    match m {
        Json::String(s) => Ok(format!("{selector} = {}", quoted(s, selector)?)),
        Json::Number(n) => Ok(format!("{selector} = {n}")),
        Json::Bool(true) => Ok(format!("{selector} IS TRUE")),
        Json::Bool(false) => Ok(format!("{selector} IS FALSE")),
        Json::Null => Ok(format!("{selector} IS NULL")),
        Json::Object(op) => {
            let Some((name, operand)) = op.iter().next() else {
                return no("an empty matcher");
            };
            match (name.as_str(), operand) {
                ("prefix", Json::String(p)) => Ok(format!(
                    "{selector} = {}",
                    star(quoted(p, selector)?, false)?
                )),
                ("suffix", Json::String(s)) => Ok(format!(
                    "{selector} = {}",
                    star(quoted(s, selector)?, true)?
                )),
                ("wildcard", Json::String(w)) => {
                    if w.contains('\\') {
                        return no("an escaped wildcard character");
                    }
                    Ok(format!("{selector} = \"{}\"", w.replace('"', "\\\"")))
                }
                ("exists", Json::Bool(true)) => Ok(format!("{selector} = *")),
                ("exists", _) => no(
                    "`exists: false` (it also accepts objects and empty arrays; NOT EXISTS does not)",
                ),
                ("numeric", Json::Array(ops)) if ops.len() == 2 => {
                    let (Some(Json::String(op)), Some(Json::Number(n))) = (ops.first(), ops.get(1))
                    else {
                        return no("this numeric matcher");
                    };
                    Ok(format!("{selector} {op} {n}"))
                }
                ("numeric", _) => no("a numeric range (two bounds on one value)"),
                ("anything-but", Json::String(s)) => {
                    Ok(format!("{selector} != {}", quoted(s, selector)?))
                }
                ("anything-but", Json::Number(n)) => Ok(format!("{selector} != {n}")),
                ("anything-but", Json::Array(items)) if items.len() == 1 => match items.first() {
                    Some(Json::String(s)) => Ok(format!("{selector} != {}", quoted(s, selector)?)),
                    Some(Json::Number(n)) => Ok(format!("{selector} != {n}")),
                    _ => no("this anything-but"),
                },
                ("anything-but", Json::Object(inner)) => match inner.iter().next() {
                    Some((kind, Json::String(p))) if kind == "prefix" => Ok(format!(
                        "{selector} != {}",
                        star(quoted(p, selector)?, false)?
                    )),
                    Some((kind, Json::String(s))) if kind == "suffix" => Ok(format!(
                        "{selector} != {}",
                        star(quoted(s, selector)?, true)?
                    )),
                    _ => no("this anything-but"),
                },
                ("anything-but", _) => no(
                    "anything-but with several values (on an array, one value need differ from all)",
                ),
                (other, _) => no(&format!("`{other}`")),
            }
        }
        Json::Array(_) => no("a nested list"),
    }
}

/// A quoted string with a star added at its start (`lead`) or end.
fn star(quoted: String, lead: bool) -> Result<String, NoFilterForm> {
    // `"*"` alone would accept any value, an empty prefix only strings.
    if quoted == "\"\"" {
        return Err(NoFilterForm::new(
            "an empty prefix or suffix has no filter-pattern form",
        ));
    }
    let inner = &quoted[1..quoted.len() - 1];
    Ok(if lead {
        format!("\"*{inner}\"")
    } else {
        format!("\"{inner}*\"")
    })
}
