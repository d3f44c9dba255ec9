//! `InputTemplate`: parsed once into literal text and placeholders, each placeholder knowing whether
//! it stands inside a JSON string literal; substituted per event.

use std::borrow::Cow;

use serde_json::Value;

use super::{RenderContext, Rendered, TransformError};

/// `<aws.events.rule-name>`: the rule's name.
pub const RULE_NAME: &str = "aws.events.rule-name";
/// `<aws.events.rule-arn>`: the rule's ARN.
pub const RULE_ARN: &str = "aws.events.rule-arn";
/// `<aws.events.event.ingestion-time>`: when the event was received.
pub const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
/// `<aws.events.event>`: the event without its `detail`; JSON templates only, as a value.
pub const EVENT: &str = "aws.events.event";
/// `<aws.events.event.json>`: the whole event; JSON templates only, as a value.
pub const EVENT_JSON: &str = "aws.events.event.json";

/// The predefined variables, which no `InputPathsMap` key may name.
pub const PREDEFINED: [&str; 5] = [RULE_NAME, RULE_ARN, INGESTION_TIME, EVENT, EVENT_JSON];

/// The longest `InputTemplate` PutTargets accepts.
pub const MAX_TEMPLATE_CHARS: usize = 8192;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(String),
    Placeholder { name: String, in_string: bool },
}

/// Splits `template` into pieces. A placeholder is `<name>` with a name of letters, digits, `_`,
/// `-` and `.`; any other `<` is literal text. Every placeholder must be `defined` or predefined,
/// and the event placeholders may stand only as values in a template that is a JSON object.
pub(super) fn parse(
    template: &str,
    defined: &dyn Fn(&str) -> bool,
) -> Result<Vec<Piece>, TransformError> {
    let is_object = template.trim_start().starts_with('{');
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(name) = placeholder_at(rest)
        {
            if !defined(name) && !PREDEFINED.contains(&name) {
                return Err(TransformError::InvalidPlaceholder {
                    name: name.to_owned(),
                });
            }
            if (name == EVENT || name == EVENT_JSON) && (in_string || !is_object) {
                return Err(TransformError::JsonOnlyPlaceholder {
                    name: name.to_owned(),
                });
            }
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Placeholder {
                name: name.to_owned(),
                in_string,
            });
            escaped = false;
            rest = &rest[name.len() + 2..];
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The name of the placeholder `text` starts with, if it starts with one.
fn placeholder_at(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('<')?;
    let end = inner.find('>')?;
    let name = &inner[..end];
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then_some(name)
}

/// A variable's value for one event.
pub(super) enum Var<'a> {
    /// The path matched nothing: `null` as a JSON value, nothing inside a string.
    Missing,
    /// A value read from the event: untrusted, passed through the escape hook.
    Event(Cow<'a, Value>),
    /// A value trailbell knows (rule name, ARN, time): never escaped.
    Trusted(&'a str),
    /// The whole event, verbatim when no escaping is asked for.
    EventJson,
}

type Escape<'e> = Option<&'e dyn Fn(&str) -> Cow<'_, str>>;

/// Substitutes every placeholder; the result is JSON when it parses as JSON, text otherwise.
pub(super) fn render<'a>(
    pieces: &[Piece],
    lookup: &dyn Fn(&str) -> Var<'a>,
    event: &Value,
    context: &RenderContext<'_>,
    escape: Escape<'_>,
) -> Rendered {
    let json = substitute(pieces, lookup, event, context, escape, true);
    if serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok() {
        return Rendered::Json(json);
    }
    Rendered::Text(substitute(pieces, lookup, event, context, escape, false))
}

fn substitute<'a>(
    pieces: &[Piece],
    lookup: &dyn Fn(&str) -> Var<'a>,
    event: &Value,
    context: &RenderContext<'_>,
    escape: Escape<'_>,
    json_mode: bool,
) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Placeholder { name, in_string } => {
                let var = lookup(name);
                if json_mode && !in_string {
                    write_value(&mut out, &var, event, context, escape);
                } else {
                    let raw = raw_text(&var, event, escape);
                    if json_mode {
                        out.push_str(&json_string_content(&raw));
                    } else {
                        out.push_str(&raw);
                    }
                }
            }
        }
    }
    out
}

/// A variable as a JSON value: strings quoted, objects and arrays as minified JSON.
fn write_value(
    out: &mut String,
    var: &Var<'_>,
    event: &Value,
    context: &RenderContext<'_>,
    escape: Escape<'_>,
) {
    match var {
        Var::Missing => out.push_str("null"),
        Var::Trusted(text) => out.push_str(&Value::from(*text).to_string()),
        Var::Event(value) => out.push_str(&escaped_value(value, escape).to_string()),
        Var::EventJson => match escape {
            None if !context.event_json.trim().is_empty() => out.push_str(context.event_json),
            _ => out.push_str(&escaped_value(event, escape).to_string()),
        },
    }
}

/// A variable as text inside a string: strings as they are, scalars as JSON text, objects and
/// arrays as minified JSON with their quotes removed (EventBridge's rule for keeping the string
/// valid).
fn raw_text(var: &Var<'_>, event: &Value, escape: Escape<'_>) -> String {
    let value = match var {
        Var::Missing => return String::new(),
        Var::Trusted(text) => return (*text).to_owned(),
        Var::Event(value) => value.as_ref(),
        Var::EventJson => event,
    };
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => value.to_string().replace('"', ""),
        other => other.to_string(),
    };
    match escape {
        Some(f) => f(&text).into_owned(),
        None => text,
    }
}

/// `value` with `escape` applied to every string in it (keys stay as they are).
fn escaped_value<'v>(value: &'v Value, escape: Escape<'_>) -> Cow<'v, Value> {
    match escape {
        None => Cow::Borrowed(value),
        Some(f) => Cow::Owned(super::map_strings(value, f)),
    }
}

/// `text` escaped for the inside of a JSON string literal, without the quotes.
fn json_string_content(text: &str) -> String {
    let quoted = Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
