//! Archives (a bus's events kept in the store, optionally filtered by a pattern) and replays
//! (their state; the re-submission itself is the API's, see `crate::api`).

use rusqlite::{Connection, OptionalExtension as _, params};
use trailbell_pattern::Pattern;

use super::rules::require_bus;
use super::{ArchiveInfo, Registry, RegistryError, ReplayInfo, ReplayState, now_ms};
use crate::event::BusEvent;

/// Which archives `ListArchives` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveFilter {
    /// Names starting with this.
    pub name_prefix: Option<String>,
    /// Archives of this bus.
    pub event_bus_name: Option<String>,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Registry {
    /// Creates an archive of `bus`'s events (`CreateArchive`); `event_pattern` was validated by
    /// the caller; `retention_days` 0 keeps events forever.
    pub fn create_archive(
        &self,
        name: &str,
        bus: &str,
        description: Option<&str>,
        event_pattern: Option<&str>,
        retention_days: i64,
    ) -> Result<ArchiveInfo, RegistryError> {
        self.with(|connection| {
            require_bus(connection, bus)?;
            let inserted = connection.execute(
                "INSERT OR IGNORE INTO registry_archives (name, bus, description, event_pattern, retention_days, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, bus, description, event_pattern, retention_days, now_ms()],
            )?;
            if inserted == 0 {
                return Err(RegistryError::AlreadyExists(format!(
                    "Archive {name} already exists."
                )));
            }
            Ok(())
        })?;
        self.inner
            .archives_exist
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.describe_archive(name)
    }

    /// The archive with its event count and size, or `ResourceNotFound`.
    pub fn describe_archive(&self, name: &str) -> Result<ArchiveInfo, RegistryError> {
        let mut found = self.query_archives("a.name = ?1", params![name])?;
        found
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("Archive {name} does not exist.")))
    }

    /// Archives, in name order.
    pub fn list_archives(&self, filter: &ArchiveFilter) -> Result<Vec<ArchiveInfo>, RegistryError> {
        self.query_archives(
            "substr(a.name, 1, length(?1)) = ?1 AND (?2 IS NULL OR a.bus = ?2)",
            params![
                filter.name_prefix.as_deref().unwrap_or(""),
                filter.event_bus_name
            ],
        )
    }

    /// Deletes an archive and its events.
    pub fn delete_archive(&self, name: &str) -> Result<(), RegistryError> {
        self.with(|connection| {
            let deleted =
                connection.execute("DELETE FROM registry_archives WHERE name = ?1", [name])?;
            if deleted == 0 {
                return Err(RegistryError::NotFound(format!(
                    "Archive {name} does not exist."
                )));
            }
            Ok(())
        })?;
        self.refresh_archives_exist()?;
        Ok(())
    }

    /// Whether any archive may exist (false only when the store was seen to hold none).
    pub fn may_have_archives(&self) -> bool {
        self.inner
            .archives_exist
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Looks at the store again for archives (after a start or a deletion).
    pub fn refresh_archives_exist(&self) -> Result<bool, RegistryError> {
        let exist = self.with(|connection| {
            Ok(connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM registry_archives)",
                [],
                |row| row.get::<_, bool>(0),
            )?)
        })?;
        self.inner
            .archives_exist
            .store(exist, std::sync::atomic::Ordering::SeqCst);
        Ok(exist)
    }

    /// Writes `events` (accepted on `bus`) into each archive of the bus whose pattern they match,
    /// and drops events past their archive's retention. Returns how many rows were written. The
    /// API calls this for PutEvents before handing the events to the service; other sources may
    /// call it too. Replayed events are not archived again.
    pub fn archive_events(&self, bus: &str, events: &[BusEvent]) -> Result<usize, RegistryError> {
        if events.is_empty() {
            return Ok(0);
        }
        self.with(|connection| {
            let transaction = connection.transaction()?;
            let archives = {
                let mut statement = transaction.prepare_cached(
                    "SELECT name, event_pattern, retention_days FROM registry_archives WHERE bus = ?1",
                )?;
                statement
                    .query_map([bus], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?
            };
            let now = now_ms();
            let mut written = 0;
            for (archive, pattern, retention_days) in archives {
                let pattern = pattern
                    .as_deref()
                    .map(Pattern::parse)
                    .transpose()
                    .map_err(|err| RegistryError::Corrupt(format!("archive {archive}: {err}")))?;
                for event in events {
                    let matches = match &pattern {
                        None => true,
                        Some(pattern) => pattern
                            .matches(event.envelope.as_bytes())
                            .map_err(|err| RegistryError::Corrupt(format!("event {}: {err}", event.id)))?,
                    };
                    if !matches {
                        continue;
                    }
                    transaction.execute(
                        "INSERT INTO registry_archive_events (archive, event_ms, archived_ms, envelope) VALUES (?1, ?2, ?3, ?4)",
                        params![archive, envelope_time_ms(&event.envelope).unwrap_or(now), now, event.envelope],
                    )?;
                    written += 1;
                }
                if retention_days > 0 {
                    transaction.execute(
                        "DELETE FROM registry_archive_events WHERE archive = ?1 AND archived_ms < ?2",
                        params![archive, now.saturating_sub(retention_days.saturating_mul(MS_PER_DAY))],
                    )?;
                }
            }
            transaction.commit()?;
            Ok(written)
        })
    }

    /// Up to `limit` archived envelopes of `archive` with event times in
    /// `[start_ms, end_ms)`, in time order, after the row `after_seq`; each with its row number.
    pub fn archived_events(
        &self,
        archive: &str,
        start_ms: i64,
        end_ms: i64,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<Vec<(i64, i64, String)>, RegistryError> {
        let (after_ms, after_seq) = after.unwrap_or((i64::MIN, i64::MIN));
        self.with(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT event_ms, seq, envelope FROM registry_archive_events
                 WHERE archive = ?1 AND event_ms >= ?2 AND event_ms < ?3
                   AND (event_ms > ?4 OR (event_ms = ?4 AND seq > ?5))
                 ORDER BY event_ms, seq LIMIT ?6",
            )?;
            let rows = statement
                .query_map(
                    params![
                        archive,
                        start_ms,
                        end_ms,
                        after_ms,
                        after_seq,
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records a new replay in state `STARTING`; the caller runs it.
    pub fn create_replay(
        &self,
        name: &str,
        archive: &str,
        description: Option<&str>,
        event_start_ms: i64,
        event_end_ms: i64,
    ) -> Result<ReplayInfo, RegistryError> {
        self.with(|connection| {
            let bus: String = connection
                .query_row(
                    "SELECT bus FROM registry_archives WHERE name = ?1",
                    [archive],
                    |row| row.get(0),
                )
                .optional()?
                .ok_or_else(|| {
                    RegistryError::Validation(format!(
                        "Parameter EventSourceArn is not valid. Reason: Archive {archive} does not exist."
                    ))
                })?;
            let inserted = connection.execute(
                "INSERT OR IGNORE INTO registry_replays (name, archive, destination_bus, description, state,
                     event_start_ms, event_end_ms, replay_start_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    name,
                    archive,
                    bus,
                    description,
                    ReplayState::Starting.as_str(),
                    event_start_ms,
                    event_end_ms,
                    now_ms()
                ],
            )?;
            if inserted == 0 {
                return Err(RegistryError::AlreadyExists(format!(
                    "Replay {name} already exists."
                )));
            }
            Ok(())
        })?;
        self.describe_replay(name)
    }

    /// The replay, or `ResourceNotFound`.
    pub fn describe_replay(&self, name: &str) -> Result<ReplayInfo, RegistryError> {
        self.query_replays("name = ?1", params![name])?
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("Replay {name} does not exist.")))
    }

    /// Replays, in name order, filtered by name prefix, archive and state.
    pub fn list_replays(
        &self,
        name_prefix: Option<&str>,
        archive: Option<&str>,
        state: Option<ReplayState>,
    ) -> Result<Vec<ReplayInfo>, RegistryError> {
        self.query_replays(
            "substr(name, 1, length(?1)) = ?1 AND (?2 IS NULL OR archive = ?2) AND (?3 IS NULL OR state = ?3)",
            params![
                name_prefix.unwrap_or(""),
                archive,
                state.map(ReplayState::as_str)
            ],
        )
    }

    /// Moves a replay to `state` (with a reason); a terminal state sets its end time. A replay
    /// asked to stop (`CANCELLING`) moves to `CANCELLED` instead of `RUNNING` or `COMPLETED`.
    /// Returns the state written.
    pub fn set_replay_state(
        &self,
        name: &str,
        state: ReplayState,
        reason: Option<&str>,
    ) -> Result<ReplayState, RegistryError> {
        self.with(|connection| {
            let transaction = connection.transaction()?;
            let current = replay_state(&transaction, name)?;
            let state = if current == ReplayState::Cancelling && state != ReplayState::Failed {
                ReplayState::Cancelled
            } else {
                state
            };
            let terminal = matches!(
                state,
                ReplayState::Completed | ReplayState::Cancelled | ReplayState::Failed
            );
            transaction.execute(
                "UPDATE registry_replays SET state = ?2, state_reason = ?3,
                     replay_end_ms = CASE WHEN ?4 THEN ?5 ELSE replay_end_ms END
                 WHERE name = ?1",
                params![name, state.as_str(), reason, terminal, now_ms()],
            )?;
            transaction.commit()?;
            Ok(state)
        })
    }

    /// Records the time of the last event a replay re-submitted.
    pub fn set_replay_progress(
        &self,
        name: &str,
        last_replayed_ms: i64,
    ) -> Result<(), RegistryError> {
        self.with(|connection| {
            connection.execute(
                "UPDATE registry_replays SET last_replayed_ms = ?2 WHERE name = ?1",
                params![name, last_replayed_ms],
            )?;
            Ok(())
        })
    }

    /// The replay's state.
    pub fn replay_state(&self, name: &str) -> Result<ReplayState, RegistryError> {
        self.with(|connection| replay_state(connection, name))
    }

    /// Asks a running replay to stop (`CancelReplay`): `CANCELLING` until its runner sees it.
    pub fn cancel_replay(&self, name: &str) -> Result<ReplayInfo, RegistryError> {
        self.with(|connection| {
            let current = replay_state(connection, name)?;
            if !matches!(current, ReplayState::Starting | ReplayState::Running) {
                return Err(RegistryError::IllegalStatus(format!(
                    "Replay {name} is not in a valid state for this operation."
                )));
            }
            connection.execute(
                "UPDATE registry_replays SET state = ?2 WHERE name = ?1",
                params![name, ReplayState::Cancelling.as_str()],
            )?;
            Ok(())
        })?;
        self.describe_replay(name)
    }

    /// Marks replays left running by a previous process as failed; call before serving.
    pub fn fail_interrupted_replays(&self) -> Result<usize, RegistryError> {
        self.with(|connection| {
            Ok(connection.execute(
                "UPDATE registry_replays SET state = 'FAILED',
                     state_reason = 'Interrupted by a restart of trailbell.', replay_end_ms = ?1
                 WHERE state IN ('STARTING', 'RUNNING', 'CANCELLING')",
                [now_ms()],
            )?)
        })
    }

    fn query_archives(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ArchiveInfo>, RegistryError> {
        let rows = self.with(|connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT a.name, a.bus, a.description, a.event_pattern, a.retention_days, a.created_ms,
                        (SELECT COUNT(*) FROM registry_archive_events e WHERE e.archive = a.name),
                        (SELECT COALESCE(SUM(length(CAST(e.envelope AS BLOB))), 0)
                           FROM registry_archive_events e WHERE e.archive = a.name)
                 FROM registry_archives a WHERE {condition} ORDER BY a.name"
            ))?;
            let rows = statement
                .query_map(params, |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    name,
                    bus,
                    description,
                    event_pattern,
                    retention_days,
                    created_ms,
                    count,
                    size,
                )| {
                    ArchiveInfo {
                        arn: self.archive_arn(&name),
                        event_source_arn: self.bus_arn(&bus),
                        name,
                        event_bus_name: bus,
                        description,
                        event_pattern,
                        retention_days,
                        event_count: count,
                        size_bytes: size,
                        created_ms,
                    }
                },
            )
            .collect())
    }

    fn query_replays(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ReplayInfo>, RegistryError> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            (i64, i64, Option<i64>, i64, Option<i64>),
        );
        let rows: Vec<Row> = self.with(|connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT name, archive, destination_bus, description, state, state_reason,
                        event_start_ms, event_end_ms, last_replayed_ms, replay_start_ms, replay_end_ms
                 FROM registry_replays WHERE {condition} ORDER BY name"
            ))?;
            let rows = statement
                .query_map(params, |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        (row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?, row.get(10)?),
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(
                |(name, archive, bus, description, state, state_reason, times)| {
                    let state = ReplayState::parse(&state)
                        .ok_or_else(|| RegistryError::Corrupt(format!("replay state {state:?}")))?;
                    Ok(ReplayInfo {
                        arn: self.replay_arn(&name),
                        event_source_arn: self.archive_arn(&archive),
                        destination_arn: self.bus_arn(&bus),
                        name,
                        archive_name: archive,
                        destination_bus: bus,
                        description,
                        state,
                        state_reason,
                        event_start_ms: times.0,
                        event_end_ms: times.1,
                        last_replayed_ms: times.2,
                        replay_start_ms: times.3,
                        replay_end_ms: times.4,
                    })
                },
            )
            .collect()
    }
}

fn replay_state(connection: &Connection, name: &str) -> Result<ReplayState, RegistryError> {
    let state: String = connection
        .query_row(
            "SELECT state FROM registry_replays WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()?
        .ok_or_else(|| RegistryError::NotFound(format!("Replay {name} does not exist.")))?;
    ReplayState::parse(&state)
        .ok_or_else(|| RegistryError::Corrupt(format!("replay state {state:?}")))
}

/// The envelope's `time`, Unix milliseconds.
fn envelope_time_ms(envelope: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Time {
        time: String,
    }
    let time: Time = serde_json::from_str(envelope).ok()?;
    let timestamp: jiff::Timestamp = time.time.parse().ok()?;
    Some(timestamp.as_millisecond())
}
