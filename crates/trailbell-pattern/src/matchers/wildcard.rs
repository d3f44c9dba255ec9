//! wildcard: `*` matches any run of characters, including none; `\*` and `\\` are the escapes.

use memchr::memmem;
use serde_json::Value;

use crate::error::PatternError;
use crate::limits::Limits;
use crate::path::JsonPath;

/// A wildcard value split at its unescaped stars: `pieces[0]` must start the value, the last piece
/// must end it, and the ones between must appear in order.
#[derive(Clone, Debug)]
pub(crate) struct Wildcard {
    pieces: Vec<String>,
    /// Searchers for the middle pieces, built once rather than on every value.
    finders: Vec<memmem::Finder<'static>>,
}

impl PartialEq for Wildcard {
    fn eq(&self, other: &Wildcard) -> bool {
        self.pieces == other.pieces
    }
}

impl Wildcard {
    pub(crate) fn parse(
        operand: &Value,
        path: &JsonPath,
        limits: &Limits,
    ) -> Result<Wildcard, PatternError> {
        match operand {
            Value::String(s) => Wildcard::from_text(s, path, limits),
            _ => Err(PatternError::new(
                path.as_str(),
                "wildcard match pattern must be a string",
            )),
        }
    }

    pub(crate) fn from_text(
        text: &str,
        path: &JsonPath,
        limits: &Limits,
    ) -> Result<Wildcard, PatternError> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars().enumerate();
        let mut previous_was_star = false;
        while let Some((position, c)) = chars.next() {
            match c {
                '*' => {
                    if previous_was_star {
                        return Err(PatternError::new(
                            path.as_str(),
                            format!("Consecutive wildcard characters at pos {position}"),
                        ));
                    }
                    pieces.push(String::new());
                    previous_was_star = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => push(&mut pieces, escaped),
                    _ => {
                        return Err(PatternError::new(
                            path.as_str(),
                            format!("Invalid escape character at pos {position}"),
                        ));
                    }
                },
                other => push(&mut pieces, other),
            }
            previous_was_star = false;
        }
        let stars = pieces.len() - 1;
        if stars > limits.max_wildcard_stars {
            return Err(PatternError::new(
                path.as_str(),
                format!(
                    "Rule is too complex - wildcard pattern has {stars} wildcard characters, more than the limit of {}",
                    limits.max_wildcard_stars
                ),
            ));
        }
        let middle = pieces.len().saturating_sub(1).max(1);
        let finders = pieces[1..middle]
            .iter()
            .map(|piece| memmem::Finder::new(piece.as_bytes()).into_owned())
            .collect();
        Ok(Wildcard { pieces, finders })
    }

    pub(crate) fn accepts(&self, value: &str) -> bool {
        let value = value.as_bytes();
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return value.is_empty(),
        };
        let Some((last, _)) = rest.split_last() else {
            return value == first.as_bytes();
        };
        if value.len() < first.len() + last.len()
            || !value.starts_with(first.as_bytes())
            || !value.ends_with(last.as_bytes())
        {
            return false;
        }
        // Leftmost-first placement of each middle piece is optimal for star-only globs.
        let mut window = &value[first.len()..value.len() - last.len()];
        for finder in &self.finders {
            match finder.find(window) {
                Some(at) => window = &window[at + finder.needle().len()..],
                None => return false,
            }
        }
        true
    }

    /// Whether the wildcard has no star at all, so that it is an exact match.
    pub(crate) fn exact_text(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }
}

fn push(pieces: &mut [String], c: char) {
    if let Some(last) = pieces.last_mut() {
        last.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wildcard(text: &str) -> Wildcard {
        Wildcard::from_text(text, &JsonPath::root(), &Limits::default()).expect("valid wildcard")
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(wildcard("a*b").accepts("ab"));
        assert!(wildcard("a*b").accepts("axxb"));
        assert!(!wildcard("a*b").accepts("axxbc"));
        assert!(wildcard("*").accepts(""));
        assert!(wildcard("*a*a*").accepts("aa"));
        assert!(!wildcard("*a*a*").accepts("a"));
        assert!(!wildcard("ab*ba").accepts("aba"));
        assert!(wildcard("ab*ba").accepts("abba"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(wildcard(r"a\*b").accepts("a*b"));
        assert!(!wildcard(r"a\*b").accepts("axb"));
        assert!(wildcard(r"a\\*").accepts(r"a\zzz"));
    }

    #[test]
    fn double_star_and_bad_escapes_are_rejected() {
        let limits = Limits::default();
        assert!(Wildcard::from_text("a**", &JsonPath::root(), &limits).is_err());
        assert!(Wildcard::from_text(r"a\n", &JsonPath::root(), &limits).is_err());
        assert!(Wildcard::from_text("a\\", &JsonPath::root(), &limits).is_err());
        assert!(Wildcard::from_text(r"\**", &JsonPath::root(), &limits).is_ok());
    }
}
