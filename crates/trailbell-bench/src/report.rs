//! Output: an aligned table with notes, or JSON lines.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::engines::Failure;
use crate::run::{Agreement, EngineRun, SetResult};

/// `1234567.8` as `1,234,568`.
pub fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Option<std::time::Duration>) -> String {
    match d {
        Some(d) if d.as_secs_f64() < 0.01 => format!("{:.2} ms", d.as_secs_f64() * 1e3),
        Some(d) if d.as_secs_f64() < 10.0 => format!("{:.1} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
        None => "-".to_owned(),
    }
}

fn eps_cell(run: &EngineRun) -> String {
    cell(run, run.best_eps())
}

fn arrived_cell(run: &EngineRun) -> String {
    cell(run, run.best_arrived_eps())
}

fn cell(run: &EngineRun, eps: Option<f64>) -> String {
    if let Some(f) = &run.failure {
        return f.short().to_owned();
    }
    match eps {
        Some(eps) => format!(
            "{}{}",
            thousands(eps.round() as u64),
            if run.partial { "*" } else { "" }
        ),
        None => "-".to_owned(),
    }
}

fn matches_cell(run: &EngineRun) -> String {
    if run.failure.is_some() {
        "-".to_owned()
    } else {
        thousands(run.matches)
    }
}

fn rss_cell(run: &EngineRun) -> String {
    match &run.rss_kib {
        Some(Ok(kib)) if *kib >= 10 * 1024 => format!("{:.0} MiB", *kib as f64 / 1024.0),
        Some(Ok(kib)) if *kib >= 1024 => format!("{:.1} MiB", *kib as f64 / 1024.0),
        Some(Ok(kib)) => format!("{kib} KiB"),
        Some(Err(_)) => "failed".to_owned(),
        None => "-".to_owned(),
    }
}

/// The table's header line.
pub fn table_header() -> String {
    format!(
        "{:<24} {:<10} {:>6} {:>7}  {:>14} {:>12} {:>12} {:>6} {:>6}  {:>14} {:>12} {:>12} {:>6} {:>6}  {:>11} {:>11}  {:<8} {:>9} {:>9} {:>9} {:>9}",
        "set",
        "corpus",
        "rules",
        "events",
        "trailbell ev/s",
        "trusted ev/s",
        "quamina ev/s",
        "tb/q",
        "tr/q",
        "tb arrived",
        "tr arrived",
        "q arrived",
        "tb/q",
        "tr/q",
        "tb matches",
        "q matches",
        "agree",
        "tb build",
        "q build",
        "tb RSS",
        "q RSS"
    )
}

/// One table row.
pub fn table_row(r: &SetResult) -> String {
    let agree = match (&r.agreement(), &r.vs_quamina) {
        (Agreement::Mismatch { .. }, _) => "MISMATCH",
        (_, Agreement::Agree { .. }) => "yes",
        (Agreement::Agree { .. }, _) => "tb=tr",
        _ => "-",
    };
    let ratio = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    format!(
        "{:<24} {:<10} {:>6} {:>7}  {:>14} {:>12} {:>12} {:>6} {:>6}  {:>14} {:>12} {:>12} {:>6} {:>6}  {:>11} {:>11}  {:<8} {:>9} {:>9} {:>9} {:>9}",
        r.name,
        r.corpus,
        r.rules,
        r.events,
        eps_cell(&r.trailbell),
        eps_cell(&r.trusted),
        eps_cell(&r.quamina),
        ratio(r.ratio()),
        ratio(r.trusted_ratio()),
        arrived_cell(&r.trailbell),
        arrived_cell(&r.trusted),
        arrived_cell(&r.quamina),
        ratio(r.arrived_ratio()),
        ratio(r.trusted_arrived_ratio()),
        matches_cell(&r.trailbell),
        matches_cell(&r.quamina),
        agree,
        ms(r.trailbell.build),
        ms(r.quamina.build),
        rss_cell(&r.trailbell),
        rss_cell(&r.quamina),
    )
}

/// Notes for the rows: failures, partial runs, mismatches.
pub fn notes(results: &[SetResult]) -> String {
    let mut out = String::new();
    for r in results {
        for (engine, run) in [
            ("trailbell", &r.trailbell),
            ("trusted", &r.trusted),
            ("quamina", &r.quamina),
        ] {
            if let Some(f) = run.failure.as_ref().filter(|f| **f != Failure::Skipped) {
                let _ = writeln!(out, "- {} / {engine}: {f}", r.name);
            }
            if run.partial {
                let _ = writeln!(
                    out,
                    "- {} / {engine}: * time budget reached after {} of {} events; events/s and matches are from those",
                    r.name,
                    thousands(run.events() as u64),
                    thousands(r.events as u64)
                );
            }
            if let Some(Err(e)) = &run.rss_kib {
                let _ = writeln!(out, "- {} / {engine}: RSS measurement failed: {e}", r.name);
            }
        }
        if let Agreement::Mismatch {
            events,
            differing,
            detail,
        } = &r.agreement()
        {
            let _ = writeln!(
                out,
                "- {}: MISMATCH on {differing} of {events} events compared; {detail}",
                r.name
            );
        }
    }
    out
}

fn failure_json(f: &Failure) -> Value {
    match f {
        Failure::Unsupported(m) => json!({"kind": "unsupported", "message": m}),
        Failure::Panicked(m) => json!({"kind": "panicked", "message": m}),
        Failure::Error(m) => json!({"kind": "error", "message": m}),
        Failure::Skipped => json!({"kind": "skipped"}),
    }
}

fn engine_json(run: &EngineRun) -> Value {
    json!({
        "status": run.failure.as_ref().map_or(json!("ok"), failure_json),
        "build_ms": run.build.map(|d| d.as_secs_f64() * 1e3),
        "events": run.events(),
        "partial": run.partial,
        "events_per_sec_best": run.best_eps().map(f64::round),
        "events_per_sec_median": run.median_eps().map(f64::round),
        "timed_passes": run.pass_eps.len(),
        "arrived_events_per_sec_best": run.best_arrived_eps().map(f64::round),
        "arrived_timed_passes": run.arrived_eps.len(),
        "matches": run.matches,
        "rss_kib": match &run.rss_kib {
            Some(Ok(k)) => json!(k),
            Some(Err(e)) => json!({"error": e}),
            None => Value::Null,
        },
    })
}

/// One JSON line for a set.
pub fn json_line(r: &SetResult) -> String {
    let agreement_json = |a: &Agreement| match a {
        Agreement::Agree { events } => json!({"status": "agree", "events": events}),
        Agreement::Mismatch {
            events,
            differing,
            detail,
        } => {
            json!({"status": "mismatch", "events": events, "differing": differing, "detail": detail})
        }
        Agreement::NotCompared => json!({"status": "not_compared"}),
    };
    json!({
        "type": "set",
        "set": r.name,
        "corpus": r.corpus,
        "rules": r.rules,
        "events": r.events,
        "avg_event_bytes": r.avg_event_bytes,
        "trailbell": engine_json(&r.trailbell),
        "trusted": engine_json(&r.trusted),
        "quamina": engine_json(&r.quamina),
        "ratio": r.ratio(),
        "trusted_ratio": r.trusted_ratio(),
        "arrived_ratio": r.arrived_ratio(),
        "trusted_arrived_ratio": r.trusted_arrived_ratio(),
        "agreement": agreement_json(&r.agreement()),
        "agreement_with_quamina": agreement_json(&r.vs_quamina),
        "agreement_with_trusted": agreement_json(&r.vs_trusted),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
