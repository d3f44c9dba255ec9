//! Pack parameters: values a rule's pattern takes from the deployment (an allow-list of accounts),
//! with a default in the rule file.
//!
//! ```toml
//! [parameters.trusted_accounts]
//! description = "Accounts whose principals may assume roles here."
//! default = ["000000000000"]
//! ```
//!
//! The pattern names the parameter as one element of a value array, `["{{trusted_accounts}}"]`,
//! which is replaced by the parameter's values: `{"anything-but": ["{{trusted_accounts}}"]}`
//! becomes `{"anything-but": ["111122223333", "444455556666"]}`. The values come from the
//! environment variable `TRAILBELL_PARAM_<NAME>` (upper case, comma-separated) where it is set,
//! so one setting reaches `scan`, `deploy`, `run` and the Lambda alike; else from `default`. The
//! pattern is validated, and the rule's tests run, with the values in force.

use toml::{Table, Value};

use super::error::FileProblem;

/// One parameter of a rule, with the values in force.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Parameter {
    /// Its name: lower-case letters, digits and `_`.
    pub name: String,
    /// What it means.
    pub description: String,
    /// The default values of the rule file.
    pub default: Vec<String>,
    /// The values in force: the environment's, or the default.
    pub values: Vec<String>,
}

impl Parameter {
    /// The environment variable that overrides it.
    pub fn variable(&self) -> String {
        format!("TRAILBELL_PARAM_{}", self.name.to_ascii_uppercase())
    }
}

/// Reads `[parameters]` and substitutes their values into `pattern`; `env` looks a variable up.
/// Every problem goes onto `problems`.
pub(crate) fn apply(
    file: &str,
    table: &Table,
    pattern: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<FileProblem>,
) -> Vec<Parameter> {
    let mut problem =
        |key: &str, message: String| problems.push(FileProblem::new(file, key, message));
    let mut parameters = Vec::new();
    match table.get("parameters") {
        None => {}
        Some(Value::Table(declared)) => {
            for (name, value) in declared {
                let key = format!("parameters.{name}");
                if !is_name(name) {
                    problem(
                        &key,
                        format!("{name:?} is not a parameter name: use a-z, 0-9 and _"),
                    );
                    continue;
                }
                let Value::Table(fields) = value else {
                    problem(
                        &key,
                        "expected a table with description and default".to_owned(),
                    );
                    continue;
                };
                let description = match fields.get("description") {
                    Some(Value::String(text)) if !text.trim().is_empty() => text.trim().to_owned(),
                    _ => {
                        problem(
                            &format!("{key}.description"),
                            "missing, expected a string".to_owned(),
                        );
                        String::new()
                    }
                };
                let default = match fields.get("default") {
                    Some(Value::Array(items)) if !items.is_empty() => items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect::<Vec<String>>(),
                    _ => Vec::new(),
                };
                if default.is_empty()
                    || matches!(fields.get("default"), Some(Value::Array(items)) if items.len() != default.len())
                {
                    problem(
                        &format!("{key}.default"),
                        "expected a non-empty array of strings".to_owned(),
                    );
                }
                for extra in fields.keys() {
                    if extra != "description" && extra != "default" {
                        problem(
                            &format!("{key}.{extra}"),
                            "unknown key, expected one of description, default".to_owned(),
                        );
                    }
                }
                let mut parameter = Parameter {
                    name: name.clone(),
                    description,
                    values: default.clone(),
                    default,
                };
                if let Some(text) = env(&parameter.variable()) {
                    let values: Vec<String> = text
                        .split(',')
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect();
                    if values.is_empty() {
                        problem(
                            &key,
                            format!("{} is set but holds no value", parameter.variable()),
                        );
                    } else {
                        parameter.values = values;
                    }
                }
                parameters.push(parameter);
            }
        }
        Some(other) => problem(
            "parameters",
            format!("expected a table, found {}", other.type_str()),
        ),
    }
    for parameter in &parameters {
        let placeholder = format!("\"{{{{{}}}}}\"", parameter.name);
        if !pattern.contains(&placeholder) {
            problem(
                &format!("parameters.{}", parameter.name),
                format!("the event pattern never uses it (write {placeholder} in a value array)"),
            );
            continue;
        }
        let values: Vec<String> = parameter
            .values
            .iter()
            .map(|value| serde_json::Value::from(value.as_str()).to_string())
            .collect();
        *pattern = pattern.replace(&placeholder, &values.join(", "));
    }
    if let Some(start) = pattern.find("\"{{") {
        let rest = &pattern[start + 3..];
        let name = rest.split("}}").next().unwrap_or(rest);
        problem(
            "event_pattern",
            format!("uses the parameter {name:?}, which [parameters] does not declare"),
        );
    }
    parameters
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, pattern: &str, env: Option<&str>) -> (String, Vec<Parameter>, Vec<String>) {
        let table: Table = text.parse().expect("TOML");
        let mut pattern = pattern.to_owned();
        let mut problems = Vec::new();
        let env_value = env.map(str::to_owned);
        let lookup = move |name: &str| {
            (name == "TRAILBELL_PARAM_TRUSTED")
                .then(|| env_value.clone())
                .flatten()
        };
        let parameters = apply("r.toml", &table, &mut pattern, &lookup, &mut problems);
        let problems = problems
            .iter()
            .map(|p| format!("{}: {}", p.key(), p.message()))
            .collect();
        (pattern, parameters, problems)
    }

    const DECLARED: &str =
        "[parameters.trusted]\ndescription = \"Accounts.\"\ndefault = [\"000000000000\"]\n";
    const PATTERN: &str = r#"{"a": [{"anything-but": ["{{trusted}}"]}]}"#;

    #[test]
    fn the_default_fills_the_placeholder_and_the_environment_overrides_it() {
        let (pattern, parameters, problems) = run(DECLARED, PATTERN, None);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(pattern, r#"{"a": [{"anything-but": ["000000000000"]}]}"#);
        assert_eq!(parameters[0].values, ["000000000000"]);
        let (pattern, parameters, _) = run(DECLARED, PATTERN, Some("111122223333, 4444\"5"));
        assert_eq!(
            pattern,
            r#"{"a": [{"anything-but": ["111122223333", "4444\"5"]}]}"#
        );
        assert_eq!(parameters[0].default, ["000000000000"]);
        assert_eq!(parameters[0].variable(), "TRAILBELL_PARAM_TRUSTED");
    }

    #[test]
    fn undeclared_unused_and_empty_parameters_are_located() {
        let (_, _, problems) = run("", PATTERN, None);
        assert_eq!(
            problems,
            ["event_pattern: uses the parameter \"trusted\", which [parameters] does not declare"]
        );
        let (_, _, problems) = run(DECLARED, r#"{"a": ["x"]}"#, None);
        assert_eq!(
            problems,
            [
                "parameters.trusted: the event pattern never uses it (write \"{{trusted}}\" in a value array)"
            ]
        );
        let (_, _, problems) = run(
            "[parameters.Bad]\n[parameters.trusted]\ndefault = []\nkind = 1\n",
            PATTERN,
            None,
        );
        assert_eq!(
            problems,
            [
                "parameters.Bad: \"Bad\" is not a parameter name: use a-z, 0-9 and _",
                "parameters.trusted.description: missing, expected a string",
                "parameters.trusted.default: expected a non-empty array of strings",
                "parameters.trusted.kind: unknown key, expected one of description, default",
            ]
        );
        let (_, _, problems) = run(DECLARED, PATTERN, Some(" , "));
        assert_eq!(
            problems,
            ["parameters.trusted: TRAILBELL_PARAM_TRUSTED is set but holds no value"]
        );
    }
}
