//! AWS Chatbot (Amazon Q Developer in chat applications) custom notifications: the SNS message
//! body that makes a Chatbot channel subscribed to the topic render the alert as a card.
//!
//! The format is Chatbot's "custom notification" event: `version` `"1.0"`, `source` `"custom"`,
//! `content` (`textType` `"client-markdown"`, `title`, `description`, `nextSteps`, `keywords`) and
//! `metadata` (`threadId`, `summary`, `eventType`, `relatedResources`, `additionalContext`).
//! Chatbot drops messages it cannot read, so every field is kept within the limits in this file
//! (AWS's where its page states them, conservative where it does not). Chatbot renders the
//! markdown in Slack, so event strings are escaped as for Slack ([`crate::targets::slack::escape`]).
//!
//! Repeats of one alert share a `threadId` (the rule and the dedup key), so Chatbot threads them.
//!
//! ```
//! use trailbell::alert::AlertContext;
//! use trailbell::rules::Severity;
//! use trailbell::targets::sns::chatbot::notification;
//!
//! let alert = AlertContext {
//!     rule_name: "iam-user-created".into(), rule_arn: "arn".into(), title: "IAM user created".into(),
//!     severity: Severity::Medium, description: String::new(), ingestion_time: "t".into(),
//!     occurrences: None,
//! };
//! let event = serde_json::json!({"account": "111122223333", "region": "us-east-1", "detail": {
//!     "eventName": "CreateUser", "eventSource": "iam.amazonaws.com", "eventID": "e-1",
//!     "requestParameters": {"userName": "mallory"}}});
//! let message = notification(&event, &alert);
//! assert_eq!(message["version"], "1.0");
//! assert_eq!(message["content"]["textType"], "client-markdown");
//! assert!(message["content"]["description"].as_str().unwrap().contains("`mallory`"));
//! ```

use serde_json::{Map, Value, json};

use crate::alert::AlertContext;
use crate::targets::card::{Facts, Kind, emoji, occurrences_text, resource_name, text_at};
use crate::targets::slack::escape;

/// The longest `content.title`.
pub const MAX_TITLE_CHARS: usize = 250;
/// The longest `content.description`.
pub const MAX_DESCRIPTION_CHARS: usize = 8000;
/// The most `content.nextSteps`, and the longest one.
pub const MAX_NEXT_STEPS: usize = 5;
/// The longest next step.
pub const MAX_NEXT_STEP_CHARS: usize = 500;
/// The most `content.keywords`, and the longest one.
pub const MAX_KEYWORDS: usize = 10;
/// The longest keyword.
pub const MAX_KEYWORD_CHARS: usize = 75;
/// The longest `metadata.threadId`, `metadata.eventType` and additional-context value.
pub const MAX_METADATA_CHARS: usize = 256;
/// The longest `metadata.summary`.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// The most `metadata.relatedResources`.
pub const MAX_RELATED_RESOURCES: usize = 10;

/// The Chatbot custom notification for an alert on `event`, ready to be the SNS message.
pub fn notification(event: &Value, alert: &AlertContext) -> Value {
    let facts = Facts::of(event);
    // The emoji is ours and stays a Slack shortcode: escaped with the title, its underscores
    // would become look-alikes and Slack would show `:largeˍorangeˍcircle:`.
    let emoji = emoji(alert.severity);
    let title = format!(
        "{emoji} {}",
        escape::mrkdwn(&alert.title, MAX_TITLE_CHARS - emoji.chars().count() - 1)
    );

    let mut lines = Vec::new();
    let mut line = |label: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            lines.push(format!("*{label}:* {}", escape::code(value, 400)));
        }
    };
    match facts.kind {
        Kind::Generic => {
            line("Source", facts.source.as_deref());
            line("Detail type", facts.detail_type.as_deref());
        }
        _ => {
            line("Who", Some(&facts.actor));
            line("Action", facts.event_name.as_deref());
            line("Service", facts.event_source.as_deref());
        }
    }
    let resource = facts.detail.and_then(resource_name);
    line("Resource", resource.as_deref());
    line("Result", facts.error_code.as_deref());
    line("Account", facts.account.as_deref());
    line("Region", facts.region.as_deref());
    line("Source IP", facts.source_ip.as_deref());
    line("Time", facts.time.as_deref());
    line("Event ID", facts.event_id.as_deref());
    if let Some(message) = &facts.error_message {
        lines.push(format!("*Error:* {}", escape::mrkdwn(message, 1000)));
    }
    if let Some(occurrences) = &alert.occurrences {
        lines.push(occurrences_text(occurrences, |key| escape::code(key, 500)));
    }
    if !alert.description.trim().is_empty() {
        lines.push(escape::mrkdwn(&alert.description, 2000));
    }
    let description = escape::truncate(&lines.join("\n"), MAX_DESCRIPTION_CHARS).into_owned();

    let mut next_steps = Vec::new();
    if let Some(url) = facts.console_url() {
        next_steps.push(format!("Open the event in CloudTrail: {url}"));
    }
    next_steps.retain(|s| s.chars().count() <= MAX_NEXT_STEP_CHARS);
    next_steps.truncate(MAX_NEXT_STEPS);

    let mut keywords = vec![alert.severity.as_str().to_owned(), alert.rule_name.clone()];
    keywords.extend(facts.event_source.clone().or(facts.source.clone()));
    keywords.extend(facts.account.clone());
    let keywords: Vec<String> = keywords
        .iter()
        .filter(|k| !k.is_empty())
        .take(MAX_KEYWORDS)
        .map(|k| escape::text(k, MAX_KEYWORD_CHARS))
        .collect();

    let key = match &alert.occurrences {
        Some(o) => o.key.clone(),
        None => facts.event_id.clone().unwrap_or_default(),
    };
    let thread_id = escape::text(&format!("{}:{key}", alert.rule_name), MAX_METADATA_CHARS);
    let event_type = match facts.kind {
        Kind::Generic => facts.detail_type.clone(),
        _ => facts.event_name.clone(),
    }
    .unwrap_or_default();
    let summary = escape::mrkdwn(
        &format!(
            "[{}] {}: {} {}",
            alert.severity.as_str().to_uppercase(),
            alert.title,
            facts.actor,
            facts.event_name.as_deref().unwrap_or_default()
        ),
        MAX_SUMMARY_CHARS,
    );

    let mut related: Vec<String> = event
        .get("resources")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    related.extend(resource);
    let related: Vec<String> = related
        .iter()
        .take(MAX_RELATED_RESOURCES)
        .map(|r| escape::text(r, MAX_METADATA_CHARS))
        .collect();

    let mut context = Map::new();
    let mut add = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            context.insert(
                key.to_owned(),
                Value::String(escape::text(&value, MAX_METADATA_CHARS)),
            );
        }
    };
    add("rule", Some(alert.rule_name.clone()));
    add("severity", Some(alert.severity.as_str().to_owned()));
    add("account", facts.account.clone());
    add("region", facts.region.clone());
    add("eventSource", facts.event_source.clone());
    add("eventName", facts.event_name.clone());
    add("eventID", facts.event_id.clone());
    add("sourceIPAddress", facts.source_ip.clone());
    add(
        "eventTime",
        facts.time.clone().or_else(|| text_at(event, &["time"])),
    );

    json!({
        "version": "1.0",
        "source": "custom",
        "id": escape::text(facts.event_id.as_deref().unwrap_or_default(), MAX_METADATA_CHARS),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": thread_id,
            "summary": summary,
            "eventType": escape::text(&event_type, MAX_METADATA_CHARS),
            "relatedResources": related,
            "additionalContext": context,
        },
    })
}
