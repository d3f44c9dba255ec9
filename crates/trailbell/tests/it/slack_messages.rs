//! Slack cards and Chatbot notifications: a snapshot for every sample event in `rules/events/`,
//! Slack's limits on hostile events, escaping, and events of the wrong shape.

use crate::common;

use serde_json::{Value, json};
use trailbell::alert::{AlertContext, OccurrenceKind, Occurrences};
use trailbell::rules::Severity;
use trailbell::targets::slack::escape;
use trailbell::targets::slack::message::{self, card, repeat_reply};
use trailbell::targets::sns::chatbot::{self, notification};

fn alert(severity: Severity, occurrences: Option<Occurrences>) -> AlertContext {
    AlertContext {
        rule_name: "sample-rule".to_owned(),
        rule_arn: "arn:aws:events:us-east-1:111122223333:rule/sample-rule".to_owned(),
        title: "Something worth a look".to_owned(),
        severity,
        description: "Check who did this and whether it was planned.".to_owned(),
        ingestion_time: "2026-11-02T08:15:01Z".to_owned(),
        occurrences,
    }
}

fn sample_events() -> Vec<(String, Value)> {
    let dir = common::workspace_root().join("rules/events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("rules/events exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("readable");
            (
                name,
                serde_json::from_str(&text).expect("sample events are JSON"),
            )
        })
        .collect()
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Every Slack limit the card must respect, checked on the payload itself.
fn assert_within_slack_limits(payload: &Value) {
    assert!(chars(&payload["text"]) > 0 && chars(&payload["text"]) <= message::MAX_TEXT_CHARS);
    let blocks = payload["attachments"][0]["blocks"]
        .as_array()
        .expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= message::MAX_BLOCKS);
    for block in blocks {
        match block["type"].as_str().expect("type") {
            "header" => assert!(chars(&block["text"]["text"]) <= message::MAX_HEADER_CHARS),
            "section" => {
                if let Some(fields) = block.get("fields") {
                    let fields = fields.as_array().expect("fields");
                    assert!(fields.len() <= message::MAX_FIELDS);
                    for field in fields {
                        assert!(chars(&field["text"]) <= message::MAX_FIELD_CHARS);
                    }
                } else {
                    assert!(chars(&block["text"]["text"]) <= message::MAX_SECTION_CHARS);
                }
            }
            "actions" => {
                for element in block["elements"].as_array().expect("elements") {
                    assert!(chars(&element["url"]) <= message::MAX_URL_CHARS);
                }
            }
            "context" => {
                for element in block["elements"].as_array().expect("elements") {
                    assert!(chars(&element["text"]) <= message::MAX_SECTION_CHARS);
                }
            }
            other => panic!("unexpected block type {other}"),
        }
    }
}

fn assert_within_chatbot_limits(message: &Value) {
    assert_eq!(message["version"], "1.0");
    assert_eq!(message["source"], "custom");
    let content = &message["content"];
    assert_eq!(content["textType"], "client-markdown");
    assert!(chars(&content["title"]) <= chatbot::MAX_TITLE_CHARS);
    assert!(chars(&content["description"]) > 0);
    assert!(chars(&content["description"]) <= chatbot::MAX_DESCRIPTION_CHARS);
    assert!(content["keywords"].as_array().expect("keywords").len() <= chatbot::MAX_KEYWORDS);
    let metadata = &message["metadata"];
    assert!(chars(&metadata["threadId"]) <= chatbot::MAX_METADATA_CHARS);
    assert!(chars(&metadata["summary"]) <= chatbot::MAX_SUMMARY_CHARS);
    assert!(
        metadata["relatedResources"]
            .as_array()
            .expect("resources")
            .len()
            <= chatbot::MAX_RELATED_RESOURCES
    );
}

/// Every text a person reads in the card, joined.
fn all_text(payload: &Value) -> String {
    let mut out = String::new();
    collect_strings(payload, &mut out);
    out
}

fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[test]
fn a_card_for_every_sample_event() {
    let events = sample_events();
    assert!(events.len() > 100, "the sample events are found");
    for (name, event) in events {
        let payload = card(&event, &alert(Severity::High, None));
        assert_within_slack_limits(&payload);
        insta::assert_json_snapshot!(format!("card-{name}"), payload);
    }
}

#[test]
fn chatbot_notifications_for_a_few_events() {
    for name in [
        "console-login-root-mfa",
        "ec2-sg-ingress-open-22",
        "iam-create-user-denied",
    ] {
        let (_, event) = sample_events()
            .into_iter()
            .find(|(n, _)| n == name)
            .expect("sample exists");
        let message = notification(&event, &alert(Severity::Critical, None));
        assert_within_chatbot_limits(&message);
        insta::assert_json_snapshot!(format!("chatbot-{name}"), message);
    }
}

#[test]
fn occurrences_are_shown_and_replies_are_short() {
    let (_, event) = sample_events()
        .into_iter()
        .find(|(n, _)| n == "iam-create-user")
        .expect("sample exists");
    let repeated = Occurrences {
        count: 12,
        window_seconds: 600,
        key: "deploy-bot".to_owned(),
        kind: OccurrenceKind::Repeated,
    };
    let threshold = Occurrences {
        count: 5,
        window_seconds: 300,
        key: "arn:aws:iam::111122223333:user/deploy-bot".to_owned(),
        kind: OccurrenceKind::Threshold,
    };
    let text = all_text(&card(
        &event,
        &alert(Severity::Medium, Some(repeated.clone())),
    ));
    assert!(text.contains("Repeated 12 times in 10 min"), "{text}");
    let text = all_text(&card(&event, &alert(Severity::Medium, Some(threshold))));
    assert!(
        text.contains(
            "Threshold: 5 matches within 5 min, key `arn:aws:iam::111122223333:user/deploy-bot`"
        ),
        "{text}"
    );
    let reply = repeat_reply(&event, &alert(Severity::Medium, Some(repeated)));
    insta::assert_json_snapshot!("repeat-reply", reply);
    assert!(reply["blocks"].as_array().expect("blocks").len() <= 3);
}

fn hostile_event(user: &str) -> Value {
    let params: serde_json::Map<String, Value> = (0..200)
        .map(|i| {
            (
                format!("param{i}"),
                json!(format!("value-{i}-{}", "v".repeat(50))),
            )
        })
        .collect();
    json!({
        "source": "aws.iam",
        "detail-type": "AWS API Call via CloudTrail",
        "account": "111122223333",
        "region": "us-east-1",
        "detail": {
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser",
            "eventID": "ev/1 #?&".repeat(10),
            "userIdentity": {"type": "IAMUser", "userName": user},
            "userAgent": "A".repeat(10_000),
            "sourceIPAddress": "<script>",
            "errorCode": "AccessDenied",
            "errorMessage": format!("{user} is not authorized {}", "x".repeat(5_000)),
            "requestParameters": Value::Object(params),
        }
    })
}

#[test]
fn huge_user_agent_and_200_request_parameters_stay_within_every_limit() {
    let mut long_alert = alert(Severity::Critical, None);
    long_alert.title = "T".repeat(1_000);
    long_alert.description = "D".repeat(10_000);
    let payload = card(&hostile_event("deploy-bot"), &long_alert);
    assert_within_slack_limits(&payload);
    assert!(
        all_text(&payload).contains('…'),
        "long values are cut visibly"
    );
    let url = payload["attachments"][0]["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find(|b| b["type"] == "actions")
        .map(|b| b["elements"][0]["url"].as_str().expect("url").to_owned())
        .expect("a console button");
    assert!(url.starts_with("https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/ev%2F1%20%23%3F%26"));
    assert_within_chatbot_limits(&notification(&hostile_event("deploy-bot"), &long_alert));
}

#[test]
fn user_names_cannot_mention_link_or_format() {
    for user in [
        "<!channel>",
        "<!here>",
        "@here",
        "@channel please",
        "<@U123>",
        "<https://evil.example|click>",
        "```code``` and `tick`",
        "*bold* _it_ ~strike~",
        "line\n> quoted\n- list",
    ] {
        let payload = card(&hostile_event(user), &alert(Severity::High, None));
        let text = all_text(&payload);
        for forbidden in [
            "<!",
            "<@",
            "<https",
            "@here",
            "@channel",
            "```code",
            "\n> quoted",
        ] {
            assert!(
                !text.contains(forbidden),
                "{user:?} leaked {forbidden:?}:\n{text}"
            );
        }
        // The name is still shown, escaped, inside inline code.
        assert!(text.contains(&escape::code(user, 1000)), "{user:?} shown");
        let chatbot_text = all_text(&notification(
            &hostile_event(user),
            &alert(Severity::High, None),
        ));
        for forbidden in ["<!", "<@", "<https", "@here", "@channel"] {
            assert!(
                !chatbot_text.contains(forbidden),
                "chatbot: {user:?} leaked {forbidden:?}"
            );
        }
    }
}

#[test]
fn escape_functions_document_their_choices() {
    assert_eq!(escape::escape("a & <b>"), "a &amp; &lt;b&gt;");
    assert_eq!(escape::code("`x`", 100), "`ˋxˋ`");
    assert_eq!(escape::code("*a_b~c*", 100), "`*a_b~c*`");
    assert_eq!(escape::mrkdwn("*a_b~c* `d`", 100), "∗aˍb∼c∗ ˋdˋ");
    assert_eq!(escape::mrkdwn("@Everyone", 100), "@\u{2060}Everyone");
    assert_eq!(
        escape::mrkdwn("mail@here.example", 100),
        "mail@\u{2060}here.example"
    );
    assert_eq!(escape::plain_text("<!here> & co", 100), "<!here> & co");
    assert_eq!(escape::code_block("a\nb", 100), "```a\nb```");
    // Truncation counts characters, never cuts an entity or a character, and marks the cut.
    assert_eq!(escape::mrkdwn("a<b", 4), "a…");
    assert_eq!(escape::mrkdwn("a<b", 6), "a&lt;b");
    assert_eq!(escape::truncate("ééééé", 3), "éé…");
    assert_eq!(escape::truncate("ééé", 3), "ééé");
    assert_eq!(escape::truncate("abc", 0), "");
    for max in 0..20 {
        let out = escape::code("<!channel> and more", max);
        assert!(out.chars().count() <= max.max(2), "{max}: {out}");
    }
}

#[test]
fn events_of_the_wrong_shape_still_give_a_card() {
    let odd = [
        json!(null),
        json!([]),
        json!("text"),
        json!({}),
        json!({"detail": null}),
        json!({"detail": []}),
        json!({"source": 5, "detail-type": ["x"], "region": {"a": 1}, "detail": {"eventName": 7}}),
        json!({"detail": {"eventName": "ConsoleLogin", "userIdentity": "root", "responseElements": 1,
                          "additionalEventData": [], "eventID": {"x": 1}}}),
        json!({"detail": {"eventName": "X", "eventSource": "s", "requestParameters": "str",
                          "userIdentity": {"type": ["Root"], "arn": 12}}}),
        json!({"region": "us-east-1.evil.example/", "detail": {"eventName": "X", "eventSource": "s", "eventID": "1"}}),
        json!({"source": "aws.health", "detail-type": "AWS Health Event", "detail": {"nested": (0..100).fold(json!(1), |v, _| json!([v]))}}),
    ];
    for event in odd {
        let payload = card(&event, &alert(Severity::Low, None));
        assert_within_slack_limits(&payload);
        let text = all_text(&payload);
        assert!(
            !text.contains("evil.example/."),
            "regions that are not region names make no link"
        );
        assert_within_chatbot_limits(&notification(&event, &alert(Severity::Low, None)));
        repeat_reply(&event, &alert(Severity::Low, None));
    }
}
