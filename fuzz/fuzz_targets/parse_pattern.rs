//! Arbitrary text as a pattern: parsing must never panic, and a pattern that parses must build and
//! match without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailbell_pattern::{MatcherBuilder, Pattern};

fuzz_target!(|text: &str| {
    if let Ok(pattern) = Pattern::parse(text) {
        let _ = pattern.matches(br#"{"a": [1, "x", {"b": null}], "b": {"c": "y"}}"#);
        let mut builder = MatcherBuilder::new();
        builder.add_pattern("p", pattern);
        let _ = builder.build().matches(br#"{"a": "x"}"#);
    }
});
