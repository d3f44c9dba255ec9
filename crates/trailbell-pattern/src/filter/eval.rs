//! The direct evaluator: a filter pattern walked over a parsed JSON record. It is the definition
//! of the language in trailbell (docs/decisions/0028-filter-pattern-semantics.md) and the oracle
//! the compiled form is tested against.

use serde_json::Value as Json;

use super::ast::{Cond, Expr, Step, Term, Terms, Test, Value};

pub(crate) fn expr_matches(expr: &Expr, record: &Json) -> bool {
    match expr {
        Expr::And(items) => items.iter().all(|e| expr_matches(e, record)),
        Expr::Or(items) => items.iter().any(|e| expr_matches(e, record)),
        Expr::Cond(cond) => cond_matches(cond, record),
    }
}

fn cond_matches(cond: &Cond, record: &Json) -> bool {
    let selected = select(record, &cond.selector);
    if let Test::NotExists = cond.test {
        return selected.is_empty();
    }
    let mut leaves = Vec::new();
    for value in selected {
        leaf_values(value, &mut leaves);
    }
    leaves.iter().any(|leaf| test_holds(&cond.test, leaf))
}

/// The values a selector reaches. A name step meeting an array is applied to each of its
/// elements (nested arrays flattened), as EventBridge does; `[n]` and `[*]` apply to arrays only.
pub(crate) fn select<'a>(record: &'a Json, steps: &[Step]) -> Vec<&'a Json> {
    let mut current = vec![record];
    for step in steps {
        let mut next = Vec::new();
        for value in current {
            match step {
                Step::Field(name) => field(value, name, &mut next),
                Step::Index(i) => {
                    if let Json::Array(items) = value
                        && let Some(item) = items.get(*i)
                    {
                        next.push(item);
                    }
                }
                Step::AnyIndex => {
                    if let Json::Array(items) = value {
                        next.extend(items.iter());
                    }
                }
            }
        }
        current = next;
    }
    current
}

fn field<'a>(value: &'a Json, name: &str, out: &mut Vec<&'a Json>) {
    match value {
        Json::Object(map) => out.extend(map.get(name)),
        Json::Array(items) => items.iter().for_each(|item| field(item, name, out)),
        _ => {}
    }
}

/// The scalars of a selected value: itself, or an array's scalars (flattened); objects have none.
fn leaf_values<'a>(value: &'a Json, out: &mut Vec<&'a Json>) {
    match value {
        Json::Array(items) => items.iter().for_each(|item| leaf_values(item, out)),
        Json::Object(_) => {}
        scalar => out.push(scalar),
    }
}

fn test_holds(test: &Test, leaf: &Json) -> bool {
    match test {
        Test::Equals { negated, value } => value_equals(value, leaf) != *negated,
        Test::Compare { op, number } => leaf.as_f64().is_some_and(|n| op.holds(n, *number)),
        Test::IsTrue => leaf == &Json::Bool(true),
        Test::IsFalse => leaf == &Json::Bool(false),
        Test::IsNull => leaf.is_null(),
        Test::NotExists => false,
    }
}

fn value_equals(value: &Value, leaf: &Json) -> bool {
    match value {
        Value::Any => true,
        Value::Number(n) => leaf.as_f64().is_some_and(|l| l == *n),
        Value::Text(text) => leaf.as_str() == Some(text.as_str()),
        Value::Wildcard(parts) => leaf.as_str().is_some_and(|s| wildcard_matches(parts, s)),
        Value::Regex(regex) => leaf.as_str().is_some_and(|s| regex.is_match(s)),
    }
}

/// Whether `text` is `parts` joined by runs of any characters (the first part a prefix, the last
/// a suffix).
pub(crate) fn wildcard_matches(parts: &[String], text: &str) -> bool {
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return true;
    };
    if parts.len() == 1 {
        return text == first;
    }
    let Some(mut rest) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some(middle_and_end) = parts.get(1..parts.len() - 1) else {
        return false;
    };
    for part in middle_and_end {
        match rest.find(part.as_str()) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last.as_str())
}

pub(crate) fn terms_match(terms: &Terms, message: &str) -> bool {
    let found = |term: &Term| match term {
        Term::Text(text) => message.contains(text.as_str()),
        Term::Regex(regex) => regex.is_match(message),
    };
    terms.all.iter().all(found)
        && (terms.any.is_empty() || terms.any.iter().any(found))
        && !terms.none.iter().any(found)
}
