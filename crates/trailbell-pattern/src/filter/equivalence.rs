//! Whether two filter patterns say the same thing, decided on their parsed form: what Security
//! Hub's CloudWatch.1-14 controls need of a metric filter, without holding its text to the
//! letter (spacing, quotes, parentheses, order and repetition of conditions do not count).
//!
//! Each condition gets a canonical key (its selector and its test, the value as parsed: `x` and
//! `"x"` are one value, `1e3` and `1000` one number). A JSON pattern becomes its disjunctive normal
//! form over those keys, a set of sets after absorption; two patterns with the same form match
//! the same records. The converse does not hold (`$.a > 1 || $.a <= 1` is not `$.a = *`): the
//! check is sound, not complete, which is what a compliance check wants.

use std::collections::BTreeSet;

use super::ast::{Cond, Expr, Form, Step, Term, Terms, Test, Value};

/// More clauses than this and the normal form is not built: the patterns are compared by their
/// flattened structure instead (still sound, less forgiving).
const MAX_CLAUSES: usize = 4096;

/// A pattern's canonical form.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Canonical {
    /// A JSON pattern in disjunctive normal form.
    Dnf(BTreeSet<BTreeSet<String>>),
    /// A JSON pattern too large for the normal form: its flattened, sorted structure.
    Structure(String),
    /// A term pattern: its sorted terms.
    Terms(String),
}

pub(crate) fn canonical(form: &Form) -> Canonical {
    match form {
        Form::Json(expr) => match dnf(expr) {
            Some(clauses) => Canonical::Dnf(absorb(clauses)),
            None => Canonical::Structure(structure(expr)),
        },
        Form::Terms(terms) => Canonical::Terms(terms_key(terms)),
    }
}

/// The canonical keys of a JSON pattern's conditions, e.g. `$.eventName = text:"ConsoleLogin"`.
pub(crate) fn conditions(form: &Form) -> BTreeSet<String> {
    fn walk(expr: &Expr, out: &mut BTreeSet<String>) {
        match expr {
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| walk(e, out)),
            Expr::Cond(cond) => {
                out.insert(cond_key(cond));
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Form::Json(expr) = form {
        walk(expr, &mut out);
    }
    out
}

fn dnf(expr: &Expr) -> Option<BTreeSet<BTreeSet<String>>> {
    match expr {
        Expr::Cond(cond) => Some(BTreeSet::from([BTreeSet::from([cond_key(cond)])])),
        Expr::Or(items) => {
            let mut out = BTreeSet::new();
            for item in items {
                out.extend(dnf(item)?);
                if out.len() > MAX_CLAUSES {
                    return None;
                }
            }
            Some(out)
        }
        Expr::And(items) => {
            let mut out = BTreeSet::from([BTreeSet::new()]);
            for item in items {
                let right = dnf(item)?;
                if out.len().saturating_mul(right.len()) > MAX_CLAUSES {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|l| {
                        right
                            .iter()
                            .map(move |r| l.union(r).cloned().collect::<BTreeSet<_>>())
                    })
                    .collect();
            }
            Some(out)
        }
    }
}

/// Drops each clause that contains another: `a || (a && b)` is `a`.
fn absorb(clauses: BTreeSet<BTreeSet<String>>) -> BTreeSet<BTreeSet<String>> {
    clauses
        .iter()
        .filter(|c| !clauses.iter().any(|o| o != *c && o.is_subset(c)))
        .cloned()
        .collect()
}

fn structure(expr: &Expr) -> String {
    fn flatten<'a>(expr: &'a Expr, and: bool, out: &mut Vec<&'a Expr>) {
        match expr {
            Expr::And(items) if and => items.iter().for_each(|e| flatten(e, and, out)),
            Expr::Or(items) if !and => items.iter().for_each(|e| flatten(e, and, out)),
            _ => out.push(expr),
        }
    }
    let (and, op) = match expr {
        Expr::Cond(cond) => return cond_key(cond),
        Expr::And(_) => (true, "&&"),
        Expr::Or(_) => (false, "||"),
    };
    let mut items = Vec::new();
    flatten(expr, and, &mut items);
    let keys: BTreeSet<String> = items.into_iter().map(structure).collect();
    if keys.len() == 1 {
        return keys.into_iter().collect();
    }
    format!(
        "({})",
        keys.into_iter()
            .collect::<Vec<_>>()
            .join(&format!(" {op} "))
    )
}

fn selector_key(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::AnyIndex => out.push_str("[*]"),
        }
    }
    out
}

fn cond_key(cond: &Cond) -> String {
    let test = match &cond.test {
        Test::Equals { negated, value } => {
            let op = if *negated { "!=" } else { "=" };
            format!("{op} {}", value_key(value))
        }
        Test::Compare { op, number } => format!("{} {number}", op.symbol()),
        Test::IsTrue => "IS TRUE".to_owned(),
        Test::IsFalse => "IS FALSE".to_owned(),
        Test::IsNull => "IS NULL".to_owned(),
        Test::NotExists => "NOT EXISTS".to_owned(),
    };
    format!("{} {test}", selector_key(&cond.selector))
}

/// Kinds are tagged so that the text `1` and the number 1, which match differently, stay apart.
fn value_key(value: &Value) -> String {
    match value {
        Value::Text(text) => format!("text:{}", quote(text)),
        Value::Wildcard(parts) => format!(
            "wildcard:{}",
            parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join("*")
        ),
        Value::Any => "any".to_owned(),
        Value::Number(number) => format!("number:{number}"),
        Value::Regex(regex) => format!("regex:{}", quote(regex.as_str())),
    }
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn terms_key(terms: &Terms) -> String {
    let set = |list: &[Term]| {
        list.iter()
            .map(|term| match term {
                Term::Text(text) => format!("text:{}", quote(text)),
                Term::Regex(regex) => format!("regex:{}", quote(regex.as_str())),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "all[{}] any[{}] none[{}]",
        set(&terms.all),
        set(&terms.any),
        set(&terms.none)
    )
}

#[cfg(test)]
mod tests {
    use crate::FilterPattern;

    fn same(a: &str, b: &str) -> bool {
        let a = FilterPattern::parse(a).expect("valid");
        let b = FilterPattern::parse(b).expect("valid");
        a.equivalent(&b)
    }

    #[test]
    fn spacing_quotes_parentheses_and_order_do_not_count() {
        assert!(same(
            r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
            r#"{ ($.eventType != AwsServiceEvent) && (($.userIdentity.type = "Root") && ($.userIdentity.invokedBy not exists)) }"#,
        ));
        assert!(same(
            "{ ($.eventName = A) || ($.eventName = B) }",
            "{ $.eventName = B || $.eventName = A || $.eventName = A }"
        ));
        assert!(same("{ $.n = 1000 }", "{ $.n = 1e3 }"));
    }

    #[test]
    fn distribution_and_absorption_count() {
        assert!(same(
            "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
            "{ ($.eventSource = kms.amazonaws.com && $.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion && $.eventSource = kms.amazonaws.com) }"
        ));
        assert!(same("{ $.a = x || ($.a = x && $.b = y) }", "{ $.a = x }"));
    }

    #[test]
    fn different_meanings_differ() {
        assert!(!same("{ $.a = x }", "{ $.a != x }"));
        assert!(!same("{ $.a = 1 }", r#"{ $.a = "1" }"#), "text and number");
        assert!(!same("{ $.a = x* }", "{ $.a = *x }"));
        assert!(!same("{ $.a = x && $.b = y }", "{ $.a = x || $.b = y }"));
        assert!(!same(
            r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
            r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") }"#
        ));
        assert!(!same("{ $.a = x }", "x"), "JSON and term forms");
        assert!(!same("{ $.a = Yes }", "{ $.a = YES }"), "case counts");
    }

    #[test]
    fn term_patterns_compare_as_sets() {
        assert!(same("ERROR -Exiting", "-Exiting ERROR"));
        assert!(same("?a ?b", "?b ?a"));
        assert!(!same("?a ?b", "a b"));
    }

    #[test]
    fn a_pattern_too_large_for_the_normal_form_still_compares() {
        let big = |order: &mut dyn Iterator<Item = usize>| {
            let groups: Vec<String> = order
                .map(|i| format!("($.a{i} = x || $.b{i} = y)"))
                .collect();
            format!("{{ {} }}", groups.join(" && "))
        };
        let a = big(&mut (0..14));
        let b = big(&mut (0..14).rev());
        assert!(same(&a, &b));
        assert!(!same(&a, &big(&mut (1..15))));
    }
}
