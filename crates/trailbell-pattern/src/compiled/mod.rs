//! The compiled matcher: every rule's conjunctions filed under one predicate each, predicates
//! shared between rules and indexed by field path and value, so that an event costs one scan plus
//! the predicates its values actually satisfy, however many rules there are.

mod bytes_map;
mod check;
mod index;
mod literals;
pub use literals::TextRequirements;
mod paths;
mod scan;
mod skip;

use std::fmt;

use rustc_hash::FxHashMap;

use crate::ast::ObjectPattern;
use crate::dnf::{self, Predicate};
use crate::error::{EventError, PatternError};
use crate::event::lex::{number_value, unescape};
use crate::limits::Limits;
use crate::matchers::LeafValue;
use crate::parse::Pattern;
use check::Check;
use index::{PredicateId, ValueIndex};
use paths::{PathId, PathTrie};
use scan::{LeafKind, Scan};

/// The id of a rule: its position in the order rules were added.
///
/// ```
/// use trailbell_pattern::MatcherBuilder;
///
/// let mut builder = MatcherBuilder::new();
/// let first = builder.add_rule("first", "{}")?;
/// let second = builder.add_rule("second", "{}")?;
/// assert_eq!((first.index(), second.index()), (0, 1));
/// assert!(first < second);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(u32);

impl RuleId {
    pub(crate) fn from_index(index: usize) -> RuleId {
        RuleId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The position of the rule in the order rules were added.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// assert_eq!(builder.add_rule("only", "{}")?.index(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Collects named rules and compiles them into a [`Matcher`].
///
/// ```
/// use trailbell_pattern::MatcherBuilder;
///
/// let mut builder = MatcherBuilder::new();
/// builder.add_rule("stop-logging", r#"{"detail": {"eventName": ["StopLogging", "DeleteTrail"]}}"#)?;
/// let matcher = builder.build();
/// assert_eq!(matcher.rule_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MatcherBuilder {
    limits: Limits,
    rules: Vec<(String, Pattern)>,
}

impl MatcherBuilder {
    /// A builder with the default [`Limits`].
    ///
    /// ```
    /// let matcher = trailbell_pattern::MatcherBuilder::new().build();
    /// assert_eq!(matcher.rule_count(), 0);
    /// ```
    pub fn new() -> MatcherBuilder {
        MatcherBuilder::default()
    }

    /// A builder whose patterns are parsed with `limits`.
    ///
    /// ```
    /// use trailbell_pattern::{Limits, MatcherBuilder};
    ///
    /// let mut builder = MatcherBuilder::with_limits(Limits { max_pattern_chars: 100_000, ..Limits::default() });
    /// let long = format!(r#"{{"a": [{}]}}"#, vec!["1"; 3000].join(","));
    /// assert!(builder.add_rule("long", &long).is_ok());
    /// ```
    pub fn with_limits(limits: Limits) -> MatcherBuilder {
        MatcherBuilder {
            limits,
            rules: Vec::new(),
        }
    }

    /// Parses `pattern_json` and adds it under `name`. Names need not be unique; ids are.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// let err = builder.add_rule("typo", r#"{"source": [{"prefx": "aws."}]}"#).unwrap_err();
    /// assert_eq!(err.path(), "$.source[0].prefx");
    /// assert_eq!(err.rule(), Some("typo"));
    /// ```
    pub fn add_rule(&mut self, name: &str, pattern_json: &str) -> Result<RuleId, PatternError> {
        let pattern = Pattern::parse_with_limits(pattern_json, &self.limits)
            .map_err(|e| e.with_rule(name))?;
        Ok(self.add_pattern(name, pattern))
    }

    /// Adds a parsed pattern under `name`.
    ///
    /// ```
    /// use trailbell_pattern::{MatcherBuilder, Pattern};
    ///
    /// let mut builder = MatcherBuilder::new();
    /// let id = builder.add_pattern("any-event", Pattern::parse("{}")?);
    /// assert_eq!(builder.build().matches(b"{}")?, vec![id]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_pattern(&mut self, name: &str, pattern: Pattern) -> RuleId {
        let id = RuleId::from_index(self.rules.len());
        self.rules.push((name.to_owned(), pattern));
        id
    }

    /// Compiles the rules into one matcher.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// builder.add_rule("numbers", r#"{"size": [{"numeric": [">", 0, "<=", 5]}]}"#)?;
    /// let matcher = builder.build();
    /// assert_eq!(matcher.matching_rules(br#"{"size": 5}"#)?, ["numbers"]);
    /// assert!(matcher.matching_rules(br#"{"size": "5"}"#)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Matcher {
        let mut compiler = Compiler {
            paths: PathTrie::new(),
            ..Compiler::default()
        };
        let mut names = Vec::with_capacity(self.rules.len());
        for (index, (name, pattern)) in self.rules.into_iter().enumerate() {
            for conjunction in dnf::conjunctions(&pattern.root) {
                compiler.add_conjunction(RuleId::from_index(index), conjunction);
            }
            names.push(name.into_boxed_str());
        }
        compiler.finish(names)
    }
}

#[derive(Default)]
struct Compiler {
    paths: PathTrie,
    indexes: FxHashMap<PathId, ValueIndex>,
    predicate_ids: FxHashMap<String, PredicateId>,
    predicates: Vec<PredicateInfo>,
    conjunctions: Vec<Conjunction>,
}

/// What the conjunction check needs to know of a predicate.
#[derive(Clone, Debug)]
pub(crate) struct PredicateInfo {
    pub(crate) path: PathId,
    pub(crate) accepts_absence: bool,
    cost: u32,
}

/// One conjunction of one rule.
#[derive(Clone, Debug)]
pub(crate) struct Conjunction {
    pub(crate) rule: RuleId,
    /// Cheapest and rarest first, so that a failing check stops early.
    pub(crate) predicates: Box<[PredicateId]>,
    /// The reference form, for the rare events that only the reference semantics can settle.
    pub(crate) tree: ObjectPattern,
}

impl Compiler {
    fn add_conjunction(&mut self, rule: RuleId, predicates: Vec<Predicate>) {
        let tree = dnf::merged_tree(&predicates);
        let mut ids: Vec<PredicateId> = predicates.iter().map(|p| self.predicate(p)).collect();
        ids.sort_unstable();
        ids.dedup();
        self.conjunctions.push(Conjunction {
            rule,
            predicates: ids.into_boxed_slice(),
            tree,
        });
    }

    /// The id of a predicate, shared by every conjunction that names the same path and matchers.
    fn predicate(&mut self, predicate: &Predicate) -> PredicateId {
        let key = format!("{:?}|{:?}", predicate.path, predicate.matchers);
        if let Some(&id) = self.predicate_ids.get(&key) {
            return id;
        }
        let id = self.predicates.len() as PredicateId;
        let path = self.paths.insert(&predicate.path);
        let index = self.indexes.entry(path).or_default();
        for matcher in &predicate.matchers {
            index.add(matcher, id);
        }
        let cost = predicate
            .matchers
            .iter()
            .map(|m| m.selectivity_cost())
            .max()
            .unwrap_or(0);
        self.predicates.push(PredicateInfo {
            path,
            accepts_absence: predicate.accepts_absence(),
            cost,
        });
        self.predicate_ids.insert(key, id);
        id
    }

    fn finish(self, names: Vec<Box<str>>) -> Matcher {
        let mut uses = vec![0u32; self.predicates.len()];
        for conjunction in &self.conjunctions {
            for &p in conjunction.predicates.iter() {
                uses[p as usize] += 1;
            }
        }
        let rank = |p: PredicateId| {
            let info = &self.predicates[p as usize];
            (info.accepts_absence, info.cost, uses[p as usize], p)
        };
        let mut filed: Vec<Vec<Filed>> = vec![Vec::new(); self.predicates.len()];
        let mut unfiled = Vec::new();
        let mut conjunctions = self.conjunctions;
        for (c, conjunction) in conjunctions.iter_mut().enumerate() {
            let mut predicates = conjunction.predicates.to_vec();
            predicates.sort_by_key(|&p| rank(p));
            conjunction.predicates = predicates.into_boxed_slice();
            // Filed under its rarest predicate that needs a value to be satisfied.
            match *conjunction.predicates {
                // A conjunction of this one predicate holds whenever it is satisfied.
                [p] if !self.predicates[p as usize].accepts_absence => {
                    filed[p as usize].push(Filed::Holds(conjunction.rule))
                }
                [p, ..] if !self.predicates[p as usize].accepts_absence => {
                    filed[p as usize].push(Filed::Check(c as u32))
                }
                _ => unfiled.push(c as u32),
            }
        }
        // One array for every predicate's list: dense, so that a big matcher's lists share lines.
        let mut filed_starts = Vec::with_capacity(filed.len() + 1);
        filed_starts.push(0);
        for list in &filed {
            filed_starts.push(filed_starts[filed_starts.len() - 1] + list.len() as u32);
        }
        let filed = filed.concat();
        let mut indexes: Vec<Option<Box<ValueIndex>>> = vec![None; self.paths.len()];
        for (path, index) in self.indexes {
            indexes[path as usize] = Some(Box::new(index));
        }
        Matcher {
            names,
            paths: self.paths,
            indexes,
            predicates: self.predicates,
            conjunctions,
            filed_starts,
            filed,
            unfiled,
        }
    }
}

/// A conjunction filed under a predicate: what to do when an event satisfies the predicate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Filed {
    /// The conjunction is that predicate alone: its rule matches, with nothing more to look up.
    Holds(RuleId),
    /// Check the conjunction with this index.
    Check(u32),
}

/// Many rules compiled into one immutable matcher. It is `Send + Sync`: share it between threads
/// and give each thread its own [`Cache`].
///
/// ```
/// use trailbell_pattern::MatcherBuilder;
///
/// let mut builder = MatcherBuilder::new();
/// builder.add_rule("ssh-open-to-world", r#"{"detail": {"requestParameters": {"ipPermissions": {"items": {
///     "fromPort": [22], "ipRanges": {"items": {"cidrIp": ["0.0.0.0/0"]}}}}}}}"#)?;
/// let matcher = builder.build();
/// // Port 22 and 0.0.0.0/0 must be found in the same permission: here they are not.
/// let event = br#"{"detail": {"requestParameters": {"ipPermissions": {"items": [
///     {"fromPort": 22, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
///     {"fromPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}}}"#;
/// assert!(matcher.matching_rules(event)?.is_empty());
/// let event = br#"{"detail": {"requestParameters": {"ipPermissions": {"items": [
///     {"fromPort": 22, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]}}]}}}}"#;
/// assert_eq!(matcher.matching_rules(event)?, ["ssh-open-to-world"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Matcher {
    names: Vec<Box<str>>,
    paths: PathTrie,
    indexes: Vec<Option<Box<ValueIndex>>>,
    predicates: Vec<PredicateInfo>,
    conjunctions: Vec<Conjunction>,
    /// Per predicate `p`: the conjunctions filed under it are
    /// `filed[filed_starts[p]..filed_starts[p + 1]]`.
    filed_starts: Vec<u32>,
    filed: Vec<Filed>,
    /// Conjunctions with no predicate that needs a value: checked for every event.
    unfiled: Vec<u32>,
}

impl Matcher {
    /// The conjunctions filed under predicate `p`.
    pub(crate) fn filed_under(&self, p: PredicateId) -> &[Filed] {
        let p = p as usize;
        match (self.filed_starts.get(p), self.filed_starts.get(p + 1)) {
            (Some(&start), Some(&end)) => &self.filed[start as usize..end as usize],
            _ => &[],
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("rules", &self.names.len())
            .field("conjunctions", &self.conjunctions.len())
            .field("predicates", &self.predicates.len())
            .field("paths", &self.paths.len())
            .finish()
    }
}

/// The working memory of one matching thread, reused across events so that matching allocates
/// nothing in the steady state.
///
/// ```
/// let mut builder = trailbell_pattern::MatcherBuilder::new();
/// let id = builder.add_rule("a", r#"{"a": [1]}"#)?;
/// let matcher = builder.build();
/// let mut cache = matcher.new_cache();
/// let mut out = Vec::new();
/// for _ in 0..3 {
///     matcher.matches_with(&mut cache, br#"{"a": 1}"#, &mut out)?;
///     assert_eq!(out, [id]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cache {
    scan: Scan,
    check: Check,
    fold: String,
    unescaped: String,
}

impl Matcher {
    /// The number of rules.
    ///
    /// ```
    /// assert_eq!(trailbell_pattern::MatcherBuilder::new().build().rule_count(), 0);
    /// ```
    pub fn rule_count(&self) -> usize {
        self.names.len()
    }

    /// The name a rule was added under.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// let id = builder.add_rule("root-sign-in", "{}")?;
    /// assert_eq!(builder.build().rule_name(id), "root-sign-in");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rule_name(&self, id: RuleId) -> &str {
        self.names.get(id.index()).map_or("", |n| n)
    }

    /// Working memory sized for this matcher.
    ///
    /// ```
    /// let matcher = trailbell_pattern::MatcherBuilder::new().build();
    /// let mut cache = matcher.new_cache();
    /// let mut out = Vec::new();
    /// matcher.matches_with(&mut cache, b"{}", &mut out)?;
    /// assert!(out.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_cache(&self) -> Cache {
        let mut cache = Cache::default();
        cache.check.fit(self);
        cache
    }

    /// Every rule that matches the event, by id, in the order rules were added.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// let id = builder.add_rule("x", r#"{"x": [true]}"#)?;
    /// assert_eq!(builder.build().matches(br#"{"x": true}"#)?, vec![id]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, event: &[u8]) -> Result<Vec<RuleId>, EventError> {
        let mut cache = self.new_cache();
        let mut out = Vec::new();
        self.matches_with(&mut cache, event, &mut out)?;
        Ok(out)
    }

    /// The names of every rule that matches the event, in the order rules were added.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// builder.add_rule("b", r#"{"x": [{"exists": true}]}"#)?;
    /// builder.add_rule("a", r#"{"x": [{"exists": false}]}"#)?;
    /// let matcher = builder.build();
    /// assert_eq!(matcher.matching_rules(br#"{"x": null}"#)?, ["b"]);
    /// assert_eq!(matcher.matching_rules(br#"{"y": null}"#)?, ["a"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matching_rules(&self, event: &[u8]) -> Result<Vec<&str>, EventError> {
        Ok(self
            .matches(event)?
            .into_iter()
            .map(|id| self.rule_name(id))
            .collect())
    }

    /// Matches with reusable memory: clears `out`, then fills it with the ids of every matching
    /// rule, in the order rules were added.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// builder.add_rule("x", r#"{"x": [1]}"#)?;
    /// let matcher = builder.build();
    /// let (mut cache, mut out) = (matcher.new_cache(), Vec::new());
    /// assert!(matcher.matches_with(&mut cache, b"{\"x\": }", &mut out).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches_with(
        &self,
        cache: &mut Cache,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) -> Result<(), EventError> {
        self.run(cache, event, out, false)
    }

    /// Like [`matches_with`](Matcher::matches_with), for events the caller vouches are valid JSON
    /// with no repeated keys, for example because it wrote them with a JSON library. What no rule
    /// reads is skipped without being validated, and an object is left as soon as every field the
    /// rules name in it has been seen. On bytes that break the promise the answer may differ from
    /// `matches_with`'s, but matching still never panics.
    ///
    /// ```
    /// let mut builder = trailbell_pattern::MatcherBuilder::new();
    /// let id = builder.add_rule("x", r#"{"x": ["y"]}"#)?;
    /// let matcher = builder.build();
    /// let (mut cache, mut out) = (matcher.new_cache(), Vec::new());
    /// let event = br#"{"x": "y", "geometry": {"coordinates": [[1.5, 2.5], [3.5, 4.5]]}}"#;
    /// matcher.matches_trusted_with(&mut cache, event, &mut out)?;
    /// assert_eq!(out, [id]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches_trusted_with(
        &self,
        cache: &mut Cache,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) -> Result<(), EventError> {
        self.run(cache, event, out, true)
    }

    fn run(
        &self,
        cache: &mut Cache,
        event: &[u8],
        out: &mut Vec<RuleId>,
        trusted: bool,
    ) -> Result<(), EventError> {
        out.clear();
        cache.scan.run(event, &self.paths, trusted)?;
        cache.check.fit(self);
        cache.check.begin();
        self.evaluate_leaves(cache, event);
        cache.check.collect(self, &cache.scan, event, out);
        out.sort_unstable();
        Ok(())
    }

    /// Files every live leaf's satisfied predicates in the check state.
    fn evaluate_leaves(&self, cache: &mut Cache, event: &[u8]) {
        let Cache {
            scan,
            check,
            fold,
            unescaped,
        } = cache;
        for (leaf_id, leaf) in scan.leaves.iter().enumerate() {
            if !leaf.live {
                continue;
            }
            let trailed = leaf.trail_len > 0;
            check.saw_path(leaf.path, trailed);
            let Some(index) = self
                .indexes
                .get(leaf.path as usize)
                .and_then(Option::as_ref)
            else {
                continue;
            };
            let span = event
                .get(leaf.start as usize..leaf.end as usize)
                .unwrap_or_default();
            let mut hit = |p| check.satisfied(p, leaf_id as u32, trailed);
            let value = match leaf.kind {
                LeafKind::String => {
                    index.lookup_text(span, fold, &mut hit);
                    continue;
                }
                LeafKind::EscapedString => {
                    unescape(span, unescaped);
                    index.lookup_text(unescaped.as_bytes(), fold, &mut hit);
                    continue;
                }
                LeafKind::Number => LeafValue::Number(number_value(span)),
                LeafKind::True => LeafValue::Bool(true),
                LeafKind::False => LeafValue::Bool(false),
                LeafKind::Null => LeafValue::Null,
            };
            index.lookup(&value, fold, &mut hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_shared_between_threads_and_caches_move_to_them() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Matcher>();
        send_sync::<crate::Pattern>();
        send_sync::<crate::ReferenceMatcher>();
        send::<Cache>();

        let mut builder = MatcherBuilder::new();
        let id = builder
            .add_rule("x", r#"{"x": [{"prefix": "a"}]}"#)
            .expect("valid");
        let matcher = std::sync::Arc::new(builder.build());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let matcher = std::sync::Arc::clone(&matcher);
                std::thread::spawn(move || matcher.matches(br#"{"x": "abc"}"#))
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().expect("no panic"), Ok(vec![id]));
        }
    }
}
