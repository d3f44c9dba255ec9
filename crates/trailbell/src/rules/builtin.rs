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
        "console-sign-in",
        "iam-user-created-or-deleted",
        "root-console-sign-in",
    ]
);

/// The built-in event fixtures, `rules/events/<name>.json`, sorted by name.
pub(crate) const EVENT_FILES: &[(&str, &str)] = embed!(
    "rules/events/",
    ".json",
    [
        "cloudtrail-stop-logging",
        "console-login-iam-failure",
        "console-login-iam-mfa",
        "console-login-iam-no-mfa",
        "console-login-root-failure",
        "console-login-root-mfa",
        "console-login-root-no-mfa",
        "console-login-saml",
        "console-login-sso",
        "console-login-unknown-user",
        "ec2-describe-instances",
        "ec2-sg-ingress-open-22",
        "ec2-stop-instances",
        "ec2-unauthorized",
        "iam-create-user",
        "iam-delete-user",
        "rds-delete-db-instance",
        "s3-put-bucket-policy",
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
