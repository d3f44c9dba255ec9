//! Escaping untrusted text before it reaches a terminal.
//!
//! Rule names, file paths and anything read from an event are untrusted: a raw ESC byte could recolour
//! or rewrite the user's terminal, a newline could forge a second log line and a bidirectional override
//! could make text read differently from what it is. [`for_terminal`] turns every such character into a
//! visible escape and caps the length, so the result is one line of harmless text.
//!
//! Backslashes are left as they are, so escaping is idempotent: escaping escaped text changes nothing.

use std::fmt::Write as _;

/// The default cap, in characters of input, applied by [`for_terminal`].
pub const MAX_CHARS: usize = 4096;

/// Escapes `text` for printing on a terminal and caps it at [`MAX_CHARS`] characters.
///
/// ```
/// use trailbell::sanitize::for_terminal;
///
/// assert_eq!(for_terminal("plain text"), "plain text");
/// assert_eq!(for_terminal("\u{1b}[31mred\u{1b}[0m"), r"\u{1b}[31mred\u{1b}[0m");
/// assert_eq!(for_terminal("two\nlines"), r"two\nlines");
/// ```
pub fn for_terminal(text: &str) -> String {
    for_terminal_capped(text, MAX_CHARS)
}

/// Escapes `text` for printing on a terminal and keeps at most `max_chars` characters of it, followed
/// by a marker saying how many were cut.
///
/// Tab, newline and carriage return become `\t`, `\n` and `\r`; every other control character
/// (C0, DEL, C1, so every ANSI escape sequence's introducer) and every bidirectional formatting
/// character becomes `\u{..}`.
///
/// ```
/// use trailbell::sanitize::for_terminal_capped;
///
/// assert_eq!(for_terminal_capped("abcdef", 3), "abc…[3 more chars]");
/// assert_eq!(for_terminal_capped("a\u{202e}b", 10), r"a\u{202e}b");
/// ```
pub fn for_terminal_capped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    for (count, (index, c)) in text.char_indices().enumerate() {
        if count == max_chars {
            let rest = text[index..].chars().count();
            let _ = write!(out, "…[{rest} more chars]");
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str(r"\t"),
        '\n' => out.push_str(r"\n"),
        '\r' => out.push_str(r"\r"),
        c if c.is_control() || is_invisible(c) => push_visible_escape(out, c),
        c => out.push(c),
    }
}

/// Characters a reader cannot see that change what the text around them looks like or means:
/// bidirectional controls (which reorder it), zero-width characters, joiners and fillers (which
/// hide inside names), the line and paragraph separators (which break lines where no newline
/// shows) and tag characters. Every renderer of untrusted text escapes these: the terminal here,
/// Slack in [`crate::targets::slack::escape`].
///
/// ```
/// use trailbell::sanitize::is_invisible;
///
/// assert!(is_invisible('\u{202e}'));
/// assert!(is_invisible('\u{200b}'));
/// assert!(!is_invisible('é'));
/// ```
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Writes `c` as the visible escape `\u{..}` used for invisible and control characters.
pub fn push_visible_escape(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_unchanged() {
        let text = "rule \"console-sign-in\": Größe, 東京, emoji 🔔, back\\slash";
        assert_eq!(for_terminal(text), text);
    }

    #[test]
    fn ansi_escape_sequences_become_visible() {
        assert_eq!(
            for_terminal("\u{1b}]0;pwned\u{7}\u{1b}[2J"),
            r"\u{1b}]0;pwned\u{7}\u{1b}[2J"
        );
    }

    #[test]
    fn c1_controls_and_delete_are_escaped() {
        assert_eq!(for_terminal("a\u{9b}31mb\u{7f}"), r"a\u{9b}31mb\u{7f}");
    }

    #[test]
    fn line_breaks_cannot_forge_a_second_line() {
        let escaped = for_terminal("ok\r\nline 2: fake error\ttab");
        assert_eq!(escaped, r"ok\r\nline 2: fake error\ttab");
        assert!(!escaped.contains('\n'));
    }

    #[test]
    fn bidirectional_overrides_are_escaped() {
        assert_eq!(
            for_terminal("\u{202e}txt.exe\u{2066}"),
            r"\u{202e}txt.exe\u{2066}"
        );
    }

    #[test]
    fn zero_width_and_separator_characters_are_escaped() {
        assert_eq!(
            for_terminal("ad\u{200b}min\u{2028}x\u{feff}"),
            r"ad\u{200b}min\u{2028}x\u{feff}"
        );
    }

    #[test]
    fn escaping_is_idempotent() {
        let once = for_terminal("\u{1b}[1m\nx\u{202e}");
        assert_eq!(for_terminal(&once), once);
    }

    #[test]
    fn length_is_capped_in_characters_not_bytes() {
        assert_eq!(for_terminal_capped("ééééé", 2), "éé…[3 more chars]");
        assert_eq!(for_terminal_capped("éé", 2), "éé");
        assert_eq!(for_terminal_capped("", 0), "");
        assert_eq!(for_terminal_capped("x", 0), "…[1 more chars]");
    }

    #[test]
    fn default_cap_applies() {
        let long = "a".repeat(MAX_CHARS + 10);
        let escaped = for_terminal(&long);
        assert!(escaped.starts_with(&"a".repeat(MAX_CHARS)));
        assert!(escaped.ends_with("…[10 more chars]"));
    }
}
