//! Arbitrary bytes as a CloudTrail file (gzip or not, `{"Records": [...]}`, JSON lines): reading
//! never panics, and every envelope it takes is one the service reads (`trailbell::event::read`,
//! the door whose reading both matches and renders), so that nothing taken is dropped later;
//! every other value is refused with its index, in file order.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(read) = trailbell::cloudtrail::file_events(data) else {
        return;
    };
    for event in &read.events {
        if let Err(err) = trailbell::event::read(event.envelope.as_bytes()) {
            panic!("an envelope the service refuses ({err}): {}", event.envelope);
        }
    }
    let mut indexes: Vec<usize> = read.refused.iter().map(|refused| refused.index).collect();
    indexes.dedup();
    assert_eq!(indexes.len(), read.refused.len(), "refused indexes repeat: {:?}", read.refused);
    assert!(
        read.refused.windows(2).all(|pair| pair[0].index < pair[1].index),
        "refused out of order: {:?}",
        read.refused
    );
});
