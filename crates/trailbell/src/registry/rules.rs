//! Rules: put (create or update), describe, list, delete, enable and disable; the config loader's
//! managed rules; the rules of a bus for the matcher.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::buses::{bus_exists, bus_not_found, limit_plus_one};
use super::targets::{insert_target, load_targets};
use super::{Registry, RegistryError, RuleLimits, RuleState, StoredRule, now_ms};
use crate::model::{MetadataError, RuleExtras, RuleFields, RuleSpec};

/// A rule's row, without targets.
struct RuleRow {
    bus: String,
    name: String,
    event_pattern: Option<String>,
    state: String,
    description: Option<String>,
    managed_by: Option<String>,
    extras: String,
}

const RULE_COLUMNS: &str = "bus, name, event_pattern, state, description, managed_by, extras";

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RuleRow> {
    Ok(RuleRow {
        bus: row.get(0)?,
        name: row.get(1)?,
        event_pattern: row.get(2)?,
        state: row.get(3)?,
        description: row.get(4)?,
        managed_by: row.get(5)?,
        extras: row.get(6)?,
    })
}

impl Registry {
    /// Creates or updates a rule (EventBridge's `PutRule`) and returns its ARN; targets,
    /// `ManagedBy` and extras of an existing rule are kept. A rule managed by a config file cannot
    /// be changed (`ManagedRule`).
    pub fn put_rule(&self, update: &RuleSpec) -> Result<String, RegistryError> {
        let limits = self.rule_limits();
        let bus = update.event_bus_name();
        self.change(|transaction| {
            require_bus(transaction, bus)?;
            if let Some(row) = find_rule(transaction, bus, update.name())? {
                refuse_managed(&row, false)?;
            }
            transaction.execute(
                "INSERT INTO registry_rules (bus, name, event_pattern, state, description, managed_by, extras, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, 'null', ?6)
                 ON CONFLICT (bus, name) DO UPDATE SET event_pattern = excluded.event_pattern,
                     state = excluded.state, description = excluded.description",
                params![
                    bus,
                    update.name(),
                    update.event_pattern(),
                    update.state().as_str(),
                    update.description(),
                    now_ms()
                ],
            )?;
            // Checked with the rule in place; an error rolls the transaction back.
            check_bus_limits(transaction, bus, &limits)
        })?;
        Ok(self.rule_arn(bus, update.name()))
    }

    /// The rule with its targets, or `ResourceNotFound`
    /// (`Rule x does not exist on EventBus y.`).
    pub fn describe_rule(&self, bus: &str, name: &str) -> Result<StoredRule, RegistryError> {
        self.with(|connection| {
            require_bus(connection, bus)?;
            let row = find_rule(connection, bus, name)?.ok_or_else(|| rule_not_found(name, bus))?;
            self.stored_rule(connection, row)
        })
    }

    /// Rules of `bus` whose names start with `prefix`, in name order, after the name `after`, at
    /// most `limit`; and whether more follow.
    pub fn list_rules(
        &self,
        bus: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<StoredRule>, bool), RegistryError> {
        self.with(|connection| {
            require_bus(connection, bus)?;
            let rows = {
                let mut statement = connection.prepare(&format!(
                    "SELECT {RULE_COLUMNS} FROM registry_rules
                     WHERE bus = ?1 AND substr(name, 1, length(?2)) = ?2 AND name > ?3
                     ORDER BY name LIMIT ?4"
                ))?;
                statement
                    .query_map(
                        params![
                            bus,
                            prefix.unwrap_or(""),
                            after.unwrap_or(""),
                            limit_plus_one(limit)
                        ],
                        read_row,
                    )?
                    .collect::<Result<Vec<_>, _>>()?
            };
            let more = rows.len() > limit;
            let rules = rows
                .into_iter()
                .take(limit)
                .map(|row| self.stored_rule(connection, row))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rules, more))
        })
    }

    /// Every rule of `bus` (enabled or not: see [`RuleState::is_enabled`]) with its targets, in
    /// name order: what the service compiles the bus's matcher from.
    pub fn rules_for_bus(&self, bus: &str) -> Result<Vec<StoredRule>, RegistryError> {
        Ok(self.list_rules(bus, None, None, usize::MAX - 1)?.0)
    }

    /// Deletes a rule (EventBridge's `DeleteRule`): refused while it has targets, and for a
    /// managed rule unless `force`. Deleting a rule that does not exist succeeds.
    pub fn delete_rule(&self, bus: &str, name: &str, force: bool) -> Result<(), RegistryError> {
        self.change(|transaction| {
            require_bus(transaction, bus)?;
            let Some(row) = find_rule(transaction, bus, name)? else {
                return Ok(());
            };
            refuse_managed(&row, force)?;
            let targets: i64 = transaction.query_row(
                "SELECT COUNT(*) FROM registry_targets WHERE bus = ?1 AND rule = ?2",
                params![bus, name],
                |row| row.get(0),
            )?;
            if targets > 0 {
                return Err(RegistryError::Validation(
                    "Rule can't be deleted since it has targets.".to_owned(),
                ));
            }
            transaction.execute(
                "DELETE FROM registry_rules WHERE bus = ?1 AND name = ?2",
                params![bus, name],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Enables or disables a rule (`EnableRule`, `DisableRule`); refused for managed rules.
    pub fn set_rule_state(
        &self,
        bus: &str,
        name: &str,
        state: RuleState,
    ) -> Result<(), RegistryError> {
        self.change(|transaction| {
            require_bus(transaction, bus)?;
            let row =
                find_rule(transaction, bus, name)?.ok_or_else(|| rule_not_found(name, bus))?;
            refuse_managed(&row, false)?;
            transaction.execute(
                "UPDATE registry_rules SET state = ?3 WHERE bus = ?1 AND name = ?2",
                params![bus, name, state.as_str()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Makes the rules managed by `managed_by` exactly `rules` (the config loader, at start):
    /// rules it managed before and no longer lists are deleted with their targets, the others
    /// created or replaced (targets included), missing buses created. Rules created through the
    /// API are untouched; a listed rule that collides with one is an error and nothing changes.
    pub fn replace_managed_rules(
        &self,
        managed_by: &str,
        rules: Vec<StoredRule>,
    ) -> Result<(), RegistryError> {
        let limits = self.rule_limits();
        self.change(|transaction| {
            let wanted: HashSet<(String, String)> = rules
                .iter()
                .map(|rule| {
                    (
                        rule.spec.event_bus_name().to_owned(),
                        rule.spec.name().to_owned(),
                    )
                })
                .collect();
            let owned = {
                let mut statement = transaction
                    .prepare("SELECT bus, name FROM registry_rules WHERE managed_by = ?1")?;
                statement
                    .query_map([managed_by], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?
            };
            for key in owned.iter().filter(|key| !wanted.contains(*key)) {
                transaction.execute(
                    "DELETE FROM registry_rules WHERE bus = ?1 AND name = ?2",
                    params![key.0, key.1],
                )?;
            }
            let buses: HashSet<String> = rules
                .iter()
                .map(|rule| rule.spec.event_bus_name().to_owned())
                .collect();
            for rule in rules {
                upsert_managed(transaction, managed_by, rule)?;
            }
            for bus in &buses {
                check_bus_limits(transaction, bus, &limits)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// A row read back, checked again as every rule is: a rule whose stored metadata (title,
    /// severity, noise control) no longer reads is an error naming it, not a rule without its
    /// exceptions.
    fn stored_rule(
        &self,
        connection: &Connection,
        row: RuleRow,
    ) -> Result<StoredRule, RegistryError> {
        let extras: Option<RuleExtras> =
            serde_json::from_str(&row.extras).map_err(|source| MetadataError {
                rule: row.name.clone(),
                bus: row.bus.clone(),
                source,
            })?;
        let targets = load_targets(connection, &row.bus, &row.name)?;
        let arn = self.rule_arn(&row.bus, &row.name);
        let spec = RuleSpec::stored(RuleFields {
            name: row.name,
            event_bus_name: row.bus,
            event_pattern: row.event_pattern,
            state: Some(row.state),
            description: row.description,
            extras: extras.unwrap_or_default(),
        })
        .map_err(|errors| {
            RegistryError::Corrupt(format!(
                "rule {arn}: {}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        Ok(StoredRule {
            spec,
            arn,
            managed_by: row.managed_by,
            targets,
        })
    }
}

fn upsert_managed(
    transaction: &Transaction<'_>,
    managed_by: &str,
    rule: StoredRule,
) -> Result<(), RegistryError> {
    let (bus, name) = (rule.spec.event_bus_name(), rule.spec.name());
    if let Some(row) = find_rule(transaction, bus, name)?
        && row.managed_by.as_deref() != Some(managed_by)
    {
        return Err(RegistryError::Validation(format!(
            "Rule {name} on EventBus {bus} exists and is not managed by {managed_by}."
        )));
    }
    transaction.execute(
        "INSERT OR IGNORE INTO registry_buses (name, description, created_ms) VALUES (?1, NULL, ?2)",
        params![bus, now_ms()],
    )?;
    // `null` when trailbell adds nothing, as for rules put through the API.
    let extras = Some(rule.spec.extras()).filter(|extras| **extras != RuleExtras::default());
    let extras = serde_json::to_string(&extras)
        .map_err(|err| RegistryError::Corrupt(format!("extras of rule {name}: {err}")))?;
    transaction.execute(
        "INSERT INTO registry_rules (bus, name, event_pattern, state, description, managed_by, extras, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (bus, name) DO UPDATE SET event_pattern = excluded.event_pattern,
             state = excluded.state, description = excluded.description,
             managed_by = excluded.managed_by, extras = excluded.extras",
        params![
            bus,
            name,
            rule.spec.event_pattern(),
            rule.spec.state().as_str(),
            rule.spec.description(),
            managed_by,
            extras,
            now_ms()
        ],
    )?;
    transaction.execute(
        "DELETE FROM registry_targets WHERE bus = ?1 AND rule = ?2",
        params![bus, name],
    )?;
    for (position, target) in (0..).zip(&rule.targets) {
        insert_target(transaction, bus, name, position, target)?;
    }
    Ok(())
}

/// `LimitExceeded` when the rules of `bus` are more, or compile into more `$or` combinations,
/// than `limits` allow.
fn check_bus_limits(
    connection: &Connection,
    bus: &str,
    limits: &RuleLimits,
) -> Result<(), RegistryError> {
    let patterns: Vec<Option<String>> = connection
        .prepare("SELECT event_pattern FROM registry_rules WHERE bus = ?1")?
        .query_map([bus], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if patterns.len() > limits.max_rules_per_bus {
        return Err(RegistryError::LimitExceeded(format!(
            "The requested resource exceeds the maximum number allowed: event bus {bus} may have \
             {} rules.",
            limits.max_rules_per_bus
        )));
    }
    let combinations = patterns
        .iter()
        .flatten()
        .map(|text| {
            trailbell_pattern::Pattern::parse(text).map_or(1, |pattern| pattern.or_combinations())
        })
        .fold(0_u64, u64::saturating_add);
    if combinations > limits.max_combinations_per_bus {
        return Err(RegistryError::LimitExceeded(format!(
            "The rules of event bus {bus} would compile into {combinations} $or combinations; \
             the limit is {}.",
            limits.max_combinations_per_bus
        )));
    }
    Ok(())
}

fn find_rule(
    connection: &Connection,
    bus: &str,
    name: &str,
) -> Result<Option<RuleRow>, RegistryError> {
    Ok(connection
        .query_row(
            &format!("SELECT {RULE_COLUMNS} FROM registry_rules WHERE bus = ?1 AND name = ?2"),
            params![bus, name],
            read_row,
        )
        .optional()?)
}

/// `ResourceNotFound` unless the bus exists.
pub(super) fn require_bus(connection: &Connection, bus: &str) -> Result<(), RegistryError> {
    if bus_exists(connection, bus)? {
        Ok(())
    } else {
        Err(bus_not_found(bus))
    }
}

/// `ResourceNotFound` unless the rule exists; its `ManagedBy`.
pub(super) fn require_rule(
    connection: &Connection,
    bus: &str,
    name: &str,
    force: bool,
) -> Result<(), RegistryError> {
    require_bus(connection, bus)?;
    let row = find_rule(connection, bus, name)?.ok_or_else(|| rule_not_found(name, bus))?;
    refuse_managed(&row, force)
}

/// `ResourceNotFound` unless the rule exists.
pub(super) fn require_rule_exists(
    connection: &Connection,
    bus: &str,
    name: &str,
) -> Result<(), RegistryError> {
    require_bus(connection, bus)?;
    find_rule(connection, bus, name)?
        .map(|_| ())
        .ok_or_else(|| rule_not_found(name, bus))
}

fn refuse_managed(row: &RuleRow, force: bool) -> Result<(), RegistryError> {
    match &row.managed_by {
        Some(manager) if !force => Err(RegistryError::ManagedRule(format!(
            "Rule {} is managed by {manager}; it cannot be changed through the API.",
            row.name
        ))),
        _ => Ok(()),
    }
}

fn rule_not_found(name: &str, bus: &str) -> RegistryError {
    RegistryError::NotFound(format!("Rule {name} does not exist on EventBus {bus}."))
}
