//! Splitting a log file's text into records and events, each validated and read in one pass.
//!
//! A file is a sequence of JSON values separated by whitespace, which covers every form a scan
//! reads: a CloudTrail log file (`{"Records": [...]}`, usually on one line), JSON lines of records
//! or envelopes, a single pretty-printed record or envelope, and a JSON array of them.
//!
//! The `{"Records": [` framing, the commas and the brackets are read here by hand, so that each
//! record is parsed once, by serde_json, into its [`Item`] (which validates it and reads its
//! envelope fields) while its raw bytes are kept for the envelope's `detail`. When `Records` is
//! not the object's first key, the object is parsed whole and its records come back as
//! [`Item::Records`], to be read one by one (twice as slow, and never written so by CloudTrail).
//!
//! The reader is resumable: given a buffer that may end in the middle of a value, it reports
//! [`Step::NeedMore`] without consuming the partial value, so a stream can be read in bounded
//! chunks.

use serde::de::IgnoredAny;

use super::fields::{Item, RecordTime};

/// One step of [`LogReader::next`].
// Returned by value once per record and matched at once: boxing the large variant would cost an
// allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<'a> {
    /// A complete JSON value.
    Value {
        /// Where the value starts in the buffer.
        offset: usize,
        /// The value's bytes.
        raw: &'a [u8],
        /// What the value is.
        item: Item<'a>,
        /// Whether the value is an element of a `Records` array (rather than a top-level value or
        /// an element of a top-level array).
        in_records: bool,
    },
    /// A record of a `Records` array that no rule can match ([`LogReader::pass_over`]): validated
    /// as JSON, and only its `eventTime` read.
    PassedOver {
        /// Where the record starts in the buffer.
        offset: usize,
        /// Its length in bytes.
        len: usize,
        /// Its `eventTime`, as written, when it is a string.
        time: Option<std::borrow::Cow<'a, str>>,
    },
    /// The buffer ends inside a value: call again with more bytes (only when not final).
    NeedMore,
    /// The text ended after a complete value (only when final).
    End,
}

/// Why the text of a file could not be read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON from this byte on.
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax {
        /// Where reading failed, from the start of the buffer.
        offset: u64,
        /// serde_json's reason.
        message: String,
    },
    /// The text ends inside a value.
    #[error("truncated: the text ends inside a JSON value at byte {offset}")]
    Truncated {
        /// The length of the text.
        offset: u64,
    },
}

impl ReadError {
    /// The same error with its offset moved by `base` bytes (for a buffer that is a window on a
    /// longer stream).
    pub fn shifted(self, base: u64) -> ReadError {
        match self {
            ReadError::Syntax { offset, message } => ReadError::Syntax {
                offset: offset + base,
                message,
            },
            ReadError::Truncated { offset } => ReadError::Truncated {
                offset: offset + base,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Top,
    /// Just after `[`: a value or `]`.
    ArrayFirst { records: bool },
    /// Just after a `,` in an array: a value.
    ArrayValue { records: bool },
    /// After an array element: `,` or `]`.
    ArrayNext { records: bool },
    /// After the `Records` array: `}` or `,` and another member to skip.
    ContainerRest,
}

/// Reads the values of one file; see the module documentation.
///
/// ```
/// use trailbell::cloudtrail::{Item, LogReader, Step};
///
/// let text = br#"{"Records": [{"eventID": "a"}, {"eventID": "b"}]}
/// {"eventID": "c", "eventName": "X"}"#;
/// let (mut reader, mut pos, mut ids) = (LogReader::new(), 0, Vec::new());
/// loop {
///     match reader.next(text, &mut pos, true)? {
///         Step::Value { item: Item::Record(fields), .. } => ids.push(fields.event_id.unwrap()),
///         Step::End => break,
///         other => panic!("{other:?}"),
///     }
/// }
/// assert_eq!(ids, ["a", "b", "c"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LogReader {
    state: State,
    project: Option<std::sync::Arc<super::DetailFields>>,
    filter: Option<std::sync::Arc<super::RecordFilter>>,
    /// Whether a record passed over has its `eventTime` read.
    times: bool,
    /// The filter's working memory.
    held: super::HeldTexts,
}

impl Default for LogReader {
    fn default() -> Self {
        LogReader::new()
    }
}

impl LogReader {
    /// A reader at the start of a file.
    pub fn new() -> LogReader {
        LogReader {
            state: State::Top,
            project: None,
            filter: None,
            times: false,
            held: super::HeldTexts::default(),
        }
    }

    /// Makes every record of a `Records` array that `filter` says no rule can match come back as
    /// [`Step::PassedOver`]: still validated by serde_json (in its cheapest pass, or with `times`
    /// in one that keeps the record's `eventTime`, which costs about a quarter more), but neither
    /// its envelope nor its projection is made. `None` reads every record. Records near
    /// EventBridge's size limit are always read, so that one over it is reported.
    pub fn pass_over(&mut self, filter: Option<std::sync::Arc<super::RecordFilter>>, times: bool) {
        self.filter = filter;
        self.times = times;
    }

    /// Makes every record read from now on capture the raw JSON of the fields `fields` lists, in
    /// [`RecordFields::projection`](super::RecordFields::projection); `None` captures nothing.
    pub fn project(&mut self, fields: Option<std::sync::Arc<super::DetailFields>>) {
        self.project = fields;
    }

    /// Reads the next value of `buf` from `*pos` on, and moves `*pos` past it. With `is_final`,
    /// `buf` holds the rest of the file; without, more may follow, and a value cut by the end of
    /// the buffer gives [`Step::NeedMore`] with `*pos` left at its start.
    pub fn next<'a>(
        &mut self,
        buf: &'a [u8],
        pos: &mut usize,
        is_final: bool,
    ) -> Result<Step<'a>, ReadError> {
        loop {
            skip_whitespace(buf, pos);
            let Some(&byte) = buf.get(*pos) else {
                return match (is_final, self.state) {
                    (false, _) => Ok(Step::NeedMore),
                    (true, State::Top) => Ok(Step::End),
                    (true, _) => Err(ReadError::Truncated {
                        offset: buf.len() as u64,
                    }),
                };
            };
            match self.state {
                State::Top => match byte {
                    b'{' => match records_prefix(buf, *pos) {
                        Prefix::Yes(end) => {
                            *pos = end;
                            self.state = State::ArrayFirst { records: true };
                        }
                        Prefix::Incomplete if !is_final => return Ok(Step::NeedMore),
                        Prefix::Incomplete | Prefix::No => {
                            return self.value(buf, pos, is_final, State::Top, false);
                        }
                    },
                    b'[' => {
                        *pos += 1;
                        self.state = State::ArrayFirst { records: false };
                    }
                    _ => return self.value(buf, pos, is_final, State::Top, false),
                },
                State::ArrayFirst { records } if byte == b']' => {
                    *pos += 1;
                    self.state = after_array(records);
                }
                State::ArrayFirst { records } | State::ArrayValue { records } => {
                    return self.value(buf, pos, is_final, State::ArrayNext { records }, records);
                }
                State::ArrayNext { records } => match byte {
                    b',' => {
                        *pos += 1;
                        self.state = State::ArrayValue { records };
                    }
                    b']' => {
                        *pos += 1;
                        self.state = after_array(records);
                    }
                    _ => return Err(unexpected(*pos, "expected `,` or `]` after an element")),
                },
                State::ContainerRest => match byte {
                    b'}' => {
                        *pos += 1;
                        self.state = State::Top;
                    }
                    b',' => match skip_member(buf, *pos + 1, is_final)? {
                        Some(end) => *pos = end,
                        None => return Ok(Step::NeedMore),
                    },
                    _ => return Err(unexpected(*pos, "expected `,` or `}` after `Records`")),
                },
            }
        }
    }

    /// Parses the value at `*pos`; on success moves past it and to state `then`.
    fn value<'a>(
        &mut self,
        buf: &'a [u8],
        pos: &mut usize,
        is_final: bool,
        then: State,
        in_records: bool,
    ) -> Result<Step<'a>, ReadError> {
        let start = *pos;
        if let (true, Some(filter), Some(b'{')) = (in_records, &self.filter, buf.get(start)) {
            // Validated all the same (a serde_json pass that keeps nothing, or only the time); a
            // record that is not valid JSON is read as any other, which names the problem.
            let validated = if self.times {
                parse_one::<RecordTime>(buf, start, is_final)
            } else {
                parse_one::<IgnoredAny>(buf, start, is_final)
                    .map(|read| read.map(|(IgnoredAny, end)| (RecordTime(None), end)))
            };
            if let Ok(Some((RecordTime(time), end))) = validated {
                let (record, len) = (&buf[start..end], end - start);
                if len < PASS_OVER_MAX_BYTES
                    && starts_as_a_record(record)
                    && !filter.could_match(record, &mut self.held)
                {
                    *pos = end;
                    self.state = then;
                    return Ok(Step::PassedOver {
                        offset: start,
                        len,
                        time,
                    });
                }
            }
        }
        super::set_thread_detail_fields(self.project.as_ref());
        match parse_one::<Item<'a>>(buf, start, is_final)? {
            Some((item, end)) => {
                *pos = end;
                self.state = then;
                Ok(Step::Value {
                    offset: start,
                    raw: &buf[start..end],
                    item,
                    in_records,
                })
            }
            None => Ok(Step::NeedMore),
        }
    }
}

/// Records at least this long are read even when no rule can match them, so that one over
/// EventBridge's event size limit (which its envelope adds a few hundred bytes to) is reported.
const PASS_OVER_MAX_BYTES: usize = super::MAX_EVENT_BYTES - 4096;

/// Whether an object begins with the member CloudTrail writes first in every record,
/// `eventVersion`. Anything else is read in full, so that an object that is not a record is
/// reported as such.
fn starts_as_a_record(object: &[u8]) -> bool {
    let mut pos = 1;
    skip_whitespace(object, &mut pos);
    object
        .get(pos..)
        .is_some_and(|rest| rest.starts_with(b"\"eventVersion\""))
}

fn after_array(records: bool) -> State {
    if records {
        State::ContainerRest
    } else {
        State::Top
    }
}

fn unexpected(offset: usize, message: &str) -> ReadError {
    ReadError::Syntax {
        offset: offset as u64,
        message: message.to_owned(),
    }
}

fn skip_whitespace(buf: &[u8], pos: &mut usize) {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = buf.get(*pos) {
        *pos += 1;
    }
}

enum Prefix {
    /// `{"Records": [` up to the returned position.
    Yes(usize),
    /// The buffer ends before it could tell.
    Incomplete,
    No,
}

/// Whether the object at `start` begins `{"Records": [` (with any whitespace).
fn records_prefix(buf: &[u8], start: usize) -> Prefix {
    let mut pos = start + 1;
    for expected in [&b"\"Records\""[..], b":", b"["] {
        skip_whitespace(buf, &mut pos);
        let rest = buf.get(pos..).unwrap_or_default();
        if rest.len() < expected.len() {
            return if expected.starts_with(rest) {
                Prefix::Incomplete
            } else {
                Prefix::No
            };
        }
        if !rest.starts_with(expected) {
            return Prefix::No;
        }
        pos += expected.len();
    }
    Prefix::Yes(pos)
}

/// Skips `"key": value` starting at `start` (after a comma); the position after it, or `None` when
/// the buffer ends first.
fn skip_member(buf: &[u8], start: usize, is_final: bool) -> Result<Option<usize>, ReadError> {
    let mut pos = start;
    skip_whitespace(buf, &mut pos);
    match buf.get(pos) {
        Some(b'"') => {}
        Some(_) => return Err(unexpected(pos, "expected a member name")),
        None if is_final => {
            return Err(ReadError::Truncated {
                offset: buf.len() as u64,
            });
        }
        None => return Ok(None),
    }
    let Some((IgnoredAny, end)) = parse_one::<IgnoredAny>(buf, pos, is_final)? else {
        return Ok(None);
    };
    pos = end;
    skip_whitespace(buf, &mut pos);
    match buf.get(pos) {
        Some(b':') => pos += 1,
        Some(_) => return Err(unexpected(pos, "expected `:`")),
        None if is_final => {
            return Err(ReadError::Truncated {
                offset: buf.len() as u64,
            });
        }
        None => return Ok(None),
    }
    skip_whitespace(buf, &mut pos);
    if pos == buf.len() {
        return if is_final {
            Err(ReadError::Truncated {
                offset: buf.len() as u64,
            })
        } else {
            Ok(None)
        };
    }
    Ok(parse_one::<IgnoredAny>(buf, pos, is_final)?.map(|(IgnoredAny, end)| end))
}

/// Parses one value of type `T` at `start` (which is not whitespace); the value and the position
/// after it, or `None` when the buffer ends inside it and more may follow.
fn parse_one<'a, T: serde::Deserialize<'a>>(
    buf: &'a [u8],
    start: usize,
    is_final: bool,
) -> Result<Option<(T, usize)>, ReadError> {
    let slice = buf.get(start..).unwrap_or_default();
    let mut values = serde_json::Deserializer::from_slice(slice).into_iter::<T>();
    match values.next() {
        // A number (or literal) that ends with the buffer may go on in the next one.
        Some(Ok(_))
            if !is_final && values.byte_offset() == slice.len() && !self_delimited(slice) =>
        {
            Ok(None)
        }
        Some(Ok(value)) => Ok(Some((value, start + values.byte_offset()))),
        Some(Err(err)) if err.is_eof() => {
            if is_final {
                Err(ReadError::Truncated {
                    offset: buf.len() as u64,
                })
            } else {
                Ok(None)
            }
        }
        Some(Err(err)) => match syntax_error(slice, start, &err) {
            // `1.` or `-` at the end of the buffer: the value may go on in the next one.
            ReadError::Syntax { offset, .. } if !is_final && offset + 1 >= buf.len() as u64 => {
                Ok(None)
            }
            err => Err(err),
        },
        None if is_final => Err(ReadError::Truncated {
            offset: buf.len() as u64,
        }),
        None => Ok(None),
    }
}

/// Whether the value at the start of `slice` ends with a closing byte of its own.
fn self_delimited(slice: &[u8]) -> bool {
    matches!(slice.first(), Some(b'{' | b'[' | b'"'))
}

/// serde_json's error, with its line and column (counted from `start`) turned into a byte offset.
fn syntax_error(slice: &[u8], start: usize, err: &serde_json::Error) -> ReadError {
    let mut line_start = 0;
    for _ in 1..err.line() {
        match slice[line_start..].iter().position(|&b| b == b'\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let offset = start + line_start + err.column().saturating_sub(1);
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    ReadError::Syntax {
        offset: offset as u64,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step of reading `text` whole: record ids (or `other`/`envelope:id`/`records:N`) with
    /// their offsets.
    fn read_all(text: &str) -> Result<Vec<String>, ReadError> {
        read_all_with(LogReader::new(), text)
    }

    fn read_all_with(mut reader: LogReader, text: &str) -> Result<Vec<String>, ReadError> {
        let (mut pos, mut out) = (0, Vec::new());
        loop {
            match reader.next(text.as_bytes(), &mut pos, true)? {
                Step::Value {
                    offset,
                    raw,
                    item,
                    in_records,
                } => {
                    assert_eq!(&text.as_bytes()[offset..offset + raw.len()], raw);
                    let what = match item {
                        Item::Record(f) => f.event_id.unwrap_or_default().into_owned(),
                        Item::Envelope { detail, .. } => {
                            format!("envelope:{}", detail.event_id.unwrap_or_default())
                        }
                        Item::Records(r) => format!("records:{}", r.len()),
                        Item::Other => "other".to_owned(),
                    };
                    out.push(format!(
                        "{what}@{offset}{}",
                        if in_records { "r" } else { "" }
                    ));
                }
                Step::PassedOver { offset, len, time } => out.push(format!(
                    "passed:{len}@{offset}{}",
                    time.map(|t| format!(":{t}")).unwrap_or_default()
                )),
                Step::End => return Ok(out),
                Step::NeedMore => panic!("NeedMore with is_final"),
            }
        }
    }

    /// A reader that passes over records lacking `"X"`.
    fn passing_over() -> LogReader {
        let mut builder = trailbell_pattern::MatcherBuilder::new();
        builder
            .add_rule("x", r#"{"detail": {"eventName": ["X"]}}"#)
            .expect("a valid pattern");
        let filter = super::super::RecordFilter::for_matcher(&builder.build()).expect("a filter");
        let mut reader = LogReader::new();
        reader.pass_over(Some(std::sync::Arc::new(filter)), true);
        reader
    }

    #[test]
    fn records_that_lack_the_text_are_passed_over_and_the_others_read() {
        let text = concat!(
            r#"{"Records":[{"eventVersion":"1","eventID":"a"},"#,
            r#"{"eventVersion":"1","eventID":"b","eventName":"X"},{ "eventVersion":"1"}]}"#
        );
        assert_eq!(
            read_all_with(passing_over(), text).expect("valid"),
            ["passed:34@12", "b@47r", "passed:21@98"]
        );
        // With `times`, its time is read, for the window.
        let text = r#"{"Records":[{"eventVersion":"1","eventTime":"2026-11-02T08:15:00Z"}]}"#;
        assert_eq!(
            read_all_with(passing_over(), text).expect("valid"),
            ["passed:55@12:2026-11-02T08:15:00Z"]
        );
        // Objects that do not begin as CloudTrail records do are read, to be reported.
        assert_eq!(
            read_all_with(passing_over(), r#"{"Records":[{"eventID":"a"},{"x":1}]}"#)
                .expect("valid"),
            ["a@12r", "other@28r"]
        );
        // Only records of a `Records` array; anything else is read as before.
        assert_eq!(
            read_all_with(passing_over(), "{\"eventID\":\"a\"}\n").expect("valid"),
            ["a@0"]
        );
    }

    #[test]
    fn a_record_passed_over_is_still_validated() {
        let text = r#"{"Records":[{"eventVersion":"1"},{"eventVersion":"1","eventID":b}]}"#;
        let err = read_all_with(passing_over(), text).expect_err("invalid JSON");
        assert!(
            matches!(err, ReadError::Syntax { offset: 63, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_stream_cut_inside_a_record_passed_over_asks_for_more() {
        let text = br#"{"Records":[{"eventVersion":"a"},{"eventVersion":"c"}]}"#;
        let mut reader = passing_over();
        let mut pos = 0;
        let cut = 40;
        assert!(matches!(
            reader.next(&text[..cut], &mut pos, false),
            Ok(Step::PassedOver { offset: 12, .. })
        ));
        assert!(matches!(
            reader.next(&text[..cut], &mut pos, false),
            Ok(Step::NeedMore)
        ));
        assert!(matches!(
            reader.next(text, &mut pos, true),
            Ok(Step::PassedOver { offset: 33, .. })
        ));
        assert!(matches!(reader.next(text, &mut pos, true), Ok(Step::End)));
    }

    #[test]
    fn cloudtrail_files_give_their_records_with_offsets() {
        assert_eq!(
            read_all(r#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#).expect("valid"),
            ["a@12r", "b@28r"]
        );
        assert_eq!(
            read_all(" { \"Records\" : [ ] } \n").expect("valid"),
            Vec::<String>::new()
        );
        assert_eq!(
            read_all(r#"{"Records": [{"eventID": "a"}], "extra": {"x": [1, 2]}, "n": 5}"#)
                .expect("valid"),
            ["a@13r"]
        );
    }

    #[test]
    fn json_lines_arrays_and_single_values() {
        assert_eq!(
            read_all("{\"eventID\":\"a\"}\n\n{\"eventID\":\"b\"}\r\n").expect("valid"),
            ["a@0", "b@17"]
        );
        assert_eq!(
            read_all(r#"[{"eventID": "a"}, {"detail-type": "x", "detail": {"eventID": "b"}}]"#)
                .expect("valid"),
            ["a@1", "envelope:b@19"]
        );
        assert_eq!(
            read_all("5 \"x\" {}").expect("valid"),
            ["other@0", "other@2", "other@6"]
        );
        assert_eq!(
            read_all(r#"{"x": 1, "Records": [{}, {}]}"#).expect("valid"),
            ["records:2@0"]
        );
    }

    #[test]
    fn syntax_errors_name_the_byte() {
        let err = read_all("{\"Records\":[{\"eventID\":\"a\"},\n{\"eventID\": x}]}").unwrap_err();
        assert_eq!(
            err,
            ReadError::Syntax {
                offset: 41,
                message: "expected value".to_owned()
            }
        );
        assert!(matches!(
            read_all(r#"{"Records":[{"eventID":"a"} {"eventID":"b"}]}"#),
            Err(ReadError::Syntax { offset: 28, .. })
        ));
        assert!(matches!(
            read_all(r#"{"Records":[{},]}"#),
            Err(ReadError::Syntax { .. })
        ));
        assert!(matches!(
            read_all("PK\u{3}\u{4}"),
            Err(ReadError::Syntax { offset: 0, .. })
        ));
    }

    #[test]
    fn truncated_text_is_truncated() {
        for text in [
            r#"{"Records":[{"eventID":"a"},{"eventID":"#,
            r#"{"Records":[{"eventID":"a"}"#,
            r#"{"Records":[{"eventID":"a"}]"#,
            r#"{"Records":[{"eventID":"a"}], "x""#,
            r#"{"Rec"#,
            "[",
        ] {
            assert!(
                matches!(read_all(text), Err(ReadError::Truncated { offset }) if offset == text.len() as u64),
                "{text}: {:?}",
                read_all(text)
            );
        }
    }

    #[test]
    fn any_split_of_a_stream_gives_the_same_values() {
        let text = concat!(
            r#"{"Records": [{"eventID": "a", "n": 12345}, {"eventID": "b"}], "z": 1.5}"#,
            "\n{\"eventID\": \"c\"}\n",
            r#"[{"detail-type": "t", "detail": {"eventID": "d"}}] 7"#,
        );
        let whole = read_all(text).expect("valid");
        for split in 0..text.len() {
            let (mut reader, mut out) = (LogReader::new(), Vec::new());
            let (mut buf, mut base, mut pos) = (text.as_bytes()[..split].to_vec(), 0, 0);
            let mut fed = split;
            loop {
                let is_final = fed == text.len();
                match reader.next(&buf, &mut pos, is_final).expect("valid") {
                    Step::Value { offset, item, .. } => {
                        let what = match item {
                            Item::Record(f) => f.event_id.unwrap_or_default().into_owned(),
                            Item::Envelope { detail, .. } => {
                                format!("envelope:{}", detail.event_id.unwrap_or_default())
                            }
                            _ => "other".to_owned(),
                        };
                        out.push((what, base + offset));
                    }
                    Step::PassedOver { offset, .. } => {
                        out.push(("passed".to_owned(), base + offset))
                    }
                    Step::End => break,
                    Step::NeedMore => {
                        buf.drain(..pos);
                        base += pos;
                        pos = 0;
                        let more = (fed + 7).min(text.len());
                        buf.extend_from_slice(&text.as_bytes()[fed..more]);
                        fed = more;
                    }
                }
            }
            let expected: Vec<(String, usize)> = whole
                .iter()
                .map(|s| {
                    let (what, at) = s.split_once('@').expect("@");
                    (
                        what.to_owned(),
                        at.trim_end_matches('r').parse().expect("offset"),
                    )
                })
                .collect();
            assert_eq!(out, expected, "split at {split}");
        }
    }
}
