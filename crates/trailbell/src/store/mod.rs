//! The embedded store: one SQLite file (WAL) holding the outbox, the registry of buses, rules and
//! targets, archives and noise-control state. Each module reads and writes only its own tables;
//! their definitions are the ordered steps of [`migrations`], which the first [`open`] of an older
//! store applies (docs/decisions/0046-store-migrations.md).

mod durability;
service_only! {
    mod checkpoint;
    pub mod guard;
    mod migrations;
}

#[cfg(feature = "service")]
pub use checkpoint::{CheckpointProgress, Checkpointer, checkpoint};
pub use durability::Durability;
#[cfg(feature = "service")]
pub use migrations::{MigrationError, VERSION};

service_only! {
    use std::path::Path;
    use std::time::Duration;
}

#[cfg(feature = "service")]
use rusqlite::Connection;

/// The file name of the store inside a data directory.
pub const FILE_NAME: &str = "trailbell.db";

/// A problem opening the store.
#[derive(Debug, thiserror::Error)]
#[cfg(feature = "service")]
pub enum StoreError {
    /// SQLite refused.
    #[error("cannot open the store {path}: {source}")]
    Open {
        /// The store file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The store's file or directory cannot be written by this user: said plainly, with the
    /// path and the fix, rather than as SQLite's "unable to open database file".
    #[error(
        "cannot write the store {path}: {source}; give --data-dir a directory this user may \
         write, or change the owner of this one"
    )]
    NotWritable {
        /// The file or directory that refused.
        path: String,
        /// What the operating system said (permission denied, read-only file system, ...).
        #[source]
        source: std::io::Error,
    },
    /// The store was written by a newer trailbell, whose tables this one does not know: refused
    /// before anything reads or writes it.
    #[error(
        "the store {path} was written by a newer trailbell (store version {found}; this one knows \
         versions up to {known}): run that version or a later one, or give --data-dir another \
         directory"
    )]
    TooNew {
        /// The store file.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// Bringing an older store up to date failed; the store is as it was.
    #[error("cannot upgrade the store {path}: {source}")]
    Upgrade {
        /// The store file.
        path: String,
        /// The step and what SQLite said.
        #[source]
        source: migrations::MigrationError,
    },
    /// The checkpoint thread could not start.
    #[error("cannot start the checkpoint thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Opens the store for the acceptor, with `durability` for its commits. Its commits never run a
/// checkpoint (`wal_autocheckpoint = 0`): whoever uses this runs a [`Checkpointer`], so that the
/// checkpoint's fsyncs stay off the path of an event (they were the hand-off latency's p99).
#[cfg(feature = "service")]
pub fn open_with(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let connection = open(path)?;
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        Durability::Machine => "FULL",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = 0;"
        ))
        .map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
    Ok(connection)
}

/// Opens the store for bookkeeping that may be lost in a power failure without losing an alert:
/// the deliverer's "claimed", "delivered" and "dead" marks. `synchronous = NORMAL` (WAL: no fsync
/// per commit, only at checkpoints; still safe against a crash of the process): a mark lost with
/// the machine means one more delivery, which at-least-once delivery and the idempotency key
/// allow. Accepting alerts follows the configured durability ([`open_with`]); like it, this leaves
/// checkpoints to a [`Checkpointer`].
#[cfg(feature = "service")]
pub fn open_for_bookkeeping(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, Durability::Process)
}

/// Waits a little for a lock held by another connection: `true` to try again. Naps grow from
/// 50 µs to 1 ms; about ten seconds in all before the statement fails with `SQLITE_BUSY`.
#[cfg(feature = "service")]
fn busy_wait(tries: i32) -> bool {
    let tries = u64::try_from(tries).unwrap_or(0);
    if tries >= 10_050 {
        return false;
    }
    std::thread::sleep(Duration::from_micros((50 * (tries + 1)).min(1_000)));
    true
}

/// Why the store at `path` cannot be written, if the file or its directory (where SQLite keeps
/// the `-wal` and `-shm` files) refuses a write; `None` when both take one.
#[cfg(feature = "service")]
fn not_writable(path: &Path) -> Option<StoreError> {
    let refused = |at: &Path, source| {
        Some(StoreError::NotWritable {
            path: at.display().to_string(),
            source,
        })
    };
    if let Err(source) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        return refused(path, source);
    }
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty())?;
    let probe = dir.join(format!(".{FILE_NAME}.write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(source) => refused(dir, source),
    }
}

/// Opens (creating if needed) the store at `path`: WAL, `synchronous = FULL` (a commit survives
/// a power loss; [`open_with`] and [`open_for_bookkeeping`] relax it where that is not needed),
/// foreign keys on, a busy handler (about 10 s) so that concurrent writers wait rather than fail.
/// A new or older store is brought up to date (the tables are created or changed once, by the
/// first open: the service's start); a store newer than this build is refused.
#[cfg(feature = "service")]
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |source| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    // SQLite says "unable to open database file" (code 14) for a directory or file it may not
    // write, naming neither: ask the operating system, which says which and why.
    let explain = |source| not_writable(path).unwrap_or_else(|| wrap(source));
    let mut connection = Connection::open(path).map_err(explain)?;
    // SQLite's own busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between tries: with the
    // acceptor and the deliverer taking turns many times a second, those naps become the
    // latency. Short naps instead, still giving up after about ten seconds.
    connection.busy_handler(Some(busy_wait)).map_err(wrap)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(explain)?;
    let path_text = || path.display().to_string();
    migrations::apply(&mut connection, migrations::MIGRATIONS).map_err(|err| match err {
        migrations::MigrationError::TooNew { found, known } => StoreError::TooNew {
            path: path_text(),
            found,
            known,
        },
        migrations::MigrationError::Sqlite(source) => wrap(source),
        source @ migrations::MigrationError::Step { .. } => StoreError::Upgrade {
            path: path_text(),
            source,
        },
    })?;
    Ok(connection)
}

/// A store in memory with every table, for unit tests of the modules that own them.
#[cfg(test)]
#[cfg(feature = "service")]
pub(crate) fn open_in_memory() -> Connection {
    let mut connection = Connection::open_in_memory().expect("an in-memory store");
    migrations::apply(&mut connection, migrations::MIGRATIONS).expect("the tables");
    connection
}
