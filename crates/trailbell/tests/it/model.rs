//! One validated model (issue 14, item 1): what `validate` refuses, `run` refuses at start with
//! the same problems, instead of serving with a target dropped.

use crate::common;

/// A configuration `parse` accepts but `check` refuses: an `Input` that is not JSON and an
/// `InputTransformer` whose template names a path it does not map.
const REFUSED: &str = r#"
[service]
listen = "127.0.0.1:0"

[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "http://127.0.0.1:9/"

[[rules]]
Name = "signin"
EventPattern = '{"source": ["aws.signin"]}'
Targets = [
  { Id = "raw", Arn = "hook", Input = "not json" },
  { Id = "shaped", Arn = "hook", InputTransformer = { InputPathsMap = { id = "$.id" }, InputTemplate = '{"who": <who>}' } },
]
"#;

#[test]
fn run_refuses_at_start_what_validate_refuses_with_the_same_problems() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("refused.toml");
    std::fs::write(&path, REFUSED).expect("write");
    let file = path.to_str().expect("UTF-8");

    let validate = common::run(&["validate", file]);
    assert_eq!(common::code(&validate), 1, "{}", common::stderr(&validate));
    let problems: Vec<&str> = common::stderr(&validate)
        .lines()
        .filter(|line| line.contains("Targets["))
        .collect();
    assert_eq!(problems.len(), 2, "{}", common::stderr(&validate));

    let data = dir.path().join("data");
    let data_dir = data.to_str().expect("UTF-8");
    let run = common::run(&["run", "--config", file, "--data-dir", data_dir]);
    let stderr = common::stderr(&run);
    assert_eq!(common::code(&run), 2, "{stderr}");
    for problem in &problems {
        assert!(
            stderr.contains(problem),
            "missing {problem:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(
        !data.exists(),
        "run opened a store before refusing:\n{stderr}"
    );
}

/// Writes `text` as `name` in `dir` and runs `trailbell validate` on it.
fn validate(dir: &std::path::Path, name: &str, text: &str) -> (i32, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    let output = common::run(&["validate", path.to_str().expect("UTF-8")]);
    (common::code(&output), common::stderr(&output).to_owned())
}

#[test]
fn validate_names_the_line_and_column_of_a_toml_syntax_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (code, stderr) = validate(
        dir.path(),
        "syntax.toml",
        "[api]\nauthentication = \"disabled\"\n\n[service]\nlisten = \n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("syntax.toml: invalid TOML at line 5, column "),
        "{stderr}"
    );
}

#[test]
fn validate_names_the_key_path_of_a_type_error_and_a_packs_problems_beside_the_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pack = dir.path().join("pack");
    std::fs::create_dir(&pack).expect("mkdir");
    std::fs::write(pack.join("broken.toml"), "name = \"broken\"\nseverity = \n").expect("write");
    let config = format!(
        r#"
[api]
authentication = "disabled"

[[rule_packs]]
path = "{}"

[[rules]]
Name = "signin"
EventPattern = '{{"source": ["aws.signin"]}}'
Targets = [{{ Id = "q", Arn = "arn:aws:sqs:us-east-1:123456789012:q", RetryPolicy = {{ MaximumRetryAttempts = "three" }} }}]
"#,
        pack.display()
    );
    let (code, stderr) = validate(dir.path(), "typed.toml", &config);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("typed.toml: rules[0].Targets[0].RetryPolicy.MaximumRetryAttempts: invalid type: string \"three\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("broken.toml: invalid TOML at line 2, column "),
        "the pack's problem is missing:\n{stderr}"
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}
