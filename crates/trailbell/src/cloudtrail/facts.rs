//! The facts about a CloudTrail event that every alert shows, read one way for every reader:
//! `trailbell scan`'s report, the terminal line, Slack cards, Chatbot notifications. Before this
//! module each computed "who did it" on its own, with different precedence, and the service's
//! readers took the account, region and time from the envelope, which for events put through
//! `PutEvents` are the service's own account (`000000000000`) and the time of ingestion.
//!
//! The precedence: the CloudTrail record's own fields first (`recipientAccountId`, `awsRegion`,
//! `eventTime`), the envelope's only where the record has none (events that are not CloudTrail
//! records). Values are as the event has them, untrusted: escape them for where they go.
//!
//! ```
//! use trailbell::cloudtrail::Facts;
//!
//! let envelope = serde_json::json!({"account": "000000000000", "region": "eu-west-1",
//!     "time": "2026-12-05T10:00:00Z", "detail": {"eventTime": "2026-11-02T08:15:00Z",
//!     "recipientAccountId": "111122223333", "awsRegion": "us-east-1",
//!     "userIdentity": {"type": "IAMUser", "userName": "alice", "principalId": "AIDA1"}}});
//! let facts = Facts::of_envelope(&envelope);
//! assert_eq!(facts.actor.as_deref(), Some("alice"));
//! assert_eq!(facts.account.as_deref(), Some("111122223333"));
//! assert_eq!(facts.region.as_deref(), Some("us-east-1"));
//! assert_eq!(facts.event_time.as_deref(), Some("2026-11-02T08:15:00Z"));
//! ```

use serde_json::Value;

use super::normalize_time;

/// What `userName` says when AWS hid the name of a user that failed to sign in.
const HIDDEN_USER_NAME: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// The facts; `None` for what the event lacks, or has as something other than a string.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Facts {
    /// Who did it; see [`actor`].
    pub actor: Option<String>,
    /// `userIdentity.type`: `Root`, `IAMUser`, `AssumedRole`, `AWSService`, ...
    pub principal_type: Option<String>,
    /// `eventName`.
    pub action: Option<String>,
    /// `eventSource`, the service called.
    pub service: Option<String>,
    /// `recipientAccountId`, else the envelope's `account`.
    pub account: Option<String>,
    /// `awsRegion`, else the envelope's `region`.
    pub region: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `eventTime`, else the envelope's `time`; normalized (`2026-11-02T08:15:00Z`) when it
    /// reads as a time, else as it is.
    pub event_time: Option<String>,
    /// `eventID`.
    pub event_id: Option<String>,
}

impl Facts {
    /// The facts of a CloudTrail record.
    pub fn of_record(record: &Value) -> Facts {
        let field = |key: &str| text(record.get(key));
        Facts {
            actor: actor(record),
            principal_type: record
                .get("userIdentity")
                .and_then(|identity| text(identity.get("type"))),
            action: field("eventName"),
            service: field("eventSource"),
            account: field("recipientAccountId"),
            region: field("awsRegion"),
            source_ip: field("sourceIPAddress"),
            event_time: field("eventTime").map(normalized),
            event_id: field("eventID"),
        }
    }

    /// The facts of an EventBridge event: its `detail`'s, the envelope's `account`, `region` and
    /// `time` where the detail has none.
    pub fn of_envelope(envelope: &Value) -> Facts {
        let detail = envelope.get("detail").unwrap_or(&Value::Null);
        let mut facts = Facts::of_record(detail);
        facts.account = facts.account.or_else(|| text(envelope.get("account")));
        facts.region = facts.region.or_else(|| text(envelope.get("region")));
        facts.event_time = facts
            .event_time
            .or_else(|| text(envelope.get("time")).map(normalized));
        facts
    }

    /// `eventSource:eventName`, or whichever of the two there is.
    pub fn what(&self) -> Option<String> {
        match (&self.service, &self.action) {
            (Some(service), Some(action)) => Some(format!("{service}:{action}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// Who did what a CloudTrail record records, most specific first: `userIdentity.arn`; its
/// `userName` (a name AWS hid, on failed sign-ins, says so); for the root user without an ARN,
/// `root of <accountId>`; `principalId`; the service that acted (`invokedBy`, of the identity or
/// of the record); the Identity Center user id (`onBehalfOf.userId`, after the `type`); last,
/// the identity's `type` alone. Empty strings count as absent.
pub fn actor(record: &Value) -> Option<String> {
    let identity = record.get("userIdentity").unwrap_or(&Value::Null);
    let get = |key: &str| text(identity.get(key));
    if get("userName").as_deref() == Some(HIDDEN_USER_NAME) && get("arn").is_none() {
        return Some("unknown user (name hidden by AWS)".to_owned());
    }
    get("arn")
        .or_else(|| get("userName"))
        .or_else(|| {
            (get("type").as_deref() == Some("Root")).then(|| match get("accountId") {
                Some(account) => format!("root of {account}"),
                None => "root".to_owned(),
            })
        })
        .or_else(|| get("principalId"))
        .or_else(|| get("invokedBy"))
        .or_else(|| text(record.get("invokedBy")))
        .or_else(|| {
            // IAM Identity Center users sign in with no name but the directory's user id.
            let user = text(identity.get("onBehalfOf").and_then(|on| on.get("userId")))?;
            Some(match get("type") {
                Some(kind) => format!("{kind} {user}"),
                None => user,
            })
        })
        .or_else(|| get("type"))
}

/// A non-empty string, else `None`.
fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn normalized(time: String) -> String {
    match normalize_time(&time) {
        Some(std::borrow::Cow::Owned(normal)) => normal,
        _ => time,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn who(identity: Value) -> Option<String> {
        actor(&json!({ "userIdentity": identity }))
    }

    #[test]
    fn the_actor_is_the_most_specific_name_there_is() {
        assert_eq!(
            who(json!({"arn": "arn:aws:iam::1:user/u", "userName": "u", "principalId": "p"}))
                .as_deref(),
            Some("arn:aws:iam::1:user/u")
        );
        assert_eq!(
            who(json!({"userName": "u", "principalId": "p"})).as_deref(),
            Some("u")
        );
        assert_eq!(
            who(json!({"type": "IAMUser", "userName": HIDDEN_USER_NAME, "principalId": "p"}))
                .as_deref(),
            Some("unknown user (name hidden by AWS)")
        );
        assert_eq!(
            who(json!({"type": "Root", "accountId": "111122223333", "principalId": "p"}))
                .as_deref(),
            Some("root of 111122223333")
        );
        assert_eq!(
            who(json!({"arn": "", "principalId": "p"})).as_deref(),
            Some("p")
        );
        assert_eq!(
            who(json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"})).as_deref(),
            Some("ec2.amazonaws.com")
        );
        assert_eq!(
            actor(&json!({"invokedBy": "cloudtrail.amazonaws.com"})).as_deref(),
            Some("cloudtrail.amazonaws.com")
        );
        assert_eq!(
            who(json!({"type": "IdentityCenterUser", "onBehalfOf": {"userId": "9448"}})).as_deref(),
            Some("IdentityCenterUser 9448")
        );
        assert_eq!(
            who(json!({"type": "AWSAccount"})).as_deref(),
            Some("AWSAccount")
        );
        assert_eq!(who(json!(null)), None);
        assert_eq!(who(json!({"userName": 5})), None);
    }

    #[test]
    fn the_record_wins_over_the_envelope_which_fills_in() {
        let put = json!({"account": "000000000000", "region": "us-east-1",
            "time": "2026-12-05T10:00:00Z", "detail": {"recipientAccountId": "111122223333",
            "awsRegion": "eu-west-1", "eventTime": "2026-11-02T09:15:00+01:00"}});
        let facts = Facts::of_envelope(&put);
        assert_eq!(facts.account.as_deref(), Some("111122223333"));
        assert_eq!(facts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(facts.event_time.as_deref(), Some("2026-11-02T08:15:00Z"));

        let custom = json!({"account": "1", "region": "r", "time": "yesterday",
            "detail": {"anything": true}});
        let facts = Facts::of_envelope(&custom);
        assert_eq!(facts.account.as_deref(), Some("1"));
        assert_eq!(facts.region.as_deref(), Some("r"));
        assert_eq!(facts.event_time.as_deref(), Some("yesterday"));
        assert_eq!(facts.actor, None);
    }
}
