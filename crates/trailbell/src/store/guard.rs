//! What `trailbell run` checks before it uses a data directory (decision 0019): that no other
//! process uses it, by a lock file held for the process's life, and that its store is sound
//! (`PRAGMA quick_check`). Two services on one directory would each deliver the other's
//! in-flight alerts again; a damaged store would fail later, in the middle of an event.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// The lock file's name inside a data directory; it holds the pid of the process that locked it.
pub const LOCK_FILE_NAME: &str = "trailbell.lock";

/// The most of `quick_check`'s findings an error repeats.
const FINDINGS_SHOWN: usize = 5;

/// The data directory, locked until this is dropped (the operating system releases the lock when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// Another process holds the lock.
    #[error(
        "the data directory {dir} is in use by another trailbell (pid {pid}, see {lock}): stop it, or give this one another --data-dir"
    )]
    InUse {
        /// The data directory.
        dir: PathBuf,
        /// What the lock file says (the other process's pid).
        pid: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file could not be made or locked (most often: the directory is not this user's).
    /// The message names the lock file only, which holds the directory's path.
    #[error(
        "cannot lock the data directory with {lock}: {source}; give --data-dir a directory this \
         user may write, or change the owner of this one"
    )]
    Lock {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store failed its check.
    #[error(
        "the store {path} is damaged ({detail}): move it aside to start with an empty store, or restore it from a backup"
    )]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
}

/// Locks `dir` for this process, writing its pid into the lock file; fails at once, naming the
/// other process, when another one holds it.
pub fn lock_data_dir(dir: &Path) -> Result<DataDirLock, GuardError> {
    let lock = dir.join(LOCK_FILE_NAME);
    let failed = |source| GuardError::Lock {
        dir: dir.to_owned(),
        lock: lock.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(GuardError::InUse {
                dir: dir.to_owned(),
                pid: if pid.is_empty() { "unknown" } else { pid }.to_owned(),
                lock,
            });
        }
        Err(TryLockError::Error(source)) => return Err(failed(source)),
    }
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.flush())
        .map_err(failed)?;
    Ok(DataDirLock { _file: file })
}

/// Runs `PRAGMA quick_check` on the store at `path`, if there is one.
pub fn check_store(path: &Path) -> Result<(), GuardError> {
    if !path.exists() {
        return Ok(());
    }
    let damaged = |detail: String| GuardError::Damaged {
        path: path.to_owned(),
        detail,
    };
    let connection = Connection::open(path).map_err(|err| damaged(err.to_string()))?;
    let findings = connection
        .prepare("PRAGMA quick_check")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|err| damaged(err.to_string()))?;
    if findings.len() == 1 && findings[0] == "ok" {
        return Ok(());
    }
    let mut detail = findings
        .iter()
        .take(FINDINGS_SHOWN)
        .map(|finding| finding.replace('\n', " "))
        .collect::<Vec<_>>()
        .join("; ");
    if findings.len() > FINDINGS_SHOWN {
        detail.push_str(&format!("; and {} more", findings.len() - FINDINGS_SHOWN));
    }
    Err(damaged(format!("PRAGMA quick_check: {detail}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holder_and_a_dropped_lock_frees_the_directory() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let first = lock_data_dir(dir.path()).expect("the first lock");
        let err = lock_data_dir(dir.path()).expect_err("a second lock fails");
        assert!(
            err.to_string()
                .contains(&format!("(pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        lock_data_dir(dir.path()).expect("free again");
    }

    #[test]
    fn a_missing_store_passes_and_a_file_that_is_not_one_is_damaged() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("trailbell.db");
        check_store(&path).expect("nothing to check");
        std::fs::write(&path, vec![b'x'; 8192]).expect("write");
        let err = check_store(&path).expect_err("not a database");
        assert!(err.to_string().contains("is damaged"), "{err}");
    }
}
