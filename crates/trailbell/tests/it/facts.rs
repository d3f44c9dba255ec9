//! One set of facts (`cloudtrail::facts`): for events where `trailbell scan` and Slack used to
//! name different actors (an Identity Center user, a root sign-in without an ARN, a user whose
//! name AWS hid), the scan's report, the terminal line, the Slack card and the Chatbot
//! notification all name the same one; and alerts for events put through `PutEvents` name the
//! event's account and time, not the service's account (`000000000000`) and the time of ingestion.
//! Through the binary: `trailbell scan` on a trail file, `trailbell run` with a Slack webhook (a
//! recording server), a terminal and an SNS topic in Chatbot format (moto, read through a
//! subscribed queue).

use crate::common;
use crate::common::recorder;
use crate::common::service;

use std::collections::BTreeMap;
use std::time::Duration;

use recorder::{Recorder, Reply};
use serde_json::{Value, json};
use service::{ServiceProcess, put_events};

/// `(record, the actor every output must name)`.
fn records() -> Vec<(Value, &'static str)> {
    let root = common::workspace_root();
    let detail = |path: &str| -> Value {
        let text = std::fs::read_to_string(root.join(path)).expect("the fixture exists");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        value.get("detail").cloned().unwrap_or(value)
    };
    vec![
        (
            // Scan said `IdentityCenterUser`, Slack `unknown principal`.
            detail("rules/events/console-login-identity-center-user.json"),
            "IdentityCenterUser 94482488-3041-7026-18f3-be45837cd0e4",
        ),
        (
            // Scan said the principal id, Slack `root of 111122223333`.
            detail("rules/events/console-login-root-failure-wrong-password.json"),
            "root of 111122223333",
        ),
        (
            // Scan said `HIDDEN_DUE_TO_SECURITY_REASONS`.
            detail("testdata/cloudtrail/records/console-login-unknown-user.json"),
            "unknown user (name hidden by AWS)",
        ),
    ]
}

/// The event id of each record, mapped to the actor expected for it.
fn expected() -> BTreeMap<String, &'static str> {
    records()
        .into_iter()
        .map(|(record, actor)| {
            (
                record["eventID"].as_str().expect("an eventID").to_owned(),
                actor,
            )
        })
        .collect()
}

const EVENT_TIME: &str = "2026-11-02T08:15:00Z";
const ACCOUNT: &str = "111122223333";

#[test]
fn scan_names_the_actor_every_target_names() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let trail = dir.path().join("trail.json");
    let records: Vec<Value> = records().into_iter().map(|(record, _)| record).collect();
    std::fs::write(&trail, json!({ "Records": records }).to_string()).expect("written");
    let rules = dir.path().join("sign-ins.toml");
    std::fs::write(
        &rules,
        r#"
name = "sign-ins"
title = "Console sign-in"
severity = "medium"
description = "Every console sign-in."
event_pattern = '{"source": ["aws.signin"]}'
"#,
    )
    .expect("written");

    let output = common::run(&[
        "scan",
        "--format",
        "jsonl",
        "--rules",
        &rules.display().to_string(),
        &trail.display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let alerts: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON lines"))
        .filter(|line| line["kind"] == "alert")
        .collect();
    let found: BTreeMap<String, String> = alerts
        .iter()
        .map(|alert| {
            assert_eq!(alert["account"], ACCOUNT, "{alert}");
            (
                alert["event_id"].as_str().expect("event_id").to_owned(),
                alert["who"].as_str().expect("who").to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = expected()
        .into_iter()
        .map(|(id, actor)| (id, actor.to_owned()))
        .collect();
    assert_eq!(
        found,
        expected,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_slack_and_chatbot_name_the_same_actor_account_and_event_time() {
    let moto = common::moto_endpoint();
    let (sqs, topic_arn, queue_url) = common::topic_with_queue("facts").await;

    let slack = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = format!(
        r#"
[service]
aws_endpoint_url = "{moto}"

[api]
authentication = "disabled"

[destinations.terminal]
type = "stdout"
format = "text"

[destinations.slack]
type = "slack"
webhook_url = "{}"

[destinations.chatbot]
type = "sns"
topic_arn = "{topic_arn}"
chatbot_format = true

[[rules]]
Name = "sign-ins"
title = "Console sign-in"
EventPattern = '{{"source": ["aws.signin"]}}'
Targets = [
  {{ Id = "terminal", Arn = "terminal" }},
  {{ Id = "slack", Arn = "slack" }},
  {{ Id = "chatbot", Arn = "chatbot" }},
]
"#,
        slack.url("/slack")
    );
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));
    // PutEvents without a Time: the envelope's time is the time of ingestion, its account the
    // service's (000000000000); the record's own are 2026-11-02 and 111122223333.
    let entries: Vec<Value> = records()
        .into_iter()
        .map(|(record, _)| {
            json!({
                "Source": "aws.signin",
                "DetailType": "AWS Console Sign In via CloudTrail",
                "Detail": record.to_string(),
            })
        })
        .collect();
    let answer = put_events(&service.address, json!(entries)).await;
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    let expected = expected();

    // The lines come in any order: take them all, then look each event's up.
    let lines: Vec<String> = (0..expected.len())
        .map(|_| service.stdout_line_with("| event "))
        .collect();
    for (event_id, actor) in &expected {
        let line = lines
            .iter()
            .find(|line| line.ends_with(&format!("| event {event_id}")))
            .unwrap_or_else(|| panic!("a line for {event_id}: {lines:?}"));
        assert!(line.contains(&format!("| who {actor} |")), "{line}");
        assert!(line.contains(&format!("| account {ACCOUNT} |")), "{line}");
        assert!(line.contains(&format!("| time {EVENT_TIME} |")), "{line}");
    }

    let cards = slack.wait_for(expected.len()).await;
    for (event_id, actor) in &expected {
        let card = cards
            .iter()
            .map(|request| request.json().to_string())
            .find(|card| card.contains(event_id.as_str()))
            .unwrap_or_else(|| panic!("a card for {event_id}"));
        assert!(card.contains(&format!(r"*User*\n`{actor}`")), "{card}");
        assert!(card.contains(&format!(r"*Account*\n`{ACCOUNT}`")), "{card}");
        assert!(card.contains(&format!(r"*Time*\n`{EVENT_TIME}`")), "{card}");
    }

    let mut notifications = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while notifications.len() < expected.len() {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in received.messages.unwrap_or_default() {
            notifications.push(message.body.unwrap_or_default());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {} notifications reached the queue; stderr:\n{}",
            notifications.len(),
            expected.len(),
            service.stderr_text()
        );
    }
    for (event_id, actor) in &expected {
        let body = notifications
            .iter()
            .find(|body| body.contains(event_id.as_str()))
            .unwrap_or_else(|| panic!("a notification for {event_id}"));
        let notification: Value = serde_json::from_str(body).expect("JSON");
        let description = notification["content"]["description"]
            .as_str()
            .expect("a description");
        assert!(
            description.contains(&format!("*Who:* `{actor}`")),
            "{description}"
        );
        assert!(
            description.contains(&format!("*Account:* `{ACCOUNT}`")),
            "{description}"
        );
        assert!(
            description.contains(&format!("*Time:* `{EVENT_TIME}`")),
            "{description}"
        );
    }
    assert_eq!(service.terminate(), 0);
}
