//! The few fields of a CloudTrail record (or an EventBridge envelope) that the envelope, the time
//! window and deduplication need, read in the same pass that validates the JSON.
//!
//! The visitors here borrow every string that has no escape, ignore every other field with
//! serde_json's validating skip, and never fail on a field of an unexpected type: a number where a
//! string belongs is treated as absent. A key that occurs twice takes its last value, as the engine
//! does (docs/decisions/0001-pattern-semantics.md).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The envelope fields of one CloudTrail record; every field is `None` when absent or not a string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordFields<'a> {
    /// `eventID`.
    pub event_id: Option<Cow<'a, str>>,
    /// `eventTime`, as written.
    pub event_time: Option<Cow<'a, str>>,
    /// `eventSource`, e.g. `signin.amazonaws.com`.
    pub event_source: Option<Cow<'a, str>>,
    /// `eventType`, e.g. `AwsConsoleSignIn`.
    pub event_type: Option<Cow<'a, str>>,
    /// `recipientAccountId`.
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `awsRegion`.
    pub aws_region: Option<Cow<'a, str>>,
    /// Whether the object has at least one of the keys every CloudTrail record has (`eventVersion`,
    /// `eventID`, `eventTime`, `eventSource`, `eventName`, `eventType`), whatever their values.
    pub looks_like_record: bool,
    /// With [`DetailFields`] set for the reading thread ([`LogReader::project`](super::LogReader::project)):
    /// the record's members whose names it lists, in the record's order, each as its index in the
    /// list and its value's raw JSON.
    pub projection: Vec<(u16, &'a str)>,
}

/// What one JSON value of a log file turned out to be.
#[derive(Debug)]
pub enum Item<'a> {
    /// A CloudTrail record.
    Record(RecordFields<'a>),
    /// An EventBridge envelope (an object with `detail-type` and an object `detail`); the fields are
    /// those of its `detail`.
    Envelope {
        /// The record fields read from `detail`.
        detail: RecordFields<'a>,
        /// The envelope's own `id`.
        id: Option<Cow<'a, str>>,
        /// The envelope's own `time`.
        time: Option<Cow<'a, str>>,
    },
    /// A `{"Records": [...]}` file whose `Records` key did not come first: its records, unparsed.
    Records(Vec<&'a RawValue>),
    /// Valid JSON that is none of the above.
    Other,
}

impl<'de> de::Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// The keys the visitors look at; everything else is [`Key::Other`].
enum Key {
    EventVersion,
    EventId,
    EventTime,
    EventSource,
    EventName,
    EventType,
    RecipientAccountId,
    AwsRegion,
    DetailType,
    Detail,
    Records,
    Id,
    Time,
    Other,
}

impl Key {
    fn from_name(name: &[u8]) -> Key {
        // By length first, then one comparison: this runs for every key of every record, and a
        // `match` on byte strings calls `memcmp` for each candidate.
        let (expected, key): (&[u8], Key) = match name.len() {
            2 => (b"id", Key::Id),
            4 => (b"time", Key::Time),
            6 => (b"detail", Key::Detail),
            7 if name[0] == b'R' => (b"Records", Key::Records),
            7 => (b"eventID", Key::EventId),
            9 => match name[5] {
                b'T' => match name[6] {
                    b'i' => (b"eventTime", Key::EventTime),
                    _ => (b"eventType", Key::EventType),
                },
                b'N' => (b"eventName", Key::EventName),
                _ => (b"awsRegion", Key::AwsRegion),
            },
            11 if name[0] == b'd' => (b"detail-type", Key::DetailType),
            11 => (b"eventSource", Key::EventSource),
            12 => (b"eventVersion", Key::EventVersion),
            18 => (b"recipientAccountId", Key::RecipientAccountId),
            _ => return Key::Other,
        };
        if same(name, expected) {
            key
        } else {
            Key::Other
        }
    }
}

/// `a == b` for short byte strings, eight bytes at a time and without a call to `memcmp`.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let len = a.len();
    if len < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 <= len {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    at == len || word(a, len - 8) == word(b, len - 8)
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key::from_name(name.as_bytes()))
            }
            fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<Key, E> {
                Ok(Key::from_name(name))
            }
        }
        // As bytes: serde_json then skips the UTF-8 check of every key, as it does for every
        // string it ignores. A key that is not UTF-8 is no key this visitor looks for.
        deserializer.deserialize_bytes(KeyVisitor)
    }
}

/// The top-level fields of `detail` that a rule set reads, with a fast lookup by name.
///
/// A scan matches a record's envelope with only these fields in its `detail` (see
/// [`write_projected_envelope`](super::write_projected_envelope)): what no rule reads cannot change
/// a match, and the matcher has less to skip.
///
/// ```
/// use trailbell::cloudtrail::DetailFields;
///
/// let fields = DetailFields::from_patterns([
///     r#"{"source": ["aws.signin"], "detail": {"userIdentity": {"type": ["Root"]}}}"#,
///     r#"{"$or": [{"detail": {"eventName": ["A"]}}, {"detail": {"errorCode": [{"exists": true}]}}]}"#,
/// ]).expect("patterns that read only named fields");
/// assert_eq!(fields.names(), ["errorCode", "eventName", "userIdentity"]);
/// assert!(!fields.reads_id());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailFields {
    names: Vec<String>,
    /// Each name as a JSON string, quotes included.
    quoted: Vec<Vec<u8>>,
    /// Indexes into `names` by name length.
    by_len: Vec<Vec<u16>>,
    reads_id: bool,
}

impl DetailFields {
    /// The fields named under `detail` by any of `patterns` (event patterns' JSON), or `None` when
    /// one of them is not a JSON object whose `detail` is an object (such a pattern is invalid
    /// anyway), or when they name more than 65,535 fields.
    pub fn from_patterns<'p>(patterns: impl IntoIterator<Item = &'p str>) -> Option<DetailFields> {
        let mut names = std::collections::BTreeSet::new();
        let mut reads_id = false;
        for pattern in patterns {
            let value: serde_json::Value = serde_json::from_str(pattern).ok()?;
            top_level(&value, &mut names, &mut reads_id)?;
        }
        if names.len() > usize::from(u16::MAX) {
            return None;
        }
        let names: Vec<String> = names.into_iter().collect();
        let mut by_len: Vec<Vec<u16>> = Vec::new();
        for (index, name) in names.iter().enumerate() {
            if by_len.len() <= name.len() {
                by_len.resize(name.len() + 1, Vec::new());
            }
            by_len[name.len()].push(index as u16);
        }
        let quoted = names
            .iter()
            .map(|name| serde_json::to_vec(name).unwrap_or_default())
            .collect();
        Some(DetailFields {
            names,
            quoted,
            by_len,
            reads_id,
        })
    }

    /// The names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name at `index` as a JSON string, quotes included.
    pub(crate) fn quoted(&self, index: u16) -> &[u8] {
        self.quoted
            .get(usize::from(index))
            .map_or(b"\"\"", Vec::as_slice)
    }

    /// Whether a pattern reads the envelope's `id` (which is then computed for every record).
    pub fn reads_id(&self) -> bool {
        self.reads_id
    }

    fn index(&self, name: &[u8]) -> Option<u16> {
        self.by_len
            .get(name.len())?
            .iter()
            .copied()
            .find(|&i| same(self.names[usize::from(i)].as_bytes(), name))
    }
}

/// Collects the `detail` fields of a pattern object (and of its `$or` branches).
fn top_level(
    value: &serde_json::Value,
    names: &mut std::collections::BTreeSet<String>,
    reads_id: &mut bool,
) -> Option<()> {
    for (key, value) in value.as_object()? {
        match key.as_str() {
            "detail" => detail_level(value, names)?,
            "$or" => {
                for branch in value.as_array()? {
                    top_level(branch, names, reads_id)?;
                }
            }
            "id" => *reads_id = true,
            _ => {}
        }
    }
    Some(())
}

fn detail_level(
    value: &serde_json::Value,
    names: &mut std::collections::BTreeSet<String>,
) -> Option<()> {
    for (key, value) in value.as_object()? {
        if key == "$or" {
            for branch in value.as_array()? {
                detail_level(branch, names)?;
            }
        } else {
            names.insert(key.clone());
        }
    }
    Some(())
}

thread_local! {
    /// The fields to project on this thread, set by [`LogReader::project`](super::LogReader::project).
    /// serde's `Deserialize` has no room for context, and serde_json's `StreamDeserializer` (which
    /// alone tells where a value ends) takes no seed.
    static DETAIL_FIELDS: std::cell::RefCell<Option<std::sync::Arc<DetailFields>>> =
        const { std::cell::RefCell::new(None) };
}

/// Makes `fields` the projection of records read on this thread (cloning the `Arc` only when it
/// changes, so that threads sharing one do not contend on its count for every record).
pub(crate) fn set_thread_detail_fields(fields: Option<&std::sync::Arc<DetailFields>>) {
    DETAIL_FIELDS.with_borrow_mut(|current| {
        let same = match (&*current, fields) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            *current = fields.cloned();
        }
    });
}

/// A top-level key: what it is to the record, and its index in the projected fields.
struct KeyInfo {
    key: Key,
    named: Option<u16>,
}

/// Reads a top-level key, looking it up in the projected fields.
struct KeySeed<'t>(Option<&'t DetailFields>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = KeyInfo;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyInfo, D::Error> {
        struct KeyVisitor<'t>(Option<&'t DetailFields>);
        impl Visitor<'_> for KeyVisitor<'_> {
            type Value = KeyInfo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<KeyInfo, E> {
                self.visit_bytes(name.as_bytes())
            }
            fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<KeyInfo, E> {
                Ok(KeyInfo {
                    key: Key::from_name(name),
                    named: self.0.and_then(|fields| fields.index(name)),
                })
            }
        }
        deserializer.deserialize_bytes(KeyVisitor(self.0))
    }
}

/// A string value's text from its raw JSON; `None` for any other value.
fn string_of(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// Reads `raw` (a value already validated) again with `seed`.
fn reparse<'de, S: DeserializeSeed<'de>>(raw: &'de str, seed: S) -> Option<S::Value> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    seed.deserialize(&mut deserializer).ok()
}

/// A value kept when it is a string, ignored (but still validated) otherwise.
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyVisitor(MaybeStrKind))
            .map(MaybeStr)
    }
}

/// Accepts any JSON value; `T` decides what to make of strings, objects and arrays, and everything
/// else becomes `T::default_value()`.
struct AnyVisitor<T>(T);

trait AnyKind<'de> {
    type Value;
    fn nothing(&self) -> Self::Value;
    fn string(&self, value: Cow<'de, str>) -> Self::Value {
        let _ = value;
        self.nothing()
    }
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error>
    where
        Self: Sized,
    {
        let nothing = self.nothing();
        drain_map(map)?;
        Ok(nothing)
    }
    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error>
    where
        Self: Sized,
    {
        let nothing = self.nothing();
        drain_seq(seq)?;
        Ok(nothing)
    }
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de, T: AnyKind<'de>> Visitor<'de> for AnyVisitor<T> {
    type Value = T::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.nothing())
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(self.0.string(Cow::Borrowed(value)))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(self.0.string(Cow::Owned(value.to_owned())))
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(self.0.string(Cow::Owned(value)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.seq(seq)
    }
}

struct MaybeStrKind;

impl<'de> AnyKind<'de> for MaybeStrKind {
    type Value = Option<Cow<'de, str>>;
    fn nothing(&self) -> Self::Value {
        None
    }
    fn string(&self, value: Cow<'de, str>) -> Self::Value {
        Some(value)
    }
}

/// Reads a record's fields from an object; anything else is `None`.
struct DetailKind;

impl<'de> AnyKind<'de> for DetailKind {
    type Value = Option<RecordFields<'de>>;
    fn nothing(&self) -> Self::Value {
        None
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = RecordFields::default();
        while let Some(key) = map.next_key::<Key>()? {
            if !fields.read(key, &mut map)? {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(fields))
    }
}

struct DetailSeed;

impl<'de> DeserializeSeed<'de> for DetailSeed {
    type Value = Option<RecordFields<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(AnyVisitor(DetailKind))
    }
}

/// The elements of an array, unparsed; anything else is `None`.
struct RecordsKind;

impl<'de> AnyKind<'de> for RecordsKind {
    type Value = Option<Vec<&'de RawValue>>;
    fn nothing(&self) -> Self::Value {
        None
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element::<&'de RawValue>()? {
            records.push(record);
        }
        Ok(Some(records))
    }
}

struct RecordsSeed;

impl<'de> DeserializeSeed<'de> for RecordsSeed {
    type Value = Option<Vec<&'de RawValue>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(AnyVisitor(RecordsKind))
    }
}

impl<'de> RecordFields<'de> {
    /// Like [`read`](RecordFields::read), from a value's raw JSON.
    fn read_raw(&mut self, key: Key, raw: &'de str) {
        let slot = match key {
            Key::EventVersion | Key::EventName => {
                self.looks_like_record = true;
                return;
            }
            Key::EventId => &mut self.event_id,
            Key::EventTime => &mut self.event_time,
            Key::EventSource => &mut self.event_source,
            Key::EventType => &mut self.event_type,
            Key::RecipientAccountId => &mut self.recipient_account_id,
            Key::AwsRegion => &mut self.aws_region,
            _ => return,
        };
        if !matches!(key, Key::RecipientAccountId | Key::AwsRegion) {
            self.looks_like_record = true;
        }
        *slot = string_of(raw);
    }

    /// Reads the value of `key` into its field when it is one of the record's; false when the key
    /// is not a record field and its value is still to be read.
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<bool, A::Error> {
        let slot = match key {
            Key::EventVersion | Key::EventName => {
                self.looks_like_record = true;
                return Ok(false);
            }
            Key::EventId => &mut self.event_id,
            Key::EventTime => &mut self.event_time,
            Key::EventSource => &mut self.event_source,
            Key::EventType => &mut self.event_type,
            Key::RecipientAccountId => &mut self.recipient_account_id,
            Key::AwsRegion => &mut self.aws_region,
            _ => return Ok(false),
        };
        if !matches!(key, Key::RecipientAccountId | Key::AwsRegion) {
            self.looks_like_record = true;
        }
        *slot = map.next_value::<MaybeStr<'de>>()?.0;
        Ok(true)
    }
}

struct ItemKind;

impl<'de> AnyKind<'de> for ItemKind {
    type Value = Item<'de>;
    fn nothing(&self) -> Self::Value {
        Item::Other
    }
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        DETAIL_FIELDS.with_borrow(|projected| item_map(map, projected.as_deref()))
    }
}

/// The members of a top-level object: a record, an envelope or a log file.
fn item_map<'de, A: MapAccess<'de>>(
    mut map: A,
    projected: Option<&DetailFields>,
) -> Result<Item<'de>, A::Error> {
    let mut fields = RecordFields::default();
    let mut detail_type = false;
    let mut detail = None;
    let mut records = None;
    let mut id = None;
    let mut time = None;
    while let Some(KeyInfo { key, named }) = map.next_key_seed(KeySeed(projected))? {
        if let Some(index) = named {
            // A field some rule reads: keep its raw JSON, and read the rest from it.
            let raw: &'de RawValue = map.next_value()?;
            let raw = raw.get();
            fields.projection.push((index, raw));
            match key {
                Key::DetailType => detail_type = true,
                Key::Detail => detail = reparse(raw, DetailSeed).flatten(),
                Key::Records => records = reparse(raw, RecordsSeed).flatten(),
                Key::Id => id = string_of(raw),
                Key::Time => time = string_of(raw),
                key => fields.read_raw(key, raw),
            }
            continue;
        }
        match key {
            Key::DetailType => {
                detail_type = true;
                map.next_value::<IgnoredAny>()?;
            }
            Key::Detail => detail = map.next_value_seed(DetailSeed)?,
            Key::Records => records = map.next_value_seed(RecordsSeed)?,
            Key::Id => id = map.next_value::<MaybeStr<'de>>()?.0,
            Key::Time => time = map.next_value::<MaybeStr<'de>>()?.0,
            key => {
                if !fields.read(key, &mut map)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
    }
    Ok(match (detail_type, detail) {
        (true, Some(detail)) => Item::Envelope { detail, id, time },
        _ if fields.looks_like_record => Item::Record(fields),
        _ => match records {
            Some(records) => Item::Records(records),
            None => Item::Other,
        },
    })
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Item::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ItemKind.map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Item::Other)
    }
}

/// Reads one JSON value that is known to be complete (for example a `RawValue` of a `Records`
/// array that did not come first).
pub fn item_of(raw: &str) -> Result<Item<'_>, serde_json::Error> {
    serde_json::from_str(raw)
}

/// The `eventTime` of an object, read in the same validating pass as the rest of it (which is
/// ignored): what a scan needs of a record it passes over. `None` when the object has none, or
/// it is not a string; the last of repeated keys counts, as for [`RecordFields`].
#[derive(Debug, Default)]
pub(crate) struct RecordTime<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for RecordTime<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeKind;
        impl<'de> AnyKind<'de> for TimeKind {
            type Value = RecordTime<'de>;
            fn nothing(&self) -> Self::Value {
                RecordTime(None)
            }
            fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut time = None;
                while let Some(key) = map.next_key::<Key>()? {
                    if let Key::EventTime = key {
                        time = map.next_value::<MaybeStr<'de>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(RecordTime(time))
            }
        }
        deserializer.deserialize_any(AnyVisitor(TimeKind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> Item<'_> {
        item_of(text).expect("valid JSON")
    }

    #[test]
    fn a_record_time_is_the_last_string_event_time() {
        let time = |text: &str| {
            serde_json::from_str::<RecordTime<'_>>(text)
                .expect("valid JSON")
                .0
                .map(Cow::into_owned)
        };
        assert_eq!(
            time(r#"{"a": {"eventTime": "x"}, "eventTime": "t1", "b": [1]}"#).as_deref(),
            Some("t1")
        );
        assert_eq!(time(r#"{"eventTime": "t1", "eventTime": 5}"#), None);
        assert_eq!(time(r#"{"eventTime": "t\u0031"}"#).as_deref(), Some("t1"));
        assert_eq!(time("[1, 2]"), None);
        assert!(serde_json::from_str::<RecordTime<'_>>(r#"{"eventTime": "t", "x": tru}"#).is_err());
    }

    #[test]
    fn keys_are_recognised_exactly() {
        for name in [
            "id",
            "time",
            "detail",
            "Records",
            "eventID",
            "eventTime",
            "eventType",
            "eventName",
            "awsRegion",
            "detail-type",
            "eventSource",
            "eventVersion",
            "recipientAccountId",
        ] {
            assert!(
                !matches!(Key::from_name(name.as_bytes()), Key::Other),
                "{name}"
            );
            let mut near = name.as_bytes().to_vec();
            let last = near.len() - 1;
            near[last] ^= 1;
            assert!(matches!(Key::from_name(&near), Key::Other), "{name}");
        }
        for other in [
            "",
            "x",
            "eventTimeX",
            "userIdentity",
            "eventCategory",
            "requestID",
        ] {
            assert!(
                matches!(Key::from_name(other.as_bytes()), Key::Other),
                "{other}"
            );
        }
        assert!(same(b"abcdefghijk", b"abcdefghijk"));
        assert!(!same(b"abcdefghijk", b"abcdefghijK"));
        assert!(!same(b"abcdefgh", b"abcdefgx"));
        assert!(same(b"", b""));
    }

    #[test]
    fn record_fields_are_borrowed_when_unescaped() {
        let Item::Record(fields) = item(
            r#"{"eventVersion": "1.08", "eventID": "e1", "eventTime": "2026-11-02T08:15:00Z",
                "eventSource": "signin.amazonaws.com", "eventType": "AwsConsoleSignIn",
                "recipientAccountId": "111122223333", "awsRegion": "us-east-1",
                "requestParameters": {"deep": [1, {"eventID": "not me"}]}}"#,
        ) else {
            panic!("not a record")
        };
        assert!(matches!(fields.event_id, Some(Cow::Borrowed("e1"))));
        assert_eq!(fields.event_source.as_deref(), Some("signin.amazonaws.com"));
        assert_eq!(fields.recipient_account_id.as_deref(), Some("111122223333"));
        assert_eq!(fields.aws_region.as_deref(), Some("us-east-1"));
        assert_eq!(fields.event_type.as_deref(), Some("AwsConsoleSignIn"));
        assert_eq!(fields.event_time.as_deref(), Some("2026-11-02T08:15:00Z"));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let Item::Record(fields) = item(r#"{"eventID": "a\"b\u0041"}"#) else {
            panic!("not a record")
        };
        assert_eq!(fields.event_id.as_deref(), Some("a\"bA"));
    }

    #[test]
    fn fields_of_the_wrong_type_are_absent_not_errors() {
        let Item::Record(fields) =
            item(r#"{"eventID": 5, "eventTime": {"x": 1}, "eventSource": null, "eventName": []}"#)
        else {
            panic!("not a record")
        };
        assert_eq!(fields.event_id, None);
        assert_eq!(fields.event_time, None);
        assert_eq!(fields.event_source, None);
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        let Item::Record(fields) = item(r#"{"eventID": "first", "eventID": "last"}"#) else {
            panic!("not a record")
        };
        assert_eq!(fields.event_id.as_deref(), Some("last"));
    }

    #[test]
    fn envelopes_are_recognised_by_detail_type_and_detail() {
        let Item::Envelope { detail, id, time } = item(
            r#"{"version": "0", "id": "x-1", "detail-type": "AWS API Call via CloudTrail",
                "time": "2026-11-02T09:30:00Z", "detail": {"eventID": "e2", "eventName": "X"}}"#,
        ) else {
            panic!("not an envelope")
        };
        assert_eq!(detail.event_id.as_deref(), Some("e2"));
        assert_eq!(id.as_deref(), Some("x-1"));
        assert_eq!(time.as_deref(), Some("2026-11-02T09:30:00Z"));
        // `detail` that is not an object: not an envelope.
        assert!(matches!(
            item(r#"{"detail-type": "x", "detail": 5}"#),
            Item::Other
        ));
    }

    #[test]
    fn records_key_anywhere_gives_the_raw_records() {
        let Item::Records(records) = item(r#"{"x": 1, "Records": [{"eventID": "a"}, 2]}"#) else {
            panic!("not records")
        };
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].get(), r#"{"eventID": "a"}"#);
    }

    #[test]
    fn other_json_is_other() {
        for text in [
            "1",
            "\"s\"",
            "null",
            "[1, {\"eventID\": \"a\"}]",
            r#"{"awsAccountId": "1", "digestStartTime": "x"}"#,
            r#"{"Records": 5}"#,
        ] {
            assert!(matches!(item(text), Item::Other), "{text}");
        }
    }
}
