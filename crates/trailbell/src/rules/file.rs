//! One rule file (TOML) read and validated: every problem collected, each with its key path.
//!
//! The file's text is first read as a TOML table, then each key is checked by hand rather than by
//! a derived `Deserialize`, so that one pass reports every problem (unknown keys, missing keys,
//! wrong types, an invalid pattern, an unknown fixture) instead of stopping at the first.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use toml::{Table, Value};
use trailbell_pattern::{MatcherBuilder, Pattern};

use super::builtin;
use super::error::FileProblem;
use super::pack::{Rule, RuleTest};
use super::severity::Severity;

/// The keys a rule file may hold, in the order they are checked and documented.
const RULE_KEYS: &[&str] = &[
    "name",
    "title",
    "severity",
    "description",
    "event_pattern",
    "cis",
    "tests",
];

/// The keys a `[[tests]]` entry may hold.
const TEST_KEYS: &[&str] = &["name", "event", "event_json", "matches"];

/// EventBridge's limit on rule names.
const MAX_NAME_CHARS: usize = 64;

/// A fixture found: its display path and text, or why it cannot be used.
type Found = Result<(String, String), String>;

/// Where the event fixtures named by `tests[].event` are found: a directory of `<name>.json`
/// files (for rule files on disk, `events/` beside them), then the built-in fixtures.
#[derive(Debug, Default)]
pub(crate) struct Fixtures {
    dir: Option<PathBuf>,
    /// Each fixture read from `dir`, by name: its display path and text, or why it is unusable.
    read: HashMap<String, Option<Found>>,
}

impl Fixtures {
    /// Only the built-in fixtures.
    pub(crate) fn builtin() -> Fixtures {
        Fixtures::default()
    }

    /// The fixtures in `dir`, then the built-in ones.
    pub(crate) fn in_dir(dir: PathBuf) -> Fixtures {
        Fixtures {
            dir: Some(dir),
            read: HashMap::new(),
        }
    }

    /// Where fixtures are looked for, for messages.
    fn places(&self) -> String {
        match &self.dir {
            Some(dir) => format!("{}/ and the built-in fixtures", dir.display()),
            None => "rules/events/".to_owned(),
        }
    }

    /// The fixture called `name`: `None` when there is none, its display path and text, or why
    /// it could not be read.
    fn get(&mut self, name: &str) -> Option<Found> {
        if let Some(dir) = &self.dir {
            let found = self
                .read
                .entry(name.to_owned())
                .or_insert_with(|| {
                    let path = dir.join(format!("{name}.json"));
                    let display = path.display().to_string();
                    match fs::read(&path) {
                        Ok(bytes) => Some(
                            String::from_utf8(bytes)
                                .map(|text| (display.clone(), text))
                                .map_err(|_| format!("fixture {display} is not UTF-8")),
                        ),
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                        Err(err) => Some(Err(format!("failed to read fixture {display}: {err}"))),
                    }
                })
                .clone();
            if found.is_some() {
                return found;
            }
        }
        builtin::event(name).map(|text| Ok((format!("rules/events/{name}.json"), text.to_owned())))
    }
}

/// Reads one rule file. `file` names it in messages and becomes [`Rule::source`]; `stem` is the
/// file name without `.toml`, which the rule's name must equal. Every problem is pushed onto
/// `problems`; the rule is returned only when its file had none.
pub(crate) fn parse_rule_file(
    file: &str,
    stem: &str,
    text: &str,
    fixtures: &mut Fixtures,
    problems: &mut Vec<FileProblem>,
) -> Option<Rule> {
    let before = problems.len();
    let table = match text.parse::<Table>() {
        Ok(table) => table,
        Err(err) => {
            problems.push(FileProblem::new(file, "", toml_error(text, &err)));
            return None;
        }
    };
    let mut check = Checker {
        file,
        problems: &mut *problems,
    };

    let name = check.string(&table, "", "name");
    if let Some(name) = &name {
        check.rule_name(name, stem);
    }
    let title = check.string(&table, "", "title");
    if let Some(title) = &title {
        check.one_line("title", title);
    }
    let severity =
        check
            .string(&table, "", "severity")
            .and_then(|text| match text.parse::<Severity>() {
                Ok(severity) => Some(severity),
                Err(err) => {
                    check.problem("severity", err.to_string());
                    None
                }
            });
    let description = check.string(&table, "", "description");
    let event_pattern = check.string(&table, "", "event_pattern");
    if let Some(pattern) = &event_pattern
        && let Err(err) = Pattern::parse(pattern)
    {
        check.problem("event_pattern", err.to_string());
    }
    let cis = check.cis(&table);
    let tests = check.tests(&table, fixtures);
    check.unknown_keys(&table, "", RULE_KEYS);

    if problems.len() > before {
        return None;
    }
    Some(Rule {
        name: name?,
        title: title?,
        severity: severity?,
        description: description?,
        event_pattern: event_pattern?,
        cis,
        tests,
        source: file.to_owned(),
    })
}

/// Pushes problems for one file.
struct Checker<'a> {
    file: &'a str,
    problems: &'a mut Vec<FileProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(FileProblem::new(self.file, key, message.into()));
    }

    /// A required, non-blank string at `prefix` + `key`.
    fn string(&mut self, table: &Table, prefix: &str, key: &str) -> Option<String> {
        let path = format!("{prefix}{key}");
        match table.get(key) {
            None => {
                self.problem(&path, "missing, expected a string");
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                self.problem(&path, "must not be empty");
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                self.problem(&path, expected("a string", other));
                None
            }
        }
    }

    /// Rule names follow EventBridge's: 1 to 64 letters, digits, `.`, `-` or `_`. The file is
    /// named after its rule.
    fn rule_name(&mut self, name: &str, stem: &str) {
        if name.chars().count() > MAX_NAME_CHARS
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            self.problem(
                "name",
                format!(
                    "{name:?} is not a valid rule name: use 1 to {MAX_NAME_CHARS} letters, digits, '.', '-' or '_'"
                ),
            );
        } else if name != stem {
            self.problem(
                "name",
                format!("{name:?} does not match the file name: name the file {name}.toml"),
            );
        }
    }

    fn one_line(&mut self, key: &str, text: &str) {
        if text.chars().any(char::is_control) {
            self.problem(key, "must be one line without control characters");
        }
    }

    /// The optional `cis` list of CIS AWS Foundations Benchmark recommendation numbers.
    fn cis(&mut self, table: &Table) -> Vec<String> {
        let mut references = Vec::new();
        match table.get("cis") {
            None => {}
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) if is_cis_reference(text) => {
                            references.push(text.clone());
                        }
                        Value::String(text) => self.problem(
                            &format!("cis[{index}]"),
                            format!("{text:?} is not a CIS recommendation number such as \"4.3\""),
                        ),
                        other => {
                            self.problem(&format!("cis[{index}]"), expected("a string", other));
                        }
                    }
                }
            }
            Some(other) => self.problem("cis", expected("an array of strings", other)),
        }
        references
    }

    /// The optional `[[tests]]` array.
    fn tests(&mut self, table: &Table, fixtures: &mut Fixtures) -> Vec<RuleTest> {
        let items = match table.get("tests") {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.problem("tests", expected("an array of tables ([[tests]])", other));
                return Vec::new();
            }
        };
        let mut tests = Vec::with_capacity(items.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            let prefix = format!("tests[{index}].");
            let Value::Table(test) = item else {
                self.problem(&format!("tests[{index}]"), expected("a table", item));
                continue;
            };
            let name = self.string(test, &prefix, "name");
            if let Some(name) = &name {
                if let Some(first) = seen.get(name) {
                    self.problem(
                        &format!("{prefix}name"),
                        format!("{name:?} is also the name of tests[{first}]"),
                    );
                } else {
                    seen.insert(name.clone(), index);
                }
            }
            let event = self.test_event(test, &prefix, fixtures);
            let matches = match test.get("matches") {
                Some(Value::Boolean(matches)) => Some(*matches),
                None => {
                    self.problem(&format!("{prefix}matches"), "missing, expected a boolean");
                    None
                }
                Some(other) => {
                    self.problem(&format!("{prefix}matches"), expected("a boolean", other));
                    None
                }
            };
            self.unknown_keys(test, &prefix, TEST_KEYS);
            if let (Some(name), Some(event), Some(matches)) = (name, event, matches) {
                tests.push(RuleTest {
                    name,
                    event,
                    matches,
                });
            }
        }
        tests
    }

    /// A test's event: exactly one of `event` (a fixture's name) and `event_json` (the envelope
    /// itself), readable by the engine.
    fn test_event(
        &mut self,
        test: &Table,
        prefix: &str,
        fixtures: &mut Fixtures,
    ) -> Option<String> {
        match (test.get("event"), test.get("event_json")) {
            (None, None) => {
                self.problem(
                    prefix.trim_end_matches('.'),
                    "needs an event: `event` (a fixture's name) or `event_json` (an envelope)",
                );
                None
            }
            (Some(_), Some(_)) => {
                self.problem(
                    prefix.trim_end_matches('.'),
                    "has both `event` and `event_json`; keep one",
                );
                None
            }
            (Some(_), None) => {
                let key = format!("{prefix}event");
                let name = self.string(test, prefix, "event")?;
                if !is_fixture_name(&name) {
                    self.problem(
                        &key,
                        format!(
                            "{name:?} is not a fixture name: use letters, digits, '.', '-' or '_', without a path or .json"
                        ),
                    );
                    return None;
                }
                match fixtures.get(&name) {
                    None => {
                        self.problem(
                            &key,
                            format!(
                                "unknown event fixture {name:?} (looked in {})",
                                fixtures.places()
                            ),
                        );
                        None
                    }
                    Some(Err(message)) => {
                        self.problem(&key, message);
                        None
                    }
                    Some(Ok((display, text))) => match check_event(&text) {
                        Ok(()) => Some(text),
                        Err(message) => {
                            self.problem(
                                &key,
                                format!("fixture {display} is not a valid event: {message}"),
                            );
                            None
                        }
                    },
                }
            }
            (None, Some(_)) => {
                let key = format!("{prefix}event_json");
                let text = self.string(test, prefix, "event_json")?;
                match check_event(&text) {
                    Ok(()) => Some(text),
                    Err(message) => {
                        self.problem(&key, format!("not a valid event: {message}"));
                        None
                    }
                }
            }
        }
    }

    fn unknown_keys(&mut self, table: &Table, prefix: &str, known: &[&str]) {
        for key in table.keys() {
            if !known.contains(&key.as_str()) {
                self.problem(
                    &format!("{prefix}{key}"),
                    format!("unknown key, expected one of {}", known.join(", ")),
                );
            }
        }
    }
}

/// The engine's own reader decides whether an event is readable, so a test event is judged by
/// the bytes the matchers will see.
fn check_event(text: &str) -> Result<(), String> {
    MatcherBuilder::new()
        .build()
        .matches(text.as_bytes())
        .map(|_| ())
        .map_err(|err| err.to_string())
}

/// `expected a string, found an integer`.
fn expected(what: &str, found: &Value) -> String {
    let kind = found.type_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("expected {what}, found {article} {kind}")
}

/// A fixture is named like a rule: no path separators, no leading dot, no extension to forget.
fn is_fixture_name(name: &str) -> bool {
    !name.starts_with('.')
        && !name.ends_with(".json")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `4.3`, `3.14`, `1.7`: dotted numbers.
fn is_cis_reference(text: &str) -> bool {
    text.split('.').count() >= 2
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
}

/// A TOML syntax error as one line with its line and column.
fn toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end().replace('\n', "; ");
    match err.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("invalid TOML at line {line}, column {column}: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}
