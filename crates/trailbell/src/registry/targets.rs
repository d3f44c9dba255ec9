//! Targets: put, remove, list by rule, rule names by target.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::rules::{require_bus, require_rule, require_rule_exists};
use super::{MAX_TARGETS_PER_RULE, Registry, RegistryError};
use crate::targets::TargetSpec;

/// One entry of `FailedEntries` in `PutTargets` and `RemoveTargets` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedTarget {
    /// `TargetId`.
    pub target_id: String,
    /// `ErrorCode`.
    pub error_code: String,
    /// `ErrorMessage`.
    pub error_message: String,
}

impl Registry {
    /// Adds or replaces targets of a rule (by `Id`); refused for managed rules and, as a whole,
    /// when the rule would have more than [`MAX_TARGETS_PER_RULE`] targets.
    pub fn put_targets(
        &self,
        bus: &str,
        rule: &str,
        targets: &[TargetSpec],
    ) -> Result<(), RegistryError> {
        self.change(|transaction| {
            require_rule(transaction, bus, rule, false)?;
            let mut ids: HashSet<String> = {
                let mut statement = transaction
                    .prepare("SELECT id FROM registry_targets WHERE bus = ?1 AND rule = ?2")?;
                statement
                    .query_map(params![bus, rule], |row| row.get(0))?
                    .collect::<Result<_, _>>()?
            };
            ids.extend(targets.iter().map(|target| target.id.clone()));
            if ids.len() > MAX_TARGETS_PER_RULE {
                return Err(RegistryError::LimitExceeded(format!(
                    "The requested resource exceeds the maximum number allowed: rule {rule} \
                     can have at most {MAX_TARGETS_PER_RULE} targets."
                )));
            }
            let first: i64 = transaction.query_row(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM registry_targets WHERE bus = ?1 AND rule = ?2",
                params![bus, rule],
                |row| row.get(0),
            )?;
            for (offset, target) in (0..).zip(targets) {
                insert_target(transaction, bus, rule, first + offset, target)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Removes targets by id (ids that are not there are ignored); refused for managed rules
    /// unless `force`.
    pub fn remove_targets(
        &self,
        bus: &str,
        rule: &str,
        ids: &[String],
        force: bool,
    ) -> Result<(), RegistryError> {
        self.change(|transaction| {
            require_rule(transaction, bus, rule, force)?;
            for id in ids {
                transaction.execute(
                    "DELETE FROM registry_targets WHERE bus = ?1 AND rule = ?2 AND id = ?3",
                    params![bus, rule, id],
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// The rule's targets, in the order they were first put.
    pub fn list_targets(&self, bus: &str, rule: &str) -> Result<Vec<TargetSpec>, RegistryError> {
        self.with(|connection| {
            require_rule_exists(connection, bus, rule)?;
            load_targets(connection, bus, rule)
        })
    }

    /// Names of the rules of `bus` with a target whose `Arn` is `arn`, in name order.
    pub fn rule_names_by_target(&self, bus: &str, arn: &str) -> Result<Vec<String>, RegistryError> {
        self.with(|connection| {
            require_bus(connection, bus)?;
            let mut statement = connection.prepare(
                "SELECT DISTINCT rule FROM registry_targets WHERE bus = ?1 AND arn = ?2 ORDER BY rule",
            )?;
            let names = statement
                .query_map(params![bus, arn], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(names)
        })
    }
}

/// Inserts or replaces (keeping its position) one target.
pub(super) fn insert_target(
    connection: &Connection,
    bus: &str,
    rule: &str,
    position: i64,
    target: &TargetSpec,
) -> Result<(), RegistryError> {
    let spec = serde_json::to_string(target)
        .map_err(|err| RegistryError::Corrupt(format!("target {}: {err}", target.id)))?;
    connection.execute(
        "INSERT INTO registry_targets (bus, rule, id, position, arn, spec) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (bus, rule, id) DO UPDATE SET arn = excluded.arn, spec = excluded.spec",
        params![bus, rule, target.id, position, target.arn, spec],
    )?;
    Ok(())
}

pub(super) fn load_targets(
    connection: &Connection,
    bus: &str,
    rule: &str,
) -> Result<Vec<TargetSpec>, RegistryError> {
    let mut statement = connection.prepare_cached(
        "SELECT spec FROM registry_targets WHERE bus = ?1 AND rule = ?2 ORDER BY position",
    )?;
    let specs = statement
        .query_map(params![bus, rule], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    specs
        .iter()
        .map(|spec| {
            serde_json::from_str(spec)
                .map_err(|err| RegistryError::Corrupt(format!("target of rule {rule}: {err}")))
        })
        .collect()
}
