//! The store's schema as ordered steps (docs/decisions/0046-store-migrations.md). A store records
//! the last step applied in SQLite's `PRAGMA user_version`; opening it applies the steps after
//! that one, in one transaction, once. Every module's tables are here, in one list, because the
//! order of steps is one order for the whole file: a step may touch two modules' tables, and a
//! version number must mean the same tables whoever reads it.
//!
//! To change a table: append a step (`NNNN-what.sql`, the next version), never edit one that was
//! released; the upgrade test (`tests/it/store.rs`) opens a store of the oldest supported version.

use rusqlite::{Connection, TransactionBehavior};

/// One step: the SQL that takes a store from `version - 1` to `version`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// The `user_version` a store has once this step is applied.
    pub version: i64,
    /// What the step does, for errors.
    pub what: &'static str,
    /// Statements, run in the step's transaction.
    pub sql: &'static str,
}

/// Every step, in order. Versions are 1, 2, 3, ... without gaps.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    what: "the tables of stores written before migrations",
    sql: include_str!("migrations/0001-baseline.sql"),
}];

/// The store version this build writes: the last step's.
pub const VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Why the steps could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The store is of a version this build does not know.
    #[error("store version {found} is newer than this trailbell's ({known})")]
    TooNew {
        /// The store's `user_version`.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A step failed; nothing of it, or of the steps after, was applied.
    #[error("step {version} ({what}) failed: {source}")]
    Step {
        /// The step.
        version: i64,
        /// What it does.
        what: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading or writing the version, or the transaction, failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The store's version (`0` for a new file or one written before migrations).
pub(crate) fn version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the steps of `steps` after the store's version; returns the steps applied. A store
/// that is up to date costs one read of its header, no write; a newer one is refused untouched.
pub(crate) fn apply(
    connection: &mut Connection,
    steps: &[Migration],
) -> Result<usize, MigrationError> {
    let known = steps.last().map_or(0, |step| step.version);
    let found = version(connection)?;
    if found == known {
        return Ok(0);
    }
    if found > known {
        return Err(MigrationError::TooNew { found, known });
    }
    // IMMEDIATE: the write lock first, then the version again, so that two processes opening
    // an old store at once apply each step once.
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found > known {
        return Err(MigrationError::TooNew { found, known });
    }
    let mut applied = 0;
    for step in steps.iter().filter(|step| step.version > found) {
        tx.execute_batch(step.sql)
            .map_err(|source| MigrationError::Step {
                version: step.version,
                what: step.what,
                source,
            })?;
        applied += 1;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (index, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                step.version,
                i64::try_from(index).expect("small") + 1,
                "{}",
                step.what
            );
        }
    }

    const STEPS: &[Migration] = &[
        Migration {
            version: 1,
            what: "a table",
            sql: "CREATE TABLE a (x INTEGER);",
        },
        Migration {
            version: 2,
            what: "a column",
            sql: "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'old';",
        },
    ];

    #[test]
    fn each_step_runs_once_in_order() {
        let mut connection = Connection::open_in_memory().expect("in memory");
        assert_eq!(apply(&mut connection, &STEPS[..1]).expect("step 1"), 1);
        connection
            .execute("INSERT INTO a (x) VALUES (7)", [])
            .expect("a row");
        assert_eq!(apply(&mut connection, STEPS).expect("step 2"), 1);
        assert_eq!(apply(&mut connection, STEPS).expect("nothing"), 0);
        assert_eq!(version(&connection).expect("version"), 2);
        let y: String = connection
            .query_row("SELECT y FROM a WHERE x = 7", [], |row| row.get(0))
            .expect("the row kept");
        assert_eq!(y, "old");
    }

    #[test]
    fn a_failed_step_leaves_the_store_as_it_was() {
        let mut connection = Connection::open_in_memory().expect("in memory");
        apply(&mut connection, &STEPS[..1]).expect("step 1");
        let broken = [
            STEPS[0],
            STEPS[1],
            Migration {
                version: 3,
                what: "broken",
                sql: "ALTER TABLE nowhere ADD COLUMN z TEXT;",
            },
        ];
        let err = apply(&mut connection, &broken).expect_err("step 3 fails");
        assert!(
            matches!(err, MigrationError::Step { version: 3, .. }),
            "{err}"
        );
        assert_eq!(version(&connection).expect("version"), 1);
        assert!(
            connection.prepare("SELECT y FROM a").is_err(),
            "step 2 rolled back with step 3"
        );
    }

    #[test]
    fn a_newer_store_is_refused_untouched() {
        let mut connection = Connection::open_in_memory().expect("in memory");
        apply(&mut connection, STEPS).expect("both steps");
        let err = apply(&mut connection, &STEPS[..1]).expect_err("too new");
        assert!(
            matches!(err, MigrationError::TooNew { found: 2, known: 1 }),
            "{err}"
        );
    }
}
