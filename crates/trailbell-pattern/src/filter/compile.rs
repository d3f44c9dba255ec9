//! A filter pattern translated into an EventBridge event pattern on the record.
//!
//! The translation is always a *necessary* condition: every record the filter pattern matches, the
//! event pattern matches too. Where a part of the filter has no exact event-pattern form, it is left
//! out (which only widens the pattern) and the translation is marked inexact, so the caller checks
//! the candidates with the direct evaluator. Left out:
//!
//! - `NOT EXISTS` (`exists: false` also accepts objects and empty arrays), `[n]` and `[*]`
//!   selectors, `%regex%` and `!= *`;
//! - in one conjunction, a second condition under the same top-level property: EventBridge would
//!   ask for both in the same element of an array of objects, which the filter language does not;
//! - a disjunction any branch of which became empty (it is then no condition at all).

use serde_json::{Map, Value as Json, json};

use super::ast::{Cond, Expr, Step, Test, Value};

/// A translated conjunction: leaves and at most one `$or`, their top-level names disjoint.
#[derive(Debug, Default)]
struct Conj {
    leaves: Vec<(Vec<String>, Vec<Json>)>,
    or: Option<Vec<Conj>>,
}

impl Conj {
    fn is_empty(&self) -> bool {
        self.leaves.is_empty() && self.or.is_none()
    }

    /// The top-level property names this conjunction constrains.
    fn heads(&self) -> Vec<&str> {
        let mut heads: Vec<&str> = self
            .leaves
            .iter()
            .filter_map(|(path, _)| path.first().map(String::as_str))
            .collect();
        if let Some(branches) = &self.or {
            for branch in branches {
                heads.extend(branch.heads());
            }
        }
        heads
    }

    fn to_json(&self) -> Json {
        let mut object = Map::new();
        for (path, matchers) in &self.leaves {
            insert(&mut object, path, Json::Array(matchers.clone()));
        }
        if let Some(branches) = &self.or {
            object.insert(
                "$or".to_owned(),
                Json::Array(branches.iter().map(Conj::to_json).collect()),
            );
        }
        Json::Object(object)
    }
}

fn insert(object: &mut Map<String, Json>, path: &[String], leaf: Json) {
    match path {
        [] => {}
        [last] => {
            object.insert(last.clone(), leaf);
        }
        [head, rest @ ..] => {
            let entry = object
                .entry(head.clone())
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(inner) = entry {
                insert(inner, rest, leaf);
            }
        }
    }
}

/// The event pattern on the record (`None` when nothing could be kept: every record is a
/// candidate) and whether it is exact.
pub(crate) fn translate(expr: &Expr) -> (Option<Json>, bool) {
    let mut exact = true;
    let conj = conj_of(expr, &mut exact);
    if conj.is_empty() {
        (None, false)
    } else {
        (Some(conj.to_json()), exact)
    }
}

fn conj_of(expr: &Expr, exact: &mut bool) -> Conj {
    match expr {
        Expr::Cond(cond) => match leaf_of(cond) {
            Some(leaf) => Conj {
                leaves: vec![leaf],
                or: None,
            },
            None => {
                *exact = false;
                Conj::default()
            }
        },
        Expr::And(items) => {
            let mut out = Conj::default();
            for item in items {
                let part = conj_of(item, exact);
                merge_and(&mut out, part, exact);
            }
            out
        }
        Expr::Or(items) => {
            let mut branches = Vec::new();
            for item in items {
                let branch = conj_of(item, exact);
                if branch.is_empty() {
                    *exact = false;
                    return Conj::default();
                }
                // A branch that is itself only a disjunction joins this one.
                if branch.leaves.is_empty()
                    && let Some(inner) = branch.or
                {
                    branches.extend(inner);
                } else {
                    branches.push(branch);
                }
            }
            or_of(branches)
        }
    }
}

/// Adds `part`'s leaves and `$or` to `out`, leaving out what would share a top-level name.
fn merge_and(out: &mut Conj, part: Conj, exact: &mut bool) {
    for leaf in part.leaves {
        let head = leaf.0.first().map(String::as_str);
        if out.heads().iter().any(|h| Some(*h) == head) {
            *exact = false;
        } else {
            out.leaves.push(leaf);
        }
    }
    if let Some(branches) = part.or {
        let taken = out
            .heads()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        let clash = branches
            .iter()
            .flat_map(Conj::heads)
            .any(|h| taken.iter().any(|t| t == h));
        if out.or.is_some() || clash {
            *exact = false;
        } else {
            out.or = Some(branches);
        }
    }
}

/// A disjunction: one leaf with every branch's matchers when all branches are single leaves on
/// one path, else a `$or`.
fn or_of(branches: Vec<Conj>) -> Conj {
    let one_path = branches
        .first()
        .and_then(|b| single_leaf(b))
        .map(|(p, _)| p.clone());
    if let Some(path) = one_path
        && branches
            .iter()
            .all(|b| single_leaf(b).is_some_and(|(p, _)| *p == path))
    {
        let mut matchers = Vec::new();
        for branch in branches {
            for (_, list) in branch.leaves {
                for m in list {
                    if !matchers.contains(&m) {
                        matchers.push(m);
                    }
                }
            }
        }
        return Conj {
            leaves: vec![(path, matchers)],
            or: None,
        };
    }
    if branches.len() == 1 {
        return branches.into_iter().next().unwrap_or_default();
    }
    Conj {
        leaves: Vec::new(),
        or: Some(branches),
    }
}

fn single_leaf(conj: &Conj) -> Option<&(Vec<String>, Vec<Json>)> {
    match (conj.leaves.as_slice(), &conj.or) {
        ([leaf], None) => Some(leaf),
        _ => None,
    }
}

/// The exact event-pattern form of one condition, if it has one.
fn leaf_of(cond: &Cond) -> Option<(Vec<String>, Vec<Json>)> {
    let mut path = Vec::with_capacity(cond.selector.len());
    for step in &cond.selector {
        match step {
            // `$or` as a name would read as EventBridge's operator.
            Step::Field(name) if name != "$or" => path.push(name.clone()),
            _ => return None,
        }
    }
    let matcher = match &cond.test {
        Test::Equals { negated, value } => {
            let inner = match value {
                Value::Text(text) => json!(text),
                Value::Number(n) => number(*n)?,
                Value::Wildcard(parts) => json!({ "wildcard": wildcard(parts) }),
                Value::Any if !negated => return Some((path, vec![json!({"exists": true})])),
                Value::Any | Value::Regex(_) => return None,
            };
            match (negated, value) {
                (false, Value::Number(_)) => json!({"numeric": ["=", inner]}),
                (false, _) => inner,
                (true, _) => json!({ "anything-but": inner }),
            }
        }
        Test::Compare { op, number: n } => json!({"numeric": [op.symbol(), number(*n)?]}),
        Test::IsTrue => json!(true),
        Test::IsFalse => json!(false),
        Test::IsNull => Json::Null,
        Test::NotExists => return None,
    };
    Some((path, vec![matcher]))
}

fn number(n: f64) -> Option<Json> {
    serde_json::Number::from_f64(n).map(Json::Number)
}

/// EventBridge's wildcard text: stars between the parts, literal `*` and `\` escaped; runs of
/// stars are one star (EventBridge refuses `**`).
fn wildcard(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && !out.ends_with('*') {
            out.push('*');
        } else if i > 0 && part.is_empty() {
            continue;
        }
        for c in part.chars() {
            if c == '\\' || c == '*' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}
