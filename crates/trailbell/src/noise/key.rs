//! Keys for dedup and thresholds: a template over the event, such as
//! `"<$.detail.sourceIPAddress>"` or `"<$.detail.userIdentity.arn> <$.detail.eventName>"`.

use std::fmt;

use serde_json::Value;

/// The most characters of a rendered key kept; longer keys are cut (they only need to be stable).
const MAX_KEY_CHARS: usize = 512;

/// A key template: text with `<$.json.path>` placeholders, each replaced by the value at that path
/// in the event (a string as is, other JSON as JSON text, a missing value as empty).
///
/// ```
/// use trailbell::noise::KeyTemplate;
///
/// let key: KeyTemplate = "<$.detail.sourceIPAddress>/<$.detail.userIdentity.type>".parse()?;
/// let event = serde_json::json!({"detail": {"sourceIPAddress": "198.51.100.7",
///     "userIdentity": {"type": "IAMUser"}}});
/// assert_eq!(key.render(&event), "198.51.100.7/IAMUser");
/// # Ok::<(), trailbell::noise::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Path(Vec<Step>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// A key template that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid key template {template:?}: {reason}")]
pub struct KeyError {
    template: String,
    reason: String,
}

impl KeyTemplate {
    /// Who acted: the key used when a threshold names none (see [`principal`]).
    pub fn principal() -> KeyTemplate {
        KeyTemplate {
            text: String::new(),
            parts: Vec::new(),
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key of `event`.
    pub fn render(&self, event: &Value) -> String {
        if self.parts.is_empty() {
            return principal(event);
        }
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Path(steps) => match lookup(event, steps) {
                    Some(Value::String(text)) => key.push_str(text),
                    Some(other) => key.push_str(&other.to_string()),
                    None => {}
                },
            }
        }
        cut(key)
    }
}

/// The default dedup key: who did what (`principal eventName`).
pub fn principal_and_action(event: &Value) -> String {
    let action = event
        .pointer("/detail/eventName")
        .and_then(Value::as_str)
        .or_else(|| event.get("detail-type").and_then(Value::as_str))
        .unwrap_or("");
    cut(format!("{} {action}", principal(event)))
}

/// Who acted, as every alert names them ([`crate::cloudtrail::actor`]: thresholds and dedup
/// group by the name the alert shows); for events that are not CloudTrail's, the source.
pub fn principal(event: &Value) -> String {
    match event.get("detail").and_then(crate::cloudtrail::actor) {
        Some(actor) => cut(actor),
        None => event
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

fn cut(mut key: String) -> String {
    if let Some((index, _)) = key.char_indices().nth(MAX_KEY_CHARS) {
        key.truncate(index);
    }
    key
}

fn lookup<'a>(event: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut value = event;
    for step in steps {
        value = match step {
            Step::Field(name) => value.get(name.as_str())?,
            Step::Index(index) => value.get(*index)?,
        };
    }
    Some(value)
}

impl std::str::FromStr for KeyTemplate {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<KeyTemplate, KeyError> {
        let error = |reason: String| KeyError {
            template: text.to_owned(),
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("<$") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('>')
                .ok_or_else(|| error(format!("unclosed placeholder at {:?}", &rest[start..])))?;
            parts.push(Part::Path(parse_path(&after[..end]).map_err(&error)?));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        if !parts.iter().any(|part| matches!(part, Part::Path(_))) {
            return Err(error(
                "no placeholder: name a field of the event, e.g. <$.detail.sourceIPAddress>"
                    .to_owned(),
            ));
        }
        Ok(KeyTemplate {
            text: text.to_owned(),
            parts,
        })
    }
}

/// `$.a.b[0].c`: fields after dots, indexes in brackets.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let Some(mut rest) = path.strip_prefix('$') else {
        return Err(format!("{path:?} must start with $"));
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() {
                return Err(format!("empty field name in {path:?}"));
            }
            steps.push(Step::Field(name.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after
                .find(']')
                .ok_or_else(|| format!("unclosed [ in {path:?}"))?;
            let index = after[..end]
                .parse::<usize>()
                .map_err(|_| format!("{:?} is not an array index in {path:?}", &after[..end]))?;
            steps.push(Step::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(format!("expected . or [ in {path:?} at {rest:?}"));
        }
    }
    if steps.is_empty() {
        return Err(format!("{path:?} names no field"));
    }
    Ok(steps)
}

impl fmt::Debug for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyTemplate({:?})", self.text)
    }
}

impl serde::Serialize for KeyTemplate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for KeyTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholders_take_strings_as_is_and_other_values_as_json() {
        let key: KeyTemplate =
            "ip=<$.detail.ip> n=<$.detail.n> a=<$.detail.a[1]> m=<$.detail.missing>"
                .parse()
                .expect("valid");
        let event = json!({"detail": {"ip": "10.0.0.1", "n": 5, "a": [1, {"x": true}]}});
        assert_eq!(key.render(&event), r#"ip=10.0.0.1 n=5 a={"x":true} m="#);
    }

    #[test]
    fn invalid_templates_say_why() {
        for (text, reason) in [
            ("no placeholder", "no placeholder"),
            ("<$.a", "unclosed placeholder"),
            ("<$a>", "expected . or ["),
            ("<$.a[x]>", "not an array index"),
            ("<$..a>", "empty field name"),
            ("<$>", "names no field"),
        ] {
            let err = text.parse::<KeyTemplate>().expect_err(text).to_string();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn the_principal_is_the_actor_of_the_facts() {
        let failed = json!({"detail": {"userIdentity": {"type": "IAMUser", "userName": "alice"},
            "eventName": "ConsoleLogin"}});
        assert_eq!(principal(&failed), "alice");
        assert_eq!(principal_and_action(&failed), "alice ConsoleLogin");
        let root =
            json!({"detail": {"userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}}});
        assert_eq!(principal(&root), "arn:aws:iam::1:root");
        assert_eq!(principal(&json!({"source": "my.app"})), "my.app");
        let hidden = json!({"detail": {"userIdentity": {"type": "IAMUser",
            "userName": "HIDDEN_DUE_TO_SECURITY_REASONS", "principalId": "AIDA1"}}});
        assert_eq!(principal(&hidden), "unknown user (name hidden by AWS)");
        assert_eq!(KeyTemplate::principal().render(&failed), "alice");
    }

    #[test]
    fn long_keys_are_cut() {
        let key: KeyTemplate = "<$.k>".parse().expect("valid");
        let event = json!({"k": "é".repeat(2000)});
        assert_eq!(key.render(&event).chars().count(), MAX_KEY_CHARS);
    }
}
