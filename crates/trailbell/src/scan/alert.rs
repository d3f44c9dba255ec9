//! What an alert says about its event: read again, fully, from the few events that match a rule.

use serde_json::Value;

use crate::cloudtrail::Facts;

/// The facts about a matched event that a report shows. Strings are as the event has them
/// (untrusted: escape them before printing to a terminal); a missing fact is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventSummary {
    /// The event's time, normalized (`2026-11-02T08:15:00Z`) when it could be read as one.
    pub time: String,
    /// The account that received the event (`recipientAccountId`, else the envelope's `account`).
    pub account: String,
    /// `awsRegion`, else the envelope's `region`.
    pub region: String,
    /// Who: [`crate::cloudtrail::actor`].
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

impl EventSummary {
    /// The summary of a CloudTrail record; `time` is the normalized time already read.
    ///
    /// The facts are [`Facts`]'s, the ones the service's alerts show. A field of an unexpected
    /// type counts as absent; a record that is not a JSON object gets an empty summary but for
    /// `time` and `file`: this never fails.
    ///
    /// ```
    /// use trailbell::scan::EventSummary;
    ///
    /// let record = br#"{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
    ///     "userIdentity": {"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
    ///     "sourceIPAddress": "192.0.2.1", "eventID": "e-1", "awsRegion": "us-east-1"}"#;
    /// let summary = EventSummary::of_record(record, "2026-11-02T08:15:00Z", "file.json");
    /// assert_eq!(summary.who, "unknown user (name hidden by AWS)");
    /// assert_eq!(summary.what, "signin.amazonaws.com:ConsoleLogin");
    /// ```
    pub fn of_record(record: &[u8], time: &str, file: &str) -> EventSummary {
        let parsed: Value = serde_json::from_slice(record).unwrap_or_default();
        summary(Facts::of_record(&parsed), time, file)
    }

    /// The summary of an EventBridge envelope of a CloudTrail event.
    pub fn of_envelope(envelope: &[u8], time: &str, file: &str) -> EventSummary {
        let parsed: Value = serde_json::from_slice(envelope).unwrap_or_default();
        summary(Facts::of_envelope(&parsed), time, file)
    }
}

fn summary(facts: Facts, time: &str, file: &str) -> EventSummary {
    EventSummary {
        // The scan read and normalized the event's time already, with the same precedence.
        time: time.to_owned(),
        account: facts.account.clone().unwrap_or_default(),
        region: facts.region.clone().unwrap_or_default(),
        who: facts.actor.clone().unwrap_or_default(),
        what: facts.what().unwrap_or_default(),
        source_ip: facts.source_ip.unwrap_or_default(),
        event_id: facts.event_id.unwrap_or_default(),
        file: file.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_is_the_actor_of_the_facts() {
        let who = |identity: &str| {
            let record = format!(r#"{{"userIdentity": {identity}}}"#);
            EventSummary::of_record(record.as_bytes(), "", "").who
        };
        assert_eq!(
            who(r#"{"arn": "arn:aws:iam::1:root", "userName": "u", "principalId": "p"}"#),
            "arn:aws:iam::1:root"
        );
        assert_eq!(who(r#"{"type": "Root", "principalId": "1"}"#), "root");
        assert_eq!(who("null"), "");
    }

    #[test]
    fn envelopes_take_account_and_region_from_the_record_first() {
        let envelope = br#"{"account": "1", "region": "r", "detail": {"eventSource": "s",
            "eventName": "n", "recipientAccountId": "2", "awsRegion": "q", "eventID": "e"}}"#;
        let summary = EventSummary::of_envelope(envelope, "t", "f");
        assert_eq!(
            summary,
            EventSummary {
                time: "t".into(),
                account: "2".into(),
                region: "q".into(),
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
        let summary = EventSummary::of_record(b"[1, 2]", "t", "f");
        assert_eq!(summary.event_id, "");
        assert_eq!(summary.file, "f");
    }
}
