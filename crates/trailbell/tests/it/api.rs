//! The EventBridge-compatible API, driven by the aws CLI and the AWS SDK for Rust against an
//! in-process server that verifies SigV4 with the test keys.

use crate::common::api_server;

use std::time::Duration;

use api_server::TestServer;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{
    PutEventsRequestEntry, ReplayDestination, ReplayState, RetryPolicy, RuleState, Target,
};
use serde_json::{Value, json};
use trailbell::api::{ApiAuth, ServeError, serve};
use trailbell::model::{RuleExtras, RuleFields, RuleSpec};
use trailbell::registry::{Registry, StoredRule};
use trailbell::rules::Severity;
use trailbell::targets::{TargetFields, TargetSpec};

const PATTERN: &str = r#"{"source":["my.app"],"detail":{"kind":["login"]}}"#;

fn entry(source: &str, detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .source(source)
        .detail_type("Thing Happened")
        .detail(detail)
        .build()
}

/// The code and message of an SDK error.
fn code_of<E: aws_sdk_eventbridge::error::ProvideErrorMetadata>(err: &E) -> (String, String) {
    (
        err.code().unwrap_or("<none>").to_owned(),
        err.message().unwrap_or("<none>").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_manages_a_rule_and_its_targets_end_to_end() {
    let server = TestServer::start().await;
    let put = server
        .cli(&[
            "put-rule",
            "--name",
            "logins",
            "--event-pattern",
            PATTERN,
            "--description",
            "d",
        ])
        .await
        .ok();
    assert_eq!(
        put["RuleArn"],
        "arn:aws:events:us-east-1:123456789012:rule/logins"
    );
    server
        .cli(&["put-rule", "--name", "other", "--event-pattern", PATTERN])
        .await
        .ok();

    let described = server
        .cli(&["describe-rule", "--name", "logins"])
        .await
        .ok();
    assert_eq!(described["Name"], "logins");
    assert_eq!(described["EventPattern"], PATTERN);
    assert_eq!(described["State"], "ENABLED");
    assert_eq!(described["Description"], "d");
    assert_eq!(described["EventBusName"], "default");

    let listed = server
        .cli(&["list-rules", "--name-prefix", "log"])
        .await
        .ok();
    let names: Vec<&str> = listed["Rules"]
        .as_array()
        .expect("Rules")
        .iter()
        .filter_map(|rule| rule["Name"].as_str())
        .collect();
    assert_eq!(names, ["logins"]);

    let targets = json!([{"Id": "slack", "Arn": "arn:aws:sns:us-east-1:123456789012:alerts",
        "InputPath": "$.detail", "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}}])
    .to_string();
    let put = server
        .cli(&["put-targets", "--rule", "logins", "--targets", &targets])
        .await
        .ok();
    assert_eq!(put["FailedEntryCount"], 0);
    let listed = server
        .cli(&["list-targets-by-rule", "--rule", "logins"])
        .await
        .ok();
    assert_eq!(listed["Targets"][0]["Id"], "slack");
    assert_eq!(listed["Targets"][0]["InputPath"], "$.detail");
    assert_eq!(
        listed["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"],
        3
    );
    let by_target = server
        .cli(&[
            "list-rule-names-by-target",
            "--target-arn",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        ])
        .await
        .ok();
    assert_eq!(by_target["RuleNames"], json!(["logins"]));

    let refused = server.cli(&["delete-rule", "--name", "logins"]).await.err();
    assert!(refused.contains("ValidationException"), "{refused}");
    assert!(
        refused.contains("Rule can't be deleted since it has targets."),
        "{refused}"
    );

    server.cli(&["disable-rule", "--name", "logins"]).await.ok();
    assert_eq!(
        server
            .cli(&["describe-rule", "--name", "logins"])
            .await
            .ok()["State"],
        "DISABLED"
    );
    server.cli(&["enable-rule", "--name", "logins"]).await.ok();
    assert_eq!(
        server
            .cli(&["describe-rule", "--name", "logins"])
            .await
            .ok()["State"],
        "ENABLED"
    );

    let removed = server
        .cli(&["remove-targets", "--rule", "logins", "--ids", "slack"])
        .await
        .ok();
    assert_eq!(removed["FailedEntryCount"], 0);
    server.cli(&["delete-rule", "--name", "logins"]).await.ok();
    let missing = server
        .cli(&["describe-rule", "--name", "logins"])
        .await
        .err();
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
    assert!(
        missing.contains("Rule logins does not exist on EventBus default."),
        "{missing}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_put_events_hands_eventbridge_envelopes_to_the_service() {
    let mut server = TestServer::start().await;
    let entries = json!([
        {"Source": "my.app", "DetailType": "Login", "Detail": "{\"kind\": \"login\", \"n\": 1.50}",
         "Resources": ["arn:aws:iam::123456789012:user/alice"], "Time": "2024-05-01T10:20:30Z"},
        {"Source": "my.app", "DetailType": "Logout", "Detail": "{\"kind\":\"logout\"}"}
    ])
    .to_string();
    let answer = server
        .cli(&["put-events", "--entries", &entries])
        .await
        .ok();
    assert_eq!(answer["FailedEntryCount"], 0);
    let seen = server.received();
    assert_eq!(seen.len(), 1, "one submission for one bus");
    assert_eq!(seen[0].bus, "default");
    assert_eq!(seen[0].events.len(), 2);
    for (i, event) in seen[0].events.iter().enumerate() {
        assert_eq!(answer["Entries"][i]["EventId"], event.id.as_str());
    }
    let first = &seen[0].events[0];
    assert!(
        first.envelope.starts_with(r#"{"version":"0","id":""#),
        "{}",
        first.envelope
    );
    assert!(
        first
            .envelope
            .ends_with(r#""detail":{"kind": "login", "n": 1.50}}"#),
        "detail kept byte for byte: {}",
        first.envelope
    );
    let envelope: Value = serde_json::from_str(&first.envelope).expect("JSON");
    assert_eq!(envelope["detail-type"], "Login");
    assert_eq!(envelope["source"], "my.app");
    assert_eq!(envelope["account"], "123456789012");
    assert_eq!(envelope["region"], "us-east-1");
    assert_eq!(envelope["time"], "2024-05-01T10:20:30Z");
    assert_eq!(
        envelope["resources"],
        json!(["arn:aws:iam::123456789012:user/alice"])
    );
    let id = envelope["id"].as_str().expect("an id");
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "a version 4 UUID: {id}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_event_pattern_answers_with_the_engine() {
    let server = TestServer::start().await;
    let event = json!({"id": "1", "source": "my.app", "detail-type": "x", "account": "1",
        "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"kind": "login"}})
    .to_string();
    let yes = server
        .cli(&[
            "test-event-pattern",
            "--event-pattern",
            PATTERN,
            "--event",
            &event,
        ])
        .await
        .ok();
    assert_eq!(yes["Result"], true);
    let no = server
        .cli(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"source":[{"prefix":"aws."}]}"#,
            "--event",
            &event,
        ])
        .await
        .ok();
    assert_eq!(no["Result"], false);
    let err = server
        .sdk()
        .test_event_pattern()
        .event_pattern(r#"{"source": [{"prefix": 5}]}"#)
        .event(&event)
        .send()
        .await
        .expect_err("an invalid pattern");
    let (code, message) = code_of(&err);
    assert_eq!(code, "InvalidEventPatternException");
    assert!(
        message.starts_with("Event pattern is not valid. Reason: "),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_manages_event_buses_and_rules_on_them() {
    let server = TestServer::start().await;
    let client = server.sdk();
    let created = client
        .create_event_bus()
        .name("security")
        .description("alerts")
        .send()
        .await
        .expect("create");
    assert_eq!(
        created.event_bus_arn(),
        Some("arn:aws:events:us-east-1:123456789012:event-bus/security")
    );
    let again = client
        .create_event_bus()
        .name("security")
        .send()
        .await
        .expect_err("exists");
    assert_eq!(code_of(&again).0, "ResourceAlreadyExistsException");

    let described = client
        .describe_event_bus()
        .name("security")
        .send()
        .await
        .expect("describe");
    assert_eq!(described.description(), Some("alerts"));
    assert!(described.creation_time().is_some());
    let default = client
        .describe_event_bus()
        .send()
        .await
        .expect("the default bus");
    assert_eq!(default.name(), Some("default"));

    let listed = client.list_event_buses().send().await.expect("list");
    let names: Vec<&str> = listed
        .event_buses()
        .iter()
        .filter_map(|bus| bus.name())
        .collect();
    assert_eq!(names, ["default", "security"]);

    let rule = client
        .put_rule()
        .name("root-login")
        .event_bus_name("arn:aws:events:us-east-1:123456789012:event-bus/security")
        .event_pattern(PATTERN)
        .send()
        .await
        .expect("put-rule by bus ARN");
    assert_eq!(
        rule.rule_arn(),
        Some("arn:aws:events:us-east-1:123456789012:rule/security/root-login")
    );
    let busy = client
        .delete_event_bus()
        .name("security")
        .send()
        .await
        .expect_err("has rules");
    assert_eq!(code_of(&busy).0, "ValidationException");
    client
        .delete_rule()
        .name("root-login")
        .event_bus_name("security")
        .send()
        .await
        .expect("delete rule");
    client
        .delete_event_bus()
        .name("security")
        .send()
        .await
        .expect("delete bus");
    let gone = client
        .describe_event_bus()
        .name("security")
        .send()
        .await
        .expect_err("gone");
    let (code, message) = code_of(&gone);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Event bus security does not exist.");
    let on_missing = client
        .put_rule()
        .name("r")
        .event_bus_name("nowhere")
        .event_pattern(PATTERN)
        .send()
        .await
        .expect_err("no such bus");
    assert_eq!(code_of(&on_missing).0, "ResourceNotFoundException");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn put_events_enforces_aws_limits_and_reports_per_entry_errors() {
    let mut server = TestServer::start().await;
    let client = server.sdk();

    let eleven: Vec<_> = (0..11).map(|_| entry("my.app", "{}")).collect();
    let err = client
        .put_events()
        .set_entries(Some(eleven))
        .send()
        .await
        .expect_err("11 entries");
    let (code, message) = code_of(&err);
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("Member must have length less than or equal to 10"),
        "{message}"
    );

    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(130 * 1024));
    let err = client
        .put_events()
        .entries(entry("my.app", &big))
        .entries(entry("my.app", &big))
        .send()
        .await
        .expect_err("over 256 KB");
    assert_eq!(code_of(&err).0, "ValidationException");
    // Just under the limit is accepted: 256 KiB minus the source, detail type and braces.
    let fits = format!("{{\"a\":\"{}\"}}", "x".repeat(256 * 1024 - 8 - 14 - 6 - 8));
    let answer = client
        .put_events()
        .entries(entry("my.app", &fits))
        .send()
        .await
        .expect("fits");
    assert_eq!(answer.failed_entry_count(), 0);
    assert_eq!(server.next_submission().await.events.len(), 1);

    client
        .create_event_bus()
        .name("audit")
        .send()
        .await
        .expect("a second bus");
    let answer = client
        .put_events()
        .entries(entry("my.app", r#"{"ok":1}"#))
        .entries(entry("my.app", "not json"))
        .entries(entry("my.app", "[1,2]"))
        .entries(
            PutEventsRequestEntry::builder()
                .detail_type("x")
                .detail("{}")
                .build(),
        )
        .entries(entry("my.app", r#"{"ok":2}"#).to_builder_with_bus("audit"))
        .entries(entry("my.app", r#"{"ok":3}"#).to_builder_with_bus("missing"))
        .send()
        .await
        .expect("mixed entries");
    assert_eq!(answer.failed_entry_count(), 4);
    let entries = answer.entries();
    assert!(entries[0].event_id().is_some());
    assert_eq!(entries[1].error_code(), Some("MalformedDetail"));
    assert_eq!(entries[1].error_message(), Some("Detail is malformed."));
    assert_eq!(entries[2].error_code(), Some("MalformedDetail"));
    assert_eq!(entries[3].error_code(), Some("InvalidArgument"));
    assert_eq!(
        entries[3].error_message(),
        Some("Parameter Source is not valid. Reason: Source is a required argument.")
    );
    assert!(entries[4].event_id().is_some());
    assert_eq!(entries[5].error_code(), Some("ResourceNotFoundException"));
    let mut seen = server.received();
    seen.sort_by(|a, b| a.bus.cmp(&b.bus));
    assert_eq!(seen.len(), 2, "one submission per bus: {seen:?}");
    assert_eq!(seen[0].bus, "audit");
    assert_eq!(
        seen[0].events[0].id,
        entries[4].event_id().unwrap_or_default()
    );
    assert_eq!(seen[1].bus, "default");
    assert_eq!(
        seen[1].events[0].id,
        entries[0].event_id().unwrap_or_default()
    );
    server.stop().await;
}

trait WithBus {
    fn to_builder_with_bus(self, bus: &str) -> PutEventsRequestEntry;
}

impl WithBus for PutEventsRequestEntry {
    fn to_builder_with_bus(self, bus: &str) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .set_source(self.source().map(str::to_owned))
            .set_detail_type(self.detail_type().map(str::to_owned))
            .set_detail(self.detail().map(str::to_owned))
            .event_bus_name(bus)
            .build()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn put_events_reports_internal_failure_when_the_service_refuses() {
    let server = TestServer::start().await;
    server.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let answer = server
        .sdk()
        .put_events()
        .entries(entry("my.app", "{}"))
        .entries(entry("", "{}"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.failed_entry_count(), 2);
    assert_eq!(answer.entries()[0].error_code(), Some("InternalFailure"));
    assert_eq!(answer.entries()[0].event_id(), None);
    assert_eq!(answer.entries()[1].error_code(), Some("InvalidArgument"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn put_events_fails_each_entry_when_the_service_is_gone() {
    let dir = tempfile::tempdir().expect("dir");
    let registry =
        Registry::open(&dir.path().join("db"), "123456789012", "us-east-1").expect("open");
    let (submissions, closed) = tokio::sync::mpsc::channel(1);
    drop(closed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let state = trailbell::api::ApiState::new(registry, submissions, ApiAuth::Disabled);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-amz-target", "AWSEvents.PutEvents")
        .header("content-type", "application/x-amz-json-1.1")
        .body(r#"{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}"#)
        .send()
        .await
        .expect("a response");
    assert_eq!(
        response.status(),
        200,
        "auth disabled on loopback needs no signature"
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["FailedEntryCount"], 1);
    assert_eq!(body["Entries"][0]["ErrorCode"], "InternalFailure");
    let _ = stop.send(());
    served.await.expect("task").expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_disabled_is_refused_off_loopback() {
    let dir = tempfile::tempdir().expect("dir");
    let registry =
        Registry::open(&dir.path().join("db"), "123456789012", "us-east-1").expect("open");
    let (submissions, _rx) = tokio::sync::mpsc::channel(1);
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("port");
    let state = trailbell::api::ApiState::new(registry, submissions, ApiAuth::Disabled);
    let err = serve(listener, state, std::future::pending())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ServeError::AuthDisabledOffLoopback(_)),
        "{err}"
    );
    assert!(err.to_string().contains("without authentication"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_paged_and_validated_like_eventbridge() {
    let server = TestServer::start().await;
    let client = server.sdk();
    for name in ["r1", "r2", "r3", "r4", "r5"] {
        client
            .put_rule()
            .name(name)
            .event_pattern(PATTERN)
            .send()
            .await
            .expect("put");
    }
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_rules()
            .limit(2)
            .set_next_token(token)
            .send()
            .await
            .expect("a page");
        pages += 1;
        names.extend(
            page.rules()
                .iter()
                .filter_map(|rule| rule.name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["r1", "r2", "r3", "r4", "r5"]);
    assert_eq!(pages, 3);

    let updated = client
        .put_rule()
        .name("r1")
        .event_pattern(r#"{"source":["other"]}"#)
        .state(RuleState::Disabled)
        .send()
        .await
        .expect("update");
    assert!(updated.rule_arn().is_some());
    let r1 = client
        .describe_rule()
        .name("r1")
        .send()
        .await
        .expect("describe");
    assert_eq!(r1.state(), Some(&RuleState::Disabled));
    assert_eq!(r1.event_pattern(), Some(r#"{"source":["other"]}"#));

    let bad = client
        .put_rule()
        .name("r1")
        .event_pattern(r#"{"source":"x"}"#)
        .send()
        .await;
    let (code, message) = code_of(&bad.expect_err("invalid pattern"));
    assert_eq!(code, "InvalidEventPatternException");
    assert!(
        message.starts_with("Event pattern is not valid. Reason: "),
        "{message}"
    );
    let bad = client
        .put_rule()
        .name("bad name")
        .event_pattern(PATTERN)
        .send()
        .await;
    let (code, message) = code_of(&bad.expect_err("invalid name"));
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("at 'name' failed to satisfy constraint"),
        "{message}"
    );
    let bad = client
        .put_rule()
        .name("cron")
        .schedule_expression("rate(5 minutes)")
        .send()
        .await;
    let (code, message) = code_of(&bad.expect_err("schedules"));
    assert_eq!(code, "ValidationException");
    assert!(message.contains("ScheduleExpression"), "{message}");
    let bad = client.put_rule().name("nothing").send().await;
    assert_eq!(
        code_of(&bad.expect_err("no pattern")).0,
        "ValidationException"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn put_targets_validates_entries_and_limits() {
    let server = TestServer::start().await;
    let client = server.sdk();
    client
        .put_rule()
        .name("r")
        .event_pattern(PATTERN)
        .send()
        .await
        .expect("put");
    let target = |id: &str| {
        Target::builder()
            .id(id)
            .arn(format!("arn:aws:sqs:us-east-1:1:{id}"))
            .build()
            .expect("a target")
    };

    let err = client
        .put_targets()
        .rule("r")
        .targets(
            Target::builder()
                .id("t")
                .arn("arn:x")
                .retry_policy(RetryPolicy::builder().maximum_retry_attempts(200).build())
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect_err("retry attempts out of range");
    let (code, message) = code_of(&err);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value '200' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"
    );
    let err = client
        .put_targets()
        .rule("r")
        .targets(
            Target::builder()
                .id("t")
                .arn("arn:x")
                .retry_policy(
                    RetryPolicy::builder()
                        .maximum_event_age_in_seconds(59)
                        .build(),
                )
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect_err("event age out of range");
    assert!(code_of(&err).1.contains("greater than or equal to 60"));

    let answer = client
        .put_targets()
        .rule("r")
        .targets(target("good"))
        .targets(
            Target::builder()
                .id("badjson")
                .arn("arn:x")
                .input("{nope")
                .build()
                .expect("t"),
        )
        .targets(
            Target::builder()
                .id("both")
                .arn("arn:x")
                .input("{}")
                .input_path("$.detail")
                .build()
                .expect("t"),
        )
        .send()
        .await
        .expect("per-entry failures");
    assert_eq!(answer.failed_entry_count(), 2);
    let failed: Vec<&str> = answer
        .failed_entries()
        .iter()
        .filter_map(|entry| entry.target_id())
        .collect();
    assert_eq!(failed, ["badjson", "both"]);
    let listed = client
        .list_targets_by_rule()
        .rule("r")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.targets().len(), 1);

    let err = client
        .put_targets()
        .rule("r")
        .targets(target("a"))
        .targets(target("b"))
        .targets(target("c"))
        .targets(target("d"))
        .targets(target("e"))
        .send()
        .await
        .expect_err("a sixth target");
    assert_eq!(code_of(&err).0, "LimitExceededException");
    assert_eq!(
        client
            .list_targets_by_rule()
            .rule("r")
            .send()
            .await
            .expect("list")
            .targets()
            .len(),
        1
    );

    let err = client
        .put_targets()
        .rule("missing")
        .targets(target("a"))
        .send()
        .await
        .expect_err("no rule");
    let (code, message) = code_of(&err);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Rule missing does not exist on EventBus default.");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_rules_are_replaced_by_their_manager_and_protected_from_the_api() {
    let server = TestServer::start().await;
    let client = server.sdk();
    client
        .put_rule()
        .name("mine")
        .event_pattern(PATTERN)
        .send()
        .await
        .expect("an API rule");
    let managed = |name: &str| StoredRule {
        spec: RuleSpec::new(RuleFields {
            name: name.to_owned(),
            event_bus_name: "default".to_owned(),
            event_pattern: Some(PATTERN.to_owned()),
            extras: RuleExtras {
                severity: Some(Severity::High),
                ..RuleExtras::default()
            },
            ..RuleFields::default()
        })
        .expect("a valid rule"),
        arn: String::new(),
        managed_by: None,
        targets: vec![
            TargetSpec::new(TargetFields {
                id: "stdout".to_owned(),
                arn: "stdout".to_owned(),
                ..TargetFields::default()
            })
            .expect("a valid target"),
        ],
    };
    let mut changes = server.registry.subscribe();
    let before = *changes.borrow_and_update();
    let registry = server.registry.clone();
    let (a, b) = (managed("cfg-a"), managed("cfg-b"));
    tokio::task::spawn_blocking(move || registry.replace_managed_rules("config", vec![a, b]))
        .await
        .expect("task")
        .expect("replace");
    assert!(changes.has_changed().expect("the registry lives"));
    assert!(*changes.borrow_and_update() > before);

    let described = client
        .describe_rule()
        .name("cfg-a")
        .send()
        .await
        .expect("describe");
    assert_eq!(described.managed_by(), Some("config"));
    let err = client
        .delete_rule()
        .name("cfg-a")
        .send()
        .await
        .expect_err("managed");
    assert_eq!(code_of(&err).0, "ManagedRuleException");
    let err = client
        .disable_rule()
        .name("cfg-a")
        .send()
        .await
        .expect_err("managed");
    assert_eq!(code_of(&err).0, "ManagedRuleException");
    let err = client
        .put_rule()
        .name("cfg-a")
        .event_pattern(PATTERN)
        .send()
        .await
        .expect_err("managed");
    assert_eq!(code_of(&err).0, "ManagedRuleException");
    let err = client
        .remove_targets()
        .rule("cfg-b")
        .ids("stdout")
        .send()
        .await
        .expect_err("managed");
    assert_eq!(code_of(&err).0, "ManagedRuleException");
    client
        .remove_targets()
        .rule("cfg-b")
        .ids("stdout")
        .force(true)
        .send()
        .await
        .expect("forced");
    client
        .delete_rule()
        .name("cfg-b")
        .force(true)
        .send()
        .await
        .expect("forced");

    let registry = server.registry.clone();
    let a = managed("cfg-a");
    let rules = tokio::task::spawn_blocking(move || {
        registry.replace_managed_rules("config", vec![a])?;
        registry.rules_for_bus("default")
    })
    .await
    .expect("task")
    .expect("replace again");
    let names: Vec<&str> = rules.iter().map(|rule| rule.spec.name()).collect();
    assert_eq!(names, ["cfg-a", "mine"], "the API rule is untouched");
    assert_eq!(rules[0].spec.extras().severity, Some(Severity::High));
    assert_eq!(rules[0].targets[0].id, "stdout");
    assert_eq!(rules[1].spec.extras(), &RuleExtras::default());

    let registry = server.registry.clone();
    let clash = managed("mine");
    let err =
        tokio::task::spawn_blocking(move || registry.replace_managed_rules("config", vec![clash]))
            .await
            .expect("task")
            .expect_err("an API rule is not taken over");
    assert!(err.to_string().contains("not managed by config"), "{err}");
    server.stop().await;
}

/// A signed-by-hand-free check of the error shapes: raw HTTP without a signature.
#[tokio::test(flavor = "multi_thread")]
async fn unsigned_and_badly_signed_requests_get_403() {
    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/", server.endpoint))
        .header("x-amz-target", "AWSEvents.ListRules")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), 403);
    assert_eq!(
        response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok()),
        Some("MissingAuthenticationTokenException")
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let stderr = server.cli_with("wrong-secret", &["list-rules"]).await.err();
    assert!(stderr.contains("InvalidSignatureException"), "{stderr}");
    let err = server
        .sdk_with("testing", "wrong-secret")
        .list_rules()
        .send()
        .await
        .expect_err("a wrong secret");
    assert_eq!(code_of(&err).0, "InvalidSignatureException");
    let err = server
        .sdk_with("stranger", "testing")
        .list_rules()
        .send()
        .await
        .expect_err("an unknown key");
    let (code, message) = code_of(&err);
    assert_eq!(code, "UnrecognizedClientException");
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_actions_bad_bodies_and_huge_bodies_get_aws_errors() {
    let server = TestServer::start_with(ApiAuth::Disabled).await;
    let post = |target: &str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(format!("{}/", server.endpoint))
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.1")
            .body(body)
            .send()
    };
    let response = post("AWSEvents.Frobnicate", b"{}".to_vec())
        .await
        .expect("response");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["__type"], "UnknownOperationException");

    let response = post("AWSEvents.PutRule", b"{\"Name\": 5".to_vec())
        .await
        .expect("response");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["__type"], "SerializationException");

    let response = post("AWSEvents.PutEvents", vec![b' '; 2 * 1024 * 1024])
        .await
        .expect("response");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["__type"], "RequestEntityTooLargeException");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn archives_keep_matching_events_and_replays_resubmit_them() {
    let mut server = TestServer::start().await;
    let client = server.sdk();
    let bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/default";
    let created = server
        .cli(&[
            "create-archive",
            "--archive-name",
            "logins",
            "--event-source-arn",
            bus_arn,
            "--event-pattern",
            r#"{"detail":{"kind":["login"]}}"#,
            "--retention-days",
            "7",
        ])
        .await
        .ok();
    assert_eq!(
        created["ArchiveArn"],
        "arn:aws:events:us-east-1:123456789012:archive/logins"
    );
    assert_eq!(created["State"], "ENABLED");
    let bad = client
        .create_archive()
        .archive_name("bad")
        .event_source_arn(bus_arn)
        .event_pattern("[]")
        .send()
        .await
        .expect_err("invalid pattern");
    assert_eq!(code_of(&bad).0, "InvalidEventPatternException");

    let answer = client
        .put_events()
        .entries(entry("my.app", r#"{"kind":"login","n":1}"#))
        .entries(entry("my.app", r#"{"kind":"logout"}"#))
        .entries(entry("my.app", r#"{"kind":"login","n":2}"#))
        .send()
        .await
        .expect("put-events");
    let original = server.next_submission().await;
    let login_ids: Vec<String> = [0, 2]
        .iter()
        .map(|&i| {
            answer.entries()[i]
                .event_id()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();

    let described = server
        .cli(&["describe-archive", "--archive-name", "logins"])
        .await
        .ok();
    assert_eq!(described["EventCount"], 2);
    assert_eq!(described["RetentionDays"], 7);
    let expected_size: usize = original
        .events
        .iter()
        .filter(|event| login_ids.contains(&event.id))
        .map(|event| event.envelope.len())
        .sum();
    assert_eq!(described["SizeBytes"], expected_size);
    let listed = client
        .list_archives()
        .event_source_arn(bus_arn)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.archives().len(), 1);

    let now = std::time::SystemTime::now();
    let started = client
        .start_replay()
        .replay_name("again")
        .event_source_arn("arn:aws:events:us-east-1:123456789012:archive/logins")
        .event_start_time(DateTime::from(now - Duration::from_secs(3600)))
        .event_end_time(DateTime::from(now + Duration::from_secs(3600)))
        .destination(
            ReplayDestination::builder()
                .arn(bus_arn)
                .build()
                .expect("destination"),
        )
        .send()
        .await
        .expect("start-replay");
    assert!(started.replay_arn().is_some());

    let replayed = server.next_submission().await;
    assert_eq!(replayed.bus, "default");
    let ids: Vec<&str> = replayed
        .events
        .iter()
        .map(|event| event.id.as_str())
        .collect();
    assert_eq!(ids, login_ids);
    for event in &replayed.events {
        let envelope: Value = serde_json::from_str(&event.envelope).expect("JSON");
        assert_eq!(envelope["replay-name"], "again");
        assert_eq!(envelope["detail"]["kind"], "login");
    }

    // The runner writes COMPLETED after the service's answer: poll until it shows, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let described = loop {
        let described = client
            .describe_replay()
            .replay_name("again")
            .send()
            .await
            .expect("describe");
        if described.state() == Some(&ReplayState::Completed) {
            break described;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay did not complete: {described:?}"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(described.destination().map(|d| d.arn()), Some(bus_arn));
    assert!(described.event_last_replayed_time().is_some());
    assert!(described.replay_end_time().is_some());
    let replays = server.cli(&["list-replays"]).await.ok();
    assert_eq!(replays["Replays"][0]["ReplayName"], "again");
    assert_eq!(replays["Replays"][0]["State"], "COMPLETED");
    let err = client
        .cancel_replay()
        .replay_name("again")
        .send()
        .await
        .expect_err("completed");
    assert_eq!(code_of(&err).0, "IllegalStatusException");
    let err = client
        .start_replay()
        .replay_name("again")
        .event_source_arn("arn:aws:events:us-east-1:123456789012:archive/logins")
        .event_start_time(DateTime::from(now - Duration::from_secs(3600)))
        .event_end_time(DateTime::from(now))
        .destination(
            ReplayDestination::builder()
                .arn(bus_arn)
                .build()
                .expect("destination"),
        )
        .send()
        .await
        .expect_err("a second replay of that name");
    assert_eq!(code_of(&err).0, "ResourceAlreadyExistsException");
    assert!(
        server.received().is_empty(),
        "replayed events are not archived or resent twice"
    );

    server
        .cli(&["delete-archive", "--archive-name", "logins"])
        .await
        .ok();
    let err = client
        .describe_archive()
        .archive_name("logins")
        .send()
        .await
        .expect_err("deleted");
    let (code, message) = code_of(&err);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Archive logins does not exist.");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_cancelled_before_it_runs_ends_cancelled() {
    let mut server = TestServer::start().await;
    let client = server.sdk();
    let bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/default";
    client
        .create_archive()
        .archive_name("all")
        .event_source_arn(bus_arn)
        .send()
        .await
        .expect("archive");
    client
        .put_events()
        .entries(entry("my.app", "{}"))
        .send()
        .await
        .expect("put");
    server.next_submission().await;
    // A replay cancelled before its runner starts: the runner's next state write ends it.
    let registry = server.registry.clone();
    let replay = tokio::task::spawn_blocking(move || {
        let replay = registry.create_replay("stopper", "all", None, 0, i64::MAX / 2)?;
        registry.cancel_replay(&replay.name)
    })
    .await
    .expect("task")
    .expect("created and cancelled");
    assert_eq!(replay.state, trailbell::registry::ReplayState::Cancelling);
    let registry = server.registry.clone();
    let state = tokio::task::spawn_blocking(move || {
        registry.set_replay_state("stopper", trailbell::registry::ReplayState::Completed, None)
    })
    .await
    .expect("task")
    .expect("state");
    assert_eq!(state, trailbell::registry::ReplayState::Cancelled);
    let listed = client
        .list_replays()
        .state(ReplayState::Cancelled)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.replays().len(), 1);
    server.stop().await;
}
