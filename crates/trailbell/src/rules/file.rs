//! One rule file (TOML) read and validated: every problem collected, each with its key path.
//!
//! The file's text is first read as a TOML table, then each key is checked by hand rather than by
//! a derived `Deserialize`, so that one pass reports every problem (unknown keys, missing keys,
//! wrong types, an invalid pattern, an unknown fixture) instead of stopping at the first.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use toml::{Table, Value};
use trailbell_pattern::{EventError, FilterPattern, MatcherBuilder, Pattern};

use super::builtin;
use super::error::FileProblem;
use super::pack::{Rule, RuleTest};
use super::severity::Severity;
use crate::noise::{Dedup, Exception, NoiseSettings, Threshold};

/// The keys a rule file may hold, in the order they are checked and documented.
const RULE_KEYS: &[&str] = &[
    "name",
    "title",
    "severity",
    "description",
    "event_pattern",
    "filter_pattern",
    "cis",
    "threshold",
    "dedup",
    "exceptions",
    "tests",
    // Detection metadata, read by `metadata.rs`.
    "attack",
    "response",
    "references",
    "parameters",
];

/// The keys a `[[tests]]` entry may hold.
const TEST_KEYS: &[&str] = &["name", "event", "event_json", "matches", "filter_matches"];

/// EventBridge's limit on rule names.
const MAX_NAME_CHARS: usize = 64;

/// A fixture found: its display path and text, or why it cannot be used.
type Found = Result<(String, String), FixtureError>;

/// Why an event fixture on disk cannot be used, naming it.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum FixtureError {
    /// Its bytes are not UTF-8 (`valid_up_to`: the offset of the first bad byte).
    #[error("fixture {display} is not UTF-8 (byte {valid_up_to})")]
    NotUtf8 {
        /// The fixture's path.
        display: String,
        /// The offset of the first byte that is not UTF-8.
        valid_up_to: usize,
    },
    /// It cannot be read.
    #[error("failed to read fixture {display}: {message}")]
    Read {
        /// The fixture's path.
        display: String,
        /// The system's reason.
        message: String,
    },
}

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
                                .map_err(|err| FixtureError::NotUtf8 {
                                    display: display.clone(),
                                    valid_up_to: err.utf8_error().valid_up_to(),
                                }),
                        ),
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                        Err(err) => Some(Err(FixtureError::Read {
                            display,
                            message: err.to_string(),
                        })),
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
    // A rule needs an event pattern, a filter pattern with an exact translation, or both.
    let has_filter = table.contains_key("filter_pattern");
    let mut event_pattern = if table.contains_key("event_pattern") || !has_filter {
        check.string(&table, "", "event_pattern")
    } else {
        None
    };
    // Pack parameters are substituted before the pattern is judged (`parameters.rs`).
    let parameters = match &mut event_pattern {
        Some(pattern) => super::parameters::apply(
            file,
            &table,
            pattern,
            &|name| std::env::var(name).ok(),
            &mut *check.problems,
        ),
        None => Vec::new(),
    };
    if let Some(pattern) = &event_pattern
        && let Err(err) = Pattern::parse(pattern)
    {
        check.problem("event_pattern", err.to_string());
    }
    let filter_pattern = if has_filter {
        check.string(&table, "", "filter_pattern")
    } else {
        None
    };
    if let Some(filter) = &filter_pattern {
        match FilterPattern::parse(filter.trim()) {
            Err(err) => check.problem("filter_pattern", err.to_string()),
            Ok(_) if event_pattern.is_none() && !table.contains_key("event_pattern") => {
                match super::filter::event_pattern_for_filter(filter.trim()) {
                    Ok(pattern) => event_pattern = Some(pattern),
                    Err(why) => check.problem("filter_pattern", why.to_string()),
                }
            }
            Ok(_) => {}
        }
    }
    let cis = check.cis(&table);
    let noise = check.noise(&table);
    let tests = check.tests(&table, fixtures);
    let mut metadata = super::metadata::read(file, &table, &mut *check.problems);
    metadata.parameters = parameters;
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
        filter_pattern: filter_pattern.map(|f| f.trim().to_owned()),
        cis,
        noise,
        tests,
        source: file.to_owned(),
        metadata,
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

    /// The optional noise control: `[threshold]`, `[dedup]` and `[[exceptions]]`, read with serde
    /// (their shapes are small), each exception's pattern checked by the engine.
    fn noise(&mut self, table: &Table) -> NoiseSettings {
        let mut noise = NoiseSettings::default();
        if let Some(value) = table.get("threshold") {
            match value.clone().try_into::<Threshold>() {
                Ok(threshold) if threshold.count < 2 => {
                    self.problem("threshold.count", "must be at least 2 (1 is every match)");
                }
                Ok(threshold) if threshold.within.is_zero() => {
                    self.problem("threshold.within", "must be longer than 0s");
                }
                Ok(threshold) => noise.threshold = Some(threshold),
                Err(err) => self.problem("threshold", serde_problem(&err)),
            }
        }
        if let Some(value) = table.get("dedup") {
            match value.clone().try_into::<Dedup>() {
                Ok(dedup) if dedup.window.is_zero() => {
                    self.problem("dedup.window", "must be longer than 0s");
                }
                Ok(dedup) => noise.dedup = Some(dedup),
                Err(err) => self.problem("dedup", serde_problem(&err)),
            }
        }
        if let Some(value) = table.get("exceptions") {
            match value.clone().try_into::<Vec<Exception>>() {
                Ok(exceptions) => {
                    for (index, exception) in exceptions.iter().enumerate() {
                        if let Err(err) = Pattern::parse(&exception.event_pattern) {
                            self.problem(
                                &format!("exceptions[{index}].event_pattern"),
                                err.to_string(),
                            );
                        }
                    }
                    noise.exceptions = exceptions;
                }
                Err(err) => self.problem("exceptions", serde_problem(&err)),
            }
        }
        noise
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
            let filter_matches = match test.get("filter_matches") {
                None => None,
                Some(Value::Boolean(matches)) => Some(*matches),
                Some(other) => {
                    self.problem(
                        &format!("{prefix}filter_matches"),
                        expected("a boolean", other),
                    );
                    None
                }
            };
            if filter_matches.is_some() && !table.contains_key("filter_pattern") {
                self.problem(
                    &format!("{prefix}filter_matches"),
                    "the rule has no filter_pattern",
                );
            }
            self.unknown_keys(test, &prefix, TEST_KEYS);
            if let (Some(name), Some(event), Some(matches)) = (name, event, matches) {
                tests.push(RuleTest {
                    name,
                    event,
                    matches,
                    filter_matches,
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
                    Some(Err(why)) => {
                        self.problem(&key, why.to_string());
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
            if known.contains(&key.as_str()) {
                continue;
            }
            let message = match known.iter().find(|k| edit_distance(k, key) <= 2) {
                Some(close) => format!("unknown key, did you mean {close}?"),
                None => format!("unknown key, expected one of {}", known.join(", ")),
            };
            self.problem(&format!("{prefix}{key}"), message);
        }
    }
}

/// The engine's own reader decides whether an event is readable, so a test event is judged by
/// the bytes the matchers will see.
fn check_event(text: &str) -> Result<(), EventError> {
    MatcherBuilder::new()
        .build()
        .matches(text.as_bytes())
        .map(|_| ())
}

/// The Levenshtein distance between two short strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A serde error from a sub-table, on one line.
fn serde_problem(err: &toml::de::Error) -> String {
    err.message().trim().replace('\n', " ")
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

/// A TOML syntax error as one line with its line and column: rule files and the configuration
/// file say it alike.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
name = "x"
title = "X happened"
severity = "low"
description = "Why it matters."
event_pattern = '{"source": ["aws.signin"]}'
cis = ["4.3"]

[[tests]]
name = "by fixture"
event = "console-login-iam-mfa"
matches = true

[[tests]]
name = "inline"
event_json = '{"source": "aws.ec2"}'
matches = false
"#;

    /// Parses `text` as `rules/x.toml`; the rule, or every problem as `key: message`.
    fn parse(text: &str) -> Result<Rule, Vec<String>> {
        let mut problems = Vec::new();
        let rule = parse_rule_file(
            "rules/x.toml",
            "x",
            text,
            &mut Fixtures::builtin(),
            &mut problems,
        );
        for problem in &problems {
            assert_eq!(problem.file(), "rules/x.toml");
        }
        match rule {
            Some(rule) if problems.is_empty() => Ok(rule),
            None if !problems.is_empty() => Err(problems
                .iter()
                .map(|p| format!("{}: {}", p.key(), p.message()))
                .collect()),
            _ => panic!("a rule and problems: {problems:?}"),
        }
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text).expect_err("the file is invalid")
    }

    #[test]
    fn a_valid_file_becomes_a_rule_with_fixtures_resolved() {
        let rule = parse(VALID).expect("valid");
        assert_eq!(rule.name, "x");
        assert_eq!(rule.severity, Severity::Low);
        assert_eq!(rule.cis, ["4.3"]);
        assert_eq!(rule.source, "rules/x.toml");
        assert_eq!(rule.tests.len(), 2);
        assert_eq!(
            Some(rule.tests[0].event.as_str()),
            builtin::event("console-login-iam-mfa")
        );
        assert_eq!(rule.tests[1].event, r#"{"source": "aws.ec2"}"#);
        assert!(rule.tests[0].matches && !rule.tests[1].matches);
    }

    #[test]
    fn tests_and_cis_are_optional() {
        let rule = parse(
            "name = \"x\"\ntitle = \"t\"\nseverity = \"info\"\ndescription = \"d\"\nevent_pattern = '{}'\n",
        )
        .expect("valid");
        assert!(rule.tests.is_empty() && rule.cis.is_empty());
    }

    #[test]
    fn every_missing_key_is_reported() {
        assert_eq!(
            problems(""),
            [
                "name: missing, expected a string",
                "title: missing, expected a string",
                "severity: missing, expected a string",
                "description: missing, expected a string",
                "event_pattern: missing, expected a string",
            ]
        );
    }

    #[test]
    fn invalid_patterns_name_the_json_path() {
        let text = VALID.replace(
            r#"{"source": ["aws.signin"]}"#,
            r#"{"detail": {"n": [{"numeric": [">", "x"]}]}}"#,
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("event_pattern: Event pattern is not valid. Reason: ")
                && found[0].ends_with(" (at $.detail.n[0].numeric[1])"),
            "{found:?}"
        );
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion_when_close() {
        let text = format!(
            "{VALID}\n[[tests]]\nname = \"t\"\nevent = \"iam-create-user\"\nmatch = true\n"
        );
        let text = text.replacen("cis =", "severty = \"high\"\ncis =", 1);
        assert_eq!(
            problems(&text),
            [
                "tests[2].matches: missing, expected a boolean",
                "tests[2].match: unknown key, did you mean matches?",
                "severty: unknown key, did you mean severity?",
            ]
        );
        let text = VALID.replacen("cis =", "owner = \"me\"\ncis =", 1);
        assert_eq!(
            problems(&text),
            [
                "owner: unknown key, expected one of name, title, severity, description, event_pattern, filter_pattern, cis, threshold, dedup, exceptions, tests, attack, response, references, parameters"
            ]
        );
    }

    #[test]
    fn wrong_types_say_what_was_found() {
        let text = VALID
            .replace("severity = \"low\"", "severity = 3")
            .replace("cis = [\"4.3\"]", "cis = \"4.3\"")
            .replace("matches = true", "matches = \"yes\"");
        assert_eq!(
            problems(&text),
            [
                "severity: expected a string, found an integer",
                "cis: expected an array of strings, found a string",
                "tests[0].matches: expected a boolean, found a string",
            ]
        );
    }

    #[test]
    fn severities_and_names_are_checked() {
        let text = VALID
            .replace("severity = \"low\"", "severity = \"Low\"")
            .replace("name = \"x\"", "name = \"y\"");
        assert_eq!(
            problems(&text),
            [
                "name: \"y\" does not match the file name: name the file y.toml",
                "severity: unknown severity \"Low\", expected one of info, low, medium, high, critical",
            ]
        );
        let text = VALID.replace("name = \"x\"", "name = \"a b\"");
        assert_eq!(
            problems(&text),
            [
                "name: \"a b\" is not a valid rule name: use 1 to 64 letters, digits, '.', '-' or '_'"
            ]
        );
    }

    #[test]
    fn test_events_must_exist_and_be_readable() {
        let text = VALID
            .replace("\"console-login-iam-mfa\"", "\"no-such-fixture\"")
            .replace(r#"'{"source": "aws.ec2"}'"#, "'[1, 2]'");
        assert_eq!(
            problems(&text),
            [
                "tests[0].event: unknown event fixture \"no-such-fixture\" (looked in rules/events/)",
                "tests[1].event_json: not a valid event: invalid event at byte 0: event is not a JSON object",
            ]
        );
        let text = VALID.replace("\"console-login-iam-mfa\"", "\"../secrets\"");
        assert_eq!(
            problems(&text),
            [
                "tests[0].event: \"../secrets\" is not a fixture name: use letters, digits, '.', '-' or '_', without a path or .json"
            ]
        );
    }

    #[test]
    fn a_test_has_exactly_one_event_and_a_unique_name() {
        let text = VALID
            .replace("name = \"inline\"", "name = \"by fixture\"")
            .replace("event_json =", "event = \"iam-create-user\"\nevent_json =");
        assert_eq!(
            problems(&text),
            [
                "tests[1].name: \"by fixture\" is also the name of tests[0]",
                "tests[1]: has both `event` and `event_json`; keep one",
            ]
        );
        let text = VALID.replace("event = \"console-login-iam-mfa\"\n", "");
        assert_eq!(
            problems(&text),
            ["tests[0]: needs an event: `event` (a fixture's name) or `event_json` (an envelope)"]
        );
    }

    #[test]
    fn toml_syntax_errors_give_line_and_column() {
        let found = problems("name = \"x\"\ntitle = \"unterminated\n");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with(": invalid TOML at line 2, column "),
            "{found:?}"
        );
    }

    #[test]
    fn empty_strings_are_refused() {
        let text = VALID.replace("title = \"X happened\"", "title = \"  \"");
        assert_eq!(problems(&text), ["title: must not be empty"]);
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("matches", "match"), 2);
        assert_eq!(edit_distance("severity", "severty"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("név", "nev"), 1);
    }

    #[test]
    fn cis_references_are_dotted_numbers() {
        assert!(is_cis_reference("4.3") && is_cis_reference("1.7") && is_cis_reference("4.15"));
        assert!(
            !is_cis_reference("4") && !is_cis_reference("CloudWatch.1") && !is_cis_reference("4.")
        );
    }

    #[test]
    fn noise_settings_are_read_and_checked() {
        let rule = parse(&format!(
            "{VALID}\n[threshold]\ncount = 5\nwithin = \"5m\"\nkey = \"<$.detail.sourceIPAddress>\"\n\
             [dedup]\nwindow = \"1h\"\n\
             [[exceptions]]\nname = \"ci\"\nevent_pattern = '{{\"account\": [\"1\"]}}'\n"
        ))
        .expect("valid");
        let threshold = rule.noise.threshold.expect("a threshold");
        assert_eq!((threshold.count, threshold.within.as_secs()), (5, 300));
        assert_eq!(rule.noise.dedup.expect("dedup").window.as_secs(), 3600);
        assert_eq!(rule.noise.exceptions[0].name, "ci");

        let problems = problems(&format!(
            "{VALID}\n[threshold]\ncount = 1\nwithin = \"5m\"\n[dedup]\nwindow = \"soon\"\n\
             [[exceptions]]\nname = \"bad\"\nevent_pattern = '{{\"account\": \"1\"}}'\n"
        ));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("threshold.count: must be at least 2"));
        assert_eq!(
            problems[1],
            r#"dedup: "soon" is not a duration such as "90s", "5m" or "1h""#
        );
        assert!(problems[2].contains("exceptions[0].event_pattern: Event pattern is not valid"));
    }
}
