//! EventBridge's target input: the AWS documentation's own input-transformer examples, every
//! predefined variable, values in and out of quotes, missing paths, and PutTargets' validation.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use trailbell::transform::{
    InputPath, InputTransformer, RenderContext, Rendered, TargetInput, TransformError,
};

/// The EC2 event of AWS's "input transformation" page.
fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}
    })
}

/// The page's `InputPathsMap`.
fn doc_paths() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("timestamp".to_owned(), "$.time".to_owned()),
        ("instance".to_owned(), "$.detail.instance-id".to_owned()),
        ("state".to_owned(), "$.detail.state".to_owned()),
        ("resource".to_owned(), "$.resources[0]".to_owned()),
    ])
}

fn entities(s: &str) -> Cow<'_, str> {
    Cow::Owned(s.replace('<', "&lt;").replace('>', "&gt;"))
}

fn lt(s: &str) -> Cow<'_, str> {
    Cow::Owned(s.replace('<', "&lt;"))
}

const CONTEXT: RenderContext<'static> = RenderContext {
    rule_name: "example",
    rule_arn: "arn:aws:events:us-east-2:123456789012:rule/example",
    ingestion_time: "2015-11-11T21:29:55Z",
    event_json: "",
};

fn transformer(paths: BTreeMap<String, String>, template: &str) -> InputTransformer {
    InputTransformer {
        input_paths_map: paths,
        input_template: template.to_owned(),
    }
}

fn render_template(paths: BTreeMap<String, String>, template: &str, event: &Value) -> Rendered {
    TargetInput::new(None, None, Some(&transformer(paths, template)))
        .expect("the transformer is valid")
        .render(event, &CONTEXT)
        .expect("a transformer always renders")
}

fn json_of(rendered: &Rendered) -> Value {
    match rendered {
        Rendered::Json(text) => serde_json::from_str(text).expect("Json is valid JSON"),
        Rendered::Text(text) => panic!("expected JSON, got text {text:?}"),
    }
}

#[test]
fn doc_simple_string_template() {
    let out = render_template(
        doc_paths(),
        r#""instance <instance> is in <state>""#,
        &ec2_event(),
    );
    assert_eq!(
        out,
        Rendered::Json(r#""instance i-0123456789 is in RUNNING""#.to_owned())
    );
}

#[test]
fn doc_string_with_escaped_quotes() {
    let out = render_template(
        doc_paths(),
        r#""instance \"<instance>\" is in <state>""#,
        &ec2_event(),
    );
    assert_eq!(
        json_of(&out),
        json!("instance \"i-0123456789\" is in RUNNING")
    );
}

#[test]
fn doc_simple_json_quotes_string_values() {
    let out = render_template(
        doc_paths(),
        r#"{"instance" : <instance>, "state": <state>}"#,
        &ec2_event(),
    );
    assert_eq!(
        json_of(&out),
        json!({"instance": "i-0123456789", "state": "RUNNING"})
    );
}

#[test]
fn doc_json_with_strings_and_variables() {
    let template = r#"{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}"#;
    let out = render_template(doc_paths(), template, &ec2_event());
    assert_eq!(
        json_of(&out),
        json!({"instance": "i-0123456789", "state": "RUNNING",
               "instanceStatus": "instance \"i-0123456789\" is in RUNNING"})
    );
}

#[test]
fn doc_json_with_variables_and_static_values() {
    let template =
        r#"{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}"#;
    let out = render_template(doc_paths(), template, &ec2_event());
    assert_eq!(
        json_of(&out),
        json!({"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"})
    );
}

#[test]
fn doc_reserved_variables_in_json() {
    let template = r#"{"instance": <instance>, "ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "originalEvent": <aws.events.event.json>}"#;
    let out = json_of(&render_template(doc_paths(), template, &ec2_event()));
    assert_eq!(out["ruleArn"], json!(CONTEXT.rule_arn));
    assert_eq!(out["ruleName"], json!("example"));
    assert_eq!(out["originalEvent"], ec2_event());
}

#[test]
fn doc_reserved_variable_in_a_string() {
    let out = render_template(
        BTreeMap::new(),
        r#""<aws.events.rule-name> triggered""#,
        &ec2_event(),
    );
    assert_eq!(out, Rendered::Json(r#""example triggered""#.to_owned()));
}

#[test]
fn array_index_path_from_the_doc() {
    let out = render_template(doc_paths(), r#"{"r": <resource>}"#, &ec2_event());
    assert_eq!(
        json_of(&out)["r"],
        json!("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")
    );
}

#[test]
fn ingestion_time_goes_anywhere() {
    let out = render_template(
        BTreeMap::new(),
        r#"{"at": <aws.events.event.ingestion-time>, "msg": "at <aws.events.event.ingestion-time>"}"#,
        &ec2_event(),
    );
    assert_eq!(
        json_of(&out),
        json!({"at": "2015-11-11T21:29:55Z", "msg": "at 2015-11-11T21:29:55Z"})
    );
}

#[test]
fn aws_events_event_is_the_event_without_detail() {
    let out = json_of(&render_template(
        BTreeMap::new(),
        r#"{"e": <aws.events.event>}"#,
        &ec2_event(),
    ));
    let mut expected = ec2_event();
    expected.as_object_mut().expect("object").remove("detail");
    assert_eq!(out["e"], expected);
}

#[test]
fn aws_events_event_json_is_the_exact_text_when_given() {
    let text = r#"{"source":"aws.ec2",  "detail": {"k": 1}}"#;
    let context = RenderContext {
        event_json: text,
        ..CONTEXT
    };
    let input = TargetInput::new(
        None,
        None,
        Some(&transformer(
            BTreeMap::new(),
            r#"{"e": <aws.events.event.json>}"#,
        )),
    )
    .expect("valid");
    let event: Value = serde_json::from_str(text).expect("json");
    assert_eq!(
        input.render(&event, &context).expect("renders"),
        Rendered::Json(format!(r#"{{"e": {text}}}"#))
    );
}

#[test]
fn event_placeholders_only_as_json_values() {
    for (template, name) in [
        (r#""<aws.events.event.json>""#, "aws.events.event.json"),
        (r#"[<aws.events.event.json>]"#, "aws.events.event.json"),
        (r#"{"e": "x <aws.events.event>"}"#, "aws.events.event"),
        ("event <aws.events.event>", "aws.events.event"),
    ] {
        let err = TargetInput::new(None, None, Some(&transformer(BTreeMap::new(), template)))
            .expect_err(template);
        assert_eq!(
            err,
            TransformError::JsonOnlyPlaceholder {
                name: name.to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("InputTemplate contains placeholder {name} valid only for JSON template")
        );
    }
}

#[test]
fn values_of_every_type_as_json_values_and_inside_strings() {
    let event = json!({"detail": {"n": 42, "f": 1.5, "b": false, "z": null,
                                  "o": {"k": "v", "n": [1, 2]}, "a": ["x", "y"]}});
    let paths: BTreeMap<String, String> = ["n", "f", "b", "z", "o", "a"]
        .iter()
        .map(|k| ((*k).to_owned(), format!("$.detail.{k}")))
        .collect();
    let out = json_of(&render_template(
        paths.clone(),
        r#"{"n": <n>, "f": <f>, "b": <b>, "z": <z>, "o": <o>, "a": <a>}"#,
        &event,
    ));
    assert_eq!(out, event["detail"]);
    let out = json_of(&render_template(
        paths,
        r#""<n> <f> <b> <z> <o> <a>""#,
        &event,
    ));
    assert_eq!(out, json!("42 1.5 false null {k:v,n:[1,2]} [x,y]"));
}

#[test]
fn a_missing_path_is_null_as_a_value_and_empty_in_a_string() {
    let paths = BTreeMap::from([("gone".to_owned(), "$.detail.nothing.here".to_owned())]);
    let out = json_of(&render_template(
        paths,
        r#"{"v": <gone>, "s": "[<gone>]"}"#,
        &ec2_event(),
    ));
    assert_eq!(out, json!({"v": null, "s": "[]"}));
}

#[test]
fn wildcards_select_every_match() {
    let event = json!({"detail": {"items": [{"id": "a"}, {"id": "b"}, {"other": 1}]}});
    let paths = BTreeMap::from([("ids".to_owned(), "$.detail.items[*].id".to_owned())]);
    assert_eq!(
        json_of(&render_template(paths, r#"{"ids": <ids>}"#, &event)),
        json!({"ids": ["a", "b"]})
    );
    let path = InputPath::parse("$.detail.*").expect("valid");
    assert_eq!(path.select(&event), Some(json!([event["detail"]["items"]])));
}

#[test]
fn a_template_that_is_not_json_is_sent_as_text_with_raw_values() {
    let out = render_template(
        doc_paths(),
        "instance <instance> is in <state>",
        &ec2_event(),
    );
    assert_eq!(
        out,
        Rendered::Text("instance i-0123456789 is in RUNNING".to_owned())
    );
}

#[test]
fn quotes_in_event_values_cannot_change_the_json_shape() {
    let event = json!({"detail": {"user": "x\", \"admin\": true, \"y\": \"z"}});
    let paths = BTreeMap::from([("user".to_owned(), "$.detail.user".to_owned())]);
    let out = json_of(&render_template(
        paths,
        r#"{"msg": "by <user>", "user": <user>}"#,
        &event,
    ));
    assert_eq!(out.as_object().expect("object").len(), 2);
    assert_eq!(out["user"], event["detail"]["user"]);
    assert_eq!(
        out["msg"],
        json!(format!(
            "by {}",
            event["detail"]["user"].as_str().expect("str")
        ))
    );
}

#[test]
fn escape_hook_sees_event_strings_but_not_rule_names() {
    let event = json!({"detail": {"user": "<!channel>", "tags": ["<@U1>"]}});
    let paths = BTreeMap::from([
        ("user".to_owned(), "$.detail.user".to_owned()),
        ("tags".to_owned(), "$.detail.tags".to_owned()),
    ]);
    let input = TargetInput::new(
        None,
        None,
        Some(&transformer(
            paths,
            r#"{"text": "<user> via <aws.events.rule-name>", "tags": <tags>}"#,
        )),
    )
    .expect("valid");
    let context = RenderContext {
        rule_name: "<rule>",
        ..CONTEXT
    };
    let out = json_of(
        &input
            .render_escaped(&event, &context, &entities)
            .expect("renders"),
    );
    assert_eq!(
        out,
        json!({"text": "&lt;!channel&gt; via <rule>", "tags": ["&lt;@U1&gt;"]})
    );
    // Without the hook the values pass as they are.
    let out = json_of(&input.render(&event, &context).expect("renders"));
    assert_eq!(out["text"], json!("<!channel> via <rule>"));
}

#[test]
fn escape_hook_applies_to_input_path_and_matched_event() {
    let event = json!({"detail": {"user": "<x>"}});
    let escape = lt;
    let path = TargetInput::new(None, Some("$.detail"), None).expect("valid");
    assert_eq!(
        path.render_escaped(&event, &CONTEXT, &escape)
            .expect("renders"),
        Rendered::Json(r#"{"user":"&lt;x>"}"#.to_owned())
    );
    let whole = TargetInput::new(None, None, None).expect("valid");
    assert_eq!(
        json_of(
            &whole
                .render_escaped(&event, &CONTEXT, &escape)
                .expect("renders")
        )["detail"]["user"],
        json!("&lt;x>")
    );
}

#[test]
fn constant_input_is_sent_verbatim() {
    let input = TargetInput::new(Some(r#"{"fixed": [1, 2]}"#), None, None).expect("valid");
    assert_eq!(
        input.render(&ec2_event(), &CONTEXT).expect("renders"),
        Rendered::Json(r#"{"fixed": [1, 2]}"#.to_owned())
    );
    assert!(TargetInput::new(Some(r#""hello""#), None, None).is_ok());
}

#[test]
fn input_path_selects_and_reports_nothing_selected() {
    let input = TargetInput::new(None, Some("$.detail"), None).expect("valid");
    assert_eq!(
        json_of(&input.render(&ec2_event(), &CONTEXT).expect("renders")),
        ec2_event()["detail"]
    );
    let missing = TargetInput::new(None, Some("$.detail.nope"), None).expect("valid");
    assert_eq!(
        missing.render(&ec2_event(), &CONTEXT),
        Err(TransformError::NothingSelected {
            path: "$.detail.nope".to_owned()
        })
    );
}

#[test]
fn put_targets_validation_errors() {
    let t = transformer(BTreeMap::new(), r#""x""#);
    assert_eq!(
        TargetInput::new(Some("{}"), None, Some(&t)),
        Err(TransformError::MoreThanOne)
    );
    assert_eq!(
        TargetInput::new(None, Some("$"), Some(&t)),
        Err(TransformError::MoreThanOne)
    );
    assert_eq!(
        TargetInput::new(Some("{}"), Some("$"), None)
            .expect_err("two")
            .to_string(),
        "Only one of Input, InputPath, or InputTransformer must be provided"
    );
    assert_eq!(
        TargetInput::new(Some("hello"), None, None),
        Err(TransformError::InputNotJson)
    );
    assert_eq!(
        TargetInput::new(Some("{} {}"), None, None),
        Err(TransformError::InputNotJson)
    );
    assert!(matches!(
        TargetInput::new(Some(&format!("\"{}\"", "a".repeat(9000))), None, None),
        Err(TransformError::TooLong {
            field: "input",
            max: 8192
        })
    ));
    for bad in [
        "detail",
        "$.detail['key']",
        "$..detail",
        "$.detail.",
        "$.a[-1]",
        "$.a[1:2]",
        "$.a b",
    ] {
        assert_eq!(
            TargetInput::new(None, Some(bad), None),
            Err(TransformError::InvalidInputPath {
                path: bad.to_owned()
            }),
            "{bad}"
        );
    }
    for good in [
        "$",
        "$.detail",
        "$.detail.a[0]",
        "$.detail.x-y_z/w",
        "$.detail.*",
        "$.a[*].b",
    ] {
        assert!(TargetInput::new(None, Some(good), None).is_ok(), "{good}");
    }
}

#[test]
fn input_transformer_validation_errors() {
    let many: BTreeMap<String, String> = (0..101)
        .map(|i| (format!("k{i}"), "$.a".to_owned()))
        .collect();
    assert_eq!(
        TargetInput::new(None, None, Some(&transformer(many.clone(), r#""x""#))),
        Err(TransformError::TooManyPaths)
    );
    let hundred: BTreeMap<String, String> = many.into_iter().take(100).collect();
    assert!(TargetInput::new(None, None, Some(&transformer(hundred, r#""x""#))).is_ok());
    for key in ["aws.events.rule-name", "has space", "", "dot.ted"] {
        let paths = BTreeMap::from([(key.to_owned(), "$.a".to_owned())]);
        assert_eq!(
            TargetInput::new(None, None, Some(&transformer(paths, r#""x""#))),
            Err(TransformError::InvalidKey {
                key: key.to_owned()
            }),
        );
    }
    let paths = BTreeMap::from([("k".to_owned(), "detail.a".to_owned())]);
    assert_eq!(
        TargetInput::new(None, None, Some(&transformer(paths, r#""<k>""#))),
        Err(TransformError::InvalidInputPath {
            path: "detail.a".to_owned()
        })
    );
    let err = TargetInput::new(
        None,
        None,
        Some(&transformer(BTreeMap::new(), r#""<nope>""#)),
    )
    .expect_err("undefined placeholder");
    assert_eq!(
        err.to_string(),
        "InputTemplate contains invalid placeholder nope"
    );
    assert_eq!(
        TargetInput::new(None, None, Some(&transformer(BTreeMap::new(), ""))),
        Err(TransformError::EmptyTemplate)
    );
    assert!(matches!(
        TargetInput::new(
            None,
            None,
            Some(&transformer(BTreeMap::new(), &"x".repeat(8193)))
        ),
        Err(TransformError::TooLong { max: 8192, .. })
    ));
    // `<` that does not open a placeholder name is literal text.
    let out = render_template(BTreeMap::new(), "a < b and c <= d", &ec2_event());
    assert_eq!(out, Rendered::Text("a < b and c <= d".to_owned()));
}

#[test]
fn serde_uses_eventbridge_names() {
    let t: InputTransformer = serde_json::from_value(json!({
        "InputPathsMap": {"user": "$.detail.userName"},
        "InputTemplate": "\"<user>\""
    }))
    .expect("deserializes");
    assert_eq!(t.input_paths_map["user"], "$.detail.userName");
    assert_eq!(
        serde_json::to_value(&t).expect("serializes")["InputTemplate"],
        json!("\"<user>\"")
    );
}

#[test]
fn odd_events_never_panic() {
    let deep = (0..100).fold(json!("leaf"), |v, _| json!({"d": [v]}));
    let huge = "x\"<>\\".repeat(200_000);
    let paths = BTreeMap::from([
        ("a".to_owned(), "$.detail.a".to_owned()),
        ("b".to_owned(), "$.detail.*".to_owned()),
        ("c".to_owned(), "$[0]".to_owned()),
    ]);
    let template =
        r#"{"a": <a>, "s": "<a> <b> <c>", "e": <aws.events.event>, "j": <aws.events.event.json>}"#;
    let input = TargetInput::new(None, None, Some(&transformer(paths, template))).expect("valid");
    for event in [
        json!(null),
        json!([1, 2]),
        json!("text"),
        json!({"detail": "not an object"}),
        json!({"detail": {"a": huge}}),
        json!({"detail": {"a": deep}}),
    ] {
        let out = input.render(&event, &CONTEXT).expect("renders");
        assert!(!out.as_str().is_empty());
        input
            .render_escaped(&event, &CONTEXT, &lt)
            .expect("renders");
    }
}
