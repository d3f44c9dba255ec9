//! Property tests: for generated patterns and events, the compiled matcher agrees with the
//! reference matcher, rule for rule, and neither panics.

use proptest::prelude::*;
use serde_json::{Value, json};
use trailbell_pattern::{MatcherBuilder, Pattern, ReferenceMatcher};

const NAMES: &[&str] = &["a", "b", "c"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("")),
        Just(json!("x")),
        Just(json!("xy")),
        Just(json!("Xy")),
        Just(json!("yx")),
        Just(json!("x*y")),
        Just(json!("10.0.0.1")),
        Just(json!("2001:db8::1")),
        Just(json!("3")),
        Just(json!("É")),
        Just(json!(0)),
        Just(json!(-0.0)),
        Just(json!(3)),
        Just(json!(3.0)),
        Just(json!(-5.5)),
        Just(json!(1e300)),
        Just(json!(true)),
        Just(json!(false)),
        Just(Value::Null),
    ]
}

fn event_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(NAMES), inner, 0..3).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(NAMES), event_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn matcher() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => scalar(),
        1 => Just(json!({"prefix": "x"})),
        1 => Just(json!({"prefix": ""})),
        1 => Just(json!({"suffix": "y"})),
        1 => Just(json!({"prefix": {"equals-ignore-case": "X"}})),
        1 => Just(json!({"suffix": {"equals-ignore-case": "Y"}})),
        1 => Just(json!({"equals-ignore-case": "xY"})),
        1 => Just(json!({"equals-ignore-case": "é"})),
        1 => Just(json!({"wildcard": "x*"})),
        1 => Just(json!({"wildcard": "*y"})),
        1 => Just(json!({"wildcard": "x\\*y"})),
        1 => Just(json!({"anything-but": "x"})),
        1 => Just(json!({"anything-but": [3, 0]})),
        1 => Just(json!({"anything-but": {"prefix": "x"}})),
        1 => Just(json!({"anything-but": {"suffix": "y"}})),
        1 => Just(json!({"anything-but": {"prefix": ["x", "X"]}})),
        1 => Just(json!({"anything-but": {"suffix": ["y", "xy"]}})),
        1 => Just(json!({"exactly": "x"})),
        1 => Just(json!({"anything-but": {"equals-ignore-case": ["X", "XY"]}})),
        1 => Just(json!({"anything-but": {"wildcard": ["*y"]}})),
        1 => Just(json!({"numeric": [">", 0]})),
        1 => Just(json!({"numeric": [">=", -5.5, "<", 3]})),
        1 => Just(json!({"numeric": ["=", 3]})),
        1 => Just(json!({"exists": true})),
        2 => Just(json!({"exists": false})),
        1 => Just(json!({"cidr": "10.0.0.0/8"})),
        1 => Just(json!({"cidr": "2001:db8::/32"})),
    ]
}

fn object_pattern() -> impl Strategy<Value = Value> {
    let leaf = prop::collection::vec(matcher(), 1..3).prop_map(Value::Array);
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            3 => prop::collection::btree_map(prop::sample::select(NAMES), inner.clone(), 1..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            1 => (
                prop::collection::btree_map(prop::sample::select(NAMES), inner.clone(), 1..2),
                prop::collection::btree_map(prop::sample::select(NAMES), inner, 1..2),
            )
                .prop_map(|(x, y)| {
                    let obj = |m: std::collections::BTreeMap<&str, Value>| {
                        Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                    };
                    json!({"$or": [obj(x), obj(y)]})
                }),
        ]
    })
}

fn pattern() -> impl Strategy<Value = Value> {
    object_pattern().prop_map(|p| match p {
        Value::Array(_) => json!({ "a": p }),
        other => other,
    })
}

/// A small world where arrays of objects and shared field names are common, so that array
/// consistency and `exists: false` inside arrays are exercised densely.
fn dense_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![Just(json!("x")), Just(json!(1)), Just(Value::Null)];
    scalar.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            2 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            3 => prop::collection::btree_map(prop::sample::select(&NAMES[..2]), inner, 0..3).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn dense_event() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(&NAMES[..2]), dense_value(), 1..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn dense_pattern() -> impl Strategy<Value = Value> {
    let matcher = prop_oneof![
        Just(json!("x")),
        Just(json!(1)),
        Just(json!({"exists": true})),
        Just(json!({"exists": false})),
        Just(json!({"anything-but": "x"})),
    ];
    let leaf = prop::collection::vec(matcher, 1..2).prop_map(Value::Array);
    let object = leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            3 => prop::collection::btree_map(prop::sample::select(&NAMES[..2]), inner.clone(), 1..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            1 => (inner.clone(), inner).prop_map(|(x, y)| json!({"$or": [{"a": x}, {"b": y}]})),
        ]
    });
    object.prop_map(|p| match p {
        Value::Array(_) => json!({ "a": p }),
        other => other,
    })
}

fn assert_agree(patterns: &[Value], events: &[Value]) -> Result<(), TestCaseError> {
    let mut builder = MatcherBuilder::new();
    let mut reference = ReferenceMatcher::new();
    for (i, p) in patterns.iter().enumerate() {
        let text = p.to_string();
        let Ok(parsed) = Pattern::parse(&text) else {
            continue;
        };
        builder.add_pattern(&format!("r{i}"), parsed.clone());
        reference.add_pattern(&format!("r{i}"), parsed);
    }
    let matcher = builder.build();
    let needs = matcher.text_requirements(&[]);
    let mut cache = matcher.new_cache();
    let mut out = Vec::new();
    for e in events {
        let bytes = e.to_string();
        let expected = reference
            .matches(bytes.as_bytes())
            .expect("generated events are valid");
        matcher
            .matches_with(&mut cache, bytes.as_bytes(), &mut out)
            .expect("generated events are valid");
        let shown: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        prop_assert_eq!(&expected, &out, "patterns {:?} event {}", shown, bytes);
        if let (false, Some(needs)) = (expected.is_empty(), &needs) {
            let text = bytes.as_bytes();
            prop_assert!(
                needs.escapes().iter().any(|e| contains(text, e))
                    || needs.could_match(|i| contains(text, &needs.texts()[i])),
                "a matching event lacks the texts it needs ({:?}): patterns {:?} event {}",
                needs,
                shown,
                bytes
            );
        }
        // serde_json writes valid JSON with no repeated keys: the trusted reading must agree too.
        matcher
            .matches_trusted_with(&mut cache, bytes.as_bytes(), &mut out)
            .expect("generated events are valid");
        prop_assert_eq!(
            &expected,
            &out,
            "trusted: patterns {:?} event {}",
            shown,
            bytes
        );
    }
    Ok(())
}

fn contains(text: &[u8], literal: &[u8]) -> bool {
    literal.is_empty() || text.windows(literal.len()).any(|w| w == literal)
}

#[test]
fn trusted_reading_of_broken_escapes_never_panics() {
    // Regression for a fuzz find: unpaired surrogates in names the trusted reading does not check.
    let mut builder = MatcherBuilder::new();
    builder
        .add_rule("a", r#"{"yy": {"a": [1]}}"#)
        .expect("valid");
    let matcher = builder.build();
    let mut cache = matcher.new_cache();
    let mut out = Vec::new();
    for event in [
        &br#"{"yy240d\ud83d\ud83d\": 1}"#[..],
        br#"{"\ud83d\ud83d": 1, "yy": {"a": 1}}"#,
        br#"{"\udc00": {"a": 1}}"#,
        br#"{"yy": {"\u12": 1}}"#,
    ] {
        let _ = matcher.matches_trusted_with(&mut cache, event, &mut out);
        assert!(matcher.matches_with(&mut cache, event, &mut out).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn compiled_matcher_agrees_with_reference_on_dense_arrays(
        patterns in prop::collection::vec(dense_pattern(), 1..5),
        events in prop::collection::vec(dense_event(), 1..5),
    ) {
        assert_agree(&patterns, &events)?;
    }

    #[test]
    fn compiled_matcher_agrees_with_reference(
        patterns in prop::collection::vec(pattern(), 1..6),
        events in prop::collection::vec(event(), 1..6),
    ) {
        assert_agree(&patterns, &events)?;
    }

    #[test]
    fn trusted_reading_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let mut builder = MatcherBuilder::new();
        builder.add_rule("a", r#"{"a": {"b": [{"prefix": "x"}]}, "c": [{"exists": false}]}"#).expect("valid");
        let matcher = builder.build();
        let (mut cache, mut out) = (matcher.new_cache(), Vec::new());
        let _ = matcher.matches_trusted_with(&mut cache, &bytes, &mut out);
    }

    #[test]
    fn trusted_reading_never_panics_on_cut_or_damaged_events(
        patterns in prop::collection::vec(pattern(), 1..4),
        event in event(),
        cut in any::<prop::sample::Index>(),
        damage in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        // Compact JSON, as the short-field path reads it, broken the ways a careless caller might:
        // cut anywhere, or one byte overwritten.
        let mut bytes = serde_json::to_vec(&event).expect("serialisable");
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Some((at, byte)) = damage
            && !bytes.is_empty()
        {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let mut builder = MatcherBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            builder.add_rule(&format!("r{i}"), &pattern.to_string()).expect("valid");
        }
        let matcher = builder.build();
        let (mut cache, mut out) = (matcher.new_cache(), Vec::new());
        // The same cache for every reading, so that one event's state meets the next's.
        for _ in 0..2 {
            let _ = matcher.matches_trusted_with(&mut cache, &bytes, &mut out);
            let _ = matcher.matches_with(&mut cache, &bytes, &mut out);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_both_readers_agree(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut builder = MatcherBuilder::new();
        builder.add_rule("a", r#"{"a": [{"exists": true}]}"#).expect("valid");
        let mut reference = ReferenceMatcher::new();
        reference.add_rule("a", r#"{"a": [{"exists": true}]}"#).expect("valid");
        let compiled = builder.build().matches(&bytes);
        let expected = reference.matches(&bytes);
        prop_assert_eq!(compiled.is_ok(), expected.is_ok());
    }

    #[test]
    fn json_like_text_reads_the_same_in_both_readers(text in r#"[{}\[\]":,a0-9.eE+\- tnrulfs\\]{0,40}"#) {
        let mut builder = MatcherBuilder::new();
        builder.add_rule("a", r#"{"a": [{"exists": true}]}"#).expect("valid");
        let mut reference = ReferenceMatcher::new();
        reference.add_rule("a", r#"{"a": [{"exists": true}]}"#).expect("valid");
        let compiled = builder.build().matches(text.as_bytes());
        let expected = reference.matches(text.as_bytes());
        prop_assert_eq!(compiled.is_ok(), expected.is_ok(), "{}", text);
        if let (Ok(a), Ok(b)) = (compiled, expected) {
            prop_assert_eq!(a, b);
        }
    }
}
