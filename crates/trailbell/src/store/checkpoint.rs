//! Checkpoints off the event path: a thread that copies the WAL into the database file a few
//! times a second, so that no commit of the acceptor or the deliverer pays for one.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1000 pages: that
//! commit then waits for two fsyncs and the copy (tens of milliseconds on an ordinary disk), and
//! so does every event behind it. A `PASSIVE` checkpoint from a connection of its own waits for
//! no reader or writer; writers go on appending to the WAL meanwhile, and the WAL starts over
//! from its beginning once a checkpoint has caught up with it.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// What one checkpoint did (SQLite's `wal_checkpoint` answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointProgress {
    /// Frames in the WAL.
    pub wal_frames: i64,
    /// Of those, frames now copied into the database file.
    pub checkpointed_frames: i64,
}

impl CheckpointProgress {
    /// Whether the database file holds everything the WAL does.
    pub fn caught_up(self) -> bool {
        self.checkpointed_frames >= self.wal_frames
    }
}

/// Runs one `PASSIVE` checkpoint on `connection`.
pub fn checkpoint(connection: &Connection) -> rusqlite::Result<CheckpointProgress> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(CheckpointProgress {
            wal_frames: row.get(1)?,
            checkpointed_frames: row.get(2)?,
        })
    })
}

/// The checkpoint thread; stops (after one last checkpoint) on [`Checkpointer::stop`] or drop.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens its own connection to the store at `path` and checkpoints every `interval`.
    pub fn start(path: &Path, interval: Duration) -> Result<Checkpointer, StoreError> {
        let connection = super::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("trailbell-checkpoint".to_owned())
            .spawn(move || run(&connection, &stopped, interval))
            .map_err(StoreError::Thread)?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the thread after a last checkpoint.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        // Dropping the sender ends the thread's wait at once.
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("The checkpoint thread ended abnormally.");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(connection: &Connection, stopped: &mpsc::Receiver<()>, interval: Duration) {
    let mut failing = false;
    loop {
        let last = !matches!(
            stopped.recv_timeout(interval),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        match checkpoint(connection) {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("Checkpoints work again.");
            }
            Ok(_) => {}
            Err(err) if !failing => {
                failing = true;
                tracing::warn!(error = %err, "A checkpoint failed; the WAL grows until one works.");
            }
            Err(_) => {}
        }
        if last {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` commits of a row each: at least `count` WAL frames.
    fn write_rows(connection: &Connection, count: usize) {
        connection
            .execute_batch("CREATE TABLE IF NOT EXISTS t (x TEXT)")
            .expect("create");
        for n in 0..count {
            connection
                .execute("INSERT INTO t (x) VALUES (?1)", [format!("row-{n}")])
                .expect("insert");
        }
    }

    #[test]
    fn hot_connections_leave_the_wal_to_the_checkpointer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let hot = super::super::open_with(&path, super::super::Durability::Process).expect("open");
        write_rows(&hot, 2_000);
        let other = super::super::open(&path).expect("open");
        // Nobody checkpointed: every commit is still in the WAL (an automatic checkpoint at 1000
        // pages would have let the WAL start over).
        let before = checkpoint(&other).expect("checkpoint");
        assert!(before.wal_frames >= 2_000, "{before:?}");
        assert!(
            before.caught_up(),
            "a passive checkpoint with no readers copies it all"
        );
    }

    #[test]
    fn the_thread_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let hot = super::super::open_with(&path, super::super::Durability::Process).expect("open");
        let size_before = std::fs::metadata(&path).expect("metadata").len();
        write_rows(&hot, 5_000);
        assert_eq!(
            std::fs::metadata(&path).expect("metadata").len(),
            size_before,
            "the rows are only in the WAL"
        );
        let checkpointer = Checkpointer::start(&path, Duration::from_secs(3600)).expect("start");
        // Stopping runs the last checkpoint, whatever the interval.
        checkpointer.stop();
        assert!(std::fs::metadata(&path).expect("metadata").len() > size_before);
    }
}
