//! Rule packs: rules with a title, a severity and tests, read from TOML rule files, and compiled
//! into one matcher.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use trailbell_pattern::{Matcher, MatcherBuilder, Pattern, RuleId};

use super::builtin;
use super::error::{FileProblem, RulesError};
use super::file::{Fixtures, parse_rule_file};
use super::metadata::Metadata;
use super::severity::Severity;
use crate::noise::{Exception, NoiseSettings};

/// One rule: an EventBridge event pattern with what a person needs to act on its alerts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Unique in its pack; EventBridge's rule-name characters (letters, digits, `.`, `-`, `_`).
    pub name: String,
    /// One line saying what happened, e.g. "Root user signed in to the AWS console".
    pub title: String,
    /// How urgent its alerts are.
    pub severity: Severity,
    /// Why it matters, what to check, how to respond.
    pub description: String,
    /// The event pattern's JSON text, exactly as written (what EventBridge's `EventPattern` takes);
    /// for a rule written only as a filter pattern, that pattern's exact translation.
    pub event_pattern: String,
    /// The CloudWatch Logs filter pattern on the CloudTrail record, when the rule has one (the CIS
    /// rules carry the benchmark's verbatim); `rules test` checks that it agrees with the event
    /// pattern on the rule's tests.
    pub filter_pattern: Option<String>,
    /// CIS AWS Foundations Benchmark recommendations it implements (v1.4.0 to v3.0.0 numbering,
    /// e.g. `4.3`); empty for most rules.
    pub cis: Vec<String>,
    /// Exceptions, threshold and dedup; none by default.
    pub noise: NoiseSettings,
    /// Events it must and must not match (an event an exception silences counts as no match).
    pub tests: Vec<RuleTest>,
    /// The file it came from: `rules/<name>.toml` for the built-in pack, else the path as given.
    pub source: String,
    /// ATT&CK techniques, response steps, references.
    pub metadata: Metadata,
}

/// An event a rule must, or must not, match.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleTest {
    /// What the case is, unique within its rule.
    pub name: String,
    /// The JSON text of the event (an EventBridge envelope), fixtures already resolved.
    pub event: String,
    /// Whether the rule must match it.
    pub matches: bool,
    /// Whether the rule's filter pattern must match it, where that differs from `matches` (a
    /// documented difference between the two languages' rules); `None`: the same as `matches`.
    pub filter_matches: Option<bool>,
}

/// A validated set of rules, sorted by name.
///
/// ```
/// use trailbell::rules::{RulePack, Severity};
///
/// let pack = RulePack::builtin();
/// let root = pack.rules().iter().find(|r| r.name == "root-console-sign-in").expect("built in");
/// assert_eq!(root.severity, Severity::High);
/// let compiled = pack.compile()?;
/// let event = br#"{"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail",
///     "detail": {"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}}"#;
/// let names: Vec<&str> = compiled.matcher().matches(event)?.into_iter()
///     .map(|id| compiled.rule(id).name.as_str()).collect();
/// assert!(names.contains(&"root-console-sign-in"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePack {
    rules: Vec<Rule>,
}

impl RulePack {
    /// The built-in pack: `rules/*.toml` and their fixtures `rules/events/*.json`, embedded in the
    /// binary at compile time.
    ///
    /// ```
    /// let pack = trailbell::rules::RulePack::builtin();
    /// assert!(pack.rules().iter().any(|rule| rule.name == "console-sign-in"));
    /// assert!(pack.rules().is_sorted_by(|a, b| a.name < b.name));
    /// ```
    ///
    /// # Panics
    ///
    /// Never in a released binary: the pack is validated by the crate's tests, so an invalid
    /// built-in rule fails `cargo test` before it can ship.
    pub fn builtin() -> RulePack {
        match load_builtin() {
            Ok(pack) => pack,
            Err(err) => panic!("the built-in rule pack is invalid: {err}"),
        }
    }

    /// Reads a rule file, or every `*.toml` file of a directory (not its subdirectories).
    ///
    /// Test fixtures named by `event = "..."` are looked up in `events/` beside the rule files,
    /// then among the built-in fixtures. Every problem in every file is reported at once, each
    /// with its file and key path; a directory without rule files is an error too.
    ///
    /// ```
    /// use trailbell::rules::{RulePack, RulesError};
    ///
    /// let dir = std::env::temp_dir().join(format!("trailbell-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("x.toml"), "name = \"x\"\nseverity = \"hgh\"\n")?;
    /// let err = RulePack::load(&dir.join("x.toml")).unwrap_err();
    /// let RulesError::InvalidFiles(problems) = err else { panic!("{err}") };
    /// let keys: Vec<&str> = problems.iter().map(|p| p.key()).collect();
    /// assert_eq!(keys, ["title", "severity", "description", "event_pattern"]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(path: &Path) -> Result<RulePack, RulesError> {
        let metadata = fs::metadata(path).map_err(|source| RulesError::Io {
            path: path.to_owned(),
            source,
        })?;
        let (files, events_dir) = if metadata.is_dir() {
            (rule_files_in(path)?, path.join("events"))
        } else {
            let parent = path.parent().unwrap_or(Path::new(""));
            (vec![path.to_owned()], parent.join("events"))
        };
        if files.is_empty() {
            return Err(RulesError::NoRuleFiles(path.to_owned()));
        }

        let mut fixtures = Fixtures::in_dir(events_dir);
        let mut problems = Vec::new();
        let mut rules = Vec::with_capacity(files.len());
        for file in &files {
            let display = file.display().to_string();
            let stem = file
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = match fs::read(file) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => {
                        problems.push(FileProblem::new(&display, "", "not UTF-8"));
                        continue;
                    }
                },
                Err(err) => {
                    problems.push(FileProblem::new(
                        &display,
                        "",
                        format!("failed to read: {err}"),
                    ));
                    continue;
                }
            };
            if let Some(rule) =
                parse_rule_file(&display, &stem, &text, &mut fixtures, &mut problems)
            {
                rules.push(rule);
            }
        }
        RulePack::from_rules(rules, problems)
    }

    /// A pack of rules made elsewhere (the service makes them from the registry's rules): sorted
    /// by name; duplicate names are an error.
    pub fn new(rules: Vec<Rule>) -> Result<RulePack, RulesError> {
        RulePack::from_rules(rules, Vec::new())
    }

    /// Keeps the rules `keep` accepts (a rule pack's `min_severity`).
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }

    /// The rules, sorted by name.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Compiles every rule into one matcher; rule ids follow [`rules`](RulePack::rules)' order, so
    /// a matcher's answers come sorted by rule name.
    ///
    /// ```
    /// let compiled = trailbell::rules::RulePack::builtin().compile()?;
    /// assert_eq!(compiled.len(), trailbell::rules::RulePack::builtin().rules().len());
    /// # Ok::<(), trailbell::rules::RulesError>(())
    /// ```
    pub fn compile(&self) -> Result<CompiledRules, RulesError> {
        let mut builder = MatcherBuilder::new();
        let mut problems = Vec::new();
        for rule in &self.rules {
            // Rules were validated when read; this only fails for a pack built by hand.
            match Pattern::parse(&rule.event_pattern) {
                Ok(pattern) => {
                    builder.add_pattern(&rule.name, pattern);
                }
                Err(err) => problems.push(FileProblem::new(
                    &rule.source,
                    "event_pattern",
                    err.to_string(),
                )),
            }
        }
        let mut exceptions = MatcherBuilder::new();
        let mut exception_owners = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            for (number, exception) in rule.noise.exceptions.iter().enumerate() {
                match Pattern::parse(&exception.event_pattern) {
                    Ok(pattern) => {
                        exceptions.add_pattern(&format!("{}#{number}", rule.name), pattern);
                        exception_owners.push((index, number));
                    }
                    Err(err) => problems.push(FileProblem::new(
                        &rule.source,
                        format!("exceptions[{number}].event_pattern"),
                        err.to_string(),
                    )),
                }
            }
        }
        if !problems.is_empty() {
            return Err(RulesError::InvalidFiles(problems));
        }
        Ok(CompiledRules {
            rules: self.rules.clone(),
            matcher: builder.build(),
            exceptions: exceptions.build(),
            exception_owners,
        })
    }

    /// Sorts the rules by name and reports duplicate names; `problems` are those found so far.
    fn from_rules(
        mut rules: Vec<Rule>,
        mut problems: Vec<FileProblem>,
    ) -> Result<RulePack, RulesError> {
        let mut first_source: HashMap<&str, &str> = HashMap::new();
        for rule in &rules {
            if let Some(first) = first_source.get(rule.name.as_str()) {
                problems.push(FileProblem::new(
                    &rule.source,
                    "name",
                    format!("rule {:?} is also defined in {first}", rule.name),
                ));
            } else {
                first_source.insert(&rule.name, &rule.source);
            }
        }
        if !problems.is_empty() {
            return Err(RulesError::InvalidFiles(problems));
        }
        rules.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(RulePack { rules })
    }
}

/// The built-in rule files, read as a directory would be.
pub(crate) fn load_builtin() -> Result<RulePack, RulesError> {
    let mut fixtures = Fixtures::builtin();
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    for (stem, text) in builtin::RULE_FILES {
        let display = format!("rules/{stem}.toml");
        if let Some(rule) = parse_rule_file(&display, stem, text, &mut fixtures, &mut problems) {
            rules.push(rule);
        }
    }
    RulePack::from_rules(rules, problems)
}

/// The `*.toml` files directly in `dir`, sorted by path.
fn rule_files_in(dir: &Path) -> Result<Vec<PathBuf>, RulesError> {
    let io_error = |source| RulesError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A pack compiled into one immutable matcher, with each rule's metadata by [`RuleId`].
/// `Send + Sync`: share one across matching threads.
#[derive(Debug)]
pub struct CompiledRules {
    rules: Vec<Rule>,
    matcher: Matcher,
    /// Every rule's exceptions in one matcher; `exception_owners[id]` is (rule index, exception
    /// index).
    exceptions: Matcher,
    exception_owners: Vec<(usize, usize)>,
}

impl CompiledRules {
    /// The matcher; its rule ids index [`rule`](CompiledRules::rule).
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The rule behind a matcher's id.
    ///
    /// # Panics
    ///
    /// When `id` did not come from this matcher.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// The rules, in id order (sorted by name).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first of `rule`'s exceptions that matches `event`, which silences the alert; `None`
    /// when the alert stands (or the rule has no exceptions, which costs nothing).
    ///
    /// ```
    /// use trailbell::rules::RulePack;
    ///
    /// let compiled = RulePack::builtin().compile()?;
    /// let event = br#"{"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail",
    ///     "detail": {"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}}"#;
    /// let id = compiled.matcher().matches(event)?[0];
    /// assert!(compiled.suppressed_by(id, event).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suppressed_by(&self, rule: RuleId, event: &[u8]) -> Option<&Exception> {
        self.suppressed_at(rule.index(), event)
    }

    /// [`suppressed_by`](CompiledRules::suppressed_by) for the rule at `rule_index`.
    pub(crate) fn suppressed_at(&self, rule_index: usize, event: &[u8]) -> Option<&Exception> {
        if self.rules.get(rule_index)?.noise.exceptions.is_empty() {
            return None;
        }
        let matched = self.exceptions.matches(event).ok()?;
        matched.into_iter().find_map(|id| {
            let (owner, number) = *self.exception_owners.get(id.index())?;
            (owner == rule_index).then(|| &self.rules[owner].noise.exceptions[number])
        })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn compiled_rules_are_send_and_sync() {
        assert_send_sync::<CompiledRules>();
        assert_send_sync::<RulePack>();
    }

    /// A fresh directory for one test, under the system's temporary directory.
    fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("trailbell-pack-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("events")).expect("scratch directory");
        dir
    }

    fn rule_file(name: &str, pattern: &str, event: &str) -> String {
        format!(
            "name = \"{name}\"\ntitle = \"t\"\nseverity = \"info\"\ndescription = \"d\"\n\
             event_pattern = '{pattern}'\n[[tests]]\nname = \"t\"\nevent = \"{event}\"\nmatches = true\n"
        )
    }

    fn invalid_files(result: Result<RulePack, RulesError>) -> Vec<String> {
        match result {
            Err(RulesError::InvalidFiles(problems)) => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected invalid files, got {other:?}"),
        }
    }

    #[test]
    fn a_directory_loads_its_toml_files_sorted_by_rule_name() {
        let dir = scratch_dir("dir");
        fs::write(dir.join("b.toml"), rule_file("b", "{}", "iam-create-user")).expect("write");
        fs::write(dir.join("a.toml"), rule_file("a", "{}", "mine")).expect("write");
        fs::write(dir.join("events/mine.json"), r#"{"mine": true}"#).expect("write");
        fs::write(dir.join("README.md"), "not a rule").expect("write");
        fs::create_dir_all(dir.join("sub")).expect("mkdir");
        fs::write(dir.join("sub/c.toml"), "not even TOML [").expect("write");

        let pack = RulePack::load(&dir).expect("valid rules");
        let names: Vec<&str> = pack.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(pack.rules()[0].tests[0].event, r#"{"mine": true}"#);
        assert_eq!(
            Some(pack.rules()[1].tests[0].event.as_str()),
            builtin::event("iam-create-user")
        );
        assert_eq!(
            pack.rules()[0].source,
            dir.join("a.toml").display().to_string()
        );

        let one = RulePack::load(&dir.join("b.toml")).expect("valid rule");
        assert_eq!(one.rules().len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_local_fixture_shadows_a_builtin_one_and_must_be_an_event() {
        let dir = scratch_dir("shadow");
        fs::write(
            dir.join("a.toml"),
            rule_file("a", "{}", "console-login-iam-mfa"),
        )
        .expect("write");
        fs::write(dir.join("events/console-login-iam-mfa.json"), "[1]").expect("write");
        let found = invalid_files(RulePack::load(&dir));
        let fixture = dir.join("events/console-login-iam-mfa.json");
        assert_eq!(
            found,
            [format!(
                "{}: tests[0].event: fixture {} is not a valid event: invalid event at byte 0: event is not a JSON object",
                dir.join("a.toml").display(),
                fixture.display()
            )]
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_file_of_a_directory_is_checked_before_failing() {
        let dir = scratch_dir("many");
        fs::write(dir.join("a.toml"), "severity = 1").expect("write");
        fs::write(dir.join("b.toml"), rule_file("b", "[]", "iam-create-user")).expect("write");
        fs::write(dir.join("c.toml"), [0xff, 0xfe]).expect("write");
        let found = invalid_files(RulePack::load(&dir));
        let files: Vec<&str> = found
            .iter()
            .map(|p| p.split(": ").next().unwrap_or_default())
            .collect();
        let a = dir.join("a.toml").display().to_string();
        let b = dir.join("b.toml").display().to_string();
        let c = dir.join("c.toml").display().to_string();
        assert_eq!(files, [&a, &a, &a, &a, &a, &b, &c], "{found:#?}");
        assert!(found.last().is_some_and(|p| p.ends_with(": not UTF-8")));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_without_rule_files_is_an_error() {
        let dir = scratch_dir("empty");
        assert!(matches!(
            RulePack::load(&dir),
            Err(RulesError::NoRuleFiles(path)) if path == dir
        ));
        assert!(matches!(
            RulePack::load(&dir.join("missing.toml")),
            Err(RulesError::Io { .. })
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn duplicate_rule_names_name_both_files() {
        let rule = |source: &str| Rule {
            name: "same".to_owned(),
            title: "t".to_owned(),
            severity: Severity::Info,
            description: "d".to_owned(),
            event_pattern: "{}".to_owned(),
            filter_pattern: None,
            cis: Vec::new(),
            noise: NoiseSettings::default(),
            tests: Vec::new(),
            source: source.to_owned(),
            metadata: Metadata::default(),
        };
        let found = invalid_files(RulePack::from_rules(
            vec![rule("one/same.toml"), rule("two/same.toml")],
            Vec::new(),
        ));
        assert_eq!(
            found,
            ["two/same.toml: name: rule \"same\" is also defined in one/same.toml"]
        );
    }

    #[test]
    fn compiled_ids_name_the_rules_they_came_from() {
        let compiled = RulePack::builtin().compile().expect("compiles");
        assert_eq!(compiled.len(), RulePack::builtin().rules().len());
        assert!(!compiled.is_empty());
        let mut seen = 0;
        for rule in compiled.rules() {
            for test in &rule.tests {
                for id in compiled
                    .matcher()
                    .matches(test.event.as_bytes())
                    .expect("readable")
                {
                    assert_eq!(compiled.matcher().rule_name(id), compiled.rule(id).name);
                    seen += 1;
                }
            }
        }
        assert!(seen > 0);
    }
}
