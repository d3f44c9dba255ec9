//! `trailbell doctor --log-group NAME` against a moto server on 127.0.0.1 (`TRAILBELL_TEST_MOTO_ENDPOINT`,
//! started by `scripts/test`), driving the real binary: Security Hub's CloudWatch.1-14, each a
//! metric filter with the control's pattern, an alarm on its metric and a subscribed SNS topic.
//! The accounts are set up with the aws CLI, as a user would. Every test works in an AWS account of
//! its own (an assumed role's account id), so tests share one server. Without the endpoint these
//! tests fail (never skip): `scripts/lib/with-test-services cargo test -p trailbell --test doctor_log_group`.

use crate::common;
use common::account::Account;

use serde_json::Value;

const LOG_GROUP: &str = "aws-cloudtrail-logs";

impl Account {
    fn for_doctor() -> Account {
        Account::in_range(900_000_000_000, 90_000_000_000)
    }

    /// `doctor --log-group` as JSON: its exit code and report.
    fn doctor(&self, log_group: &str) -> (Option<i32>, Value) {
        let out = self.trailbell(&[
            "doctor",
            "--log-group",
            log_group,
            "--region",
            "us-east-1",
            "--format",
            "json",
        ]);
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor prints JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), report)
    }

    /// A topic with one confirmed subscriber (an SQS queue) when `subscribed`.
    fn topic(&self, name: &str, subscribed: bool) -> String {
        let topic = self.aws(&["sns", "create-topic", "--name", name])["TopicArn"]
            .as_str()
            .expect("a topic ARN")
            .to_owned();
        if subscribed {
            self.aws(&["sqs", "create-queue", "--queue-name", name]);
            self.aws(&[
                "sns",
                "subscribe",
                "--topic-arn",
                &topic,
                "--protocol",
                "sqs",
                "--notification-endpoint",
                &format!("arn:aws:sqs:us-east-1:{}:{name}", self.id),
            ]);
        }
        topic
    }

    /// A trail delivering to the log group, in every region or not, logging or not.
    fn trail(&self, name: &str, multi_region: bool, logging: bool) {
        // Bucket names are global: the account id keeps tests apart.
        let bucket = format!("{name}-{}", self.id);
        self.aws(&["s3api", "create-bucket", "--bucket", &bucket]);
        let log_group = format!("arn:aws:logs:us-east-1:{}:log-group:{LOG_GROUP}:*", self.id);
        let role = format!("arn:aws:iam::{}:role/cloudtrail-to-logs", self.id);
        let mut args = vec![
            "cloudtrail",
            "create-trail",
            "--name",
            name,
            "--s3-bucket-name",
            &bucket,
            "--cloud-watch-logs-log-group-arn",
            &log_group,
            "--cloud-watch-logs-role-arn",
            &role,
        ];
        if multi_region {
            args.push("--is-multi-region-trail");
        }
        self.aws(&args);
        if logging {
            self.aws(&["cloudtrail", "start-logging", "--name", name]);
        }
    }

    fn filter(&self, name: &str, pattern: &str, metric: &str) {
        self.aws(&[
            "logs",
            "put-metric-filter",
            "--log-group-name",
            LOG_GROUP,
            "--filter-name",
            name,
            "--filter-pattern",
            pattern,
            "--metric-transformations",
            &format!("metricName={metric},metricNamespace=CISBenchmark,metricValue=1"),
        ]);
    }

    fn alarm(&self, name: &str, metric: &str, topic: Option<&str>) {
        let mut args = vec![
            "cloudwatch",
            "put-metric-alarm",
            "--alarm-name",
            name,
            "--namespace",
            "CISBenchmark",
            "--metric-name",
            metric,
            "--statistic",
            "Sum",
            "--period",
            "300",
            "--evaluation-periods",
            "1",
            "--threshold",
            "1",
            "--comparison-operator",
            "GreaterThanOrEqualToThreshold",
        ];
        if let Some(topic) = topic {
            args.extend(["--alarm-actions", topic]);
        }
        self.aws(&args);
    }
}

fn control<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .find(|c| c["control"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn findings<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

/// What `deploy --emit cis-metric-filters` writes, applied through the API calls its resources
/// stand for, satisfies every control.
#[test]
fn the_emitted_template_applied_passes_every_control() {
    let account = Account::for_doctor();
    account.aws(&["logs", "create-log-group", "--log-group-name", LOG_GROUP]);
    account.trail("main", true, true);
    let topic = account.topic("security-alerts", true);
    let out = account.trailbell(&[
        "deploy",
        "--emit",
        "cis-metric-filters",
        "--log-group",
        LOG_GROUP,
        "--target-sns-topic-arn",
        &topic,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let template: Value = serde_json::from_slice(&out.stdout).expect("a JSON template");
    for (id, resource) in template["Resources"].as_object().expect("resources") {
        let p = &resource["Properties"];
        let text = |v: &Value| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string())
        };
        match resource["Type"].as_str() {
            Some("AWS::Logs::MetricFilter") => {
                let t = &p["MetricTransformations"][0];
                account.aws(&[
                    "logs",
                    "put-metric-filter",
                    "--log-group-name",
                    &text(&p["LogGroupName"]),
                    "--filter-name",
                    &text(&p["FilterName"]),
                    "--filter-pattern",
                    &text(&p["FilterPattern"]),
                    "--metric-transformations",
                    &format!(
                        "metricName={},metricNamespace={},metricValue={}",
                        text(&t["MetricName"]),
                        text(&t["MetricNamespace"]),
                        text(&t["MetricValue"])
                    ),
                ]);
            }
            Some("AWS::CloudWatch::Alarm") => {
                let actions: Vec<String> = p["AlarmActions"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .map(text)
                    .collect();
                let mut args: Vec<String> = [
                    "cloudwatch",
                    "put-metric-alarm",
                    "--alarm-name",
                    &text(&p["AlarmName"]),
                    "--namespace",
                    &text(&p["Namespace"]),
                    "--metric-name",
                    &text(&p["MetricName"]),
                    "--statistic",
                    &text(&p["Statistic"]),
                    "--period",
                    &text(&p["Period"]),
                    "--evaluation-periods",
                    &text(&p["EvaluationPeriods"]),
                    "--threshold",
                    &text(&p["Threshold"]),
                    "--comparison-operator",
                    &text(&p["ComparisonOperator"]),
                    "--treat-missing-data",
                    &text(&p["TreatMissingData"]),
                    "--alarm-actions",
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
                args.extend(actions);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                account.aws(&args);
            }
            other => panic!("unexpected resource {id}: {other:?}"),
        }
    }

    let (code, report) = account.doctor(LOG_GROUP);
    assert_eq!(code, Some(0), "{report}");
    let controls = report["controls"].as_array().expect("controls");
    assert_eq!(controls.len(), 14);
    for (n, control) in controls.iter().enumerate() {
        assert_eq!(control["control"], format!("CloudWatch.{}", n + 1));
        assert_eq!(control["passed"], true, "{control}");
        assert_eq!(control["topics"][0], topic.as_str());
    }
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["trails"], serde_json::json!(["main"]));
    // Each filter says which control it satisfies; the two S3 rules share CloudWatch.8's pattern.
    let satisfies = |name: &str| {
        report["metric_filters"]
            .as_array()
            .expect("filters")
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["controls"].clone())
            .unwrap_or_else(|| panic!("no filter {name} in {report}"))
    };
    assert_eq!(
        satisfies("trailbell-root-account-used"),
        serde_json::json!(["CloudWatch.1"])
    );
    assert_eq!(
        satisfies("trailbell-s3-bucket-configuration-changed"),
        serde_json::json!(["CloudWatch.8"])
    );

    // The text form: a pass line per control, no finding, exit 0.
    let out = account.trailbell(&["doctor", "--log-group", LOG_GROUP, "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches(" pass CIS ").count(), 14, "{text}");
    assert!(text.ends_with("0 finding(s)\n"), "{text}");
    assert!(text.contains("trail main delivers to it\n"), "{text}");
}

/// Each way a control fails is named, with the control and its fix; a filter written differently
/// but equivalent passes.
#[test]
fn each_broken_piece_is_named_with_its_fix() {
    let account = Account::for_doctor();
    account.aws(&["logs", "create-log-group", "--log-group-name", LOG_GROUP]);
    account.trail("main", true, true);
    let subscribed = account.topic("subscribed", true);
    let silent = account.topic("silent", false);

    // CloudWatch.1: whole, as CIS's own names would have it.
    account.filter(
        "RootUsage",
        r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
        "RootUsageCount",
    );
    account.alarm("root-usage", "RootUsageCount", Some(&subscribed));
    // CloudWatch.9: the same conditions in another order, spacing, quoting and grouping.
    account.filter(
        "config-changes",
        r#"{ ($.eventName = "StopConfigurationRecorder" && $.eventSource = "config.amazonaws.com") || ($.eventSource = "config.amazonaws.com" && ($.eventName = "DeleteDeliveryChannel" || $.eventName = "PutDeliveryChannel" || $.eventName = "PutConfigurationRecorder")) }"#,
        "ConfigChanges",
    );
    account.alarm("config-changes", "ConfigChanges", Some(&subscribed));
    // CloudWatch.3: CIS 4.2 option 1, which Security Hub does not accept.
    account.filter(
        "NoMfaSignIn",
        r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
        "NoMfaSignIn",
    );
    account.alarm("no-mfa", "NoMfaSignIn", Some(&subscribed));
    // CloudWatch.4: a filter and nothing watching it.
    account.filter(
        "IamPolicyChanges",
        "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",
        "IamPolicyChanges",
    );
    // CloudWatch.6: an alarm without an action.
    account.filter(
        "ConsoleFailures",
        r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
        "ConsoleFailures",
    );
    account.alarm("console-failures", "ConsoleFailures", None);
    // CloudWatch.7: an alarm to a topic nobody subscribed to.
    account.filter(
        "KmsKeys",
        "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
        "KmsKeys",
    );
    account.alarm("kms-keys", "KmsKeys", Some(&silent));

    let (code, report) = account.doctor(LOG_GROUP);
    assert_eq!(code, Some(1), "{report}");
    let passed: Vec<&str> = report["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter(|c| c["passed"] == true)
        .filter_map(|c| c["control"].as_str())
        .collect();
    assert_eq!(passed, ["CloudWatch.1", "CloudWatch.9"], "{report}");
    assert_eq!(
        control(&report, "CloudWatch.9")["metric_filters"][0],
        "config-changes"
    );

    let one = |id: &str| {
        let found = findings(&report, id);
        assert_eq!(found.len(), 1, "{id}: {report}");
        found[0].clone()
    };
    let differs = one("metric-filter-pattern-differs");
    assert_eq!(differs["resource"], "NoMfaSignIn");
    assert!(
        differs["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("CloudWatch.3"))
    );
    assert!(
        differs["fix"]
            .as_str()
            .is_some_and(|f| f.contains("put-metric-filter")
                && f.contains("--filter-name 'NoMfaSignIn'")
                && f.contains(r#"($.userIdentity.type = "IAMUser")"#))
    );

    let no_alarm = one("metric-filter-without-alarm");
    assert_eq!(no_alarm["resource"], "IamPolicyChanges");
    assert!(
        no_alarm["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("CloudWatch.4"))
    );
    assert!(no_alarm["fix"].as_str().is_some_and(
        |f| f.contains("put-metric-alarm") && f.contains("--metric-name 'IamPolicyChanges'")
    ));

    let no_topic = one("alarm-without-topic");
    assert_eq!(no_topic["resource"], "console-failures");
    assert!(
        no_topic["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("CloudWatch.6"))
    );
    assert!(
        no_topic["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--alarm-actions"))
    );

    let unheard = one("topic-without-subscription");
    assert_eq!(unheard["resource"], silent.as_str());
    assert!(
        unheard["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("CloudWatch.7"))
    );
    assert!(
        unheard["fix"]
            .as_str()
            .is_some_and(|f| f.contains("aws sns subscribe"))
    );

    // The ten controls without any filter near them: named as missing, each with its pattern.
    let missing = findings(&report, "metric-filter-missing");
    let missing_controls: Vec<String> = missing
        .iter()
        .filter_map(|f| f["explanation"].as_str())
        .filter_map(|e| {
            e.split_whitespace()
                .find(|w| w.starts_with("CloudWatch."))
                .map(str::to_owned)
        })
        .collect();
    for n in [2, 5, 8, 10, 11, 12, 13, 14] {
        assert!(
            missing_controls.contains(&format!("CloudWatch.{n}")),
            "CloudWatch.{n} in {missing_controls:?}"
        );
    }
    assert_eq!(missing.len(), 8, "{report}");
    assert!(missing.iter().all(|f| {
        f["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--emit cis-metric-filters"))
    }));
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(12));
}

#[test]
fn a_missing_log_group_or_trail_is_named_and_two_regions_are_refused() {
    let account = Account::for_doctor();
    let (code, report) = account.doctor("no-such-group");
    assert_eq!(code, Some(1), "{report}");
    let missing = findings(&report, "log-group-missing");
    assert_eq!(missing.len(), 1, "{report}");
    assert_eq!(missing[0]["resource"], "no-such-group");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
    assert!(
        report["controls"]
            .as_array()
            .expect("controls")
            .iter()
            .all(|c| c["passed"] == false)
    );

    // A whole CloudWatch.1 chain, and no trail sending events to the log group.
    account.aws(&["logs", "create-log-group", "--log-group-name", LOG_GROUP]);
    let topic = account.topic("alerts", true);
    account.filter(
        "RootUsage",
        r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
        "RootUsageCount",
    );
    account.alarm("root-usage", "RootUsageCount", Some(&topic));
    let (code, report) = account.doctor(LOG_GROUP);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(control(&report, "CloudWatch.1")["passed"], false);
    assert_eq!(control(&report, "CloudWatch.1")["alarms"][0], "root-usage");
    let without = findings(&report, "log-group-without-trail");
    assert_eq!(without.len(), 1, "{report}");
    assert!(
        without[0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--cloud-watch-logs-log-group-arn"))
    );

    // A stopped single-region trail sends to it: named with both fixes.
    account.trail("lonely", false, false);
    let (code, report) = account.doctor(LOG_GROUP);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(control(&report, "CloudWatch.1")["passed"], false);
    assert!(findings(&report, "log-group-without-trail").is_empty());
    let incomplete = findings(&report, "log-group-trail-incomplete");
    assert_eq!(incomplete.len(), 1, "{report}");
    assert_eq!(incomplete[0]["resource"], "lonely");
    assert!(
        incomplete[0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--is-multi-region-trail") && f.contains("start-logging"))
    );

    // Started and made multi-region, CloudWatch.1 passes.
    account.aws(&[
        "cloudtrail",
        "update-trail",
        "--name",
        "lonely",
        "--is-multi-region-trail",
    ]);
    account.aws(&["cloudtrail", "start-logging", "--name", "lonely"]);
    let (_, report) = account.doctor(LOG_GROUP);
    assert_eq!(control(&report, "CloudWatch.1")["passed"], true, "{report}");
    assert!(findings(&report, "log-group-trail-incomplete").is_empty());

    let out = account.trailbell(&[
        "doctor",
        "--log-group",
        LOG_GROUP,
        "--regions",
        "us-east-1,eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-group takes one --region"));
}
