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
    /// The envelope as the door read it ([`crate::event::read`]): what the service matches and
    /// renders, so that a source's events are read once.
    pub(crate) value: std::sync::Arc<serde_json::Value>,
}

/// Everything read from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileEvents {
    /// The events, in file order; each one the engine and the alert renderers both read
    /// ([`crate::event::read`]), so that a source accepts nothing it would then drop.
    pub events: Vec<FileEvent>,
    /// The values that were not taken, each with where it is and why.
    pub refused: Vec<RefusedRecord>,
}

/// A value of a file that [`file_events`] did not take: not a record or an envelope, over 256 KB
/// (EventBridge never delivers those), or an envelope that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedRecord {
    /// Its position among the file's values (the records of `Records` and top-level values), from 0.
    pub index: usize,
    /// Where it starts in the (decompressed) file.
    pub offset: usize,
    /// Its envelope's `id`, when it had one made.
    pub id: Option<String>,
    /// Why, e.g. `it cannot be read: number out of range at byte 21 of its envelope`.
    pub reason: String,
}

impl std::fmt::Display for RefusedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} (byte {}", self.index, self.offset)?;
        if let Some(id) = &self.id {
            write!(f, ", event {id}")?;
        }
        write!(f, ") refused, {}", self.reason)
    }
}

impl std::error::Error for RefusedRecord {}

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
    let mut read = Taking {
        read: FileEvents::default(),
        index: 0,
    };
    let mut out = Vec::new();
    loop {
        match reader.next(text, &mut pos, true)? {
            Step::End | Step::NeedMore => break,
            // This reader passes nothing over.
            Step::PassedOver { .. } => {}
            Step::Value {
                item, raw, offset, ..
            } => match item {
                Item::Record(fields) => {
                    let info = write_envelope(&fields, raw, &mut out);
                    read.take(offset, info.id.to_string(), &out);
                }
                Item::Envelope { id, .. } => {
                    let id = id.map(|id| id.into_owned()).unwrap_or_default();
                    read.take(offset, id, raw);
                }
                Item::Records(records) => {
                    for record in records {
                        let text = record.get();
                        // The record's place in the file: the parsed text borrows from it.
                        let at = offset + (text.as_ptr() as usize - raw.as_ptr() as usize);
                        match item_of(text) {
                            Ok(Item::Record(fields)) => {
                                let info = write_envelope(&fields, text.as_bytes(), &mut out);
                                read.take(at, info.id.to_string(), &out);
                            }
                            _ => read.refuse(at, None, NOT_A_RECORD.to_owned()),
                        }
                    }
                }
                Item::Other => read.refuse(offset, None, NOT_A_RECORD.to_owned()),
            },
        }
    }
    Ok(read.read)
}

const NOT_A_RECORD: &str = "it is neither a CloudTrail record nor an EventBridge envelope";

/// What has been read so far, and the index of the next value.
struct Taking {
    read: FileEvents,
    index: usize,
}

impl Taking {
    /// Takes an envelope when the service can read it as it will match and render it: the one
    /// door every event passes ([`crate::event::read`]). The log reader is more lenient than that
    /// door (it reads keys as raw bytes, so a raw control character in a key passes), and an
    /// envelope taken here but refused later would be accepted and then dropped.
    fn take(&mut self, offset: usize, id: String, envelope: &[u8]) {
        if envelope.len() > MAX_EVENT_BYTES {
            let reason = format!(
                "its envelope is {} bytes, over EventBridge's limit of {MAX_EVENT_BYTES}",
                envelope.len()
            );
            return self.refuse(offset, Some(id), reason);
        }
        let value = match crate::event::read(envelope) {
            Ok(value) => value,
            Err(err) => {
                let reason = format!(
                    "it cannot be read: {} at byte {} of its envelope",
                    err.reason(),
                    err.offset()
                );
                return self.refuse(offset, Some(id), reason);
            }
        };
        match std::str::from_utf8(envelope) {
            Ok(text) => {
                self.read.events.push(FileEvent {
                    id,
                    envelope: text.to_owned(),
                    value: std::sync::Arc::new(value),
                });
                self.index += 1;
            }
            // The door refuses what is not UTF-8; kept as a refusal should that ever change.
            Err(err) => self.refuse(
                offset,
                Some(id),
                format!("its envelope is not UTF-8: {err}"),
            ),
        }
    }

    fn refuse(&mut self, offset: usize, id: Option<String>, reason: String) {
        self.read.refused.push(RefusedRecord {
            index: self.index,
            offset,
            id,
            reason,
        });
        self.index += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn finding(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/fuzz-findings")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    /// Every event handed out is one the service reads: nothing taken is dropped later.
    fn assert_all_readable(read: &FileEvents) {
        for event in &read.events {
            if let Err(err) = crate::event::read(event.envelope.as_bytes()) {
                panic!(
                    "an envelope the service refuses ({err}): {}",
                    event.envelope
                );
            }
        }
    }

    /// The fuzz finding: a record whose key holds raw control characters (the log reader reads
    /// keys as bytes and lets them through; JSON and the engine do not) is refused by name.
    #[test]
    fn a_record_with_a_raw_control_character_in_a_key_is_refused_by_name() {
        let data = finding("cloudtrail_file-envelope-unreadable.json");
        let read = file_events(&data).expect("the file is read");
        assert_all_readable(&read);
        assert!(read.events.is_empty(), "{:?}", read.events);
        assert_eq!(read.refused.len(), 1, "{:?}", read.refused);
        let refused = &read.refused[0];
        assert_eq!((refused.index, refused.offset), (0, 0));
        let id = crate::cloudtrail::envelope_id("5a1e0000-0000-4000-8000-000000000011");
        assert_eq!(refused.id, Some(id.to_string()));
        assert_eq!(
            refused.to_string(),
            format!("record 0 (byte 0, event {id}) refused, {}", refused.reason)
        );
        assert!(
            refused.reason.starts_with("it cannot be read: ")
                && refused.reason.contains("control character"),
            "{}",
            refused.reason
        );
    }

    /// In a `Records` array, each record is taken or refused on its own, with its index and
    /// offset, whichever way the file is laid out.
    #[test]
    fn each_record_of_a_file_is_taken_or_refused_with_its_index() {
        let good = |id: &str| {
            format!(
                r#"{{"eventSource": "iam.amazonaws.com", "eventType": "AwsApiCall", "eventID": "{id}"}}"#
            )
        };
        let bad = "{\"eventID\": \"b\", \"k\u{1}\": 1}";
        let lone = r#"{"eventID": "s", "x": "\ud800"}"#;
        let huge = format!(
            r#"{{"eventID": "h", "x": "{}"}}"#,
            "a".repeat(MAX_EVENT_BYTES)
        );
        let records = [
            good("g1"),
            bad.to_owned(),
            "7".to_owned(),
            lone.to_owned(),
            huge,
            good("g2"),
        ];
        for file in [
            format!(r#"{{"Records": [{}]}}"#, records.join(", ")),
            records.join("\n"),
        ] {
            let read = file_events(file.as_bytes()).expect("the file is read");
            assert_all_readable(&read);
            let ids: Vec<&str> = read.events.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(
                ids,
                [
                    crate::cloudtrail::envelope_id("g1").to_string(),
                    crate::cloudtrail::envelope_id("g2").to_string()
                ]
            );
            let refused: Vec<usize> = read.refused.iter().map(|r| r.index).collect();
            assert_eq!(refused, [1, 2, 3, 4], "{:?}", read.refused);
            for (refused, record) in read.refused.iter().zip(&records[1..5]) {
                assert!(
                    file[refused.offset..].starts_with(record.as_str()),
                    "{refused:?}"
                );
            }
            assert!(read.refused[0].reason.contains("control character"));
            assert_eq!(read.refused[1].reason, NOT_A_RECORD);
            assert!(
                read.refused[2].reason.contains("surrogate"),
                "{:?}",
                read.refused[2]
            );
            assert!(read.refused[3].reason.contains("over EventBridge's limit"));
        }
    }

    /// With `Records` not the first key the object is parsed whole, and serde_json's parse of it
    /// refuses the raw control character: the whole file is refused, naming the byte.
    #[test]
    fn a_file_parsed_whole_is_refused_by_name() {
        let file =
            "{\"x\": 1, \"Records\": [{\"eventID\": \"a\"}, {\"eventID\": \"b\", \"k\u{1}\": 1}]}";
        match file_events(file.as_bytes()) {
            Err(FileEventsError::Read(ReadError::Syntax { offset, message })) => {
                assert!(message.contains("control character"), "{message}");
                assert!(offset > 50, "{offset}");
            }
            other => panic!("{other:?}"),
        }
    }
}
