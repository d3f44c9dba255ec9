//! Running a replay: the archived events in the time range, in time order, re-submitted to the
//! destination bus in batches through the service's `Submission` channel, each envelope with
//! `replay-name` added. `STARTING` → `RUNNING` → `COMPLETED` (or `CANCELLED` when `CancelReplay`
//! was called between batches, `FAILED` when the service refused a batch). Replayed events are not
//! archived again.

use tokio::sync::oneshot;

use super::server::ApiState;
use crate::registry::{Registry, RegistryError, ReplayInfo, ReplayState};
use crate::service::{BusEvent, Submission};

/// Events per submission.
const BATCH: usize = 10;

/// Starts the replay on its own task.
pub(super) fn spawn(state: &ApiState, replay: &ReplayInfo) {
    let state = state.clone();
    let replay = replay.clone();
    tokio::spawn(async move {
        let name = replay.name.clone();
        let (final_state, reason) = match run(&state, &replay).await {
            Ok(()) => (ReplayState::Completed, None),
            Err(why) => {
                tracing::warn!(replay = %name, error = %why, "Replay failed.");
                (ReplayState::Failed, Some(why))
            }
        };
        let registry = state.registry.clone();
        let written = tokio::task::spawn_blocking(move || {
            registry.set_replay_state(&name, final_state, reason.as_deref())
        })
        .await;
        match written {
            Ok(Ok(written)) => {
                tracing::info!(replay = %replay.name, state = written.as_str(), "Replay finished.");
            }
            Ok(Err(err)) => {
                tracing::error!(replay = %replay.name, error = %err, "Replay state not saved.")
            }
            Err(err) => {
                tracing::error!(replay = %replay.name, error = %err, "Replay state not saved.")
            }
        }
    });
}

async fn registry_call<T: Send + 'static>(
    registry: &Registry,
    call: impl FnOnce(&Registry) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, String> {
    let registry = registry.clone();
    match tokio::task::spawn_blocking(move || call(&registry)).await {
        Ok(result) => result.map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    }
}

/// Replays every batch; returns early (Ok) once the replay was cancelled.
async fn run(state: &ApiState, replay: &ReplayInfo) -> Result<(), String> {
    let name = replay.name.clone();
    let running = registry_call(&state.registry, move |registry| {
        registry.set_replay_state(&name, ReplayState::Running, None)
    })
    .await?;
    if running != ReplayState::Running {
        return Ok(());
    }
    let mut after = None;
    loop {
        let (archive, name) = (replay.archive_name.clone(), replay.name.clone());
        let (start, end) = (replay.event_start_ms, replay.event_end_ms);
        let (batch, current) = registry_call(&state.registry, move |registry| {
            let batch = registry.archived_events(&archive, start, end, after, BATCH)?;
            Ok((batch, registry.replay_state(&name)?))
        })
        .await?;
        if current == ReplayState::Cancelling || batch.is_empty() {
            return Ok(());
        }
        let mut events = Vec::with_capacity(batch.len());
        for (_, _, envelope) in &batch {
            events.push(replayed(envelope, &replay.name)?);
        }
        let (done, answer) = oneshot::channel();
        let submission = Submission {
            event_bus_name: replay.destination_bus.clone(),
            events,
            done,
        };
        state
            .submissions
            .send(submission)
            .await
            .map_err(|_| "the service is not running".to_owned())?;
        match answer.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(format!("the service refused replayed events: {why}")),
            Err(_) => return Err("the service dropped replayed events".to_owned()),
        }
        let Some(&(last, last_seq, _)) = batch.last() else {
            return Ok(());
        };
        after = Some((last, last_seq));
        let name = replay.name.clone();
        registry_call(&state.registry, move |registry| {
            registry.set_replay_progress(&name, last)
        })
        .await?;
    }
}

/// The archived envelope with `"replay-name"` added as its last field.
fn replayed(envelope: &str, replay_name: &str) -> Result<BusEvent, String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let id: Id = serde_json::from_str(envelope)
        .map_err(|err| format!("an archived envelope is not readable: {err}"))?;
    let body = envelope
        .trim_end()
        .strip_suffix('}')
        .ok_or_else(|| "an archived envelope is not an object".to_owned())?;
    let envelope = format!(
        "{body},\"replay-name\":{}}}",
        serde_json::Value::from(replay_name)
    );
    let ingestion_time = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    BusEvent::read(id.id, envelope, ingestion_time)
        .map_err(|err| format!("an archived envelope is not readable: {err}"))
}
