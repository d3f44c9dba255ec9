//! The configuration's rules as registry rules: what `trailbell run` and the Lambda write into
//! the registry at each start (rules that left the configuration are deleted). Shared by both,
//! so not in `run.rs`, which is the daemon's assembly.

use std::path::Path;

use super::ServiceError;
use super::bus::RuleExtras;
use crate::config::{Config, ConfigTarget};
use crate::registry::{RuleState, StoredRule, StoredTarget};
use crate::rules::RulePack;

/// Who owns the rules that come from the configuration file, in the registry.
pub const CONFIG_OWNER: &str = "trailbell-config";

/// The rules the configuration defines: its rule packs' and its own, as registry rules.
pub fn managed_rules(config: &Config) -> Result<Vec<StoredRule>, ServiceError> {
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |rule: StoredRule, rules: &mut Vec<StoredRule>| {
        if !seen.insert((rule.event_bus_name.clone(), rule.name.clone())) {
            return Err(ServiceError::DuplicateRule {
                bus: rule.event_bus_name,
                name: rule.name,
            });
        }
        rules.push(rule);
        Ok(())
    };
    for pack_settings in &config.rule_packs {
        let mut pack = if pack_settings.path == "builtin" {
            RulePack::builtin()
        } else {
            RulePack::load(Path::new(&pack_settings.path)).map_err(|source| {
                ServiceError::RulePack {
                    path: pack_settings.path.clone(),
                    source,
                }
            })?
        };
        pack.retain(|rule| rule.severity >= pack_settings.min_severity);
        for rule in pack.rules() {
            push(
                StoredRule {
                    name: rule.name.clone(),
                    event_bus_name: pack_settings.event_bus_name.clone(),
                    arn: String::new(),
                    event_pattern: Some(rule.event_pattern.clone()),
                    state: RuleState::Enabled,
                    description: Some(rule.title.clone()),
                    managed_by: Some(CONFIG_OWNER.to_owned()),
                    targets: pack_settings.targets.iter().map(stored_target).collect(),
                    extras: extras(RuleExtras {
                        title: Some(rule.title.clone()),
                        severity: Some(rule.severity),
                        description: Some(rule.description.clone()),
                        noise: rule.noise.clone(),
                    }),
                },
                &mut rules,
            )?;
        }
    }
    for rule in &config.rules {
        push(
            StoredRule {
                name: rule.name.clone(),
                event_bus_name: rule.event_bus_name.clone(),
                arn: String::new(),
                event_pattern: Some(rule.event_pattern.clone()),
                state: RuleState::parse(&rule.state).unwrap_or_default(),
                description: (!rule.description.is_empty()).then(|| rule.description.clone()),
                managed_by: Some(CONFIG_OWNER.to_owned()),
                targets: rule.targets.iter().map(stored_target).collect(),
                extras: extras(RuleExtras {
                    title: Some(rule.title.clone()),
                    severity: Some(rule.severity),
                    description: Some(rule.description.clone()),
                    noise: rule.noise.clone(),
                }),
            },
            &mut rules,
        )?;
    }
    Ok(rules)
}

fn extras(extras: RuleExtras) -> serde_json::Value {
    serde_json::to_value(extras).unwrap_or(serde_json::Value::Null)
}

fn stored_target(target: &ConfigTarget) -> StoredTarget {
    StoredTarget {
        id: target.id.clone(),
        arn: target.arn.clone(),
        input: target.input.clone(),
        input_path: target.input_path.clone(),
        input_transformer: target.input_transformer.as_ref().map(|transformer| {
            crate::registry::InputTransformer {
                input_paths_map: Some(transformer.input_paths_map.clone()),
                input_template: transformer.input_template.clone(),
            }
        }),
        retry_policy: Some(target.retry_policy),
        dead_letter_arn: target.dead_letter_arn.clone(),
        sqs_message_group_id: target.message_group_id.clone(),
        ..StoredTarget::default()
    }
}
