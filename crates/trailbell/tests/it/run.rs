//! `trailbell run` end to end: the real binary as a child process, events put through its
//! EventBridge-compatible API (with the aws CLI and plain HTTP) or read by its live sources,
//! alerts delivered to recording HTTP servers on 127.0.0.1 and to moto. Nothing here sleeps to
//! synchronise: tests wait for recorded requests, output lines or queue states, with timeouts.

use crate::common;
use crate::common::recorder;
use crate::common::service;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

use recorder::{Recorder, Reply};
use serde_json::{Value, json};
use service::{ServiceProcess, api_call, entry_from_fixture, put_events, webhook_config};

const ROOT_SIGN_IN_RULE: &str = r#"
[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{"source": ["aws.signin"], "detail": {"userIdentity": {"type": ["Root"]}}}'
Targets = [
  { Id = "whole", Arn = "hook" },
  { Id = "short", Arn = "hook", InputTransformer = { InputPathsMap = { who = "$.detail.userIdentity.arn", ip = "$.detail.sourceIPAddress" }, InputTemplate = '{"text": "root <who> from <ip>", "rule": "<aws.events.rule-name>"}' } },
]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_default_prints_alerts_for_events_the_aws_cli_puts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(None, &dir.path().join("data"));
    let entry = entry_from_fixture("console-login-root-no-mfa");
    let output = Command::new("aws")
        .args([
            "events",
            "put-events",
            "--no-sign-request",
            "--region",
            "us-east-1",
        ])
        .args(["--endpoint-url", &service.url("")])
        .args(["--entries", &json!([entry]).to_string()])
        .output()
        .expect("the aws CLI runs (scripts/test puts it on PATH)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(answer["FailedEntryCount"], 0);

    let line = service.stdout_line_with("root-console-sign-in");
    assert!(line.starts_with("HIGH root-console-sign-in: "), "{line}");
    assert!(line.contains("arn:aws:iam::111122223333:root"), "{line}");

    let health = reqwest::get(service.url("/health"))
        .await
        .expect("/health answers");
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(service.url("/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("trailbell_events_in_total 1\n"),
        "{metrics}"
    );
    assert_eq!(service.terminate(), 0, "SIGTERM stops the service cleanly");
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_reach_a_webhook_as_the_event_and_through_an_input_transformer() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = webhook_config(&hook.url("/hook"), ROOT_SIGN_IN_RULE);
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));

    let answer = put_events(
        &service.address,
        json!([
            entry_from_fixture("console-login-iam-mfa"),
            entry_from_fixture("console-login-root-no-mfa")
        ]),
    )
    .await;
    assert_eq!(answer["FailedEntryCount"], 0);
    let event_id = answer["Entries"][1]["EventId"]
        .as_str()
        .expect("an id")
        .to_owned();

    let requests = hook.wait_for(2).await;
    let mut bodies: Vec<Value> = requests.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|body| body.get("text").is_some());
    assert_eq!(
        bodies[0]["id"],
        event_id.as_str(),
        "the whole envelope: {}",
        bodies[0]
    );
    assert_eq!(bodies[0]["detail"]["userIdentity"]["type"], "Root");
    assert_eq!(
        bodies[1],
        json!({"text": "root arn:aws:iam::111122223333:root from 192.0.2.10", "rule": "root-sign-in"})
    );
    let keys: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.header("idempotency-key").expect("an idempotency key"))
        .collect();
    assert_eq!(keys.len(), 2, "one key per alert and target");
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_accepted_is_lost_when_the_process_is_killed_mid_delivery() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    // The first endpoint takes every request and never answers.
    let stuck = Recorder::always(Reply::Hang);
    let service = ServiceProcess::start(
        Some(&webhook_config(&stuck.url("/"), ROOT_SIGN_IN_RULE)),
        &data,
    );
    let mut accepted = Vec::new();
    for _ in 0..10 {
        let answer = put_events(
            &service.address,
            json!([
                entry_from_fixture("console-login-root-no-mfa"),
                entry_from_fixture("console-login-root-mfa")
            ]),
        )
        .await;
        assert_eq!(answer["FailedEntryCount"], 0);
        for entry in answer["Entries"].as_array().expect("entries") {
            accepted.push(entry["EventId"].as_str().expect("an id").to_owned());
        }
    }
    // One attempt is in flight (hanging) when the process dies.
    stuck.wait_for(1).await;
    service.kill_9();

    let working = Recorder::always(Reply::ok());
    let service = ServiceProcess::start(
        Some(&webhook_config(&working.url("/"), ROOT_SIGN_IN_RULE)),
        &data,
    );
    // 20 events, two targets each.
    let requests = working.wait_for(40).await;
    let delivered: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.body.starts_with("{\"version\""))
        .map(|r| r.json()["id"].as_str().expect("an id").to_owned())
        .collect();
    let accepted: BTreeSet<String> = accepted.into_iter().collect();
    assert_eq!(
        delivered, accepted,
        "every accepted event's alert arrives after the restart"
    );
    let keys: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.header("idempotency-key").expect("a key"))
        .collect();
    assert_eq!(keys.len(), 40);
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_threshold_fires_once_for_repeated_failures_from_one_address() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = r#"
[[rules]]
Name = "failures"
EventPattern = '{"detail": {"responseElements": {"ConsoleLogin": ["Failure"]}}}'
threshold = { count = 3, within = "5m", key = "<$.detail.sourceIPAddress>" }
Targets = [{ Id = "t", Arn = "hook", InputTransformer = { InputPathsMap = { ip = "$.detail.sourceIPAddress" }, InputTemplate = '{"ip": "<ip>"}' } }]

[[rules]]
Name = "any-root-sign-in"
EventPattern = '{"detail": {"userIdentity": {"type": ["Root"]}, "responseElements": {"ConsoleLogin": ["Success"]}}}'
Targets = [{ Id = "t", Arn = "hook", Input = '{"marker": "end"}' }]
"#;
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), rules)),
        &dir.path().join("data"),
    );
    for _ in 0..5 {
        put_events(
            &service.address,
            json!([entry_from_fixture("console-login-iam-failure")]),
        )
        .await;
    }
    // A later alert on the same destination marks the end: deliveries go in order.
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    let requests = hook.wait_for(2).await;
    let bodies: Vec<Value> = requests.iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0]["ip"].is_string(),
        "the threshold's alert: {}",
        bodies[0]
    );
    assert_eq!(bodies[1], json!({"marker": "end"}));
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn exceptions_silence_and_dedup_threads_repeats_in_slack() {
    let slack = Recorder::always(Reply::status(
        200,
        r#"{"ok": true, "channel": "C1", "ts": "1700000000.000100"}"#,
    ));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = format!(
        r#"
[api]
authentication = "disabled"

[destinations.slack]
type = "slack"
token = "xoxb-test-token-do-not-log"
channel = "C1"
api_base_url = "{}"
rate_limit_per_second = 100

[[rules]]
Name = "sign-ins"
title = "Console sign-in"
EventPattern = '{{"source": ["aws.signin"], "detail": {{"responseElements": {{"ConsoleLogin": ["Success"]}}}}}}'
dedup = {{ window = "1h" }}
exceptions = [{{ name = "break-glass role", event_pattern = '{{"detail": {{"userIdentity": {{"type": ["IAMUser"]}}}}}}' }}]
Targets = [{{ Id = "slack", Arn = "slack" }}]
"#,
        slack.url("/api")
    );
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));
    // Silenced by the exception: an IAM user's sign-in.
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-iam-mfa")]),
    )
    .await;
    // Root three times: one card, then two replies in its thread.
    for _ in 0..3 {
        put_events(
            &service.address,
            json!([entry_from_fixture("console-login-root-no-mfa")]),
        )
        .await;
    }
    let requests = slack.wait_for(3).await;
    assert_eq!(requests.len(), 3, "the IAM user's sign-in was silenced");
    let bodies: Vec<Value> = requests.iter().map(|r| r.json()).collect();
    assert!(
        bodies[0].get("thread_ts").is_none(),
        "the first is a card: {}",
        bodies[0]
    );
    for reply in &bodies[1..] {
        assert_eq!(reply["thread_ts"], "1700000000.000100", "{reply}");
        assert_eq!(reply["channel"], "C1");
    }
    assert!(requests.iter().all(|r| r.path == "/api/chat.postMessage"));
    let stderr = service.stderr_text();
    assert!(
        !stderr.contains("xoxb-test-token"),
        "the token leaked into the logs"
    );
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_directory_feeds_the_rules() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let watched = dir.path().join("trail");
    let day = watched.join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27");
    std::fs::create_dir_all(&day).expect("mkdir");
    let config = format!(
        "{}\n[[sources]]\ntype = \"directory\"\npath = \"{}\"\ninterval = \"1s\"\n",
        webhook_config(&hook.url("/"), ROOT_SIGN_IN_RULE),
        watched.display()
    );
    let service = ServiceProcess::start(Some(&config), &dir.path().join("data"));
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::workspace_root().join("rules/events/console-login-root-no-mfa.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    let file = json!({"Records": [fixture["detail"]]}).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(file.as_bytes()).expect("gzip");
    // Written under a temporary name and renamed, as a sync tool does, so it is read whole.
    let part = day.join("file.part");
    std::fs::write(&part, gz.finish().expect("gzip")).expect("write");
    std::fs::rename(
        &part,
        day.join("111122223333_CloudTrail_us-east-1_20261127T0800Z_x.json.gz"),
    )
    .expect("rename");
    // And a corrupt file beside it, which is reported and skipped.
    std::fs::write(day.join("broken.json.gz"), b"\x1f\x8b\x08\x00 not gzip").expect("write");
    let requests = hook.wait_for(2).await;
    let envelope = requests
        .iter()
        .map(|r| r.json())
        .find(|body| body.get("detail").is_some())
        .expect("the envelope");
    assert_eq!(envelope["source"], "aws.signin");
    assert_eq!(envelope["account"], "111122223333");
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_notifications_on_an_sqs_queue_feed_the_rules_and_are_deleted_after() {
    let moto = common::moto_endpoint();
    let suffix = std::process::id();
    let bucket = format!("run-trail-{suffix}");
    let queue = format!("run-notifications-{suffix}");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&config);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let queue_url = sqs
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("a URL");
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_x.json.gz";
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::workspace_root().join("rules/events/console-login-root-no-mfa.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // And a second sign-in that cannot be read (issue 13): refused and named, the file goes on.
    let mut unreadable = fixture["detail"].clone();
    unreadable["eventID"] = json!("unreadable-sign-in");
    let records = format!(
        r#"{{"Records": [{}, {{"extra": 1e400, {}]}}"#,
        fixture["detail"],
        &unreadable.to_string()[1..]
    );
    gz.write_all(records.as_bytes()).expect("gzip");
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(gz.finish().expect("gzip").into())
        .send()
        .await
        .expect("put");
    let notification = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]});
    // Wrapped in SNS, as a trail's topic would deliver it.
    let wrapped = json!({"Type": "Notification", "Message": notification.to_string()});
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(wrapped.to_string())
        .send()
        .await
        .expect("send");

    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service_config = format!(
        "[service]\naws_endpoint_url = \"{moto}\"\n{}\n[[sources]]\ntype = \"sqs\"\nqueue_url = \"{queue_url}\"\n",
        webhook_config(&hook.url("/"), ROOT_SIGN_IN_RULE)
    );
    let service = ServiceProcess::start(Some(&service_config), &dir.path().join("data"));
    let requests = hook.wait_for(2).await;
    assert!(
        requests
            .iter()
            .any(|r| r.body.contains("111122223333:root"))
    );
    let refused = service.stderr_line_with("refused, it cannot be read: number out of range");
    assert!(
        refused.contains(&format!("s3://{bucket}/{key}")),
        "{refused}"
    );
    // The message is deleted once its alerts are in the outbox.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("attributes")
            .attributes
            .unwrap_or_default();
        let count = |name: aws_sdk_sqs::types::QueueAttributeName| {
            attributes
                .get(&name)
                .map_or(0, |v| v.parse::<u64>().unwrap_or(0))
        };
        if count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message was not deleted"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(service.terminate(), 0);
}

#[test]
fn validate_accepts_the_default_and_lists_every_problem_of_a_bad_file() {
    let output = common::run(&["validate"]);
    assert_eq!(common::code(&output), 0, "{}", common::stderr(&output));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[service]
listen = "0.0.0.0:9820"

[api]
authentication = "disabled"

[destinations.hook]
type = "webhok"

[destinations.slow]
type = "webhook"
endpoint = "http://127.0.0.1:9/"
max_in_flight = 0

[[rules]]
Name = "bad name"
EventPattern = '{"source": "aws.signin"}'
Targets = [{ Id = "t", Arn = "nowhere", RetryPolicy = { MaximumRetryAttempts = 200 } }]
"#,
    )
    .expect("write");
    let output = common::run(&["validate", path.to_str().expect("UTF-8")]);
    assert_eq!(common::code(&output), 1);
    let stderr = common::stderr(&output);
    for expected in [
        "destinations.hook.type: \"webhok\": expected one of",
        "destinations.slow.max_in_flight: 0: must be 1 to 64",
        "rules[0].Name: \"bad name\"",
        "rules[0].EventPattern: Event pattern is not valid",
        "rules[0].Targets[0].RetryPolicy.MaximumRetryAttempts: must be between 0 and 185",
        "rules[0].Targets[0].Arn: \"nowhere\" is neither",
        "api.authentication: authentication may be disabled only on a loopback address",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_default_posts_slack_cards_when_a_webhook_url_is_set_and_never_logs_it() {
    let slack = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let secret_url = slack.url("/services/T0001/B0001/very-secret-token");
    let service = ServiceProcess::start_with_env(
        None,
        &dir.path().join("data"),
        &[("TRAILBELL_SLACK_WEBHOOK_URL", &secret_url)],
    );
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    // The root sign-in raises four alerts (every sign-in, without MFA, root used, root sign-in),
    // one card each, one per second (Slack's rate limit, the default).
    let requests = slack.wait_for(4).await;
    let card = requests
        .iter()
        .map(|r| r.json())
        .find(|body| {
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[HIGH] Root user signed in"))
        })
        .unwrap_or_else(|| panic!("a root sign-in card among {requests:?}"));
    assert!(
        card["attachments"][0]["blocks"].is_array(),
        "Block Kit: {card}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.path == "/services/T0001/B0001/very-secret-token")
    );
    service.stdout_line_with("root-console-sign-in");
    let stderr = service.stderr_text();
    assert!(
        !stderr.contains("very-secret-token"),
        "the webhook URL leaked:\n{stderr}"
    );
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_of_an_archive_alerts_again() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), ROOT_SIGN_IN_RULE)),
        &dir.path().join("data"),
    );
    let archive = api_call(
        &service.address,
        "CreateArchive",
        json!({"ArchiveName": "everything",
               "EventSourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/default"}),
    )
    .await;
    let archive_arn = archive["ArchiveArn"].as_str().expect("an ARN").to_owned();
    let before = api_call(
        &service.address,
        "DescribeArchive",
        json!({"ArchiveName": "everything"}),
    )
    .await;
    assert_eq!(before["EventCount"], 0);
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    hook.wait_for(2).await;
    let start = api_call(
        &service.address,
        "StartReplay",
        json!({"ReplayName": "again", "EventSourceArn": archive_arn,
               "EventStartTime": 0, "EventEndTime": 4_000_000_000u64,
               "Destination": {"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/default"}}),
    )
    .await;
    assert!(start["ReplayArn"].is_string(), "{start}");
    // The replayed event raises its two alerts again, under new idempotency keys.
    let requests = hook.wait_for(4).await;
    let keys: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.header("idempotency-key").expect("a key"))
        .collect();
    assert_eq!(keys.len(), 4);
    let replayed = requests[2..]
        .iter()
        .map(|r| r.json())
        .find(|body| body.get("detail").is_some())
        .expect("the replayed envelope");
    assert_eq!(replayed["replay-name"], "again");
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dedup_sends_the_first_alert_then_a_count_when_the_window_closes() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = r#"
[[rules]]
Name = "root-sign-in"
EventPattern = '{"detail": {"userIdentity": {"type": ["Root"]}}}'
dedup = { window = "2s" }
Targets = [{ Id = "t", Arn = "hook" }]
"#;
    let service = ServiceProcess::start(
        Some(&webhook_config(&hook.url("/"), rules)),
        &dir.path().join("data"),
    );
    for _ in 0..4 {
        put_events(
            &service.address,
            json!([entry_from_fixture("console-login-root-no-mfa")]),
        )
        .await;
    }
    let requests = hook.wait_for(1).await;
    let first = requests[0].json();
    // The summary comes when the window closes, carrying the last repeat.
    let requests = hook.wait_for(2).await;
    assert_eq!(requests.len(), 2, "three repeats folded into one summary");
    let summary = requests[1].json();
    assert_ne!(
        summary["id"], first["id"],
        "the summary shows the latest repeat"
    );
    assert_ne!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );
    let metrics = reqwest::get(service.url("/metrics"))
        .await
        .expect("/metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("trailbell_held_total 3\n"), "{metrics}");
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sns_destination_in_chatbot_format_reaches_a_subscribed_queue() {
    let moto = common::moto_endpoint();
    let (sqs, topic_arn, queue_url) = common::topic_with_queue("chatbot").await;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let service_config = format!(
        r#"
[service]
aws_endpoint_url = "{moto}"

[api]
authentication = "disabled"

[destinations.chatbot]
type = "sns"
topic_arn = "{topic_arn}"
chatbot_format = true

[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{{"detail": {{"userIdentity": {{"type": ["Root"]}}}}}}'
Targets = [{{ Id = "chatbot", Arn = "chatbot" }}]
"#
    );
    let service = ServiceProcess::start(Some(&service_config), &dir.path().join("data"));
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    let body = service::first_queue_message(&sqs, &queue_url, &service).await;
    let notification: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(notification["version"], "1.0", "{notification}");
    assert_eq!(notification["source"], "custom");
    // The severity's emoji stays a Slack shortcode (issue 20: it was escaped to
    // `:largeˍorangeˍcircle:`).
    assert_eq!(
        notification["content"]["title"], ":large_orange_circle: Root signed in",
        "{notification}"
    );
    assert_eq!(service.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_json_object_per_line() {
    let hook = Recorder::always(Reply::status(500, "down"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start_with(
        Some(&webhook_config(
            &hook.url("/secret-path-token"),
            ROOT_SIGN_IN_RULE,
        )),
        &dir.path().join("data"),
        &[],
        &["--log-format", "json"],
    );
    put_events(
        &service.address,
        json!([entry_from_fixture("console-login-root-no-mfa")]),
    )
    .await;
    // Two targets, each failing at least once: the failures are logged.
    hook.wait_for(2).await;
    service.stderr_line_with("Delivery failed");
    let stderr = service.stderr_text();
    for line in stderr.lines() {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    assert!(stderr.contains("\"destination\":\"hook\""), "{stderr}");
    assert!(
        !stderr.contains("secret-path-token"),
        "the endpoint leaked: {stderr}"
    );
    assert_eq!(service.terminate(), 0);
}
