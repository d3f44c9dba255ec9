//! JSON tokens: whitespace, strings, numbers and literals, validated strictly (RFC 8259).

use memchr::memchr2;

use crate::error::EventError;

pub(crate) fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// A string token: the content between the quotes and whether it holds escapes.
pub(crate) struct StringToken {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) escaped: bool,
}

/// Scans the string that starts with the quote at `pos`; returns the token and the position after
/// the closing quote.
pub(crate) fn scan_string(bytes: &[u8], pos: usize) -> Result<(StringToken, usize), EventError> {
    let start = pos + 1;
    let mut at = start;
    let mut escaped = false;
    loop {
        let Some(offset) = find_quote_or_backslash(&bytes[at..]) else {
            return Err(EventError::new(pos, "unterminated string"));
        };
        let stop = at + offset;
        check_text(bytes, at, stop)?;
        if bytes[stop] == b'"' {
            return Ok((
                StringToken {
                    start,
                    end: stop,
                    escaped,
                },
                stop + 1,
            ));
        }
        escaped = true;
        at = scan_escape(bytes, stop)?;
    }
}

/// Finds the end of the string at `pos` without checking its content, for events trusted to be
/// valid JSON.
#[inline]
pub(crate) fn scan_string_unchecked(
    bytes: &[u8],
    pos: usize,
) -> Result<(StringToken, usize), EventError> {
    let start = pos + 1;
    let mut at = start;
    let mut escaped = false;
    loop {
        let Some(offset) = find_quote_or_backslash(bytes.get(at..).unwrap_or_default()) else {
            return Err(EventError::new(pos, "unterminated string"));
        };
        at += offset;
        if bytes[at] == b'"' {
            return Ok((
                StringToken {
                    start,
                    end: at,
                    escaped,
                },
                at + 1,
            ));
        }
        escaped = true;
        at += 2;
    }
}

/// The first quote or backslash. Strings are usually short: eight bytes at a time finds their end
/// before a vectorised search would have started; long ones go to memchr.
#[inline]
pub(crate) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    let mut at = 0;
    while at < SHORT {
        let Some(word) = word_at(bytes, at) else {
            return bytes[at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .map(|found| at + found);
        };
        if let Some(found) = quote_or_backslash_in(word) {
            return Some(at + found);
        }
        at += 8;
    }
    memchr2(b'"', b'\\', &bytes[at..]).map(|found| at + found)
}

/// The first quote or backslash of the eight bytes of `word` (first byte lowest).
#[inline]
pub(crate) fn quote_or_backslash_in(word: u64) -> Option<usize> {
    let hits = byte_matches(word, b'"') | byte_matches(word, b'\\');
    (hits != 0).then(|| (hits.trailing_zeros() / 8) as usize)
}

/// The eight bytes at `at` as a word, first byte lowest.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk = bytes.get(at..at + 8)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    Some(u64::from_le_bytes(word))
}

/// A word whose lowest set bit lies in the first byte of `word` equal to `byte` (bits above it may
/// be set spuriously by the borrow; only the lowest is meaningful). Zero when no byte is equal.
pub(crate) fn byte_matches(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Checks raw string content: no control characters, and UTF-8. Bytes outside strings are ASCII
/// syntax or an error, so strings are the only place UTF-8 needs checking.
fn check_text(bytes: &[u8], start: usize, end: usize) -> Result<(), EventError> {
    let text = &bytes[start..end];
    if let Some(bad) = text.iter().position(|&b| b < 0x20) {
        return Err(EventError::new(start + bad, "control character in string"));
    }
    if !text.is_ascii()
        && let Err(e) = std::str::from_utf8(text)
    {
        return Err(EventError::new(start + e.valid_up_to(), "invalid UTF-8"));
    }
    Ok(())
}

/// Validates the escape at `pos` (a backslash); returns the position after it.
fn scan_escape(bytes: &[u8], pos: usize) -> Result<usize, EventError> {
    match bytes.get(pos + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 2),
        Some(b'u') => {
            let unit = hex4(bytes, pos + 2).ok_or(EventError::new(pos, "invalid \\u escape"))?;
            match unit {
                0xD800..=0xDBFF => {
                    let low = (bytes.get(pos + 6) == Some(&b'\\')
                        && bytes.get(pos + 7) == Some(&b'u'))
                    .then(|| hex4(bytes, pos + 8))
                    .flatten();
                    match low {
                        Some(0xDC00..=0xDFFF) => Ok(pos + 12),
                        _ => Err(EventError::new(pos, "lone surrogate in \\u escape")),
                    }
                }
                0xDC00..=0xDFFF => Err(EventError::new(pos, "lone surrogate in \\u escape")),
                _ => Ok(pos + 6),
            }
        }
        _ => Err(EventError::new(pos, "invalid escape in string")),
    }
}

fn hex4(bytes: &[u8], pos: usize) -> Option<u32> {
    let digits = bytes.get(pos..pos + 4)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        let digit = (b as char).to_digit(16)?;
        Some(acc * 16 + digit)
    })
}

/// Decodes a string token that holds escapes. Total on any bytes: what [`scan_string`] would have
/// rejected (only a trusted reading lets it through) decodes to U+FFFD rather than failing.
pub(crate) fn unescape(raw: &[u8], out: &mut String) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let Some(offset) = memchr::memchr(b'\\', &raw[i..]) else {
            push_utf8(out, &raw[i..]);
            break;
        };
        push_utf8(out, &raw[i..i + offset]);
        i += offset;
        let c = match raw.get(i + 1) {
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => match hex4(raw, i + 2) {
                Some(high @ 0xD800..=0xDBFF) => {
                    let low = (raw.get(i + 6) == Some(&b'\\') && raw.get(i + 7) == Some(&b'u'))
                        .then(|| hex4(raw, i + 8))
                        .flatten();
                    match low {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            i += 6;
                            char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                                .unwrap_or('\u{FFFD}')
                        }
                        // Only a trusted reading sees an unpaired surrogate: it decodes to U+FFFD.
                        _ => '\u{FFFD}',
                    }
                }
                Some(unit) => char::from_u32(unit).unwrap_or('\u{FFFD}'),
                None => '\u{FFFD}',
            },
            Some(&other) => other as char,
            None => break,
        };
        out.push(c);
        i += if raw.get(i + 1) == Some(&b'u') { 6 } else { 2 };
    }
}

fn push_utf8(out: &mut String, bytes: &[u8]) {
    // The whole event was checked to be UTF-8 before lexing, and escapes split only at ASCII bytes.
    out.push_str(&String::from_utf8_lossy(bytes));
}

/// Scans the number that starts at `pos`; returns the position after it.
pub(crate) fn scan_number(bytes: &[u8], pos: usize) -> Result<usize, EventError> {
    let invalid = || EventError::new(pos, "invalid number");
    let mut at = pos;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(bytes, at + 1),
        _ => return Err(invalid()),
    }
    if bytes.get(at) == Some(&b'.') {
        let after = digits(bytes, at + 1);
        if after == at + 1 {
            return Err(invalid());
        }
        at = after;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let after = digits(bytes, at);
        if after == at {
            return Err(invalid());
        }
        at = after;
    }
    Ok(at)
}

fn digits(bytes: &[u8], mut pos: usize) -> usize {
    // Eight bytes at a time: coordinates and ids are long runs of digits.
    while let Some(word) = word_at(bytes, pos) {
        let run = digit_run(word);
        pos += run;
        if run < 8 {
            return pos;
        }
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

/// How many of the eight bytes of `word` (first byte lowest) are ASCII digits before the first
/// byte that is not. A byte is a digit when its high nibble is 3 and stays 3 after adding 6; a
/// carry out of a byte can only disturb bytes after a non-digit, which are not counted.
fn digit_run(word: u64) -> usize {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    let not_digit = ((word & HIGH) ^ THREES) | ((word.wrapping_add(SIXES) & HIGH) ^ THREES);
    (not_digit.trailing_zeros() / 8) as usize
}

/// The value of a number token validated by [`scan_number`]; too large becomes infinite.
pub(crate) fn number_value(token: &[u8]) -> f64 {
    std::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Checks the literal `word` at `pos`; returns the position after it.
pub(crate) fn expect_literal(bytes: &[u8], pos: usize, word: &[u8]) -> Result<usize, EventError> {
    if bytes.get(pos..pos + word.len()) == Some(word) {
        Ok(pos + word.len())
    } else {
        Err(EventError::new(pos, "invalid literal"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<String, EventError> {
        let (token, _) = scan_string(json.as_bytes(), 0)?;
        let mut out = String::new();
        unescape(&json.as_bytes()[token.start..token.end], &mut out);
        Ok(out)
    }

    #[test]
    fn escapes_decode_including_surrogate_pairs() {
        assert_eq!(decode(r#""a\"b\\c\/\n\u0041""#).unwrap(), "a\"b\\c/\nA");
        assert_eq!(decode(r#""\ud83d\ude00x""#).unwrap(), "😀x");
        assert!(decode(r#""\ud83d""#).is_err());
        assert!(decode(r#""\x""#).is_err());
        assert!(decode("\"a\u{1}\"").is_err());
        assert!(decode(r#""abc"#).is_err());
    }

    #[test]
    fn quotes_and_backslashes_are_found_at_any_offset() {
        for len in 0..80 {
            for at in 0..len {
                for special in [b'"', b'\\'] {
                    let mut text = vec![b'a'; len];
                    text[at] = special;
                    if at + 1 < len {
                        text[at + 1] = b'"';
                    }
                    assert_eq!(
                        find_quote_or_backslash(&text),
                        Some(at),
                        "len {len} at {at}"
                    );
                }
            }
            assert_eq!(find_quote_or_backslash(&vec![0xffu8; len]), None);
        }
    }

    #[test]
    fn digit_runs_are_counted_eight_bytes_at_a_time() {
        let run = |s: &[u8; 8]| digit_run(u64::from_le_bytes(*s));
        assert_eq!(run(b"12345678"), 8);
        assert_eq!(run(b"1234567:"), 7);
        assert_eq!(run(b"/1234567"), 0);
        assert_eq!(run(b"09.12345"), 2);
        assert_eq!(run(b"\xff9999999"[..8].try_into().unwrap()), 0);
        for b in 0..=255u8 {
            let mut word = *b"00000000";
            word[3] = b;
            assert_eq!(
                run(&word),
                if b.is_ascii_digit() { 8 } else { 3 },
                "byte {b}"
            );
        }
        assert_eq!(digits(b"1234567890123456789x", 0), 19);
    }

    #[test]
    fn unescaping_is_total_on_unvalidated_text() {
        // Found by the match_event fuzz target: two high surrogates in a trusted event's name.
        let mut out = String::new();
        for raw in [
            &br"\ud83d\ud83d"[..],
            br"\ud83d\u0041",
            br"\ud83d",
            br"\udc00x",
            br"\u12",
            br"\",
            b"\\\xff",
        ] {
            unescape(raw, &mut out);
        }
        unescape(br"\ud83d\ud83dA", &mut out);
        assert_eq!(out, "\u{FFFD}\u{FFFD}A");
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        for good in ["0", "-0", "1.5", "1e5", "1E+5", "-1.25e-3", "1e400"] {
            assert_eq!(scan_number(good.as_bytes(), 0), Ok(good.len()), "{good}");
        }
        for bad in ["-", "01", "1.", ".5", "1e", "+1"] {
            let end = scan_number(bad.as_bytes(), 0);
            assert!(end.is_err() || end != Ok(bad.len()), "{bad}");
        }
        assert_eq!(number_value(b"1e400"), f64::INFINITY);
        assert_eq!(number_value(b"30e-1"), 3.0);
    }
}
