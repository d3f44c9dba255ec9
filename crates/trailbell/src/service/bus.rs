//! A bus's rules compiled for matching: one matcher for all its enabled rules, and for each rule
//! its metadata (title, severity, noise control) and its targets resolved to destinations, with
//! their input validated. Rebuilt whenever the registry changes.

use std::collections::BTreeMap;

use crate::noise::NoiseSettings;
use crate::registry::{RuleState, StoredRule, StoredTarget};
use crate::rules::{CompiledRules, Rule, RulePack, RulesError, Severity};
use crate::targets::{Destination, DestinationKind, RetryPolicy, SnsDestination, SqsDestination};
use crate::transform::{InputTransformer, TargetInput};

/// What trailbell keeps with a rule besides EventBridge's fields (the registry's `extras`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleExtras {
    /// One line for people.
    pub title: Option<String>,
    /// How urgent.
    pub severity: Option<Severity>,
    /// Why it matters and how to respond.
    pub description: Option<String>,
    /// Exceptions, threshold, dedup.
    #[serde(default)]
    pub noise: NoiseSettings,
}

/// Why a bus's rules cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A pattern the registry accepted does not compile.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A rule's stored metadata does not read as [`RuleExtras`] (a store edited by hand, or
    /// written by another version): refused rather than read as defaults, which would drop the
    /// rule's exceptions and alert on what they silence.
    #[error(
        "rule {rule} on the bus {bus}: its stored metadata (title, severity, noise control) \
         cannot be read: {source}"
    )]
    Metadata {
        /// The rule's name.
        rule: String,
        /// Its bus.
        bus: String,
        /// What serde said, with the field.
        #[source]
        source: serde_json::Error,
    },
}

/// A stored rule's metadata: none for rules put through the API (`null`).
fn rule_extras(stored: &StoredRule) -> Result<RuleExtras, BusError> {
    if stored.extras.is_null() {
        return Ok(RuleExtras::default());
    }
    serde_json::from_value(stored.extras.clone()).map_err(|source| BusError::Metadata {
        rule: stored.name.clone(),
        bus: stored.event_bus_name.clone(),
        source,
    })
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

/// Where targets resolve: configured destinations by name, and SNS topics and SQS queues by ARN.
#[derive(Clone, Debug, Default)]
pub struct Destinations {
    /// Configured destinations, by name.
    pub configured: BTreeMap<String, Destination>,
    /// The AWS endpoint for destinations made from ARNs (tests: moto).
    pub aws_endpoint_url: Option<String>,
}

impl Destinations {
    /// The destination a target's `Arn` names: a configured one by name (or by an API
    /// destination's ARN ending in `api-destination/<name>`), else an SNS topic or SQS queue made
    /// from the ARN.
    pub fn resolve(&self, arn: &str) -> Option<Destination> {
        if let Some(found) = self.configured.get(arn) {
            return Some(found.clone());
        }
        if let Some((_, rest)) = arn.split_once(":api-destination/") {
            let name = rest.split('/').next().unwrap_or(rest);
            return self.configured.get(name).cloned();
        }
        let timeout = std::time::Duration::from_secs(10);
        if !crate::targets::is_topic_or_queue_arn(arn) {
            return None;
        }
        if arn.starts_with("arn:aws:sns:") {
            return Some(Destination {
                name: arn.to_owned(),
                kind: DestinationKind::Sns(SnsDestination {
                    topic_arn: arn.to_owned(),
                    chatbot_format: false,
                    endpoint_url: self.aws_endpoint_url.clone(),
                }),
                rate_limit_per_second: None,
                timeout,
                max_in_flight: None,
            });
        }
        if arn.starts_with("arn:aws:sqs:") {
            return Some(Destination {
                name: arn.to_owned(),
                kind: DestinationKind::Sqs(SqsDestination {
                    queue_url: self.queue_url(arn)?,
                    message_group_id: None,
                    endpoint_url: self.aws_endpoint_url.clone(),
                }),
                rate_limit_per_second: None,
                timeout,
                max_in_flight: None,
            });
        }
        None
    }

    /// The URL of the queue `arn:aws:sqs:<region>:<account>:<name>` names.
    pub fn queue_url(&self, arn: &str) -> Option<String> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some("aws"), Some("sqs"), Some(region), Some(account), Some(name)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(match &self.aws_endpoint_url {
            Some(endpoint) => format!("{}/{account}/{name}", endpoint.trim_end_matches('/')),
            None => format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
        })
    }
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
            .filter(|rule| rule.state.is_enabled() && rule.event_pattern.is_some())
            .collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for stored in sorted {
            let extras = rule_extras(stored)?;
            pack_rules.push(Rule {
                name: stored.name.clone(),
                title: extras.title.clone().unwrap_or_else(|| stored.name.clone()),
                severity: extras.severity.unwrap_or(Severity::Medium),
                description: extras
                    .description
                    .clone()
                    .or_else(|| stored.description.clone())
                    .unwrap_or_default(),
                event_pattern: stored.event_pattern.clone().unwrap_or_default(),
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
                        stored.name, target.id
                    )),
                }
            }
            runtime.push(RuleRuntime {
                arn: stored.arn.clone(),
                state: stored.state,
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
    target: &StoredTarget,
    destinations: &Destinations,
) -> Result<(TargetRuntime, Destination), String> {
    let destination = destinations.resolve(&target.arn).ok_or_else(|| {
        format!(
            "{:?} is neither a configured destination nor an SNS topic or SQS queue ARN",
            target.arn
        )
    })?;
    let transformer = target.input_transformer.as_ref().map(|t| InputTransformer {
        input_paths_map: t.input_paths_map.clone().unwrap_or_default(),
        input_template: t.input_template.clone(),
    });
    let input = TargetInput::new(
        target.input.as_deref(),
        target.input_path.as_deref(),
        transformer.as_ref(),
    )
    .map_err(|err| err.to_string())?;
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
            input,
            kind,
            retry_policy: target.retry_policy.unwrap_or_default(),
            dead_letter_queue_url,
            message_group_id: target.sqs_message_group_id.clone(),
        },
        destination,
    ))
}
