//! `/metrics` as a scraper reads it (issue 14, item 8): after PutEvents and delivery to a webhook,
//! every sample line parses, the counters count, the PutEvents histogram's buckets are cumulative
//! and end at its count, and `trailbell_build_info` names this build's version.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::recorder::{Recorder, Reply};
use crate::common::service::{
    DOOR_RULE, ServiceProcess, metrics_text, put_events, start_with_webhook,
};
use serde_json::json;

/// Samples by `name{labels}` as written; panics on a sample line that is not `series value`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|err| panic!("{line}: the value does not parse: {err}"));
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

async fn scrape(service: &ServiceProcess) -> (String, BTreeMap<String, f64>) {
    let text = metrics_text(service).await;
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_put_events_and_deliveries_and_name_the_build() {
    let hook = Recorder::always(Reply::ok());
    let (_dir, service) = start_with_webhook(&hook.url("/"), DOOR_RULE);
    for n in 0..2 {
        let entry =
            json!({"Source": "test.door", "DetailType": "t", "Detail": format!(r#"{{"n": {n}}}"#)});
        let answer = put_events(&service.address, json!([entry])).await;
        assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    }
    hook.wait_for(2).await;
    // Both counts follow the webhook's answers: the gauge once the worker wrote them to the
    // outbox, the counter once the service heard the worker's outcome.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (text, samples) = loop {
        let (text, samples) = scrape(&service).await;
        let delivered = r#"trailbell_deliveries_total{destination="hook",outcome="delivered"}"#;
        if samples.get(r#"trailbell_pending{destination="hook"}"#) == Some(&0.0)
            && samples.get(delivered) == Some(&2.0)
        {
            break (text, samples);
        }
        assert!(Instant::now() < deadline, "not delivered: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(samples["trailbell_events_in_total"], 2.0, "{text}");
    assert_eq!(samples["trailbell_matched_total"], 2.0, "{text}");
    assert_eq!(samples["trailbell_enqueued_total"], 2.0, "{text}");
    assert!(
        text.contains("# TYPE trailbell_deliveries counter\n"),
        "{text}"
    );
    let hand_off = r#"trailbell_accepted_to_delivered_seconds_count{destination="hook"}"#;
    assert_eq!(samples.get(hand_off), Some(&2.0), "{text}");
    let version = format!(
        r#"trailbell_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(samples.get(&version), Some(&1.0), "{text}");

    let histogram = "trailbell_put_events_duration_seconds";
    assert!(
        text.contains(&format!("# TYPE {histogram} histogram\n")),
        "{text}"
    );
    let count = samples[&format!("{histogram}_count")];
    assert_eq!(count, 2.0, "{text}");
    assert!(samples[&format!("{histogram}_sum")] > 0.0, "{text}");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|(series, value)| {
            let le = series
                .strip_prefix(&format!("{histogram}_bucket{{le=\""))?
                .strip_suffix("\"}")?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("a bucket bound")
            };
            Some((bound, *value))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 2, "{text}");
    assert!(
        buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "buckets are cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, count)), "{text}");
    assert_eq!(service.terminate(), 0);
}
