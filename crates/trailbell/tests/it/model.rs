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
    let run = common::run(&[
        "run",
        "--config",
        file,
        "--data-dir",
        data.to_str().expect("UTF-8"),
    ]);
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
