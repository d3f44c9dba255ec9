//! The registry's constants and limits, as configured (`[service.rules]`); apart from the
//! store so that `validate` reads them in a build without one.

/// The account id used in ARNs unless configured.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region used in ARNs unless configured.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The bus that always exists.
pub const DEFAULT_BUS: &str = "default";
/// EventBridge's limit of targets per rule.
pub const MAX_TARGETS_PER_RULE: usize = 5;

/// What the rules of one bus may cost, API and configured rules together; PutRule beyond them is
/// a `LimitExceededException` and a configuration beyond them is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleLimits {
    /// Rules on one bus (EventBridge's default quota: 300).
    pub max_rules_per_bus: usize,
    /// `$or` combinations of all the bus's patterns together (each rule alone may have 1,000,
    /// as in EventBridge): what the bus's compiled matcher costs.
    pub max_combinations_per_bus: u64,
}

impl Default for RuleLimits {
    fn default() -> Self {
        RuleLimits {
            max_rules_per_bus: 300,
            max_combinations_per_bus: 20_000,
        }
    }
}
