//! The rule sets.
//!
//! The CityLots sets copy the shapes of aws/event-ruler's CityLots2 benchmark
//! (`src/test/software/amazon/event/ruler/Benchmarks.java`: EXACT_RULES, WILDCARD_RULES, ...),
//! with values adapted to the generated data (event-ruler's MAPBLKLOT values, coordinates and
//! expected counts belong to the real San Francisco file; ours are picked from the generated
//! features, and expected counts come from running the engines, not from event-ruler).
//!
//! Rules depend only on the seed, never on the corpus, so a `--measure-rss` child process can
//! rebuild any set on its own.

use crate::citylots::{self, coord, streets};
use crate::corpus::CorpusKind;

/// One named pattern.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Rule name.
    pub name: String,
    /// EventBridge pattern JSON.
    pub pattern: String,
}

/// A named group of rules run together against one corpus.
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// Set name, used by `--only`.
    pub name: String,
    /// The events it runs on.
    pub corpus: CorpusKind,
    /// One line on what it is.
    pub description: String,
    /// The rules.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    fn new(name: &str, corpus: CorpusKind, description: &str, patterns: Vec<String>) -> RuleSet {
        let rules = patterns
            .into_iter()
            .enumerate()
            .map(|(i, pattern)| Rule {
                name: format!("{name}-{i}"),
                pattern,
            })
            .collect();
        RuleSet {
            name: name.to_owned(),
            corpus,
            description: description.to_owned(),
            rules,
        }
    }

    /// True for the sets whose compiled size is worth measuring (1000 rules or more).
    pub fn is_big(&self) -> bool {
        self.rules.len() >= 1_000
    }
}

/// A JSON string literal.
pub fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn props(field: &str, matcher: &str) -> String {
    format!(r#"{{"properties": {{"{field}": [{matcher}]}}}}"#)
}

fn geometry_type(matcher: &str) -> String {
    format!(r#"{{"geometry": {{"type": [{matcher}]}}}}"#)
}

const X_SPLIT: &str = "-122.41600944012424";
const X_LOW: &str = "-122.46471267081272";
const X_HIGH: &str = "-122.4063085128395";

fn first_multipolygon(seed: u64) -> citylots::Feature {
    (0..)
        .map(|i| citylots::feature(seed, i))
        .find(citylots::Feature::is_multi)
        .unwrap_or_else(|| citylots::feature(seed, 0))
}

fn citylots_sets(seed: u64) -> Vec<RuleSet> {
    use CorpusKind::{CityLots, CityLots2};
    let mapblklots = [
        citylots::condo_mapblklot(seed, 0),
        citylots::condo_mapblklot(seed, 3),
        citylots::feature(seed, 7).mapblklot,
        citylots::condo_mapblklot(seed, 40),
        "VACSTWIL".to_owned(),
    ];
    let wildcards = ["143*", "2*0*1*7", "*218", "3*5*2", "VA*IL"];
    let prefixes = ["AC", "BL", "DR", "FU", "RH"];
    let suffixes = ["ON", "KE", "MM", "ING", "GO"];
    let mixed_case = |s: &str| -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect()
    };

    let polygon_x = coord(citylots::feature(seed, 3).first_point().0);
    let inner = citylots::feature(seed, 5);
    let inner_x = coord(inner.polygons[0][0][2.min(inner.polygons[0][0].len() - 1)].0);
    let multi_y = coord(first_multipolygon(seed).polygons[1][0][1].1);

    let mut sets = vec![
        RuleSet::new(
            "exact",
            CityLots,
            "EXACT_RULES: 5 MAPBLKLOT exact values",
            mapblklots.iter().map(|v| props("MAPBLKLOT", &q(v))).collect(),
        ),
        RuleSet::new(
            "wildcard",
            CityLots,
            "WILDCARD_RULES: 5 MAPBLKLOT wildcards",
            wildcards
                .iter()
                .map(|w| props("MAPBLKLOT", &format!(r#"{{"wildcard": {}}}"#, q(w))))
                .collect(),
        ),
        RuleSet::new(
            "prefix",
            CityLots,
            "PREFIX_RULES: 5 STREET prefixes",
            prefixes
                .iter()
                .map(|p| props("STREET", &format!(r#"{{"prefix": {}}}"#, q(p))))
                .collect(),
        ),
        RuleSet::new(
            "prefix-ignore-case",
            CityLots,
            "PREFIX_EQUALS_IGNORE_CASE_RULES: 5 STREET prefixes, any case",
            prefixes
                .iter()
                .map(|p| {
                    props(
                        "STREET",
                        &format!(r#"{{"prefix": {{"equals-ignore-case": {}}}}}"#, q(&mixed_case(p))),
                    )
                })
                .collect(),
        ),
        RuleSet::new(
            "suffix",
            CityLots,
            "SUFFIX_RULES: 5 STREET suffixes",
            suffixes
                .iter()
                .map(|p| props("STREET", &format!(r#"{{"suffix": {}}}"#, q(p))))
                .collect(),
        ),
        RuleSet::new(
            "suffix-ignore-case",
            CityLots,
            "SUFFIX_EQUALS_IGNORE_CASE_RULES: 5 STREET suffixes, any case",
            suffixes
                .iter()
                .map(|p| {
                    props(
                        "STREET",
                        &format!(r#"{{"suffix": {{"equals-ignore-case": {}}}}}"#, q(&mixed_case(p))),
                    )
                })
                .collect(),
        ),
        RuleSet::new(
            "equals-ignore-case",
            CityLots,
            "EQUALS_IGNORE_CASE_RULES: 4 STREET names and ST_TYPE, any case",
            vec![
                props("STREET", r#"{"equals-ignore-case": "jefferson"}"#),
                props("STREET", r#"{"equals-ignore-case": "bEaCh"}"#),
                props("STREET", r#"{"equals-ignore-case": "HyDe"}"#),
                props("STREET", r#"{"equals-ignore-case": "CHESTNUT"}"#),
                props("ST_TYPE", r#"{"equals-ignore-case": "st"}"#),
            ],
        ),
        RuleSet::new(
            "numeric",
            CityLots2,
            "NUMERIC_RULES: numeric =, <, >, range on geometry.firstCoordinates",
            vec![
                format!(
                    r#"{{"geometry": {{"type": ["Polygon"], "firstCoordinates": {{"x": [{{"numeric": ["=", {polygon_x}]}}]}}}}}}"#
                ),
                r#"{"geometry": {"type": ["MultiPolygon"], "firstCoordinates": {"z": [{"numeric": ["=", 0]}]}}}"#.to_owned(),
                format!(r#"{{"geometry": {{"firstCoordinates": {{"x": [{{"numeric": ["<", {X_SPLIT}]}}]}}}}}}"#),
                format!(r#"{{"geometry": {{"firstCoordinates": {{"x": [{{"numeric": [">", {X_SPLIT}]}}]}}}}}}"#),
                format!(
                    r#"{{"geometry": {{"firstCoordinates": {{"x": [{{"numeric": [">", {X_LOW}, "<", {X_HIGH}]}}]}}}}}}"#
                ),
            ],
        ),
        RuleSet::new(
            "anything-but",
            CityLots,
            "ANYTHING_BUT_RULES: anything-but one value on STREET, ST_TYPE, geometry.type, FROM_ST",
            vec![
                props("STREET", r#"{"anything-but": ["FULTON"]}"#),
                props("STREET", r#"{"anything-but": ["MASON"]}"#),
                props("ST_TYPE", r#"{"anything-but": ["ST"]}"#),
                geometry_type(r#"{"anything-but": ["Polygon"]}"#),
                props("FROM_ST", r#"{"anything-but": ["441"]}"#),
            ],
        ),
        RuleSet::new(
            "anything-but-ignore-case",
            CityLots,
            "ANYTHING_BUT_IGNORE_CASE_RULES: anything-but equals-ignore-case",
            vec![
                props("STREET", r#"{"anything-but": {"equals-ignore-case": ["Fulton"]}}"#),
                props("STREET", r#"{"anything-but": {"equals-ignore-case": ["Mason"]}}"#),
                props("ST_TYPE", r#"{"anything-but": {"equals-ignore-case": ["st"]}}"#),
                geometry_type(r#"{"anything-but": {"equals-ignore-case": ["polygon"]}}"#),
                props("FROM_ST", r#"{"anything-but": {"equals-ignore-case": ["441"]}}"#),
            ],
        ),
        RuleSet::new(
            "anything-but-prefix",
            CityLots,
            "ANYTHING_BUT_PREFIX_RULES: anything-but prefix",
            vec![
                props("STREET", r#"{"anything-but": {"prefix": "FULTO"}}"#),
                props("STREET", r#"{"anything-but": {"prefix": "MASO"}}"#),
                props("ST_TYPE", r#"{"anything-but": {"prefix": "S"}}"#),
                geometry_type(r#"{"anything-but": {"prefix": "Poly"}}"#),
                props("FROM_ST", r#"{"anything-but": {"prefix": "44"}}"#),
            ],
        ),
        RuleSet::new(
            "anything-but-suffix",
            CityLots,
            "ANYTHING_BUT_SUFFIX_RULES: anything-but suffix",
            vec![
                props("STREET", r#"{"anything-but": {"suffix": "ULTON"}}"#),
                props("STREET", r#"{"anything-but": {"suffix": "ASON"}}"#),
                props("ST_TYPE", r#"{"anything-but": {"suffix": "T"}}"#),
                geometry_type(r#"{"anything-but": {"suffix": "olygon"}}"#),
                props("FROM_ST", r#"{"anything-but": {"suffix": "41"}}"#),
            ],
        ),
        RuleSet::new(
            "anything-but-wildcard",
            CityLots,
            "ANYTHING_BUT_WILDCARD_RULES: anything-but wildcard on MAPBLKLOT",
            wildcards
                .iter()
                .map(|w| props("MAPBLKLOT", &format!(r#"{{"anything-but": {{"wildcard": {}}}}}"#, q(w))))
                .collect(),
        ),
        RuleSet::new(
            "complex-arrays",
            CityLots2,
            "COMPLEX_ARRAYS_RULES: numeric on x/y of point objects inside nested arrays",
            vec![
                format!(
                    r#"{{"geometry": {{"type": ["Polygon"], "coordinates": {{"x": [{{"numeric": ["=", {inner_x}]}}]}}}}}}"#
                ),
                format!(
                    r#"{{"geometry": {{"type": ["MultiPolygon"], "coordinates": {{"y": [{{"numeric": ["=", {multi_y}]}}]}}}}}}"#
                ),
                format!(r#"{{"geometry": {{"coordinates": {{"x": [{{"numeric": ["<", {X_SPLIT}]}}]}}}}}}"#),
                format!(r#"{{"geometry": {{"coordinates": {{"x": [{{"numeric": [">", {X_SPLIT}]}}]}}}}}}"#),
                format!(
                    r#"{{"geometry": {{"coordinates": {{"x": [{{"numeric": [">", {X_LOW}, "<", {X_HIGH}]}}]}}}}}}"#
                ),
            ],
        ),
    ];

    // event-ruler's COMBO: everything at once. The "portable" combo keeps only what quamina has.
    let portable = [
        "exact",
        "wildcard",
        "prefix",
        "suffix",
        "equals-ignore-case",
        "numeric",
        "anything-but",
        "complex-arrays",
    ];
    let combo: Vec<String> = sets
        .iter()
        .flat_map(|s| s.rules.iter().map(|r| r.pattern.clone()))
        .collect();
    let combo_portable: Vec<String> = sets
        .iter()
        .filter(|s| portable.contains(&s.name.as_str()))
        .flat_map(|s| s.rules.iter().map(|r| r.pattern.clone()))
        .collect();
    sets.push(RuleSet::new(
        "combo",
        CityLots2,
        "COMBO: every CityLots set above at once",
        combo,
    ));
    sets.push(RuleSet::new(
        "combo-portable",
        CityLots2,
        "COMBO without the operators quamina lacks (ignore-case prefix/suffix, anything-but forms)",
        combo_portable,
    ));
    sets
}

/// `n` distinct STREET values: the generated vocabulary, then names that never occur.
fn street_values(n: usize) -> Vec<String> {
    let vocab = streets();
    let mut out: Vec<String> = vocab.iter().take(n).cloned().collect();
    let directions = ["NORTH", "SOUTH", "EAST", "WEST", "UPPER", "LOWER"];
    let mut k = 0;
    while out.len() < n {
        out.push(format!(
            "{} {}",
            vocab[k % vocab.len()],
            directions[k / vocab.len() % directions.len()]
        ));
        k += 1;
    }
    out
}

fn street_prefixes(n: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for len in 3..=8 {
        for name in streets() {
            let p: String = name.chars().take(len).collect();
            if p.len() == len && seen.insert(p.clone()) {
                out.push(p);
            }
        }
    }
    // Spread the choice over the whole list rather than taking the shortest prefixes only.
    let step = (out.len() / n.max(1)).max(1);
    out.into_iter().step_by(step).take(n).collect()
}

fn other_field_exacts(seed: u64, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let f = citylots::feature(seed, i as u64 * 13);
            match i % 5 {
                0 => props("BLOCK_NUM", &q(&f.block_num)),
                1 => props("MAPBLKLOT", &q(&f.mapblklot)),
                2 => props("FROM_ST", &q(&f.from_st)),
                3 => props("LOT_NUM", &q(&f.lot_num)),
                _ => props("BLKLOT", &q(&f.blklot)),
            }
        })
        .collect()
}

fn two_field(street: &str, field: &str, value: &str) -> String {
    format!(
        r#"{{"properties": {{"STREET": [{}], "{field}": [{value}]}}}}"#,
        q(street)
    )
}

fn mixed(seed: u64, scale: usize) -> Vec<String> {
    let pairs = 350 * scale;
    let streets = street_values(pairs);
    let mut out = Vec::with_capacity(1_000 * scale);
    for (i, street) in streets.iter().enumerate() {
        let own_type = if i < citylots::streets().len() {
            citylots::street_type(i)
        } else {
            "ST"
        };
        out.push(two_field(street, "ST_TYPE", &q(own_type)));
        out.push(two_field(street, "ST_TYPE", "null"));
    }
    out.extend(
        street_prefixes(250 * scale)
            .iter()
            .map(|p| props("STREET", &format!(r#"{{"prefix": {}}}"#, q(p)))),
    );
    out.extend(other_field_exacts(seed, 50 * scale));
    out
}

fn scaling_sets(seed: u64) -> Vec<RuleSet> {
    use CorpusKind::CityLots;
    let mut sets: Vec<RuleSet> = [1usize, 10, 100, 1_000, 10_000]
        .iter()
        .map(|&n| {
            RuleSet::new(
                &format!("exact-{n}"),
                CityLots,
                &format!(
                    "{n} one-field exact rules, STREET = distinct values (most frequent first)"
                ),
                street_values(n)
                    .iter()
                    .map(|s| props("STREET", &q(s)))
                    .collect(),
            )
        })
        .collect();
    sets.push(RuleSet::new(
        "two-field-550",
        CityLots,
        "550 two-field exact rules: STREET (275 most frequent) + ODD_EVEN",
        street_values(275)
            .iter()
            .flat_map(|s| {
                [
                    two_field(s, "ODD_EVEN", "\"E\""),
                    two_field(s, "ODD_EVEN", "\"O\""),
                ]
            })
            .collect(),
    ));
    sets.push(RuleSet::new(
        "mixed-1000",
        CityLots,
        "700 two-field exact (STREET + ST_TYPE or null), 250 STREET prefixes, 50 exact on other fields",
        mixed(seed, 1),
    ));
    sets.push(RuleSet::new(
        "mixed-10000",
        CityLots,
        "7000 two-field exact (STREET + ST_TYPE or null), 2500 STREET prefixes, 500 exact on other fields",
        mixed(seed, 10),
    ));
    sets
}

/// The CloudTrail security rules. `portable` leaves out or rewrites what quamina cannot express
/// (`anything-but` with `equals-ignore-case` or `prefix`, `$or`).
fn cloudtrail_rules(portable: bool) -> Vec<(&'static str, String)> {
    let signin =
        r#""source": ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"]"#;
    let api = r#""detail-type": ["AWS API Call via CloudTrail"]"#;
    let mut rules: Vec<(&'static str, String)> = vec![
        ("root-console-sign-in", format!(r#"{{{signin}, "detail": {{"userIdentity": {{"type": ["Root"]}}}}}}"#)),
        ("root-api-activity", format!(r#"{{{api}, "detail": {{"userIdentity": {{"type": ["Root"]}}}}}}"#)),
        (
            "console-sign-in-failure",
            format!(r#"{{{signin}, "detail": {{"responseElements": {{"ConsoleLogin": ["Failure"]}}}}}}"#),
        ),
        (
            "console-sign-in-iam-user",
            format!(r#"{{{signin}, "detail": {{"userIdentity": {{"type": ["IAMUser"]}}, "responseElements": {{"ConsoleLogin": ["Success"]}}}}}}"#),
        ),
        (
            "console-sign-in-unknown-user",
            format!(r#"{{{signin}, "detail": {{"userIdentity": {{"userName": ["HIDDEN_DUE_TO_SECURITY_REASONS"]}}}}}}"#),
        ),
        (
            "sso-admin-sign-in",
            format!(r#"{{{signin}, "detail": {{"userIdentity": {{"arn": [{{"wildcard": "*assumed-role/AWSReservedSSO_AdministratorAccess_*"}}]}}}}}}"#),
        ),
        (
            "iam-create-user",
            r#"{"source": ["aws.iam"], "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["CreateUser"]}}"#.to_owned(),
        ),
        ("iam-delete-user", r#"{"source": ["aws.iam"], "detail": {"eventName": ["DeleteUser"]}}"#.to_owned()),
        (
            "iam-access-key-created",
            r#"{"source": ["aws.iam"], "detail": {"eventName": ["CreateAccessKey"], "errorCode": [{"exists": false}]}}"#.to_owned(),
        ),
        (
            "iam-admin-policy-attached",
            r#"{"source": ["aws.iam"], "detail": {"eventName": ["AttachUserPolicy", "AttachRolePolicy"], "requestParameters": {"policyArn": [{"suffix": "/AdministratorAccess"}]}}}"#.to_owned(),
        ),
        (
            "iam-inline-policy-or-login-profile",
            r#"{"source": ["aws.iam"], "detail": {"eventName": ["PutRolePolicy", "PutUserPolicy", "CreateLoginProfile", "UpdateLoginProfile"]}}"#.to_owned(),
        ),
        (
            "sg-ingress-open-to-world",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": ["AuthorizeSecurityGroupIngress"], "requestParameters": {"ipPermissions": {"items": {"ipRanges": {"items": {"cidrIp": ["0.0.0.0/0"]}}}}}}}"#.to_owned(),
        ),
        (
            "sg-ingress-open-to-world-ipv6",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": ["AuthorizeSecurityGroupIngress"], "requestParameters": {"ipPermissions": {"items": {"ipv6Ranges": {"items": {"cidrIpv6": ["::/0"]}}}}}}}"#.to_owned(),
        ),
        (
            "sg-ssh-or-rdp-open-to-world",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": ["AuthorizeSecurityGroupIngress"], "requestParameters": {"ipPermissions": {"items": {"fromPort": [22, 3389], "ipRanges": {"items": {"cidrIp": ["0.0.0.0/0"]}}}}}}}"#.to_owned(),
        ),
        (
            "sg-port-range-covers-ssh",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": [{"prefix": "AuthorizeSecurityGroup"}], "requestParameters": {"ipPermissions": {"items": {"fromPort": [{"numeric": ["<=", 22]}], "toPort": [{"numeric": [">=", 22]}]}}}}}"#.to_owned(),
        ),
        (
            "sg-any-change",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": [{"prefix": "AuthorizeSecurityGroup"}, {"prefix": "RevokeSecurityGroup"}, "CreateSecurityGroup", "DeleteSecurityGroup"]}}"#.to_owned(),
        ),
        (
            "s3-bucket-policy-or-acl-changed",
            r#"{"source": ["aws.s3"], "detail": {"eventSource": ["s3.amazonaws.com"], "eventName": ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl"]}}"#.to_owned(),
        ),
        (
            "s3-public-bucket-policy",
            r#"{"source": ["aws.s3"], "detail": {"eventName": ["PutBucketPolicy"], "requestParameters": {"bucketPolicy": {"Statement": {"Effect": ["Allow"], "Principal": ["*"]}}}}}"#.to_owned(),
        ),
        (
            "s3-public-access-block-off",
            r#"{"source": ["aws.s3"], "detail": {"$or": [{"eventName": ["DeleteBucketPublicAccessBlock"]}, {"requestParameters": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": [false]}}}]}}"#.to_owned(),
        ),
        ("s3-bucket-deleted", r#"{"source": ["aws.s3"], "detail": {"eventName": ["DeleteBucket"]}}"#.to_owned()),
        ("rds-delete", r#"{"source": ["aws.rds"], "detail": {"eventName": [{"prefix": "DeleteDB"}]}}"#.to_owned()),
        ("rds-stop", r#"{"source": ["aws.rds"], "detail": {"eventName": ["StopDBInstance", "StopDBCluster"]}}"#.to_owned()),
        (
            "rds-made-public",
            r#"{"source": ["aws.rds"], "detail": {"eventName": ["ModifyDBInstance"], "requestParameters": {"publiclyAccessible": [true]}}}"#.to_owned(),
        ),
        (
            "ec2-stop-or-terminate",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": ["StopInstances", "TerminateInstances"], "errorCode": [{"exists": false}]}}"#.to_owned(),
        ),
        (
            "ec2-gpu-or-large-memory-instances",
            r#"{"source": ["aws.ec2"], "detail": {"eventName": ["RunInstances"], "requestParameters": {"instanceType": [{"wildcard": "p*.*xlarge"}, {"prefix": "x2"}, {"wildcard": "g5.*"}]}}}"#.to_owned(),
        ),
        (
            "cloudtrail-tampering",
            r#"{"source": ["aws.cloudtrail"], "detail": {"eventSource": ["cloudtrail.amazonaws.com"], "eventName": ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]}}"#.to_owned(),
        ),
        (
            "security-services-disabled",
            r#"{"source": ["aws.guardduty", "aws.config"], "detail": {"eventName": ["DeleteDetector", "StopConfigurationRecorder", "DeleteConfigurationRecorder"]}}"#.to_owned(),
        ),
        (
            "kms-key-deletion",
            r#"{"source": ["aws.kms"], "detail": {"eventName": ["ScheduleKeyDeletion", "DisableKey"]}}"#.to_owned(),
        ),
        (
            "unauthorized-calls",
            format!(r#"{{{api}, "detail": {{"errorCode": [{{"suffix": "UnauthorizedOperation"}}, "AccessDenied"]}}}}"#),
        ),
        (
            "activity-from-watched-range",
            r#"{"detail": {"sourceIPAddress": [{"cidr": "203.0.113.0/24"}]}}"#.to_owned(),
        ),
        (
            "assume-role-unusual-region",
            r#"{"source": ["aws.sts"], "detail": {"eventName": ["AssumeRole"], "awsRegion": [{"anything-but": ["us-east-1", "us-west-2", "eu-west-1"]}]}}"#.to_owned(),
        ),
        (
            "write-without-mfa-by-role",
            format!(r#"{{{api}, "detail": {{"readOnly": [false], "userIdentity": {{"type": ["AssumedRole"], "sessionContext": {{"attributes": {{"mfaAuthenticated": ["false"]}}}}}}, "eventName": [{{"prefix": "Delete"}}, {{"prefix": "Put"}}]}}}}"#),
        ),
    ];
    if portable {
        rules.retain(|(name, _)| *name != "s3-public-access-block-off");
        rules.push((
            "console-sign-in-without-mfa",
            format!(r#"{{{signin}, "detail": {{"responseElements": {{"ConsoleLogin": ["Success"]}}, "additionalEventData": {{"MFAUsed": [{{"anything-but": ["Yes", "YES", "yes"]}}]}}}}}}"#),
        ));
        rules.push((
            "s3-public-access-block-deleted",
            r#"{"source": ["aws.s3"], "detail": {"eventName": ["DeleteBucketPublicAccessBlock"]}}"#
                .to_owned(),
        ));
    } else {
        rules.push((
            "console-sign-in-without-mfa",
            format!(r#"{{{signin}, "detail": {{"responseElements": {{"ConsoleLogin": ["Success"]}}, "additionalEventData": {{"MFAUsed": [{{"anything-but": {{"equals-ignore-case": "yes"}}}}]}}}}}}"#),
        ));
        rules.push((
            "console-sign-in-outside-corporate-range",
            format!(r#"{{{signin}, "detail": {{"sourceIPAddress": [{{"anything-but": {{"prefix": "198.51.100."}}}}]}}}}"#),
        ));
    }
    rules
}

fn cloudtrail_sets() -> Vec<RuleSet> {
    let make = |name: &str, portable: bool, description: &str| {
        let rules = cloudtrail_rules(portable)
            .into_iter()
            .map(|(n, pattern)| Rule {
                name: n.to_owned(),
                pattern,
            })
            .collect();
        RuleSet {
            name: name.to_owned(),
            corpus: CorpusKind::CloudTrail,
            description: description.to_owned(),
            rules,
        }
    };
    vec![
        make(
            "cloudtrail",
            false,
            "34 security rules on CloudTrail envelopes, incl. anything-but equals-ignore-case/prefix and $or",
        ),
        make(
            "cloudtrail-portable",
            true,
            "the same rules in quamina's subset (no $or, no anything-but forms)",
        ),
    ]
}

/// Every rule set, in the order they are run.
pub fn all_sets(seed: u64) -> Vec<RuleSet> {
    let mut sets = citylots_sets(seed);
    sets.extend(scaling_sets(seed));
    sets.extend(cloudtrail_sets());
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_are_unique_and_patterns_are_json() {
        let sets = all_sets(1);
        let names: std::collections::HashSet<_> = sets.iter().map(|s| s.name.clone()).collect();
        assert_eq!(names.len(), sets.len());
        for set in &sets {
            for rule in &set.rules {
                let v: Result<serde_json::Value, _> = serde_json::from_str(&rule.pattern);
                assert!(v.is_ok(), "{}: {}", rule.name, rule.pattern);
            }
        }
    }

    #[test]
    fn sizes_are_as_described() {
        let sets = all_sets(1);
        let size = |n: &str| sets.iter().find(|s| s.name == n).map(|s| s.rules.len());
        assert_eq!(size("exact-10000"), Some(10_000));
        assert_eq!(size("two-field-550"), Some(550));
        assert_eq!(size("mixed-1000"), Some(1_000));
        assert_eq!(size("mixed-10000"), Some(10_000));
        assert_eq!(size("cloudtrail"), Some(34));
        assert_eq!(size("cloudtrail-portable"), Some(33));
    }

    #[test]
    fn prefixes_are_distinct() {
        let p = street_prefixes(2_500);
        assert_eq!(p.len(), 2_500);
        let set: std::collections::HashSet<_> = p.iter().collect();
        assert_eq!(set.len(), 2_500);
    }
}
