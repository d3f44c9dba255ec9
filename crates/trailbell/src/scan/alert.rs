//! What an alert says about its event: read again, fully, from the few events that match a rule.

use std::borrow::Cow;

use serde::Deserialize;

/// The facts about a matched event that a report shows. Strings are as the event has them
/// (untrusted: escape them before printing to a terminal); a missing fact is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventSummary {
    /// The event's time, normalized (`2026-11-02T08:15:00Z`) when it could be read as one.
    pub time: String,
    /// The account that received the event (`recipientAccountId`, or the envelope's `account`).
    pub account: String,
    /// `awsRegion`, or the envelope's `region`.
    pub region: String,
    /// Who: `userIdentity.arn`, else `userName`, `principalId`, `invokedBy` or `type`.
    pub who: String,
    /// What: `eventSource:eventName`, e.g. `signin.amazonaws.com:ConsoleLogin`.
    pub what: String,
    /// `sourceIPAddress`.
    pub source_ip: String,
    /// `eventID`.
    pub event_id: String,
    /// The file the event was read from.
    pub file: String,
}

/// A string, or any other value, which counts as absent.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

impl<'a> Lenient<'a> {
    fn text(value: Option<Lenient<'a>>) -> Option<Cow<'a, str>> {
        match value {
            Some(Lenient::Text(text)) => Some(text),
            _ => None,
        }
    }
}

/// `userIdentity`: an object, or any other value, which counts as absent.
#[derive(Deserialize)]
#[serde(untagged)]
enum LenientIdentity<'a> {
    Identity(#[serde(borrow)] Identity<'a>),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Identity<'a> {
    #[serde(borrow)]
    arn: Option<Lenient<'a>>,
    #[serde(borrow, rename = "userName")]
    user_name: Option<Lenient<'a>>,
    #[serde(borrow, rename = "principalId")]
    principal_id: Option<Lenient<'a>>,
    #[serde(borrow, rename = "invokedBy")]
    invoked_by: Option<Lenient<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Lenient<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow, rename = "userIdentity")]
    user_identity: Option<LenientIdentity<'a>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Lenient<'a>>,
    #[serde(borrow, rename = "eventName")]
    event_name: Option<Lenient<'a>>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip: Option<Lenient<'a>>,
    #[serde(borrow, rename = "eventID")]
    event_id: Option<Lenient<'a>>,
    #[serde(borrow, rename = "recipientAccountId")]
    account: Option<Lenient<'a>>,
    #[serde(borrow, rename = "awsRegion")]
    region: Option<Lenient<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope<'a> {
    #[serde(borrow)]
    account: Option<Lenient<'a>>,
    #[serde(borrow)]
    region: Option<Lenient<'a>>,
    #[serde(borrow)]
    detail: Option<Record<'a>>,
}

impl EventSummary {
    /// The summary of a CloudTrail record; `time` is the normalized time already read.
    ///
    /// A field of an unexpected type counts as absent; an event whose summary cannot be read at
    /// all (a key repeated) gets an empty one but for `time` and `file`: this never fails.
    ///
    /// ```
    /// use trailbell::scan::EventSummary;
    ///
    /// let record = br#"{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
    ///     "userIdentity": {"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
    ///     "sourceIPAddress": "192.0.2.1", "eventID": "e-1", "awsRegion": "us-east-1"}"#;
    /// let summary = EventSummary::of_record(record, "2026-11-02T08:15:00Z", "file.json");
    /// assert_eq!(summary.who, "HIDDEN_DUE_TO_SECURITY_REASONS");
    /// assert_eq!(summary.what, "signin.amazonaws.com:ConsoleLogin");
    /// ```
    pub fn of_record(record: &[u8], time: &str, file: &str) -> EventSummary {
        let parsed: Record<'_> = serde_json::from_slice(record).unwrap_or_default();
        let mut summary = summarize(parsed);
        summary.time = time.to_owned();
        summary.file = file.to_owned();
        summary
    }

    /// The summary of an EventBridge envelope of a CloudTrail event.
    pub fn of_envelope(envelope: &[u8], time: &str, file: &str) -> EventSummary {
        let parsed: Envelope<'_> = serde_json::from_slice(envelope).unwrap_or_default();
        let mut summary = summarize(parsed.detail.unwrap_or_default());
        if let Some(account) = Lenient::text(parsed.account) {
            summary.account = account.into_owned();
        }
        if let Some(region) = Lenient::text(parsed.region) {
            summary.region = region.into_owned();
        }
        summary.time = time.to_owned();
        summary.file = file.to_owned();
        summary
    }
}

fn summarize(record: Record<'_>) -> EventSummary {
    let text = |value: Option<Lenient<'_>>| {
        Lenient::text(value)
            .map(Cow::into_owned)
            .unwrap_or_default()
    };
    let identity = match record.user_identity {
        Some(LenientIdentity::Identity(identity)) => identity,
        _ => Identity::default(),
    };
    let who = [
        identity.arn,
        identity.user_name,
        identity.principal_id,
        identity.invoked_by,
        identity.kind,
    ]
    .into_iter()
    .filter_map(Lenient::text)
    .find(|value| !value.is_empty())
    .map(Cow::into_owned)
    .unwrap_or_default();
    let what = match (
        Lenient::text(record.event_source),
        Lenient::text(record.event_name),
    ) {
        (Some(source), Some(name)) => format!("{source}:{name}"),
        (Some(source), None) => source.into_owned(),
        (None, Some(name)) => name.into_owned(),
        (None, None) => String::new(),
    };
    EventSummary {
        time: String::new(),
        account: text(record.account),
        region: text(record.region),
        who,
        what,
        source_ip: text(record.source_ip),
        event_id: text(record.event_id),
        file: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_prefers_the_arn_then_the_user_name() {
        let who = |identity: &str| {
            let record = format!(r#"{{"userIdentity": {identity}}}"#);
            EventSummary::of_record(record.as_bytes(), "", "").who
        };
        assert_eq!(
            who(r#"{"arn": "arn:aws:iam::1:root", "userName": "u", "principalId": "p"}"#),
            "arn:aws:iam::1:root"
        );
        assert_eq!(who(r#"{"userName": "u", "principalId": "p"}"#), "u");
        assert_eq!(who(r#"{"arn": "", "principalId": "p"}"#), "p");
        assert_eq!(
            who(r#"{"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}"#),
            "ec2.amazonaws.com"
        );
        assert_eq!(who(r#"{"type": "Root"}"#), "Root");
        assert_eq!(who("null"), "");
    }

    #[test]
    fn envelopes_take_account_and_region_from_the_envelope() {
        let envelope = br#"{"account": "1", "region": "r", "detail": {"eventSource": "s",
            "eventName": "n", "recipientAccountId": "2", "awsRegion": "q", "eventID": "e"}}"#;
        let summary = EventSummary::of_envelope(envelope, "t", "f");
        assert_eq!(
            summary,
            EventSummary {
                time: "t".into(),
                account: "1".into(),
                region: "r".into(),
                who: String::new(),
                what: "s:n".into(),
                source_ip: String::new(),
                event_id: "e".into(),
                file: "f".into(),
            }
        );
    }

    #[test]
    fn unexpected_types_count_as_absent() {
        let summary = EventSummary::of_record(
            br#"{"eventName": 5, "eventID": "e", "userIdentity": "x", "awsRegion": null}"#,
            "t",
            "f",
        );
        assert_eq!(summary.event_id, "e");
        assert_eq!(summary.what, "");
        assert_eq!(summary.who, "");
        assert_eq!(summary.time, "t");
        let summary = EventSummary::of_record(br#"{"eventID": "a", "eventID": "b"}"#, "t", "f");
        assert_eq!(summary.event_id, "");
        assert_eq!(summary.file, "f");
    }
}
