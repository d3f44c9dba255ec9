//! Reading events: the JSON lexing both readers share and the tree reader of the reference matcher.

pub(crate) mod lex;
pub(crate) mod tree;

/// Events nest no deeper than this many arrays and objects; deeper is an error, never a stack
/// overflow.
pub(crate) const MAX_EVENT_DEPTH: usize = 512;
