//! What a rule file says beside its pattern for the person who acts on an alert: the MITRE
//! ATT&CK techniques it detects, the response steps and the references.
//!
//! Each key is optional in a user's rule file; the built-in pack's tests require all three on
//! every built-in rule. Kept apart from `file.rs`, which only calls [`read`].

use toml::{Table, Value};

use super::error::FileProblem;

/// A rule's detection metadata; empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    /// MITRE ATT&CK technique ids, `T1562` or `T1562.008`.
    pub attack: Vec<String>,
    /// What to do when the rule fires, in order; empty when the file says nothing.
    pub response: String,
    /// Links to the documentation the rule rests on (`https://...`).
    pub references: Vec<String>,
    /// Pack parameters the pattern uses, with the values in force (`parameters.rs`).
    pub parameters: Vec<super::parameters::Parameter>,
}

impl Metadata {
    /// The ATT&CK page of technique `id` (`T1562.008` -> `.../techniques/T1562/008/`).
    pub fn attack_url(id: &str) -> String {
        format!(
            "https://attack.mitre.org/techniques/{}/",
            id.replace('.', "/")
        )
    }
}

/// Reads `attack`, `response` and `references` from a rule file's table; every problem goes
/// onto `problems`, located by `file` and key path.
pub(crate) fn read(file: &str, table: &Table, problems: &mut Vec<FileProblem>) -> Metadata {
    let mut problem =
        |key: &str, message: String| problems.push(FileProblem::new(file, key, message));
    let attack = strings(table, "attack", &mut problem, |id| {
        (!is_technique_id(id)).then(|| {
            format!("{id:?} is not an ATT&CK technique id such as \"T1562\" or \"T1562.008\"")
        })
    });
    let references = strings(table, "references", &mut problem, |url| {
        if !url.starts_with("https://") {
            Some(format!("{url:?} is not an https:// address"))
        } else if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some(format!("{url:?} holds spaces or control characters"))
        } else {
            None
        }
    });
    let response = match table.get("response") {
        None => String::new(),
        Some(Value::String(text)) if text.trim().is_empty() => {
            problem("response", "must not be empty".to_owned());
            String::new()
        }
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(other) => {
            problem(
                "response",
                format!("expected a string, found {}", article(other.type_str())),
            );
            String::new()
        }
    };
    Metadata {
        attack,
        response,
        references,
        parameters: Vec::new(),
    }
}

/// An optional array of strings at `key`, each checked by `bad` (which says what is wrong).
fn strings(
    table: &Table,
    key: &str,
    problem: &mut impl FnMut(&str, String),
    bad: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut found = Vec::new();
    match table.get(key) {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("{key}[{index}]");
                match item {
                    Value::String(text) => match bad(text) {
                        Some(message) => problem(&path, message),
                        None if found.contains(text) => {
                            problem(&path, format!("{text:?} is listed twice"));
                        }
                        None => found.push(text.clone()),
                    },
                    other => problem(
                        &path,
                        format!("expected a string, found {}", article(other.type_str())),
                    ),
                }
            }
        }
        Some(other) => problem(
            key,
            format!(
                "expected an array of strings, found {}",
                article(other.type_str())
            ),
        ),
    }
    found
}

fn article(kind: &str) -> String {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}

/// `T` and four digits, optionally `.` and three digits: ATT&CK's technique and sub-technique ids.
pub(crate) fn is_technique_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('T') else {
        return false;
    };
    let (technique, sub) = match rest.split_once('.') {
        Some((technique, sub)) => (technique, Some(sub)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(technique, 4) && sub.is_none_or(|sub| digits(sub, 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> (Metadata, Vec<String>) {
        let table: Table = text.parse().expect("TOML");
        let mut problems = Vec::new();
        let metadata = read("r.toml", &table, &mut problems);
        let problems = problems
            .iter()
            .map(|p| format!("{}: {}", p.key(), p.message()))
            .collect();
        (metadata, problems)
    }

    #[test]
    fn technique_ids_are_t_four_digits_and_an_optional_sub_technique() {
        for good in ["T1562", "T1562.008", "T1078.004", "T0001"] {
            assert!(is_technique_id(good), "{good}");
        }
        for bad in [
            "",
            "T",
            "T156",
            "T15620",
            "T1562.",
            "T1562.8",
            "T1562.0081",
            "t1562",
            "TA0005",
            "T1562.00a",
            "1562",
            "T1562/008",
            "T1562.008 ",
        ] {
            assert!(!is_technique_id(bad), "{bad}");
        }
    }

    #[test]
    fn metadata_is_read_and_every_problem_located() {
        let (metadata, problems) = problems_of(
            "attack = [\"T1562.008\", \"T1078\"]\nresponse = \"\"\"\n1. Do it.\n\"\"\"\n\
             references = [\"https://docs.aws.amazon.com/x.html\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(metadata.attack, ["T1562.008", "T1078"]);
        assert_eq!(metadata.response, "1. Do it.");
        assert_eq!(metadata.references, ["https://docs.aws.amazon.com/x.html"]);

        let (_, problems) = problems_of(
            "attack = [\"T1562.8\", 3, \"T1078\", \"T1078\"]\nresponse = \" \"\n\
             references = \"https://x\"\n",
        );
        assert_eq!(
            problems,
            [
                "attack[0]: \"T1562.8\" is not an ATT&CK technique id such as \"T1562\" or \"T1562.008\"",
                "attack[1]: expected a string, found an integer",
                "attack[3]: \"T1078\" is listed twice",
                "references: expected an array of strings, found a string",
                "response: must not be empty",
            ]
        );
        let (_, problems) =
            problems_of("references = [\"http://x\", \"https://a b\"]\nresponse = 1\n");
        assert_eq!(
            problems,
            [
                "references[0]: \"http://x\" is not an https:// address",
                "references[1]: \"https://a b\" holds spaces or control characters",
                "response: expected a string, found an integer",
            ]
        );
    }

    #[test]
    fn sub_techniques_link_to_their_own_page() {
        assert_eq!(
            Metadata::attack_url("T1562.008"),
            "https://attack.mitre.org/techniques/T1562/008/"
        );
        assert_eq!(
            Metadata::attack_url("T1078"),
            "https://attack.mitre.org/techniques/T1078/"
        );
    }
}
