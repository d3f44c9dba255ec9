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
    out.push_str(extra);
    if builtin {
        out.push('\n');
        out.push_str(TAIL);
    }
    out
}

/// docs/RULES.md: the built-in pack's page.
pub fn builtin_markdown() -> String {
    markdown(super::RulePack::builtin().rules(), true, "")
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
