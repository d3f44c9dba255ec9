//! A scan's report: each alert as it is found, then a summary per rule, as a table for people or
//! as JSON for programs.
//!
//! - `table`: one row per alert, then one per rule. Every cell is escaped for the terminal
//!   ([`sanitize::for_terminal_capped`]) and capped to its column's width, so nothing in an event
//!   can break the layout or reach the terminal raw.
//! - `json`: one document, `{"alerts": [...], "summary": [...], "stats": {...}}`, written as it
//!   goes (the alerts are never all held in memory).
//! - `jsonl`: one object per line: `{"kind": "alert", ...}` for each alert, then
//!   `{"kind": "summary", ...}` for each rule and a last `{"kind": "stats", ...}`.

use std::io::{self, Write};

use serde::Serialize;
use trailbell_pattern::RuleId;

use super::{EventSummary, RuleSummary, Stats};
use crate::rules::{CompiledRules, Severity};
use crate::sanitize;

/// A report's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// JSON lines.
    Jsonl,
}

/// One alert in the JSON formats.
#[derive(Serialize)]
struct AlertJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    #[serde(flatten)]
    event: &'a EventSummary,
}

/// One rule's summary in the JSON formats.
#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    count: u64,
    first_seen: &'a str,
    last_seen: &'a str,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    kind: &'static str,
    #[serde(flatten)]
    stats: &'a Stats,
}

/// The table's alert columns: title and width in characters (the last is not padded).
const ALERT_COLUMNS: [(&str, usize); 9] = [
    ("TIME", 20),
    ("SEVERITY", 8),
    ("RULE", 44),
    ("ACCOUNT", 12),
    ("REGION", 14),
    ("WHO", 48),
    ("WHAT", 48),
    ("SOURCE IP", 39),
    ("EVENT ID", 36),
];

const SUMMARY_COLUMNS: [(&str, usize); 6] = [
    ("RULE", 44),
    ("SEVERITY", 8),
    ("ALERTS", 8),
    ("FIRST SEEN", 20),
    ("LAST SEEN", 20),
    ("TITLE", 80),
];

/// Writes a report to `out` as the scan goes.
pub struct Report<'r, W: Write> {
    format: Format,
    rules: &'r CompiledRules,
    out: W,
    alerts: u64,
}

impl<'r, W: Write> Report<'r, W> {
    /// A report in `format` about `rules`' alerts.
    pub fn new(format: Format, rules: &'r CompiledRules, out: W) -> Report<'r, W> {
        Report {
            format,
            rules,
            out,
            alerts: 0,
        }
    }

    /// One alert.
    pub fn alert(&mut self, rule: RuleId, event: &EventSummary) -> io::Result<()> {
        let rule = self.rules.rule(rule);
        let first = self.alerts == 0;
        self.alerts += 1;
        match self.format {
            Format::Table => {
                if first {
                    write_row(&mut self.out, &ALERT_COLUMNS, &ALERT_COLUMNS.map(|c| c.0))?;
                }
                let severity = rule.severity.to_string();
                let cells = [
                    event.time.as_str(),
                    severity.as_str(),
                    rule.name.as_str(),
                    event.account.as_str(),
                    event.region.as_str(),
                    event.who.as_str(),
                    event.what.as_str(),
                    event.source_ip.as_str(),
                    event.event_id.as_str(),
                ];
                write_row(&mut self.out, &ALERT_COLUMNS, &cells)
            }
            Format::Json => {
                self.out
                    .write_all(if first { b"{\"alerts\": [\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, &alert_json(None, rule, event))?;
                Ok(())
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &alert_json(Some("alert"), rule, event))?;
                self.out.write_all(b"\n")
            }
        }
    }

    /// The summary per rule and the counters; flushes the output.
    pub fn finish(&mut self, summaries: &[RuleSummary], stats: &Stats) -> io::Result<()> {
        match self.format {
            Format::Table => {
                if self.alerts > 0 {
                    self.out.write_all(b"\n")?;
                    write_row(
                        &mut self.out,
                        &SUMMARY_COLUMNS,
                        &SUMMARY_COLUMNS.map(|c| c.0),
                    )?;
                } else {
                    self.out.write_all(b"No alerts.\n")?;
                }
                for summary in summaries {
                    let rule = self.rules.rule(summary.rule);
                    let (severity, count) = (rule.severity.to_string(), summary.count.to_string());
                    let cells = [
                        rule.name.as_str(),
                        severity.as_str(),
                        count.as_str(),
                        summary.first_seen.as_str(),
                        summary.last_seen.as_str(),
                        rule.title.as_str(),
                    ];
                    write_row(&mut self.out, &SUMMARY_COLUMNS, &cells)?;
                }
            }
            Format::Json => {
                self.out.write_all(if self.alerts == 0 {
                    b"{\"alerts\": [],\n\"summary\": ["
                } else {
                    b"\n],\n\"summary\": ["
                })?;
                for (i, summary) in summaries.iter().enumerate() {
                    self.out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut self.out, &summary_json(self.rules, None, summary))?;
                }
                self.out.write_all(b"\n],\n\"stats\": ")?;
                serde_json::to_writer(&mut self.out, stats)?;
                self.out.write_all(b"}\n")?;
            }
            Format::Jsonl => {
                for summary in summaries {
                    let line = summary_json(self.rules, Some("summary"), summary);
                    serde_json::to_writer(&mut self.out, &line)?;
                    self.out.write_all(b"\n")?;
                }
                serde_json::to_writer(
                    &mut self.out,
                    &StatsJson {
                        kind: "stats",
                        stats,
                    },
                )?;
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()
    }

    /// Flushes what was written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn summary_json<'a>(
    rules: &'a CompiledRules,
    kind: Option<&'static str>,
    summary: &'a RuleSummary,
) -> SummaryJson<'a> {
    let rule = rules.rule(summary.rule);
    SummaryJson {
        kind,
        rule: &rule.name,
        title: &rule.title,
        severity: rule.severity,
        count: summary.count,
        first_seen: &summary.first_seen,
        last_seen: &summary.last_seen,
    }
}

fn alert_json<'a>(
    kind: Option<&'static str>,
    rule: &'a crate::rules::Rule,
    event: &'a EventSummary,
) -> AlertJson<'a> {
    AlertJson {
        kind,
        rule: &rule.name,
        title: &rule.title,
        severity: rule.severity,
        event,
    }
}

/// One table row: each cell escaped, capped and padded to its column.
fn write_row(out: &mut impl Write, columns: &[(&str, usize)], cells: &[&str]) -> io::Result<()> {
    let mut line = String::new();
    for (i, ((_, width), cell)) in columns.iter().zip(cells).enumerate() {
        let text = fit(cell, *width);
        line.push_str(&text);
        if i + 1 < columns.len() {
            let used = text.chars().count();
            line.extend(std::iter::repeat_n(' ', width.saturating_sub(used) + 2));
        }
    }
    line.truncate(line.trim_end().len());
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// `text` escaped for the terminal and cut to `width` characters, an ellipsis marking a cut.
fn fit(text: &str, width: usize) -> String {
    let text = if text.is_empty() { "-" } else { text };
    let escaped = sanitize::for_terminal_capped(text, width * 2);
    if escaped.chars().count() <= width {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_capped_and_padded() {
        let mut out = Vec::new();
        write_row(
            &mut out,
            &[("A", 5), ("B", 4), ("C", 3)],
            &["ab\u{1b}[31m", "", "last cell"],
        )
        .expect("in memory");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "ab\\u…  -     la…\n"
        );
    }

    #[test]
    fn short_cells_are_kept() {
        assert_eq!(fit("us-east-1", 14), "us-east-1");
        assert_eq!(fit("x\ny", 14), "x\\ny");
        assert_eq!(fit("", 3), "-");
    }
}
