//! CloudTrail records and log files: reading them, and turning each record into the EventBridge
//! event AWS would deliver for it.
//!
//! - [`LogReader`] splits a file's text (a CloudTrail log file `{"Records": [...]}`, JSON lines of
//!   records or of envelopes, a single record or envelope) into values, each parsed once by
//!   serde_json into an [`Item`] that holds the few fields the envelope needs, borrowed from the
//!   text.
//! - [`write_envelope`] writes a record's EventBridge envelope into a reused buffer: the
//!   envelope's fields from the record's, and the record's raw bytes, unchanged, as `detail`.
//! - [`Decompressor`] decompresses whole `.json.gz` files with libdeflate, with a cap against
//!   decompression bombs.
//!
//! Reading is lenient where CloudTrail varies (unknown fields, a missing `userIdentity.arn` on
//! failed sign-ins, `HIDDEN_DUE_TO_SECURITY_REASONS`, odd time forms, a missing `eventSource`:
//! see [`Warnings`]) and strict where the file is damaged (invalid JSON is a [`ReadError`]).
//!
//! ```
//! use trailbell::cloudtrail::{Item, LogReader, Step, write_envelope};
//!
//! let file = br#"{"Records": [{"eventVersion": "1.08", "eventTime": "2026-11-02T08:15:00Z",
//!     "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn",
//!     "awsRegion": "us-east-1", "eventID": "e-1", "recipientAccountId": "111122223333"}]}"#;
//! let (mut reader, mut pos, mut envelope) = (LogReader::new(), 0, Vec::new());
//! let Step::Value { item: Item::Record(fields), raw, .. } = reader.next(file, &mut pos, true)? else {
//!     unreachable!()
//! };
//! write_envelope(&fields, raw, &mut envelope);
//! let event: serde_json::Value = serde_json::from_slice(&envelope)?;
//! assert_eq!(event["source"], "aws.signin");
//! assert_eq!(event["account"], "111122223333");
//! assert!(matches!(reader.next(file, &mut pos, true)?, Step::End));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod envelope;
mod facts;
mod fields;
mod file_events;
mod gzip;
mod prefilter;
mod reader;
mod time;

pub use envelope::{
    EnvelopeInfo, EventUuid, MAX_EVENT_BYTES, Warnings, detail_type, envelope_id, record_id,
    source_of, write_envelope, write_projected_envelope,
};
pub use facts::{Facts, actor};
pub(crate) use fields::set_thread_detail_fields;
pub use fields::{DetailFields, Item, RecordFields, item_of};
pub use file_events::{FileEvent, FileEvents, FileEventsError, RefusedRecord, file_events};
pub(crate) use gzip::gzip_error;
pub use gzip::{Decompressor, GZIP_MAGIC, GzipError, is_gzip, stream_decoder};
pub use prefilter::{HeldTexts, RecordFilter};
pub use reader::{LogReader, ReadError, Step};
pub use time::{NORMALIZED_LEN, format_timestamp, normalize_time};
