//! Arbitrary bytes as a CloudTrail file (gzip or not, `{"Records": [...]}`, JSON lines): reading
//! never panics, and every envelope it makes is a JSON object that the engine reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailbell_pattern::Pattern;

fuzz_target!(|data: &[u8]| {
    let Ok(read) = trailbell::cloudtrail::file_events(data) else {
        return;
    };
    let any = Pattern::parse(r#"{"source": [{"exists": true}]}"#).expect("valid pattern");
    for event in &read.events {
        assert!(
            any.matches(event.envelope.as_bytes()).is_ok(),
            "an envelope the engine cannot read: {}",
            event.envelope
        );
    }
});
