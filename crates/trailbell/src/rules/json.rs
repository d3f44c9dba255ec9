//! JSON rules files: one object of rule name to event pattern, validated and compiled into one
//! matcher. This is the format `trailbell match --rules` reads.
//!
//! ```
//! use trailbell::rules::RuleSet;
//!
//! let rules = RuleSet::from_json(r#"{
//!     "root-sign-in": {"detail": {"userIdentity": {"type": ["Root"]}}},
//!     "any-sign-in": {"source": ["aws.signin"]}
//! }"#)?;
//! let event = br#"{"source": "aws.signin", "detail": {"userIdentity": {"type": "Root"}}}"#;
//! assert_eq!(rules.matching_rules(event)?, vec!["any-sign-in", "root-sign-in"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use trailbell_pattern::{EventError, Matcher, MatcherBuilder};

use super::error::{RuleProblem, RulesError};

/// Named rules compiled into one immutable matcher.
pub struct RuleSet {
    matcher: Matcher,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet").finish_non_exhaustive()
    }
}

impl RuleSet {
    /// Reads a rules file's text: a JSON object whose keys are rule names and whose values are event
    /// patterns.
    ///
    /// Every rule is validated before anything is returned, so one error lists every invalid rule.
    /// Each pattern reaches the engine as the exact text written in the file.
    ///
    /// ```
    /// use trailbell::rules::{RuleSet, RulesError};
    ///
    /// let err = RuleSet::from_json(r#"{"a": [], "b": {"source": "x"}, "c": {}}"#).unwrap_err();
    /// let RulesError::InvalidRules(problems) = err else { panic!("{err}") };
    /// let names: Vec<&str> = problems.iter().map(|p| p.rule()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn from_json(text: &str) -> Result<RuleSet, RulesError> {
        let RuleEntries(mut entries) = serde_json::from_str(text).map_err(RulesError::Json)?;
        // Rule ids follow insertion order, and `Matcher::matching_rules` returns names in id order:
        // adding the rules sorted by name makes every answer sorted by name at no cost per event.
        // The sort is stable, so of two rules with one name the first in the file comes first.
        entries.sort_by(|a, b| a.0.cmp(&b.0));

        let mut builder = MatcherBuilder::new();
        let mut problems = Vec::new();
        let mut previous: Option<&str> = None;
        for (name, pattern) in &entries {
            if previous == Some(name.as_str()) {
                problems.push(RuleProblem::DuplicateName(name.clone()));
                continue;
            }
            previous = Some(name);
            if let Err(err) = builder.add_rule(name, pattern.get()) {
                problems.push(RuleProblem::Pattern(err));
            }
        }
        if !problems.is_empty() {
            return Err(RulesError::InvalidRules(problems));
        }
        Ok(RuleSet {
            matcher: builder.build(),
        })
    }

    /// The names of the rules that match `event`, sorted.
    ///
    /// Fails only when the event is not a JSON object.
    pub fn matching_rules(&self, event: &[u8]) -> Result<Vec<&str>, EventError> {
        let names = self.matcher.matching_rules(event)?;
        debug_assert!(names.is_sorted());
        Ok(names)
    }
}

/// A rules file's entries in file order, each pattern kept as its exact text.
struct RuleEntries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RuleEntries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = RuleEntries<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of rule names to event patterns")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(RuleEntries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<RuleProblem> {
        match RuleSet::from_json(text) {
            Err(RulesError::InvalidRules(problems)) => problems,
            other => panic!("expected invalid rules, got {other:?}"),
        }
    }

    #[test]
    fn matching_rules_are_sorted_by_name_whatever_the_file_order() {
        let rules = RuleSet::from_json(
            r#"{"zeta": {"source": ["a"]}, "alpha": {"source": ["a"]}, "mid": {"source": [{"prefix": "a"}]}}"#,
        )
        .expect("valid rules");
        assert_eq!(
            rules
                .matching_rules(br#"{"source": "a"}"#)
                .expect("valid event"),
            ["alpha", "mid", "zeta"]
        );
        assert!(
            rules
                .matching_rules(br#"{"source": "b"}"#)
                .expect("valid event")
                .is_empty()
        );
    }

    #[test]
    fn empty_object_is_an_empty_rule_set() {
        let rules = RuleSet::from_json("{}").expect("valid rules");
        assert!(rules.matching_rules(b"{}").expect("valid event").is_empty());
    }

    #[test]
    fn every_invalid_rule_is_reported_at_once() {
        let found = problems(
            r#"{"ok": {"source": ["a"]}, "not-object": [1], "bad-prefix": {"source": [{"prefix": 5}]}}"#,
        );
        let names: Vec<&str> = found.iter().map(RuleProblem::rule).collect();
        assert_eq!(names, ["bad-prefix", "not-object"]);
        let text = RulesError::InvalidRules(found).to_string();
        assert!(
            text.starts_with("2 invalid rules:\n  rule \"bad-prefix\": "),
            "{text}"
        );
        assert!(text.contains("(at $.source[0].prefix)"), "{text}");
    }

    #[test]
    fn duplicate_rule_names_are_invalid() {
        let found = problems(r#"{"a": {"source": ["x"]}, "b": {}, "a": {"source": ["y"]}}"#);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].to_string(), r#"rule "a": duplicate rule name"#);
    }

    #[test]
    fn a_rules_file_must_be_a_json_object() {
        for text in ["[]", "1", "\"x\"", "", "{\"a\": {}", "{} {}"] {
            assert!(
                matches!(RuleSet::from_json(text), Err(RulesError::Json(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn patterns_reach_the_engine_as_written() {
        // Serialising a parsed `serde_json::Value` back would keep only the last of duplicate keys;
        // the raw text lets the engine judge the pattern exactly as written.
        let rules = RuleSet::from_json(r#"{"r": {"source": ["a"], "source": ["b"]}}"#);
        let direct = MatcherBuilder::new().add_rule("r", r#"{"source": ["a"], "source": ["b"]}"#);
        assert_eq!(rules.is_ok(), direct.is_ok());
    }

    #[test]
    fn control_characters_in_rule_names_cannot_break_the_report() {
        let text = RulesError::InvalidRules(problems("{\"evil\\n\\u001b[31m\": [1]}")).to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
