//! The checks that need more than the file: rule packs readable, target inputs valid.

use std::path::Path;

use super::{Config, ConfigTarget};
use crate::rules::{FileProblem, RulePack, RulesError};
use crate::transform::{InputTransformer, TargetInput};

/// Every problem [`Config::load`] could not see: rule packs that cannot be read (each of their
/// problems), and targets whose `Input`, `InputPath` or `InputTransformer` EventBridge would
/// refuse.
pub fn check(file: &str, config: &Config) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    for (index, pack) in config.rule_packs.iter().enumerate() {
        if pack.path != "builtin" {
            match RulePack::load(Path::new(&pack.path)) {
                Ok(_) => {}
                Err(RulesError::InvalidFiles(found)) => problems.extend(found),
                Err(err) => problems.push(FileProblem::new(
                    file,
                    format!("rule_packs[{index}].path"),
                    err.to_string(),
                )),
            }
        }
        check_targets(
            file,
            &format!("rule_packs[{index}]"),
            &pack.targets,
            &mut problems,
        );
    }
    for (index, rule) in config.rules.iter().enumerate() {
        check_targets(
            file,
            &format!("rules[{index}]"),
            &rule.targets,
            &mut problems,
        );
    }
    problems
}

fn check_targets(
    file: &str,
    path: &str,
    targets: &[ConfigTarget],
    problems: &mut Vec<FileProblem>,
) {
    for (index, target) in targets.iter().enumerate() {
        let transformer =
            target
                .input_transformer
                .as_ref()
                .map(|(paths, template)| InputTransformer {
                    input_paths_map: paths.clone(),
                    input_template: template.clone(),
                });
        if let Err(err) = TargetInput::new(
            target.input.as_deref(),
            target.input_path.as_deref(),
            transformer.as_ref(),
        ) {
            problems.push(FileProblem::new(
                file,
                format!("{path}.Targets[{index}]"),
                err.to_string(),
            ));
        }
    }
}
