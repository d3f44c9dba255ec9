//! A file that alerts are appended to, one JSON line each
//! ([`crate::targets::client::json_line`]). The line is written with one `write` in append mode and
//! synced to disk before the alert counts as delivered; failures retry (a full disk may clear).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;

use super::client::{Delivered, DeliveryError, Outgoing, json_line};

/// A file, ready to append to.
#[derive(Debug)]
pub struct FileClient {
    path: PathBuf,
}

impl FileClient {
    /// Appends to `path` (created if missing; opened for each alert, so rotation just works).
    pub fn new(path: PathBuf) -> FileClient {
        FileClient { path }
    }

    /// Appends one line and syncs it.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let mut line = json_line(message);
        line.push('\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(line.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|err| DeliveryError::retryable("INTERNAL", err.to_string()))?
        .map_err(|err| {
            DeliveryError::retryable(
                "FILE",
                format!("cannot append to {}: {err}", self.path.display()),
            )
        })?;
        Ok(Delivered::default())
    }
}
