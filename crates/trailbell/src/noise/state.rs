//! Noise control's state in the store, changed in the caller's transaction: the same transaction
//! that writes the alerts it lets through, so that a crash leaves both or neither.
//!
//! Times: dedup windows run on the clock of the machine (they decide when a summary is sent);
//! threshold windows on the events' own times, so that a backlog of old events read at once does
//! not look like a burst.

use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::Value;

use super::NoiseSettings;
use super::key::principal_and_action;
use crate::alert::{OccurrenceKind, Occurrences};

/// What to do with one match of a rule (after its exceptions were checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Alert now. `occurrences` is set when a threshold fired.
    Alert {
        /// The threshold's count and window, when one fired.
        occurrences: Option<Occurrences>,
    },
    /// A repeat inside an open dedup window: counted, summarised when the window closes; targets
    /// that thread replies may reply to the first alert, whose event this was.
    Repeat {
        /// The event of the alert that opened the window.
        first_event_id: String,
        /// Repeats so far, this one included.
        repeats: u64,
    },
    /// Below the threshold: counted, no alert.
    BelowThreshold {
        /// Matches with this key in the window so far.
        count: u64,
    },
}

/// A dedup window that closed with repeats in it: one alert saying how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupSummary {
    /// The rule.
    pub rule: String,
    /// When the window opened (ms since the epoch): with the rule and key, a unique name.
    pub opened_at_ms: i64,
    /// The event of the alert that opened the window.
    pub first_event_id: String,
    /// The latest repeat's envelope, which the summary shows.
    pub last_envelope: String,
    /// The count, the window, the key.
    pub occurrences: Occurrences,
}

/// Decides what one match of `rule` becomes, recording it.
///
/// `event_time_ms` is the event's own time (thresholds), `now_ms` the clock's (dedup).
#[allow(clippy::too_many_arguments)]
pub fn decide(
    tx: &Transaction<'_>,
    rule: &str,
    settings: &NoiseSettings,
    event: &Value,
    event_id: &str,
    envelope: &str,
    event_time_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<Verdict> {
    let mut occurrences = None;
    if let Some(threshold) = &settings.threshold {
        let key = threshold
            .key
            .as_ref()
            .map_or_else(|| super::key::principal(event), |key| key.render(event));
        let within_ms = i64::try_from(threshold.within.as_millis()).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO noise_threshold (rule, key, at_ms, event_id) VALUES (?1, ?2, ?3, ?4)",
            params![rule, key, event_time_ms, event_id],
        )?;
        // Matches older than the window, seen from this event, no longer count.
        tx.execute(
            "DELETE FROM noise_threshold WHERE rule = ?1 AND key = ?2 AND at_ms <= ?3",
            params![rule, key, event_time_ms.saturating_sub(within_ms)],
        )?;
        let count: i64 = tx.query_row(
            "SELECT count(*) FROM noise_threshold WHERE rule = ?1 AND key = ?2 AND at_ms <= ?3",
            params![rule, key, event_time_ms],
            |row| row.get(0),
        )?;
        let count = u64::try_from(count).unwrap_or(0);
        if count < u64::from(threshold.count) {
            return Ok(Verdict::BelowThreshold { count });
        }
        // Fired: start counting afresh.
        tx.execute(
            "DELETE FROM noise_threshold WHERE rule = ?1 AND key = ?2",
            params![rule, key],
        )?;
        occurrences = Some(Occurrences {
            count,
            window_seconds: threshold.within.as_secs(),
            key,
            kind: OccurrenceKind::Threshold,
        });
    }
    if let Some(dedup) = &settings.dedup {
        let key = dedup
            .key
            .as_ref()
            .map_or_else(|| principal_and_action(event), |key| key.render(event));
        let open: Option<(String, i64)> = tx
            .query_row(
                "SELECT first_event_id, repeats FROM noise_dedup
                 WHERE rule = ?1 AND key = ?2 AND closes_at_ms > ?3",
                params![rule, key, now_ms],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((first_event_id, repeats)) = open {
            tx.execute(
                "UPDATE noise_dedup SET repeats = repeats + 1, last_envelope = ?3
                 WHERE rule = ?1 AND key = ?2",
                params![rule, key, envelope],
            )?;
            return Ok(Verdict::Repeat {
                first_event_id,
                repeats: u64::try_from(repeats).unwrap_or(0) + 1,
            });
        }
        // A window that closed but was not yet summarised is replaced only after its summary:
        // `close_due_windows` runs before each batch, so here it is gone or empty.
        let window_ms = i64::try_from(dedup.window.as_millis()).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT OR REPLACE INTO noise_dedup
             (rule, key, opened_at_ms, closes_at_ms, window_seconds, first_event_id, repeats, last_envelope)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL)",
            params![
                rule,
                key,
                now_ms,
                now_ms.saturating_add(window_ms),
                i64::try_from(dedup.window.as_secs()).unwrap_or(i64::MAX),
                event_id
            ],
        )?;
    }
    Ok(Verdict::Alert { occurrences })
}

/// Closes every dedup window whose time is up, returning those that had repeats.
pub fn close_due_windows(tx: &Transaction<'_>, now_ms: i64) -> rusqlite::Result<Vec<DedupSummary>> {
    let mut summaries = Vec::new();
    {
        let mut statement = tx.prepare(
            "SELECT rule, key, opened_at_ms, window_seconds, first_event_id, repeats, last_envelope
             FROM noise_dedup WHERE closes_at_ms <= ?1 AND repeats > 0",
        )?;
        let rows = statement.query_map(params![now_ms], |row| {
            Ok(DedupSummary {
                rule: row.get(0)?,
                opened_at_ms: row.get(2)?,
                first_event_id: row.get(4)?,
                last_envelope: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                occurrences: Occurrences {
                    key: row.get(1)?,
                    window_seconds: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                    count: u64::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
                    kind: OccurrenceKind::Repeated,
                },
            })
        })?;
        for row in rows {
            summaries.push(row?);
        }
    }
    tx.execute(
        "DELETE FROM noise_dedup WHERE closes_at_ms <= ?1",
        params![now_ms],
    )?;
    Ok(summaries)
}

/// When the next open dedup window closes (ms since the epoch), if any is open.
pub fn next_window_close(tx: &Transaction<'_>) -> rusqlite::Result<Option<i64>> {
    tx.query_row("SELECT min(closes_at_ms) FROM noise_dedup", [], |row| {
        row.get(0)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::Connection;
    use serde_json::json;

    use super::*;
    use crate::noise::{Dedup, Threshold};

    fn store() -> Connection {
        crate::store::open_in_memory()
    }

    fn failed_sign_in(ip: &str) -> Value {
        json!({"detail": {"eventName": "ConsoleLogin", "sourceIPAddress": ip,
            "userIdentity": {"type": "IAMUser", "userName": "alice"}}})
    }

    #[test]
    fn without_settings_every_match_alerts() {
        let mut connection = store();
        let tx = connection.transaction().expect("tx");
        for n in 0..3 {
            let verdict = decide(
                &tx,
                "r",
                &NoiseSettings::default(),
                &json!({}),
                "e",
                "{}",
                n,
                n,
            )
            .expect("decides");
            assert_eq!(verdict, Verdict::Alert { occurrences: None });
        }
    }

    #[test]
    fn a_threshold_fires_at_the_nth_match_within_the_window_per_key() {
        let mut connection = store();
        let tx = connection.transaction().expect("tx");
        let settings = NoiseSettings {
            threshold: Some(Threshold {
                count: 3,
                within: Duration::from_secs(300),
                key: Some("<$.detail.sourceIPAddress>".parse().expect("valid")),
            }),
            ..NoiseSettings::default()
        };
        let minute = 60_000;
        let at = |ip: &str, t: i64| {
            decide(
                &tx,
                "r",
                &settings,
                &failed_sign_in(ip),
                "e",
                "{}",
                t * minute,
                0,
            )
            .expect("decides")
        };
        assert_eq!(at("1.1.1.1", 0), Verdict::BelowThreshold { count: 1 });
        assert_eq!(at("2.2.2.2", 1), Verdict::BelowThreshold { count: 1 });
        assert_eq!(at("1.1.1.1", 2), Verdict::BelowThreshold { count: 2 });
        // 6 minutes after the first: that one fell out of the window (it holds (t - 5m, t]).
        assert_eq!(at("1.1.1.1", 6), Verdict::BelowThreshold { count: 2 });
        let Verdict::Alert {
            occurrences: Some(fired),
        } = at("1.1.1.1", 6)
        else {
            panic!("the third within five minutes fires");
        };
        assert_eq!((fired.count, fired.window_seconds), (3, 300));
        assert_eq!(fired.key, "1.1.1.1");
        // Counting starts afresh after firing.
        assert_eq!(at("1.1.1.1", 8), Verdict::BelowThreshold { count: 1 });
    }

    #[test]
    fn dedup_lets_the_first_through_counts_repeats_and_summarises_at_close() {
        let mut connection = store();
        let tx = connection.transaction().expect("tx");
        let settings = NoiseSettings {
            dedup: Some(Dedup {
                window: Duration::from_secs(600),
                key: None,
            }),
            ..NoiseSettings::default()
        };
        let event = failed_sign_in("1.1.1.1");
        let at = |id: &str, now: i64| {
            decide(
                &tx,
                "r",
                &settings,
                &event,
                id,
                &format!("{{\"id\":\"{id}\"}}"),
                0,
                now,
            )
            .expect("decides")
        };
        assert_eq!(at("e1", 0), Verdict::Alert { occurrences: None });
        assert_eq!(
            at("e2", 1_000),
            Verdict::Repeat {
                first_event_id: "e1".into(),
                repeats: 1
            }
        );
        assert_eq!(
            at("e3", 2_000),
            Verdict::Repeat {
                first_event_id: "e1".into(),
                repeats: 2
            }
        );
        assert_eq!(next_window_close(&tx).expect("reads"), Some(600_000));
        assert!(close_due_windows(&tx, 599_999).expect("closes").is_empty());
        let summaries = close_due_windows(&tx, 600_000).expect("closes");
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].occurrences.count, 2);
        assert_eq!(summaries[0].occurrences.key, "alice ConsoleLogin");
        assert_eq!(summaries[0].last_envelope, r#"{"id":"e3"}"#);
        assert_eq!(at("e4", 600_001), Verdict::Alert { occurrences: None });
    }

    #[test]
    fn a_window_without_repeats_closes_silently() {
        let mut connection = store();
        let tx = connection.transaction().expect("tx");
        let settings = NoiseSettings {
            dedup: Some(Dedup {
                window: Duration::from_secs(1),
                key: None,
            }),
            ..NoiseSettings::default()
        };
        decide(&tx, "r", &settings, &json!({}), "e1", "{}", 0, 0).expect("decides");
        assert!(close_due_windows(&tx, 5_000).expect("closes").is_empty());
        assert_eq!(next_window_close(&tx).expect("reads"), None);
    }
}
