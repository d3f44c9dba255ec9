//! numeric: `=`, `<`, `<=`, `>`, `>=`, with at most one lower and one upper bound, lower first.

use serde_json::Value;

use super::exact::number;
use crate::error::PatternError;
use crate::path::JsonPath;

/// A bound: the value and whether it is included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) inclusive: bool,
}

/// A range of doubles; an absent bound is unbounded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NumericRange {
    pub(crate) lower: Option<Bound>,
    pub(crate) upper: Option<Bound>,
}

fn value_must_be_numeric(op: &str) -> String {
    let name = if op == "=" { "equals" } else { op };
    format!("Value of {name} must be numeric")
}

impl NumericRange {
    pub(crate) fn parse(operand: &Value, path: &JsonPath) -> Result<NumericRange, PatternError> {
        let Value::Array(items) = operand else {
            return Err(PatternError::new(
                path.as_str(),
                "Value of numeric must be an array.",
            ));
        };
        if items.is_empty() {
            return Err(PatternError::new(
                path.as_str(),
                "Value of numeric must be a non-empty array of operators and numbers",
            ));
        }
        let mut range = NumericRange {
            lower: None,
            upper: None,
        };
        let mut saw_equals = false;
        // Walk operator-number pairs in order and blame the first element that does not fit.
        for i in (0..items.len()).step_by(2) {
            let op_path = path.index(i);
            // The lower bound comes first, as event-ruler requires: an upper bound ends the range.
            if i >= 4 || saw_equals || (i == 2 && range.upper.is_some()) {
                return Err(PatternError::new(
                    op_path.as_str(),
                    "Too many elements in numeric expression",
                ));
            }
            let Value::String(op) = &items[i] else {
                return Err(PatternError::new(
                    op_path.as_str(),
                    format!("Invalid member in numeric match: {}", items[i]),
                ));
            };
            let value_path = path.index(i + 1);
            let Some(operand) = items.get(i + 1) else {
                return Err(PatternError::new(
                    value_path.as_str(),
                    value_must_be_numeric(op),
                ));
            };
            let Value::Number(n) = operand else {
                return Err(PatternError::new(
                    value_path.as_str(),
                    value_must_be_numeric(op),
                ));
            };
            let value = number(n, &value_path)?;
            let (is_lower, inclusive) = match op.as_str() {
                "=" if i == 0 => {
                    saw_equals = true;
                    (true, true)
                }
                "=" => {
                    return Err(PatternError::new(
                        op_path.as_str(),
                        "numeric match with = cannot have a second bound",
                    ));
                }
                ">" => (true, false),
                ">=" => (true, true),
                "<" => (false, false),
                "<=" => (false, true),
                other => {
                    return Err(PatternError::new(
                        op_path.as_str(),
                        format!("Unrecognized numeric range operator: {other}"),
                    ));
                }
            };
            let bound = Some(Bound { value, inclusive });
            let slot = if is_lower {
                &mut range.lower
            } else {
                &mut range.upper
            };
            if slot.is_some() {
                let which = if is_lower { "lower" } else { "upper" };
                return Err(PatternError::new(
                    op_path.as_str(),
                    format!("Bad numeric range: more than one {which} bound"),
                ));
            }
            *slot = bound;
        }
        if saw_equals {
            range.upper = range.lower;
        }
        // Two bounds must leave an interval, not one point, as event-ruler requires: a single value
        // is written with "=".
        if let (false, Some(lower), Some(upper)) = (saw_equals, range.lower, range.upper)
            && lower.value >= upper.value
        {
            return Err(PatternError::new(
                path.as_str(),
                "Bottom must be less than top",
            ));
        }
        Ok(range)
    }

    pub(crate) fn contains(&self, n: f64) -> bool {
        let above = self.lower.is_none_or(|b| {
            if b.inclusive {
                n >= b.value
            } else {
                n > b.value
            }
        });
        let below = self.upper.is_none_or(|b| {
            if b.inclusive {
                n <= b.value
            } else {
                n < b.value
            }
        });
        above && below
    }
}
