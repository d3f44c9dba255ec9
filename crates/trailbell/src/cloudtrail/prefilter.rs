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
use serde_json::{Map, Value};
use trailbell_pattern::{Matcher, MatcherBuilder};

/// The texts that every match of a matcher's rules needs in a CloudTrail record.
///
/// ```
/// use trailbell::cloudtrail::{HeldTexts, RecordFilter};
///
/// let mut builder = trailbell_pattern::MatcherBuilder::new();
/// builder.add_rule("root-sign-in", r#"{"detail": {"eventName": ["ConsoleLogin"],
///     "userIdentity": {"type": ["Root"]}}}"#)?;
/// let filter = RecordFilter::for_matcher(&builder.build()).expect("the rule names text");
/// let mut held = HeldTexts::default();
/// let mut could_match = |record: &str| filter.could_match(record.as_bytes(), &mut held);
/// assert!(could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}"#));
/// assert!(could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "R\u006fot"}}"#));
/// assert!(!could_match(r#"{"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}}"#));
/// assert!(!could_match(r#"{"eventName": "ConsoleLoginX", "userIdentity": {"type": "Root"}}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RecordFilter {
    texts: Vec<Text>,
    conjunctions: Vec<Conjunction>,
    /// Finds the searched texts without their quotes (which would make every `"` of the record
    /// a candidate position); the quotes are checked at each find.
    searcher: Searcher,
    /// The texts searched for: those of each conjunction's first predicate.
    searched: Vec<u32>,
    /// Per byte, the searched texts whose body starts with it.
    by_first_byte: Vec<Vec<u32>>,
    escapes: Vec<memmem::Finder<'static>>,
}

/// One conjunction's predicates: the narrowest (whose texts the fewest conjunctions share, then
/// whose shortest text is longest, so that common words such as `s3` or `AwsApiCall` are not
/// searched for in every record) is searched for in every record; the others are looked for,
/// one text at a time, only where it was found.
#[derive(Clone, Debug)]
struct Conjunction {
    first: Box<[u32]>,
    rest: Box<[Box<[u32]>]>,
}

/// The working memory of [`RecordFilter::could_match`]: what the record at hand is known to hold.
#[derive(Clone, Debug, Default)]
pub struct HeldTexts(Vec<Held>);

/// What a record is known to hold of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// Not looked for yet.
    Unknown,
    /// Held.
    Yes,
    /// Not held.
    No,
}

/// One of the texts, as searched for.
#[derive(Clone, Debug)]
struct Text {
    body: Vec<u8>,
    /// A `"` right before the body.
    open: bool,
    /// A `"` right after it.
    close: bool,
    finder: memmem::Finder<'static>,
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
            finder: memmem::Finder::new(body).into_owned(),
        }
    }

    /// Whether the text occurs anywhere in `record`.
    fn occurs_in(&self, record: &[u8]) -> bool {
        self.finder
            .find_iter(record)
            .any(|at| self.is_at(record, at))
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
    /// The filter for rules with these event patterns (written over EventBridge envelopes, whose
    /// `detail` is the record), or `None` when some rule can match a record without any text to
    /// look for in it, or a pattern is not valid.
    ///
    /// The envelope's `source` and `detail-type` are made from the record's `eventSource` and
    /// `eventType`, so a pattern's exact values for them become texts of the record too:
    /// `"source": ["aws.signin"]` needs an `eventSource` that starts with `signin`, and
    /// `"detail-type": ["AWS Console Sign In via CloudTrail"]` the `eventType`
    /// `AwsConsoleSignIn`. Other envelope fields are left out, which only lets more records
    /// through.
    pub fn for_patterns<'p>(patterns: impl IntoIterator<Item = &'p str>) -> Option<RecordFilter> {
        let mut builder = MatcherBuilder::new();
        for (i, pattern) in patterns.into_iter().enumerate() {
            let pattern: serde_json::Value = serde_json::from_str(pattern).ok()?;
            let pattern = record_pattern(pattern.as_object()?);
            builder
                .add_rule(
                    &i.to_string(),
                    &serde_json::Value::Object(pattern).to_string(),
                )
                .ok()?;
        }
        RecordFilter::for_matcher(&builder.build())
    }

    /// The filter for `matcher`'s rules, or `None` when some rule can match a record without any
    /// text under `detail` to look for: it reads only envelope fields, or only with matchers that
    /// name no text. [`for_patterns`](RecordFilter::for_patterns) also reads `source` and
    /// `detail-type`.
    pub fn for_matcher(matcher: &Matcher) -> Option<RecordFilter> {
        let needs = matcher.text_requirements(&["detail"])?;
        let texts: Vec<Text> = needs.texts().iter().map(|text| Text::of(text)).collect();
        // How many conjunctions name each text: one that many rules share (`AwsApiCall`, the
        // event type behind most detail-types) is likely common in records too.
        let mut uses = vec![0usize; texts.len()];
        for predicates in needs.conjunctions() {
            for &t in predicates.iter().flatten() {
                uses[t as usize] += 1;
            }
        }
        let narrowness = |predicate: &[u32]| {
            let shared = predicate
                .iter()
                .map(|&t| uses[t as usize])
                .max()
                .unwrap_or(0);
            let shortest = predicate
                .iter()
                .map(|&t| texts[t as usize].body.len())
                .min()
                .unwrap_or(0);
            (
                std::cmp::Reverse(shared),
                shortest,
                std::cmp::Reverse(predicate.len()),
            )
        };
        let mut conjunctions = Vec::new();
        let mut searched = Vec::new();
        for predicates in needs.conjunctions() {
            let Some(first) = (0..predicates.len()).max_by_key(|&p| narrowness(&predicates[p]))
            else {
                continue;
            };
            searched.extend_from_slice(&predicates[first]);
            conjunctions.push(Conjunction {
                first: predicates[first].clone(),
                rest: (0..predicates.len())
                    .filter(|&p| p != first)
                    .map(|p| predicates[p].clone())
                    .collect(),
            });
        }
        searched.sort_unstable();
        searched.dedup();
        let searcher = Searcher::new(searched.iter().map(|&t| texts[t as usize].body.as_slice()))?;
        let mut by_first_byte = vec![Vec::new(); 256];
        for &t in &searched {
            if let Some(&first) = texts[t as usize].body.first() {
                by_first_byte[usize::from(first)].push(t);
            }
        }
        let escapes = needs
            .escapes()
            .iter()
            .map(|escape| memmem::Finder::new(escape).into_owned())
            .collect();
        Some(RecordFilter {
            texts,
            conjunctions,
            searcher,
            searched,
            by_first_byte,
            escapes,
        })
    }

    /// Whether a rule could match the record whose JSON is `record`: false only when it lacks the
    /// texts every rule needs. `held` is working memory, reused across calls.
    pub fn could_match(&self, record: &[u8], held: &mut HeldTexts) -> bool {
        let held = &mut held.0;
        if self
            .escapes
            .iter()
            .any(|escape| escape.find(record).is_some())
        {
            return true;
        }
        held.clear();
        held.resize(self.texts.len(), Held::Unknown);
        for &t in &self.searched {
            held[t as usize] = Held::No;
        }
        let (mut at, mut found) = (0, false);
        while let Some(start) = self.searcher.find(record, at) {
            for &t in &self.by_first_byte[usize::from(record[start])] {
                if self.texts[t as usize].is_at(record, start) {
                    held[t as usize] = Held::Yes;
                    found = true;
                }
            }
            at = start + 1;
        }
        if !found {
            // No conjunction's first predicate: most records end here.
            return false;
        }
        let mut holds = |t: u32| {
            let t = t as usize;
            if held[t] == Held::Unknown {
                held[t] = if self.texts[t].occurs_in(record) {
                    Held::Yes
                } else {
                    Held::No
                };
            }
            held[t] == Held::Yes
        };
        self.conjunctions.iter().any(|conjunction| {
            conjunction.first.iter().any(|&t| holds(t))
                && conjunction
                    .rest
                    .iter()
                    .all(|predicate| predicate.iter().any(|&t| holds(t)))
        })
    }
}

/// A pattern that a record's envelope can match only if the record matches it where it names
/// `detail`: `source` and `detail-type` rewritten as `detail.eventSource` and `detail.eventType`
/// where their values are exact strings CloudTrail gives (and dropped otherwise), the other
/// envelope fields dropped. Dropping a field only makes the pattern accept more.
fn record_pattern(pattern: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut derived = Map::new();
    for (name, value) in pattern {
        match name.as_str() {
            "detail" => {
                out.insert(name.clone(), value.clone());
            }
            "$or" => {
                let Some(branches) = value.as_array() else {
                    continue;
                };
                let branches: Option<Vec<Value>> = branches
                    .iter()
                    .map(|branch| branch.as_object().map(|b| Value::Object(record_pattern(b))))
                    .collect();
                if let Some(branches) = branches {
                    out.insert(name.clone(), Value::Array(branches));
                }
            }
            "source" => {
                let services = exact_strings(value).and_then(|sources| {
                    sources
                        .iter()
                        .map(|source| source.strip_prefix("aws.").filter(|s| !s.contains('.')))
                        .map(|service| service.map(|s| serde_json::json!({"prefix": s})))
                        .collect::<Option<Vec<Value>>>()
                });
                if let Some(services) = services {
                    derived.insert("eventSource".to_owned(), Value::Array(services));
                }
            }
            "detail-type" => {
                let types = exact_strings(value).and_then(|names| {
                    names
                        .iter()
                        .map(|name| {
                            super::envelope::event_type_of(name)
                                .map(|t| Value::String(t.to_owned()))
                        })
                        .collect::<Option<Vec<Value>>>()
                });
                if let Some(types) = types {
                    derived.insert("eventType".to_owned(), Value::Array(types));
                }
            }
            _ => {}
        }
    }
    if !derived.is_empty() {
        match out.get_mut("detail") {
            Some(Value::Object(detail)) => {
                for (name, value) in derived {
                    // A rule that names the field itself already says more.
                    detail.entry(name).or_insert(value);
                }
            }
            Some(_) => {}
            None => {
                out.insert("detail".to_owned(), Value::Object(derived));
            }
        }
    }
    out
}

/// The values of a pattern field when all are exact strings.
fn exact_strings(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::Array(values) => values.iter().map(Value::as_str).collect(),
        _ => None,
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
        teddy.extend(bodies.clone());
        if let Some(teddy) = teddy.build() {
            return Some(Searcher::Teddy(teddy));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(bodies)
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

    fn matcher(patterns: &[&str]) -> Matcher {
        let mut builder = MatcherBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            builder
                .add_rule(&format!("r{i}"), pattern)
                .expect("a valid pattern");
        }
        builder.build()
    }

    fn filter(patterns: &[&str]) -> RecordFilter {
        RecordFilter::for_matcher(&matcher(patterns)).expect("texts to look for")
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
        let mut held = HeldTexts::default();
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
        let mut held = HeldTexts::default();
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
            let matcher = matcher(&[&pattern]);
            let filter = RecordFilter::for_matcher(&matcher).expect("texts to look for");
            let needs = matcher.text_requirements(&["detail"]).expect("texts");
            let contains = |text: &[u8]| record.as_bytes().windows(text.len()).any(|w| w == text);
            let expected = needs.escapes().iter().any(|e| contains(e))
                || needs.could_match(|i| contains(&needs.texts()[i]));
            proptest::prop_assert_eq!(
                filter.could_match(record.as_bytes(), &mut HeldTexts::default()),
                expected,
                "{} in {}", pattern, record
            );
        }
    }

    fn record_filter(patterns: &[&str]) -> Option<RecordFilter> {
        RecordFilter::for_patterns(patterns.iter().copied())
    }

    #[test]
    fn source_and_detail_type_are_read_from_event_source_and_event_type() {
        let filter = record_filter(&[r#"{"source": ["aws.signin"],
            "detail-type": ["AWS Console Sign In via CloudTrail"]}"#])
        .expect("texts");
        let mut held = HeldTexts::default();
        let mut could_match = |record: &str| filter.could_match(record.as_bytes(), &mut held);
        assert!(could_match(
            r#"{"eventSource": "signin.amazonaws.com", "eventType": "AwsConsoleSignIn"}"#
        ));
        assert!(!could_match(
            r#"{"eventSource": "ec2.amazonaws.com", "eventType": "AwsConsoleSignIn"}"#
        ));
        assert!(!could_match(
            r#"{"eventSource": "signin.amazonaws.com", "eventType": "AwsApiCall"}"#
        ));
    }

    #[test]
    fn envelope_fields_that_name_no_record_text_are_left_out() {
        // Only envelope fields the record cannot spell: nothing to look for.
        assert!(record_filter(&[r#"{"source": [{"prefix": "aws."}]}"#]).is_none());
        assert!(record_filter(&[r#"{"account": ["111122223333"]}"#]).is_none());
        assert!(record_filter(&[r#"{"detail-type": ["Scheduled Event"]}"#]).is_none());
        // Left out, the rest still counts; a rule's own eventSource is kept.
        let filter = record_filter(&[
            r#"{"detail-type": ["Scheduled Event"], "detail": {"a": ["x"]}}"#,
            r#"{"source": ["aws.s3"], "detail": {"eventSource": ["other"], "b": ["y"]}}"#,
        ])
        .expect("texts");
        let mut held = HeldTexts::default();
        assert!(filter.could_match(br#"{"a": "x"}"#, &mut held));
        assert!(filter.could_match(br#"{"eventSource": "other", "b": "y"}"#, &mut held));
        assert!(!filter.could_match(
            br#"{"eventSource": "s3.amazonaws.com", "b": "y"}"#,
            &mut held
        ));
        // Invalid patterns give no filter.
        assert!(record_filter(&["[]"]).is_none());
    }

    #[test]
    fn every_sample_event_the_pack_matches_is_a_candidate() {
        let rules = crate::rules::RulePack::builtin()
            .compile()
            .expect("the built-in pack");
        let filter = RecordFilter::for_patterns(
            rules.rules().iter().map(|rule| rule.event_pattern.as_str()),
        )
        .expect("the pack names text");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/envelopes");
        let (mut matching, mut passed) = (0, 0);
        let mut held = HeldTexts::default();
        for entry in std::fs::read_dir(dir).expect("envelopes") {
            let text = std::fs::read(entry.expect("entry").path()).expect("an envelope");
            let envelope: Value = serde_json::from_slice(&text).expect("JSON");
            let record = serde_json::to_vec(&envelope["detail"]).expect("JSON");
            let could_match = filter.could_match(&record, &mut held);
            if !rules.matcher().matches(&text).expect("valid").is_empty() {
                matching += 1;
                assert!(could_match, "{envelope}");
            } else if !could_match {
                passed += 1;
            }
        }
        assert!(
            matching >= 10 && passed >= 1,
            "{matching} matching, {passed} passed over"
        );
    }

    #[test]
    fn an_escape_makes_any_record_a_candidate() {
        let filter = filter(&[r#"{"detail": {"a": ["x/y"]}}"#]);
        let mut held = HeldTexts::default();
        assert!(filter.could_match(br#"{"a": "x\/y"}"#, &mut held));
        assert!(filter.could_match(br#"{"a": "\u0078/y"}"#, &mut held));
        assert!(!filter.could_match(br#"{"a": "x/z"}"#, &mut held));
    }
}
