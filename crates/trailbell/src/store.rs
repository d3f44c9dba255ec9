//! The embedded store: one SQLite file (WAL) holding the outbox, the registry of buses, rules and
//! targets, archives and noise-control state. Each module owns its tables and declares them in its
//! `SCHEMA`; [`open`] applies every schema, so any connection sees the whole store.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// The file name of the store inside a data directory.
pub const FILE_NAME: &str = "trailbell.db";

/// A problem opening the store.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the store {path}: {source}")]
pub struct StoreError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

/// Opens (creating if needed) the store at `path`: WAL, `synchronous = FULL` (a committed alert
/// survives a crash of the process and of the machine), foreign keys on, a 10 s busy timeout so
/// that concurrent writers wait rather than fail, and every module's tables.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |source| StoreError {
        path: path.display().to_string(),
        source,
    };
    let connection = Connection::open(path).map_err(wrap)?;
    connection
        .busy_timeout(Duration::from_secs(10))
        .map_err(wrap)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(wrap)?;
    for schema in [
        crate::outbox::SCHEMA,
        crate::registry::SCHEMA,
        crate::noise::SCHEMA,
        crate::sources::live::directory::SCHEMA,
        crate::sources::live::lookup::SCHEMA,
    ] {
        connection.execute_batch(schema).map_err(wrap)?;
    }
    Ok(connection)
}
