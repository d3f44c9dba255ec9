//! What a card about an event shows, read once from the event: the Slack card
//! ([`super::slack::message`]) and the Chatbot notification ([`super::sns::chatbot`]) both render
//! it, each in its own format. Texts here are plain; each renderer escapes them its own way.

use serde_json::Value;

use crate::alert::{OccurrenceKind, Occurrences};
use crate::rules::Severity;

/// The longest console URL a card links to.
pub const MAX_URL_CHARS: usize = 3000;

/// Which card an event gets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    SignIn,
    ApiCall,
    Generic,
}

/// What a card shows, read once from the event; `None` for what is missing or of the wrong type.
pub(crate) struct Facts<'a> {
    pub(crate) kind: Kind,
    pub(crate) detail: Option<&'a Value>,
    pub(crate) source: Option<String>,
    pub(crate) detail_type: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) time: Option<String>,
    pub(crate) event_name: Option<String>,
    pub(crate) event_source: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) actor: String,
    pub(crate) principal_type: Option<String>,
    pub(crate) source_ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) error_code: Option<String>,
    pub(crate) error_message: Option<String>,
}

impl<'a> Facts<'a> {
    pub(crate) fn of(event: &'a Value) -> Facts<'a> {
        let detail = event.get("detail").filter(|d| d.is_object());
        let at = |path: &[&str]| detail.and_then(|d| text_at(d, path));
        let source = text_at(event, &["source"]);
        let event_name = at(&["eventName"]);
        let event_source = at(&["eventSource"]);
        let kind = if event_name.as_deref() == Some("ConsoleLogin")
            || (source.as_deref() == Some("aws.signin") && event_name.is_some())
        {
            Kind::SignIn
        } else if event_name.is_some() && event_source.is_some() {
            Kind::ApiCall
        } else {
            Kind::Generic
        };
        // Who, where and when as every target says it (crate::cloudtrail::Facts).
        let facts = crate::cloudtrail::Facts::of_envelope(event);
        Facts {
            kind,
            detail,
            account: facts.account,
            region: facts.region,
            time: facts.event_time,
            detail_type: text_at(event, &["detail-type"]),
            source,
            event_name,
            event_source,
            event_id: facts.event_id,
            actor: facts
                .actor
                .unwrap_or_else(|| "unknown principal".to_owned()),
            principal_type: facts.principal_type,
            source_ip: facts.source_ip,
            user_agent: at(&["userAgent"]),
            error_code: at(&["errorCode"]),
            error_message: at(&["errorMessage"]),
        }
    }

    /// The event in the CloudTrail console, when the region is a plain region name and the URL
    /// fits a button.
    pub(crate) fn console_url(&self) -> Option<String> {
        if self.kind == Kind::Generic {
            return None;
        }
        let region = self.region.as_deref()?;
        let plain = !region.is_empty()
            && region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return None;
        }
        let id = percent_encode(self.event_id.as_deref()?);
        let url = format!(
            "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{id}"
        );
        (url.len() <= MAX_URL_CHARS).then_some(url)
    }
}

/// A name for what the call acted on, from the request parameters (or the instances it
/// launched): bucket, security group, user, role, database, instances, key, trail, ...
pub(crate) fn resource_name(detail: &Value) -> Option<String> {
    const KEYS: [&str; 22] = [
        "bucketName",
        "groupId",
        "groupName",
        "userName",
        "roleName",
        "policyArn",
        "dBInstanceIdentifier",
        "dBClusterIdentifier",
        "dBSnapshotIdentifier",
        "instanceId",
        "trailName",
        "name",
        "keyId",
        "secretId",
        "vpcId",
        "networkAclId",
        "routeTableId",
        "internetGatewayId",
        "configurationRecorderName",
        "deliveryChannelName",
        "policyId",
        "accountName",
    ];
    let params = detail.get("requestParameters");
    if let Some(params) = params.filter(|p| p.is_object()) {
        for key in KEYS {
            if let Some(value) = text_at(params, &[key]).filter(|v| !v.is_empty()) {
                return Some(value);
            }
        }
    }
    let ids = |root: Option<&Value>| -> Vec<String> {
        root.and_then(|r| r.get("instancesSet"))
            .and_then(|s| s.get("items"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| text_at(item, &["instanceId"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut instances = ids(params);
    if instances.is_empty() {
        instances = ids(detail.get("responseElements"));
    }
    match instances.len() {
        0 => None,
        1..=3 => Some(instances.join(", ")),
        n => Some(format!("{} and {} more", instances[..3].join(", "), n - 3)),
    }
}

/// "Repeated 12 times in 10 min" or "Threshold: 5 matches within 5 min, key `…`".
/// `code` quotes the key for the renderer's format.
pub(crate) fn occurrences_text(occurrences: &Occurrences, code: impl Fn(&str) -> String) -> String {
    let window = duration(occurrences.window_seconds);
    match occurrences.kind {
        OccurrenceKind::Repeated => format!("Repeated {} times in {window}", occurrences.count),
        OccurrenceKind::Threshold => format!(
            "Threshold: {} matches within {window}, key {}",
            occurrences.count,
            code(&occurrences.key)
        ),
    }
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 && s > 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The severity as a Slack emoji shortcode (Chatbot shows its notifications in Slack too).
pub(crate) fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => ":information_source:",
        Severity::Low => ":large_blue_circle:",
        Severity::Medium => ":large_yellow_circle:",
        Severity::High => ":large_orange_circle:",
        Severity::Critical => ":rotating_light:",
    }
}

/// A string, number or boolean at `path`, as text.
pub(crate) fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    match current {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
