//! A whole CloudTrail file (gzip or not) turned into EventBridge envelopes at once: what the live
//! sources need (a trail's files are small, a few MB at most), as opposed to a scan's streaming.

use super::envelope::{MAX_EVENT_BYTES, write_envelope};
use super::fields::{Item, item_of};
use super::gzip::{Decompressor, GzipError, is_gzip};
use super::reader::{LogReader, ReadError, Step};

/// The most a file may decompress to (1 GiB); a trail's files are far smaller.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// One event read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEvent {
    /// The envelope's `id`.
    pub id: String,
    /// The envelope, JSON text.
    pub envelope: String,
}

/// Everything read from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileEvents {
    /// The events, in file order.
    pub events: Vec<FileEvent>,
    /// Values that were neither records nor envelopes, or over 256 KB (EventBridge never delivers
    /// those), and so were left out.
    pub skipped: usize,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileEventsError {
    /// A corrupt or oversized gzip file.
    #[error(transparent)]
    Gzip(#[from] GzipError),
    /// Damaged JSON.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Reads every event of a CloudTrail file (`{"Records": [...]}`, JSON lines of records or
/// envelopes, one event), decompressing it first when it is gzip.
///
/// ```
/// let file = br#"{"Records": [{"eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
///     "eventType": "AwsApiCall", "eventID": "e-1", "eventTime": "2026-11-02T08:15:00Z"}]}"#;
/// let read = trailbell::cloudtrail::file_events(file)?;
/// assert_eq!(read.events.len(), 1);
/// assert!(read.events[0].envelope.contains(r#""source":"aws.iam""#));
/// # Ok::<(), trailbell::cloudtrail::FileEventsError>(())
/// ```
pub fn file_events(data: &[u8]) -> Result<FileEvents, FileEventsError> {
    let mut decompressed = Vec::new();
    let text: &[u8] = if is_gzip(data) {
        Decompressor::new(MAX_FILE_BYTES).decompress(data, &mut decompressed)?
    } else {
        data
    };
    let mut reader = LogReader::new();
    let mut pos = 0;
    let mut read = FileEvents::default();
    let mut out = Vec::new();
    loop {
        match reader.next(text, &mut pos, true)? {
            Step::End | Step::NeedMore => break,
            // This reader passes nothing over.
            Step::PassedOver { .. } => {}
            Step::Value { item, raw, .. } => match item {
                Item::Record(fields) => {
                    let info = write_envelope(&fields, raw, &mut out);
                    push(&mut read, info.id.to_string(), &out);
                }
                Item::Envelope { id, .. } => {
                    let id = id.map(|id| id.into_owned()).unwrap_or_default();
                    push(&mut read, id, raw);
                }
                Item::Records(records) => {
                    for record in records {
                        match item_of(record.get()) {
                            Ok(Item::Record(fields)) => {
                                let info =
                                    write_envelope(&fields, record.get().as_bytes(), &mut out);
                                push(&mut read, info.id.to_string(), &out);
                            }
                            _ => read.skipped += 1,
                        }
                    }
                }
                Item::Other => read.skipped += 1,
            },
        }
    }
    Ok(read)
}

fn push(read: &mut FileEvents, id: String, envelope: &[u8]) {
    match std::str::from_utf8(envelope) {
        Ok(text) if envelope.len() <= MAX_EVENT_BYTES => read.events.push(FileEvent {
            id,
            envelope: text.to_owned(),
        }),
        _ => read.skipped += 1,
    }
}
