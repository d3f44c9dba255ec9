//! The configuration's rules as registry rules: what `trailbell run` and the Lambda write into
//! the registry at each start (rules that left the configuration are deleted). Shared by both,
//! so not in `run.rs`, which is the daemon's assembly. The configuration's own rules were built
//! as specs when it was read; a pack's rules are built here, through the same constructor.

use std::path::Path;

use super::ServiceError;
use crate::config::Config;
use crate::model::{RuleExtras, RuleFields, RuleSpec};
use crate::registry::StoredRule;
use crate::rules::{FileProblem, RulePack, RulesError};
use crate::targets::TargetSpec;

/// Who owns the rules that come from the configuration file, in the registry.
pub const CONFIG_OWNER: &str = "trailbell-config";

/// The rules the configuration defines: its rule packs' and its own, as registry rules.
pub fn managed_rules(config: &Config) -> Result<Vec<StoredRule>, ServiceError> {
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |spec: RuleSpec, targets: &[TargetSpec], rules: &mut Vec<StoredRule>| {
        if !seen.insert((spec.event_bus_name().to_owned(), spec.name().to_owned())) {
            return Err(ServiceError::DuplicateRule {
                bus: spec.event_bus_name().to_owned(),
                name: spec.name().to_owned(),
            });
        }
        rules.push(StoredRule {
            spec,
            arn: String::new(),
            managed_by: Some(CONFIG_OWNER.to_owned()),
            targets: targets.to_vec(),
        });
        Ok(())
    };
    for pack_settings in &config.rule_packs {
        let pack_error = |source| ServiceError::RulePack {
            path: pack_settings.path.clone(),
            source,
        };
        let mut pack = if pack_settings.path == "builtin" {
            RulePack::builtin()
        } else {
            RulePack::load(Path::new(&pack_settings.path)).map_err(pack_error)?
        };
        pack.retain(|rule| rule.severity >= pack_settings.min_severity);
        for rule in pack.rules() {
            let spec = RuleSpec::new(RuleFields {
                name: rule.name.clone(),
                event_bus_name: pack_settings.event_bus_name.clone(),
                event_pattern: Some(rule.event_pattern.clone()),
                state: None,
                description: Some(rule.title.clone()),
                extras: RuleExtras {
                    title: Some(rule.title.clone()),
                    severity: Some(rule.severity),
                    description: Some(rule.description.clone()),
                    noise: rule.noise.clone(),
                },
            })
            .map_err(|errors| {
                pack_error(RulesError::InvalidFiles(
                    errors
                        .iter()
                        .map(|error| {
                            FileProblem::new(&rule.source, error.field().path(), error.to_string())
                        })
                        .collect(),
                ))
            })?;
            push(spec, &pack_settings.targets, &mut rules)?;
        }
    }
    for settings in &config.rules {
        push(settings.rule.clone(), &settings.targets, &mut rules)?;
    }
    Ok(rules)
}
