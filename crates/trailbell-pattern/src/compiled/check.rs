//! The per-event check state: which predicates the event's values satisfied, and the conjunction
//! check that turns them into matching rules, array consistency included.

use super::index::PredicateId;
use super::paths::PathId;
use super::scan::{Leaf, Scan, TrailStep};
use super::{Filed, Matcher, RuleId};
use crate::event::tree::{self, Json};
use crate::reference;

const NO_LINK: u32 = u32::MAX;

/// Above this many leaf combinations, array consistency is settled by the reference semantics,
/// which is polynomial, instead of by search.
const MAX_SEARCH: usize = 4096;

/// Stamps equal to the current epoch mark "this event"; bumping the epoch clears them all at once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Check {
    epoch: u32,
    predicate_stamp: Vec<u32>,
    /// Stamped when a predicate was satisfied by a leaf outside any array of objects.
    predicate_untrailed: Vec<u32>,
    /// Per predicate: the first link of its list of satisfying leaves inside arrays of objects.
    predicate_leaves: Vec<u32>,
    links: Vec<(u32, u32)>,
    satisfied: Vec<PredicateId>,
    path_stamp: Vec<u32>,
    path_trailed: Vec<u32>,
    rule_stamp: Vec<u32>,
    need: Vec<PredicateId>,
    chosen: Vec<u32>,
    tree: Option<Option<Json>>,
}

impl Check {
    /// Sizes the state for a matcher (a cache may move between matchers).
    pub(crate) fn fit(&mut self, matcher: &Matcher) {
        let predicates = matcher.predicates.len();
        if self.predicate_stamp.len() < predicates {
            self.predicate_stamp.resize(predicates, 0);
            self.predicate_untrailed.resize(predicates, 0);
            self.predicate_leaves.resize(predicates, NO_LINK);
        }
        if self.path_stamp.len() < matcher.paths.len() {
            self.path_stamp.resize(matcher.paths.len(), 0);
            self.path_trailed.resize(matcher.paths.len(), 0);
        }
        if self.rule_stamp.len() < matcher.names.len() {
            self.rule_stamp.resize(matcher.names.len(), 0);
        }
    }

    pub(crate) fn begin(&mut self) {
        if self.epoch == u32::MAX {
            for stamps in [
                &mut self.predicate_stamp,
                &mut self.predicate_untrailed,
                &mut self.path_stamp,
                &mut self.path_trailed,
                &mut self.rule_stamp,
            ] {
                stamps.fill(0);
            }
            self.epoch = 0;
        }
        self.epoch += 1;
        self.satisfied.clear();
        self.links.clear();
        self.tree = None;
    }

    pub(crate) fn saw_path(&mut self, path: PathId, trailed: bool) {
        let path = path as usize;
        self.path_stamp[path] = self.epoch;
        if trailed {
            self.path_trailed[path] = self.epoch;
        }
    }

    pub(crate) fn satisfied(&mut self, predicate: PredicateId, leaf: u32, trailed: bool) {
        let p = predicate as usize;
        if self.predicate_stamp[p] != self.epoch {
            self.predicate_stamp[p] = self.epoch;
            self.predicate_leaves[p] = NO_LINK;
            self.satisfied.push(predicate);
        }
        if !trailed {
            self.predicate_untrailed[p] = self.epoch;
        } else if self.predicate_untrailed[p] != self.epoch {
            self.links.push((leaf, self.predicate_leaves[p]));
            self.predicate_leaves[p] = (self.links.len() - 1) as u32;
        }
    }

    /// Checks the conjunctions filed under the satisfied predicates, and the unfiled ones, and
    /// pushes each matching rule once.
    pub(crate) fn collect(
        &mut self,
        matcher: &Matcher,
        scan: &Scan,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) {
        let mut i = 0;
        while i < self.satisfied.len() {
            for &filed in matcher.filed_under(self.satisfied[i]) {
                match filed {
                    Filed::Holds(rule) => self.push_rule(rule, out),
                    Filed::Check(c) => self.try_conjunction(matcher, c, scan, event, out),
                }
            }
            i += 1;
        }
        for &c in &matcher.unfiled {
            self.try_conjunction(matcher, c, scan, event, out);
        }
    }

    fn try_conjunction(
        &mut self,
        matcher: &Matcher,
        c: u32,
        scan: &Scan,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) {
        let conjunction = &matcher.conjunctions[c as usize];
        let rule = conjunction.rule.index();
        if self.rule_stamp[rule] == self.epoch {
            return;
        }
        if self.conjunction_holds(matcher, c, scan, event) {
            self.rule_stamp[rule] = self.epoch;
            out.push(conjunction.rule);
        }
    }

    fn push_rule(&mut self, rule: RuleId, out: &mut Vec<RuleId>) {
        let stamp = &mut self.rule_stamp[rule.index()];
        if *stamp != self.epoch {
            *stamp = self.epoch;
            out.push(rule);
        }
    }

    fn conjunction_holds(&mut self, matcher: &Matcher, c: u32, scan: &Scan, event: &[u8]) -> bool {
        let conjunction = &matcher.conjunctions[c as usize];
        self.need.clear();
        for &p in conjunction.predicates.iter() {
            let info = &matcher.predicates[p as usize];
            let satisfied = self.predicate_stamp[p as usize] == self.epoch;
            if info.accepts_absence {
                let path = info.path as usize;
                if self.path_stamp[path] != self.epoch {
                    continue; // no value anywhere: absent in every array element too
                }
                if self.path_trailed[path] == self.epoch {
                    return self.by_reference(conjunction, event);
                }
                // Values outside arrays of objects are seen from every element: not absent.
                if !satisfied {
                    return false;
                }
                continue;
            }
            if !satisfied {
                return false;
            }
            if self.predicate_untrailed[p as usize] != self.epoch {
                self.need.push(p);
            }
        }
        if self.need.len() <= 1 {
            return true;
        }
        match self.consistent_choice(scan) {
            Some(found) => found,
            None => self.by_reference(conjunction, event),
        }
    }

    /// Whether one satisfying leaf per needed predicate can be chosen so that all lie in the same
    /// elements of every array they share. `None` when the search would be too large.
    fn consistent_choice(&mut self, scan: &Scan) -> Option<bool> {
        let mut combinations = 1usize;
        for &p in &self.need {
            let count = self.leaf_list(p).count();
            combinations = combinations.saturating_mul(count);
        }
        if combinations > MAX_SEARCH {
            return None;
        }
        self.chosen.clear();
        Some(self.search(scan, 0))
    }

    fn leaf_list(&self, p: PredicateId) -> impl Iterator<Item = u32> + '_ {
        let mut link = self.predicate_leaves[p as usize];
        std::iter::from_fn(move || {
            let (leaf, next) = *self.links.get(link as usize)?;
            link = next;
            Some(leaf)
        })
    }

    fn search(&mut self, scan: &Scan, depth: usize) -> bool {
        let Some(&p) = self.need.get(depth) else {
            return true;
        };
        let candidates: Vec<u32> = self.leaf_list(p).collect();
        for leaf in candidates {
            let fits = self.chosen.iter().all(|&other| {
                compatible(
                    scan,
                    &scan.leaves[leaf as usize],
                    &scan.leaves[other as usize],
                )
            });
            if fits {
                self.chosen.push(leaf);
                if self.search(scan, depth + 1) {
                    return true;
                }
                self.chosen.pop();
            }
        }
        false
    }

    fn by_reference(&mut self, conjunction: &super::Conjunction, event: &[u8]) -> bool {
        let tree = self.tree.get_or_insert_with(|| tree::parse(event).ok());
        tree.as_ref()
            .is_some_and(|t| reference::object_matches(&conjunction.tree, Some(t)))
    }
}

/// Two leaves are compatible unless some array holds them in different elements. Trails list
/// arrays outermost first, so shared arrays form a common prefix.
fn compatible(scan: &Scan, a: &Leaf, b: &Leaf) -> bool {
    let trail = |leaf: &Leaf| -> &[TrailStep] {
        let start = leaf.trail_start as usize;
        scan.trails
            .get(start..start + leaf.trail_len as usize)
            .unwrap_or(&[])
    };
    for (x, y) in trail(a).iter().zip(trail(b)) {
        if x.0 != y.0 {
            return true;
        }
        if x.1 != y.1 {
            return false;
        }
    }
    true
}
