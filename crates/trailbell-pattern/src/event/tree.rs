//! A plain recursive reader that turns an event into a tree, for the reference matcher.

use super::MAX_EVENT_DEPTH;
use super::lex::{
    expect_literal, number_value, scan_number, scan_string, skip_whitespace, unescape,
};
use crate::error::EventError;

/// A JSON value. Objects keep every member in order; lookups take the last of a repeated key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object: the last one when it repeats.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads an event: a JSON object, with nothing but whitespace after it.
pub(crate) fn parse(bytes: &[u8]) -> Result<Json, EventError> {
    let start = skip_whitespace(bytes, 0);
    if bytes.get(start) != Some(&b'{') {
        return Err(EventError::new(start, "event is not a JSON object"));
    }
    let mut reader = Reader { bytes, pos: start };
    let value = reader.value(0)?;
    let end = skip_whitespace(bytes, reader.pos);
    if end != bytes.len() {
        return Err(EventError::new(
            end,
            "unexpected characters after the event",
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn value(&mut self, depth: usize) -> Result<Json, EventError> {
        self.pos = skip_whitespace(self.bytes, self.pos);
        let at = self.pos;
        match self.bytes.get(at) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                let end = scan_number(self.bytes, at)?;
                self.pos = end;
                Ok(Json::Number(number_value(&self.bytes[at..end])))
            }
            Some(_) => Err(EventError::new(at, "expected a JSON value")),
            None => Err(EventError::new(at, "unexpected end of event")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Result<Json, EventError> {
        self.pos = expect_literal(self.bytes, self.pos, word)?;
        Ok(value)
    }

    fn string(&mut self) -> Result<String, EventError> {
        let (token, end) = scan_string(self.bytes, self.pos)?;
        self.pos = end;
        let raw = &self.bytes[token.start..token.end];
        let mut out = String::new();
        if token.escaped {
            unescape(raw, &mut out);
        } else {
            out.push_str(&String::from_utf8_lossy(raw));
        }
        Ok(out)
    }

    fn check_depth(&self, depth: usize) -> Result<(), EventError> {
        if depth > MAX_EVENT_DEPTH {
            Err(EventError::new(self.pos, "event nests too deeply"))
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, EventError> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.pos = skip_whitespace(self.bytes, self.pos);
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.pos = skip_whitespace(self.bytes, self.pos);
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(EventError::new(self.pos, "expected a field name"));
            }
            let key = self.string()?;
            self.pos = skip_whitespace(self.bytes, self.pos);
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(EventError::new(self.pos, "expected ':'"));
            }
            self.pos += 1;
            let value = self.value(depth)?;
            members.push((key, value));
            self.pos = skip_whitespace(self.bytes, self.pos);
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(EventError::new(self.pos, "expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, EventError> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.pos = skip_whitespace(self.bytes, self.pos);
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.pos = skip_whitespace(self.bytes, self.pos);
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(EventError::new(self.pos, "expected ',' or ']'")),
            }
        }
    }
}
