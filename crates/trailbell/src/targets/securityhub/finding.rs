//! An alert as an ASFF finding (decision 0052). Made when the alert is accepted, from the rule
//! and the event's [`Facts`], and kept in the outbox as JSON, so a retry sends the same finding.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::AlertContext;
use crate::cloudtrail::Facts;
use crate::rules::Severity;

/// The account a finding names when the event names none.
const UNKNOWN_ACCOUNT: &str = "000000000000";

/// The ASFF fields trailbell sets, in ASFF's own names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    /// `trailbell/<rule>/<event id>`: one finding per rule and event, so a repeat of the same
    /// alert updates it.
    pub id: String,
    /// The rule's name.
    pub generator_id: String,
    /// The event's account.
    pub aws_account_id: String,
    /// The event's region.
    pub region: String,
    /// `Unusual Behaviors/User/<rule>`.
    pub types: Vec<String>,
    /// When the event happened.
    pub created_at: String,
    /// When trailbell accepted the event: later for a repeat, so Security Hub takes the update.
    pub updated_at: String,
    /// When the event happened.
    pub first_observed_at: String,
    /// `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub severity_label: String,
    /// The rule's title.
    pub title: String,
    /// The rule's description, else its title (ASFF requires one).
    pub description: String,
    /// What the event was about.
    pub resources: Vec<FindingResource>,
    /// Who did what, from where: the facts every target shows.
    pub product_fields: std::collections::BTreeMap<String, String>,
}

/// One ASFF `Resource`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingResource {
    /// `AwsAccount`, or `Other` for an ARN.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The ARN, or `AWS::::Account:<account>`.
    pub id: String,
}

/// ASFF's severity label for a trailbell severity.
pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// The finding for `event` (an EventBridge envelope) raised by the rule in `context`.
pub fn finding(event: &Value, context: &AlertContext) -> Finding {
    let facts = Facts::of_envelope(event);
    let account = facts
        .account
        .clone()
        .unwrap_or_else(|| UNKNOWN_ACCOUNT.to_owned());
    let event_id = facts
        .event_id
        .clone()
        .or_else(|| event.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let event_time = facts
        .event_time
        .clone()
        .unwrap_or_else(|| context.ingestion_time.clone());
    let mut product_fields = std::collections::BTreeMap::new();
    for (key, value) in [
        ("trailbell/actor", &facts.actor),
        ("trailbell/action", &facts.what()),
        ("trailbell/source_ip", &facts.source_ip),
        ("trailbell/event_id", &facts.event_id),
    ] {
        if let Some(value) = value {
            product_fields.insert(key.to_owned(), value.clone());
        }
    }
    Finding {
        id: format!("trailbell/{}/{event_id}", context.rule_name),
        generator_id: context.rule_name.clone(),
        region: facts
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_owned()),
        types: vec![format!("Unusual Behaviors/User/{}", context.rule_name)],
        created_at: event_time.clone(),
        updated_at: context.ingestion_time.clone(),
        first_observed_at: event_time,
        severity_label: severity_label(context.severity).to_owned(),
        title: context.title.clone(),
        description: if context.description.is_empty() {
            context.title.clone()
        } else {
            context.description.clone()
        },
        resources: resources(event, &account),
        aws_account_id: account,
        product_fields,
    }
}

/// The event's resources: the envelope's `resources` ARNs, else the CloudTrail record's
/// `resources[].ARN`, else the account itself (ASFF requires at least one).
fn resources(event: &Value, account: &str) -> Vec<FindingResource> {
    let arns = |list: Option<&Value>, key: Option<&str>| -> Vec<String> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| match key {
                Some(key) => item.get(key).and_then(Value::as_str),
                None => item.as_str(),
            })
            .map(str::to_owned)
            .collect()
    };
    let mut found = arns(event.get("resources"), None);
    if found.is_empty() {
        found = arns(event.pointer("/detail/resources"), Some("ARN"));
    }
    if found.is_empty() {
        return vec![FindingResource {
            kind: "AwsAccount".to_owned(),
            id: format!("AWS::::Account:{account}"),
        }];
    }
    // ASFF takes at most 32 resources.
    found.truncate(32);
    found
        .into_iter()
        .map(|id| FindingResource {
            kind: "Other".to_owned(),
            id,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> AlertContext {
        AlertContext {
            rule_name: "root-sign-in".into(),
            rule_arn: "arn:aws:events:us-east-1:000000000000:rule/root-sign-in".into(),
            title: "Root signed in".into(),
            severity: Severity::High,
            description: String::new(),
            ingestion_time: "2026-11-27T08:00:00.000Z".into(),
            occurrences: None,
        }
    }

    #[test]
    fn maps_the_event_and_falls_back_to_the_account() {
        let event = serde_json::json!({"id": "x", "account": "111122223333", "region": "eu-west-1",
            "time": "2026-11-02T08:15:00Z", "resources": [],
            "detail": {"eventID": "e-1", "eventName": "ConsoleLogin"}});
        let finding = finding(&event, &context());
        assert_eq!(finding.id, "trailbell/root-sign-in/e-1");
        assert_eq!(finding.aws_account_id, "111122223333");
        assert_eq!(finding.region, "eu-west-1");
        assert_eq!(finding.severity_label, "HIGH");
        assert_eq!(finding.created_at, "2026-11-02T08:15:00Z");
        assert_eq!(finding.description, "Root signed in");
        assert_eq!(
            finding.resources,
            vec![FindingResource {
                kind: "AwsAccount".into(),
                id: "AWS::::Account:111122223333".into()
            }]
        );
    }

    #[test]
    fn takes_the_record_resources() {
        let event = serde_json::json!({"detail": {"resources": [
            {"ARN": "arn:aws:s3:::bucket", "type": "AWS::S3::Bucket"}]}});
        let finding = finding(&event, &context());
        assert_eq!(finding.resources[0].id, "arn:aws:s3:::bucket");
        assert_eq!(finding.resources[0].kind, "Other");
    }
}
