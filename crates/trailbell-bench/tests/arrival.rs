//! The benchmark binary times each engine in the ways asked for: events straight from the corpus,
//! events that just arrived, or both. A tiny run, no timing checked.

use std::process::Command;

use serde_json::Value;

/// Runs the binary on exact-1 over a few hundred events and returns its JSON line for the set.
fn exact_1(arrival: Option<&str>) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailbell-bench"));
    command.args([
        "--only", "exact-1", "--events", "300", "--passes", "2", "--no-rss", "--json",
    ]);
    if let Some(way) = arrival {
        command.args(["--arrival", way]);
    }
    let output = command.output().expect("the benchmark runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["type"] == "set")
        .expect("a line for the set")
}

/// Timed passes of each way, per engine.
fn passes(set: &Value, engine: &str) -> (u64, u64) {
    let engine = &set[engine];
    (
        engine["timed_passes"].as_u64().expect("in-memory passes"),
        engine["arrived_timed_passes"]
            .as_u64()
            .expect("arrived passes"),
    )
}

#[test]
fn both_ways_by_default_and_one_when_asked() {
    let both = exact_1(None);
    for engine in ["trailbell", "trusted", "quamina"] {
        assert_eq!(passes(&both, engine), (2, 2), "{engine}");
    }
    assert!(
        both["trusted_arrived_ratio"]
            .as_f64()
            .is_some_and(|r| r > 0.0)
    );
    assert!(both["trusted_ratio"].as_f64().is_some_and(|r| r > 0.0));

    let arrived = exact_1(Some("arrived"));
    assert_eq!(passes(&arrived, "trusted"), (0, 2));
    assert!(arrived["trusted_arrived_ratio"].as_f64().is_some());
    assert_eq!(arrived["agreement"]["status"], "agree");

    let in_memory = exact_1(Some("in-memory"));
    assert_eq!(passes(&in_memory, "trusted"), (2, 0));
    assert!(in_memory["trusted_arrived_ratio"].is_null());
}

#[test]
fn an_unknown_way_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_trailbell-bench"))
        .args(["--arrival", "sometimes"])
        .output()
        .expect("the benchmark runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--arrival needs"));
}
