//! A CloudTrail record to the EventBridge envelope AWS delivers for it.

use std::fmt::Write as _;

use sha1::{Digest as _, Sha1};

use super::fields::RecordFields;
use super::time::normalize_time;

/// The largest event EventBridge delivers, in bytes (256 KB); larger CloudTrail events never reach
/// a rule, so a scan skips them too.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Things about a record that were guessed rather than read.
///
/// Each is counted by a scan and reported once at the end; none stops a record from being matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Warnings {
    /// No `eventSource` string: the envelope has no `source`.
    pub no_source: bool,
    /// No `eventType` string, or one this reader does not know: the envelope has no `detail-type`.
    pub no_detail_type: bool,
    /// No `eventTime` string: the envelope has no `time`.
    pub no_time: bool,
    /// An `eventTime` that is not a time: the envelope's `time` is that text, unchanged.
    pub odd_time: bool,
    /// No `eventID` string: the envelope's `id` is derived from the record's bytes, and the record
    /// cannot be deduplicated.
    pub no_event_id: bool,
}

impl Warnings {
    /// Whether nothing was guessed.
    pub fn is_empty(&self) -> bool {
        *self == Warnings::default()
    }
}

/// The `detail-type` EventBridge gives a CloudTrail `eventType`.
///
/// ```
/// use trailbell::cloudtrail::detail_type;
///
/// assert_eq!(detail_type("AwsConsoleSignIn"), Some("AWS Console Sign In via CloudTrail"));
/// assert_eq!(detail_type("AwsApiCall"), Some("AWS API Call via CloudTrail"));
/// assert_eq!(detail_type("SomethingNew"), None);
/// ```
pub fn detail_type(event_type: &str) -> Option<&'static str> {
    DETAIL_TYPES
        .iter()
        .find(|(known, _)| *known == event_type)
        .map(|(_, detail_type)| *detail_type)
}

/// The `eventType` whose events EventBridge gives `detail_type`: [`detail_type`] backwards.
pub(crate) fn event_type_of(detail_type: &str) -> Option<&'static str> {
    DETAIL_TYPES
        .iter()
        .find(|(_, known)| *known == detail_type)
        .map(|(event_type, _)| *event_type)
}

/// CloudTrail's `eventType`s and the `detail-type` EventBridge gives each.
const DETAIL_TYPES: [(&str, &str); 5] = [
    ("AwsApiCall", "AWS API Call via CloudTrail"),
    ("AwsConsoleSignIn", "AWS Console Sign In via CloudTrail"),
    ("AwsServiceEvent", "AWS Service Event via CloudTrail"),
    ("AwsConsoleAction", "AWS Console Action via CloudTrail"),
    ("AwsCloudTrailInsight", "AWS Insight via CloudTrail"),
];

/// The `source` EventBridge gives a CloudTrail `eventSource`: `aws.` and the service, the part
/// before the first dot (`signin.amazonaws.com` is `aws.signin`).
///
/// ```
/// use trailbell::cloudtrail::source_of;
///
/// assert_eq!(source_of("signin.amazonaws.com"), "aws.signin");
/// assert_eq!(source_of("s3"), "aws.s3");
/// ```
pub fn source_of(event_source: &str) -> String {
    let service = event_source.split('.').next().unwrap_or_default();
    format!("aws.{service}")
}

/// The envelope `id` of an event: a UUID version 5 (RFC 9562) in the URL namespace of the name
/// `cloudtrail-event:` followed by the `eventID`.
///
/// EventBridge gives each delivery a random id; a scan derives it from the `eventID` instead, so
/// that the same record always gets the same id, and anyone can recompute it, for example in
/// Python: `uuid.uuid5(uuid.NAMESPACE_URL, "cloudtrail-event:" + event_id)`.
///
/// ```
/// use trailbell::cloudtrail::envelope_id;
///
/// assert_eq!(
///     envelope_id("5a1e0000-0000-4000-8000-000000000001").to_string(),
///     "987ab65d-206d-518f-ba71-272816b9735a"
/// );
/// ```
pub fn envelope_id(event_id: &str) -> EventUuid {
    uuid_v5(&[b"cloudtrail-event:", event_id.as_bytes()])
}

/// The envelope `id` of a record with no `eventID`: the same construction over
/// `cloudtrail-record:` followed by the record's bytes.
pub fn record_id(record: &[u8]) -> EventUuid {
    uuid_v5(&[b"cloudtrail-record:", record])
}

/// The URL namespace of RFC 9562, `6ba7b811-9dad-11d1-80b4-00c04fd430c8`.
const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

fn uuid_v5(parts: &[&[u8]]) -> EventUuid {
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE_URL);
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    EventUuid(u128::from_be_bytes(bytes))
}

/// An envelope id: a UUID, also the key a scan deduplicates events on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventUuid(pub u128);

impl EventUuid {
    /// Writes the id in its hyphenated lowercase form.
    fn write_to(self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = self.0.to_be_bytes();
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push(b'-');
            }
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        }
    }
}

impl std::fmt::Display for EventUuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = Vec::with_capacity(36);
        self.write_to(&mut text);
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

/// What [`write_envelope`] derived besides the envelope's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// The envelope's `id`.
    pub id: EventUuid,
    /// The envelope's `time` when the record's `eventTime` could be read as a time.
    pub time: Option<String>,
    /// What had to be guessed.
    pub warnings: Warnings,
}

/// Writes into `out` (cleared first) the EventBridge envelope of a CloudTrail record: `record` is
/// the record's raw JSON, `fields` what [`Item`](super::Item) read from it.
///
/// The fields come in EventBridge's order: `version` (`"0"`), `id` ([`envelope_id`]),
/// `detail-type` ([`detail_type`] of `eventType`), `source` ([`source_of`] `eventSource`),
/// `account` (`recipientAccountId`), `time` (`eventTime`, [normalized](super::normalize_time)),
/// `region` (`awsRegion`), `resources` (`[]`) and `detail`: `record`, byte for byte.
///
/// Nothing fails: a field whose source is missing or not a string is left out of the envelope
/// (EventBridge would not have delivered such a record at all) and flagged in the returned
/// [`Warnings`]; an `eventTime` that is not a time is copied as it is.
///
/// ```
/// use trailbell::cloudtrail::{Item, item_of, write_envelope};
///
/// let record = r#"{"eventVersion": "1.08", "eventTime": "2026-11-02T08:15:00Z",
///     "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
///     "eventID": "e-1", "eventType": "AwsConsoleSignIn", "recipientAccountId": "111122223333"}"#;
/// let Item::Record(fields) = item_of(record)? else { unreachable!() };
/// let mut out = Vec::new();
/// let info = write_envelope(&fields, record.as_bytes(), &mut out);
/// let envelope: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(envelope["source"], "aws.signin");
/// assert_eq!(envelope["detail-type"], "AWS Console Sign In via CloudTrail");
/// assert_eq!(envelope["id"], info.id.to_string());
/// assert!(info.warnings.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_envelope(fields: &RecordFields<'_>, record: &[u8], out: &mut Vec<u8>) -> EnvelopeInfo {
    let mut warnings = Warnings::default();
    let id = match fields.event_id.as_deref() {
        Some(event_id) => envelope_id(event_id),
        None => {
            warnings.no_event_id = true;
            record_id(record)
        }
    };
    out.clear();
    out.reserve(record.len() + 256);
    let time = write_head(fields, Some(id), &mut warnings, out);
    out.extend_from_slice(record);
    out.push(b'}');
    EnvelopeInfo { id, time, warnings }
}

/// Writes into `out` (cleared first) the envelope [`write_envelope`] writes, with only some of the
/// record's fields in `detail`: those `names` lists, as [`Item`](super::Item) captured them in
/// `fields.projection`. With `id` `None`, the envelope has no `id`.
///
/// A rule reads only the fields its pattern names, so matching this smaller envelope gives the
/// same answer as matching the whole one, when `names` holds every field under `detail` that the
/// rules name ([`DetailFields::from_patterns`](super::DetailFields::from_patterns)) and `id` is
/// given when they read it. Returns the envelope's normalized time, what was guessed, and the
/// length [`write_envelope`] would have written for the whole record of `record_len` bytes.
///
/// ```
/// use trailbell::cloudtrail::{DetailFields, Item, LogReader, Step, write_projected_envelope};
///
/// let names = DetailFields::from_patterns([r#"{"detail": {"eventName": ["CreateUser"]}}"#]).unwrap();
/// let mut reader = LogReader::new();
/// reader.project(Some(std::sync::Arc::new(names.clone())));
/// let text = br#"{"eventName": "CreateUser", "eventSource": "iam.amazonaws.com", "big": [1, 2, 3]}"#;
/// let Step::Value { item: Item::Record(fields), .. } = reader.next(text, &mut 0, true)? else {
///     unreachable!()
/// };
/// let mut out = Vec::new();
/// write_projected_envelope(&fields, &names, None, text.len(), &mut out);
/// assert_eq!(
///     String::from_utf8(out)?,
///     r#"{"version":"0","source":"aws.iam","resources":[],"detail":{"eventName":"CreateUser"}}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_projected_envelope(
    fields: &RecordFields<'_>,
    names: &super::DetailFields,
    id: Option<EventUuid>,
    record_len: usize,
    out: &mut Vec<u8>,
) -> (Option<String>, Warnings, usize) {
    let mut warnings = Warnings {
        no_event_id: fields.event_id.is_none(),
        ..Warnings::default()
    };
    out.clear();
    let time = write_head(fields, id, &mut warnings, out);
    // `,"id":"` + 36 + `"`, when left out.
    let id_len = if id.is_some() { 0 } else { 44 };
    let whole_len = out.len() + id_len + record_len + 1;
    out.push(b'{');
    for (i, (index, raw)) in fields.projection.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(names.quoted(*index));
        out.push(b':');
        out.extend_from_slice(raw.as_bytes());
    }
    out.extend_from_slice(b"}}");
    (time, warnings, whole_len)
}

/// Everything of an envelope up to `"detail":`; the normalized time.
fn write_head(
    fields: &RecordFields<'_>,
    id: Option<EventUuid>,
    warnings: &mut Warnings,
    out: &mut Vec<u8>,
) -> Option<String> {
    out.extend_from_slice(br#"{"version":"0""#);
    if let Some(id) = id {
        out.extend_from_slice(br#","id":""#);
        id.write_to(out);
        out.push(b'"');
    }

    match fields.event_type.as_deref().and_then(detail_type) {
        Some(detail_type) => {
            out.extend_from_slice(br#","detail-type":""#);
            out.extend_from_slice(detail_type.as_bytes());
            out.push(b'"');
        }
        None => warnings.no_detail_type = true,
    }

    match fields.event_source.as_deref() {
        Some(event_source) => {
            out.extend_from_slice(br#","source":"aws."#);
            let service = event_source.split('.').next().unwrap_or_default();
            push_json_string_body(out, service);
            out.push(b'"');
        }
        None => warnings.no_source = true,
    }

    if let Some(account) = &fields.recipient_account_id {
        out.extend_from_slice(br#","account":"#);
        push_cow_string(out, account);
    }

    let mut time = None;
    match fields.event_time.as_deref() {
        Some(event_time) => {
            out.extend_from_slice(br#","time":"#);
            match normalize_time(event_time) {
                Some(normalized) => {
                    push_json_string(out, &normalized);
                    time = Some(normalized.into_owned());
                }
                None => {
                    warnings.odd_time = true;
                    push_json_string(out, event_time);
                }
            }
        }
        None => warnings.no_time = true,
    }

    if let Some(region) = &fields.aws_region {
        out.extend_from_slice(br#","region":"#);
        push_cow_string(out, region);
    }

    out.extend_from_slice(br#","resources":[],"detail":"#);
    time
}

/// Appends a string read from JSON as a JSON string. A borrowed one had no escape in the JSON it
/// was read from, and serde_json rejects raw control characters: it needs no escaping.
#[allow(clippy::ptr_arg)] // Whether the string is borrowed is the point.
fn push_cow_string(out: &mut Vec<u8>, text: &std::borrow::Cow<'_, str>) {
    match text {
        std::borrow::Cow::Borrowed(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        std::borrow::Cow::Owned(text) => push_json_string(out, text),
    }
}

/// Appends `text` as a JSON string, quotes included.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    push_json_string_body(out, text);
    out.push(b'"');
}

/// Appends `text` escaped for the inside of a JSON string.
fn push_json_string_body(out: &mut Vec<u8>, text: &str) {
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(escaped, "\\u{:04x}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    out.extend_from_slice(escaped.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::{Item, item_of};

    fn envelope_of(record: &str) -> (serde_json::Value, EnvelopeInfo, Vec<u8>) {
        let Item::Record(fields) = item_of(record).expect("valid JSON") else {
            panic!("not a record: {record}")
        };
        let mut out = Vec::new();
        let info = write_envelope(&fields, record.as_bytes(), &mut out);
        let value = serde_json::from_slice(&out).expect("the envelope is JSON");
        (value, info, out)
    }

    #[test]
    fn detail_is_the_record_byte_for_byte() {
        let record = "{ \"eventID\" : \"x\",\n  \"eventName\":\"A\", \"n\": 1.50e1 }";
        let (_, _, out) = envelope_of(record);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.ends_with(&format!(",\"detail\":{record}}}")), "{text}");
    }

    #[test]
    fn missing_fields_are_left_out_and_flagged() {
        let (value, info, _) = envelope_of(r#"{"eventName": "X"}"#);
        let keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["detail", "id", "resources", "version"]);
        assert_eq!(
            info.warnings,
            Warnings {
                no_source: true,
                no_detail_type: true,
                no_time: true,
                odd_time: false,
                no_event_id: true,
            }
        );
        assert_eq!(info.id, record_id(br#"{"eventName": "X"}"#));
    }

    #[test]
    fn odd_strings_are_escaped_and_odd_times_kept() {
        let (value, info, _) = envelope_of(
            r#"{"eventID": "e", "eventSource": "we\"ird\n.amazonaws.com", "eventTime": "soon",
                "recipientAccountId": "1\\2", "awsRegion": "\u0001", "eventType": "AwsFuture"}"#,
        );
        assert_eq!(value["source"], "aws.we\"ird\n");
        assert_eq!(value["account"], "1\\2");
        assert_eq!(value["region"], "\u{1}");
        assert_eq!(value["time"], "soon");
        assert!(value.get("detail-type").is_none());
        assert!(info.warnings.odd_time && info.warnings.no_detail_type);
        assert_eq!(info.time, None);
    }

    #[test]
    fn ids_are_uuid_v5_and_depend_only_on_the_event_id() {
        let a = envelope_id("5a1e0000-0000-4000-8000-000000000001");
        assert_eq!(a, envelope_id("5a1e0000-0000-4000-8000-000000000001"));
        assert_ne!(a, envelope_id("5a1e0000-0000-4000-8000-000000000002"));
        let text = a.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "5");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    }
}

#[cfg(test)]
mod samples {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::cloudtrail::{Item, item_of};

    /// Every sample record becomes its sample envelope (`testdata/envelopes/`), except for `id`,
    /// which EventBridge draws at random and a scan derives from the `eventID`.
    #[test]
    fn sample_records_become_the_envelopes_aws_delivers() {
        let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let records = testdata.join("cloudtrail/records");
        let mut names: Vec<_> = fs::read_dir(&records)
            .expect("testdata/cloudtrail/records")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        names.sort();
        assert!(names.len() >= 18, "{names:?}");
        for name in names {
            let record = fs::read_to_string(records.join(&name)).expect("record");
            let expected = fs::read_to_string(testdata.join("envelopes").join(&name))
                .expect("a sample envelope for every sample record");
            let Item::Record(fields) = item_of(&record).expect("JSON") else {
                panic!("{name:?} is not a record")
            };
            let mut out = Vec::new();
            let info = write_envelope(&fields, record.as_bytes(), &mut out);
            assert!(info.warnings.is_empty(), "{name:?}: {:?}", info.warnings);

            let mut actual: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
            let mut expected: serde_json::Value = serde_json::from_str(&expected).expect("JSON");
            let event_id = fields.event_id.as_deref().expect("eventID");
            assert_eq!(actual["id"], envelope_id(event_id).to_string());
            actual["id"] = serde_json::Value::Null;
            expected["id"] = serde_json::Value::Null;
            assert_eq!(actual, expected, "{name:?}");

            let text = String::from_utf8(out).expect("UTF-8");
            assert!(
                text.ends_with(&format!("\"detail\":{record}}}")),
                "{name:?}"
            );
        }
    }
}

#[cfg(test)]
mod projection {
    use std::fs;
    use std::path::Path;
    use std::sync::Arc;

    use trailbell_pattern::MatcherBuilder;

    use super::*;
    use crate::cloudtrail::{DetailFields, Item, LogReader, Step};

    /// Every record of `text`, matched whole and projected: the same rules match.
    fn assert_same_answers(patterns: &[&str], text: &[u8]) -> usize {
        let mut builder = MatcherBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            builder
                .add_rule(&format!("r{i}"), pattern)
                .expect("valid pattern");
        }
        let matcher = builder.build();
        let names =
            Arc::new(DetailFields::from_patterns(patterns.iter().copied()).expect("fields"));
        let (mut reader, mut pos, mut checked, mut matched) = (LogReader::new(), 0, 0, 0);
        reader.project(Some(names.clone()));
        let (mut whole, mut projected) = (Vec::new(), Vec::new());
        loop {
            match reader.next(text, &mut pos, true).expect("valid JSON") {
                Step::Value {
                    item: Item::Record(fields),
                    raw,
                    ..
                } => {
                    write_envelope(&fields, raw, &mut whole);
                    let id = names.reads_id().then(|| match fields.event_id.as_deref() {
                        Some(event_id) => envelope_id(event_id),
                        None => record_id(raw),
                    });
                    let (_, _, whole_len) =
                        write_projected_envelope(&fields, &names, id, raw.len(), &mut projected);
                    assert_eq!(whole_len, whole.len());
                    let expected = matcher.matches(&whole).expect("valid");
                    let mut cache = matcher.new_cache();
                    let mut actual = Vec::new();
                    matcher
                        .matches_trusted_with(&mut cache, &projected, &mut actual)
                        .expect("valid");
                    assert_eq!(actual, expected, "{}", String::from_utf8_lossy(&projected));
                    checked += 1;
                    matched += usize::from(!expected.is_empty());
                }
                Step::End => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(matched > 0, "no record matched anything: a weak test");
        checked
    }

    #[test]
    fn the_built_in_pack_answers_the_same_on_projected_envelopes() {
        let pack = crate::rules::RulePack::builtin();
        let patterns: Vec<&str> = pack
            .rules()
            .iter()
            .map(|r| r.event_pattern.as_str())
            .collect();
        let records =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cloudtrail/records");
        let mut text = Vec::new();
        for entry in fs::read_dir(records).expect("records") {
            text.extend(fs::read(entry.expect("entry").path()).expect("record"));
            text.push(b'\n');
        }
        assert!(assert_same_answers(&patterns, &text) >= 18);
    }

    #[test]
    fn tricky_patterns_answer_the_same_on_projected_envelopes() {
        let patterns = [
            r#"{"id": [{"prefix": ""}], "detail": {"eventName": ["A"]}}"#,
            r#"{"detail": {"detail": {"x": [1]}}}"#,
            r#"{"detail": {"time": [{"exists": true}]}}"#,
            r#"{"$or": [{"source": ["aws.s3"]}, {"detail": {"errorCode": [{"exists": false}]}}]}"#,
            r#"{"detail": {"$or": [{"eventName": ["B"]}, {"userIdentity": {"type": ["Root"]}}]}}"#,
            r#"{"detail": {"eventSource": [{"anything-but": "s3.amazonaws.com"}]}}"#,
            r#"{"region": ["us-east-1"], "detail": {"Records": [{"exists": true}]}}"#,
        ];
        let text = br#"
            {"eventName": "A", "eventSource": "s3.amazonaws.com", "eventID": "1"}
            {"eventName": "B", "detail": {"x": 1}, "errorCode": "Denied", "awsRegion": "us-east-1"}
            {"eventName": "C", "time": null, "userIdentity": {"type": "Root"}, "eventSource": "e\u0063s"}
            {"eventName": "D", "Records": [], "awsRegion": "us-east-1", "eventName": "B"}
            {"eventVersion": "1", "detail-type": "not an envelope without detail"}
        "#;
        assert_eq!(assert_same_answers(&patterns, text), 5);
    }
}
