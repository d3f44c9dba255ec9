//! The two engines behind one small trait, with panics caught and reported as errors.

use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use trailbell_pattern::{Cache, Matcher, MatcherBuilder, RuleId};

use crate::rules::Rule;

/// Why an engine could not run a rule set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The engine rejected a pattern that EventBridge accepts: it lacks the operator.
    Unsupported(String),
    /// The engine panicked while building or matching.
    Panicked(String),
    /// Any other error (a rejected pattern in trailbell, an event that failed to parse).
    Error(String),
    /// Not run (`--engine` chose the other one).
    Skipped,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unsupported(m) => write!(f, "unsupported: {m}"),
            Failure::Panicked(m) => write!(f, "panicked: {m}"),
            Failure::Error(m) => write!(f, "error: {m}"),
            Failure::Skipped => write!(f, "skipped"),
        }
    }
}

impl Failure {
    /// One word for the table.
    pub fn short(&self) -> &'static str {
        match self {
            Failure::Unsupported(_) => "unsupported",
            Failure::Panicked(_) => "panicked",
            Failure::Error(_) => "error",
            Failure::Skipped => "skipped",
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default panic hook (which prints to stderr) with one that records the message and
/// location for [`guarded`] to report. Call once at start-up.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = payload_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
    }));
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// Runs `f`, turning a panic into `Err(message)`.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    LAST_PANIC.with(|p| p.borrow_mut().take());
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_message(payload.as_ref()))
    })
}

/// What the benchmark needs from an engine.
pub trait Engine: Sized {
    /// Name in output.
    const NAME: &'static str;

    /// Compiles the rules.
    fn build(rules: &[Rule]) -> Result<Self, Failure>;

    /// The number of rules matching `event` (the timed operation).
    fn count(&mut self, event: &[u8]) -> Result<usize, String>;

    /// The number of matching rules and an order-independent digest of which rules they are.
    fn digest(&mut self, event: &[u8]) -> Result<(u32, u64), String>;

    /// The names of the matching rules, sorted.
    fn names(&mut self, event: &[u8]) -> Result<Vec<String>, String>;
}

/// An order-independent digest of a set of rule indexes.
pub fn digest_of(indexes: impl Iterator<Item = usize>) -> (u32, u64) {
    let mut count = 0;
    let mut sum = 0u64;
    for i in indexes {
        count += 1;
        sum = sum.wrapping_add(crate::rng::mix(i as u64 + 1));
    }
    (count, sum)
}

/// trailbell's compiled matcher, one thread, reusing its cache and output vector.
///
/// `TRUSTED = false` is [`Matcher::matches_with`], which validates the whole event;
/// `TRUSTED = true` is [`Matcher::matches_trusted_with`], which skips what no rule reads without
/// validating it (as quamina does).
pub struct TrailbellEngine<const TRUSTED: bool> {
    matcher: Matcher,
    cache: Cache,
    out: Vec<RuleId>,
}

/// trailbell, validating every event.
pub type Trailbell = TrailbellEngine<false>;
/// trailbell's trusted mode, for events known to be valid JSON.
pub type TrailbellTrusted = TrailbellEngine<true>;

impl<const TRUSTED: bool> Engine for TrailbellEngine<TRUSTED> {
    const NAME: &'static str = if TRUSTED { "trusted" } else { "trailbell" };

    fn build(rules: &[Rule]) -> Result<Self, Failure> {
        let built = guarded(|| {
            let mut builder = MatcherBuilder::new();
            for rule in rules {
                builder
                    .add_rule(&rule.name, &rule.pattern)
                    .map_err(|e| Failure::Error(e.to_string()))?;
            }
            Ok(builder.build())
        });
        let matcher = built.map_err(Failure::Panicked)??;
        let cache = matcher.new_cache();
        Ok(TrailbellEngine {
            matcher,
            cache,
            out: Vec::new(),
        })
    }

    #[inline]
    fn count(&mut self, event: &[u8]) -> Result<usize, String> {
        let result = if TRUSTED {
            self.matcher
                .matches_trusted_with(&mut self.cache, event, &mut self.out)
        } else {
            self.matcher
                .matches_with(&mut self.cache, event, &mut self.out)
        };
        result.map_err(|e| e.to_string())?;
        Ok(self.out.len())
    }

    fn digest(&mut self, event: &[u8]) -> Result<(u32, u64), String> {
        self.count(event)?;
        Ok(digest_of(self.out.iter().map(|id| id.index())))
    }

    fn names(&mut self, event: &[u8]) -> Result<Vec<String>, String> {
        self.count(event)?;
        let mut names: Vec<String> = self
            .out
            .iter()
            .map(|&id| self.matcher.rule_name(id).to_owned())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// The arena budget given to quamina: 1 GiB instead of its default 10 MiB.
pub const QUAMINA_ARENA_BUDGET: usize = 1 << 30;

/// The `quamina` crate (Rust port of quamina), rule ids as indexes.
pub struct Quamina {
    q: quamina::Quamina<u32>,
    names: Vec<String>,
}

impl Engine for Quamina {
    const NAME: &'static str = "quamina";

    fn build(rules: &[Rule]) -> Result<Quamina, Failure> {
        let built = guarded(|| {
            // quamina's default arena budget (10 MiB) rejects the 10,000-rule sets as "too
            // complex"; raise it so that they can be compared at all.
            let mut q = quamina::QuaminaBuilder::<u32>::new()
                .with_arena_byte_budget(QUAMINA_ARENA_BUDGET)
                .build()
                .map_err(|e| Failure::Error(e.to_string()))?;
            for (i, rule) in rules.iter().enumerate() {
                let id = u32::try_from(i).unwrap_or(u32::MAX);
                q.add_pattern(id, &rule.pattern).map_err(|e| match e {
                    quamina::QuaminaError::InvalidPattern(m) => {
                        Failure::Unsupported(format!("{m} (rule {})", rule.name))
                    }
                    other => Failure::Error(format!("{other} (rule {})", rule.name)),
                })?;
            }
            // quamina freezes its automaton lazily, on the first match: do it here so that it
            // counts as building, not as matching.
            q.count_matches(b"{}")
                .map_err(|e| Failure::Error(e.to_string()))?;
            Ok(q)
        });
        let q = built.map_err(Failure::Panicked)??;
        Ok(Quamina {
            q,
            names: rules.iter().map(|r| r.name.clone()).collect(),
        })
    }

    #[inline]
    fn count(&mut self, event: &[u8]) -> Result<usize, String> {
        self.q.count_matches(event).map_err(|e| e.to_string())
    }

    fn digest(&mut self, event: &[u8]) -> Result<(u32, u64), String> {
        let ids = self.q.matches_for_event(event).map_err(|e| e.to_string())?;
        Ok(digest_of(ids.iter().map(|&i| i as usize)))
    }

    fn names(&mut self, event: &[u8]) -> Result<Vec<String>, String> {
        let ids = self.q.matches_for_event(event).map_err(|e| e.to_string())?;
        let mut names: Vec<String> = ids
            .iter()
            .map(|&i| self.names.get(i as usize).cloned().unwrap_or_default())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Resident set size of this process in KiB, from the `VmRSS` line of `/proc/self/status`
/// (the same number as the second field of `/proc/self/statm` times the page size).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_reports_the_panic_message() {
        let r: Result<(), String> = guarded(|| panic!("boom {}", 7));
        assert!(r.unwrap_err().contains("boom 7"));
    }

    #[test]
    fn digest_ignores_order() {
        assert_eq!(
            digest_of([3, 1, 2].into_iter()),
            digest_of([1, 2, 3].into_iter())
        );
        assert_ne!(digest_of([1, 2].into_iter()), digest_of([1, 3].into_iter()));
    }

    #[test]
    fn rss_is_readable() {
        assert!(rss_kib().is_some_and(|k| k > 0));
    }
}
