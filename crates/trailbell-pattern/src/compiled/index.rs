//! The value index of one field path: every predicate on that path, filed so that one leaf value
//! finds the predicates it satisfies without a pass over all of them.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::bytes_map::BytesMap;
use crate::matchers::{LeafValue, Literal, ValueMatcher, fold_case};

/// A predicate's index in the compiled matcher.
pub(crate) type PredicateId = u32;

/// A byte trie: walking a value's bytes (or their reverse, for suffixes) meets every stored prefix.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trie {
    nodes: Vec<TrieNode>,
}

#[derive(Clone, Debug, Default)]
struct TrieNode {
    /// Sorted by byte.
    edges: Vec<(u8, u32)>,
    predicates: Vec<PredicateId>,
}

impl Trie {
    fn insert(&mut self, key: impl Iterator<Item = u8>, predicate: PredicateId) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut at = 0usize;
        for byte in key {
            let next = match self.nodes[at].edges.binary_search_by_key(&byte, |e| e.0) {
                Ok(i) => self.nodes[at].edges[i].1 as usize,
                Err(i) => {
                    let id = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[at].edges.insert(i, (byte, id as u32));
                    id
                }
            };
            at = next;
        }
        push_unique(&mut self.nodes[at].predicates, predicate);
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Calls `hit` for every predicate whose key is a prefix of `key`.
    fn walk(&self, key: impl Iterator<Item = u8>, hit: &mut impl FnMut(PredicateId)) {
        let Some(root) = self.nodes.first() else {
            return;
        };
        root.predicates.iter().for_each(|&p| hit(p));
        let mut node = root;
        for byte in key {
            match node.edges.binary_search_by_key(&byte, |e| e.0) {
                Ok(i) => node = &self.nodes[node.edges[i].1 as usize],
                Err(_) => return,
            }
            node.predicates.iter().for_each(|&p| hit(p));
        }
    }
}

/// Everything the predicates of one path ask of its leaf values.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueIndex {
    strings: BytesMap<Predicates>,
    numbers: FxHashMap<u64, Predicates>,
    trues: Vec<PredicateId>,
    falses: Vec<PredicateId>,
    nulls: Vec<PredicateId>,
    /// Lowercased values.
    ignore_case: BytesMap<Predicates>,
    prefixes: Trie,
    prefixes_ignore_case: Trie,
    /// Keyed by the suffix's bytes reversed.
    suffixes: Trie,
    suffixes_ignore_case: Trie,
    /// Matchers with no index of their own, tried on every value.
    scanned: Vec<(ValueMatcher, PredicateId)>,
    /// `exists: true`: satisfied by any value.
    exists: Vec<PredicateId>,
}

impl ValueIndex {
    pub(crate) fn add(&mut self, matcher: &ValueMatcher, predicate: PredicateId) {
        match matcher {
            ValueMatcher::Exact(Literal::String(s)) => self.add_string(s, predicate),
            ValueMatcher::Exact(Literal::Number(n)) => self.add_number(*n, predicate),
            ValueMatcher::Exact(Literal::Bool(true)) => push_unique(&mut self.trues, predicate),
            ValueMatcher::Exact(Literal::Bool(false)) => push_unique(&mut self.falses, predicate),
            ValueMatcher::Exact(Literal::Null) => push_unique(&mut self.nulls, predicate),
            ValueMatcher::Numeric(range) => match (range.lower, range.upper) {
                (Some(l), Some(u)) if l == u => self.add_number(l.value, predicate),
                _ => self.scanned.push((matcher.clone(), predicate)),
            },
            ValueMatcher::EqualsIgnoreCase(s) => {
                self.ignore_case.entry(s.as_bytes()).add(predicate)
            }
            ValueMatcher::Prefix(p) => self.prefixes.insert(p.bytes(), predicate),
            ValueMatcher::PrefixIgnoreCase(p) => {
                self.prefixes_ignore_case.insert(p.bytes(), predicate)
            }
            ValueMatcher::Suffix(s) => self.suffixes.insert(s.bytes().rev(), predicate),
            ValueMatcher::SuffixIgnoreCase(s) => {
                self.suffixes_ignore_case.insert(s.bytes().rev(), predicate)
            }
            ValueMatcher::Wildcard(w) => match w.exact_text() {
                Some(text) => self.add_string(text, predicate),
                None => self.scanned.push((matcher.clone(), predicate)),
            },
            ValueMatcher::Exists(true) => push_unique(&mut self.exists, predicate),
            // Absence is judged per path by the conjunction check, not per value.
            ValueMatcher::Exists(false) => {}
            ValueMatcher::AnythingBut(_) | ValueMatcher::Cidr(_) => {
                self.scanned.push((matcher.clone(), predicate))
            }
        }
    }

    fn add_string(&mut self, s: &str, predicate: PredicateId) {
        self.strings.entry(s.as_bytes()).add(predicate);
    }

    fn add_number(&mut self, n: f64, predicate: PredicateId) {
        self.numbers
            .entry(number_key(n))
            .or_default()
            .add(predicate);
    }

    /// Calls `hit` for every predicate that this one value satisfies (`exists: true` included).
    pub(crate) fn lookup(
        &self,
        value: &LeafValue<'_>,
        fold_buffer: &mut String,
        hit: &mut impl FnMut(PredicateId),
    ) {
        let found = match value {
            LeafValue::String(s) => return self.lookup_text(s.as_bytes(), fold_buffer, hit),
            LeafValue::Number(n) => self.numbers.get(&number_key(*n)).map(Predicates::as_slice),
            LeafValue::Bool(true) => Some(self.trues.as_slice()),
            LeafValue::Bool(false) => Some(self.falses.as_slice()),
            LeafValue::Null => Some(self.nulls.as_slice()),
        };
        self.exists.iter().for_each(|&p| hit(p));
        found.unwrap_or_default().iter().for_each(|&p| hit(p));
        for (matcher, p) in &self.scanned {
            if matcher.accepts(value) {
                hit(*p);
            }
        }
    }

    /// [`ValueIndex::lookup`] of a string given as its UTF-8 bytes: exact values, prefixes and
    /// suffixes are compared as bytes, and only the scanned matchers see it as text. (Bytes that
    /// are not UTF-8, which only the trusted reading lets through, are text `""` to those.)
    pub(crate) fn lookup_text(
        &self,
        text: &[u8],
        fold_buffer: &mut String,
        hit: &mut impl FnMut(PredicateId),
    ) {
        self.exists.iter().for_each(|&p| hit(p));
        if let Some(found) = self.strings.get(text) {
            found.as_slice().iter().for_each(|&p| hit(p));
        }
        self.prefixes.walk(text.iter().copied(), hit);
        self.suffixes.walk(text.iter().rev().copied(), hit);
        if !(self.ignore_case.is_empty()
            && self.prefixes_ignore_case.is_empty()
            && self.suffixes_ignore_case.is_empty())
        {
            fold_buffer.clear();
            if text.is_ascii() {
                // Byte by byte: short values are copied faster than a call to memcpy.
                fold_buffer.extend(text.iter().map(|&b| char::from(b.to_ascii_lowercase())));
            } else {
                fold_buffer.push_str(&fold_case(std::str::from_utf8(text).unwrap_or_default()));
            }
            let folded = fold_buffer.as_bytes();
            if let Some(found) = self.ignore_case.get(folded) {
                found.as_slice().iter().for_each(|&p| hit(p));
            }
            self.prefixes_ignore_case.walk(folded.iter().copied(), hit);
            self.suffixes_ignore_case
                .walk(folded.iter().rev().copied(), hit);
        }
        if !self.scanned.is_empty() {
            let value =
                LeafValue::String(Cow::Borrowed(std::str::from_utf8(text).unwrap_or_default()));
            for (matcher, p) in &self.scanned {
                if matcher.accepts(&value) {
                    hit(*p);
                }
            }
        }
    }
}

/// The predicates one indexed value satisfies. Most values belong to one predicate, held here
/// without a pointer to follow.
#[derive(Clone, Debug, Default)]
pub(crate) enum Predicates {
    #[default]
    None,
    One(PredicateId),
    Many(Vec<PredicateId>),
}

impl Predicates {
    fn add(&mut self, predicate: PredicateId) {
        match self {
            Predicates::None => *self = Predicates::One(predicate),
            Predicates::One(p) if *p != predicate => *self = Predicates::Many(vec![*p, predicate]),
            Predicates::One(_) => {}
            Predicates::Many(list) => push_unique(list, predicate),
        }
    }

    pub(crate) fn as_slice(&self) -> &[PredicateId] {
        match self {
            Predicates::None => &[],
            Predicates::One(p) => std::slice::from_ref(p),
            Predicates::Many(list) => list,
        }
    }
}

/// Numbers equal by value share a key: `-0` is keyed as `0`.
fn number_key(n: f64) -> u64 {
    (n + 0.0).to_bits()
}

fn push_unique(list: &mut Vec<PredicateId>, predicate: PredicateId) {
    if !list.contains(&predicate) {
        list.push(predicate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_lists_each_of_its_predicates_once() {
        let mut predicates = Predicates::default();
        assert_eq!(predicates.as_slice(), &[] as &[PredicateId]);
        for (p, expected) in [
            (7, &[7][..]),
            (7, &[7]),
            (3, &[7, 3]),
            (7, &[7, 3]),
            (9, &[7, 3, 9]),
            (3, &[7, 3, 9]),
        ] {
            predicates.add(p);
            assert_eq!(predicates.as_slice(), expected);
        }
    }
}
