//! The Security Hub and EventBridge targets (issue 14, item 3) through the real binary:
//! `trailbell run` with a configuration naming them, events in through its PutEvents, and moto
//! standing in for AWS. Security Hub: the finding GetFindings shows carries the mapped fields,
//! and the same alert delivered again updates it rather than adding one. EventBridge: the alert
//! arrives, through a rule on a custom bus, in an SQS queue.

use crate::common;
use crate::common::service;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use service::{ServiceProcess, entry_from_fixture, put_events};

/// The fixture's CloudTrail event id, account, region and time.
const EVENT_ID: &str = "5a1e0000-0000-4000-8000-000000000001";
const ACCOUNT: &str = "111122223333";
const EVENT_TIME: &str = "2026-11-02T08:15:00Z";

async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(common::moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await
}

fn config(destination: &str, rule: &str) -> String {
    format!(
        r#"
[api]
authentication = "disabled"

{destination}

[[rules]]
Name = "{rule}"
title = "Root signed in"
severity = "high"
Description = "The root user signed in to the console."
EventPattern = '{{"source": ["aws.signin"]}}'
Targets = [ {{ Id = "out", Arn = "out" }} ]
"#
    )
}

/// The findings of `rule` in moto, polled until `done` holds for them.
async fn findings_until(
    hub: &aws_sdk_securityhub::Client,
    rule: &str,
    service: &ServiceProcess,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = hub.get_findings().send().await.expect("GetFindings");
        let found: Vec<Value> = output
            .findings()
            .iter()
            .filter(|finding| finding.generator_id() == Some(rule))
            .map(|finding| {
                json!({
                    "Id": finding.id(),
                    "AwsAccountId": finding.aws_account_id(),
                    "Region": finding.region(),
                    "ProductArn": finding.product_arn(),
                    "Severity": finding.severity().and_then(|s| s.label()).map(|l| l.as_str()),
                    "Title": finding.title(),
                    "Description": finding.description(),
                    "CreatedAt": finding.created_at(),
                    "UpdatedAt": finding.updated_at(),
                    "FirstObservedAt": finding.first_observed_at(),
                    "Types": finding.types(),
                    "Resources": finding.resources().iter()
                        .map(|r| json!({"Type": r.r#type(), "Id": r.id()}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        if done(&found) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "findings of {rule}: {found:?}; stderr:\n{}",
            service.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn security_hub_gets_one_asff_finding_updated_on_a_repeat() {
    let moto = common::moto_endpoint();
    let hub = aws_sdk_securityhub::Client::new(&moto_config().await);
    let rule = format!("root-sign-in-{}", std::process::id());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let destination = format!(
        "[destinations.out]\ntype = \"securityhub\"\nregion = \"us-east-1\"\nendpoint_url = \"{moto}\"\n"
    );
    let service =
        ServiceProcess::start(Some(&config(&destination, &rule)), &dir.path().join("data"));

    let entry = entry_from_fixture("console-login-root-no-mfa");
    let answer = put_events(&service.address, json!([entry])).await;
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    let first = findings_until(&hub, &rule, &service, |found| !found.is_empty()).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let finding = &first[0];
    assert_eq!(finding["Id"], format!("trailbell/{rule}/{EVENT_ID}"));
    assert_eq!(finding["AwsAccountId"], ACCOUNT);
    assert_eq!(finding["Region"], "us-east-1");
    assert_eq!(
        finding["ProductArn"],
        format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default")
    );
    assert_eq!(finding["Severity"], "HIGH");
    assert_eq!(finding["Title"], "Root signed in");
    assert_eq!(
        finding["Description"],
        "The root user signed in to the console."
    );
    assert_eq!(finding["CreatedAt"], EVENT_TIME);
    assert_eq!(finding["FirstObservedAt"], EVENT_TIME);
    assert_eq!(
        finding["Types"],
        json!([format!("Unusual Behaviors/User/{rule}")])
    );
    assert_eq!(
        finding["Resources"],
        json!([{"Type": "AwsAccount", "Id": format!("AWS::::Account:{ACCOUNT}")}])
    );

    // The same event again: the same finding, its UpdatedAt the second acceptance's.
    let answer = put_events(&service.address, json!([entry])).await;
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    let updated_before = finding["UpdatedAt"].clone();
    let again = findings_until(&hub, &rule, &service, |found| {
        found.iter().any(|f| f["UpdatedAt"] != updated_before)
    })
    .await;
    assert_eq!(
        again.len(),
        1,
        "a repeat updates, not duplicates: {again:?}"
    );
    assert_eq!(again[0]["Id"], finding["Id"]);
    service.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_puts_the_alert_on_a_custom_bus_whose_rule_feeds_a_queue() {
    let moto = common::moto_endpoint();
    let sdk = moto_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let suffix = std::process::id();
    let bus_arn = events
        .create_event_bus()
        .name(format!("automation-{suffix}"))
        .send()
        .await
        .expect("a bus")
        .event_bus_arn
        .expect("its ARN");
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("automation-{suffix}"))
        .send()
        .await
        .expect("a queue")
        .queue_url
        .expect("its URL");
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:automation-{suffix}");
    events
        .put_rule()
        .name("from-trailbell")
        .event_bus_name(&bus_arn)
        .event_pattern(r#"{"source": ["trailbell"], "detail-type": ["trailbell alert"]}"#)
        .send()
        .await
        .expect("a rule on the bus");
    events
        .put_targets()
        .rule("from-trailbell")
        .event_bus_name(&bus_arn)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("the queue as the rule's target");

    let rule = format!("root-sign-in-{suffix}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let destination = format!(
        "[destinations.out]\ntype = \"eventbridge\"\nevent_bus_arn = \"{bus_arn}\"\nendpoint_url = \"{moto}\"\n"
    );
    let service =
        ServiceProcess::start(Some(&config(&destination, &rule)), &dir.path().join("data"));
    let answer = put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");

    let body = service::first_queue_message(&sqs, &queue_url, &service).await;
    let event: Value = serde_json::from_str(&body).expect("an EventBridge event");
    assert_eq!(event["source"], "trailbell", "{event}");
    assert_eq!(event["detail-type"], "trailbell alert", "{event}");
    // The detail is the alert's payload: the matched event's envelope.
    assert_eq!(event["detail"]["detail"]["eventID"], EVENT_ID, "{event}");
    assert_eq!(event["detail"]["source"], "aws.signin", "{event}");
    service.terminate();
}

#[test]
fn validate_names_the_key_of_a_bus_arn_that_is_not_one_and_accepts_both_kinds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("trailbell.toml");
    let path = path.to_str().expect("UTF-8");
    let bad = "[destinations.out]\ntype = \"eventbridge\"\nevent_bus_arn = \"arn:aws:sns:us-east-1:111122223333:t\"\n";
    std::fs::write(path, config(bad, "r")).expect("written");
    let output = common::run(&["validate", path]);
    assert_ne!(common::code(&output), 0);
    assert!(
        common::stderr(&output).contains("destinations.out.event_bus_arn"),
        "{}",
        common::stderr(&output)
    );

    let good = "[destinations.out]\ntype = \"securityhub\"\n\n[destinations.bus]\ntype = \"eventbridge\"\nevent_bus_arn = \"arn:aws:events:us-east-1:111122223333:event-bus/automation\"\n";
    std::fs::write(path, config(good, "r")).expect("written");
    let output = common::run(&["validate", path]);
    assert_eq!(common::code(&output), 0, "{}", common::stderr(&output));
}
