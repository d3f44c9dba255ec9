//! Arbitrary bytes as an event against a fixed rule set: the compiled matcher must never panic and
//! must agree with the reference matcher, error for error and rule for rule.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trailbell_pattern::{Matcher, MatcherBuilder, ReferenceMatcher};

const RULES: &[&str] = &[
    r#"{"a": ["x", 1, null, true]}"#,
    r#"{"a": {"b": [{"prefix": "x"}], "c": [{"exists": false}]}}"#,
    r#"{"a": [{"anything-but": {"equals-ignore-case": ["X", "é"]}}]}"#,
    r#"{"a": [{"numeric": [">", 0, "<=", 5]}, {"cidr": "10.0.0.0/8"}]}"#,
    r#"{"$or": [{"a": [{"wildcard": "x*y"}]}, {"b": {"c": [{"suffix": {"equals-ignore-case": "Y"}}]}}]}"#,
    r#"{"a": {"b": [{"exists": true}]}, "b": [{"anything-but": [1, 2]}]}"#,
];

fn matchers() -> &'static (Matcher, ReferenceMatcher) {
    static MATCHERS: OnceLock<(Matcher, ReferenceMatcher)> = OnceLock::new();
    MATCHERS.get_or_init(|| {
        let mut builder = MatcherBuilder::new();
        let mut reference = ReferenceMatcher::new();
        for (i, rule) in RULES.iter().enumerate() {
            builder.add_rule(&format!("r{i}"), rule).expect("valid rule");
            reference.add_rule(&format!("r{i}"), rule).expect("valid rule");
        }
        (builder.build(), reference)
    })
}

fuzz_target!(|event: &[u8]| {
    let (matcher, reference) = matchers();
    let compiled = matcher.matches(event);
    let expected = reference.matches(event);
    match (&compiled, &expected) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("readers disagree: compiled {compiled:?}, reference {expected:?}"),
    }
    // The trusted reading may answer differently on invalid bytes, but must never panic.
    let mut cache = matcher.new_cache();
    let mut out = Vec::new();
    let _ = matcher.matches_trusted_with(&mut cache, event, &mut out);
});
