//! Synthetic CloudTrail events as EventBridge delivers them ("AWS API Call via CloudTrail" and
//! "AWS Console Sign In via CloudTrail" envelopes), shaped after the samples in
//! `shared/samples/envelopes`.
//!
//! The mix is a busy organisation's management events: mostly reads (Describe/Get/List, KMS
//! Decrypt, STS AssumeRole), some writes, and a thin stream of the security-relevant calls the
//! CloudTrail rule set looks for. Like the city lots, event `i` is a pure function of
//! `(seed, i)`.

use crate::json::{J, arr, n, obj, s};
use crate::rng::Rng;

const STREAM_EVENT: u64 = 11;
const STREAM_ACCOUNT: u64 = 12;

const REGIONS: &[(&str, u32)] = &[
    ("us-east-1", 35),
    ("us-west-2", 15),
    ("eu-west-1", 12),
    ("us-east-2", 8),
    ("eu-central-1", 8),
    ("ap-southeast-2", 5),
    ("ap-northeast-1", 5),
    ("eu-north-1", 4),
    ("sa-east-1", 4),
    ("ca-central-1", 4),
];

const USERS: &[&str] = &[
    "deploy-bot",
    "anaya",
    "maria",
    "jun",
    "terraform",
    "ci-runner",
    "backup-agent",
    "olusegun",
    "priya",
    "svc-reporting",
    "wei",
    "alex",
    "monitoring",
    "break-glass",
];

const ROLES: &[&str] = &[
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
    "AWSReservedSSO_ReadOnlyAccess_fedcba9876543210",
    "AWSReservedSSO_PowerUserAccess_00aa11bb22cc33dd",
    "deploy-role",
    "lambda-exec-orders",
    "ecs-task-api",
    "okta-admin",
    "okta-developer",
    "OrganizationAccountAccessRole",
    "github-actions-oidc",
    "datadog-integration",
];

const USER_AGENTS: &[&str] = &[
    "aws-cli/2.17.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64",
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10 lang/python#3.12.4",
    "Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.59.0",
    "console.amazonaws.com",
    "AWS Internal",
    "aws-sdk-java/2.26.20 Linux/5.10 OpenJDK_64-Bit_Server_VM/21.0.3",
];

const BROWSER_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

/// Accounts of the organisation: 20 twelve-digit ids derived from the seed.
pub fn accounts(seed: u64) -> Vec<String> {
    (0..20)
        .map(|i| {
            let mut r = Rng::for_item(seed, STREAM_ACCOUNT, i);
            format!("{:012}", r.below(1_000_000_000_000))
        })
        .collect()
}

fn upper_id(rng: &mut Rng, n: usize) -> String {
    rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n)
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-4{}-{}{}-{}",
        rng.hex(8),
        rng.hex(4),
        rng.hex(3),
        rng.pick(&['8', '9', 'a', 'b']),
        rng.hex(3),
        rng.hex(12)
    )
}

fn source_ip(rng: &mut Rng) -> String {
    match rng.weighted(&[40, 8, 17, 10, 15, 10]) {
        // The corporate egress range.
        0 => format!("198.51.100.{}", rng.range(1, 60)),
        // A range the security team watches.
        1 => format!("203.0.113.{}", rng.range(1, 254)),
        2 => format!(
            "{}.{}.{}.{}",
            rng.range(11, 223),
            rng.below(256),
            rng.below(256),
            rng.range(1, 254)
        ),
        3 => (*rng.pick(&[
            "ec2.amazonaws.com",
            "lambda.amazonaws.com",
            "AWS Internal",
            "cloudformation.amazonaws.com",
        ]))
        .to_owned(),
        4 => format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.range(1, 254)
        ),
        _ => format!(
            "2001:db8:{:x}::{:x}",
            rng.below(0xffff),
            rng.range(1, 0xffff)
        ),
    }
}

/// The `userIdentity` object and its `type`.
fn identity(rng: &mut Rng, account: &str, kind: u32) -> J {
    match kind {
        0 => {
            let user = *rng.pick(USERS);
            obj([
                ("type", s("IAMUser")),
                ("principalId", s(format!("AIDA{}", upper_id(rng, 16)))),
                ("arn", s(format!("arn:aws:iam::{account}:user/{user}"))),
                ("accountId", s(account)),
                ("accessKeyId", s(format!("AKIA{}", upper_id(rng, 16)))),
                ("userName", s(user)),
            ])
        }
        1 => {
            let role = *rng.pick(ROLES);
            let session = if role.starts_with("AWSReservedSSO") || role.starts_with("okta") {
                format!("{}@example.com", rng.pick(USERS))
            } else {
                format!("session-{}", rng.hex(8))
            };
            let role_id = format!("AROA{}", upper_id(rng, 16));
            let mfa = if rng.chance(0.3) { "true" } else { "false" };
            obj([
                ("type", s("AssumedRole")),
                ("principalId", s(format!("{role_id}:{session}"))),
                (
                    "arn",
                    s(format!(
                        "arn:aws:sts::{account}:assumed-role/{role}/{session}"
                    )),
                ),
                ("accountId", s(account)),
                ("accessKeyId", s(format!("ASIA{}", upper_id(rng, 16)))),
                (
                    "sessionContext",
                    obj([
                        (
                            "sessionIssuer",
                            obj([
                                ("type", s("Role")),
                                ("principalId", s(role_id)),
                                ("arn", s(format!("arn:aws:iam::{account}:role/{role}"))),
                                ("accountId", s(account)),
                                ("userName", s(role)),
                            ]),
                        ),
                        (
                            "attributes",
                            obj([
                                ("creationDate", s("2026-11-02T08:14:58Z")),
                                ("mfaAuthenticated", s(mfa)),
                            ]),
                        ),
                    ]),
                ),
            ])
        }
        2 => obj([
            ("type", s("Root")),
            ("principalId", s(account)),
            ("arn", s(format!("arn:aws:iam::{account}:root"))),
            ("accountId", s(account)),
            ("accessKeyId", s("")),
        ]),
        3 => obj([
            ("type", s("AWSService")),
            (
                "invokedBy",
                s(*rng.pick(&[
                    "ec2.amazonaws.com",
                    "autoscaling.amazonaws.com",
                    "cloudformation.amazonaws.com",
                    "config.amazonaws.com",
                ])),
            ),
        ]),
        _ => {
            let user = *rng.pick(USERS);
            obj([
                ("type", s("FederatedUser")),
                ("principalId", s(format!("{account}:{user}"))),
                (
                    "arn",
                    s(format!("arn:aws:sts::{account}:federated-user/{user}")),
                ),
                ("accountId", s(account)),
                ("accessKeyId", s(format!("ASIA{}", upper_id(rng, 16)))),
            ])
        }
    }
}

struct Call {
    source: &'static str,
    event_source: &'static str,
    name: &'static str,
    read_only: bool,
    request: J,
    response: J,
    resources: J,
}

fn call(
    service: &'static str,
    name: &'static str,
    read_only: bool,
    request: J,
    response: J,
) -> Call {
    let (source, event_source) = match service {
        "ec2" => ("aws.ec2", "ec2.amazonaws.com"),
        "s3" => ("aws.s3", "s3.amazonaws.com"),
        "iam" => ("aws.iam", "iam.amazonaws.com"),
        "sts" => ("aws.sts", "sts.amazonaws.com"),
        "kms" => ("aws.kms", "kms.amazonaws.com"),
        "rds" => ("aws.rds", "rds.amazonaws.com"),
        "cloudtrail" => ("aws.cloudtrail", "cloudtrail.amazonaws.com"),
        "guardduty" => ("aws.guardduty", "guardduty.amazonaws.com"),
        "config" => ("aws.config", "config.amazonaws.com"),
        "lambda" => ("aws.lambda", "lambda.amazonaws.com"),
        _ => ("aws.logs", "logs.amazonaws.com"),
    };
    Call {
        source,
        event_source,
        name,
        read_only,
        request,
        response,
        resources: J::Arr(Vec::new()),
    }
}

fn instance_ids(rng: &mut Rng) -> Vec<String> {
    (0..rng.range(1, 3))
        .map(|_| format!("i-0{}", rng.hex(16)))
        .collect()
}

fn items(values: Vec<J>) -> J {
    obj([("items", J::Arr(values))])
}

fn ip_permission(rng: &mut Rng) -> J {
    let (proto, port) = *rng.pick(&[
        ("tcp", 22),
        ("tcp", 3389),
        ("tcp", 443),
        ("tcp", 80),
        ("tcp", 5432),
        ("tcp", 6379),
        ("-1", -1),
    ]);
    let to_port = if port > 0 && rng.chance(0.2) {
        port + 100
    } else {
        port
    };
    let v4: Vec<J> = (0..rng.range(0, 2))
        .map(|_| {
            let cidr = match rng.weighted(&[25, 30, 25, 20]) {
                0 => "0.0.0.0/0".to_owned(),
                1 => format!("10.{}.0.0/16", rng.below(256)),
                2 => format!("198.51.100.{}/32", rng.range(1, 60)),
                _ => format!("203.0.113.0/{}", rng.pick(&[24, 28])),
            };
            let mut o = vec![("cidrIp".to_owned(), s(cidr))];
            if rng.chance(0.4) {
                o.push(("description".to_owned(), s("added by terraform")));
            }
            J::Obj(o)
        })
        .collect();
    let v6: Vec<J> = if rng.chance(0.15) {
        vec![obj([(
            "cidrIpv6",
            s(if rng.chance(0.6) {
                "::/0"
            } else {
                "2001:db8::/32"
            }),
        )])]
    } else {
        Vec::new()
    };
    let groups: Vec<J> = if v4.is_empty() && v6.is_empty() {
        vec![obj([("groupId", s(format!("sg-0{}", rng.hex(16))))])]
    } else {
        Vec::new()
    };
    let mut o = vec![("ipProtocol".to_owned(), s(proto))];
    if port >= 0 {
        o.push(("fromPort".to_owned(), n(port)));
        o.push(("toPort".to_owned(), n(to_port)));
    }
    o.push((
        "groups".to_owned(),
        if groups.is_empty() {
            obj::<&str>([])
        } else {
            items(groups)
        },
    ));
    o.push((
        "ipRanges".to_owned(),
        if v4.is_empty() {
            obj::<&str>([])
        } else {
            items(v4)
        },
    ));
    o.push((
        "ipv6Ranges".to_owned(),
        if v6.is_empty() {
            obj::<&str>([])
        } else {
            items(v6)
        },
    ));
    o.push(("prefixListIds".to_owned(), obj::<&str>([])));
    J::Obj(o)
}

fn empty() -> J {
    obj::<&str>([])
}

fn ec2_call(rng: &mut Rng) -> Call {
    match rng.weighted(&[30, 10, 8, 6, 5, 6, 3, 3, 2, 3, 4, 2, 2, 3, 3]) {
        0 => call(
            "ec2",
            "DescribeInstances",
            true,
            obj([("instancesSet", empty()), ("filterSet", empty())]),
            J::Null,
        ),
        1 => call(
            "ec2",
            "DescribeSecurityGroups",
            true,
            obj([("securityGroupSet", empty()), ("filterSet", empty())]),
            J::Null,
        ),
        2 => call(
            "ec2",
            "DescribeVolumes",
            true,
            obj([("volumeSet", empty()), ("filterSet", empty())]),
            J::Null,
        ),
        3 => call(
            "ec2",
            "DescribeSubnets",
            true,
            obj([("subnetSet", empty()), ("filterSet", empty())]),
            J::Null,
        ),
        4 => call(
            "ec2",
            "DescribeImages",
            true,
            obj([
                ("executableBySet", empty()),
                ("ownersSet", items(vec![obj([("owner", s("self"))])])),
            ]),
            J::Null,
        ),
        5 => call(
            "ec2",
            "CreateTags",
            false,
            obj([
                (
                    "resourcesSet",
                    items(
                        instance_ids(rng)
                            .into_iter()
                            .map(|i| obj([("resourceId", s(i))]))
                            .collect(),
                    ),
                ),
                (
                    "tagSet",
                    items(vec![obj([("key", s("team")), ("value", s("payments"))])]),
                ),
            ]),
            obj([("_return", J::Bool(true))]),
        ),
        6..=8 => {
            let name = match rng.below(3) {
                0 => "StopInstances",
                1 => "StartInstances",
                _ => "TerminateInstances",
            };
            let ids = instance_ids(rng);
            let req = obj([
                (
                    "instancesSet",
                    items(
                        ids.iter()
                            .map(|i| obj([("instanceId", s(i.clone()))]))
                            .collect(),
                    ),
                ),
                ("force", J::Bool(false)),
            ]);
            let resp = obj([
                ("requestId", s(uuid(rng))),
                (
                    "instancesSet",
                    items(
                        ids.iter()
                            .map(|i| {
                                obj([
                                    ("instanceId", s(i.clone())),
                                    (
                                        "currentState",
                                        obj([("code", n(64)), ("name", s("stopping"))]),
                                    ),
                                    (
                                        "previousState",
                                        obj([("code", n(16)), ("name", s("running"))]),
                                    ),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ]);
            call("ec2", name, false, req, resp)
        }
        9 => {
            let itype = *rng.pick(&[
                "t3.micro",
                "t3.large",
                "m6i.xlarge",
                "c7g.4xlarge",
                "p5.48xlarge",
                "p4d.24xlarge",
                "x2iedn.32xlarge",
                "g5.12xlarge",
            ]);
            call(
                "ec2",
                "RunInstances",
                false,
                obj([
                    (
                        "instancesSet",
                        items(vec![obj([
                            ("imageId", s(format!("ami-0{}", rng.hex(16)))),
                            ("minCount", n(1)),
                            ("maxCount", n(rng.range(1, 4))),
                        ])]),
                    ),
                    ("instanceType", s(itype)),
                    ("monitoring", obj([("enabled", J::Bool(false))])),
                ]),
                J::Null,
            )
        }
        10 | 11 => {
            let egress = rng.chance(0.25);
            let name = if egress {
                "AuthorizeSecurityGroupEgress"
            } else if rng.chance(0.2) {
                "RevokeSecurityGroupIngress"
            } else {
                "AuthorizeSecurityGroupIngress"
            };
            let perms: Vec<J> = (0..rng.range(1, 3)).map(|_| ip_permission(rng)).collect();
            let group = format!("sg-0{}", rng.hex(16));
            call(
                "ec2",
                name,
                false,
                obj([
                    ("groupId", s(group.clone())),
                    ("ipPermissions", items(perms)),
                ]),
                obj([("requestId", s(uuid(rng))), ("_return", J::Bool(true))]),
            )
        }
        12 => call(
            "ec2",
            "CreateSecurityGroup",
            false,
            obj([
                ("groupName", s(format!("sg-{}", rng.hex(6)))),
                ("groupDescription", s("managed by terraform")),
                ("vpcId", s(format!("vpc-0{}", rng.hex(16)))),
            ]),
            obj([
                ("requestId", s(uuid(rng))),
                ("_return", J::Bool(true)),
                ("groupId", s(format!("sg-0{}", rng.hex(16)))),
            ]),
        ),
        13 => call(
            "ec2",
            "DeleteSecurityGroup",
            false,
            obj([("groupId", s(format!("sg-0{}", rng.hex(16))))]),
            obj([("requestId", s(uuid(rng))), ("_return", J::Bool(true))]),
        ),
        _ => call(
            "ec2",
            "ModifyInstanceAttribute",
            false,
            obj([
                ("instanceId", s(format!("i-0{}", rng.hex(16)))),
                (
                    "disableApiTermination",
                    obj([("value", J::Bool(rng.chance(0.5)))]),
                ),
            ]),
            obj([("_return", J::Bool(true))]),
        ),
    }
}

fn s3_call(rng: &mut Rng) -> Call {
    let bucket = format!(
        "{}-{}",
        rng.pick(&[
            "corp-backups",
            "orders-data",
            "web-assets",
            "logs-archive",
            "ml-datasets"
        ]),
        rng.below(40)
    );
    let host = format!("{bucket}.s3.amazonaws.com");
    let base = |extra: Vec<(&str, J)>| {
        let mut o = vec![
            ("bucketName".to_owned(), s(bucket.clone())),
            ("Host".to_owned(), s(host.clone())),
        ];
        o.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        J::Obj(o)
    };
    match rng.weighted(&[25, 20, 15, 5, 4, 4, 4, 3, 3, 3]) {
        0 => call(
            "s3",
            "ListBuckets",
            true,
            obj([("Host", s("s3.amazonaws.com"))]),
            J::Null,
        ),
        1 => call(
            "s3",
            "GetBucketAcl",
            true,
            base(vec![("acl", s(""))]),
            J::Null,
        ),
        2 => call(
            "s3",
            "GetBucketPolicy",
            true,
            base(vec![("policy", s(""))]),
            J::Null,
        ),
        3 => {
            let principal = if rng.chance(0.3) {
                s("*")
            } else {
                obj([("AWS", s("arn:aws:iam::111122223333:root"))])
            };
            call(
                "s3",
                "PutBucketPolicy",
                false,
                base(vec![
                    (
                        "bucketPolicy",
                        obj([
                            ("Version", s("2012-10-17")),
                            (
                                "Statement",
                                arr([obj([
                                    ("Effect", s("Allow")),
                                    ("Principal", principal),
                                    ("Action", s("s3:GetObject")),
                                    ("Resource", s(format!("arn:aws:s3:::{bucket}/*"))),
                                ])]),
                            ),
                        ]),
                    ),
                    ("policy", s("")),
                ]),
                J::Null,
            )
        }
        4 => call(
            "s3",
            "DeleteBucketPolicy",
            false,
            base(vec![("policy", s(""))]),
            J::Null,
        ),
        5 => call(
            "s3",
            "PutBucketAcl",
            false,
            base(vec![
                ("acl", s("")),
                (
                    "x-amz-acl",
                    arr([s(*rng.pick(&[
                        "private",
                        "public-read",
                        "authenticated-read",
                    ]))]),
                ),
            ]),
            J::Null,
        ),
        6 => {
            let block = rng.chance(0.6);
            call(
                "s3",
                "PutBucketPublicAccessBlock",
                false,
                base(vec![(
                    "PublicAccessBlockConfiguration",
                    obj([
                        ("BlockPublicAcls", J::Bool(block)),
                        ("IgnorePublicAcls", J::Bool(block)),
                        ("BlockPublicPolicy", J::Bool(block)),
                        ("RestrictPublicBuckets", J::Bool(block)),
                    ]),
                )]),
                J::Null,
            )
        }
        7 => call(
            "s3",
            "DeleteBucketPublicAccessBlock",
            false,
            base(vec![("publicAccessBlock", s(""))]),
            J::Null,
        ),
        8 => call(
            "s3",
            "CreateBucket",
            false,
            base(vec![("x-amz-acl", arr([s("private")]))]),
            J::Null,
        ),
        _ => call("s3", "DeleteBucket", false, base(vec![]), J::Null),
    }
}

fn iam_call(rng: &mut Rng, account: &str) -> Call {
    let target = format!(
        "{}-{}",
        rng.pick(&["temp-contractor", "svc", "intern", "auditor"]),
        rng.below(100)
    );
    let policy_arn = format!(
        "arn:aws:iam::aws:policy/{}",
        rng.pick(&[
            "AdministratorAccess",
            "ReadOnlyAccess",
            "AmazonS3FullAccess",
            "PowerUserAccess"
        ])
    );
    match rng.weighted(&[20, 20, 15, 10, 8, 3, 3, 4, 2, 3, 3, 2, 2]) {
        0 => call(
            "iam",
            "GetUser",
            true,
            obj([("userName", s(target))]),
            J::Null,
        ),
        1 => call("iam", "ListRoles", true, J::Null, J::Null),
        2 => call(
            "iam",
            "GetRole",
            true,
            obj([("roleName", s(*rng.pick(ROLES)))]),
            J::Null,
        ),
        3 => call("iam", "ListUsers", true, J::Null, J::Null),
        4 => call(
            "iam",
            "ListAttachedRolePolicies",
            true,
            obj([("roleName", s(*rng.pick(ROLES)))]),
            J::Null,
        ),
        5 => call(
            "iam",
            "CreateUser",
            false,
            obj([("userName", s(target.clone()))]),
            obj([(
                "user",
                obj([
                    ("path", s("/")),
                    ("userName", s(target.clone())),
                    ("userId", s(format!("AIDA{}", upper_id(rng, 16)))),
                    ("arn", s(format!("arn:aws:iam::{account}:user/{target}"))),
                    ("createDate", s("Nov 2, 2026 9:30:00 AM")),
                ]),
            )]),
        ),
        6 => call(
            "iam",
            "DeleteUser",
            false,
            obj([("userName", s(target))]),
            J::Null,
        ),
        7 => call(
            "iam",
            "CreateAccessKey",
            false,
            obj([("userName", s(target.clone()))]),
            obj([(
                "accessKey",
                obj([
                    ("userName", s(target)),
                    ("accessKeyId", s(format!("AKIA{}", upper_id(rng, 16)))),
                    ("status", s("Active")),
                    ("createDate", s("Nov 2, 2026 9:30:00 AM")),
                ]),
            )]),
        ),
        8 => call(
            "iam",
            "DeleteAccessKey",
            false,
            obj([
                ("userName", s(target)),
                ("accessKeyId", s(format!("AKIA{}", upper_id(rng, 16)))),
            ]),
            J::Null,
        ),
        9 => call(
            "iam",
            "AttachUserPolicy",
            false,
            obj([("userName", s(target)), ("policyArn", s(policy_arn))]),
            J::Null,
        ),
        10 => call(
            "iam",
            "AttachRolePolicy",
            false,
            obj([
                ("roleName", s(*rng.pick(ROLES))),
                ("policyArn", s(policy_arn)),
            ]),
            J::Null,
        ),
        11 => call(
            "iam",
            "PutRolePolicy",
            false,
            obj([
                ("roleName", s(*rng.pick(ROLES))),
                ("policyName", s("inline")),
                (
                    "policyDocument",
                    s(
                        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                    ),
                ),
            ]),
            J::Null,
        ),
        _ => call(
            "iam",
            "CreateLoginProfile",
            false,
            obj([
                ("userName", s(target)),
                ("passwordResetRequired", J::Bool(true)),
            ]),
            J::Null,
        ),
    }
}

fn rds_call(rng: &mut Rng) -> Call {
    let db = format!(
        "{}-{}",
        rng.pick(&["orders", "users", "analytics", "billing"]),
        rng.pick(&["prod", "staging", "dev"])
    );
    match rng.weighted(&[50, 15, 6, 6, 8, 3, 2]) {
        0 => call("rds", "DescribeDBInstances", true, J::Null, J::Null),
        1 => call(
            "rds",
            "ModifyDBInstance",
            false,
            obj([
                ("dBInstanceIdentifier", s(db.clone())),
                ("publiclyAccessible", J::Bool(rng.chance(0.2))),
                ("applyImmediately", J::Bool(true)),
            ]),
            obj([
                ("dBInstanceIdentifier", s(db)),
                ("dBInstanceStatus", s("modifying")),
            ]),
        ),
        2 => call(
            "rds",
            "DeleteDBInstance",
            false,
            obj([
                ("dBInstanceIdentifier", s(db.clone())),
                ("skipFinalSnapshot", J::Bool(rng.chance(0.5))),
                ("deleteAutomatedBackups", J::Bool(true)),
            ]),
            obj([
                ("dBInstanceIdentifier", s(db)),
                ("dBInstanceStatus", s("deleting")),
            ]),
        ),
        3 => call(
            "rds",
            "StopDBInstance",
            false,
            obj([("dBInstanceIdentifier", s(db.clone()))]),
            obj([
                ("dBInstanceIdentifier", s(db)),
                ("dBInstanceStatus", s("stopping")),
            ]),
        ),
        4 => call(
            "rds",
            "CreateDBSnapshot",
            false,
            obj([
                ("dBSnapshotIdentifier", s(format!("{db}-snap"))),
                ("dBInstanceIdentifier", s(db)),
            ]),
            J::Null,
        ),
        5 => call(
            "rds",
            "DeleteDBCluster",
            false,
            obj([
                ("dBClusterIdentifier", s(db)),
                ("skipFinalSnapshot", J::Bool(false)),
            ]),
            J::Null,
        ),
        _ => call(
            "rds",
            "StopDBCluster",
            false,
            obj([("dBClusterIdentifier", s(db))]),
            J::Null,
        ),
    }
}

fn trail_call(rng: &mut Rng, account: &str, region: &str) -> Call {
    let trail = format!("arn:aws:cloudtrail:{region}:{account}:trail/org-trail");
    match rng.weighted(&[40, 25, 20, 4, 3, 4, 4]) {
        0 => call(
            "cloudtrail",
            "LookupEvents",
            true,
            obj([("maxResults", n(50))]),
            J::Null,
        ),
        1 => call(
            "cloudtrail",
            "DescribeTrails",
            true,
            obj([("includeShadowTrails", J::Bool(true))]),
            J::Null,
        ),
        2 => call(
            "cloudtrail",
            "GetTrailStatus",
            true,
            obj([("name", s(trail))]),
            J::Null,
        ),
        3 => call(
            "cloudtrail",
            "StopLogging",
            false,
            obj([("name", s(trail))]),
            J::Null,
        ),
        4 => call(
            "cloudtrail",
            "DeleteTrail",
            false,
            obj([("name", s(trail))]),
            J::Null,
        ),
        5 => call(
            "cloudtrail",
            "UpdateTrail",
            false,
            obj([
                ("name", s(trail)),
                ("isMultiRegionTrail", J::Bool(rng.chance(0.5))),
            ]),
            J::Null,
        ),
        _ => call(
            "cloudtrail",
            "PutEventSelectors",
            false,
            obj([
                ("trailName", s(trail)),
                (
                    "eventSelectors",
                    arr([obj([
                        (
                            "readWriteType",
                            s(*rng.pick(&["All", "WriteOnly", "ReadOnly"])),
                        ),
                        ("includeManagementEvents", J::Bool(rng.chance(0.7))),
                    ])]),
                ),
            ]),
            J::Null,
        ),
    }
}

fn kms_call(rng: &mut Rng, account: &str, region: &str) -> Call {
    let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(rng));
    let mut c = match rng.weighted(&[60, 25, 12, 1, 1, 1]) {
        0 => call(
            "kms",
            "Decrypt",
            true,
            obj([("encryptionAlgorithm", s("SYMMETRIC_DEFAULT"))]),
            J::Null,
        ),
        1 => call(
            "kms",
            "GenerateDataKey",
            true,
            obj([("keyId", s(key.clone())), ("keySpec", s("AES_256"))]),
            J::Null,
        ),
        2 => call(
            "kms",
            "Encrypt",
            true,
            obj([
                ("keyId", s(key.clone())),
                ("encryptionAlgorithm", s("SYMMETRIC_DEFAULT")),
            ]),
            J::Null,
        ),
        3 => call(
            "kms",
            "ScheduleKeyDeletion",
            false,
            obj([
                ("keyId", s(key.clone())),
                ("pendingWindowInDays", n(rng.range(7, 30))),
            ]),
            obj([
                ("keyId", s(key.clone())),
                ("keyState", s("PendingDeletion")),
            ]),
        ),
        4 => call(
            "kms",
            "DisableKey",
            false,
            obj([("keyId", s(key.clone()))]),
            J::Null,
        ),
        _ => call(
            "kms",
            "PutKeyPolicy",
            false,
            obj([("keyId", s(key.clone())), ("policyName", s("default"))]),
            J::Null,
        ),
    };
    c.resources = arr([obj([
        ("accountId", s(account)),
        ("type", s("AWS::KMS::Key")),
        ("ARN", s(key)),
    ])]);
    c
}

fn misc_call(rng: &mut Rng) -> Call {
    match rng.weighted(&[30, 25, 20, 10, 3, 3, 3]) {
        0 => call(
            "logs",
            "CreateLogStream",
            false,
            obj([
                (
                    "logGroupName",
                    s(format!("/aws/lambda/fn-{}", rng.below(30))),
                ),
                (
                    "logStreamName",
                    s(format!("2026/11/02/[$LATEST]{}", rng.hex(32))),
                ),
            ]),
            J::Null,
        ),
        1 => call(
            "lambda",
            "GetFunction",
            true,
            obj([("functionName", s(format!("fn-{}", rng.below(30))))]),
            J::Null,
        ),
        2 => call(
            "logs",
            "DescribeLogGroups",
            true,
            obj([("limit", n(50))]),
            J::Null,
        ),
        3 => call(
            "lambda",
            "UpdateFunctionCode",
            false,
            obj([
                ("functionName", s(format!("fn-{}", rng.below(30)))),
                ("publish", J::Bool(true)),
            ]),
            J::Null,
        ),
        4 => call(
            "guardduty",
            "DeleteDetector",
            false,
            obj([("detectorId", s(rng.hex(32)))]),
            J::Null,
        ),
        5 => call(
            "config",
            "StopConfigurationRecorder",
            false,
            obj([("configurationRecorderName", s("default"))]),
            J::Null,
        ),
        _ => call(
            "guardduty",
            "UpdateDetector",
            false,
            obj([
                ("detectorId", s(rng.hex(32))),
                ("enable", J::Bool(rng.chance(0.5))),
            ]),
            J::Null,
        ),
    }
}

fn sts_call(rng: &mut Rng, account: &str) -> Call {
    if rng.chance(0.2) {
        return call("sts", "GetCallerIdentity", true, J::Null, J::Null);
    }
    let role = *rng.pick(ROLES);
    call(
        "sts",
        "AssumeRole",
        true,
        obj([
            ("roleArn", s(format!("arn:aws:iam::{account}:role/{role}"))),
            ("roleSessionName", s(format!("session-{}", rng.hex(8)))),
            ("durationSeconds", n(3600)),
        ]),
        obj([(
            "assumedRoleUser",
            obj([
                (
                    "assumedRoleId",
                    s(format!("AROA{}:session", upper_id(rng, 16))),
                ),
                (
                    "arn",
                    s(format!(
                        "arn:aws:sts::{account}:assumed-role/{role}/session"
                    )),
                ),
            ]),
        )]),
    )
}

fn console_login(rng: &mut Rng, index: u64, account: &str, time: &str) -> String {
    let kind = rng.weighted(&[45, 35, 8, 7, 5]); // IAM user, SSO/SAML role, root, unknown user, federated
    let failure = kind == 3 || rng.chance(0.08);
    let region = if kind == 2 {
        "us-east-1"
    } else {
        *rng.pick(&[
            "us-east-1",
            "us-east-1",
            "us-east-2",
            "eu-north-1",
            "ap-southeast-2",
            "eu-west-1",
        ])
    };
    let ident = match kind {
        0 => {
            let user = *rng.pick(USERS);
            let mut o = vec![
                ("type".to_owned(), s("IAMUser")),
                (
                    "principalId".to_owned(),
                    s(format!("AIDA{}", upper_id(rng, 16))),
                ),
                ("accountId".to_owned(), s(account)),
                ("accessKeyId".to_owned(), s("")),
                ("userName".to_owned(), s(user)),
            ];
            if !failure {
                o.push((
                    "arn".to_owned(),
                    s(format!("arn:aws:iam::{account}:user/{user}")),
                ));
            }
            J::Obj(o)
        }
        1 => identity(rng, account, 1),
        2 => {
            let mut o = vec![
                ("type".to_owned(), s("Root")),
                ("principalId".to_owned(), s(account)),
                ("accountId".to_owned(), s(account)),
                ("accessKeyId".to_owned(), s("")),
            ];
            if !failure {
                o.push(("arn".to_owned(), s(format!("arn:aws:iam::{account}:root"))));
            }
            J::Obj(o)
        }
        3 => obj([
            ("type", s("IAMUser")),
            ("principalId", s(format!("AIDA{}", upper_id(rng, 16)))),
            ("accountId", s(account)),
            ("accessKeyId", s("")),
            ("userName", s("HIDDEN_DUE_TO_SECURITY_REASONS")),
        ]),
        _ => identity(rng, account, 4),
    };
    let mfa = match (kind, rng.below(10)) {
        (1 | 4, _) => "No",
        (2, 0..=6) => "YES",
        (_, 0..=5) => "Yes",
        _ => "No",
    };
    let mut extra = vec![
        (
            "LoginTo".to_owned(),
            s("https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"),
        ),
        ("MobileVersion".to_owned(), s("No")),
        ("MFAUsed".to_owned(), s(mfa)),
    ];
    if mfa != "No" {
        extra.push((
            "MFAIdentifier".to_owned(),
            s(format!("arn:aws:iam::{account}:mfa/device")),
        ));
    }
    let mut detail = vec![
        ("eventVersion".to_owned(), s("1.08")),
        ("userIdentity".to_owned(), ident),
        ("eventTime".to_owned(), s(time)),
        ("eventSource".to_owned(), s("signin.amazonaws.com")),
        ("eventName".to_owned(), s("ConsoleLogin")),
        ("awsRegion".to_owned(), s(region)),
        ("sourceIPAddress".to_owned(), s(source_ip(rng))),
        ("userAgent".to_owned(), s(BROWSER_UA)),
        ("requestParameters".to_owned(), J::Null),
        (
            "responseElements".to_owned(),
            obj([(
                "ConsoleLogin",
                s(if failure { "Failure" } else { "Success" }),
            )]),
        ),
        ("additionalEventData".to_owned(), J::Obj(extra)),
        ("eventID".to_owned(), s(uuid(rng))),
        ("readOnly".to_owned(), J::Bool(false)),
        ("eventType".to_owned(), s("AwsConsoleSignIn")),
        ("managementEvent".to_owned(), J::Bool(true)),
        ("recipientAccountId".to_owned(), s(account)),
        ("eventCategory".to_owned(), s("Management")),
        (
            "tlsDetails".to_owned(),
            obj([
                ("tlsVersion", s("TLSv1.3")),
                ("cipherSuite", s("TLS_AES_128_GCM_SHA256")),
                ("clientProvidedHostHeader", s("signin.aws.amazon.com")),
            ]),
        ),
    ];
    if failure {
        detail.push(("errorMessage".to_owned(), s("Failed authentication")));
    }
    envelope(
        index,
        rng,
        "AWS Console Sign In via CloudTrail",
        "aws.signin",
        account,
        time,
        region,
        J::Arr(Vec::new()),
        J::Obj(detail),
    )
}

#[allow(clippy::too_many_arguments)]
fn envelope(
    index: u64,
    rng: &mut Rng,
    detail_type: &str,
    source: &str,
    account: &str,
    time: &str,
    region: &str,
    resources: J,
    detail: J,
) -> String {
    obj([
        ("version", s("0")),
        ("id", s(format!("{}-{:012x}", &uuid(rng)[..23], index))),
        ("detail-type", s(detail_type)),
        ("source", s(source)),
        ("account", s(account)),
        ("time", s(time)),
        ("region", s(region)),
        ("resources", resources),
        ("detail", detail),
    ])
    .to_json()
}

/// Event `index` of the CloudTrail corpus seeded with `seed`, as EventBridge JSON.
pub fn event(seed: u64, accounts: &[String], index: u64) -> String {
    let mut rng = Rng::for_item(seed, STREAM_EVENT, index);
    let account = rng.pick(accounts).clone();
    let secs = index % 86_400;
    let time = format!(
        "2026-11-02T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );

    let family = rng.weighted(&[5, 14, 24, 8, 9, 5, 13, 3, 10]);
    if family == 0 {
        return console_login(&mut rng, index, &account, &time);
    }
    let mut region = REGIONS[rng.weighted(&REGIONS.iter().map(|r| r.1).collect::<Vec<_>>())].0;
    let c = match family {
        1 => {
            region = "us-east-1";
            sts_call(&mut rng, &account)
        }
        2 => ec2_call(&mut rng),
        3 => s3_call(&mut rng),
        4 => {
            region = "us-east-1";
            iam_call(&mut rng, &account)
        }
        5 => rds_call(&mut rng),
        6 => kms_call(&mut rng, &account, region),
        7 => trail_call(&mut rng, &account, region),
        _ => misc_call(&mut rng),
    };
    let kind = rng.weighted(&[33, 52, 1, 10, 4]) as u32;
    let ident = identity(&mut rng, &account, kind);
    let ip = if kind == 3 {
        match &ident {
            J::Obj(o) => match o.iter().find(|(k, _)| k == "invokedBy") {
                Some((_, J::Str(by))) => by.clone(),
                _ => "AWS Internal".to_owned(),
            },
            _ => "AWS Internal".to_owned(),
        }
    } else {
        source_ip(&mut rng)
    };
    let user_agent = if kind == 3 {
        "AWS Internal"
    } else {
        *rng.pick(USER_AGENTS)
    };
    let error = if rng.chance(0.04) {
        Some(match c.source {
            "aws.ec2" => (
                "Client.UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
            "aws.s3" => ("AccessDenied", "Access Denied"),
            _ => (
                "AccessDenied",
                "User is not authorized to perform this action",
            ),
        })
    } else {
        None
    };

    let mut detail = vec![
        ("eventVersion".to_owned(), s("1.09")),
        ("userIdentity".to_owned(), ident),
        ("eventTime".to_owned(), s(time.clone())),
        ("eventSource".to_owned(), s(c.event_source)),
        ("eventName".to_owned(), s(c.name)),
        ("awsRegion".to_owned(), s(region)),
        ("sourceIPAddress".to_owned(), s(ip)),
        ("userAgent".to_owned(), s(user_agent)),
        ("requestParameters".to_owned(), c.request),
        (
            "responseElements".to_owned(),
            if error.is_some() { J::Null } else { c.response },
        ),
        ("requestID".to_owned(), s(uuid(&mut rng))),
        ("eventID".to_owned(), s(uuid(&mut rng))),
        ("readOnly".to_owned(), J::Bool(c.read_only)),
        ("eventType".to_owned(), s("AwsApiCall")),
        ("managementEvent".to_owned(), J::Bool(true)),
        ("recipientAccountId".to_owned(), s(account.clone())),
        ("eventCategory".to_owned(), s("Management")),
    ];
    if let Some((code, message)) = error {
        detail.push(("errorCode".to_owned(), s(code)));
        detail.push(("errorMessage".to_owned(), s(message)));
    }
    if rng.chance(0.5) {
        detail.push((
            "tlsDetails".to_owned(),
            obj([
                ("tlsVersion", s("TLSv1.3")),
                ("cipherSuite", s("TLS_AES_128_GCM_SHA256")),
                (
                    "clientProvidedHostHeader",
                    s(format!(
                        "{}.{region}.amazonaws.com",
                        &c.event_source[..c.event_source.find('.').unwrap_or(0)]
                    )),
                ),
            ]),
        ));
    }
    envelope(
        index,
        &mut rng,
        "AWS API Call via CloudTrail",
        c.source,
        &account,
        &time,
        region,
        c.resources,
        J::Obj(detail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_valid_envelopes() {
        let accts = accounts(1);
        let mut names = std::collections::HashSet::new();
        for i in 0..3_000 {
            let e = event(1, &accts, i);
            let v: serde_json::Value = serde_json::from_str(&e).expect("valid JSON");
            assert!(
                v["detail-type"]
                    .as_str()
                    .is_some_and(|d| d.contains("via CloudTrail"))
            );
            assert!(v["detail"]["userIdentity"]["type"].is_string(), "{e}");
            names.insert(
                v["detail"]["eventName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        assert!(names.len() > 50, "{}", names.len());
        assert!(names.contains("ConsoleLogin") && names.contains("AuthorizeSecurityGroupIngress"));
    }

    #[test]
    fn same_index_same_event() {
        let accts = accounts(5);
        assert_eq!(event(5, &accts, 99), event(5, &accts, 99));
    }
}
