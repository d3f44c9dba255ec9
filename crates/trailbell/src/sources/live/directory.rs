//! A local directory watched for new CloudTrail files (`.json.gz`, `.json`; digest files skipped).
//!
//! On each look, every log file not yet done (by path, size and modification time, recorded in the
//! store) is read and its events submitted; it is recorded as done only once they are safe. A file
//! that cannot be read (corrupt gzip, not CloudTrail) is recorded with its reason and not read
//! again until it changes. Looking on an interval rather than with file-system notifications works
//! the same on every file system, network mounts included.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension as _, params};

use super::{SourceContext, lag_seconds, now_rfc3339};
use crate::cloudtrail::file_events;
use crate::sources::local::is_log_file_name;

/// Watches `dir` until the service stops.
pub async fn watch(mut context: SourceContext, dir: PathBuf, interval: Duration, store: PathBuf) {
    tracing::info!(source = %context.name, dir = %dir.display(), "watching for CloudTrail files");
    loop {
        context.looked(look(&context, &dir, &store).await);
        if context.pause(interval).await {
            return;
        }
    }
}

/// One look: every new or changed file read and submitted.
async fn look(context: &SourceContext, dir: &Path, store: &Path) -> Result<(), String> {
    let listing = {
        let (dir, store, source) = (dir.to_owned(), store.to_owned(), context.name.clone());
        tokio::task::spawn_blocking(move || new_files(&source, &dir, &store))
            .await
            .map_err(|err| err.to_string())??
    };
    for file in listing {
        if *context.shutdown.borrow() {
            return Ok(());
        }
        let data = match tokio::fs::read(&file.path).await {
            Ok(data) => data,
            Err(err) => {
                context.error(&format!("{}: cannot read: {err}", file.path.display()));
                continue;
            }
        };
        let name = file.path.display().to_string();
        let (events, refused, error) = match file_events(&data) {
            Ok(read) => {
                let refused = context.refused(&name, &read.refused);
                (read.events, refused, None)
            }
            Err(err) => (Vec::new(), 0, Some(err.to_string())),
        };
        if let Some(error) = &error {
            context.error(&format!("{name}: {error}"));
        }
        let count = events.len();
        let newest = events
            .iter()
            .filter_map(|event| event.value.get("time")?.as_str().map(str::to_owned))
            .max();
        context.submit(events, &now_rfc3339()).await?;
        let error = match (error, refused) {
            (None, 0) => None,
            (None, refused) => Some(format!("{refused} records refused (named in the log)")),
            (Some(error), _) => Some(error),
        };
        context.metrics.source(&context.name, |status| {
            status.events += count as u64;
            if let Some(lag) = newest.as_deref().and_then(lag_seconds) {
                status.lag_seconds = lag;
            }
        });
        let (store, source) = (store.to_owned(), context.name.clone());
        tokio::task::spawn_blocking(move || mark_done(&source, &store, &file, count, error))
            .await
            .map_err(|err| err.to_string())??;
    }
    Ok(())
}

#[derive(Debug)]
struct SeenFile {
    path: PathBuf,
    size: i64,
    modified_ms: i64,
}

fn new_files(source: &str, dir: &Path, store: &Path) -> Result<Vec<SeenFile>, String> {
    let connection = crate::store::open(store).map_err(|err| err.to_string())?;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        let entries = match std::fs::read_dir(&next) {
            Ok(entries) => entries,
            Err(err) => return Err(format!("{}: cannot list: {err}", next.display())),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if metadata.is_dir() {
                if name != crate::sources::local::DIGEST_DIR {
                    stack.push(path);
                }
                continue;
            }
            if !is_log_file_name(&name) {
                continue;
            }
            let size = i64::try_from(metadata.len()).unwrap_or(i64::MAX);
            let modified_ms = metadata
                .modified()
                .ok()
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |since| {
                    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
                });
            if is_done(&connection, source, &path, size, modified_ms)
                .map_err(|err| err.to_string())?
            {
                continue;
            }
            found.push(SeenFile {
                path,
                size,
                modified_ms,
            });
        }
    }
    // Oldest first: CloudTrail names files by time, and events should arrive in order.
    found.sort_by(|a, b| (a.modified_ms, &a.path).cmp(&(b.modified_ms, &b.path)));
    Ok(found)
}

fn is_done(
    connection: &Connection,
    source: &str,
    path: &Path,
    size: i64,
    modified_ms: i64,
) -> rusqlite::Result<bool> {
    let seen: Option<(i64, i64)> = connection
        .query_row(
            "SELECT size, modified_ms FROM source_files WHERE source = ?1 AND path = ?2",
            params![source, path.to_string_lossy()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(seen == Some((size, modified_ms)))
}

fn mark_done(
    source: &str,
    store: &Path,
    file: &SeenFile,
    events: usize,
    error: Option<String>,
) -> Result<(), String> {
    let connection = crate::store::open(store).map_err(|err| err.to_string())?;
    connection
        .execute(
            "INSERT OR REPLACE INTO source_files
             (source, path, size, modified_ms, events, error, done_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                source,
                file.path.to_string_lossy(),
                file.size,
                file.modified_ms,
                i64::try_from(events).unwrap_or(i64::MAX),
                error,
                jiff::Timestamp::now().as_millisecond()
            ],
        )
        .map_err(|err| err.to_string())?;
    Ok(())
}
