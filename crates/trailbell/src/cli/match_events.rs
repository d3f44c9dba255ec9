//! `trailbell match`: run every event of a JSON-lines stream through a rules file.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::rules::RuleSet;

use super::EXIT_NEGATIVE;

/// Buffer size for reading events and writing answers.
const BUFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rules: a JSON file holding {"rule name": event pattern, ...}.
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    /// The events, one JSON object per line; blank lines are skipped. [default: standard input]
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
}

/// Prints, for each event line, the sorted JSON array of the names of the rules it matches, or `null`
/// for a malformed line (reported on stderr with its line number). Succeeds when every line was an
/// event, answers [`EXIT_NEGATIVE`] when some were not.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let rules_path = args.rules.display();
    let rules_text = fs::read_to_string(&args.rules)
        .with_context(|| format!("failed to read rules file {rules_path}"))?;
    let rules = RuleSet::from_json(&rules_text)
        .with_context(|| format!("invalid rules file {rules_path}"))?;

    let mut out = BufWriter::with_capacity(BUFFER_BYTES, io::stdout().lock());
    let mut diagnostics = io::stderr().lock();
    let summary = match &args.events {
        Some(path) => {
            let file = File::open(path)
                .with_context(|| format!("failed to open events file {}", path.display()))?;
            let input = BufReader::with_capacity(BUFFER_BYTES, file);
            match_lines(&rules, input, &mut out, &mut diagnostics)
                .map_err(|err| err.into_anyhow(&format!("events file {}", path.display())))?
        }
        None => {
            let input = BufReader::with_capacity(BUFFER_BYTES, io::stdin().lock());
            match_lines(&rules, input, &mut out, &mut diagnostics)
                .map_err(|err| err.into_anyhow("standard input"))?
        }
    };

    Ok(if summary.malformed_lines > 0 {
        ExitCode::from(EXIT_NEGATIVE)
    } else {
        ExitCode::SUCCESS
    })
}

/// What happened to the lines of one input.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    events: u64,
    malformed_lines: u64,
}

/// An I/O failure while matching, on one side or the other.
#[derive(Debug)]
enum StreamError {
    Read(io::Error),
    Write(io::Error),
}

impl StreamError {
    fn into_anyhow(self, source: &str) -> anyhow::Error {
        match self {
            StreamError::Read(err) => {
                anyhow::Error::new(err).context(format!("failed to read {source}"))
            }
            StreamError::Write(err) => anyhow::Error::new(err).context("failed to write output"),
        }
    }
}

/// Matches every non-blank line of `input`, writing one answer line per event to `out` and one
/// diagnostic per malformed line to `diagnostics`. Reads with one reused buffer, so a line costs no
/// allocation beyond the answer's; a line that is not UTF-8 is malformed like any other.
fn match_lines(
    rules: &RuleSet,
    mut input: impl BufRead,
    out: &mut impl Write,
    diagnostics: &mut impl Write,
) -> Result<Summary, StreamError> {
    let mut summary = Summary::default();
    let mut line = Vec::with_capacity(BUFFER_BYTES);
    let mut answer = Vec::with_capacity(256);
    let mut line_number: u64 = 0;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .map_err(StreamError::Read)?
            == 0
        {
            break;
        }
        line_number += 1;
        let event = strip_line_ending(&line);
        if event.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        summary.events += 1;

        match rules.matching_rules(event) {
            Ok(names) => {
                answer.clear();
                // Serialising strings into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut answer, &names);
                answer.push(b'\n');
                out.write_all(&answer).map_err(StreamError::Write)?;
            }
            Err(err) => {
                summary.malformed_lines += 1;
                out.write_all(b"null\n").map_err(StreamError::Write)?;
                // Keep the answers and the diagnostics in order on a terminal.
                out.flush().map_err(StreamError::Write)?;
                // A diagnostic that cannot be written is not worth failing the run for.
                let _ = writeln!(diagnostics, "line {line_number}: {err}");
            }
        }
    }
    out.flush().map_err(StreamError::Write)?;
    Ok(summary)
}

fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_lines(input: &[u8]) -> (Summary, String, String) {
        let rules =
            RuleSet::from_json(r#"{"b": {"source": ["x"]}, "a": {"source": [{"prefix": "x"}]}}"#)
                .expect("valid rules");
        let (mut out, mut diagnostics) = (Vec::new(), Vec::new());
        let summary = match_lines(&rules, input, &mut out, &mut diagnostics).expect("no I/O error");
        (
            summary,
            String::from_utf8(out).expect("UTF-8 output"),
            String::from_utf8(diagnostics).expect("UTF-8 diagnostics"),
        )
    }

    #[test]
    fn one_sorted_answer_per_event_and_blank_lines_skipped() {
        let (summary, out, diagnostics) =
            run_lines(b"{\"source\": \"x\"}\n\n   \r\n{\"source\": \"xy\"}\r\n{}");
        assert_eq!(out, "[\"a\",\"b\"]\n[\"a\"]\n[]\n");
        assert_eq!(diagnostics, "");
        assert_eq!(
            summary,
            Summary {
                events: 3,
                malformed_lines: 0
            }
        );
    }

    #[test]
    fn malformed_lines_answer_null_and_name_their_line_number() {
        let (summary, out, diagnostics) =
            run_lines(b"{\"source\": \"x\"}\n\n[1]\n{\"source\": \xff}\n{\"source\": \"x\"}\n");
        assert_eq!(out, "[\"a\",\"b\"]\nnull\nnull\n[\"a\",\"b\"]\n");
        let lines: Vec<&str> = diagnostics.lines().collect();
        assert_eq!(lines.len(), 2, "{diagnostics}");
        assert!(
            lines[0].starts_with("line 3: invalid event at byte 0: "),
            "{diagnostics}"
        );
        assert!(
            lines[1].starts_with("line 4: invalid event at byte 11: "),
            "{diagnostics}"
        );
        assert_eq!(
            summary,
            Summary {
                events: 4,
                malformed_lines: 2
            }
        );
    }

    #[test]
    fn empty_input_prints_nothing() {
        assert_eq!(
            run_lines(b""),
            (Summary::default(), String::new(), String::new())
        );
    }

    #[test]
    fn write_errors_stop_the_run() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let rules = RuleSet::from_json("{}").expect("valid rules");
        let result = match_lines(&rules, &b"{}\n"[..], &mut Closed, &mut io::sink());
        assert!(matches!(result, Err(StreamError::Write(_))));
    }
}
