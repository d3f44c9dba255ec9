//! Escaping untrusted strings (user names, user agents, ARNs, request parameters) for Slack.
//!
//! Slack has no escape character for mrkdwn. It asks only that `&`, `<` and `>` be written as
//! `&amp;`, `&lt;` and `&gt;`, which is what keeps `<!channel>`, `<!here>`, `<@U123>` and
//! `<https://evil|click>` from becoming mentions and links. The rest is our choice
//! (docs/decisions/0005-target-input-and-slack-messages.md):
//!
//! - `@channel`, `@here` and `@everyone` get a word joiner (U+2060, invisible) after the `@`, so no
//!   client or bot that links bare mentions will notify anyone.
//! - Identifiers go in inline code ([`code`]): Slack formats nothing inside it, so `*`, `_` and `~`
//!   stay exact and copyable; a backtick, the one character that would end the span, becomes `ˋ`
//!   (U+02CB).
//! - Prose outside code ([`mrkdwn`]) has its formatting characters replaced by look-alikes (`*` `∗`,
//!   `_` `ˍ`, `~` `∼`, `` ` `` `ˋ`), so a user name cannot bold, strike or open code in the card.
//! - Newlines and other control characters become spaces except inside code blocks, so a value
//!   cannot start a quote (`>`), a list or a fake line of the card.
//! - Bidirectional controls and other invisible characters ([`crate::sanitize::is_invisible`])
//!   become visible escapes (`\u{202e}`), as the terminal sanitiser writes them.
//! - Every function takes a limit in characters of output and cuts at a character boundary,
//!   never inside an `&amp;`, ending with `…`.
//!
//! ```
//! use trailbell::targets::slack::escape;
//!
//! assert_eq!(escape::code("<!channel>", 100), "`&lt;!channel&gt;`");
//! assert_eq!(escape::mrkdwn("*bold* @here", 100), "∗bold∗ @\u{2060}here");
//! assert_eq!(escape::plain_text("a\nb", 100), "a b");
//! assert_eq!(escape::truncate("abcdef", 4), "abc…");
//! ```

use std::borrow::Cow;

/// The mark that ends a cut string.
pub const ELLIPSIS: char = '…';

const WORD_JOINER: char = '\u{2060}';
const MENTIONS: [&str; 3] = ["channel", "here", "everyone"];

/// Slack's own escaping: `&`, `<` and `>` as entities; nothing else changes. This is the hook to
/// give [`crate::transform::TargetInput::render_escaped`] for a template posted to Slack.
///
/// ```
/// use trailbell::targets::slack::escape::escape;
///
/// assert_eq!(escape("<https://evil.example|click> & more"),
///            "&lt;https://evil.example|click&gt; &amp; more");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_entity(&mut out, c);
    }
    Cow::Owned(out)
}

/// `text` for mrkdwn prose: entities, mentions neutralised, formatting characters replaced by
/// look-alikes, one line; at most `max_chars` characters.
pub fn mrkdwn(text: &str, max_chars: usize) -> String {
    render(text, Mode::Mrkdwn, max_chars)
}

/// `text` with Slack's entities and mentions neutralised, on one line, formatting characters left
/// as they are: for values Slack parses for links and mentions but that a person copies exactly
/// (Chatbot's metadata, say); at most `max_chars` characters.
pub fn text(text: &str, max_chars: usize) -> String {
    render(text, Mode::Text, max_chars)
}

/// `text` as inline code, backticks included: exact except for backticks and line breaks; at most
/// `max_chars` characters with the backticks. An empty `text` gives `–` rather than an empty span.
pub fn code(text: &str, max_chars: usize) -> String {
    if text.is_empty() {
        return "–".to_owned();
    }
    let inner = render(text, Mode::Code, max_chars.saturating_sub(2));
    format!("`{inner}`")
}

/// `text` as a preformatted block (```` ``` ````), line breaks kept; at most `max_chars`
/// characters with the fences.
pub fn code_block(text: &str, max_chars: usize) -> String {
    let inner = render(text, Mode::Block, max_chars.saturating_sub(6));
    format!("```{inner}```")
}

/// `text` for a `plain_text` object (headers, button labels), which Slack shows literally: one
/// line, mentions neutralised; at most `max_chars` characters.
pub fn plain_text(text: &str, max_chars: usize) -> String {
    render(text, Mode::Plain, max_chars)
}

/// `text` cut to at most `max_chars` characters at a character boundary, ending with `…` when
/// cut.
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(max_chars - 1)
                .map_or(text.len(), |(i, _)| i);
            Cow::Owned(format!("{}{ELLIPSIS}", &text[..end]))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Mrkdwn,
    Text,
    Code,
    Block,
    Plain,
}

fn render(text: &str, mode: Mode, max_chars: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        piece.clear();
        match c {
            '&' | '<' | '>' if mode != Mode::Plain => push_entity(&mut piece, c),
            '\n' if mode == Mode::Block => piece.push('\n'),
            c if c.is_control() => piece.push(' '),
            // As on the terminal: a right-to-left override or a zero-width space shows as what
            // it is (`\u{202e}`), so a name cannot read differently from what it is.
            c if crate::sanitize::is_invisible(c) => {
                crate::sanitize::push_visible_escape(&mut piece, c)
            }
            '`' if matches!(mode, Mode::Mrkdwn | Mode::Code | Mode::Block) => piece.push('ˋ'),
            '*' if mode == Mode::Mrkdwn => piece.push('∗'),
            '_' if mode == Mode::Mrkdwn => piece.push('ˍ'),
            '~' if mode == Mode::Mrkdwn => piece.push('∼'),
            '@' => {
                piece.push('@');
                let after = &text[i + 1..];
                if MENTIONS.iter().any(|m| starts_with_ignore_case(after, m)) {
                    piece.push(WORD_JOINER);
                }
            }
            c => piece.push(c),
        }
        let len = piece.chars().count();
        let last = chars.peek().is_none();
        // Keep room for the ellipsis unless this is the last piece and it fits exactly.
        if used + len > max_chars || (!last && used + len == max_chars) {
            // `used < max_chars` always holds here but for a zero limit.
            if used < max_chars {
                out.push(ELLIPSIS);
            }
            return out;
        }
        out.push_str(&piece);
        used += len;
    }
    out
}

fn push_entity(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
