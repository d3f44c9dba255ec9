//! Where a rule's events land, and which rule state lets them through, read from its event
//! pattern.
//!
//! An EventBridge rule sees only the events of its own region, and CloudTrail records some events
//! in one region only: root sign-ins and IAM, STS and CloudFront calls in us-east-1; IAM-user
//! sign-ins through the global endpoint in one of four regions, through a regional endpoint in that
//! region. The analysis reads only the plain strings a pattern lists for `source`,
//! `detail.eventSource`, `detail.userIdentity.type` and `detail.eventName`; a field constrained in
//! any other way (a prefix, `anything-but`, `$or`) counts as unconstrained, which only ever widens
//! the set of regions, never narrows it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cloudtrail::{detail_type, source_of};

/// The region CloudTrail records global services' events in.
pub const GLOBAL_REGION: &str = "us-east-1";

/// The regions where sign-ins through the global sign-in endpoint are recorded, besides every
/// region with a regional sign-in endpoint (which `--regions` names).
pub const SIGN_IN_REGIONS: [&str; 4] = ["us-east-1", "us-east-2", "eu-north-1", "ap-southeast-2"];

/// Services whose API calls CloudTrail records in [`GLOBAL_REGION`] only.
const GLOBAL_SOURCES: [&str; 3] = ["aws.iam", "aws.sts", "aws.cloudfront"];

/// The CloudTrail event types EventBridge delivers, as their `detail-type`s.
const EVENT_TYPES: [&str; 5] = [
    "AwsApiCall",
    "AwsConsoleSignIn",
    "AwsServiceEvent",
    "AwsConsoleAction",
    "AwsCloudTrailInsight",
];

/// Verbs of read-only calls; EventBridge delivers those only to rules in state
/// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
const READ_ONLY_PREFIXES: [&str; 4] = ["Describe", "Get", "List", "Head"];

/// What a rule's pattern says about the events it can match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    /// Where the rule must be deployed, sorted.
    pub regions: BTreeSet<String>,
    /// Whether the pattern can match a read-only management event.
    pub needs_read_only: bool,
    /// Whether the pattern can match a console sign-in.
    pub sign_in: bool,
}

/// Where the events of `pattern` (an event pattern's JSON) land, given the regions asked for.
///
/// ```
/// use trailbell::deploy::regions::landing;
///
/// let asked = ["eu-west-1".to_owned()];
/// let root = landing(r#"{"source": ["aws.signin"], "detail": {"userIdentity": {"type": ["Root"]}}}"#, &asked);
/// assert_eq!(root.regions.into_iter().collect::<Vec<_>>(), ["us-east-1"]);
/// let ec2 = landing(r#"{"source": ["aws.ec2"], "detail": {"eventName": ["StopInstances"]}}"#, &asked);
/// assert_eq!(ec2.regions.into_iter().collect::<Vec<_>>(), ["eu-west-1"]);
/// assert!(!ec2.needs_read_only);
/// ```
pub fn landing(pattern: &str, asked: &[String]) -> Landing {
    let value: Value = serde_json::from_str(pattern).unwrap_or(Value::Null);
    let detail = value.get("detail");
    let sources = sources(&value);
    let types = strings(
        detail
            .and_then(|d| d.get("userIdentity"))
            .and_then(|u| u.get("type")),
    );
    let detail_types = strings(value.get("detail-type"));
    let sign_in_possible = |source_any: bool| {
        (source_any || sources.as_ref().is_some_and(|s| s.contains("aws.signin")))
            && detail_types.as_ref().is_none_or(|d| {
                d.iter()
                    .any(|t| t.eq_ignore_ascii_case("AWS Console Sign In via CloudTrail"))
            })
    };
    let root_only = types
        .as_ref()
        .is_some_and(|t| t.iter().all(|t| t == "Root"));

    let mut regions = BTreeSet::new();
    let add_sign_in = |regions: &mut BTreeSet<String>| {
        if root_only {
            regions.insert(GLOBAL_REGION.to_owned());
        } else {
            regions.extend(SIGN_IN_REGIONS.iter().map(|r| (*r).to_owned()));
            regions.extend(asked.iter().cloned());
        }
    };
    let sign_in = match &sources {
        Some(sources) => {
            for source in sources {
                if source == "aws.signin" {
                    if sign_in_possible(false) {
                        add_sign_in(&mut regions);
                    }
                } else if GLOBAL_SOURCES.contains(&source.as_str()) {
                    regions.insert(GLOBAL_REGION.to_owned());
                } else {
                    regions.extend(asked.iter().cloned());
                }
            }
            sign_in_possible(false)
        }
        None => {
            // Any service: its own region's events, plus the global ones.
            regions.extend(asked.iter().cloned());
            regions.insert(GLOBAL_REGION.to_owned());
            if sign_in_possible(true) {
                add_sign_in(&mut regions);
            }
            sign_in_possible(true)
        }
    };
    if regions.is_empty() {
        // A source set that matched nothing above (a sign-in rule whose detail-type excludes
        // sign-ins): deploy where asked, so the rule is at least visible.
        regions.extend(asked.iter().cloned());
    }
    Landing {
        regions,
        needs_read_only: needs_read_only(&value),
        sign_in,
    }
}

/// The `source` values a pattern allows, from `source` or else `detail.eventSource`; `None` when
/// either is absent or not a list of plain strings.
fn sources(pattern: &Value) -> Option<BTreeSet<String>> {
    if let Some(source) = pattern.get("source") {
        return strings(Some(source));
    }
    let event_sources = strings(pattern.get("detail").and_then(|d| d.get("eventSource")))?;
    Some(event_sources.iter().map(|s| source_of(s)).collect())
}

/// The values of a pattern field that lists only plain strings; `None` for anything else.
fn strings(field: Option<&Value>) -> Option<BTreeSet<String>> {
    let list = field?.as_array()?;
    list.iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<BTreeSet<String>>>()
}

/// Whether the pattern can match a read-only management event: it allows API calls, and its
/// `eventName` is unconstrained, constrained by anything but plain strings, or names a read-only
/// call; or it asks for `readOnly: true`.
fn needs_read_only(pattern: &Value) -> bool {
    let api_calls = strings(pattern.get("detail-type"))
        .is_none_or(|d| d.iter().any(|t| t == "AWS API Call via CloudTrail"));
    if !api_calls {
        return false;
    }
    let detail = pattern.get("detail");
    if let Some(read_only) = detail
        .and_then(|d| d.get("readOnly"))
        .and_then(Value::as_array)
    {
        return read_only.iter().any(|v| v == &Value::Bool(true));
    }
    match strings(detail.and_then(|d| d.get("eventName"))) {
        None => true,
        Some(names) => names
            .iter()
            .any(|n| READ_ONLY_PREFIXES.iter().any(|p| n.starts_with(p))),
    }
}

/// Why a pattern can never match an event as EventBridge delivers it from CloudTrail, or `None`
/// when it can (or does not claim to be about CloudTrail).
///
/// A pattern is about CloudTrail when a `detail-type` value mentions CloudTrail. Then every
/// `detail-type` value must be one CloudTrail uses (checked exactly, as EventBridge does) and every
/// `source` value must have the `aws.<service>` form.
///
/// ```
/// use trailbell::deploy::regions::never_matches_cloudtrail;
///
/// let old = r#"{"source": ["aws.signin"], "detail-type": ["AWS Console Signin via CloudTrail"]}"#;
/// assert!(never_matches_cloudtrail(old).is_some());
/// let right = r#"{"source": ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"]}"#;
/// assert_eq!(never_matches_cloudtrail(right), None);
/// ```
pub fn never_matches_cloudtrail(pattern: &str) -> Option<String> {
    let value: Value = serde_json::from_str(pattern).ok()?;
    let detail_types = strings(value.get("detail-type"))?;
    if !detail_types
        .iter()
        .any(|t| t.to_ascii_lowercase().contains("cloudtrail"))
    {
        return None;
    }
    let known: Vec<&str> = EVENT_TYPES.iter().filter_map(|t| detail_type(t)).collect();
    let unknown: Vec<&String> = detail_types
        .iter()
        .filter(|t| !known.contains(&t.as_str()))
        .collect();
    if !unknown.is_empty() {
        let suggestions: Vec<String> = unknown
            .iter()
            .map(|t| match closest(t, &known) {
                Some(k) => format!("{t:?} (did you mean {k:?}?)"),
                None => format!("{t:?}"),
            })
            .collect();
        return Some(format!(
            "detail-type {} is not one CloudTrail sends; it sends {}",
            suggestions.join(", "),
            known
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let bad_sources: Vec<String> = strings(value.get("source"))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| {
            !s.starts_with("aws.") || s.ends_with(".amazonaws.com") || s.len() <= "aws.".len()
        })
        .collect();
    if !bad_sources.is_empty() {
        return Some(format!(
            "source {} is not of the form \"aws.<service>\" CloudTrail events carry \
             (eventSource \"signin.amazonaws.com\" arrives as source \"aws.signin\")",
            bad_sources
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    None
}

/// The known value equal to `text` once case and spaces are ignored.
fn closest<'a>(text: &str, known: &[&'a str]) -> Option<&'a str> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    known.iter().copied().find(|k| squash(k) == squash(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RulePack;

    fn asked() -> Vec<String> {
        vec!["eu-west-1".to_owned()]
    }

    fn regions_of(pattern: &str) -> Vec<String> {
        landing(pattern, &asked()).regions.into_iter().collect()
    }

    #[test]
    fn iam_user_sign_ins_go_to_every_sign_in_region_and_the_asked_ones() {
        let pattern = r#"{"source": ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"],
            "detail": {"userIdentity": {"type": ["Root", "IAMUser"]}}}"#;
        assert_eq!(
            regions_of(pattern),
            [
                "ap-southeast-2",
                "eu-north-1",
                "eu-west-1",
                "us-east-1",
                "us-east-2"
            ]
        );
    }

    #[test]
    fn iam_sts_and_cloudfront_calls_go_to_us_east_1_only() {
        for source in ["aws.iam", "aws.sts", "aws.cloudfront"] {
            let pattern = format!(r#"{{"source": ["{source}"]}}"#);
            assert_eq!(regions_of(&pattern), ["us-east-1"], "{source}");
        }
        let by_event_source = r#"{"detail": {"eventSource": ["iam.amazonaws.com"]}}"#;
        assert_eq!(regions_of(by_event_source), ["us-east-1"]);
    }

    #[test]
    fn a_pattern_without_source_goes_to_the_asked_regions_and_the_global_one() {
        let pattern = r#"{"detail-type": ["AWS API Call via CloudTrail"]}"#;
        assert_eq!(regions_of(pattern), ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn read_only_state_follows_event_name() {
        let needs = |p: &str| landing(p, &asked()).needs_read_only;
        assert!(needs(r#"{"source": ["aws.s3"]}"#));
        assert!(needs(r#"{"detail": {"eventName": ["GetObject"]}}"#));
        assert!(needs(
            r#"{"detail": {"eventName": [{"anything-but": "HeadBucket"}]}}"#
        ));
        assert!(!needs(r#"{"detail": {"eventName": ["DeleteBucket"]}}"#));
        assert!(!needs(
            r#"{"detail-type": ["AWS Console Sign In via CloudTrail"]}"#
        ));
        assert!(!needs(r#"{"detail": {"readOnly": [false]}}"#));
    }

    #[test]
    fn every_builtin_rule_can_match_cloudtrail() {
        for rule in RulePack::builtin().rules() {
            assert_eq!(
                never_matches_cloudtrail(&rule.event_pattern),
                None,
                "{}",
                rule.name
            );
        }
    }

    #[test]
    fn an_event_source_in_source_never_matches() {
        let pattern = r#"{"source": ["signin.amazonaws.com"], "detail-type": ["AWS Console Sign In via CloudTrail"]}"#;
        let why = never_matches_cloudtrail(pattern).expect("a finding");
        assert!(why.contains("signin.amazonaws.com"), "{why}");
    }
}
