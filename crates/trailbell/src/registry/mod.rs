//! The registry: event buses, rules and their targets, archives and replays, persisted in the
//! store ([`crate::store`]).
//!
//! [`Registry`] is synchronous: one SQLite connection behind a `std::sync::Mutex`, each call a
//! short transaction. Async code calls it from `tokio::task::spawn_blocking` (the API does). It is
//! cheap to clone; clones share the connection and the change counter.
//!
//! The `default` bus always exists. ARNs use the configured account and region (by default
//! `000000000000` and `us-east-1`): `arn:aws:events:<region>:<account>:event-bus/<name>`,
//! `rule/<name>` on the default bus and `rule/<bus>/<name>` on others, `archive/<name>`,
//! `replay/<name>`.
//!
//! Every change to buses, rules or targets bumps a counter that [`Registry::subscribe`] watches,
//! so the service knows when to recompile matchers ([`Registry::rules_for_bus`]).

mod limits;
service_only! {
    mod archives;
    mod buses;
    mod model;
    mod rules;
    mod targets;
}

#[cfg(feature = "service")]
use std::path::Path;
#[cfg(feature = "service")]
use std::sync::{Arc, Mutex, MutexGuard};

service_only! {
    use rusqlite::Connection;
    use tokio::sync::watch;
}

#[cfg(feature = "service")]
pub use archives::ArchiveFilter;
pub use limits::{DEFAULT_ACCOUNT, DEFAULT_BUS, DEFAULT_REGION, MAX_TARGETS_PER_RULE, RuleLimits};
#[cfg(feature = "service")]
pub use model::{ArchiveInfo, BusInfo, ReplayInfo, ReplayState, RuleState, StoredRule};
service_only! {
    pub use targets::FailedTarget;
}

/// Why a registry call failed. The messages of the first variants are EventBridge's, meant for
/// API callers; each variant maps to one EventBridge error type.
#[derive(Debug, thiserror::Error)]
#[cfg(feature = "service")]
pub enum RegistryError {
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// `ResourceAlreadyExistsException`.
    #[error("{0}")]
    AlreadyExists(String),
    /// `ValidationException`.
    #[error("{0}")]
    Validation(String),
    /// `ManagedRuleException`: the rule belongs to a config file.
    #[error("{0}")]
    ManagedRule(String),
    /// `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `IllegalStatusException`.
    #[error("{0}")]
    IllegalStatus(String),
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] crate::store::StoreError),
    /// A query failed.
    #[error("registry query failed: {0}")]
    Store(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("registry data is corrupt: {0}")]
    Corrupt(String),
    /// A rule's stored metadata does not read (see [`crate::model::MetadataError`]).
    #[error(transparent)]
    Metadata(#[from] crate::model::MetadataError),
}

/// Buses, rules, targets, archives and replays in the store. See the module documentation.
#[derive(Clone)]
#[cfg(feature = "service")]
pub struct Registry {
    inner: Arc<Inner>,
}

#[cfg(feature = "service")]
struct Inner {
    connection: Mutex<Connection>,
    account: String,
    region: String,
    changes: watch::Sender<u64>,
    /// Whether any archive may exist: PutEvents skips archiving (a trip to the store) when none
    /// does. Set when one is created, cleared only when the last is deleted.
    archives_exist: std::sync::atomic::AtomicBool,
    /// See [`RuleLimits`].
    rule_limits: Mutex<RuleLimits>,
}

#[cfg(feature = "service")]
impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("account", &self.inner.account)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "service")]
impl Registry {
    /// Opens the store at `path` (creating it and the `default` bus if needed); ARNs name
    /// `account` and `region`.
    pub fn open(path: &Path, account: &str, region: &str) -> Result<Registry, RegistryError> {
        let connection = crate::store::open(path)?;
        connection.execute(
            "INSERT OR IGNORE INTO registry_buses (name, description, created_ms) VALUES (?1, NULL, ?2)",
            rusqlite::params![DEFAULT_BUS, now_ms()],
        )?;
        let (changes, _) = watch::channel(0);
        let registry = Registry {
            inner: Arc::new(Inner {
                connection: Mutex::new(connection),
                account: account.to_owned(),
                region: region.to_owned(),
                changes,
                archives_exist: std::sync::atomic::AtomicBool::new(true),
                rule_limits: Mutex::new(RuleLimits::default()),
            }),
        };
        registry.refresh_archives_exist()?;
        Ok(registry)
    }

    /// Sets the limits later rule changes are held to.
    pub fn set_rule_limits(&self, limits: RuleLimits) {
        *self
            .inner
            .rule_limits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = limits;
    }

    /// The limits rule changes are held to.
    pub fn rule_limits(&self) -> RuleLimits {
        *self
            .inner
            .rule_limits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The account id in ARNs.
    pub fn account(&self) -> &str {
        &self.inner.account
    }

    /// The region in ARNs.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// A counter bumped after every change to buses, rules or targets.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// `arn:aws:events:<region>:<account>:event-bus/<name>`.
    pub fn bus_arn(&self, bus: &str) -> String {
        self.arn(&format!("event-bus/{bus}"))
    }

    /// A rule's ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` elsewhere.
    pub fn rule_arn(&self, bus: &str, rule: &str) -> String {
        if bus == DEFAULT_BUS {
            self.arn(&format!("rule/{rule}"))
        } else {
            self.arn(&format!("rule/{bus}/{rule}"))
        }
    }

    /// An archive's ARN.
    pub fn archive_arn(&self, archive: &str) -> String {
        self.arn(&format!("archive/{archive}"))
    }

    /// A replay's ARN.
    pub fn replay_arn(&self, replay: &str) -> String {
        self.arn(&format!("replay/{replay}"))
    }

    /// The bus named by `name_or_arn` (a name, or an ARN of this account and region), or `None`
    /// when it is an ARN of elsewhere or not an event-bus ARN.
    pub fn bus_name_from(&self, name_or_arn: &str) -> Option<String> {
        self.resource_name(name_or_arn, "event-bus/")
    }

    /// The name inside one of this account's and region's ARNs of `kind` (`"archive/"`, ...), or
    /// the text itself when it is not an ARN.
    pub fn resource_name(&self, name_or_arn: &str, kind: &str) -> Option<String> {
        if !name_or_arn.starts_with("arn:") {
            return Some(name_or_arn.to_owned());
        }
        let prefix = self.arn(kind);
        name_or_arn
            .strip_prefix(&prefix)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    }

    fn arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:{resource}",
            self.inner.region, self.inner.account
        )
    }

    /// Stops this registry's commits (PutEvents' archive writes among them) from running SQLite's
    /// automatic checkpoint: for a process that runs a [`crate::store::Checkpointer`].
    pub fn leave_checkpoints_to_background(&self) -> Result<(), RegistryError> {
        self.with(|connection| {
            connection.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
            Ok(())
        })
    }

    /// Runs `f` in a transaction that commits when it returns `Ok`, then tells the watchers
    /// ([`Registry::subscribe`]) that the registry changed.
    fn change<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let value = self.with(|connection| {
            let transaction = connection.transaction()?;
            let value = f(&transaction)?;
            transaction.commit()?;
            Ok(value)
        })?;
        self.changed();
        Ok(value)
    }

    /// Runs `f` on the connection. A panic in an earlier call cannot leave a transaction open
    /// (rusqlite rolls back on drop), so a poisoned lock is taken over.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut guard: MutexGuard<'_, Connection> = self
            .inner
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    fn changed(&self) {
        self.inner.changes.send_modify(|count| *count += 1);
    }
}

/// Now, Unix milliseconds.
#[cfg(feature = "service")]
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
#[cfg(feature = "service")]
mod tests {
    use super::*;

    /// `rules` PutRule calls through a registry on a fresh store; the WAL frames nobody has
    /// copied into the database file yet.
    fn wal_frames_after_puts(leave_to_background: bool, rules: usize) -> i64 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.db");
        let registry = Registry::open(&path, "123456789012", "us-east-1").expect("open");
        // More rules than a bus's default quota: the WAL, not the quota, is under test.
        registry.set_rule_limits(RuleLimits {
            max_rules_per_bus: rules,
            ..RuleLimits::default()
        });
        if leave_to_background {
            registry
                .leave_checkpoints_to_background()
                .expect("the pragma");
        }
        for n in 0..rules {
            registry
                .put_rule(
                    &crate::model::RuleSpec::new(crate::model::RuleFields {
                        event_bus_name: DEFAULT_BUS.to_owned(),
                        name: format!("rule-{n}"),
                        event_pattern: Some(r#"{"source": ["aws.signin"]}"#.to_owned()),
                        ..crate::model::RuleFields::default()
                    })
                    .expect("a valid rule"),
                )
                .expect("put");
        }
        let other = crate::store::open(&path).expect("open");
        crate::store::checkpoint(&other)
            .expect("checkpoint")
            .wal_frames
    }

    #[test]
    fn registry_commits_can_leave_checkpoints_to_the_checkpoint_thread() {
        // Every PutRule commits at least one frame; SQLite's automatic checkpoint at 1000 pages
        // lets the WAL start over, so only a registry that leaves it alone keeps them all.
        assert!(wal_frames_after_puts(true, 1_500) >= 1_500);
        assert!(wal_frames_after_puts(false, 1_500) < 1_500);
    }
}
