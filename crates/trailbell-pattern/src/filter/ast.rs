//! The parsed form of a filter pattern.

use regex_lite::Regex;

/// A whole filter pattern: one of CloudWatch Logs' three forms.
#[derive(Clone, Debug)]
pub(crate) enum Form {
    /// `{ ... }`: conditions on the properties of a JSON log event.
    Json(Expr),
    /// Terms on the event's text: `ERROR`, `"exact phrase"`, `?a ?b`, `-term`, `%regex%`.
    Terms(Terms),
}

/// A boolean combination of conditions.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Cond),
}

/// One condition on one property.
#[derive(Clone, Debug)]
pub(crate) struct Cond {
    pub(crate) selector: Vec<Step>,
    pub(crate) test: Test,
}

/// One step of a property selector: `.name`, `[3]`, `[*]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Field(String),
    Index(usize),
    AnyIndex,
}

/// What a condition asks of the selected values.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    /// `= value`, or `!= value` when `negated`: some selected scalar equals (or does not equal).
    Equals {
        negated: bool,
        value: Value,
    },
    /// `<`, `<=`, `>`, `>=` on numbers.
    Compare {
        op: CompareOp,
        number: f64,
    },
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
}

/// The right-hand side of `=` and `!=`.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A string without `*`: byte-exact.
    Text(String),
    /// A string with `*`: the parts between the stars, at least two.
    Wildcard(Vec<String>),
    /// A bare `*` (or only stars): any scalar value.
    Any,
    /// A number, compared by value with numbers only.
    Number(f64),
    /// `%regex%`: the regex finds a match somewhere in a string.
    Regex(Regex),
}

/// A numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
        }
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A term pattern: every `all` term and no `none` term appear, and, when `any` is not empty, at
/// least one of `any`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Terms {
    pub(crate) all: Vec<Term>,
    pub(crate) any: Vec<Term>,
    pub(crate) none: Vec<Term>,
}

/// One term: a substring, or a regex found anywhere.
#[derive(Clone, Debug)]
pub(crate) enum Term {
    Text(String),
    Regex(Regex),
}
