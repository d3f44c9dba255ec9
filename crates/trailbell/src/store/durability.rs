//! What a committed transaction survives, as configured (`durability`); apart from SQLite so
//! that `validate` reads it in a build without a store.

/// What a committed transaction survives: the choice between latency and power-loss safety.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// A crash or `kill -9` of trailbell (`synchronous = NORMAL` in WAL mode: the commit is in
    /// the operating system's hands, not yet on disk). A power loss or kernel crash may lose the
    /// last commits. The default: no fsync in an event's path.
    #[default]
    Process,
    /// A power loss too (`synchronous = FULL`): one fsync per commit, which is milliseconds on
    /// many disks.
    Machine,
}
