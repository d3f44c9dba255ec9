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
    fn from_name(name: &str) -> Key {
        match name {
            "eventVersion" => Key::EventVersion,
            "eventID" => Key::EventId,
            "eventTime" => Key::EventTime,
            "eventSource" => Key::EventSource,
            "eventName" => Key::EventName,
            "eventType" => Key::EventType,
            "recipientAccountId" => Key::RecipientAccountId,
            "awsRegion" => Key::AwsRegion,
            "detail-type" => Key::DetailType,
            "detail" => Key::Detail,
            "Records" => Key::Records,
            "id" => Key::Id,
            "time" => Key::Time,
            _ => Key::Other,
        }
    }
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
                Ok(Key::from_name(name))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
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
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = RecordFields::default();
        let mut detail_type = false;
        let mut detail = None;
        let mut records = None;
        let mut id = None;
        let mut time = None;
        while let Some(key) = map.next_key::<Key>()? {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> Item<'_> {
        item_of(text).expect("valid JSON")
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
