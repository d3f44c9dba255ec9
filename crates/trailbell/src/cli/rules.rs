//! `trailbell rules`: list a rule pack, run its tests.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::rules::{Rule, RulePack, Severity, TestReport};
use trailbell::sanitize;

use super::EXIT_NEGATIVE;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RulesCommand {
    /// Run every rule's tests with the compiled and the reference matcher; print each failure.
    ///
    /// Exits 0 when every test passes, 1 when any fails, 2 when the rule files are invalid.
    Test(TestArgs),
    /// List the rules: name, severity and title.
    List(ListArgs),
    /// Convert a filter pattern into an event pattern or back, where an exact translation exists.
    ///
    /// Exits 0 printing the translation, 1 saying why there is none, 2 on unreadable input.
    Convert(super::rules_convert::ConvertArgs),
    /// Convert Sigma rules (logsource product aws, service cloudtrail) into rule files.
    ///
    /// Prints each converted file, or writes it to --out as <name>.toml. What cannot be expressed
    /// is refused with the reason (on standard error). Exits 0 when every rule converted, 1 when
    /// some were refused, 2 when a path cannot be read.
    ImportSigma(ImportSigmaArgs),
}

#[derive(Debug, clap::Args)]
struct ImportSigmaArgs {
    /// Sigma rule files (.yml, .yaml), or directories searched recursively for them.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// Print how many rules were converted and refused, and each refusal, instead of the files.
    #[arg(long)]
    report: bool,
    /// Write each converted rule to DIR/<name>.toml.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// A rule file (.toml) or a directory of them. [default: the built-in pack]
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// A rule file (.toml) or a directory of them. [default: the built-in pack]
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// How to print the list: an aligned table, one JSON array with every rule's details, or
    /// Markdown (for the built-in pack, docs/RULES.md itself).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        RulesCommand::Test(args) => test(args),
        RulesCommand::List(args) => list(args),
        RulesCommand::Convert(args) => super::rules_convert::convert(args),
        RulesCommand::ImportSigma(args) => import_sigma(args),
    }
}

/// The built-in pack, or the rules at `path`.
fn load(path: Option<&Path>) -> anyhow::Result<RulePack> {
    match path {
        None => Ok(RulePack::builtin()),
        Some(path) => {
            RulePack::load(path).with_context(|| format!("invalid rules {}", path.display()))
        }
    }
}

fn test(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let pack = load(args.path.as_deref())?;
    let report = pack.compile().context("invalid rules")?.run_tests();
    let mut out = BufWriter::new(io::stdout().lock());
    write_report(&report, &mut out).context("failed to write output")?;
    out.flush().context("failed to write output")?;
    Ok(if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

/// The `.yml`/`.yaml` files under `path` (itself, or recursively in a directory), sorted.
fn sigma_files(path: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("failed to read {}", path.display()))?;
    if metadata.is_file() {
        found.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("failed to read {}", path.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("failed to read {}", path.display()))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            sigma_files(&entry, found)?;
        } else if entry
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            found.push(entry);
        }
    }
    Ok(())
}

fn import_sigma(args: &ImportSigmaArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.paths {
        sigma_files(path, &mut files)?;
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut refused = Vec::new();
    let mut converted = 0;
    let mut names = std::collections::HashMap::new();
    for file in &files {
        let stem = file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    refused.push((file.clone(), "not UTF-8".to_owned()));
                    continue;
                }
            },
            Err(err) => anyhow::bail!("failed to read {}: {err}", file.display()),
        };
        let rule = match trailbell::rules::sigma::convert(&stem, &text) {
            Ok(rule) => rule,
            Err(why) => {
                refused.push((file.clone(), why.to_string()));
                continue;
            }
        };
        if let Some(first) = names.insert(rule.name.clone(), file.clone()) {
            refused.push((
                file.clone(),
                format!("its name {} is also {}'s", rule.name, first.display()),
            ));
            continue;
        }
        converted += 1;
        match &args.out {
            Some(dir) => {
                let target = dir.join(format!("{}.toml", rule.name));
                std::fs::write(&target, &rule.text)
                    .with_context(|| format!("failed to write {}", target.display()))?;
            }
            None if !args.report => {
                writeln!(out, "# {}\n{}", rule.name, rule.text)
                    .context("failed to write output")?;
            }
            None => {}
        }
    }
    for (file, why) in &refused {
        let line = format!("refused {}: {why}", file.display());
        eprintln!("{}", sanitize::for_terminal(&line));
    }
    if args.report {
        let total = converted + refused.len();
        let percent = if total == 0 {
            0.0
        } else {
            100.0 * converted as f64 / total as f64
        };
        writeln!(
            out,
            "{converted} converted, {} refused, of {total} Sigma rules ({percent:.0}% converted)",
            refused.len()
        )
        .context("failed to write output")?;
    }
    out.flush().context("failed to write output")?;
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

/// One line per failure, a warning per rule without tests, then `N passed, M failed`.
fn write_report(report: &TestReport, out: &mut impl Write) -> io::Result<()> {
    for failure in &report.failures {
        let line = format!(
            "FAIL {} / {:?}: {} ({})",
            failure.rule,
            failure.test,
            failure.describe(),
            failure.source
        );
        writeln!(out, "{}", sanitize::for_terminal(&line))?;
    }
    for difference in &report.differences {
        let (event, filter) = if difference.event_pattern_matches {
            ("matches", "does not")
        } else {
            ("does not match", "matches")
        };
        let line = format!(
            "differs {} / {:?}: the event pattern {event}, the filter pattern {filter}",
            difference.rule, difference.test
        );
        writeln!(out, "{}", sanitize::for_terminal(&line))?;
    }
    for rule in &report.untested {
        let line = format!("warning: rule {rule:?} has no tests");
        writeln!(out, "{}", sanitize::for_terminal(&line))?;
    }
    writeln!(
        out,
        "{} passed, {} failed",
        report.passed,
        report.failures.len()
    )
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let pack = load(args.path.as_deref())?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Table => write_table(pack.rules(), &mut out),
        Format::Json => write_json(pack.rules(), &mut out),
        Format::Markdown => {
            let page = match args.path {
                None => trailbell::rules::builtin_markdown(),
                Some(_) => trailbell::rules::markdown(pack.rules(), false, ""),
            };
            out.write_all(page.as_bytes())
        }
    }
    .and_then(|()| out.flush())
    .context("failed to write output")?;
    Ok(ExitCode::SUCCESS)
}

/// `NAME  SEVERITY  TITLE`, aligned, every cell escaped for the terminal.
fn write_table(rules: &[Rule], out: &mut impl Write) -> io::Result<()> {
    let rows: Vec<[String; 3]> = rules
        .iter()
        .map(|rule| {
            [
                sanitize::for_terminal(&rule.name),
                rule.severity.to_string(),
                sanitize::for_terminal(&rule.title),
            ]
        })
        .collect();
    let name_width = rows
        .iter()
        .map(|row| row[0].chars().count())
        .chain(["NAME".len()])
        .max()
        .unwrap_or_default();
    let severity_width = Severity::ALL
        .iter()
        .map(|severity| severity.as_str().len())
        .chain(["SEVERITY".len()])
        .max()
        .unwrap_or_default();
    writeln!(
        out,
        "{:<name_width$}  {:<severity_width$}  TITLE",
        "NAME", "SEVERITY"
    )?;
    for [name, severity, title] in &rows {
        writeln!(
            out,
            "{name:<name_width$}  {severity:<severity_width$}  {title}"
        )?;
    }
    Ok(())
}

/// One JSON array: every rule's name, severity, title, description, CIS references, source file
/// and number of tests. JSON escapes control characters itself.
fn write_json(rules: &[Rule], out: &mut impl Write) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Listed<'a> {
        name: &'a str,
        severity: Severity,
        title: &'a str,
        description: &'a str,
        cis: &'a [String],
        attack: &'a [String],
        response: &'a str,
        references: &'a [String],
        source: &'a str,
        tests: usize,
    }

    let listed: Vec<Listed<'_>> = rules
        .iter()
        .map(|rule| Listed {
            name: &rule.name,
            severity: rule.severity,
            title: &rule.title,
            description: &rule.description,
            cis: &rule.cis,
            attack: &rule.metadata.attack,
            response: &rule.metadata.response,
            references: &rule.metadata.references,
            source: &rule.source,
            tests: rule.tests.len(),
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &listed)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, severity: Severity, title: &str) -> Rule {
        Rule {
            name: name.to_owned(),
            title: title.to_owned(),
            severity,
            description: "d".to_owned(),
            event_pattern: "{}".to_owned(),
            filter_pattern: None,
            cis: Vec::new(),
            noise: trailbell::noise::NoiseSettings::default(),
            tests: Vec::new(),
            source: format!("rules/{name}.toml"),
            metadata: trailbell::rules::Metadata::default(),
        }
    }

    fn table(rules: &[Rule]) -> String {
        let mut out = Vec::new();
        write_table(rules, &mut out).expect("writes to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn the_table_is_aligned_on_the_longest_name() {
        let text = table(&[
            rule("a", Severity::High, "Short"),
            rule("longer-name", Severity::Info, "Other"),
        ]);
        assert_eq!(
            text,
            "NAME         SEVERITY  TITLE\n\
             a            high      Short\n\
             longer-name  info      Other\n"
        );
    }

    #[test]
    fn titles_cannot_reach_the_terminal_raw() {
        let text = table(&[rule("a", Severity::Low, "evil\u{1b}[2J\ntitle")]);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn the_report_ends_with_the_counts() {
        let mut out = Vec::new();
        let report = TestReport {
            passed: 3,
            failures: Vec::new(),
            untested: vec!["lonely".to_owned()],
            differences: Vec::new(),
        };
        write_report(&report, &mut out).expect("writes to a Vec");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "warning: rule \"lonely\" has no tests\n3 passed, 0 failed\n"
        );
    }
}
