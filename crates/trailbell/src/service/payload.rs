//! What each target receives for an alert: EventBridge's input rules first (`Input`, `InputPath`,
//! `InputTransformer`), else the destination's own form of the matched event (a Slack card, a
//! Chatbot notification, a terminal line, the envelope).

use serde_json::{Value, json};

use super::bus::{PayloadKind, TargetRuntime};
use crate::alert::AlertContext;
use crate::sanitize::for_terminal;
use crate::targets::securityhub::finding::finding;
use crate::targets::slack::escape::escape;
use crate::targets::slack::message::{card, repeat_reply};
use crate::targets::sns::chatbot::notification;
use crate::targets::stdout::render::terminal_line;
use crate::transform::{RenderContext, Rendered, TargetInput, TransformError};

/// The payload of one alert for one target.
pub fn alert_payload(
    target: &TargetRuntime,
    event: &Value,
    envelope: &str,
    context: &AlertContext,
) -> Result<String, TransformError> {
    if target.input == TargetInput::MatchedEvent {
        return Ok(match target.kind {
            PayloadKind::SlackCard { .. } => card(event, context).to_string(),
            PayloadKind::Chatbot => notification(event, context).to_string(),
            PayloadKind::TerminalText => terminal_line(event, context),
            PayloadKind::Finding => json!(finding(event, context)).to_string(),
            PayloadKind::Event => envelope.to_owned(),
        });
    }
    let render = RenderContext {
        rule_name: &context.rule_name,
        rule_arn: &context.rule_arn,
        ingestion_time: &context.ingestion_time,
        event_json: envelope,
    };
    Ok(match target.kind {
        // Values from the event are escaped for Slack; a JSON object is the message itself
        // (Block Kit of the user's own), anything else its text.
        PayloadKind::SlackCard { .. } => {
            match target
                .input
                .render_escaped(event, &render, &|text| escape(text))?
            {
                Rendered::Json(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(message)) => Value::Object(message).to_string(),
                    Ok(Value::String(text)) => json!({ "text": text }).to_string(),
                    _ => json!({ "text": text }).to_string(),
                },
                Rendered::Text(text) => json!({ "text": text }).to_string(),
            }
        }
        PayloadKind::TerminalText => for_terminal(target.input.render(event, &render)?.as_str()),
        PayloadKind::Chatbot | PayloadKind::Finding | PayloadKind::Event => {
            target.input.render(event, &render)?.as_str().to_owned()
        }
    })
}

/// The thread reply a Slack target with a bot token gets for a repeat that dedup folded.
pub fn repeat_payload(event: &Value, context: &AlertContext) -> String {
    repeat_reply(event, context).to_string()
}
