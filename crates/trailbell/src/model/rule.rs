//! A rule as every origin builds it: [`RuleSpec::new`] is the one checked constructor, whether
//! the fields come from the configuration file, the API's `PutRule`, a rule pack, the store or
//! deploy's plan (docs/decisions/0065-rule-and-target-specs.md).

use trailbell_pattern::Pattern;

use super::limits::MAX_RULE_NAME;
use crate::noise::NoiseSettings;
use crate::rules::Severity;

/// The longest `Description` EventBridge accepts.
pub const MAX_DESCRIPTION: usize = 512;

/// A rule's `State`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleState {
    /// Matched against events.
    #[default]
    Enabled,
    /// Kept but not matched.
    Disabled,
    /// Matched, including CloudTrail's read-only management events.
    EnabledWithAllCloudtrailManagementEvents,
}

/// EventBridge's states, as its error messages list them.
pub const RULE_STATES: &[&str] = &[
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

impl RuleState {
    /// EventBridge's spelling (`ENABLED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
            RuleState::EnabledWithAllCloudtrailManagementEvents => {
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
            }
        }
    }

    /// Reads EventBridge's spelling.
    pub fn parse(text: &str) -> Option<RuleState> {
        match text {
            "ENABLED" => Some(RuleState::Enabled),
            "DISABLED" => Some(RuleState::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Some(RuleState::EnabledWithAllCloudtrailManagementEvents)
            }
            _ => None,
        }
    }

    /// Whether events are matched against the rule.
    pub fn is_enabled(self) -> bool {
        self != RuleState::Disabled
    }
}

/// What trailbell keeps with a rule besides EventBridge's fields; stored as the rule's
/// `extras` JSON (`null` when every field is unset, as for rules put through the API).
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

/// A rule's stored metadata that does not read as [`RuleExtras`] (a store edited by hand, or
/// written by another version): refused rather than read as defaults, which would drop the rule's
/// exceptions and alert on what they silence.
#[derive(Debug, thiserror::Error)]
#[error(
    "rule {rule} on the bus {bus}: its stored metadata (title, severity, noise control) cannot be \
     read: {source}"
)]
pub struct MetadataError {
    /// The rule's name.
    pub rule: String,
    /// Its bus.
    pub bus: String,
    /// What serde said, with the field.
    #[source]
    pub source: serde_json::Error,
}

/// The fields of a rule as they arrive, before [`RuleSpec::new`] checks them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleFields {
    /// `Name`.
    pub name: String,
    /// `EventBusName`.
    pub event_bus_name: String,
    /// `EventPattern`, JSON text; `None` only for rows stored without one.
    pub event_pattern: Option<String>,
    /// `State`, in EventBridge's spelling; `ENABLED` when absent.
    pub state: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// trailbell's title, severity and noise control.
    pub extras: RuleExtras,
}

/// A rule whose fields EventBridge (and trailbell, for its extras) would accept: a valid name,
/// a pattern that parses, a known state, a description within bounds, exceptions that parse.
/// Its targets are separate resources ([`crate::targets::TargetSpec`]), linked by the rule's name.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    fields: RuleFields,
    state: RuleState,
}

/// Which field of a rule a [`RuleError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleField {
    /// `Name`.
    Name,
    /// `EventPattern`.
    EventPattern,
    /// `State`.
    State,
    /// `Description`.
    Description,
    /// `exceptions[N].event_pattern`.
    Exception(usize),
}

impl RuleField {
    /// The key path inside the rule (`Name`, `exceptions[0].event_pattern`), as the
    /// configuration file spells it.
    pub fn path(self) -> String {
        match self {
            RuleField::Name => "Name".to_owned(),
            RuleField::EventPattern => "EventPattern".to_owned(),
            RuleField::State => "State".to_owned(),
            RuleField::Description => "Description".to_owned(),
            RuleField::Exception(index) => format!("exceptions[{index}].event_pattern"),
        }
    }
}

/// Why a rule's fields are refused, with the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A name outside EventBridge's 1 to 64 of `[.\-_A-Za-z0-9]`.
    #[error("{name:?}: use 1 to {max} letters, digits, '.', '-' or '_'", max = MAX_RULE_NAME)]
    Name {
        /// The name given.
        name: String,
    },
    /// No pattern.
    #[error("missing: a rule needs EventPattern or FilterPattern")]
    MissingPattern,
    /// A pattern (the rule's or an exception's) the engine refuses.
    #[error("{message}")]
    Pattern {
        /// The rule's pattern, or an exception's.
        field: RuleField,
        /// The engine's located message.
        message: String,
    },
    /// An unknown state.
    #[error("{state:?}: expected one of {}", RULE_STATES.join(", "))]
    State {
        /// The state given.
        state: String,
    },
    /// A description over [`MAX_DESCRIPTION`] characters.
    #[error("Member must have length less than or equal to {max}", max = MAX_DESCRIPTION)]
    Description,
}

impl RuleError {
    /// The field the problem is in.
    pub fn field(&self) -> RuleField {
        match self {
            RuleError::Name { .. } => RuleField::Name,
            RuleError::MissingPattern => RuleField::EventPattern,
            RuleError::Pattern { field, .. } => *field,
            RuleError::State { .. } => RuleField::State,
            RuleError::Description => RuleField::Description,
        }
    }
}

/// EventBridge's names for rules and target ids: 1 to 64 of letters, digits, `.`, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_RULE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl RuleSpec {
    /// The one way to make a rule: every problem of `fields` is reported, not only the first.
    ///
    /// ```
    /// use trailbell::model::{RuleFields, RuleSpec, RuleState};
    ///
    /// let rule = RuleSpec::new(RuleFields {
    ///     name: "root".to_owned(),
    ///     event_bus_name: "default".to_owned(),
    ///     event_pattern: Some(r#"{"detail": {"userIdentity": {"type": ["Root"]}}}"#.to_owned()),
    ///     ..RuleFields::default()
    /// })?;
    /// assert_eq!(rule.state(), RuleState::Enabled);
    /// let errors = RuleSpec::new(RuleFields { name: "a b".to_owned(), ..RuleFields::default() })
    ///     .unwrap_err();
    /// assert_eq!(errors.len(), 2, "the name and the missing pattern");
    /// # Ok::<(), Vec<trailbell::model::RuleError>>(())
    /// ```
    pub fn new(fields: RuleFields) -> Result<RuleSpec, Vec<RuleError>> {
        RuleSpec::checked(fields, true)
    }

    /// A rule read back from the store, where a row may lack a pattern (EventBridge's scheduled
    /// rules have none); such a rule is kept but never matched.
    pub fn stored(fields: RuleFields) -> Result<RuleSpec, Vec<RuleError>> {
        RuleSpec::checked(fields, false)
    }

    fn checked(fields: RuleFields, pattern_required: bool) -> Result<RuleSpec, Vec<RuleError>> {
        let mut errors = Vec::new();
        if !valid_name(&fields.name) {
            errors.push(RuleError::Name {
                name: fields.name.clone(),
            });
        }
        match &fields.event_pattern {
            Some(pattern) => {
                if let Err(err) = Pattern::parse(pattern) {
                    errors.push(RuleError::Pattern {
                        field: RuleField::EventPattern,
                        message: err.to_string(),
                    });
                }
            }
            None if pattern_required => errors.push(RuleError::MissingPattern),
            None => {}
        }
        let state = match fields.state.as_deref() {
            None => RuleState::Enabled,
            Some(text) => RuleState::parse(text).unwrap_or_else(|| {
                errors.push(RuleError::State {
                    state: text.to_owned(),
                });
                RuleState::Enabled
            }),
        };
        if fields
            .description
            .as_ref()
            .is_some_and(|description| description.chars().count() > MAX_DESCRIPTION)
        {
            errors.push(RuleError::Description);
        }
        for (index, exception) in fields.extras.noise.exceptions.iter().enumerate() {
            if let Err(err) = Pattern::parse(&exception.event_pattern) {
                errors.push(RuleError::Pattern {
                    field: RuleField::Exception(index),
                    message: err.to_string(),
                });
            }
        }
        if errors.is_empty() {
            Ok(RuleSpec { fields, state })
        } else {
            Err(errors)
        }
    }

    /// `Name`.
    pub fn name(&self) -> &str {
        &self.fields.name
    }

    /// `EventBusName`.
    pub fn event_bus_name(&self) -> &str {
        &self.fields.event_bus_name
    }

    /// `EventPattern`, valid; `None` only for stored rules without one.
    pub fn event_pattern(&self) -> Option<&str> {
        self.fields.event_pattern.as_deref()
    }

    /// `State`.
    pub fn state(&self) -> RuleState {
        self.state
    }

    /// `Description`.
    pub fn description(&self) -> Option<&str> {
        self.fields.description.as_deref()
    }

    /// trailbell's title, severity and noise control.
    pub fn extras(&self) -> &RuleExtras {
        &self.fields.extras
    }

    /// The title people see: the extras', else the name.
    pub fn title(&self) -> &str {
        self.fields
            .extras
            .title
            .as_deref()
            .unwrap_or(&self.fields.name)
    }

    /// The severity: the extras', else medium.
    pub fn severity(&self) -> Severity {
        self.fields.extras.severity.unwrap_or(Severity::Medium)
    }

    /// The same rule in another state (`EnableRule`, `DisableRule`).
    #[must_use]
    pub fn with_state(mut self, state: RuleState) -> RuleSpec {
        self.state = state;
        self.fields.state = Some(state.as_str().to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let errors = RuleSpec::new(RuleFields {
            name: String::new(),
            event_pattern: Some("{".to_owned()),
            state: Some("ON".to_owned()),
            description: Some("x".repeat(MAX_DESCRIPTION + 1)),
            ..RuleFields::default()
        })
        .expect_err("four problems");
        let fields: Vec<RuleField> = errors.iter().map(RuleError::field).collect();
        assert_eq!(
            fields,
            [
                RuleField::Name,
                RuleField::EventPattern,
                RuleField::State,
                RuleField::Description
            ]
        );
        assert!(
            errors[2]
                .to_string()
                .starts_with("\"ON\": expected one of ENABLED")
        );
        assert!(
            RuleSpec::stored(RuleFields {
                name: "r".to_owned(),
                ..RuleFields::default()
            })
            .is_ok()
        );
    }
}
