//! Threshold rules in a scan: counted over the events' own times, as the service counts them.
//!
//! Workers read files in parallel and in any order, so a threshold cannot be decided as matches
//! arrive. The collector holds each match of a threshold rule (its time, key and summary; only
//! those rules' matches, never the archive) and, once every file is read, replays them per rule
//! and key in event-time order with the service's arithmetic (`noise::state::decide`): a match
//! counts with the earlier ones less than `within` before it; the `count`-th fires, and counting
//! starts afresh. Each firing is one alert, on the event that reached the count.

use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;
use serde_json::Value;
use trailbell_pattern::RuleId;

use super::EventSummary;
use crate::noise::NoiseSettings;
use crate::noise::key::principal;
use crate::rules::CompiledRules;

/// The key a threshold counts by, as the service renders it: the rule's template, else who acted.
pub(crate) fn key(noise: &NoiseSettings, event: &Value) -> String {
    match noise.threshold.as_ref().and_then(|t| t.key.as_ref()) {
        Some(template) => template.render(event),
        None => principal(event),
    }
}

/// Matches of threshold rules, held until the scan has read everything.
#[derive(Default)]
pub(crate) struct Held {
    by_rule_and_key: BTreeMap<(RuleId, String), Vec<(i64, EventSummary)>>,
}

impl Held {
    /// Holds one match. `Err` when its time cannot be read, so it cannot be placed in a window.
    pub(crate) fn push(
        &mut self,
        rule: RuleId,
        key: String,
        event: EventSummary,
    ) -> Result<(), Box<EventSummary>> {
        let Ok(at) = event.time.parse::<Timestamp>() else {
            return Err(Box::new(event));
        };
        self.by_rule_and_key
            .entry((rule, key))
            .or_default()
            .push((at.as_millisecond(), event));
        Ok(())
    }

    /// The events on which a threshold fired, by rule then time.
    pub(crate) fn fired(self, rules: &CompiledRules) -> Vec<(RuleId, EventSummary)> {
        let mut fired = Vec::new();
        for ((rule, _key), mut events) in self.by_rule_and_key {
            let Some(threshold) = &rules.rule(rule).noise.threshold else {
                continue;
            };
            let within_ms = i64::try_from(threshold.within.as_millis()).unwrap_or(i64::MAX);
            let count = usize::try_from(threshold.count).unwrap_or(usize::MAX);
            // Stable: events at the same millisecond keep their arrival order.
            events.sort_by_key(|(at, _)| *at);
            let mut window: VecDeque<i64> = VecDeque::new();
            for (at, event) in events {
                window.push_back(at);
                while window
                    .front()
                    .is_some_and(|&first| first <= at.saturating_sub(within_ms))
                {
                    window.pop_front();
                }
                if window.len() >= count {
                    window.clear();
                    fired.push((rule, event));
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::noise::Threshold;
    use crate::rules::{Rule, RulePack, Severity};

    fn pack() -> CompiledRules {
        let rule = Rule {
            name: "five".to_owned(),
            title: "t".to_owned(),
            severity: Severity::High,
            description: "d".to_owned(),
            event_pattern: "{}".to_owned(),
            filter_pattern: None,
            cis: Vec::new(),
            noise: NoiseSettings {
                threshold: Some(Threshold {
                    count: 3,
                    within: Duration::from_secs(300),
                    key: None,
                }),
                ..NoiseSettings::default()
            },
            tests: Vec::new(),
            source: "five.toml".to_owned(),
            metadata: crate::rules::Metadata::default(),
        };
        RulePack::new(vec![rule])
            .expect("a pack")
            .compile()
            .expect("compiles")
    }

    fn at(time: &str) -> EventSummary {
        EventSummary {
            time: time.to_owned(),
            event_id: time.to_owned(),
            ..EventSummary::default()
        }
    }

    #[test]
    fn a_threshold_fires_on_the_nth_match_in_event_time_whatever_the_arrival_order() {
        let compiled = pack();
        let rule = compiled.matcher().matches(b"{\"a\": 1}").expect("an event")[0];
        let mut held = Held::default();
        // Arrival order is not time order; the 3rd of each window fires, then counting restarts.
        for time in [
            "2026-11-02T08:04:00Z",
            "2026-11-02T08:00:00Z",
            "2026-11-02T08:02:00Z",
            "2026-11-02T08:05:00Z",
            "2026-11-02T08:30:00Z",
            "2026-11-02T08:06:00Z",
            "2026-11-02T08:07:00Z",
        ] {
            held.push(rule, "a".to_owned(), at(time)).expect("a time");
        }
        // Another key never reaches three.
        held.push(rule, "b".to_owned(), at("2026-11-02T08:01:00Z"))
            .expect("a time");
        held.push(rule, "b".to_owned(), at("2026-11-02T08:03:00Z"))
            .expect("a time");
        let fired: Vec<String> = held
            .fired(&compiled)
            .into_iter()
            .map(|(_, event)| event.time)
            .collect();
        assert_eq!(fired, ["2026-11-02T08:04:00Z", "2026-11-02T08:07:00Z"]);
    }

    #[test]
    fn matches_further_apart_than_the_window_never_fire() {
        let compiled = pack();
        let rule = compiled.matcher().matches(b"{\"a\": 1}").expect("an event")[0];
        let mut held = Held::default();
        for time in [
            "2026-11-02T08:00:00Z",
            "2026-11-02T08:05:00Z",
            "2026-11-02T08:10:00Z",
        ] {
            held.push(rule, "a".to_owned(), at(time)).expect("a time");
        }
        assert!(held.fired(&compiled).is_empty());
        assert!(
            Held::default()
                .push(rule, "a".to_owned(), at("yesterday"))
                .is_err()
        );
    }
}
