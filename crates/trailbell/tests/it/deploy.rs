//! `trailbell deploy`, `destroy` and `doctor` against a moto server on 127.0.0.1, started by
//! `scripts/test` (`TRAILBELL_TEST_MOTO_ENDPOINT`), driving the real binary. Every test works in an
//! AWS account of its own (moto keeps accounts apart by the credentials of an assumed role), so
//! tests share one server. Without the endpoint these tests fail (never skip): run them with
//! `./scripts/test` or `scripts/lib/with-test-services cargo test -p trailbell --test deploy`.

use crate::common;
use common::account::Account;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

impl Account {
    fn for_deploy() -> Account {
        Account::in_range(100_000_000_000, 800_000_000_000)
    }

    fn create_queue(&self, name: &str) -> (String, String) {
        let url = self.aws(&["sqs", "create-queue", "--queue-name", name])["QueueUrl"]
            .as_str()
            .expect("a queue URL")
            .to_owned();
        (url, format!("arn:aws:sqs:us-east-1:{}:{name}", self.id))
    }

    /// A rule pack of `rules` (name, pattern) in this test's directory.
    fn pack(&self, rules: &[(&str, &str)]) -> PathBuf {
        let dir = self.dir.path().join("rules");
        std::fs::create_dir_all(&dir).expect("a rules directory");
        for entry in std::fs::read_dir(&dir).expect("readable") {
            std::fs::remove_file(entry.expect("an entry").path()).expect("removable");
        }
        for (name, pattern) in rules {
            let text = format!(
                "name = \"{name}\"\ntitle = \"Test rule {name}\"\nseverity = \"low\"\n\
                 description = \"A test.\"\nevent_pattern = '{pattern}'\n"
            );
            std::fs::write(dir.join(format!("{name}.toml")), text).expect("written");
        }
        dir
    }

    /// `list-targets-by-rule` of `rule` in us-east-1.
    fn targets(&self, rule: &str) -> Value {
        self.aws(&["events", "list-targets-by-rule", "--rule", rule])
    }

    fn rule_names(&self, region: &str) -> Vec<String> {
        self.aws(&["events", "list-rules", "--region", region])["Rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| r["Name"].as_str().expect("a name").to_owned())
            .collect()
    }
}

const EC2_STOP: &str = r#"{"source": ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventName": ["StopInstances"]}}"#;
const EC2_TERMINATE: &str = r#"{"source": ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventName": ["TerminateInstances"]}}"#;
const IAM_USER: &str = r#"{"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventName": ["CreateUser"]}}"#;

/// The JSON plan `deploy` or `destroy` printed (it must have succeeded) and its changes of `kind`
/// ("rule", "permission", ...).
fn plan_doc(out: &Output, kind: &str) -> (Value, Vec<Value>) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON plan");
    let changes = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect();
    (doc, changes)
}

fn text(change: &Value, key: &str) -> String {
    change[key].as_str().unwrap_or_default().to_owned()
}

/// `deploy --format json`'s changes as (action, region, name), and its summary.
fn plan_of(out: &Output) -> (Vec<(String, String, String)>, Value) {
    let (doc, rules) = plan_doc(out, "rule");
    let changes = rules
        .iter()
        .map(|c| (text(c, "action"), text(c, "region"), text(c, "name")))
        .collect();
    (changes, doc["summary"].clone())
}

fn deploy(account: &Account, pack: &Path, queue_arn: &str, extra: &[&str]) -> Output {
    let pack = pack.to_str().expect("a UTF-8 path");
    let mut args = vec![
        "deploy",
        "--rules",
        pack,
        "--regions",
        "us-east-1",
        "--target-sqs-queue-arn",
        queue_arn,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    account.trailbell(&args)
}

#[test]
fn a_second_deploy_changes_nothing_and_an_edited_rule_is_exactly_one_update() {
    let account = Account::for_deploy();
    let (_, queue) = account.create_queue("alerts");
    let pack = account.pack(&[("ec2-stop", EC2_STOP), ("iam-user", IAM_USER)]);

    let (first, _) = plan_of(&deploy(&account, &pack, &queue, &[]));
    assert_eq!(
        first,
        [
            (
                "create".into(),
                "us-east-1".into(),
                "trailbell-ec2-stop".into()
            ),
            (
                "create".into(),
                "us-east-1".into(),
                "trailbell-iam-user".into()
            ),
        ]
    );
    let (second, summary) = plan_of(&deploy(&account, &pack, &queue, &[]));
    assert!(
        second.iter().all(|(action, _, _)| action == "unchanged"),
        "{second:?}"
    );
    assert_eq!(summary["unchanged"], 2);

    account.pack(&[("ec2-stop", EC2_TERMINATE), ("iam-user", IAM_USER)]);
    let (third, summary) = plan_of(&deploy(&account, &pack, &queue, &[]));
    let updates: Vec<_> = third.iter().filter(|(a, _, _)| a == "update").collect();
    assert_eq!(updates.len(), 1, "{third:?}");
    assert_eq!(updates[0].2, "trailbell-ec2-stop");
    assert_eq!(summary["create"], 0);
    let deployed = account.aws(&["events", "describe-rule", "--name", "trailbell-ec2-stop"]);
    assert!(
        deployed["EventPattern"]
            .as_str()
            .is_some_and(|p| p.contains("TerminateInstances")),
        "{deployed}"
    );
    // And the target carries the retry policy.
    let targets = account.targets("trailbell-ec2-stop");
    assert_eq!(targets["Targets"][0]["Arn"], queue.as_str());
    assert_eq!(
        targets["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"],
        185
    );
}

#[test]
fn destroy_removes_every_rule_of_ours_and_leaves_foreign_rules_alone() {
    let account = Account::for_deploy();
    let (_, queue) = account.create_queue("alerts");
    let pack = account.pack(&[
        ("ec2-stop", EC2_STOP),
        ("console", r#"{"source": ["aws.signin"]}"#),
    ]);
    // Foreign: one with our prefix but not our tag, one with neither.
    account.aws(&[
        "events",
        "put-rule",
        "--name",
        "trailbell-theirs",
        "--event-pattern",
        EC2_STOP,
    ]);
    account.aws(&[
        "events",
        "put-rule",
        "--name",
        "someone-elses",
        "--event-pattern",
        EC2_STOP,
    ]);

    let (created, _) = plan_of(&deploy(
        &account,
        &pack,
        &queue,
        &[
            "--forward-role-arn",
            "arn:aws:iam::123456789012:role/forward",
        ],
    ));
    // The sign-in rule lands in the four sign-in regions; the EC2 rule where asked.
    let console_regions: Vec<&str> = created
        .iter()
        .filter(|(_, _, n)| n == "trailbell-console")
        .map(|(_, r, _)| r.as_str())
        .collect();
    assert_eq!(
        console_regions,
        ["ap-southeast-2", "eu-north-1", "us-east-1", "us-east-2"]
    );
    assert!(
        created
            .iter()
            .all(|(a, _, n)| a == "create" && n != "trailbell-theirs")
    );
    let forwarded = account.aws(&[
        "events",
        "list-targets-by-rule",
        "--rule",
        "trailbell-console",
        "--region",
        "eu-north-1",
    ]);
    assert_eq!(
        forwarded["Targets"][0]["Arn"],
        format!("arn:aws:events:us-east-1:{}:event-bus/default", account.id)
    );

    let out = account.trailbell(&["destroy", "--regions", "us-east-1", "--format", "json"]);
    let (deleted, summary) = plan_of(&out);
    assert_eq!(summary["delete"], 5, "{deleted:?}");
    for region in ["us-east-1", "us-east-2", "eu-north-1", "ap-southeast-2"] {
        let left = account.rule_names(region);
        let ours: Vec<&String> = left
            .iter()
            .filter(|n| n.as_str() != "trailbell-theirs")
            .filter(|n| n.starts_with("trailbell-"))
            .collect();
        assert!(ours.is_empty(), "{region}: {left:?}");
    }
    let mut left = account.rule_names("us-east-1");
    left.sort();
    assert_eq!(left, ["someone-elses", "trailbell-theirs"]);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let account = Account::for_deploy();
    let (_, queue) = account.create_queue("alerts");
    let pack = account.pack(&[("ec2-stop", EC2_STOP)]);
    let (plan, summary) = plan_of(&deploy(&account, &pack, &queue, &["--dry-run"]));
    assert_eq!(
        plan,
        [(
            "create".into(),
            "us-east-1".into(),
            "trailbell-ec2-stop".into()
        )]
    );
    assert_eq!(summary["create"], 1);
    assert!(account.rule_names("us-east-1").is_empty());

    plan_of(&deploy(&account, &pack, &queue, &[]));
    let out = account.trailbell(&["destroy", "--regions", "us-east-1", "--dry-run"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("delete    rule"), "{text}");
    assert_eq!(account.rule_names("us-east-1"), ["trailbell-ec2-stop"]);
}

#[test]
fn a_missing_trail_is_created_with_its_bucket_once() {
    let account = Account::for_deploy();
    let (_, queue) = account.create_queue("alerts");
    let pack = account.pack(&[("ec2-stop", EC2_STOP)]);
    let trail = [
        "--create-trail",
        "org-trail",
        "--trail-bucket",
        "trailbell-logs-bucket",
    ];
    let out = deploy(&account, &pack, &queue, &trail);
    plan_of(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        doc["changes"]
            .as_array()
            .expect("changes")
            .contains(&json!({
                "action": "create", "kind": "trail", "region": "us-east-1", "name": "org-trail",
                "detail": "multi-region, logging, to s3://trailbell-logs-bucket"
            })),
        "{doc}"
    );
    let status = account.aws(&["cloudtrail", "get-trail-status", "--name", "org-trail"]);
    assert_eq!(status["IsLogging"], true);
    let described = account.aws(&[
        "cloudtrail",
        "describe-trails",
        "--trail-name-list",
        "org-trail",
    ]);
    assert_eq!(described["trailList"][0]["IsMultiRegionTrail"], true);
    let policy = account.aws(&[
        "s3api",
        "get-bucket-policy",
        "--bucket",
        "trailbell-logs-bucket",
    ]);
    assert!(
        policy["Policy"]
            .as_str()
            .is_some_and(|p| p.contains("cloudtrail.amazonaws.com"))
    );

    let again = deploy(&account, &pack, &queue, &trail);
    let doc: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(doc["summary"]["create"], 0, "{doc}");
}

#[test]
fn emit_cloudformation_writes_a_template_with_every_rule() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("template.json");
    let out = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args([
            "deploy",
            "--regions",
            "us-east-1",
            "--target-sns-topic-arn",
            "arn:aws:sns:us-east-1:123456789012:alerts",
            "--forward-role-arn",
            "arn:aws:iam::123456789012:role/forward",
            "--create-trail",
            "org-trail",
            "--trail-bucket",
            "logs",
            "--without-threshold-rules",
            "--emit",
            "cloudformation",
            "--output",
        ])
        .arg(&file)
        // Never AWS: a call would fail against this address.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("trailbell runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    let resources = template["Resources"].as_object().expect("resources");
    let count = |kind: &str| resources.values().filter(|r| r["Type"] == kind).count();
    let mut counted = trailbell::rules::RulePack::builtin();
    counted.retain(|rule| rule.noise.threshold.is_none());
    assert_eq!(count("AWS::Events::Rule"), counted.rules().len());
    assert_eq!(count("AWS::SNS::TopicPolicy"), 1);
    assert_eq!(count("AWS::CloudTrail::Trail"), 1);
    assert_eq!(count("AWS::S3::BucketPolicy"), 1);
    for (id, resource) in resources {
        if let Some(condition) = resource["Condition"].as_str() {
            assert!(
                template["Conditions"].get(condition).is_some(),
                "{id}: {condition}"
            );
        }
    }
}

/// Regression: threshold rules were deployed as plain rules to SNS, which then published
/// "Five failed console sign-ins ..." on every single failed sign-in, and the plan said nothing.
#[test]
fn threshold_rules_are_refused_for_an_sns_target_with_the_way_out() {
    let out = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args([
            "deploy",
            "--regions",
            "us-east-1",
            "--target-sns-topic-arn",
            "arn:aws:sns:us-east-1:123456789012:alerts",
            "--emit",
            "cloudformation",
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("trailbell runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("threshold rules cannot go to arn:aws:sns:us-east-1:123456789012:alerts")
            && stderr.contains("console-sign-in-failures-from-one-address (5 matches within 5m)")
            && stderr.contains("--target-lambda-arn")
            && stderr.contains("--without-threshold-rules"),
        "{stderr}"
    );
}

#[test]
fn doctor_lists_each_problem_of_a_broken_account_with_its_fix() {
    let account = Account::for_deploy();
    account.aws(&["s3api", "create-bucket", "--bucket", "doctor-logs"]);
    account.aws(&[
        "cloudtrail",
        "create-trail",
        "--name",
        "lonely-trail",
        "--s3-bucket-name",
        "doctor-logs",
    ]);
    // A rule as the docs once spelled sign-ins: it never matches.
    account.aws(&[
        "events",
        "put-rule",
        "--name",
        "old-sign-in",
        "--event-pattern",
        r#"{"source": ["aws.signin"], "detail-type": ["AWS Console Signin via CloudTrail"]}"#,
    ]);
    // A sign-in rule of ours in us-east-1 only, with a dead-letter queue holding a message.
    let (dlq_url, dlq) = account.create_queue("dead-letters");
    let (_, queue) = account.create_queue("alerts");
    account.aws(&[
        "sqs",
        "send-message",
        "--queue-url",
        &dlq_url,
        "--message-body",
        "{}",
    ]);
    let pack = account.pack(&[("console", r#"{"source": ["aws.signin"]}"#)]);
    let pack_arg = pack.to_str().expect("UTF-8");
    plan_of(&account.trailbell(&[
        "deploy",
        "--rules",
        pack_arg,
        "--regions",
        "us-east-1",
        "--target-sqs-queue-arn",
        &queue,
        "--dead-letter-queue-arn",
        &dlq,
        "--forward-role-arn",
        "arn:aws:iam::123456789012:role/forward",
        "--format",
        "json",
    ]));
    for region in ["us-east-2", "eu-north-1"] {
        account.aws(&[
            "events",
            "remove-targets",
            "--rule",
            "trailbell-console",
            "--ids",
            "trailbell",
            "--region",
            region,
        ]);
        account.aws(&[
            "events",
            "delete-rule",
            "--name",
            "trailbell-console",
            "--region",
            region,
        ]);
    }

    let out = account.trailbell(&[
        "doctor",
        "--rules",
        pack_arg,
        "--regions",
        "us-east-1",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = doc["findings"].as_array().expect("findings");
    let find = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {doc}"))
    };
    assert_eq!(find("trail-not-logging")["resource"], "lonely-trail");
    assert!(
        find("trail-not-logging")["fix"]
            .as_str()
            .is_some_and(|f| f.contains("start-logging"))
    );
    assert!(
        find("single-region-trail")["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--is-multi-region-trail"))
    );
    let never = find("pattern-never-matches");
    assert_eq!(never["resource"], "old-sign-in");
    assert!(
        never["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("AWS Console Sign In via CloudTrail"))
    );
    assert_eq!(
        find("sign-in-rule-missing")["region"],
        "eu-north-1, us-east-2"
    );
    assert_eq!(
        find("dead-letter-queue-not-empty")["resource"],
        dlq.as_str()
    );
    assert_eq!(findings.len(), 5, "{doc}");

    // The text form says the same, with each fix.
    let text = account.trailbell(&["doctor", "--rules", pack_arg, "--regions", "us-east-1"]);
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.matches("\n  fix: ").count(), 5, "{text}");
}

#[test]
fn doctor_on_an_account_without_a_trail_says_so() {
    let account = Account::for_deploy();
    let pack = account.pack(&[("ec2-stop", EC2_STOP)]);
    let out = account.trailbell(&[
        "doctor",
        "--rules",
        pack.to_str().expect("UTF-8"),
        "--regions",
        "us-east-1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["no-trail", "rule-missing"]);
}

#[test]
fn an_event_follows_a_deployed_rule_to_its_queue() {
    let account = Account::for_deploy();
    let (url, queue) = account.create_queue("alerts");
    let pack = account.pack(&[("ec2-stop", EC2_STOP), ("iam-user", IAM_USER)]);
    plan_of(&deploy(&account, &pack, &queue, &[]));

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let credentials = aws_sdk_eventbridge::config::Credentials::new(
        &account.key,
        &account.secret,
        Some(account.token.clone()),
        None,
        "test",
    );
    let region = aws_sdk_eventbridge::config::Region::from_static("us-east-1");
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::new()
            .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
            .endpoint_url(&account.endpoint)
            .region(region.clone())
            .credentials_provider(credentials.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::new()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .endpoint_url(&account.endpoint)
            .region(region)
            .credentials_provider(credentials)
            .build(),
    );
    let entry = |name: &str| {
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("aws.ec2")
            .detail_type("AWS API Call via CloudTrail")
            .detail(json!({"eventSource": "ec2.amazonaws.com", "eventName": name}).to_string())
            .build()
    };
    let bodies = runtime.block_on(async {
        events
            .put_events()
            .entries(entry("StopInstances"))
            .entries(entry("StartInstances"))
            .send()
            .await
            .expect("put-events");
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("receive-message");
        received
            .messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect::<Vec<_>>()
    });
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let delivered: Value = serde_json::from_str(&bodies[0]).expect("an envelope");
    assert_eq!(delivered["detail"]["eventName"], "StopInstances");
}

/// Runs `command`, `deploy` (of the one rule `trailbell-ec2-stop`) or `destroy`, in us-east-1 for
/// the target `target_flag arn`, with a JSON plan.
fn run_for_target(account: &Account, command: &str, target_flag: &str, arn: &str) -> Output {
    let pack = account.pack(&[("ec2-stop", EC2_STOP)]);
    let pack = pack.to_str().expect("a UTF-8 path");
    let mut args = vec![
        command,
        "--regions",
        "us-east-1",
        target_flag,
        arn,
        "--format",
        "json",
    ];
    if command == "deploy" {
        args.extend(["--rules", pack]);
    }
    account.trailbell(&args)
}

/// `deploy`'s or `destroy`'s changes to the target's permission: (action, detail).
fn permission_changes(out: &Output) -> Vec<(String, String)> {
    let (_, permissions) = plan_doc(out, "permission");
    permissions
        .iter()
        .map(|c| (text(c, "action"), text(c, "detail")))
        .collect()
}

/// The statements of a resource policy given as a JSON string.
fn statements(policy: &Value) -> Vec<Value> {
    let policy: Value = policy.as_str().map_or(Value::Null, |text| {
        serde_json::from_str(text).expect("a policy")
    });
    policy["Statement"].as_array().cloned().unwrap_or_default()
}

/// Statements that let EventBridge in.
fn for_eventbridge(statements: &[Value]) -> Vec<Value> {
    statements
        .iter()
        .filter(|s| s["Principal"]["Service"] == "events.amazonaws.com")
        .cloned()
        .collect()
}

#[test]
fn a_lambda_target_gets_one_invoke_permission_and_loses_it_on_destroy() {
    let account = Account::for_deploy();
    // The function is never invoked: an empty zip archive (only its end-of-directory record).
    let zip = account.dir.path().join("function.zip");
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.resize(22, 0);
    std::fs::write(&zip, empty_zip).expect("a zip file");
    account.aws(&[
        "iam",
        "create-role",
        "--role-name",
        "trailbell-lambda",
        "--assume-role-policy-document",
        "{}",
    ]);
    let function = account.aws(&[
        "lambda",
        "create-function",
        "--function-name",
        "trailbell",
        "--runtime",
        "provided.al2023",
        "--handler",
        "bootstrap",
        "--role",
        &format!("arn:aws:iam::{}:role/trailbell-lambda", account.id),
        "--zip-file",
        &format!("fileb://{}", zip.display()),
    ])["FunctionArn"]
        .as_str()
        .expect("a function ARN")
        .to_owned();
    let deploy = || run_for_target(&account, "deploy", "--target-lambda-arn", &function);

    let first = deploy();
    assert_eq!(
        permission_changes(&first),
        [(
            "create".to_owned(),
            "lambda:InvokeFunction for events.amazonaws.com".to_owned()
        )]
    );
    let policy = account.aws(&["lambda", "get-policy", "--function-name", "trailbell"]);
    let granted = for_eventbridge(&statements(&policy["Policy"]));
    assert_eq!(granted.len(), 1, "{policy}");
    assert_eq!(granted[0]["Action"], "lambda:InvokeFunction");
    let source = granted[0]["Condition"]["ArnLike"]["AWS:SourceArn"]
        .as_str()
        .expect("a source ARN condition");
    assert!(
        source.starts_with(&format!("arn:aws:events:us-east-1:{}:rule/", account.id)),
        "{source}"
    );
    let targets = account.targets("trailbell-ec2-stop");
    assert_eq!(targets["Targets"][0]["Arn"], function.as_str());

    // Again: nothing to do, still one statement.
    let second = deploy();
    assert_eq!(permission_changes(&second)[0].0, "unchanged");
    let policy = account.aws(&["lambda", "get-policy", "--function-name", "trailbell"]);
    assert_eq!(for_eventbridge(&statements(&policy["Policy"])).len(), 1);

    let out = run_for_target(&account, "destroy", "--target-lambda-arn", &function);
    assert_eq!(permission_changes(&out)[0].0, "delete");
    // No statement of EventBridge's is left (moto answers ResourceNotFound for an empty policy).
    let mut get_policy = Command::new("aws");
    get_policy.args([
        "--endpoint-url",
        &account.endpoint,
        "--output",
        "json",
        "lambda",
        "get-policy",
        "--function-name",
        "trailbell",
    ]);
    account.env(&mut get_policy);
    let left = get_policy.output().expect("the aws CLI runs");
    if left.status.success() {
        let policy: Value = serde_json::from_slice(&left.stdout).expect("JSON");
        assert!(
            for_eventbridge(&statements(&policy["Policy"])).is_empty(),
            "{policy}"
        );
    } else {
        let stderr = String::from_utf8_lossy(&left.stderr);
        assert!(stderr.contains("ResourceNotFound"), "{stderr}");
    }
}

#[test]
fn an_sns_target_gets_a_topic_policy_statement_beside_the_others() {
    let account = Account::for_deploy();
    let topic = account.aws(&["sns", "create-topic", "--name", "chatbot-alerts"])["TopicArn"]
        .as_str()
        .expect("a topic ARN")
        .to_owned();
    let policy_of = || {
        account.aws(&["sns", "get-topic-attributes", "--topic-arn", &topic])["Attributes"]["Policy"]
            .clone()
    };
    let before = statements(&policy_of());
    assert!(
        !before.is_empty(),
        "moto gives a topic its default statement"
    );
    let deploy = || run_for_target(&account, "deploy", "--target-sns-topic-arn", &topic);

    assert_eq!(
        permission_changes(&deploy()),
        [(
            "create".to_owned(),
            "sns:Publish for events.amazonaws.com".to_owned()
        )]
    );
    let after = statements(&policy_of());
    let granted = for_eventbridge(&after);
    assert_eq!(granted.len(), 1, "{after:?}");
    assert_eq!(granted[0]["Action"], "sns:Publish");
    assert_eq!(granted[0]["Resource"], topic.as_str());
    // The topic's own statements are kept.
    for statement in &before {
        assert!(after.contains(statement), "{statement} was dropped");
    }

    let again = deploy();
    assert_eq!(permission_changes(&again)[0].0, "unchanged");
    assert_eq!(for_eventbridge(&statements(&policy_of())).len(), 1);

    let out = run_for_target(&account, "destroy", "--target-sns-topic-arn", &topic);
    assert_eq!(permission_changes(&out)[0].0, "delete");
    let left = statements(&policy_of());
    assert!(for_eventbridge(&left).is_empty(), "{left:?}");
    assert_eq!(left, before);
}
