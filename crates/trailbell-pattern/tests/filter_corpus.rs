//! The filter-pattern conformance corpus (`testdata/filter-patterns/`), run through both paths:
//! the direct evaluator and the compiled one (the translation in the compiled matcher, checked
//! directly when inexact). Messages that are not JSON objects have only the direct path: the
//! compiled matcher reads JSON objects.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use trailbell_pattern::{FilterMatcherBuilder, FilterPattern};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    case: Vec<Case>,
    #[serde(default)]
    invalid: Vec<Invalid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    control: Option<String>,
    pattern: String,
    message: String,
    matches: bool,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Invalid {
    name: String,
    pattern: String,
    error: String,
}

fn corpus() -> Vec<(String, File)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/filter-patterns");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let file: File =
                toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", p.display()));
            (p.display().to_string(), file)
        })
        .collect()
}

#[test]
fn every_case_passes_on_both_paths() {
    let mut names = BTreeMap::new();
    let mut failures = Vec::new();
    let mut compiled_runs = 0;
    let mut count = 0;
    for (path, file) in corpus() {
        for case in &file.case {
            count += 1;
            assert!(
                names.insert(case.name.clone(), path.clone()).is_none(),
                "duplicate case name {}",
                case.name
            );
            let filter = match FilterPattern::parse(&case.pattern) {
                Ok(filter) => filter,
                Err(err) => {
                    failures.push(format!("{}: {err}", case.name));
                    continue;
                }
            };
            let direct = filter.matches_message(&case.message);
            if direct != case.matches {
                failures.push(format!("{}: direct answered {direct}", case.name));
            }
            let record = serde_json::from_str::<serde_json::Value>(&case.message).ok();
            if record.as_ref().is_some_and(serde_json::Value::is_object) {
                let mut builder = FilterMatcherBuilder::new();
                builder.add(&case.name, filter.clone());
                let compiled = !builder
                    .build()
                    .matches(case.message.as_bytes())
                    .expect("a JSON object")
                    .is_empty();
                compiled_runs += 1;
                if compiled != case.matches {
                    failures.push(format!("{}: compiled answered {compiled}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(count >= 180, "only {count} cases");
    assert!(
        compiled_runs >= 150,
        "only {compiled_runs} through the compiled path"
    );
}

#[test]
fn invalid_patterns_are_refused_in_aws_words_with_the_column() {
    let mut count = 0;
    for (_, file) in corpus() {
        for invalid in &file.invalid {
            count += 1;
            match FilterPattern::parse(&invalid.pattern) {
                Ok(_) => panic!("{}: accepted", invalid.name),
                Err(err) => assert_eq!(err.to_string(), invalid.error, "{}", invalid.name),
            }
        }
    }
    assert!(count >= 5);
}

#[test]
fn every_security_hub_control_has_matching_and_non_matching_records() {
    let mut seen: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for (_, file) in corpus() {
        for case in file.case {
            if let Some(control) = case.control {
                let entry = seen.entry(control).or_default();
                if case.matches {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
    }
    let mut wanted: Vec<String> = (1..=14).map(|n| format!("CloudWatch.{n}")).collect();
    wanted.extend(["CIS 4.15", "CIS 4.1 (variant 2)", "CIS 4.2 (option 1)"].map(String::from));
    for control in wanted {
        assert_eq!(seen.get(&control), Some(&(true, true)), "{control}");
    }
}
