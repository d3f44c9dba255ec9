//! The validated form of a pattern: a tree of object patterns whose leaves are lists of matchers.

use crate::matchers::ValueMatcher;

/// An object in a pattern: every field must match, and for every `$or` one branch must.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectPattern {
    pub(crate) fields: Vec<(Box<str>, FieldPattern)>,
    pub(crate) ors: Vec<Vec<ObjectPattern>>,
}

/// What one field of an object pattern asks of the event.
#[derive(Clone, Debug)]
pub(crate) enum FieldPattern {
    /// A nested object pattern.
    Object(ObjectPattern),
    /// A list of matchers; the field matches when any one of them accepts.
    Leaf(Vec<ValueMatcher>),
}
