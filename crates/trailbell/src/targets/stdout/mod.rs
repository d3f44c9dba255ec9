//! Standard output: a JSON line per alert ([`crate::targets::client::json_line`]) or, for a person
//! at a terminal, the payload as the readable line it already is. Written and flushed before the
//! alert counts as delivered; a closed standard output is a permanent failure.

pub mod render;

use std::io::Write as _;

use super::LineFormat;
use super::client::{Delivered, DeliveryError, Outgoing, json_line};

/// Standard output, ready to write to.
#[derive(Debug)]
pub struct StdoutClient {
    format: LineFormat,
}

impl StdoutClient {
    /// Writes in `format`.
    pub fn new(format: LineFormat) -> StdoutClient {
        StdoutClient { format }
    }

    /// Writes one line and flushes.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let line = match self.format {
            LineFormat::Json => json_line(message),
            // One line, whatever the payload holds.
            LineFormat::Text => message.payload.trim_end().replace(['\n', '\r'], " "),
        };
        tokio::task::spawn_blocking(move || {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").and_then(|()| out.flush())
        })
        .await
        .map_err(|err| DeliveryError::retryable("INTERNAL", err.to_string()))?
        .map_err(|err| DeliveryError::permanent("STDOUT", format!("cannot write: {err}")))?;
        Ok(Delivered::default())
    }
}
