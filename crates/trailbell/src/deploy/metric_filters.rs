//! The metric-filter form of the set-up, which Security Hub's CloudWatch.1-14 controls check for:
//! for each rule with a filter pattern, an `AWS::Logs::MetricFilter` on the trail's log group and
//! an `AWS::CloudWatch::Alarm` that notifies an SNS topic when the metric counts one event.

use serde_json::{Map, Value, json};

use crate::rules::RulePack;

/// The namespace of the metrics the filters publish.
pub const METRIC_NAMESPACE: &str = "trailbell";

/// The CloudFormation template (JSON) for every rule of `pack` that has a filter pattern; `None`
/// when no rule has one.
///
/// ```
/// let template = trailbell::deploy::metric_filters::template(
///     &trailbell::rules::RulePack::builtin(),
///     "cloudtrail-logs",
///     "arn:aws:sns:us-east-1:123456789012:alerts",
/// ).expect("the CIS rules have filter patterns");
/// let filter = &template["Resources"]["RootAccountUsedMetricFilter"]["Properties"];
/// assert_eq!(filter["LogGroupName"], "cloudtrail-logs");
/// ```
pub fn template(pack: &RulePack, log_group: &str, topic_arn: &str) -> Option<Value> {
    let mut resources = Map::new();
    for rule in pack.rules() {
        let Some(filter) = &rule.filter_pattern else {
            continue;
        };
        let id = logical(&rule.name);
        let metric = format!("{id}EventCount");
        resources.insert(
            format!("{id}MetricFilter"),
            json!({
                "Type": "AWS::Logs::MetricFilter",
                "Properties": {
                    "FilterName": format!("trailbell-{}", rule.name),
                    "LogGroupName": log_group,
                    "FilterPattern": filter,
                    "MetricTransformations": [{
                        "MetricName": metric,
                        "MetricNamespace": METRIC_NAMESPACE,
                        "MetricValue": "1",
                    }],
                },
            }),
        );
        let cis = if rule.cis.is_empty() {
            String::new()
        } else {
            format!(" (CIS {})", rule.cis.join(", "))
        };
        resources.insert(
            format!("{id}Alarm"),
            json!({
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": format!("trailbell-{}", rule.name),
                    "AlarmDescription": truncate(&format!("{}{cis}", rule.title), 1024),
                    "Namespace": METRIC_NAMESPACE,
                    "MetricName": metric,
                    "Statistic": "Sum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [topic_arn],
                },
            }),
        );
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "trailbell: CloudWatch Logs metric filters and alarms for the rules with a filter pattern (Security Hub CloudWatch.1-14)",
        "Resources": resources,
    }))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// `root-account-used` -> `RootAccountUsed`: CloudFormation logical ids are alphanumeric.
pub(crate) fn logical(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}
