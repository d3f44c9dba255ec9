//! Sigma rules (logsource `product: aws`, `service: cloudtrail`) converted into trailbell rule
//! files, or refused with the reason.
//!
//! - Each selection (a map of `field|modifier: value(s)`, or a list of such maps, any of which
//!   may match) becomes EventBridge matchers under `detail` (a Sigma CloudTrail field is the
//!   record's field: `requestParameters.userName` is `detail.requestParameters.userName`).
//! - Modifiers: `contains` a wildcard `*v*`, `startswith` a prefix, `endswith` a suffix, `cidr`
//!   a cidr, `exists` an exists; `all` with one value. A plain value with `*` is a wildcard.
//! - The condition (`and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`, `1 of them`) is read
//!   into an OR of ANDs (`condition.rs`): the positive selections of each AND are merged into one
//!   pattern, several ANDs become `$or`; negated selections common to every AND become the rule's
//!   exceptions, which silence it when they match.
//! - Refused, with the reason: regular expressions (`re`), field references (`fieldref`),
//!   placeholders (`expand`), other modifiers, keyword lists, aggregations (`| count()`), `?`
//!   wildcards, `all` over several values, two conditions on one field in one branch, negations
//!   that are not common to every branch, and other logsources.
//!
//! Sigma compares strings ignoring case; EventBridge compares them exactly, and so do the
//! converted rules (CloudTrail writes event names and sources in one fixed case). Every converted
//! file keeps the Sigma rule's title, author, date, id, references and false positives, and names
//! the Detection Rule License it is under.

mod condition;

use std::collections::BTreeMap;

pub use condition::ConditionError;

use serde_json::{Map, Value, json};

use super::file::{Fixtures, parse_rule_file};
use super::metadata::is_technique_id;

/// A converted rule: its name and the text of its rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The rule's name, `sigma-<the Sigma file's name>`; the file is `<name>.toml`.
    pub name: String,
    /// The rule file.
    pub text: String,
}

/// Why a Sigma rule cannot be converted, one line; the variants name the selection, the
/// `field|modifier` key or the field path the problem is in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigmaError {
    /// Not YAML (serde-saphyr's message, with the line and column).
    #[error("not a YAML document: {0}")]
    Yaml(String),
    /// Another logsource.
    #[error("logsource is not product aws, service cloudtrail")]
    NotCloudTrail,
    /// A required key is missing (`title`, `detection`, `condition`).
    #[error("no {0}")]
    Missing(&'static str),
    /// A condition in a list that is not text.
    #[error("the condition is not text")]
    ConditionNotText,
    /// Something the detection says that an event pattern cannot (`several conditions`, ...).
    #[error("{0} cannot be expressed")]
    Inexpressible(&'static str),
    /// A branch of the condition with only negated selections.
    #[error("a branch of the condition has only negations")]
    OnlyNegations,
    /// The condition cannot be read.
    #[error(transparent)]
    Condition(#[from] ConditionError),
    /// A selection that is a keyword list.
    #[error("selection {selection:?} is a keyword search, which cannot be expressed")]
    KeywordSearch {
        /// The selection.
        selection: String,
    },
    /// A selection key without a field name (`|contains`).
    #[error("selection {selection:?} has a field without a name")]
    NoFieldName {
        /// The selection.
        selection: String,
    },
    /// A `field|modifier` key or its value that cannot be converted.
    #[error("{key}: {problem}")]
    Key {
        /// The key, modifiers included.
        key: String,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// A key without a value.
    #[error("{key} in {selection:?} has no value")]
    NoValue {
        /// The key.
        key: String,
        /// Its selection.
        selection: String,
    },
    /// Two conditions on one field in one branch.
    #[error("two conditions on {path} in one branch cannot be expressed")]
    TwoConditions {
        /// The field path.
        path: String,
    },
    /// A field that is a value in one condition and an object in another.
    #[error("{path} is both a value and an object")]
    ValueAndObject {
        /// The field path.
        path: String,
    },
    /// A `level` Sigma does not have.
    #[error("unknown level {0:?}")]
    Level(String),
    /// The converted rule could not be written as JSON.
    #[error("{0}")]
    Json(String),
    /// The converted rule fails the rule-file checks (the first problem, with its key path).
    #[error("the converted rule is invalid: {0}")]
    Invalid(Box<super::FileProblem>),
}

/// See [`SigmaError::Key`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// `re`.
    #[error("regular expressions cannot be expressed")]
    Regex,
    /// `fieldref`.
    #[error("comparing one field with another cannot be expressed")]
    FieldRef,
    /// `expand`.
    #[error("placeholders (expand) need values only the deployment knows")]
    Expand,
    /// Another modifier.
    #[error("the modifier {0:?} cannot be expressed")]
    Modifier(String),
    /// `all` with several values.
    #[error("`all` over several values of one field cannot be expressed")]
    AllOverSeveral,
    /// `exists` with a value that is not a boolean.
    #[error("exists takes true or false")]
    ExistsNotBool,
    /// A value that is neither text, a number, a boolean nor null.
    #[error("the value {0} cannot be expressed")]
    Value(String),
    /// A `?` wildcard.
    #[error("the wildcard `?` cannot be expressed")]
    QuestionMark,
}

fn key_error(key: &str, problem: KeyProblem) -> SigmaError {
    SigmaError::Key {
        key: key.to_owned(),
        problem,
    }
}

/// Converts one Sigma rule file's text; `stem` is its file name without `.yml`. `Err` is why it
/// cannot be converted, one line.
pub fn convert(stem: &str, text: &str) -> Result<Converted, SigmaError> {
    let doc: Value =
        serde_saphyr::from_str(text).map_err(|err| SigmaError::Yaml(one_line(&err.to_string())))?;
    let logsource = &doc["logsource"];
    if logsource["product"] != "aws" || logsource["service"] != "cloudtrail" {
        return Err(SigmaError::NotCloudTrail);
    }
    let title = text_of(&doc["title"]).ok_or(SigmaError::Missing("title"))?;
    let detection = doc["detection"]
        .as_object()
        .ok_or(SigmaError::Missing("detection"))?;
    if detection.contains_key("timeframe") {
        return Err(SigmaError::Inexpressible("aggregations over a timeframe"));
    }
    let condition = match &detection.get("condition") {
        Some(Value::String(condition)) => condition.clone(),
        Some(Value::Array(list)) if list.len() == 1 => {
            text_of(&list[0]).ok_or(SigmaError::ConditionNotText)?
        }
        Some(_) => return Err(SigmaError::Inexpressible("several conditions")),
        None => return Err(SigmaError::Missing("condition")),
    };
    let names: Vec<String> = detection
        .keys()
        .filter(|key| *key != "condition")
        .cloned()
        .collect();
    let dnf = condition::parse(&condition, &names)?;

    let mut selections: BTreeMap<&str, Vec<Fields>> = BTreeMap::new();
    for name in &names {
        selections.insert(name, selection(name, &detection[name])?);
    }
    // Negations must be the same in every branch: they become the rule's exceptions.
    let negated = |conjunction: &Vec<(String, bool)>| -> Vec<String> {
        let mut names: Vec<String> = conjunction
            .iter()
            .filter(|(_, negated)| *negated)
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let exceptions = negated(&dnf[0]);
    if dnf
        .iter()
        .any(|conjunction| negated(conjunction) != exceptions)
    {
        return Err(SigmaError::Inexpressible(
            "a negation that is not common to every branch",
        ));
    }
    let mut branches: Vec<Map<String, Value>> = Vec::new();
    for conjunction in &dnf {
        let mut alternatives: Vec<Fields> = vec![Vec::new()];
        for (name, negated) in conjunction {
            if *negated {
                continue;
            }
            let mut next = Vec::new();
            for left in &alternatives {
                for right in &selections[name.as_str()] {
                    let mut both = left.clone();
                    both.extend(right.iter().cloned());
                    next.push(both);
                }
            }
            alternatives = next;
        }
        for fields in alternatives {
            if fields.is_empty() {
                return Err(SigmaError::OnlyNegations);
            }
            let detail = nest(&fields)?;
            if !branches.contains(&detail) {
                branches.push(detail);
            }
        }
    }
    let detail = match branches.len() {
        1 => Value::Object(branches.remove(0)),
        _ => json!({ "$or": branches }),
    };
    let pattern = json!({ "detail": detail });
    let mut exception_patterns = Vec::new();
    for name in &exceptions {
        for fields in &selections[name.as_str()] {
            exception_patterns.push((name.clone(), json!({ "detail": nest(fields)? })));
        }
    }
    let name = rule_name(stem);
    let text = rule_file(&name, &title, &doc, &pattern, &exception_patterns)?;
    // The converter's own output is held to the rule-file format like any other file.
    let mut problems = Vec::new();
    let display = format!("{name}.toml");
    if parse_rule_file(
        &display,
        &name,
        &text,
        &mut Fixtures::builtin(),
        &mut problems,
    )
    .is_none()
    {
        let first = problems
            .into_iter()
            .next()
            .unwrap_or_else(|| super::FileProblem::new(&display, "", "refused"));
        return Err(SigmaError::Invalid(Box::new(first)));
    }
    Ok(Converted { name, text })
}

/// One way a selection matches: `(field path, EventBridge matchers)`, all of which must hold.
type Fields = Vec<(String, Vec<Value>)>;

/// A selection: a map (one way) or a list of maps (any of them).
fn selection(name: &str, value: &Value) -> Result<Vec<Fields>, SigmaError> {
    match value {
        Value::Object(map) => Ok(vec![fields(name, map)?]),
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => items
            .iter()
            .filter_map(Value::as_object)
            .map(|map| fields(name, map))
            .collect(),
        _ => Err(SigmaError::KeywordSearch {
            selection: name.to_owned(),
        }),
    }
}

fn fields(selection: &str, map: &Map<String, Value>) -> Result<Fields, SigmaError> {
    let mut out = Vec::new();
    for (key, value) in map {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().to_owned();
        let modifiers: Vec<&str> = parts.collect();
        if field.is_empty() {
            return Err(SigmaError::NoFieldName {
                selection: selection.to_owned(),
            });
        }
        out.push((field, matchers(selection, key, &modifiers, value)?));
    }
    Ok(out)
}

/// The EventBridge matchers of one `field|modifiers: value(s)`.
fn matchers(
    selection: &str,
    key: &str,
    modifiers: &[&str],
    value: &Value,
) -> Result<Vec<Value>, SigmaError> {
    let mut kind = None;
    let mut all = false;
    for modifier in modifiers {
        match *modifier {
            "contains" | "startswith" | "endswith" | "cidr" | "exists" if kind.is_none() => {
                kind = Some(*modifier);
            }
            "all" => all = true,
            "re" => return Err(key_error(key, KeyProblem::Regex)),
            "fieldref" => return Err(key_error(key, KeyProblem::FieldRef)),
            "expand" => return Err(key_error(key, KeyProblem::Expand)),
            other => return Err(key_error(key, KeyProblem::Modifier(other.to_owned()))),
        }
    }
    let values: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    if values.is_empty() {
        return Err(SigmaError::NoValue {
            key: key.to_owned(),
            selection: selection.to_owned(),
        });
    }
    if all && values.len() > 1 {
        return Err(key_error(key, KeyProblem::AllOverSeveral));
    }
    let mut out = Vec::new();
    for value in values {
        out.extend(matcher(key, kind, value)?);
    }
    Ok(out)
}

fn matcher(key: &str, kind: Option<&str>, value: &Value) -> Result<Vec<Value>, SigmaError> {
    if kind == Some("exists") {
        return match value {
            Value::Bool(exists) => Ok(vec![json!({ "exists": exists })]),
            _ => Err(key_error(key, KeyProblem::ExistsNotBool)),
        };
    }
    let text = match value {
        Value::Null if kind.is_none() => {
            // Sigma's null is "absent or null".
            return Ok(vec![Value::Null, json!({ "exists": false })]);
        }
        Value::Bool(_) if kind.is_none() => return Ok(vec![value.clone()]),
        // Sigma reads `1.09` as text too: CloudTrail writes eventVersion as a string.
        Value::Number(number) if kind.is_none() => {
            return Ok(vec![value.clone(), Value::String(number.to_string())]);
        }
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return Err(key_error(key, KeyProblem::Value(value.to_string()))),
    };
    if text.contains('?') && kind != Some("cidr") {
        return Err(key_error(key, KeyProblem::QuestionMark));
    }
    let wildcard = |text: &str| text.contains('*');
    Ok(vec![match kind {
        None if wildcard(&text) => json!({ "wildcard": text }),
        None => Value::String(text),
        Some("contains") => json!({ "wildcard": format!("*{}*", escape_wildcard(&text)) }),
        Some("startswith") if wildcard(&text) => json!({ "wildcard": format!("{text}*") }),
        Some("startswith") => json!({ "prefix": text }),
        Some("endswith") if wildcard(&text) => json!({ "wildcard": format!("*{text}") }),
        Some("endswith") => json!({ "suffix": text }),
        Some("cidr") => json!({ "cidr": text }),
        Some(other) => return Err(key_error(key, KeyProblem::Modifier(other.to_owned()))),
    }])
}

/// A literal `*` or `\` inside a `contains` value.
fn escape_wildcard(text: &str) -> String {
    text.replace('\\', "\\\\").replace('*', "\\*")
}

/// `requestParameters.userName` -> `{"requestParameters": {"userName": [...]}}`, every field of
/// one way merged into one object.
fn nest(fields: &Fields) -> Result<Map<String, Value>, SigmaError> {
    let mut root = Map::new();
    for (path, matchers) in fields {
        let mut node = &mut root;
        let parts: Vec<&str> = path.split('.').collect();
        for (index, part) in parts.iter().enumerate() {
            let last = index == parts.len() - 1;
            if last {
                if node.contains_key(*part) {
                    return Err(SigmaError::TwoConditions { path: path.clone() });
                }
                node.insert((*part).to_owned(), Value::Array(matchers.clone()));
            } else {
                let child = node
                    .entry((*part).to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                node = child
                    .as_object_mut()
                    .ok_or_else(|| SigmaError::ValueAndObject { path: path.clone() })?;
            }
        }
    }
    Ok(root)
}

/// `aws_cloudtrail_x_y` (or `aws_x_y`) -> `sigma-aws-x-y`, within EventBridge's 64 characters.
fn rule_name(stem: &str) -> String {
    let base = stem
        .strip_prefix("aws_cloudtrail_")
        .or_else(|| stem.strip_prefix("aws_"))
        .unwrap_or(stem);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("sigma-aws-{cleaned}");
    name.truncate(64);
    name.trim_end_matches('-').to_owned()
}

fn text_of(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(text_of).collect(),
        other => text_of(other).into_iter().collect(),
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn rule_file(
    name: &str,
    title: &str,
    doc: &Value,
    pattern: &Value,
    exceptions: &[(String, Value)],
) -> Result<String, SigmaError> {
    let severity = match doc["level"].as_str().unwrap_or("medium") {
        "informational" => "info",
        level @ ("low" | "medium" | "high" | "critical") => level,
        other => return Err(SigmaError::Level(other.to_owned())),
    };
    let author = text_of(&doc["author"]).unwrap_or_else(|| "unknown".to_owned());
    let id = text_of(&doc["id"]).unwrap_or_default();
    let date = match &doc["date"] {
        Value::String(date) => date.clone(),
        other => other.to_string(),
    };
    let mut attack: Vec<String> = strings(&doc["tags"])
        .iter()
        .filter_map(|tag| tag.strip_prefix("attack."))
        .map(str::to_ascii_uppercase)
        .filter(|id| is_technique_id(id))
        .collect();
    attack.dedup();
    let references = strings(&doc["references"]);
    let (https, other): (Vec<String>, Vec<String>) = references
        .into_iter()
        .partition(|url| url.starts_with("https://") && !url.contains(char::is_whitespace));
    let mut description = text_of(&doc["description"]).unwrap_or_else(|| title.to_owned());
    description.push_str(&format!(
        "\n\nConverted by trailbell rules import-sigma from the Sigma rule {id} by {author} ({date}), \
         under the Detection Rule License 1.1 \
         (https://github.com/SigmaHQ/Detection-Rule-License). Sigma compares strings ignoring \
         case; this pattern compares them exactly, as EventBridge does."
    ));
    let false_positives = strings(&doc["falsepositives"]);
    if !false_positives.is_empty() {
        description.push_str("\n\nFalse positives: ");
        description.push_str(&false_positives.join("; "));
    }
    if !other.is_empty() {
        description.push_str("\n\nOther references: ");
        description.push_str(&other.join(" "));
    }
    let mut text = format!(
        "# Converted from the Sigma rule {id} ({title}), author: {author}, date: {date}.\n\
         # Licence: Detection Rule License 1.1, https://github.com/SigmaHQ/Detection-Rule-License\n\
         name = {}\ntitle = {}\nseverity = \"{severity}\"\n",
        quoted(name),
        quoted(&one_line(title)),
        id = one_line(&id),
        title = one_line(title),
        author = one_line(&author),
        date = one_line(&date),
    );
    if !attack.is_empty() {
        let ids: Vec<String> = attack.iter().map(|id| quoted(id)).collect();
        text.push_str(&format!("attack = [{}]\n", ids.join(", ")));
    }
    if !https.is_empty() {
        text.push_str("references = [\n");
        for url in &https {
            text.push_str(&format!("  {},\n", quoted(url)));
        }
        text.push_str("]\n");
    }
    text.push_str(&format!("description = {}\n", quoted(&description)));
    let pattern =
        serde_json::to_string_pretty(pattern).map_err(|err| SigmaError::Json(err.to_string()))?;
    if pattern.contains("'''") {
        text.push_str(&format!("event_pattern = {}\n", quoted(&pattern)));
    } else {
        text.push_str(&format!("event_pattern = '''\n{pattern}\n'''\n"));
    }
    for (selection, exception) in exceptions {
        text.push_str(&format!(
            "\n[[exceptions]]\nname = {}\nevent_pattern = {}\n",
            quoted(&format!("Sigma filter {selection}")),
            quoted(
                &serde_json::to_string(exception)
                    .map_err(|err| SigmaError::Json(err.to_string()))?
            )
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
