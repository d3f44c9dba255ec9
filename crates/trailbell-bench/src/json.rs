//! A minimal JSON value that keeps its keys in insertion order, for writing events that look like
//! the ones EventBridge delivers (`version`, `id`, `detail-type`, ... in that order).
//!
//! serde_json's `Value` sorts keys unless its `preserve_order` feature is on, and turning that on
//! here would change it for every crate in the workspace.

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, already formatted.
    Num(String),
    /// A string (escaped when written).
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object, keys in order.
    Obj(Vec<(String, J)>),
}

/// A string value.
pub fn s(v: impl Into<String>) -> J {
    J::Str(v.into())
}

/// A number value.
pub fn n(v: impl std::fmt::Display) -> J {
    J::Num(v.to_string())
}

/// An object from `(key, value)` pairs.
pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, J)>) -> J {
    J::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// An array.
pub fn arr(items: impl IntoIterator<Item = J>) -> J {
    J::Arr(items.into_iter().collect())
}

fn push_str(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl J {
    /// Appends the compact JSON text of this value.
    pub fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(v) => out.push_str(v),
            J::Str(v) => push_str(out, v),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            J::Obj(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The compact JSON text of this value.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_escapes() {
        let v = obj([("z", s("a\"b")), ("a", arr([n(1), J::Null, J::Bool(true)]))]);
        assert_eq!(v.to_json(), r#"{"z":"a\"b","a":[1,null,true]}"#);
        let parsed: serde_json::Value = serde_json::from_str(&v.to_json()).expect("valid");
        assert_eq!(parsed["z"], "a\"b");
    }
}
