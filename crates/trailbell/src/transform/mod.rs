//! What a target receives for a matching event: EventBridge's `Input`, `InputPath` and
//! `InputTransformer`, with EventBridge's validation and substitution rules.
//!
//! A target gives at most one of the three; without any it receives the matched event. [`TargetInput::new`]
//! validates them as PutTargets does (the messages are AWS's, without the target id, which the
//! caller's location names), and [`TargetInput::render`] turns an event into what is sent: JSON, or
//! text when a template does not come out as JSON.
//!
//! The rules, from EventBridge's "input transformation" documentation, and where it is silent,
//! docs/decisions/0005-target-input-and-slack-messages.md:
//!
//! - `InputPathsMap` holds at most 100 keys of letters, digits, `_` and `-` (so the predefined
//!   `aws.events.*` names cannot be redefined); its values and `InputPath` are JSON paths of dot
//!   notation, array indices and wildcards ([`InputPath`]).
//! - A placeholder standing as a JSON value takes the value as JSON: strings get their quotes,
//!   objects and arrays are inserted whole. Inside a string literal a string goes in without quotes
//!   and an object or array loses its internal quotes.
//! - A path that matches nothing gives `null` as a value and nothing inside a string.
//! - `<aws.events.event>` and `<aws.events.event.json>` only stand as values in a JSON-object
//!   template; `<aws.events.rule-name>`, `<aws.events.rule-arn>` and
//!   `<aws.events.event.ingestion-time>` go anywhere.
//! - A template that is valid JSON after substitution is sent as JSON; otherwise it is substituted
//!   again as text (every value raw) and sent as text.
//! - Unlike EventBridge, values substituted inside a JSON string are JSON-escaped, so an event
//!   value holding a quote cannot change the shape of a JSON payload.
//!
//! ```
//! use std::collections::BTreeMap;
//! use trailbell::transform::{InputTransformer, RenderContext, Rendered, TargetInput};
//!
//! let transformer = InputTransformer {
//!     input_paths_map: BTreeMap::from([("user".to_owned(), "$.detail.userName".to_owned())]),
//!     input_template: r#"{"who": <user>, "rule": "<aws.events.rule-name>"}"#.to_owned(),
//! };
//! let input = TargetInput::new(None, None, Some(&transformer))?;
//! let event = serde_json::json!({"detail": {"userName": "anaya"}});
//! let context = RenderContext {
//!     rule_name: "console-login",
//!     rule_arn: "arn:aws:events:us-east-1:111122223333:rule/console-login",
//!     ingestion_time: "2026-11-02T08:15:01Z",
//!     event_json: "",
//! };
//! assert_eq!(
//!     input.render(&event, &context)?,
//!     Rendered::Json(r#"{"who": "anaya", "rule": "console-login"}"#.to_owned())
//! );
//! # Ok::<(), trailbell::transform::TransformError>(())
//! ```

mod path;
mod template;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

pub use path::{InputPath, MAX_PATH_CHARS};
pub use template::{
    EVENT, EVENT_JSON, INGESTION_TIME, MAX_TEMPLATE_CHARS, PREDEFINED, RULE_ARN, RULE_NAME,
};

use template::{Piece, Var};

/// The escape hook of [`TargetInput::render_escaped`].
type EscapeHook<'e> = &'e dyn Fn(&str) -> Cow<'_, str>;

/// The longest constant `Input` PutTargets accepts.
pub const MAX_INPUT_CHARS: usize = 8192;
/// The most keys an `InputPathsMap` may hold.
pub const MAX_INPUT_PATHS: usize = 100;
/// The longest `InputPathsMap` key.
pub const MAX_KEY_CHARS: usize = 256;

/// A target's `InputTransformer` as configured, with EventBridge's field names.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTransformer {
    /// Variable name to JSON path (`InputPathsMap`).
    /// Absent, `null` and `{}` are the same; an empty map is not written, as EventBridge's
    /// answers and the registry's stored targets leave it out.
    #[serde(
        rename = "InputPathsMap",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub input_paths_map: BTreeMap<String, String>,
    /// The text with `<variable>` placeholders (`InputTemplate`).
    #[serde(rename = "InputTemplate")]
    pub input_template: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::Deserialize as _;
    Ok(Option::<BTreeMap<String, String>>::deserialize(deserializer)?.unwrap_or_default())
}

/// What one rule passes to one target, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetInput {
    /// No `Input`, `InputPath` or `InputTransformer`: the matched event as it is.
    MatchedEvent,
    /// `Input`: this JSON text, whatever the event.
    Constant(String),
    /// `InputPath`: the part of the event the path selects.
    Path(InputPath),
    /// `InputTransformer`: the template filled from the event.
    Transformer(Transformer),
}

/// A validated `InputTransformer`: its paths parsed and its template split into pieces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transformer {
    paths: BTreeMap<String, InputPath>,
    pieces: Vec<Piece>,
}

/// Where a transformer's predefined variables come from.
#[derive(Clone, Copy, Debug)]
pub struct RenderContext<'a> {
    /// `<aws.events.rule-name>`.
    pub rule_name: &'a str,
    /// `<aws.events.rule-arn>`.
    pub rule_arn: &'a str,
    /// `<aws.events.event.ingestion-time>`, RFC 3339.
    pub ingestion_time: &'a str,
    /// The event's exact text for `<aws.events.event.json>` and [`TargetInput::MatchedEvent`];
    /// empty to serialize the event value instead.
    pub event_json: &'a str,
}

/// What the target receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rendered {
    /// A JSON text (an object, an array, a string, a number, ...).
    Json(String),
    /// Text that is not JSON: a string template that did not come out as JSON.
    Text(String),
}

impl Rendered {
    /// The text sent, whatever its kind.
    pub fn as_str(&self) -> &str {
        match self {
            Rendered::Json(text) | Rendered::Text(text) => text,
        }
    }
}

/// Why a target's input is invalid, or why an event gives nothing to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// More than one of `Input`, `InputPath` and `InputTransformer`.
    #[error("{}", crate::model::ONLY_ONE_INPUT)]
    MoreThanOne,
    /// `Input` is not one JSON value.
    #[error("JSON syntax error in input")]
    InputNotJson,
    /// A string longer than PutTargets allows.
    #[error(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
    )]
    TooLong {
        /// The field, as AWS's request model names it.
        field: &'static str,
        /// The limit, in characters.
        max: usize,
    },
    /// An empty `InputTemplate`.
    #[error(
        "1 validation error detected: Value at 'inputTransformer.inputTemplate' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )]
    EmptyTemplate,
    /// More than [`MAX_INPUT_PATHS`] keys.
    #[error(
        "1 validation error detected: Value at 'inputTransformer.inputPathsMap' failed to satisfy constraint: Member must have length less than or equal to 100"
    )]
    TooManyPaths,
    /// An `InputPathsMap` key outside `[a-zA-Z0-9_-]+` (this includes the reserved `aws.events.*`
    /// names).
    #[error(
        "1 validation error detected: Value at 'inputTransformer.inputPathsMap' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z0-9\\_\\-]+] (key {key:?})"
    )]
    InvalidKey {
        /// The key.
        key: String,
    },
    /// A path outside the syntax EventBridge supports.
    #[error("InputPath {path:?} is invalid")]
    InvalidInputPath {
        /// The path as written.
        path: String,
    },
    /// A placeholder that is neither an `InputPathsMap` key nor a predefined variable.
    #[error("InputTemplate contains invalid placeholder {name}")]
    InvalidPlaceholder {
        /// The placeholder's name.
        name: String,
    },
    /// `<aws.events.event>` or `<aws.events.event.json>` inside a string or in a template that is
    /// not a JSON object.
    #[error("InputTemplate contains placeholder {name} valid only for JSON template")]
    JsonOnlyPlaceholder {
        /// The placeholder's name.
        name: String,
    },
    /// `InputPath` selects nothing in this event, so there is nothing to send.
    #[error("InputPath {path:?} selects nothing in the event")]
    NothingSelected {
        /// The path as written.
        path: String,
    },
}

impl TargetInput {
    /// Validates a target's input settings as PutTargets does.
    ///
    /// ```
    /// use trailbell::transform::{TargetInput, TransformError};
    ///
    /// assert_eq!(TargetInput::new(None, None, None)?, TargetInput::MatchedEvent);
    /// assert_eq!(TargetInput::new(Some("{oops"), None, None), Err(TransformError::InputNotJson));
    /// assert_eq!(
    ///     TargetInput::new(Some("{}"), Some("$.detail"), None),
    ///     Err(TransformError::MoreThanOne)
    /// );
    /// # Ok::<(), TransformError>(())
    /// ```
    pub fn new(
        input: Option<&str>,
        input_path: Option<&str>,
        transformer: Option<&InputTransformer>,
    ) -> Result<TargetInput, TransformError> {
        if !crate::model::at_most_one_input(
            input.is_some(),
            input_path.is_some(),
            transformer.is_some(),
        ) {
            return Err(TransformError::MoreThanOne);
        }
        if let Some(input) = input {
            if input.chars().count() > MAX_INPUT_CHARS {
                return Err(TransformError::TooLong {
                    field: "input",
                    max: MAX_INPUT_CHARS,
                });
            }
            serde_json::from_str::<serde::de::IgnoredAny>(input)
                .map_err(|_| TransformError::InputNotJson)?;
            return Ok(TargetInput::Constant(input.to_owned()));
        }
        if let Some(path) = input_path {
            return Ok(TargetInput::Path(InputPath::parse(path)?));
        }
        match transformer {
            Some(transformer) => Ok(TargetInput::Transformer(Transformer::new(transformer)?)),
            None => Ok(TargetInput::MatchedEvent),
        }
    }

    /// What the target receives for `event`.
    ///
    /// ```
    /// use trailbell::transform::{RenderContext, Rendered, TargetInput};
    ///
    /// let input = TargetInput::new(None, Some("$.detail.eventName"), None)?;
    /// let event = serde_json::json!({"detail": {"eventName": "ConsoleLogin"}});
    /// let context = RenderContext { rule_name: "r", rule_arn: "a", ingestion_time: "t", event_json: "" };
    /// assert_eq!(input.render(&event, &context)?, Rendered::Json(r#""ConsoleLogin""#.to_owned()));
    /// # Ok::<(), trailbell::transform::TransformError>(())
    /// ```
    pub fn render(
        &self,
        event: &Value,
        context: &RenderContext<'_>,
    ) -> Result<Rendered, TransformError> {
        self.render_with(event, context, None)
    }

    /// Like [`render`](Self::render), with every string taken from the event passed through
    /// `escape` first (Slack's `&`, `<`, `>` for a webhook that posts the text to Slack, say). The
    /// rule's name, ARN and the ingestion time are trailbell's own and are not escaped; a constant
    /// `Input` is the configuration's and is sent as it is.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use std::collections::BTreeMap;
    /// use trailbell::transform::{InputTransformer, RenderContext, Rendered, TargetInput};
    ///
    /// let transformer = InputTransformer {
    ///     input_paths_map: BTreeMap::from([("user".to_owned(), "$.user".to_owned())]),
    ///     input_template: r#""signed in: <user>""#.to_owned(),
    /// };
    /// let input = TargetInput::new(None, None, Some(&transformer))?;
    /// let context = RenderContext { rule_name: "r", rule_arn: "a", ingestion_time: "t", event_json: "" };
    /// fn escape(s: &str) -> Cow<'_, str> {
    ///     Cow::Owned(s.replace('<', "&lt;").replace('>', "&gt;"))
    /// }
    /// let event = serde_json::json!({"user": "<!channel>"});
    /// assert_eq!(
    ///     input.render_escaped(&event, &context, &escape)?,
    ///     Rendered::Json(r#""signed in: &lt;!channel&gt;""#.to_owned())
    /// );
    /// # Ok::<(), trailbell::transform::TransformError>(())
    /// ```
    pub fn render_escaped(
        &self,
        event: &Value,
        context: &RenderContext<'_>,
        escape: &dyn Fn(&str) -> Cow<'_, str>,
    ) -> Result<Rendered, TransformError> {
        self.render_with(event, context, Some(escape))
    }

    fn render_with(
        &self,
        event: &Value,
        context: &RenderContext<'_>,
        escape: Option<EscapeHook<'_>>,
    ) -> Result<Rendered, TransformError> {
        match self {
            TargetInput::MatchedEvent => Ok(Rendered::Json(match escape {
                None if !context.event_json.trim().is_empty() => context.event_json.to_owned(),
                None => event.to_string(),
                Some(f) => map_strings(event, f).to_string(),
            })),
            TargetInput::Constant(text) => Ok(Rendered::Json(text.clone())),
            TargetInput::Path(path) => match path.select(event) {
                Some(value) => Ok(Rendered::Json(match escape {
                    None => value.to_string(),
                    Some(f) => map_strings(&value, f).to_string(),
                })),
                None => Err(TransformError::NothingSelected {
                    path: path.as_str().to_owned(),
                }),
            },
            TargetInput::Transformer(transformer) => Ok(transformer.render(event, context, escape)),
        }
    }
}

impl Transformer {
    fn new(config: &InputTransformer) -> Result<Transformer, TransformError> {
        if config.input_paths_map.len() > MAX_INPUT_PATHS {
            return Err(TransformError::TooManyPaths);
        }
        let mut paths = BTreeMap::new();
        for (key, path) in &config.input_paths_map {
            let key_ok = !key.is_empty()
                && key.chars().count() <= MAX_KEY_CHARS
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !key_ok {
                return Err(TransformError::InvalidKey { key: key.clone() });
            }
            paths.insert(key.clone(), InputPath::parse(path)?);
        }
        let template = &config.input_template;
        if template.is_empty() {
            return Err(TransformError::EmptyTemplate);
        }
        if template.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(TransformError::TooLong {
                field: "inputTransformer.inputTemplate",
                max: MAX_TEMPLATE_CHARS,
            });
        }
        let pieces = template::parse(template, &|name| paths.contains_key(name))?;
        Ok(Transformer { paths, pieces })
    }

    fn render<'a>(
        &self,
        event: &Value,
        context: &RenderContext<'a>,
        escape: Option<EscapeHook<'_>>,
    ) -> Rendered {
        let without_detail = || match event {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "detail")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        let lookup = |name: &str| -> Var<'a> {
            if let Some(path) = self.paths.get(name) {
                return match path.select(event) {
                    Some(value) => Var::Event(Cow::Owned(value)),
                    None => Var::Missing,
                };
            }
            match name {
                RULE_NAME => Var::Trusted(context.rule_name),
                RULE_ARN => Var::Trusted(context.rule_arn),
                INGESTION_TIME => Var::Trusted(context.ingestion_time),
                EVENT => Var::Event(Cow::Owned(without_detail())),
                EVENT_JSON => Var::EventJson,
                _ => Var::Missing,
            }
        };
        template::render(&self.pieces, &lookup, event, context, escape)
    }
}

pub(crate) fn map_strings(value: &Value, f: &dyn Fn(&str) -> Cow<'_, str>) -> Value {
    match value {
        Value::String(s) => Value::String(f(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), map_strings(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}
