//! The built-in pack, embedded at compile time: `rules/*.toml` and `rules/events/*.json` at the
//! workspace root.
//!
//! The lists are written out by hand (docs/decisions/0002-rule-files.md says why); a test checks
//! that they name exactly the files on disk, so a rule or fixture cannot be left out.

/// `(file stem, file text)` for each listed file of `dir`.
macro_rules! embed {
    ($dir:literal, $ext:literal, [$($stem:literal),* $(,)?]) => {
        &[$((
            $stem,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", $dir, $stem, $ext)),
        )),*]
    };
}

/// The built-in rule files, `rules/<name>.toml`.
pub(crate) const RULE_FILES: &[(&str, &str)] = embed!(
    "rules/",
    ".toml",
    [
        "alerting-pipeline-weakened",
        "bedrock-model-access-enabled",
        "cloudtrail-created-or-started",
        "cloudtrail-stopped-or-changed",
        "config-recording-changed",
        "console-sign-in",
        "console-sign-in-failed",
        "console-sign-in-failures-from-one-address",
        "console-sign-in-without-mfa",
        "ec2-gpu-or-large-instances-launched",
        "ec2-instance-secrets-read",
        "ec2-instance-terminated-stopped-or-modified",
        "ec2-instances-launched",
        "federation-or-sign-in-token-issued",
        "guardduty-disabled-or-weakened",
        "high-risk-call-denied",
        "iam-access-key-created",
        "iam-console-password-set",
        "iam-policy-changed",
        "iam-role-trust-policy-changed",
        "iam-user-created-or-deleted",
        "identity-center-identity-source-changed",
        "identity-provider-or-trust-anchor-added",
        "kms-key-disabled-or-deletion-scheduled",
        "lambda-function-code-or-layers-changed",
        "lambda-function-made-public",
        "network-acl-changed",
        "network-gateway-changed",
        "network-or-log-data-deleted",
        "organizations-changed",
        "rds-database-created-or-restored",
        "rds-database-deleted-stopped-or-modified",
        "rds-database-deleted-without-final-snapshot",
        "rds-database-made-public",
        "remote-command-on-instance",
        "role-assumed-from-untrusted-account",
        "root-account-used",
        "root-console-sign-in",
        "route-table-changed",
        "route53-domain-transfer",
        "s3-bucket-access-changed",
        "s3-bucket-configuration-changed",
        "s3-objects-deleted-in-bulk",
        "s3-objects-read-in-bulk",
        "secrets-read-in-batch-by-filter",
        "secrets-read-in-bulk",
        "security-group-changed",
        "security-group-opened-to-internet",
        "security-services-disabled",
        "snapshot-or-image-shared",
        "ssm-secure-strings-read-in-bulk",
        "unauthorized-api-call",
        "vpc-changed",
    ]
);

/// The built-in event fixtures, `rules/events/<name>.json`, sorted by name.
pub(crate) const EVENT_FILES: &[(&str, &str)] = embed!(
    "rules/events/",
    ".json",
    [
        "access-analyzer-delete-analyzer",
        "cloudtrail-create-trail",
        "cloudtrail-delete-trail",
        "cloudtrail-describe-trails",
        "cloudtrail-lookup-events",
        "cloudtrail-put-event-selectors",
        "cloudtrail-start-logging",
        "cloudtrail-stop-logging",
        "cloudtrail-stop-logging-denied",
        "cloudtrail-update-trail",
        "config-delete-config-rule",
        "config-delete-delivery-channel",
        "config-describe-configuration-recorders",
        "config-put-configuration-recorder",
        "config-put-delivery-channel",
        "config-start-configuration-recorder",
        "config-stop-configuration-recorder",
        "console-login-iam-failure",
        "console-login-iam-failure-no-such-user",
        "console-login-iam-mfa",
        "console-login-iam-mfa-lowercase",
        "console-login-iam-mfa-uppercase",
        "console-login-iam-no-mfa",
        "console-login-iam-no-mfa-regional",
        "console-login-identity-center-user",
        "console-login-root-failure",
        "console-login-root-failure-wrong-password",
        "console-login-root-mfa",
        "console-login-root-no-mfa",
        "console-login-root-no-mfa-field",
        "console-login-saml",
        "console-login-saml-user",
        "console-login-sso",
        "console-login-unknown-user",
        "ec2-attach-internet-gateway",
        "ec2-create-customer-gateway",
        "ec2-create-flow-logs",
        "ec2-create-nat-gateway",
        "ec2-create-network-acl-entry",
        "ec2-create-route",
        "ec2-create-security-group",
        "ec2-create-vpc",
        "ec2-create-vpc-peering-connection",
        "ec2-delete-internet-gateway",
        "ec2-delete-network-acl",
        "ec2-delete-security-group",
        "ec2-delete-vpc",
        "ec2-describe-instance-attribute-type",
        "ec2-describe-instance-attribute-user-data",
        "ec2-describe-instances",
        "ec2-describe-network-acls",
        "ec2-disassociate-route-table",
        "ec2-modify-image-description",
        "ec2-modify-instance-attribute",
        "ec2-modify-vpc-attribute",
        "ec2-replace-network-acl-association",
        "ec2-replace-route-table-association",
        "ec2-run-instances",
        "ec2-run-instances-by-autoscaling",
        "ec2-run-instances-gpu",
        "ec2-run-instances-gpu-denied",
        "ec2-run-instances-metal",
        "ec2-run-instances-small",
        "ec2-run-instances-small-denied",
        "ec2-sg-egress-open",
        "ec2-sg-egress-open-flat",
        "ec2-sg-ingress-from-group",
        "ec2-sg-ingress-mixed",
        "ec2-sg-ingress-open-22",
        "ec2-sg-ingress-open-22-flat",
        "ec2-sg-ingress-open-denied",
        "ec2-sg-ingress-open-ipv6",
        "ec2-sg-ingress-private",
        "ec2-sg-ingress-private-flat",
        "ec2-sg-modify-rules-open",
        "ec2-sg-modify-rules-private",
        "ec2-sg-revoke-ingress-open",
        "ec2-share-snapshot-public",
        "ec2-start-instances",
        "ec2-stop-instances",
        "ec2-stop-instances-service-linked-role",
        "ec2-terminate-instances",
        "ec2-terminate-instances-autoscaling",
        "ec2-terminate-instances-console-role",
        "ec2-unauthorized",
        "ec2-unshare-snapshot",
        "events-disable-rule",
        "events-enable-rule",
        "events-put-rule",
        "events-remove-targets",
        "guardduty-create-filter-archive",
        "guardduty-create-filter-noop",
        "guardduty-create-ip-set",
        "guardduty-delete-detector",
        "guardduty-delete-detector-denied",
        "guardduty-list-detectors",
        "guardduty-update-detector-disabled",
        "guardduty-update-detector-frequency",
        "iam-attach-role-policy",
        "iam-attach-user-policy-root-console",
        "iam-create-access-key",
        "iam-create-access-key-root",
        "iam-create-login-profile",
        "iam-create-login-profile-denied",
        "iam-create-open-id-connect-provider",
        "iam-create-policy-version",
        "iam-create-role",
        "iam-create-saml-provider",
        "iam-create-user",
        "iam-create-user-denied",
        "iam-delete-login-profile",
        "iam-delete-saml-provider",
        "iam-delete-user",
        "iam-get-login-profile",
        "iam-get-user-no-such-entity",
        "iam-list-access-keys",
        "iam-list-saml-providers",
        "iam-put-user-policy",
        "iam-update-access-key",
        "iam-update-assume-role-policy",
        "iam-update-assume-role-policy-malformed",
        "iam-update-role-description",
        "kms-cancel-key-deletion",
        "kms-disable-key",
        "kms-enable-key",
        "kms-schedule-key-deletion",
        "lambda-add-permission-service",
        "lambda-create-function-url-iam",
        "lambda-create-function-url-none",
        "lambda-get-function",
        "lambda-publish-layer-version",
        "lambda-update-function-configuration-memory",
        "logs-create-log-group",
        "logs-delete-log-group",
        "logs-delete-log-group-not-found",
        "logs-delete-log-stream",
        "macie-disable-macie",
        "macie-update-session-enabled",
        "macie-update-session-paused",
        "monitoring-delete-alarms",
        "monitoring-put-metric-alarm",
        "organizations-attach-policy",
        "organizations-create-account",
        "organizations-describe-organization",
        "organizations-leave-organization",
        "organizations-list-accounts",
        "rds-create-db-cluster",
        "rds-create-db-instance-public",
        "rds-create-db-snapshot",
        "rds-delete-db-cluster",
        "rds-delete-db-instance",
        "rds-delete-db-instance-final-snapshot",
        "rds-describe-db-instances",
        "rds-modify-db-cluster-public",
        "rds-modify-db-instance-class",
        "rds-modify-db-instance-public",
        "rds-restore-db-instance-from-snapshot-private",
        "rds-restore-db-instance-from-snapshot-public",
        "rds-start-db-instance",
        "rds-stop-db-instance",
        "rds-unshare-cluster-snapshot",
        "root-api-call-by-service",
        "root-service-event",
        "route53domains-disable-transfer-lock",
        "route53domains-enable-transfer-lock",
        "route53domains-get-domain-detail",
        "route53domains-transfer-to-another-account",
        "s3-access-denied-log-delivery",
        "s3-delete-bucket-policy",
        "s3-delete-bucket-public-access-block",
        "s3-delete-bucket-replication",
        "s3-delete-object",
        "s3-delete-object-denied",
        "s3-delete-objects",
        "s3-get-bucket-policy",
        "s3-get-object",
        "s3-get-object-denied",
        "s3-get-object-second",
        "s3-head-bucket-access-denied",
        "s3-put-account-public-access-block",
        "s3-put-bucket-acl",
        "s3-put-bucket-cors",
        "s3-put-bucket-lifecycle",
        "s3-put-bucket-policy",
        "s3-put-bucket-policy-denied",
        "s3-put-bucket-public-access-block",
        "s3-put-bucket-tagging",
        "s3-put-object",
        "secretsmanager-access-denied",
        "secretsmanager-batch-get-secret-value-by-filter",
        "secretsmanager-batch-get-secret-value-by-id",
        "secretsmanager-describe-secret",
        "secretsmanager-get-secret-value",
        "secretsmanager-get-secret-value-denied",
        "securityhub-batch-disable-standards",
        "securityhub-batch-update-findings-resolved",
        "securityhub-disable-security-hub",
        "securityhub-get-findings",
        "signin-check-mfa-root",
        "signin-get-signin-token",
        "signin-password-updated",
        "signin-switch-role",
        "ssm-get-parameter-decrypted",
        "ssm-get-parameter-plain",
        "ssm-terminate-session",
        "sso-associate-directory",
        "sso-create-account-assignment",
        "sso-describe-directory",
        "sso-disassociate-directory-denied",
        "sso-enable-external-idp",
        "stratus-bedrock-create-foundation-model-agreement",
        "stratus-bedrock-get-foundation-model-availability",
        "stratus-bedrock-list-foundation-model-agreement-offers",
        "stratus-bedrock-put-use-case-for-model-access",
        "stratus-ec2-describe-instance-attribute-user-data-denied",
        "stratus-ec2-enable-serial-console-access",
        "stratus-ec2-get-password-data-denied",
        "stratus-ec2-instance-connect-send-ssh-public-key",
        "stratus-ec2-run-instances-gpu-denied",
        "stratus-ec2-serial-console-send-ssh-public-key",
        "stratus-ec2-share-ami",
        "stratus-ec2-share-ebs-snapshot",
        "stratus-iam-create-login-profile",
        "stratus-iam-update-assume-role-policy",
        "stratus-iam-update-login-profile",
        "stratus-lambda-add-permission-public",
        "stratus-lambda-update-function-code",
        "stratus-lambda-update-function-configuration-layers",
        "stratus-organizations-leave-organization-denied",
        "stratus-rds-share-snapshot",
        "stratus-rolesanywhere-create-profile",
        "stratus-rolesanywhere-create-trust-anchor",
        "stratus-route53resolver-delete-query-log-config",
        "stratus-secretsmanager-batch-get-secret-value",
        "stratus-secretsmanager-get-secret-value",
        "stratus-secretsmanager-list-secrets",
        "stratus-ssm-describe-instance-information",
        "stratus-ssm-describe-parameters",
        "stratus-ssm-get-command-invocation",
        "stratus-ssm-get-parameters-decrypted",
        "stratus-ssm-send-command",
        "stratus-ssm-start-session",
        "stratus-sts-assume-role",
        "stratus-sts-get-caller-identity",
        "stratus-sts-get-federation-token",
        "stratus-vpc-delete-flow-logs",
        "sts-assume-role-by-service",
        "sts-assume-role-from-a-third-account",
        "sts-assume-role-from-another-account",
        "sts-assume-role-from-another-account-denied",
        "sts-assume-role-same-account",
        "sts-get-federation-token-denied",
        "sts-get-session-token",
    ]
);

/// The text of the built-in fixture `name`.
pub(crate) fn event(name: &str) -> Option<&'static str> {
    EVENT_FILES
        .binary_search_by(|(stem, _)| (*stem).cmp(name))
        .ok()
        .map(|index| EVENT_FILES[index].1)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    /// The stems of the files in `dir` ending in `ext`, sorted.
    fn stems_on_disk(dir: &str, ext: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
        let mut stems: Vec<String> = fs::read_dir(&dir)
            .expect("the directory exists")
            .map(|entry| entry.expect("readable entry").file_name())
            .filter_map(|name| name.to_str()?.strip_suffix(ext).map(str::to_owned))
            .collect();
        stems.sort();
        stems
    }

    fn listed(files: &[(&str, &str)]) -> Vec<String> {
        let mut stems: Vec<String> = files.iter().map(|(stem, _)| (*stem).to_owned()).collect();
        stems.sort();
        stems
    }

    #[test]
    fn every_rule_file_on_disk_is_embedded() {
        assert_eq!(listed(RULE_FILES), stems_on_disk("rules", ".toml"));
    }

    #[test]
    fn every_fixture_on_disk_is_embedded() {
        assert_eq!(listed(EVENT_FILES), stems_on_disk("rules/events", ".json"));
    }

    #[test]
    fn fixtures_are_listed_sorted_for_lookup() {
        assert!(EVENT_FILES.is_sorted_by(|a, b| a.0 < b.0));
        assert_eq!(
            event("iam-create-user").map(|text| text.contains("CreateUser")),
            Some(true)
        );
        assert_eq!(event("no-such-fixture"), None);
    }
}

/// The built-in pack as a whole: valid, tested, documented.
#[cfg(test)]
mod pack_tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::EVENT_FILES;
    use crate::rules::RulePack;
    use crate::rules::pack::load_builtin;

    #[test]
    fn the_builtin_pack_is_valid() {
        if let Err(err) = load_builtin() {
            panic!("{err}");
        }
    }

    #[test]
    fn every_builtin_rule_test_passes_with_both_matchers() {
        let report = RulePack::builtin()
            .compile()
            .expect("the built-in pack compiles")
            .run_tests();
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("{} / {}: {}", f.rule, f.test, f.describe()))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(report.untested.is_empty(), "{:?}", report.untested);
    }

    #[test]
    fn every_builtin_rule_has_two_matching_and_two_non_matching_tests() {
        for rule in RulePack::builtin().rules() {
            let matching = rule.tests.iter().filter(|t| t.matches).count();
            let non_matching = rule.tests.len() - matching;
            assert!(
                matching >= 2 && non_matching >= 2,
                "{}: {matching} matching and {non_matching} non-matching tests",
                rule.name
            );
        }
    }

    #[test]
    fn every_builtin_fixture_is_used_by_a_test() {
        let pack = RulePack::builtin();
        let used: BTreeSet<&str> = pack
            .rules()
            .iter()
            .flat_map(|rule| rule.tests.iter().map(|test| test.event.as_str()))
            .collect();
        let unused: Vec<&str> = EVENT_FILES
            .iter()
            .filter(|(_, text)| !used.contains(text))
            .map(|(stem, _)| *stem)
            .collect();
        assert!(unused.is_empty(), "unused fixtures: {unused:?}");
    }

    #[test]
    fn every_builtin_rule_names_techniques_response_steps_and_references() {
        for rule in RulePack::builtin().rules() {
            let metadata = &rule.metadata;
            assert!(
                !metadata.attack.is_empty()
                    && !metadata.response.is_empty()
                    && !metadata.references.is_empty(),
                "{}: attack {:?}, response {:?}, references {:?}",
                rule.name,
                metadata.attack,
                metadata.response,
                metadata.references
            );
        }
    }

    /// docs/RULES.md is `trailbell rules list --format markdown`'s output; regenerate it with
    /// that command when this fails.
    #[test]
    fn docs_rules_md_is_generated_from_the_rule_files() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/RULES.md");
        let doc = std::fs::read_to_string(&path).expect("docs/RULES.md exists");
        let generated = crate::rules::builtin_markdown();
        assert!(
            doc == generated,
            "docs/RULES.md is stale: run `trailbell rules list --format markdown > docs/RULES.md`"
        );
    }
}
