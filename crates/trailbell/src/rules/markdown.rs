//! A pack as Markdown: what `trailbell rules list --format markdown` prints, and what
//! docs/RULES.md is (a test keeps the committed page equal to this output).
//!
//! The built-in pack's page wraps the generated tables in the prose of `markdown/head.md` and
//! `markdown/tail.md`; a user's pack gets the tables alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::metadata::Metadata;
use super::pack::Rule;

const HEAD: &str = include_str!("markdown/head.md");
const TAIL: &str = include_str!("markdown/tail.md");

/// The page for `rules`: with the built-in pack's prose around it when `builtin`, and the
/// `extra` sections (already Markdown) after the tables.
pub fn markdown(rules: &[Rule], builtin: bool, extra: &str) -> String {
    let mut out = String::new();
    if builtin {
        out.push_str(HEAD);
        out.push('\n');
    } else {
        out.push_str("# Rules\n\n");
    }
    rules_table(rules, &mut out);
    techniques_table(rules, &mut out);
    parameters_table(rules, &mut out);
    out.push_str(extra);
    if builtin {
        out.push('\n');
        out.push_str(TAIL);
    }
    out
}

/// docs/RULES.md: the built-in pack's page, with its coverage of Stratus Red Team's techniques.
pub fn builtin_markdown() -> String {
    let mut coverage = String::new();
    stratus_coverage(&mut coverage);
    markdown(super::RulePack::builtin().rules(), true, &coverage)
}

/// `rules/coverage/stratus-red-team.toml`: what the pack raises for each Stratus Red Team AWS
/// technique (checked against the detonation logs by `tests/it/scan.rs`).
pub const STRATUS_COVERAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../rules/coverage/stratus-red-team.toml"
));

/// One technique of [`STRATUS_COVERAGE`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StratusTechnique {
    /// Stratus Red Team's id, `aws.<tactic>.<name>`.
    pub id: String,
    /// Whether testdata/stratus/ holds its published detonation log.
    pub detonation_log: bool,
    /// The rules the pack raises for it (checked when there is a log).
    pub rules: Vec<String>,
    /// Why coverage is partial or missing, or how it is reached.
    #[serde(default)]
    pub note: String,
}

/// The techniques of [`STRATUS_COVERAGE`].
///
/// # Panics
///
/// When the embedded file is invalid, which the crate's tests rule out.
pub fn stratus_techniques() -> Vec<StratusTechnique> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        technique: Vec<StratusTechnique>,
    }
    match toml::from_str::<File>(STRATUS_COVERAGE) {
        Ok(file) => file.technique,
        Err(err) => panic!("rules/coverage/stratus-red-team.toml is invalid: {err}"),
    }
}

fn stratus_coverage(out: &mut String) {
    let techniques = stratus_techniques();
    let logged: Vec<&StratusTechnique> = techniques.iter().filter(|t| t.detonation_log).collect();
    // Meaningful: an alert about the technique, not only the generic low "access denied".
    let raised = logged
        .iter()
        .filter(|t| t.rules.iter().any(|rule| rule != "unauthorized-api-call"))
        .count();
    let _ = write!(
        out,
        "\n## Coverage of Stratus Red Team's AWS techniques\n\n\
         [Stratus Red Team](https://github.com/DataDog/stratus-red-team) detonates attack techniques \
         against a real account and publishes the CloudTrail records each one leaves. Of its {} AWS \
         techniques, {} have a published detonation log; the built-in pack raises a meaningful alert (more \
         than the generic `unauthorized-api-call`) for {raised} of those {}, checked by running `trailbell scan` over each log (`testdata/stratus/`, \
         Apache-2.0) in the test `stratus_red_team_detonations_raise_the_expected_alerts`. For the \
         others the table says what the pack would raise, and what it cannot see and why. The data is \
         [`rules/coverage/stratus-red-team.toml`](../rules/coverage/stratus-red-team.toml).\n\n\
         | technique | log | rules raised | note |\n|---|---|---|---|\n",
        techniques.len(),
        logged.len(),
        logged.len()
    );
    for technique in &techniques {
        let rules: Vec<String> = technique
            .rules
            .iter()
            .map(|name| format!("`{}`", code(name)))
            .collect();
        let rules = if rules.is_empty() {
            "none".to_owned()
        } else {
            rules.join(", ")
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            code(&technique.id),
            if technique.detonation_log {
                "yes"
            } else {
                "no"
            },
            rules,
            escape(&technique.note)
        );
    }
}

/// One row per rule: name, severity, title, ATT&CK ids, CIS numbers.
fn rules_table(rules: &[Rule], out: &mut String) {
    out.push_str("| rule | severity | what it catches | ATT&CK | CIS |\n|---|---|---|---|---|\n");
    for rule in rules {
        let mut what = escape(&rule.title);
        if let Some(threshold) = &rule.noise.threshold {
            let _ = write!(
                what,
                " (fires at {} matches within {})",
                threshold.count,
                humantime::format_duration(threshold.within)
            );
        }
        let attack: Vec<String> = rule.metadata.attack.iter().map(|id| link(id)).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            code(&rule.name),
            rule.severity,
            what,
            attack.join(", "),
            rule.cis.join(", ")
        );
    }
}

/// Every technique named by a rule, with the rules that name it.
fn techniques_table(rules: &[Rule], out: &mut String) {
    let mut by_technique: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rule in rules {
        for id in &rule.metadata.attack {
            by_technique.entry(id).or_default().push(&rule.name);
        }
    }
    if by_technique.is_empty() {
        return;
    }
    out.push_str("\n## By ATT&CK technique\n\n| technique | rules |\n|---|---|\n");
    for (id, names) in by_technique {
        let names: Vec<String> = names
            .iter()
            .map(|name| format!("`{}`", code(name)))
            .collect();
        let _ = writeln!(out, "| {} | {} |", link(id), names.join(", "));
    }
}

/// Every pack parameter: its rule, environment variable, default and meaning.
fn parameters_table(rules: &[Rule], out: &mut String) {
    let with: Vec<&Rule> = rules
        .iter()
        .filter(|rule| !rule.metadata.parameters.is_empty())
        .collect();
    if with.is_empty() {
        return;
    }
    out.push_str(
        "\n## Pack parameters\n\n\
         A rule may take values from where trailbell runs: set the environment variable (values \
         comma-separated) for `scan`, `deploy`, `run` and the Lambda alike; unset, the default \
         holds. See [decisions/0033-pack-parameters.md](decisions/0033-pack-parameters.md).\n\n\
         | rule | parameter | environment variable | default | meaning |\n|---|---|---|---|---|\n",
    );
    for rule in with {
        for parameter in &rule.metadata.parameters {
            let default: Vec<String> = parameter
                .default
                .iter()
                .map(|value| format!("`{}`", code(value)))
                .collect();
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` | {} | {} |",
                code(&rule.name),
                code(&parameter.name),
                parameter.variable(),
                default.join(", "),
                escape(&parameter.description)
            );
        }
    }
}

fn link(id: &str) -> String {
    format!("[{}]({})", escape(id), Metadata::attack_url(id))
}

/// A rule name for a code span: its characters are checked when read, so only a backtick or a
/// bar (from a rule made elsewhere) needs care; both are dropped.
fn code(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '`' | '|' | '\n'))
        .collect()
}

/// Text safe in a table cell: no line breaks, and no character Markdown or HTML would read.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RulePack;

    #[test]
    fn cells_cannot_break_the_table_or_run_html() {
        assert_eq!(escape("a|b\n<script>`x`"), "a\\|b \\<script\\>\\`x\\`");
    }

    #[test]
    fn every_builtin_rule_has_a_row_naming_its_techniques() {
        let pack = RulePack::builtin();
        let page = markdown(pack.rules(), true, "");
        for rule in pack.rules() {
            let row = page
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", rule.name)))
                .unwrap_or_else(|| panic!("no row for {}", rule.name));
            for id in &rule.metadata.attack {
                assert!(row.contains(&format!("[{id}]")), "{row}");
            }
        }
    }
}
