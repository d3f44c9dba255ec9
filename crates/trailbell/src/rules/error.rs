//! Why rules could not be loaded: every problem, each with the file and key it is in.

use std::fmt;
use std::io;
use std::path::PathBuf;

use trailbell_pattern::PatternError;

use crate::sanitize;

/// Why rules could not be loaded: a JSON rules file for [`RuleSet`](super::RuleSet), or rule files
/// for [`RulePack`](super::RulePack).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The text is not JSON, or not a JSON object.
    #[error(transparent)]
    Json(serde_json::Error),
    /// One or more rules are invalid; every one of them is listed, sorted by rule name.
    #[error("{}", format_problems(.0))]
    InvalidRules(Vec<RuleProblem>),
    /// A rule file or directory could not be read at all.
    #[error("failed to read {}", sanitize::for_terminal(&.path.display().to_string()))]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A directory holds no rule file (`*.toml`).
    #[error("no rule files (*.toml) in {}", sanitize::for_terminal(&.0.display().to_string()))]
    NoRuleFiles(PathBuf),
    /// One or more rule files are invalid; every problem of every file is listed, in file order.
    #[error("{}", format_file_problems(.0))]
    InvalidFiles(Vec<FileProblem>),
}

/// One invalid rule in a JSON rules file.
#[derive(Debug, thiserror::Error)]
pub enum RuleProblem {
    /// The rule's event pattern is not valid.
    #[error(transparent)]
    Pattern(PatternError),
    /// Another rule earlier in the file has the same name.
    #[error("rule {0:?}: duplicate rule name")]
    DuplicateName(String),
}

impl RuleProblem {
    /// The name of the invalid rule.
    pub fn rule(&self) -> &str {
        match self {
            RuleProblem::Pattern(err) => err.rule().unwrap_or_default(),
            RuleProblem::DuplicateName(name) => name,
        }
    }
}

/// One problem in one rule file: the file, the key path inside it and what is wrong.
///
/// Displays as `rules/x.toml: tests[1].matches: expected a boolean, found a string`, or without
/// the key path when the problem is the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    file: String,
    key: String,
    message: String,
}

impl FileProblem {
    pub(crate) fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> FileProblem {
        FileProblem {
            file: file.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// The file, as it was named when loading (`rules/x.toml` for the built-in pack).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The key path inside the file (`event_pattern`, `tests[0].event`), empty when the problem
    /// is the file as a whole.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong, in one lowercase line (an event pattern's reason is in EventBridge's words).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for FileProblem {}

/// `N invalid rule(s):` and then one indented line per problem, each escaped for the terminal so
/// that nothing in a rule name or a pattern can break the list's layout.
fn format_problems(problems: &[RuleProblem]) -> String {
    let plural = if problems.len() == 1 { "" } else { "s" };
    let mut text = format!("{} invalid rule{plural}:", problems.len());
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&sanitize::for_terminal(&problem.to_string()));
    }
    text
}

/// `N problem(s) in rule files:` and then one indented, escaped line per problem.
fn format_file_problems(problems: &[FileProblem]) -> String {
    let plural = if problems.len() == 1 { "" } else { "s" };
    let mut text = format!("{} problem{plural} in rule files:", problems.len());
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&sanitize::for_terminal(&problem.to_string()));
    }
    text
}
