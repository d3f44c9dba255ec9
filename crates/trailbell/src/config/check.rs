//! The checks that need more than the file: rule packs readable, rules within the buses' limits.
//! (Each rule and target was checked as it was read, by the model's constructors.)

use std::collections::BTreeMap;
use std::path::Path;

use super::{Config, RulePackSettings};
use crate::rules::{FileProblem, RulePack, RulesError};

/// Every problem [`Config::load`] could not see: rule packs that cannot be read (each of their
/// problems), and buses whose configured rules exceed `[service]`'s rule limits.
pub fn check(file: &str, config: &Config) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    // Per bus: rules and `$or` combinations, as the registry counts them.
    let tally = |bus: &str, pattern: &str, per_bus: &mut BTreeMap<String, (usize, u64)>| {
        let entry = per_bus.entry(bus.to_owned()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(
            trailbell_pattern::Pattern::parse(pattern).map_or(1, |p| p.or_combinations()),
        );
    };
    let mut per_bus: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for (index, pack) in config.rule_packs.iter().enumerate() {
        let loaded = if pack.path == "builtin" {
            Some(RulePack::builtin())
        } else {
            RulePack::load(Path::new(&pack.path)).ok()
        };
        if let Some(mut loaded) = loaded {
            loaded.retain(|rule| rule.severity >= pack.min_severity);
            for rule in loaded.rules() {
                tally(&pack.event_bus_name, &rule.event_pattern, &mut per_bus);
            }
        }
        check_pack(file, index, pack, &mut problems);
    }
    for settings in &config.rules {
        let rule = &settings.rule;
        tally(
            rule.event_bus_name(),
            rule.event_pattern().unwrap_or_default(),
            &mut per_bus,
        );
    }
    let limits = config.service.rule_limits;
    for (bus, (rules, combinations)) in &per_bus {
        if *rules > limits.max_rules_per_bus {
            problems.push(FileProblem::new(
                file,
                "rules",
                format!(
                    "{rules} rules on the bus {bus:?}: the limit is {} (service.max_rules_per_bus)",
                    limits.max_rules_per_bus
                ),
            ));
        }
        if *combinations > limits.max_combinations_per_bus {
            problems.push(FileProblem::new(
                file,
                "rules",
                format!(
                    "the rules on the bus {bus:?} compile into {combinations} $or combinations: \
                     the limit is {} (service.max_combinations_per_bus)",
                    limits.max_combinations_per_bus
                ),
            ));
        }
    }
    problems
}

/// Every problem of the pack's rule files, or why they cannot be read, under `rule_packs[N].path`.
fn check_pack(file: &str, index: usize, pack: &RulePackSettings, problems: &mut Vec<FileProblem>) {
    if pack.path == "builtin" {
        return;
    }
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

/// What `trailbell validate` reports: every problem of the text and, whether or not the rest of
/// the file is valid, of the rule packs it names, so one run shows both.
pub fn validate(file: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<FileProblem> {
    match super::file::read(file, text, env) {
        Ok(config) => check(file, &config),
        Err((err, packs)) => {
            let mut problems = err.0;
            for (index, pack) in packs.iter().enumerate() {
                check_pack(file, index, pack, &mut problems);
            }
            problems
        }
    }
}
