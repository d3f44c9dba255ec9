//! `$or` expanded away: a pattern becomes a list of conjunctions, each a list of predicates on
//! field paths, merged by path as event-ruler merges them (so array consistency spans `$or` branches
//! and their siblings).

use crate::ast::{FieldPattern, ObjectPattern};
use crate::matchers::ValueMatcher;

/// One field path and the matchers any of which must accept it.
#[derive(Clone, Debug)]
pub(crate) struct Predicate {
    pub(crate) path: Vec<Box<str>>,
    pub(crate) matchers: Vec<ValueMatcher>,
}

impl Predicate {
    pub(crate) fn accepts_absence(&self) -> bool {
        self.matchers.contains(&ValueMatcher::Exists(false))
    }
}

/// The conjunctions of a pattern: it matches when any one of them does.
pub(crate) fn conjunctions(pattern: &ObjectPattern) -> Vec<Vec<Predicate>> {
    expand(pattern, &[])
}

fn expand(pattern: &ObjectPattern, prefix: &[Box<str>]) -> Vec<Vec<Predicate>> {
    let mut result: Vec<Vec<Predicate>> = vec![Vec::new()];
    for (name, field) in &pattern.fields {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        match field {
            FieldPattern::Leaf(matchers) => {
                for conjunction in &mut result {
                    conjunction.push(Predicate {
                        path: path.clone(),
                        matchers: matchers.clone(),
                    });
                }
            }
            FieldPattern::Object(inner) => result = cross(&result, &expand(inner, &path)),
        }
    }
    for branches in &pattern.ors {
        let alternatives: Vec<Vec<Predicate>> =
            branches.iter().flat_map(|b| expand(b, prefix)).collect();
        result = cross(&result, &alternatives);
    }
    result
}

fn cross(left: &[Vec<Predicate>], right: &[Vec<Predicate>]) -> Vec<Vec<Predicate>> {
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            out.push(l.iter().chain(r).cloned().collect());
        }
    }
    out
}

/// A conjunction as a pattern tree with no `$or`, fields merged by path: what the reference
/// semantics evaluates.
pub(crate) fn merged_tree(predicates: &[Predicate]) -> ObjectPattern {
    let mut root = ObjectPattern::default();
    for predicate in predicates {
        insert(&mut root, &predicate.path, &predicate.matchers);
    }
    root
}

fn insert(node: &mut ObjectPattern, path: &[Box<str>], matchers: &[ValueMatcher]) {
    match path {
        [] => {}
        [last] => node
            .fields
            .push((last.clone(), FieldPattern::Leaf(matchers.to_vec()))),
        [name, rest @ ..] => {
            let existing = node.fields.iter_mut().find_map(|(n, f)| match f {
                FieldPattern::Object(inner) if n == name => Some(inner),
                _ => None,
            });
            match existing {
                Some(inner) => insert(inner, rest, matchers),
                None => {
                    let mut inner = ObjectPattern::default();
                    insert(&mut inner, rest, matchers);
                    node.fields
                        .push((name.clone(), FieldPattern::Object(inner)));
                }
            }
        }
    }
}
