//! Skipping what no rule reads in an event trusted to be valid JSON: only quotes, backslashes and
//! the brackets of the container being skipped matter.

use crate::error::EventError;
use crate::event::lex::{find_quote_or_backslash, quote_or_backslash_in, word_at};

/// Skips the value at `pos` of an event trusted to be valid JSON: only quotes and the brackets of
/// the container being skipped are looked at, found by a vectorised search.
#[inline]
pub(super) fn skip_trusted(bytes: &[u8], pos: usize) -> Result<usize, EventError> {
    match bytes.get(pos) {
        Some(b'"') => skip_string_trusted(bytes, pos),
        Some(b'{') => skip_to_close(bytes, pos + 1, b'{', b'}', 1),
        Some(b'[') => skip_to_close(bytes, pos + 1, b'[', b']', 1),
        Some(_) => {
            let mut at = pos;
            while let Some(b) = bytes.get(at) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                at += 1;
            }
            Ok(at)
        }
        None => Err(EventError::new(pos, "unexpected end of event")),
    }
}

#[inline]
fn skip_string_trusted(bytes: &[u8], pos: usize) -> Result<usize, EventError> {
    let mut at = pos + 1;
    loop {
        let Some(offset) = find_quote_or_backslash(bytes.get(at..).unwrap_or_default()) else {
            return Err(EventError::new(pos, "unterminated string"));
        };
        at += offset;
        if bytes[at] == b'"' {
            return Ok(at + 1);
        }
        at += 2;
    }
}

/// A field of a trusted event written `"name":"value"`, with no whitespace and no backslash, whose
/// name and value each end within [`SHORT_STRING`] bytes of their opening quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ShortField {
    /// The name: the bytes between `pos + 1` and this, its closing quote.
    pub(super) name_end: usize,
    /// The position after the value's closing quote.
    pub(super) value_end: usize,
}

/// How far [`short_field`] looks for each string's end: two words.
const SHORT_STRING: usize = 16;

/// The short field whose name's opening quote is at `pos`, if it is one.
///
/// Most fields of most events are short strings: found here by a few word compares, inline,
/// without the general path's calls and checks.
#[inline]
pub(super) fn short_field(bytes: &[u8], pos: usize) -> Option<ShortField> {
    let name_end = first_stop(bytes, pos + 1)?;
    // `"name":"`: the first stop is the name's closing quote, and the value opens right after it.
    if bytes.get(name_end..name_end + 3)? != b"\":\"" {
        return None;
    }
    let value_close = first_stop(bytes, name_end + 3)?;
    if bytes.get(value_close) != Some(&b'"') {
        return None;
    }
    Some(ShortField {
        name_end,
        value_end: value_close + 1,
    })
}

/// The first quote or backslash within [`SHORT_STRING`] bytes from `at`.
#[inline]
fn first_stop(bytes: &[u8], at: usize) -> Option<usize> {
    for offset in (0..SHORT_STRING).step_by(8) {
        if let Some(found) = quote_or_backslash_in(word_at(bytes, at + offset)?) {
            return Some(at + offset + found);
        }
    }
    None
}

/// Finds the bracket that closes a container, starting inside it, outside any string, at `depth`.
/// In valid JSON the other kind of bracket is balanced within, so only this kind is counted.
///
/// Eight bytes at a time: each word's quotes, and brackets of this kind, become 8-bit masks; the
/// running parity of the quotes marks the bytes inside strings, and only brackets outside them
/// count. A word holding a backslash is walked byte by byte, so that escapes are honoured.
pub(super) fn skip_to_close(
    bytes: &[u8],
    mut at: usize,
    open: u8,
    close: u8,
    depth: usize,
) -> Result<usize, EventError> {
    let mut walk = Walk {
        open,
        close,
        depth,
        in_string: false,
        escaped: false,
    };
    while let Some(word) = word_at(bytes, at) {
        if equal_bytes(word, b'\\') != 0 {
            // Walked past the word's end until no escape is pending, so words start unescaped.
            let end = at + 8;
            while at < end || walk.escaped {
                let Some(&b) = bytes.get(at) else {
                    return Err(EventError::new(bytes.len(), "unexpected end of event"));
                };
                at += 1;
                if walk.step(b) {
                    return Ok(at);
                }
            }
            continue;
        }
        let quote_bits = equal_bytes(word, b'"');
        let bracket_bits = equal_bytes(word, open) | equal_bytes(word, close);
        if bracket_bits == 0 {
            // Most words: only the quotes' parity carries on.
            walk.in_string ^= quote_bits.count_ones() & 1 == 1;
            at += 8;
            continue;
        }
        let quotes = pack(quote_bits);
        let opens = pack(equal_bytes(word, open));
        let closes = pack(equal_bytes(word, close));
        let mut inside = prefix_xor(quotes);
        if walk.in_string {
            inside = !inside & 0xFF;
        }
        walk.in_string = inside & 0x80 != 0;
        let opens = opens & !inside;
        let closes = closes & !inside;
        let mut brackets = opens | closes;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            if opens >> i & 1 == 1 {
                walk.depth += 1;
            } else {
                walk.depth -= 1;
                if walk.depth == 0 {
                    return Ok(at + i as usize + 1);
                }
            }
            brackets &= brackets - 1;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        at += 1;
        if walk.step(b) {
            return Ok(at);
        }
    }
    Err(EventError::new(bytes.len(), "unexpected end of event"))
}

/// The byte-at-a-time state of a skip.
struct Walk {
    open: u8,
    close: u8,
    depth: usize,
    in_string: bool,
    /// Inside a string, right after a backslash.
    escaped: bool,
}

impl Walk {
    /// Moves past one byte; true when it closed the container.
    fn step(&mut self, b: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
        } else if b == b'"' {
            self.in_string = true;
        } else if b == self.open {
            self.depth += 1;
        } else if b == self.close {
            self.depth -= 1;
            return self.depth == 0;
        }
        false
    }
}

/// 0x80 in every byte of `word` equal to `byte`, 0 in the others, exactly: adding 0x7F to the low
/// seven bits never carries out of a byte.
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(byte));
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// The high bits of the eight bytes as an 8-bit mask, byte `k` to bit `k`.
fn pack(highs: u64) -> u32 {
    ((highs >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// Bit `i` becomes the parity of bits `0..=i`.
fn prefix_xor(mut x: u32) -> u32 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x & 0xFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time definition the skip must agree with: quotes toggle strings, a backslash
    /// in a string escapes the next byte, brackets count only outside strings.
    fn close_bytewise(bytes: &[u8], at: usize, open: u8, close: u8, depth: usize) -> Option<usize> {
        let (mut depth, mut in_string, mut escaped) = (depth, false, false);
        for (i, &b) in bytes.iter().enumerate().skip(at) {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            } else if b == open {
                depth += 1;
            } else if b == close {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
        }
        None
    }

    #[test]
    fn byte_masks_are_exact() {
        for pattern in 0..=255u32 {
            let word = (0..8).fold(0u64, |w, k| {
                let b = if pattern >> k & 1 == 1 {
                    b'"'
                } else {
                    b'"' ^ (k as u8 + 1)
                };
                w | u64::from(b) << (8 * k)
            });
            assert_eq!(pack(equal_bytes(word, b'"')), pattern);
        }
        assert_eq!(
            pack(equal_bytes(
                u64::from_le_bytes(*b"\x00\x80\xff\"\"a\x22b"),
                b'"'
            )),
            0b0101_1000
        );
        assert_eq!(prefix_xor(0b0000_1001), 0b0000_0111);
    }

    #[test]
    fn short_fields_are_compact_string_fields_without_escapes() {
        fn field(text: &str) -> Option<(&str, &str, &str)> {
            short_field(text.as_bytes(), 0).map(|f| {
                (
                    &text[1..f.name_end],
                    &text[f.name_end + 3..f.value_end - 1],
                    &text[f.value_end..],
                )
            })
        }
        let padding = ",\"next\":\"field-after-it\"}";
        let cases = [
            ("\"STREET\":\"MISSION\"", Some(("STREET", "MISSION"))),
            ("\"\":\"\"", Some(("", ""))),
            (
                "\"fifteen-bytes-n\":\"fifteen-bytes-v\"",
                Some(("fifteen-bytes-n", "fifteen-bytes-v")),
            ),
            ("\"sixteen-bytes-na\":\"v\"", None),
            ("\"n\":\"sixteen-bytes-val\"", None),
            ("\"STREET\": \"MISSION\"", None),
            ("\"STREET\" :\"MISSION\"", None),
            ("\"STREET\":17", None),
            ("\"STREET\":{\"a\":\"b\"}", None),
            ("\"ST\\\"REET\":\"MISSION\"", None),
            ("\"STREET\":\"MIS\\\"SION\"", None),
            ("\"STREET\":\"MISSION\\\\\"", None),
        ];
        for (text, expected) in cases {
            let event = format!("{text}{padding}");
            assert_eq!(
                field(&event),
                expected.map(|(name, value)| (name, value, padding)),
                "{event}"
            );
        }
        // Words are not read past the event's end: a field right at its end is left to the
        // general path.
        assert_eq!(field("\"a\":\"b\""), None);
    }

    #[test]
    fn skipping_agrees_with_bytewise_stepping() {
        // A small deterministic generator over the bytes that matter, plus filler.
        let alphabet = b"\"\\[]{}a,1 ";
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for case in 0..20_000 {
            let len = (case % 300) + 1;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            for (open, close) in [(b'[', b']'), (b'{', b'}')] {
                let expected = close_bytewise(&text, 0, open, close, 1);
                let got = skip_to_close(&text, 0, open, close, 1).ok();
                assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    #[test]
    fn long_arrays_of_objects_are_skipped_to_their_end() {
        let points: Vec<String> = (0..200)
            .map(|i| format!(r#"{{"x": -122.{i}, "name": "a \"quoted\" ]"}}"#))
            .collect();
        let text = format!("[{}], \"after\"", points.join(","));
        let end = skip_to_close(text.as_bytes(), 1, b'[', b']', 1).expect("closed");
        assert_eq!(&text[end..], r#", "after""#);
    }
}
