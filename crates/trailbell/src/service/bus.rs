//! A bus's rules compiled for matching: one matcher for all its enabled rules, and for each rule
//! its metadata (title, severity, noise control) and its targets resolved to destinations, with
//! their input validated. Rebuilt whenever the registry changes.

use std::collections::BTreeMap;

use crate::registry::{RuleState, StoredRule};
use crate::rules::{CompiledRules, Rule, RulePack, RulesError, Severity};
pub use crate::targets::Destinations;
use crate::targets::{Destination, RetryPolicy, TargetSpec};
use crate::transform::TargetInput;

/// Why a bus's rules cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A pattern the registry accepted does not compile.
    #[error(transparent)]
    Rules(#[from] RulesError),
}

pub use crate::targets::PayloadKind;

/// A rule's target, ready to render for.
#[derive(Clone, Debug)]
pub struct TargetRuntime {
    /// `Id`.
    pub id: String,
    /// The destination's name.
    pub destination: String,
    /// `Input`, `InputPath` or `InputTransformer`, validated.
    pub input: TargetInput,
    /// How the matched event is rendered.
    pub kind: PayloadKind,
    /// `RetryPolicy`.
    pub retry_policy: RetryPolicy,
    /// `DeadLetterConfig`, as a queue URL.
    pub dead_letter_queue_url: Option<String>,
    /// `SqsParameters.MessageGroupId`.
    pub message_group_id: Option<String>,
}

/// A rule of a bus, beside its place in the matcher.
#[derive(Clone, Debug)]
pub struct RuleRuntime {
    /// The rule's ARN.
    pub arn: String,
    /// Its state (`ENABLED` rules do not see read-only management events).
    pub state: RuleState,
    /// Its targets.
    pub targets: Vec<TargetRuntime>,
}

/// One bus, compiled.
#[derive(Debug)]
pub struct BusRules {
    /// The matcher and each rule's metadata, by rule id.
    pub compiled: CompiledRules,
    /// Each rule's ARN, state and targets, by rule id.
    pub runtime: Vec<RuleRuntime>,
}

impl BusRules {
    /// Compiles a bus's rules, and returns the destinations their targets use. Disabled rules
    /// and rules without a pattern are left out; a target that cannot be used (an unknown
    /// destination, an invalid input) is left out with a problem in the returned list, and the
    /// rule's other targets still work. Fails when a pattern the registry accepted does not
    /// compile, or a rule's stored metadata cannot be read.
    pub fn build(
        rules: &[StoredRule],
        destinations: &Destinations,
    ) -> Result<(BusRules, Vec<Destination>, Vec<String>), BusError> {
        let mut problems = Vec::new();
        let mut pack_rules = Vec::new();
        let mut runtime = Vec::new();
        let mut used = BTreeMap::new();
        let mut sorted: Vec<&StoredRule> = rules
            .iter()
            .filter(|rule| rule.spec.state().is_enabled() && rule.spec.event_pattern().is_some())
            .collect();
        sorted.sort_by(|a, b| a.spec.name().cmp(b.spec.name()));
        for stored in sorted {
            let spec = &stored.spec;
            let extras = spec.extras();
            pack_rules.push(Rule {
                name: spec.name().to_owned(),
                title: spec.title().to_owned(),
                severity: extras.severity.unwrap_or(Severity::Medium),
                description: extras
                    .description
                    .as_deref()
                    .or(spec.description())
                    .unwrap_or_default()
                    .to_owned(),
                event_pattern: spec.event_pattern().unwrap_or_default().to_owned(),
                filter_pattern: None,
                cis: Vec::new(),
                noise: extras.noise.clone(),
                tests: Vec::new(),
                source: stored.arn.clone(),
                metadata: crate::rules::Metadata::default(),
            });
            let mut targets = Vec::new();
            for target in &stored.targets {
                match target_runtime(target, destinations) {
                    Ok((runtime, destination)) => {
                        used.insert(destination.name.clone(), destination);
                        targets.push(runtime);
                    }
                    Err(problem) => problems.push(format!(
                        "rule {} target {}: {problem}",
                        stored.spec.name(),
                        target.id
                    )),
                }
            }
            runtime.push(RuleRuntime {
                arn: stored.arn.clone(),
                state: stored.spec.state(),
                targets,
            });
        }
        let compiled = RulePack::new(pack_rules)?.compile()?;
        Ok((
            BusRules { compiled, runtime },
            used.into_values().collect(),
            problems,
        ))
    }
}

fn target_runtime(
    target: &TargetSpec,
    destinations: &Destinations,
) -> Result<(TargetRuntime, Destination), String> {
    let destination = destinations.resolve(&target.arn).ok_or_else(|| {
        format!(
            "{:?} is neither a configured destination nor an SNS topic or SQS queue ARN",
            target.arn
        )
    })?;
    let kind = destination.payload_kind();
    let dead_letter_queue_url = match &target.dead_letter_arn {
        Some(arn) => Some(
            destinations
                .queue_url(arn)
                .ok_or_else(|| format!("DeadLetterConfig.Arn {arn:?} is not an SQS queue ARN"))?,
        ),
        None => None,
    };
    Ok((
        TargetRuntime {
            id: target.id.clone(),
            destination: destination.name.clone(),
            input: target.input().clone(),
            kind,
            retry_policy: target.retry_policy(),
            dead_letter_queue_url,
            message_group_id: target.sqs_message_group_id.clone(),
        },
        destination,
    ))
}
