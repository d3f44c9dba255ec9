//! The streaming scanner: one pass over the event's bytes that validates all of it, follows the
//! path trie, skips what no rule reads, and records the leaf values at the paths rules name.

use super::paths::{PathId, PathTrie};
use super::skip::{short_field, skip_to_close, skip_trusted};
use crate::error::EventError;
use crate::event::MAX_EVENT_DEPTH;
use crate::event::lex::{
    expect_literal, scan_number, scan_string, scan_string_unchecked, skip_whitespace, unescape,
};

/// The kind of a leaf value; its text is the span `start..end` of the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeafKind {
    String,
    EscapedString,
    Number,
    True,
    False,
    Null,
}

/// One leaf value at a path some predicate reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Leaf {
    pub(crate) path: PathId,
    pub(crate) kind: LeafKind,
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// The array elements the leaf's object lies in: a span of `Scan::trails`; empty outside arrays.
    pub(crate) trail_start: u32,
    pub(crate) trail_len: u32,
    /// False when a later duplicate of its field replaced it.
    pub(crate) live: bool,
}

/// One array element on the way to a leaf: the array (numbered per event) and the element index.
pub(crate) type TrailStep = (u32, u32);

/// The reusable output and working memory of a scan.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scan {
    pub(crate) leaves: Vec<Leaf>,
    pub(crate) trails: Vec<TrailStep>,
    trail: Vec<TrailStep>,
    /// Per open object: the fields already seen that lead somewhere, with their leaf spans.
    seen: Vec<(PathId, u32, u32)>,
    key: String,
    skip_stack: Vec<u8>,
    next_array: u32,
    /// Trusted reading only: objects left early whose closing braces have not been found yet.
    unclosed: usize,
    /// Trusted reading only: whether the last event's reading stopped in its first half.
    stopped_early: bool,
}

impl Scan {
    /// Scans a whole event. The event must be a JSON object.
    ///
    /// With `trusted`, the caller vouches that the event is valid JSON with no repeated keys: what
    /// no rule reads is skipped without being validated, and an object is left as soon as every
    /// field the rules name in it has been seen.
    pub(crate) fn run(
        &mut self,
        bytes: &[u8],
        paths: &PathTrie,
        trusted: bool,
    ) -> Result<(), EventError> {
        self.leaves.clear();
        self.trails.clear();
        self.trail.clear();
        self.seen.clear();
        self.next_array = 0;
        self.unclosed = 0;
        if u32::try_from(bytes.len()).is_err() {
            return Err(EventError::new(0, "event is larger than 4 GiB"));
        }
        let start = skip_whitespace(bytes, 0);
        if bytes.get(start) != Some(&b'{') {
            return Err(EventError::new(start, "event is not a JSON object"));
        }
        // Readings that stop early leave the prefetchers idle; those that read on need no help.
        if trusted && self.stopped_early {
            touch_toward_the_end(bytes);
        }
        let mut scanner = Scanner {
            bytes,
            paths,
            scan: self,
            trusted,
        };
        let end = scanner.object(start, 0, 1)?;
        self.stopped_early = self.unclosed > 0 && end < bytes.len() / 2;
        if self.unclosed > 0 {
            return Ok(()); // the trusted reading found everything the rules name
        }
        let end = skip_whitespace(bytes, end);
        if end != bytes.len() {
            return Err(EventError::new(
                end,
                "unexpected characters after the event",
            ));
        }
        Ok(())
    }
}

/// What the scan of one object keeps track of.
struct ObjectState {
    /// Where its entries begin in `Scan::seen` (the validating reading only).
    seen_base: usize,
    /// Fields some rule names in it.
    wanted: usize,
    /// Of those, the fields read so far (the trusted reading only).
    read: usize,
}

/// Where a field some rule reads leaves its object's scan.
enum Field {
    /// Go on with the next field after this position.
    More(usize),
    /// The object was left early; the scan of its parent goes on from this position.
    Last(usize),
}

/// How much of an event's end [`touch_toward_the_end`] reads.
const TOUCH_SPAN: usize = 2048;

/// Reads one byte of every other cache line of the event's last [`TOUCH_SPAN`] bytes, in order.
///
/// The trusted reading stops after the last field a rule names, often a few lines into the event.
/// Left at that, the hardware prefetchers see no stream, and the next event's first line is fetched
/// from memory only when its own reading asks for it: ~170 ns per CityLots event, more than the
/// matching itself. These loads, independent of each other and of the scan, show them a stream
/// running to the event's end, and what follows it is fetched ahead: when events lie back to back
/// (a batch, a decompressed log file), the next one is already in cache. Every other line is
/// enough, the adjacent-line prefetcher fetching its pair; every fourth is not. See decision 0015.
fn touch_toward_the_end(bytes: &[u8]) {
    let from = bytes.len().saturating_sub(TOUCH_SPAN);
    let sum = bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .step_by(128)
        .fold(0u8, |sum, &b| sum.wrapping_add(b));
    std::hint::black_box(sum);
}

struct Scanner<'a> {
    bytes: &'a [u8],
    paths: &'a PathTrie,
    scan: &'a mut Scan,
    trusted: bool,
}

impl Scanner<'_> {
    /// Scans the object at `pos` (its `{`) whose fields lie under `path`; returns the position
    /// after its `}`.
    fn object(&mut self, pos: usize, path: PathId, depth: usize) -> Result<usize, EventError> {
        if depth > MAX_EVENT_DEPTH {
            return Err(EventError::new(pos, "event nests too deeply"));
        }
        // Leaves of this object carry the array elements it lies in.
        let (trail_start, trail_len) = if self.scan.trail.is_empty() {
            (0, 0)
        } else {
            let start = self.scan.trails.len() as u32;
            self.scan.trails.extend_from_slice(&self.scan.trail);
            (start, self.scan.trail.len() as u32)
        };
        let mut object = ObjectState {
            seen_base: self.scan.seen.len(),
            wanted: self.paths.child_count(path),
            read: 0,
        };
        let mut at = skip_whitespace(self.bytes, pos + 1);
        if self.bytes.get(at) == Some(&b'}') {
            return Ok(at + 1);
        }
        loop {
            if self.bytes.get(at) != Some(&b'"') {
                return Err(EventError::new(at, "expected a field name"));
            }
            let short = if self.trusted {
                short_field(self.bytes, at)
            } else {
                None
            };
            at = if let Some(field) = short {
                // A short string field: its name and value found together, its value read in place.
                let name = self.bytes.get(at + 1..field.name_end).unwrap_or_default();
                match self.paths.child(path, name) {
                    None => field.value_end,
                    Some(child) => {
                        let first_leaf = self.scan.leaves.len() as u32;
                        let (start, end) = (field.name_end + 3, field.value_end - 1);
                        self.push_leaf(child, LeafKind::String, start, end, trail_start, trail_len);
                        match self.read_field(&mut object, child, first_leaf, field.value_end)? {
                            Field::More(end) => end,
                            Field::Last(end) => return Ok(end),
                        }
                    }
                }
            } else {
                // A name is only compared, never decoded into a leaf: trusted names skip the checks.
                let (token, after_key) = if self.trusted {
                    scan_string_unchecked(self.bytes, at)?
                } else {
                    scan_string(self.bytes, at)?
                };
                let raw = self.bytes.get(token.start..token.end).unwrap_or_default();
                let child = if token.escaped {
                    unescape(raw, &mut self.scan.key);
                    self.paths.child(path, self.scan.key.as_bytes())
                } else {
                    self.paths.child(path, raw)
                };
                at = skip_whitespace(self.bytes, after_key);
                if self.bytes.get(at) != Some(&b':') {
                    return Err(EventError::new(at, "expected ':'"));
                }
                at = skip_whitespace(self.bytes, at + 1);
                match child {
                    None => self.skip_value(at, depth)?,
                    Some(child) => {
                        let first_leaf = self.scan.leaves.len() as u32;
                        let end = self.value(at, child, depth, trail_start, trail_len)?;
                        match self.read_field(&mut object, child, first_leaf, end)? {
                            Field::More(end) => end,
                            Field::Last(end) => return Ok(end),
                        }
                    }
                }
            };
            at = skip_whitespace(self.bytes, at);
            match self.bytes.get(at) {
                Some(b',') => at = skip_whitespace(self.bytes, at + 1),
                Some(b'}') => {
                    self.scan.seen.truncate(object.seen_base);
                    return Ok(at + 1);
                }
                _ => return Err(EventError::new(at, "expected ',' or '}'")),
            }
        }
    }

    /// After the value of a field some rule reads, which ends at `end`: files it among the fields
    /// seen, and says whether the object may be left now.
    fn read_field(
        &mut self,
        object: &mut ObjectState,
        child: PathId,
        first_leaf: u32,
        end: usize,
    ) -> Result<Field, EventError> {
        if self.trusted {
            // Trusted events repeat no field: counting the fields read is enough.
            object.read += 1;
            if object.read == object.wanted {
                // Every field the rules name here was seen: leave the rest unread, and let the
                // enclosing objects decide whether it must be skipped at all.
                self.scan.unclosed += 1;
                return Ok(Field::Last(end));
            }
        } else {
            self.replace_duplicate(object.seen_base, child, first_leaf);
        }
        if self.scan.unclosed > 0 {
            return Ok(Field::More(self.close_unfinished(end)?));
        }
        Ok(Field::More(end))
    }

    /// Finds the closing braces of the objects left early, from `at` inside the innermost.
    fn close_unfinished(&mut self, at: usize) -> Result<usize, EventError> {
        let depth = std::mem::take(&mut self.scan.unclosed);
        skip_to_close(self.bytes, at, b'{', b'}', depth)
    }

    /// The last occurrence of a repeated field wins: the leaves of earlier ones stop counting.
    fn replace_duplicate(&mut self, seen_base: usize, child: PathId, first_leaf: u32) {
        let last_leaf = self.scan.leaves.len() as u32;
        let seen = &mut self.scan.seen[seen_base..];
        match seen.iter_mut().find(|(p, _, _)| *p == child) {
            Some(entry) => {
                for leaf in &mut self.scan.leaves[entry.1 as usize..entry.2 as usize] {
                    leaf.live = false;
                }
                *entry = (child, first_leaf, last_leaf);
            }
            None => self.scan.seen.push((child, first_leaf, last_leaf)),
        }
    }

    /// Scans the value at `pos`, which lies at `path`.
    fn value(
        &mut self,
        pos: usize,
        path: PathId,
        depth: usize,
        trail_start: u32,
        trail_len: u32,
    ) -> Result<usize, EventError> {
        let (kind, end) = match self.bytes.get(pos) {
            Some(b'{') => {
                return if self.paths.has_children(path) {
                    self.object(pos, path, depth + 1)
                } else {
                    self.skip_value(pos, depth)
                };
            }
            Some(b'[') => return self.array(pos, path, depth + 1, trail_start, trail_len),
            Some(b'"') => {
                // Trusted strings are not checked: the caller vouches for them. Bytes that are not
                // UTF-8 would be compared as bytes, and seen as empty text where text is needed.
                let (token, end) = if self.trusted {
                    scan_string_unchecked(self.bytes, pos)?
                } else {
                    scan_string(self.bytes, pos)?
                };
                let kind = if token.escaped {
                    LeafKind::EscapedString
                } else {
                    LeafKind::String
                };
                self.push_leaf(path, kind, token.start, token.end, trail_start, trail_len);
                return Ok(end);
            }
            Some(b't') => (LeafKind::True, expect_literal(self.bytes, pos, b"true")?),
            Some(b'f') => (LeafKind::False, expect_literal(self.bytes, pos, b"false")?),
            Some(b'n') => (LeafKind::Null, expect_literal(self.bytes, pos, b"null")?),
            Some(b'-' | b'0'..=b'9') => (LeafKind::Number, scan_number(self.bytes, pos)?),
            Some(_) => return Err(EventError::new(pos, "expected a JSON value")),
            None => return Err(EventError::new(pos, "unexpected end of event")),
        };
        self.push_leaf(path, kind, pos, end, trail_start, trail_len);
        Ok(end)
    }

    fn push_leaf(
        &mut self,
        path: PathId,
        kind: LeafKind,
        start: usize,
        end: usize,
        trail_start: u32,
        trail_len: u32,
    ) {
        if self.paths.has_predicates(path) {
            self.scan.leaves.push(Leaf {
                path,
                kind,
                start: start as u32,
                end: end as u32,
                trail_start,
                trail_len,
                live: true,
            });
        }
    }

    fn array(
        &mut self,
        pos: usize,
        path: PathId,
        depth: usize,
        trail_start: u32,
        trail_len: u32,
    ) -> Result<usize, EventError> {
        if depth > MAX_EVENT_DEPTH {
            return Err(EventError::new(pos, "event nests too deeply"));
        }
        let array = self.scan.next_array;
        self.scan.next_array += 1;
        let mut at = skip_whitespace(self.bytes, pos + 1);
        if self.bytes.get(at) == Some(&b']') {
            return Ok(at + 1);
        }
        let mut index = 0u32;
        loop {
            self.scan.trail.push((array, index));
            let end = self.value(at, path, depth, trail_start, trail_len);
            self.scan.trail.pop();
            let mut end = end?;
            if self.scan.unclosed > 0 {
                end = self.close_unfinished(end)?;
            }
            at = skip_whitespace(self.bytes, end);
            match self.bytes.get(at) {
                Some(b',') => at = skip_whitespace(self.bytes, at + 1),
                Some(b']') => return Ok(at + 1),
                _ => return Err(EventError::new(at, "expected ',' or ']'")),
            }
            index += 1;
        }
    }

    /// Validates and skips the value at `pos`, which lies inside `depth` containers.
    fn skip_value(&mut self, pos: usize, depth: usize) -> Result<usize, EventError> {
        if self.trusted {
            return skip_trusted(self.bytes, pos);
        }
        let bytes = self.bytes;
        let stack = &mut self.scan.skip_stack;
        stack.clear();
        let mut at = pos;
        loop {
            // Expecting a value here.
            at = skip_whitespace(bytes, at);
            match bytes.get(at) {
                Some(&open @ (b'{' | b'[')) => {
                    if depth + stack.len() + 1 > MAX_EVENT_DEPTH {
                        return Err(EventError::new(at, "event nests too deeply"));
                    }
                    let close = if open == b'{' { b'}' } else { b']' };
                    stack.push(close);
                    at = skip_whitespace(bytes, at + 1);
                    if bytes.get(at) == Some(&close) {
                        stack.pop();
                        at += 1;
                    } else {
                        if close == b'}' {
                            at = skip_key(bytes, at)?;
                        }
                        continue;
                    }
                }
                Some(b'"') => at = scan_string(bytes, at)?.1,
                Some(b't') => at = expect_literal(bytes, at, b"true")?,
                Some(b'f') => at = expect_literal(bytes, at, b"false")?,
                Some(b'n') => at = expect_literal(bytes, at, b"null")?,
                Some(b'-' | b'0'..=b'9') => at = scan_number(bytes, at)?,
                Some(_) => return Err(EventError::new(at, "expected a JSON value")),
                None => return Err(EventError::new(at, "unexpected end of event")),
            }
            // After a value: close containers or move to the next member.
            loop {
                let Some(&close) = stack.last() else {
                    return Ok(at);
                };
                at = skip_whitespace(bytes, at);
                match bytes.get(at) {
                    Some(b',') => {
                        at += 1;
                        if close == b'}' {
                            at = skip_key(bytes, skip_whitespace(bytes, at))?;
                        }
                        break;
                    }
                    Some(&c) if c == close => {
                        stack.pop();
                        at += 1;
                    }
                    _ => {
                        let expected = if close == b'}' {
                            "expected ',' or '}'"
                        } else {
                            "expected ',' or ']'"
                        };
                        return Err(EventError::new(at, expected));
                    }
                }
            }
        }
    }
}

/// Skips `"name" :` at `pos`; returns the position after the colon.
fn skip_key(bytes: &[u8], pos: usize) -> Result<usize, EventError> {
    if bytes.get(pos) != Some(&b'"') {
        return Err(EventError::new(pos, "expected a field name"));
    }
    let at = skip_whitespace(bytes, scan_string(bytes, pos)?.1);
    if bytes.get(at) != Some(&b':') {
        return Err(EventError::new(at, "expected ':'"));
    }
    Ok(at + 1)
}
