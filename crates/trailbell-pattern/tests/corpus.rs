//! The conformance corpus (`testdata/patterns/*.toml`), run against every matcher: the reference
//! matcher, the compiled matcher with each pattern alone, and one compiled matcher holding every
//! valid pattern of the corpus at once (so that rules cannot disturb each other).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use trailbell_pattern::{MatcherBuilder, Pattern, ReferenceMatcher};

#[derive(Debug, Deserialize)]
struct CorpusFile {
    #[serde(rename = "case", default)]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    pattern: String,
    event: Option<String>,
    matches: Option<bool>,
    error_path: Option<String>,
    /// Text the rejection's reason must contain: EventBridge's words where they are known.
    error_reason: Option<String>,
}

/// trailbell's own corpus, and the cases harvested from aws/event-ruler's tests with its answers.
const CORPUS_DIRS: &[&str] = &["testdata/patterns", "testdata/event-ruler"];

fn corpus_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn load() -> Vec<(String, Case)> {
    let files: Vec<PathBuf> = CORPUS_DIRS.iter().flat_map(|d| corpus_files(d)).collect();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable corpus file");
        let parsed: CorpusFile = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid corpus file: {e}", file.display()));
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        for case in parsed.cases {
            cases.push((stem.clone().unwrap_or_default(), case));
        }
    }
    cases
}

#[test]
fn corpus_is_large_and_names_are_unique() {
    let cases = load();
    let names: BTreeSet<&str> = cases.iter().map(|(_, c)| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    assert!(cases.len() >= 400, "only {} cases", cases.len());
    let harvested = cases
        .iter()
        .filter(|(_, c)| c.name.starts_with("er-"))
        .count();
    assert!(harvested >= 200, "only {harvested} cases from event-ruler");
    for (file, case) in &cases {
        let valid = case.event.is_some() && case.matches.is_some() && case.error_path.is_none();
        let error = case.event.is_none() && case.matches.is_none() && case.error_path.is_some();
        assert!(
            valid || error,
            "{file}/{}: needs event+matches or error_path",
            case.name
        );
    }
}

#[test]
fn every_case_holds_for_each_matcher_alone() {
    let mut failures = Vec::new();
    for (file, case) in load() {
        let label = format!("{file}/{}", case.name);
        let parsed = Pattern::parse(&case.pattern);
        if let Some(expected_path) = &case.error_path {
            match parsed {
                Ok(_) => failures.push(format!("{label}: pattern accepted, expected an error")),
                Err(e) if expected_path != "*" && e.path() != expected_path => {
                    failures.push(format!(
                        "{label}: error at {}, expected at {expected_path}: {e}",
                        e.path()
                    ))
                }
                Err(e)
                    if case
                        .error_reason
                        .as_ref()
                        .is_some_and(|reason| !e.reason().contains(reason.as_str())) =>
                {
                    failures.push(format!("{label}: unexpected reason: {e}"))
                }
                Err(_) => {}
            }
            continue;
        }
        let (Some(event), Some(expected)) = (&case.event, case.matches) else {
            continue;
        };
        let pattern = match parsed {
            Ok(pattern) => pattern,
            Err(e) => {
                failures.push(format!("{label}: pattern rejected: {e}"));
                continue;
            }
        };
        match pattern.matches(event.as_bytes()) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!("{label}: reference said {got}")),
            Err(e) => failures.push(format!("{label}: reference could not read the event: {e}")),
        }
        let mut builder = MatcherBuilder::new();
        builder.add_pattern(&case.name, pattern);
        let matcher = builder.build();
        // An event that matches holds the texts the matcher says it must, or an escape.
        if let (true, Some(needs)) = (expected, matcher.text_requirements(&[]))
            && !holds_what_it_needs(event.as_bytes(), &needs)
        {
            failures.push(format!("{label}: lacks the texts it needs: {needs:?}"));
        }
        match matcher.matches(event.as_bytes()) {
            Ok(ids) if ids.is_empty() != expected => {}
            Ok(ids) => failures.push(format!(
                "{label}: compiled matcher said {}",
                !ids.is_empty()
            )),
            Err(e) => failures.push(format!(
                "{label}: compiled matcher could not read the event: {e}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn holds_what_it_needs(text: &[u8], needs: &trailbell_pattern::TextRequirements) -> bool {
    let holds = |t: &[u8]| t.is_empty() || text.windows(t.len()).any(|w| w == t);
    needs.escapes().iter().any(|e| holds(e)) || needs.could_match(|i| holds(&needs.texts()[i]))
}

#[test]
fn all_corpus_patterns_in_one_matcher_agree_with_the_reference() {
    let cases = load();
    let mut builder = MatcherBuilder::new();
    let mut reference = ReferenceMatcher::new();
    for (_, case) in cases.iter().filter(|(_, c)| c.error_path.is_none()) {
        if let Ok(pattern) = Pattern::parse(&case.pattern) {
            builder.add_pattern(&case.name, pattern.clone());
            reference.add_pattern(&case.name, pattern);
        }
    }
    let matcher = builder.build();
    let mut cache = matcher.new_cache();
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for (file, case) in &cases {
        let Some(event) = &case.event else { continue };
        let expected = reference.matches(event.as_bytes());
        let got = matcher.matches_with(&mut cache, event.as_bytes(), &mut out);
        match (expected, got) {
            (Ok(expected), Ok(())) if expected == out => {}
            (Ok(expected), Ok(())) => {
                let names = |ids: &[trailbell_pattern::RuleId]| -> Vec<String> {
                    ids.iter()
                        .map(|&id| matcher.rule_name(id).to_owned())
                        .collect()
                };
                failures.push(format!(
                    "{file}/{}: reference {:?}, compiled {:?}",
                    case.name,
                    names(&expected),
                    names(&out)
                ));
            }
            (Err(a), Err(b)) if a == b => {}
            (a, b) => failures.push(format!(
                "{file}/{}: reference {a:?}, compiled {b:?}",
                case.name
            )),
        }
        // The trusted reading promises no repeated keys: serde_json rewrites the event without
        // them, keeping the last, as the semantics do.
        let Ok(normalized) = serde_json::from_str::<serde_json::Value>(event) else {
            continue;
        };
        let expected = reference.matches(event.as_bytes());
        let got =
            matcher.matches_trusted_with(&mut cache, normalized.to_string().as_bytes(), &mut out);
        match (expected, got) {
            (Ok(expected), Ok(())) if expected == out => {}
            (Err(_), _) => {}
            (a, b) => failures.push(format!(
                "{file}/{}: reference {a:?}, compiled {b:?}",
                case.name
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
