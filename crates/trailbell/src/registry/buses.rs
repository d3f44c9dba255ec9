//! Event buses: create, delete, describe, list.

use rusqlite::{OptionalExtension as _, params};

use super::{BusInfo, DEFAULT_BUS, Registry, RegistryError, now_ms};

impl Registry {
    /// Creates a bus; `ResourceAlreadyExists` when it exists.
    pub fn create_bus(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<BusInfo, RegistryError> {
        let created = self.with(|connection| {
            let inserted = connection.execute(
                "INSERT OR IGNORE INTO registry_buses (name, description, created_ms) VALUES (?1, ?2, ?3)",
                params![name, description, now_ms()],
            )?;
            if inserted == 0 {
                return Err(RegistryError::AlreadyExists(format!(
                    "Event bus {name} already exists."
                )));
            }
            Ok(())
        });
        created?;
        self.changed();
        self.describe_bus(name)
    }

    /// Deletes a bus. Deleting a bus that does not exist succeeds, as in EventBridge; the default
    /// bus cannot be deleted, nor a bus that still has rules or archives.
    pub fn delete_bus(&self, name: &str) -> Result<(), RegistryError> {
        if name == DEFAULT_BUS {
            return Err(RegistryError::Validation(
                "Cannot delete event bus default.".to_owned(),
            ));
        }
        self.change(|transaction| {
            let rules: i64 = transaction.query_row(
                "SELECT COUNT(*) FROM registry_rules WHERE bus = ?1",
                [name],
                |row| row.get(0),
            )?;
            if rules > 0 {
                return Err(RegistryError::Validation(format!(
                    "Event bus {name} still has {rules} rule(s); delete them first."
                )));
            }
            let archives: i64 = transaction.query_row(
                "SELECT COUNT(*) FROM registry_archives WHERE bus = ?1",
                [name],
                |row| row.get(0),
            )?;
            if archives > 0 {
                return Err(RegistryError::Validation(format!(
                    "Event bus {name} still has {archives} archive(s); delete them first."
                )));
            }
            transaction.execute("DELETE FROM registry_buses WHERE name = ?1", [name])?;
            Ok(())
        })?;
        Ok(())
    }

    /// The bus, or `ResourceNotFound` (`Event bus x does not exist.`).
    pub fn describe_bus(&self, name: &str) -> Result<BusInfo, RegistryError> {
        let found = self.with(|connection| {
            Ok(connection
                .query_row(
                    "SELECT name, description, created_ms FROM registry_buses WHERE name = ?1",
                    [name],
                    |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?)
        })?;
        let (name, description, created_ms) = found.ok_or_else(|| bus_not_found(name))?;
        Ok(BusInfo {
            arn: self.bus_arn(&name),
            name,
            description,
            created_ms,
        })
    }

    /// Whether the bus exists.
    pub fn bus_exists(&self, name: &str) -> Result<bool, RegistryError> {
        self.with(|connection| bus_exists(connection, name))
    }

    /// Buses whose names start with `prefix`, in name order, after the name `after`, at most
    /// `limit`; and whether more follow.
    pub fn list_buses(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<BusInfo>, bool), RegistryError> {
        let rows = self.with(|connection| {
            let mut statement = connection.prepare(
                "SELECT name, description, created_ms FROM registry_buses
                 WHERE substr(name, 1, length(?1)) = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
            )?;
            let rows = statement
                .query_map(
                    params![
                        prefix.unwrap_or(""),
                        after.unwrap_or(""),
                        limit_plus_one(limit)
                    ],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        let more = rows.len() > limit;
        let buses = rows
            .into_iter()
            .take(limit)
            .map(|(name, description, created_ms)| BusInfo {
                arn: self.bus_arn(&name),
                name,
                description,
                created_ms,
            })
            .collect();
        Ok((buses, more))
    }
}

pub(super) fn bus_exists(
    connection: &rusqlite::Connection,
    name: &str,
) -> Result<bool, RegistryError> {
    Ok(connection
        .query_row(
            "SELECT 1 FROM registry_buses WHERE name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub(super) fn bus_not_found(name: &str) -> RegistryError {
    RegistryError::NotFound(format!("Event bus {name} does not exist."))
}

/// `limit + 1` as SQLite's integer, to learn whether more rows follow.
pub(super) fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
}
