//! Arbitrary `Authorization`, `X-Amz-Date` and `X-Amz-Content-Sha256` headers and body (lines of
//! the input): verification refuses or accepts, and never panics.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use trailbell::api::sigv4::{SignedRequest, verify};
use trailbell::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (authorization, date, sha, body) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    for (name, value) in [("authorization", authorization), ("x-amz-date", date), ("x-amz-content-sha256", sha)] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let keys = vec![("AKIDEXAMPLE".to_owned(), Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))];
    let request = SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };
    let now = jiff::Timestamp::from_second(1_764_000_000).expect("valid time");
    let _ = verify(&keys, &request, now);
});
