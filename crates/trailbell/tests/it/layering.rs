//! The layering ARCHITECTURE.md writes down, checked against the sources: every `crate::<module>`
//! path in `crates/trailbell/src` (outside comments and `#[cfg(test)]` modules) must be one the
//! table under "## Layering" allows, a private path is used only inside its module, and every
//! listed exception is still needed (so the list shrinks as they go).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What ARCHITECTURE.md's "Layering" section says.
#[derive(Default)]
struct Rules {
    /// Module to the modules it may use.
    allowed: BTreeMap<String, BTreeSet<String>>,
    /// Paths (`service::run`) only their own module may use.
    private: BTreeSet<String>,
    /// `(from, to)`: a module or a path used against the rules, for now.
    exceptions: BTreeSet<(String, String)>,
}

/// The text between backticks in `text`, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn read_rules(architecture: &str) -> Rules {
    let section = architecture
        .split("\n## Layering\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"## Layering\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rules = Rules::default();
    for line in section.lines() {
        if line.starts_with("| `") {
            // "| `a`, `b` | `c`, `d` |": the group, then what it may use.
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let group = quoted(cells.get(1).copied().unwrap_or(""));
            let mut may: BTreeSet<String> = quoted(cells.get(2).copied().unwrap_or(""))
                .into_iter()
                .collect();
            may.extend(group.iter().cloned());
            for module in group {
                let previous = rules.allowed.insert(module.clone(), may.clone());
                assert!(previous.is_none(), "{module} has two rows");
            }
        } else if let Some(rest) = line.strip_prefix("- private: ") {
            rules.private.extend(quoted(rest).into_iter().take(1));
        } else if let Some(rest) = line.strip_prefix("- exception: ") {
            let names = quoted(rest);
            assert!(names.len() >= 2, "an exception names two modules: {line}");
            rules
                .exceptions
                .insert((names[0].clone(), names[1].clone()));
        }
    }
    rules
}

/// The crate's top-level modules the table must name: `src/*.rs` and `src/*/`, without the
/// library's root, the binary's entry point, its commands and its other binaries.
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .expect("src/")
        .map(|entry| entry.expect("an entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            if path.is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs").map(str::to_owned)
            }
        })
        .filter(|name| !["lib", "main", "cli", "bin"].contains(&name.as_str()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The code of a source file without its test module (by convention the file's last item) and
/// without comments (`//` to the end of the line; doc comments link where code may not go).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each `crate::a::b` path in `code` as `(a, "a::b")` (`b` only when it is a module name, in
/// lower case); a grouped `crate::{...}` is refused, so that every path is seen.
fn crate_paths(code: &str, file: &Path) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    let word = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        assert!(
            !rest.starts_with('{'),
            "{}: `use crate::{{...}}`: write one path per module, the layering test reads them",
            file.display()
        );
        let module = word(rest);
        let next = rest[module.len()..]
            .strip_prefix("::")
            .map(word)
            .filter(|name| name.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
        let path = match next {
            Some(name) => format!("{module}::{name}"),
            None => module.clone(),
        };
        paths.push((module, path));
    }
    paths
}

#[test]
fn modules_use_only_what_architecture_md_allows() {
    let root = common::workspace_root();
    let architecture = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rules = read_rules(&architecture);
    let src = root.join("crates/trailbell/src");
    let modules = modules(&src);

    let named: BTreeSet<String> = rules.allowed.keys().cloned().collect();
    assert_eq!(
        named, modules,
        "ARCHITECTURE.md's layering table names exactly the modules of crates/trailbell/src"
    );
    for (module, may) in &rules.allowed {
        for other in may {
            assert!(
                modules.contains(other),
                "{module} may use {other}, which does not exist"
            );
        }
    }

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = BTreeSet::new();
    let mut used_exceptions = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let Some(from) = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs").to_owned())
        else {
            continue;
        };
        let Some(may) = rules.allowed.get(&from) else {
            continue; // lib.rs, main.rs, cli/, bin/
        };
        let text = fs::read_to_string(file).expect("a source file");
        for (module, path) in crate_paths(&code(&text), file) {
            if module == from || !modules.contains(&module) {
                continue;
            }
            let exception = [&module, &path]
                .into_iter()
                .find(|to| rules.exceptions.contains(&(from.clone(), (*to).clone())));
            if let Some(to) = exception {
                used_exceptions.insert((from.clone(), to.clone()));
                continue;
            }
            if rules.private.contains(&path) {
                problems.insert(format!(
                    "{}: crate::{path} is private to {module}",
                    relative.display()
                ));
            } else if !may.contains(&module) {
                problems.insert(format!(
                    "{}: {from} may not use crate::{module} (ARCHITECTURE.md, \"Layering\")",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "forbidden uses:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
    let stale: Vec<String> = rules
        .exceptions
        .difference(&used_exceptions)
        .map(|(from, to)| format!("{from} → {to}"))
        .collect();
    assert!(
        stale.is_empty(),
        "exceptions no longer needed; remove them from ARCHITECTURE.md: {stale:?}"
    );
}

#[test]
fn the_reading_of_paths_sees_what_it_must() {
    let code = code(
        "use crate::rules::Severity;\n// crate::service in a comment\nfn f() { crate::service::run::x(); }\n\
         #[cfg(test)]\nmod tests { use crate::lambda; }",
    );
    let paths = crate_paths(&code, Path::new("example.rs"));
    assert_eq!(
        paths,
        vec![
            ("rules".to_owned(), "rules".to_owned()),
            ("service".to_owned(), "service::run".to_owned()),
        ]
    );
}
