//! Passing over records that no rule can match, by the text every match needs.
//!
//! A rule that names `detail.eventName: ["ConsoleLogin"]` and `detail.userIdentity.type:
//! ["Root"]` can only match a record whose JSON holds both `"ConsoleLogin"` and `"Root"` (or an
//! escape that spells them otherwise). The matcher lists those texts for every rule
//! ([`Matcher::text_requirements`]); one multi-string search (Aho-Corasick, with Teddy's SIMD
//! search for small sets) over a record's bytes tells which it holds, and so whether reading it
//! could change anything. Most records of a trail hold too little: they are validated and
//! counted, and nothing more (docs/decisions/0013-scan-passes-over-records-by-their-text.md).

use aho_corasick::{AhoCorasick, Input, MatchKind, packed};
use memchr::memmem;
use trailbell_pattern::{Matcher, TextRequirements};

/// The texts that every match of a matcher's rules needs in a CloudTrail record.
///
/// ```
/// use trailbell::cloudtrail::RecordFilter;
///
/// let mut builder = trailbell_pattern::MatcherBuilder::new();
/// builder.add_rule("root-sign-in", r#"{"detail": {"eventName": ["ConsoleLogin"],
///     "userIdentity": {"type": ["Root"]}}}"#)?;
/// let filter = RecordFilter::for_matcher(&builder.build()).expect("the rule names text");
/// let mut held = Vec::new();
/// let mut could_match = |record: &str| filter.could_match(record.as_bytes(), &mut held);
/// assert!(could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}"#));
/// assert!(could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "R\u006fot"}}"#));
/// assert!(!could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}}"#));
/// assert!(!could_match(r#"{"eventName": "ConsoleLoginX", "userIdentity": {"type": "Root"}}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RecordFilter {
    needs: TextRequirements,
    /// Finds the texts without their quotes (which would make every `"` of the record a
    /// candidate position); the quotes are checked at each find.
    searcher: Searcher,
    texts: Vec<Text>,
    /// Per byte, the texts whose body starts with it.
    by_first_byte: Vec<Vec<u32>>,
    escapes: Vec<memmem::Finder<'static>>,
}

/// One of the texts, as searched for.
#[derive(Clone, Debug)]
struct Text {
    body: Vec<u8>,
    /// A `"` right before the body.
    open: bool,
    /// A `"` right after it.
    close: bool,
}

impl Text {
    /// `text` (never empty: every text has a quote) as searched for.
    fn of(text: &[u8]) -> Text {
        let open = text.len() > 1 && text.first() == Some(&b'"');
        let rest = if open { &text[1..] } else { text };
        let close = rest.len() > 1 && rest.last() == Some(&b'"');
        let body = if close { &rest[..rest.len() - 1] } else { rest };
        Text {
            body: body.to_vec(),
            open,
            close,
        }
    }

    /// Whether the text occurs with its body at `at`.
    fn is_at(&self, record: &[u8], at: usize) -> bool {
        let end = at + self.body.len();
        record.get(at..end) == Some(self.body.as_slice())
            && (!self.open || at > 0 && record[at - 1] == b'"')
            && (!self.close || record.get(end) == Some(&b'"'))
    }
}

impl RecordFilter {
    /// The filter for `matcher`'s rules (written over EventBridge envelopes, whose `detail` is the
    /// record), or `None` when some rule can match a record without any text to look for in it:
    /// it reads only envelope fields, or only with matchers that name no text.
    pub fn for_matcher(matcher: &Matcher) -> Option<RecordFilter> {
        let needs = matcher.text_requirements(&["detail"])?;
        let texts: Vec<Text> = needs.texts().iter().map(|text| Text::of(text)).collect();
        let searcher = Searcher::new(texts.iter().map(|text| text.body.as_slice()))?;
        let mut by_first_byte = vec![Vec::new(); 256];
        for (i, text) in texts.iter().enumerate() {
            if let Some(&first) = text.body.first() {
                by_first_byte[usize::from(first)].push(i as u32);
            }
        }
        let escapes = needs
            .escapes()
            .iter()
            .map(|escape| memmem::Finder::new(escape).into_owned())
            .collect();
        Some(RecordFilter {
            needs,
            searcher,
            texts,
            by_first_byte,
            escapes,
        })
    }

    /// Whether a rule could match the record whose JSON is `record`: false only when it lacks the
    /// texts every rule needs. `held` is working memory, reused across calls.
    pub fn could_match(&self, record: &[u8], held: &mut Vec<bool>) -> bool {
        if self
            .escapes
            .iter()
            .any(|escape| escape.find(record).is_some())
        {
            return true;
        }
        held.clear();
        held.resize(self.texts.len(), false);
        let mut at = 0;
        while let Some(start) = self.searcher.find(record, at) {
            let mut more = false;
            for &i in &self.by_first_byte[usize::from(record[start])] {
                if !held[i as usize] && self.texts[i as usize].is_at(record, start) {
                    held[i as usize] = true;
                    more = true;
                }
            }
            if more && self.needs.could_match(|i| held[i]) {
                return true;
            }
            at = start + 1;
        }
        false
    }
}

/// A multi-string search with leftmost semantics: Teddy (SIMD, for up to 64 strings) where the
/// processor has it, an Aho-Corasick automaton elsewhere. Every find is then checked against
/// every text that starts there, so no text is hidden behind another.
#[derive(Clone, Debug)]
enum Searcher {
    Teddy(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Searcher {
    fn new<'t>(bodies: impl Iterator<Item = &'t [u8]> + Clone) -> Option<Searcher> {
        let mut teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .heuristic_pattern_limits(false)
            .builder();
        teddy.extend(bodies.clone().filter(|body| !body.is_empty()));
        if let Some(teddy) = teddy.build() {
            return Some(Searcher::Teddy(teddy));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(bodies.filter(|body| !body.is_empty()))
            .ok()
            .map(Searcher::Automaton)
    }

    /// Where the leftmost find at or after `at` starts.
    fn find(&self, haystack: &[u8], at: usize) -> Option<usize> {
        match self {
            Searcher::Teddy(teddy) => teddy
                .find_in(haystack, aho_corasick::Span::from(at..haystack.len()))
                .map(|found| found.start()),
            Searcher::Automaton(automaton) => automaton
                .find(Input::new(haystack).span(at..haystack.len()))
                .map(|found| found.start()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> RecordFilter {
        let mut builder = trailbell_pattern::MatcherBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            builder
                .add_rule(&format!("r{i}"), pattern)
                .expect("a valid pattern");
        }
        RecordFilter::for_matcher(&builder.build()).expect("texts to look for")
    }

    #[test]
    fn texts_hidden_behind_another_find_are_found() {
        // `"Delete` (a prefix) and `"DeleteUserX"`-less records: the searcher may report the
        // longer body first at the same place, or a body that overlaps the one that counts.
        let filter = filter(&[
            r#"{"detail": {"eventName": ["DeleteUserPolicy"]}}"#,
            r#"{"detail": {"eventName": [{"prefix": "Delete"}], "x": ["abc"]}}"#,
            r#"{"detail": {"y": ["cde"]}}"#,
        ]);
        let mut held = Vec::new();
        let mut could_match = |record: &str| filter.could_match(record.as_bytes(), &mut held);
        assert!(could_match(
            r#"{"eventName": "DeleteUserPolicyX", "x": "abc"}"#
        ));
        assert!(!could_match(
            r#"{"eventName": "DeleteUserPolicyX", "x": "abcd"}"#
        ));
        assert!(could_match(
            r#"{"y": "abcde"}"#.replace("abcde", "cde").as_str()
        ));
        assert!(!could_match(r#"{"y": "abcde"}"#));
        assert!(could_match(r#"{"eventName": "DeleteUserPolicy"}"#));
    }

    #[test]
    fn empty_strings_and_empty_prefixes_are_quotes() {
        let filter = filter(&[r#"{"detail": {"a": [""], "b": [{"prefix": ""}]}}"#]);
        let mut held = Vec::new();
        assert!(filter.could_match(br#"{"a": ""}"#, &mut held));
        assert!(!filter.could_match(br#"{"x": 1}"#, &mut held));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, .. Default::default() })]

        /// The search finds exactly what a plain substring test finds, overlaps included.
        #[test]
        fn the_search_agrees_with_substring_tests(
            values in proptest::collection::vec("[ab\"]{0,4}", 1..4),
            kinds in proptest::collection::vec(0u8..3, 1..4),
            record in "[ab\"\\\\u ]{0,40}",
        ) {
            let fields: Vec<String> = values
                .iter()
                .zip(kinds.iter().cycle())
                .enumerate()
                .map(|(i, (value, kind))| {
                    let value = serde_json::to_string(value).expect("a string");
                    let matcher = match kind {
                        0 => value,
                        1 => format!("{{\"prefix\": {value}}}"),
                        _ => format!("{{\"suffix\": {value}}}"),
                    };
                    format!("\"f{i}\": [{matcher}]")
                })
                .collect();
            let pattern = format!("{{\"detail\": {{{}}}}}", fields.join(", "));
            let filter = filter(&[&pattern]);
            let contains = |text: &[u8]| record.as_bytes().windows(text.len()).any(|w| w == text);
            let expected = filter.needs.escapes().iter().any(|e| contains(e))
                || filter.needs.could_match(|i| contains(&filter.needs.texts()[i]));
            proptest::prop_assert_eq!(
                filter.could_match(record.as_bytes(), &mut Vec::new()),
                expected,
                "{} in {}", pattern, record
            );
        }
    }

    #[test]
    fn an_escape_makes_any_record_a_candidate() {
        let filter = filter(&[r#"{"detail": {"a": ["x/y"]}}"#]);
        let mut held = Vec::new();
        assert!(filter.could_match(br#"{"a": "x\/y"}"#, &mut held));
        assert!(filter.could_match(br#"{"a": "\u0078/y"}"#, &mut held));
        assert!(!filter.could_match(br#"{"a": "x/z"}"#, &mut held));
    }
}
