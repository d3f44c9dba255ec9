//! The text a matching event must contain: for each conjunction, the literal strings one of its
//! predicates requires, as they are written in JSON. A reader can pass over an event that holds
//! none of them without reading it, as grep-like tools pass over lines by their literals.

use crate::ast::{FieldPattern, ObjectPattern};
use crate::matchers::{Literal, ValueMatcher};

use super::Matcher;

/// Escapes that could spell a value's characters other than as written (`\u0041` for `A`, `\/`
/// for `/`): an event holding one is always a candidate.
const UNICODE_ESCAPE: &[u8] = b"\\u";
const SOLIDUS_ESCAPE: &[u8] = b"\\/";

/// The text an event must hold to match any of a matcher's rules: see
/// [`Matcher::text_requirements`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextRequirements {
    texts: Vec<Vec<u8>>,
    /// Per conjunction: per predicate that names text, the texts any of which satisfies it.
    conjunctions: Vec<Box<[Box<[u32]>]>>,
    escapes: Vec<Vec<u8>>,
}

impl TextRequirements {
    /// The texts the rules name, each as it is written in JSON: a value's string with its quotes
    /// for exact values, the opening quote and the prefix for `prefix`, the suffix and the
    /// closing quote for `suffix`. Distinct, sorted.
    pub fn texts(&self) -> &[Vec<u8>] {
        &self.texts
    }

    /// Escapes (`\u`, and `\/` when a text holds `/`) that could spell a text otherwise than as
    /// [`texts`](TextRequirements::texts) writes it: an event that holds one may match whatever
    /// texts it holds. Empty when there are no texts.
    pub fn escapes(&self) -> &[Vec<u8>] {
        &self.escapes
    }

    /// Per conjunction (of a rule, or of a branch of its `$or`s): per predicate under the path,
    /// the indexes into [`texts`](TextRequirements::texts) any of which satisfies it. An event can
    /// match only if it holds, for some conjunction, a text of each of its predicates.
    pub fn conjunctions(&self) -> impl Iterator<Item = &[Box<[u32]>]> {
        self.conjunctions.iter().map(|predicates| &predicates[..])
    }

    /// Whether an event that holds none of the [`escapes`](TextRequirements::escapes) and holds
    /// text `i` of [`texts`](TextRequirements::texts) exactly when `holds(i)` could match a rule:
    /// false when every rule (every branch of its `$or`s) names a field whose texts it lacks.
    pub fn could_match(&self, holds: impl Fn(usize) -> bool) -> bool {
        self.conjunctions.iter().any(|predicates| {
            predicates
                .iter()
                .all(|texts| texts.iter().any(|&t| holds(t as usize)))
        })
    }
}

impl Matcher {
    /// What the JSON text of an event's member at `under` (a path of field names from the top;
    /// `&[]` for the whole event) must hold for the event to match any rule, or `None` when some
    /// rule can match with nothing to look for there, because it reads only other fields, or reads
    /// them only with matchers that name no text (numbers, `anything-but`, `exists`, `cidr`,
    /// `equals-ignore-case`, `wildcard`).
    ///
    /// A reader can pass over an event that cannot match without reading it, as grep-like tools
    /// pass over lines by their literals: one multi-string search tells which
    /// [`texts`](TextRequirements::texts) the event holds, and
    /// [`could_match`](TextRequirements::could_match) answers.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// builder.add_rule("root-sign-in", r#"{"source": ["aws.signin"],
    ///     "detail": {"eventName": ["ConsoleLogin"], "userIdentity": {"type": ["Root"]}}}"#)?;
    /// builder.add_rule("deletes", r#"{"detail": {"eventName": [{"prefix": "Delete"}]}}"#)?;
    /// let matcher = builder.build();
    /// let needs = matcher.text_requirements(&["detail"]).expect("every rule names text");
    /// assert_eq!(needs.texts(), [&b"\"ConsoleLogin\""[..], b"\"Delete", b"\"Root\""]);
    /// assert_eq!(needs.escapes(), [b"\\u"]);
    /// let holding = |held: &[&[u8]]| needs.could_match(|i| held.contains(&needs.texts()[i].as_slice()));
    /// assert!(holding(&[b"\"ConsoleLogin\"", b"\"Root\""]));
    /// assert!(!holding(&[b"\"ConsoleLogin\""]));
    /// assert!(holding(&[b"\"Delete"]));
    ///
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// builder.add_rule("numbers", r#"{"detail": {"port": [22]}}"#)?;
    /// assert_eq!(builder.build().text_requirements(&["detail"]), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text_requirements(&self, under: &[&str]) -> Option<TextRequirements> {
        let mut per_conjunction: Vec<Vec<Vec<Vec<u8>>>> = Vec::new();
        for conjunction in &self.conjunctions {
            let mut predicates = Vec::new();
            let mut path = Vec::new();
            visit_leaves(&conjunction.tree, &mut path, &mut |path, matchers| {
                if path.len() > under.len() && path.iter().zip(under).all(|(a, b)| a == b) {
                    predicates.extend(leaf_texts(matchers));
                }
            });
            if predicates.is_empty() {
                return None;
            }
            per_conjunction.push(predicates);
        }
        let mut texts: Vec<Vec<u8>> = per_conjunction
            .iter()
            .flatten()
            .flatten()
            .cloned()
            .collect();
        texts.sort_unstable();
        texts.dedup();
        let id = |text: &Vec<u8>| texts.binary_search(text).unwrap_or_default() as u32;
        let conjunctions = per_conjunction
            .iter()
            .map(|predicates| {
                predicates
                    .iter()
                    .map(|any| any.iter().map(id).collect())
                    .collect()
            })
            .collect();
        let mut escapes = Vec::new();
        if texts.iter().any(|text| text.contains(&b'/')) {
            escapes.push(SOLIDUS_ESCAPE.to_vec());
        }
        if !texts.is_empty() {
            escapes.push(UNICODE_ESCAPE.to_vec());
        }
        Some(TextRequirements {
            texts,
            conjunctions,
            escapes,
        })
    }
}

fn visit_leaves<'p>(
    pattern: &'p ObjectPattern,
    path: &mut Vec<&'p str>,
    visit: &mut impl FnMut(&[&'p str], &'p [ValueMatcher]),
) {
    for (name, field) in &pattern.fields {
        path.push(name);
        match field {
            FieldPattern::Leaf(matchers) => visit(path, matchers),
            FieldPattern::Object(object) => visit_leaves(object, path, visit),
        }
        path.pop();
    }
    // A conjunction's tree has no `$or` left; were there one, its branches would each need
    // their own text, so they are not looked into.
}

/// The texts one of which a value accepted by any of `matchers` is written with, or `None` when
/// one of them accepts a value with no text to look for.
fn leaf_texts(matchers: &[ValueMatcher]) -> Option<Vec<Vec<u8>>> {
    let mut texts = Vec::with_capacity(matchers.len());
    for matcher in matchers {
        let text = match matcher {
            ValueMatcher::Exact(Literal::String(value)) => json_string(value),
            ValueMatcher::Prefix(prefix) => {
                let mut text = json_string(prefix);
                text.pop();
                text
            }
            ValueMatcher::Suffix(suffix) => {
                let mut text = json_string(suffix);
                text.remove(0);
                text
            }
            _ => return None,
        };
        texts.push(text);
    }
    (!texts.is_empty()).then_some(texts)
}

/// `value` as serde_json writes a JSON string: quotes, and escapes only where JSON requires them.
fn json_string(value: &str) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::TextRequirements;
    use crate::MatcherBuilder;

    fn needs(patterns: &[&str], under: &[&str]) -> Option<TextRequirements> {
        let mut builder = MatcherBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            builder
                .add_rule(&format!("r{i}"), pattern)
                .expect("a valid pattern");
        }
        builder.build().text_requirements(under)
    }

    fn strings(texts: &[Vec<u8>]) -> Vec<String> {
        texts
            .iter()
            .map(|text| String::from_utf8(text.clone()).expect("UTF-8"))
            .collect()
    }

    /// Whether an event holding exactly `held` could match.
    fn could_match(needs: &TextRequirements, held: &[&str]) -> bool {
        needs.could_match(|i| held.iter().any(|h| h.as_bytes() == needs.texts()[i]))
    }

    #[test]
    fn every_predicate_of_a_conjunction_must_be_held() {
        let needs = needs(
            &[r#"{"detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["CreateUser", "DeleteUser"]}}"#],
            &["detail"],
        )
        .expect("texts");
        assert_eq!(
            strings(needs.texts()),
            [
                r#""CreateUser""#,
                r#""DeleteUser""#,
                r#""iam.amazonaws.com""#
            ]
        );
        assert!(could_match(
            &needs,
            &[r#""iam.amazonaws.com""#, r#""DeleteUser""#]
        ));
        assert!(!could_match(&needs, &[r#""iam.amazonaws.com""#]));
        assert!(!could_match(
            &needs,
            &[r#""CreateUser""#, r#""DeleteUser""#]
        ));
    }

    #[test]
    fn each_branch_of_an_or_is_a_conjunction_of_its_own() {
        let needs = needs(
            &[r#"{"detail": {"$or": [{"a": ["x/y"]}, {"b": [{"suffix": "\"z"}, {"prefix": "w"}]}]}}"#],
            &["detail"],
        )
        .expect("texts");
        assert_eq!(strings(needs.texts()), [r#""w"#, r#""x/y""#, r#"\"z""#]);
        assert_eq!(strings(needs.escapes()), [r"\/", r"\u"]);
        assert!(could_match(&needs, &[r#""x/y""#]));
        assert!(could_match(&needs, &[r#""w"#]));
        assert!(!could_match(&needs, &[]));
    }

    #[test]
    fn a_rule_with_nothing_to_look_for_under_the_path_leaves_none() {
        for pattern in [
            r#"{"source": ["aws.signin"]}"#,
            r#"{"detail": {"a": [{"anything-but": "x"}]}}"#,
            r#"{"detail": {"a": ["x", {"numeric": [">", 1]}]}}"#,
            r#"{"detail": {"a": [{"equals-ignore-case": "x"}]}}"#,
            r#"{"detail": {"a": [{"wildcard": "x*"}]}}"#,
            r#"{"detail": {"a": [{"exists": true}]}}"#,
            r#"{"detail": {"a": [true]}}"#,
        ] {
            assert_eq!(
                needs(&[r#"{"detail": {"b": ["y"]}}"#, pattern], &["detail"]),
                None,
                "{pattern}"
            );
        }
    }

    #[test]
    fn no_rules_can_match_nothing() {
        let needs = needs(&[], &["detail"]).expect("no rule to spoil it");
        assert!(needs.texts().is_empty() && needs.escapes().is_empty());
        assert!(!needs.could_match(|_| true));
    }

    #[test]
    fn the_whole_event_is_the_empty_path() {
        let needs = needs(&[r#"{"source": ["aws.signin"]}"#], &[]).expect("texts");
        assert_eq!(strings(needs.texts()), [r#""aws.signin""#]);
    }
}
