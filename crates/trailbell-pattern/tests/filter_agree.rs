//! Property tests for filter patterns: on generated patterns and records, the compiled path
//! ([`FilterMatcher`]: the event-pattern translation in the compiled matcher, plus the direct
//! check on candidates of inexact translations) agrees with the direct evaluator; an exact
//! translation alone agrees with it too; and nothing panics.

use proptest::prelude::*;
use serde_json::{Value, json};
use trailbell_pattern::{FilterMatcherBuilder, FilterPattern, Pattern};

const NAMES: &[&str] = &["a", "b", "c"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("")),
        Just(json!("x")),
        Just(json!("xy")),
        Just(json!("Yes")),
        Just(json!("YES")),
        Just(json!("x*y")),
        Just(json!("5")),
        Just(json!(0)),
        Just(json!(5)),
        Just(json!(5.0)),
        Just(json!(-2.5)),
        Just(json!(1e3)),
        Just(json!(true)),
        Just(json!(false)),
        Just(Value::Null),
    ]
}

fn record_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            3 => prop::collection::btree_map(prop::sample::select(NAMES), inner, 0..3).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn record() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(NAMES), record_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn selector() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        6 => prop::sample::select(NAMES).prop_map(|n| format!(".{n}")),
        1 => Just("[0]".to_owned()),
        1 => Just("[*]".to_owned()),
    ];
    (
        prop::sample::select(NAMES),
        prop::collection::vec(step, 0..3),
    )
        .prop_map(|(first, rest)| format!("$.{first}{}", rest.concat()))
}

fn test() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "= x",
            "= \"x\"",
            "!= x",
            "!= \"Yes\"",
            "= Yes",
            "= x*",
            "= \"*y\"",
            "!= x*",
            "= *",
            "!= *",
            "= 5",
            "= 5.0e0",
            "!= 5",
            "> 0",
            ">= 5",
            "< 1e3",
            "<= -2.5",
            "= %x.%",
            "!= %^x%",
            "IS TRUE",
            "IS FALSE",
            "IS NULL",
            "NOT EXISTS",
        ][..],
    )
    .prop_map(str::to_owned)
}

fn expr() -> impl Strategy<Value = String> {
    let cond = (selector(), test()).prop_map(|(s, t)| format!("{s} {t}"));
    cond.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" && "))),
            prop::collection::vec(inner, 2..4).prop_map(|v| format!("({})", v.join(" || "))),
        ]
    })
}

fn filter() -> impl Strategy<Value = String> {
    expr().prop_map(|e| format!("{{ {e} }}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn compiled_agrees_with_direct(
        texts in prop::collection::vec(filter(), 1..4),
        rec in prop_oneof![record(), dense_record()],
    ) {
        let filters: Vec<FilterPattern> = texts
            .iter()
            .map(|t| FilterPattern::parse(t).expect("generated patterns are valid"))
            .collect();
        let mut builder = FilterMatcherBuilder::new();
        for (i, f) in filters.iter().enumerate() {
            builder.add(&format!("f{i}"), f.clone());
        }
        let matcher = builder.build();
        let bytes = rec.to_string();
        let compiled = matcher.matches(bytes.as_bytes()).expect("a generated record is an object");
        let direct: Vec<usize> = filters
            .iter()
            .enumerate()
            .filter(|(_, f)| f.matches_record(&rec))
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(&compiled, &direct, "filters {:?} on {}", texts, bytes);
    }

    #[test]
    fn a_translation_is_exact_or_wider(text in filter(), rec in record()) {
        let filter = FilterPattern::parse(&text).expect("generated patterns are valid");
        let direct = filter.matches_record(&rec);
        let translation = filter.translation();
        let Some(pattern) = translation.on_record() else {
            prop_assert!(!translation.is_exact());
            return Ok(());
        };
        let pattern = Pattern::parse(&pattern).expect("translations are valid event patterns");
        let translated = pattern.matches(rec.to_string().as_bytes()).expect("an object");
        if translation.is_exact() {
            prop_assert_eq!(translated, direct, "{} as {:?} on {}", text, translation.on_record(), rec);
        } else {
            prop_assert!(translated || !direct, "{} as {:?} on {}", text, translation.on_record(), rec);
        }
    }

    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,40}") {
        if let Ok(filter) = FilterPattern::parse(&text) {
            let _ = filter.matches_message(&text);
            let _ = filter.translation();
        }
    }

    #[test]
    fn parsing_pattern_like_text_never_panics(
        text in "[{}()$.\\[\\]0-9a-z*=!<>&|\" %]{0,40}",
    ) {
        if let Ok(filter) = FilterPattern::parse(&text) {
            let _ = filter.matches_message("{\"a\": [1, {\"b\": \"x\"}]}");
            let _ = filter.translation();
        }
    }
}

fn eb_matcher() -> impl Strategy<Value = Value> {
    // Mostly matchers with a filter form, so that most generated patterns convert.
    prop_oneof![
        4 => Just(json!("x")),
        2 => Just(json!("Yes")),
        3 => Just(json!(5)),
        2 => Just(json!(true)),
        2 => Just(Value::Null),
        3 => Just(json!({"prefix": "x"})),
        2 => Just(json!({"prefix": ""})),
        2 => Just(json!({"suffix": "y"})),
        2 => Just(json!({"wildcard": "x*y"})),
        3 => Just(json!({"anything-but": "x"})),
        2 => Just(json!({"anything-but": 5})),
        1 => Just(json!({"anything-but": ["x", "y"]})),
        2 => Just(json!({"anything-but": {"prefix": "x"}})),
        2 => Just(json!({"numeric": [">", 0]})),
        2 => Just(json!({"numeric": ["<=", 5]})),
        1 => Just(json!({"numeric": [">", 0, "<", 5]})),
        3 => Just(json!({"exists": true})),
        1 => Just(json!({"exists": false})),
        1 => Just(json!({"equals-ignore-case": "x"})),
    ]
}

fn eb_record_pattern() -> impl Strategy<Value = Value> {
    let leaf = prop::collection::vec(eb_matcher(), 1..3).prop_map(Value::Array);
    let nested = leaf.prop_recursive(2, 6, 2, |inner| {
        prop::collection::btree_map(prop::sample::select(NAMES), inner, 1..=2)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    });
    prop::collection::btree_map(prop::sample::select(NAMES), nested, 1..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// Records dense in arrays of small objects, where EventBridge's array consistency shows.
fn dense_record() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![Just(json!("x")), Just(json!(5)), Just(json!("xy"))];
    let small = prop::collection::btree_map(prop::sample::select(NAMES), scalar, 1..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    let array = prop::collection::vec(small, 1..4).prop_map(Value::Array);
    prop::collection::btree_map(prop::sample::select(NAMES), array, 1..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn an_event_pattern_said_as_a_filter_pattern_matches_the_same_records(
        on_record in eb_record_pattern(),
        rec in prop_oneof![record(), dense_record()],
    ) {
        let event_pattern = json!({ "detail": on_record }).to_string();
        let Ok(text) = trailbell_pattern::filter_pattern_for(&event_pattern, "detail") else {
            return Ok(());
        };
        let filter = FilterPattern::parse(&text).expect("a conversion parses");
        let pattern = Pattern::parse(&event_pattern).expect("generated patterns are valid");
        let envelope = json!({ "detail": rec }).to_string();
        let by_event = pattern.matches(envelope.as_bytes()).expect("an object");
        prop_assert_eq!(by_event, filter.matches_record(&rec), "{} as {} on {}", event_pattern, text, rec);
    }
}
