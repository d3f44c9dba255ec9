//! A pattern (the first line) and an event (the rest), both arbitrary: the compiled matcher's
//! validating reading must agree with the reference matcher, error for error and answer for answer,
//! and its trusted reading must agree too on the same event rewritten by serde_json (valid JSON
//! without repeated keys, which is what the trusted reading is promised).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailbell_pattern::{MatcherBuilder, Pattern};

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let (Ok(text), event) = (std::str::from_utf8(&data[..newline]), &data[newline + 1..]) else {
        return;
    };
    let Ok(pattern) = Pattern::parse(text) else {
        return;
    };
    let expected = pattern.matches(event);
    let mut builder = MatcherBuilder::new();
    builder.add_pattern("p", pattern);
    let matcher = builder.build();
    let mut cache = matcher.new_cache();
    let mut out = Vec::new();
    let got = matcher.matches_with(&mut cache, event, &mut out);
    match (&expected, &got) {
        (Ok(m), Ok(())) => assert_eq!(*m, !out.is_empty(), "validating reading disagrees"),
        (Err(a), Err(b)) => assert_eq!(a, b, "readings refuse differently"),
        _ => panic!("readers disagree: reference {expected:?}, compiled {got:?}"),
    }
    let Ok(expected) = expected else { return };
    let Ok(normalized) = serde_json::from_slice::<serde_json::Value>(event) else {
        return;
    };
    let normalized = normalized.to_string();
    let got = matcher.matches_trusted_with(&mut cache, normalized.as_bytes(), &mut out);
    assert!(got.is_ok(), "trusted reading refused valid JSON: {got:?}");
    assert_eq!(expected, !out.is_empty(), "trusted reading disagrees");
});
