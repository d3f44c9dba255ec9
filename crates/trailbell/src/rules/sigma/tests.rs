//! Conversions checked by hand: the Sigma rules of testdata/sigma/, written for these tests.

use serde_json::{Value, json};

use super::{KeyProblem, SigmaError, convert};
use crate::rules::RulePack;

fn sigma(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sigma")
        .join(format!("{name}.yml"));
    std::fs::read_to_string(path).expect("a test Sigma rule")
}

/// Converts, then reads the file back as a rule file: its pattern and exceptions as JSON.
fn converted(name: &str) -> (String, Value, Vec<Value>, RulePack) {
    let converted = convert(name, &sigma(name)).unwrap_or_else(|why| panic!("{name}: {why}"));
    let dir = std::env::temp_dir().join(format!("trailbell-sigma-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join(format!("{}.toml", converted.name));
    std::fs::write(&file, &converted.text).expect("write");
    let pack = RulePack::load(&file).unwrap_or_else(|err| panic!("{err}\n{}", converted.text));
    let _ = std::fs::remove_dir_all(&dir);
    let rule = pack.rules()[0].clone();
    let pattern: Value = serde_json::from_str(&rule.event_pattern).expect("JSON");
    let exceptions = rule
        .noise
        .exceptions
        .iter()
        .map(|e| serde_json::from_str(&e.event_pattern).expect("JSON"))
        .collect();
    (converted.text, pattern, exceptions, pack)
}

/// Whether the converted rule alerts on `detail` (matched, and no exception silences it).
fn alerts(pack: &RulePack, detail: Value) -> bool {
    let compiled = pack.compile().expect("compiles");
    let event =
        json!({"source": "aws.x", "detail-type": "AWS API Call via CloudTrail", "detail": detail})
            .to_string();
    let ids = compiled
        .matcher()
        .matches(event.as_bytes())
        .expect("readable");
    ids.iter()
        .any(|&id| compiled.suppressed_by(id, event.as_bytes()).is_none())
}

#[test]
fn a_plain_selection_becomes_exact_values_and_keeps_its_provenance() {
    let (text, pattern, exceptions, pack) = converted("aws_cloudtrail_guardduty_detector_deleted");
    assert_eq!(
        pattern,
        json!({"detail": {"eventName": ["DeleteDetector", "DisassociateFromMasterAccount"], "eventSource": ["guardduty.amazonaws.com"]}})
    );
    assert!(exceptions.is_empty());
    let rule = &pack.rules()[0];
    assert_eq!(rule.name, "sigma-aws-guardduty-detector-deleted");
    assert_eq!(rule.title, "GuardDuty Detector Deleted");
    assert_eq!(rule.severity, crate::rules::Severity::High);
    assert_eq!(rule.metadata.attack, ["T1562.001"]);
    assert_eq!(
        rule.metadata.references,
        ["https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DeleteDetector.html"]
    );
    for kept in [
        "author: trailbell tests",
        "Detection Rule License 1.1",
        "0f2c7a2e-6f0e-4d37-9f6a-000000000001",
        "False positives: A detector deleted on purpose",
        "Other references: http://example.com/not-https",
    ] {
        assert!(text.contains(kept), "{kept:?} missing from\n{text}");
    }
    assert!(alerts(
        &pack,
        json!({"eventSource": "guardduty.amazonaws.com", "eventName": "DeleteDetector"})
    ));
    assert!(!alerts(
        &pack,
        json!({"eventSource": "guardduty.amazonaws.com", "eventName": "CreateDetector"})
    ));
}

#[test]
fn contains_startswith_and_endswith_become_wildcard_prefix_and_suffix() {
    let (_, pattern, _, pack) = converted("aws_cloudtrail_user_agent_tools");
    assert_eq!(
        pattern,
        json!({"detail": {
            "eventName": [{"prefix": "List"}],
            "eventSource": [{"suffix": ".amazonaws.com"}],
            "userAgent": [{"wildcard": "*pacu*"}, {"wildcard": "*a\\*b*"}]
        }})
    );
    assert!(alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "userAgent": "x pacu/1.0"})
    ));
    assert!(alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "userAgent": "a*b"})
    ));
    assert!(!alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "userAgent": "aXb"})
    ));
    assert!(!alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "GetUser", "userAgent": "pacu"})
    ));
}

#[test]
fn negated_filters_become_exceptions() {
    let (_, pattern, exceptions, pack) = converted("aws_cloudtrail_snapshot_shared_filtered");
    assert_eq!(
        pattern,
        json!({"detail": {"eventName": ["ModifySnapshotAttribute"], "requestParameters": {"attributeType": ["CREATE_VOLUME_PERMISSION"]}}})
    );
    assert_eq!(
        exceptions,
        [
            json!({"detail": {"userIdentity": {"arn": [{"suffix": ":role/backup"}]}}}),
            json!({"detail": {"userIdentity": {"userName": ["admin"]}}}),
        ]
    );
    let share = |identity: Value| json!({"eventName": "ModifySnapshotAttribute", "requestParameters": {"attributeType": "CREATE_VOLUME_PERMISSION"}, "userIdentity": identity});
    assert!(alerts(
        &pack,
        share(json!({"arn": "arn:aws:iam::1:user/eve"}))
    ));
    assert!(!alerts(
        &pack,
        share(json!({"arn": "arn:aws:iam::1:role/backup"}))
    ));
    assert!(!alerts(
        &pack,
        share(json!({"arn": "arn:aws:iam::1:user/admin", "userName": "admin"}))
    ));
}

#[test]
fn one_of_several_selections_becomes_or_and_null_means_absent_or_null() {
    let (_, pattern, _, pack) = converted("aws_cloudtrail_status_branches");
    assert_eq!(
        pattern,
        json!({"detail": {"$or": [
            {"eventName": ["UpdateLoginProfile"], "eventSource": ["iam.amazonaws.com"], "errorMessage": [null, {"exists": false}]},
            {"eventName": ["UpdateLoginProfile"], "eventSource": ["iam.amazonaws.com"], "errorMessage": ["Success"]}
        ]}})
    );
    let call = json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateLoginProfile"});
    assert!(alerts(&pack, call.clone()));
    let mut failed = call.clone();
    failed["errorMessage"] = json!("Denied");
    assert!(!alerts(&pack, failed));
    let mut success = call;
    success["errorMessage"] = json!("Success");
    assert!(alerts(&pack, success));
}

#[test]
fn a_list_selection_and_1_of_become_one_or() {
    let (_, pattern, _, pack) = converted("aws_cloudtrail_any_of_selections");
    let branches = pattern["detail"]["$or"].as_array().expect("$or").len();
    assert_eq!(branches, 3, "{pattern}");
    assert!(alerts(
        &pack,
        json!({"eventSource": "sts.amazonaws.com", "eventName": "GetFederationToken"})
    ));
    assert!(alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateLoginProfile"})
    ));
    assert!(!alerts(
        &pack,
        json!({"eventSource": "iam.amazonaws.com", "eventName": "GetFederationToken"})
    ));
}

#[test]
fn exists_cidr_numbers_and_all_of_are_merged_into_one_branch() {
    let (_, pattern, _, pack) = converted("aws_cloudtrail_exists_and_cidr");
    assert_eq!(
        pattern,
        json!({"detail": {
            "eventVersion": [1.09, "1.09"],
            "readOnly": [false],
            "sourceIPAddress": [{"cidr": "203.0.113.0/24"}],
            "userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": [{"exists": false}]}}}
        }})
    );
    let event = |ip: &str| json!({"sourceIPAddress": ip, "readOnly": false, "eventVersion": "1.09", "userIdentity": {"type": "IAMUser"}});
    assert!(alerts(&pack, event("203.0.113.9")));
    assert!(!alerts(&pack, event("198.51.100.9")));
}

#[test]
fn what_cannot_be_expressed_is_refused_with_the_reason() {
    let refused = |name: &str| {
        convert(name, &sigma(name))
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        refused("aws_cloudtrail_refused_regex"),
        "userIdentity.arn|re: regular expressions cannot be expressed"
    );
    assert_eq!(
        refused("aws_cloudtrail_refused_count"),
        "aggregations (`| count() ...`) cannot be expressed"
    );
    assert_eq!(
        refused("aws_cloudtrail_refused_fieldref"),
        "userIdentity.arn|fieldref: comparing one field with another cannot be expressed"
    );
    assert_eq!(
        refused("windows_process_creation"),
        "logsource is not product aws, service cloudtrail"
    );
    let inline = |detection: &str| {
        convert(
            "x",
            &format!("title: t\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}"),
        )
        .expect_err("refused")
        .to_string()
    };
    assert_eq!(
        inline("    keywords:\n        - evil\n    condition: keywords\n"),
        "selection \"keywords\" is a keyword search, which cannot be expressed"
    );
    assert_eq!(
        inline("    selection:\n        eventName: 'Get?'\n    condition: selection\n"),
        "eventName: the wildcard `?` cannot be expressed"
    );
    assert_eq!(
        inline(
            "    selection:\n        requestParameters|contains|all:\n            - a\n            - b\n    condition: selection\n"
        ),
        "requestParameters|contains|all: `all` over several values of one field cannot be expressed"
    );
    assert_eq!(
        inline(
            "    a:\n        eventName: X\n    b:\n        eventName: Y\n    condition: a and b\n"
        ),
        "two conditions on eventName in one branch cannot be expressed"
    );
    assert_eq!(
        inline(
            "    a:\n        eventName: X\n    b:\n        eventSource: Y\n    condition: a or not b\n"
        ),
        "a negation that is not common to every branch cannot be expressed"
    );
    assert!(inline("    selection: [\n").starts_with("not a YAML document"));
    assert!(matches!(
        convert(
            "aws_cloudtrail_refused_regex",
            &sigma("aws_cloudtrail_refused_regex")
        ),
        Err(SigmaError::Key {
            problem: KeyProblem::Regex,
            ..
        })
    ));
}
