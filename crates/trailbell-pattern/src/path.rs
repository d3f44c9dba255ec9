//! JSON paths into a pattern, for error messages: `$.detail.userIdentity.type[0].prefix`.

use std::fmt::Write;

/// A location inside a pattern, built while the pattern is walked.
#[derive(Clone, Debug, Default)]
pub(crate) struct JsonPath(String);

impl JsonPath {
    pub(crate) fn root() -> JsonPath {
        JsonPath("$".to_owned())
    }

    pub(crate) fn field(&self, name: &str) -> JsonPath {
        let mut path = self.0.clone();
        if is_plain_name(name) {
            path.push('.');
            path.push_str(name);
        } else {
            // Debug-quoting escapes quotes, backslashes and control characters.
            let _ = write!(path, "[{name:?}]");
        }
        JsonPath(path)
    }

    pub(crate) fn index(&self, index: usize) -> JsonPath {
        let mut path = self.0.clone();
        let _ = write!(path, "[{index}]");
        JsonPath(path)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_field_names_are_bracketed_and_quoted() {
        let path = JsonPath::root()
            .field("detail")
            .field("a b")
            .index(2)
            .field("$or");
        assert_eq!(path.as_str(), r#"$.detail["a b"][2].$or"#);
        assert_eq!(JsonPath::root().field("1st").as_str(), r#"$["1st"]"#);
        assert_eq!(
            JsonPath::root().field("detail-type").as_str(),
            "$.detail-type"
        );
    }
}
