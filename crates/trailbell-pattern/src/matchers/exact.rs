//! Exact values: strings byte for byte, numbers by value, `true`, `false`, `null`.

use serde_json::Value;

use super::LeafValue;
use crate::error::PatternError;
use crate::path::JsonPath;

/// A literal in a pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl Literal {
    pub(crate) fn parse(value: &Value, path: &JsonPath) -> Result<Literal, PatternError> {
        match value {
            Value::String(s) => Ok(Literal::String(s.clone())),
            Value::Number(n) => number(n, path).map(Literal::Number),
            Value::Bool(b) => Ok(Literal::Bool(*b)),
            Value::Null => Ok(Literal::Null),
            Value::Array(_) | Value::Object(_) => Err(PatternError::new(
                path.as_str(),
                "Match value must be String, number, true, false, or null",
            )),
        }
    }

    pub(crate) fn accepts(&self, value: &LeafValue<'_>) -> bool {
        match (self, value) {
            (Literal::String(a), LeafValue::String(b)) => a.as_str() == b.as_ref(),
            // IEEE equality: 3 == 3.0 == 3e0 and -0 == 0.
            (Literal::Number(a), LeafValue::Number(b)) => a == b,
            (Literal::Bool(a), LeafValue::Bool(b)) => a == b,
            (Literal::Null, LeafValue::Null) => true,
            _ => false,
        }
    }
}

/// A pattern number as a finite double.
pub(crate) fn number(n: &serde_json::Number, path: &JsonPath) -> Result<f64, PatternError> {
    match n.as_f64() {
        Some(f) if f.is_finite() => Ok(f),
        _ => Err(PatternError::new(
            path.as_str(),
            format!("Value {n} is out of the range of a double"),
        )),
    }
}
