//! Block Kit messages for alerts: one card per alert, a short reply for repeats.
//!
//! A card is a message payload (`text` for notifications, then one attachment whose colour is the
//! severity and whose blocks carry the card) of one of three kinds:
//!
//! - **console sign-in** (`ConsoleLogin`, or any `aws.signin` event): who, principal type,
//!   account, result, MFA, source IP, region, sign-in endpoint, time, event id;
//! - **API call** (any other CloudTrail event): who called what on which service, to which
//!   resource, the result, the request parameters as a short code block, the error if any;
//! - **generic** (everything else): source, detail type, account, region and the `detail` as a
//!   short code block.
//!
//! Every CloudTrail card ends with a button to the event in the CloudTrail console. Every string
//! from the event goes through [`super::escape`], and every text respects Slack's limits (50
//! blocks, 3000 characters a section, 150 a header, 10 fields of 2000 characters, 3000 a URL), so
//! an odd or hostile event gives a smaller card, never a rejected one. The layout is explained in
//! docs/decisions/0005-target-input-and-slack-messages.md.
//!
//! ```
//! use trailbell::alert::AlertContext;
//! use trailbell::rules::Severity;
//! use trailbell::targets::slack::message::card;
//!
//! let alert = AlertContext {
//!     rule_name: "root-console-login".into(),
//!     rule_arn: "arn:aws:events:us-east-1:111122223333:rule/root-console-login".into(),
//!     title: "Root user signed in".into(),
//!     severity: Severity::High,
//!     description: String::new(),
//!     ingestion_time: "2026-11-02T08:15:01Z".into(),
//!     occurrences: None,
//! };
//! let event = serde_json::json!({
//!     "source": "aws.signin", "account": "111122223333", "region": "us-east-1",
//!     "detail": {"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"},
//!                "responseElements": {"ConsoleLogin": "Success"}, "eventID": "e-1"}
//! });
//! let payload = card(&event, &alert);
//! assert!(payload["text"].as_str().unwrap().contains("Root user signed in"));
//! assert_eq!(payload["attachments"][0]["blocks"][0]["type"], "header");
//! ```

use serde_json::{Value, json};

use super::escape;
use crate::alert::AlertContext;
use crate::rules::Severity;
use crate::targets::card::{Facts, Kind, emoji, occurrences_text, resource_name, text_at};

/// The most blocks Slack accepts in a message.
pub const MAX_BLOCKS: usize = 50;
/// The longest text of a section block.
pub const MAX_SECTION_CHARS: usize = 3000;
/// The longest text of a header block.
pub const MAX_HEADER_CHARS: usize = 150;
/// The most fields of a section block.
pub const MAX_FIELDS: usize = 10;
/// The longest text of one field.
pub const MAX_FIELD_CHARS: usize = 2000;
/// The longest button URL.
pub const MAX_URL_CHARS: usize = crate::targets::card::MAX_URL_CHARS;
/// The longest `text` (the notification fallback) we send.
pub const MAX_TEXT_CHARS: usize = 3000;

/// How long a field value may be: long enough for any ARN, short enough that ten fit on a screen.
const FIELD_VALUE_CHARS: usize = 300;
/// How much of the request parameters or `detail` a card shows.
const CODE_BLOCK_CHARS: usize = 1500;

/// The Slack message for an alert on `event`.
pub fn card(event: &Value, alert: &AlertContext) -> Value {
    let facts = Facts::of(event);
    let mut blocks = Blocks::default();
    blocks.push(header(alert));
    match facts.kind {
        Kind::SignIn => sign_in_blocks(&facts, &mut blocks),
        Kind::ApiCall => api_call_blocks(&facts, &mut blocks),
        Kind::Generic => generic_blocks(&facts, &mut blocks),
    }
    if let Some(occurrences) = &alert.occurrences {
        blocks.push(section(&format!(
            ":repeat: {}",
            occurrences_text(occurrences, |key| escape::code(key, 500))
        )));
    }
    if !alert.description.trim().is_empty() {
        blocks.push(section(&escape::mrkdwn(&alert.description, 1000)));
    }
    if let Some(url) = facts.console_url() {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "open_cloudtrail",
                "text": {"type": "plain_text", "text": "Open in CloudTrail", "emoji": true},
                "url": url,
            }],
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": footer(alert)}],
    }));
    json!({
        "text": fallback_text(&facts, alert),
        "attachments": [{"color": color(alert.severity), "blocks": blocks.0}],
    })
}

/// A short message for a thread reply when an alert repeats: who did it again, how often.
///
/// ```
/// use trailbell::alert::{AlertContext, OccurrenceKind, Occurrences};
/// use trailbell::rules::Severity;
/// use trailbell::targets::slack::message::repeat_reply;
///
/// let alert = AlertContext {
///     rule_name: "sg-open".into(), rule_arn: "arn".into(), title: "Security group opened".into(),
///     severity: Severity::Medium, description: String::new(), ingestion_time: "t".into(),
///     occurrences: Some(Occurrences { count: 12, window_seconds: 600, key: "k".into(),
///                                     kind: OccurrenceKind::Repeated }),
/// };
/// let reply = repeat_reply(&serde_json::json!({}), &alert);
/// assert!(reply["text"].as_str().unwrap().contains("12 times in 10 min"));
/// ```
pub fn repeat_reply(event: &Value, alert: &AlertContext) -> Value {
    let facts = Facts::of(event);
    let what = match facts.kind {
        Kind::Generic => escape::mrkdwn(facts.detail_type.as_deref().unwrap_or("event"), 200),
        _ => format!(
            "{} {}",
            escape::code(&facts.actor, 300),
            escape::code(facts.event_name.as_deref().unwrap_or(""), 200),
        ),
    };
    let how_often = match &alert.occurrences {
        Some(o) => occurrences_text(o, |key| escape::code(key, 500)),
        None => "Again".to_owned(),
    };
    let text = escape::truncate(&format!("{how_often}: {what}"), MAX_TEXT_CHARS).into_owned();
    let mut context = format!("Rule {}", escape::code(&alert.rule_name, 300));
    if let Some(time) = &facts.time {
        context.push_str(&format!(" · last at {}", escape::mrkdwn(time, 100)));
    }
    json!({
        "text": text,
        "blocks": [
            section(&text),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    })
}

fn sign_in_blocks(facts: &Facts<'_>, blocks: &mut Blocks) {
    let detail = facts.detail;
    let event_name = facts.event_name.as_deref().unwrap_or("ConsoleLogin");
    let result = detail.and_then(|d| text_at(d, &["responseElements", event_name]));
    let failed = result.as_deref() == Some("Failure") || facts.error_message.is_some();
    let verb = match event_name {
        "ConsoleLogin" => "signing in to the AWS console".to_owned(),
        other => escape::code(other, 100),
    };
    let outcome = match (&result, failed) {
        (_, true) => ":x: *failed*".to_owned(),
        (Some(r), false) => format!(":white_check_mark: {}", escape::mrkdwn(r, 100)),
        (None, false) => "result not recorded".to_owned(),
    };
    blocks.push(section(&format!(
        "{} {verb}: {outcome}",
        escape::code(&facts.actor, 600)
    )));
    let mfa = detail
        .and_then(|d| text_at(d, &["additionalEventData", "MFAUsed"]))
        .unwrap_or_else(|| "not recorded".to_owned());
    let endpoint = detail.and_then(|d| text_at(d, &["additionalEventData", "LoginTo"]));
    let result_text = match (&result, &facts.error_message) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(r), None) => r.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => String::new(),
    };
    blocks.push(fields(&[
        ("User", Some(facts.actor.clone())),
        ("Principal type", facts.principal_type.clone()),
        ("Account", facts.account.clone()),
        ("Result", Some(result_text).filter(|s| !s.is_empty())),
        ("MFA used", Some(mfa)),
        ("Source IP", facts.source_ip.clone()),
        ("Region", facts.region.clone()),
        ("Sign-in endpoint", endpoint),
        ("Time", facts.time.clone()),
        ("Event ID", facts.event_id.clone()),
    ]));
    if let Some(agent) = &facts.user_agent {
        blocks.push(context(&format!(
            "User agent: {}",
            escape::code(agent, 500)
        )));
    }
}

fn api_call_blocks(facts: &Facts<'_>, blocks: &mut Blocks) {
    let params = facts
        .detail
        .and_then(|d| d.get("requestParameters"))
        .filter(|p| !p.is_null());
    let resource = facts.detail.and_then(resource_name);
    let mut line = format!(
        "{} called {} on {}",
        escape::code(&facts.actor, 600),
        escape::code(facts.event_name.as_deref().unwrap_or(""), 200),
        escape::code(facts.event_source.as_deref().unwrap_or(""), 200),
    );
    if let Some(resource) = &resource {
        line.push_str(&format!(" → {}", escape::code(resource, 600)));
    }
    if let Some(code) = &facts.error_code {
        line.push_str(&format!(" — :x: *failed* with {}", escape::code(code, 200)));
    }
    blocks.push(section(&line));
    let result = match &facts.error_code {
        Some(code) => code.clone(),
        None => "Success".to_owned(),
    };
    blocks.push(fields(&[
        ("Principal type", facts.principal_type.clone()),
        ("Account", facts.account.clone()),
        ("Region", facts.region.clone()),
        ("Resource", resource),
        ("Result", Some(result)),
        ("Source IP", facts.source_ip.clone()),
        ("Time", facts.time.clone()),
        ("Event ID", facts.event_id.clone()),
        ("User agent", facts.user_agent.clone()),
    ]));
    if let Some(message) = &facts.error_message {
        blocks.push(section(&format!(
            "*Error message*\n{}",
            escape::mrkdwn(message, 1500)
        )));
    }
    if let Some(params) = params {
        blocks.push(section(&format!(
            "*Request parameters*\n{}",
            escape::code_block(&pretty(params), CODE_BLOCK_CHARS)
        )));
    }
}

fn generic_blocks(facts: &Facts<'_>, blocks: &mut Blocks) {
    blocks.push(section(&format!(
        "{} from {}",
        escape::code(facts.detail_type.as_deref().unwrap_or("event"), 300),
        escape::code(facts.source.as_deref().unwrap_or("unknown source"), 300),
    )));
    blocks.push(fields(&[
        ("Source", facts.source.clone()),
        ("Detail type", facts.detail_type.clone()),
        ("Account", facts.account.clone()),
        ("Region", facts.region.clone()),
        ("Time", facts.time.clone()),
    ]));
    if let Some(detail) = facts.detail {
        blocks.push(section(&format!(
            "*Detail*\n{}",
            escape::code_block(&pretty(detail), CODE_BLOCK_CHARS)
        )));
    }
}

fn header(alert: &AlertContext) -> Value {
    let text = format!("{} {}", emoji(alert.severity), alert.title);
    json!({
        "type": "header",
        "text": {"type": "plain_text", "text": escape::plain_text(&text, MAX_HEADER_CHARS), "emoji": true},
    })
}

fn footer(alert: &AlertContext) -> String {
    let text = format!(
        "Rule {} · severity *{}* · received {}",
        escape::code(&alert.rule_name, 300),
        alert.severity.as_str(),
        escape::mrkdwn(&alert.ingestion_time, 100),
    );
    escape::truncate(&text, MAX_SECTION_CHARS).into_owned()
}

fn fallback_text(facts: &Facts<'_>, alert: &AlertContext) -> String {
    let what = match facts.kind {
        Kind::Generic => facts.detail_type.clone().unwrap_or_default(),
        _ => format!(
            "{} {}",
            facts.actor,
            facts.event_name.as_deref().unwrap_or_default()
        ),
    };
    let place = [facts.account.as_deref(), facts.region.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "[{}] {}: {what} ({place})",
        alert.severity.as_str().to_uppercase(),
        alert.title
    );
    escape::mrkdwn(&text, MAX_TEXT_CHARS)
}

fn color(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "#9BA3AF",
        Severity::Low => "#3AA3E3",
        Severity::Medium => "#ECB22E",
        Severity::High => "#E8912D",
        Severity::Critical => "#E01E5A",
    }
}

/// Blocks, never more than Slack's limit: the footer and button matter more than a late section,
/// so pushes past the limit replace nothing and are dropped.
#[derive(Default)]
struct Blocks(Vec<Value>);

impl Blocks {
    fn push(&mut self, block: Value) {
        if self.0.len() < MAX_BLOCKS {
            self.0.push(block);
        }
    }
}

/// A section of mrkdwn text already escaped, cut to the section limit.
fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": escape::truncate(text, MAX_SECTION_CHARS)},
    })
}

fn context(text: &str) -> Value {
    json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape::truncate(text, MAX_SECTION_CHARS)}],
    })
}

/// A section of labelled fields; missing values show as a dash.
fn fields(items: &[(&str, Option<String>)]) -> Value {
    let fields: Vec<Value> = items
        .iter()
        .take(MAX_FIELDS)
        .map(|(label, value)| {
            let value = match value {
                Some(v) if !v.is_empty() => escape::code(v, FIELD_VALUE_CHARS),
                _ => "–".to_owned(),
            };
            json!({"type": "mrkdwn", "text": escape::truncate(&format!("*{label}*\n{value}"), MAX_FIELD_CHARS)})
        })
        .collect();
    json!({"type": "section", "fields": fields})
}

/// `value` pretty-printed, cut early so a huge value costs little.
fn pretty(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    escape::truncate(&text, CODE_BLOCK_CHARS * 2).into_owned()
}
