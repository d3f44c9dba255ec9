//! `trailbell deploy`, `destroy` and `doctor`: a rule pack turned into real EventBridge rules in
//! every region where their events land, the trail they depend on, and a check of a live account.
//!
//! - [`regions`]: where a rule's events land and which rule state lets them through.
//! - [`plan`]: the desired state, computed purely from a pack and [`plan::Options`].
//! - [`apply`]: the actual state read from AWS, the diff (create, update, unchanged, delete) and
//!   applying it. Only resources named with [`plan::NAME_PREFIX`] *and* tagged
//!   [`plan::MANAGED_TAG_KEY`] are ever changed or deleted.
//! - [`cloudformation`]: the same desired state as a CloudFormation template.
//! - [`doctor`]: findings about a live account, each with its fix.
//! - [`metric_filters`] and [`security_hub`]: the metric-filter form of the set-up (Security Hub
//!   CloudWatch.1-14): its CloudFormation template, and `doctor --log-group`'s check of it.
//!
//! The design is docs/decisions/0009-deploy-and-doctor.md.

pub mod apply;
mod aws;
pub mod cloudformation;
pub mod doctor;
pub mod metric_filters;
pub mod plan;
pub mod regions;
pub mod security_hub;

pub use aws::Aws;

/// Why a deployment (or a doctor's visit) could not be done.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The options do not make a deployable set-up.
    #[error("{0}")]
    Options(String),
    /// An AWS call failed.
    #[error("failed to {what}: {message}")]
    Aws {
        /// What was being done, e.g. `list rules in us-east-1`.
        what: String,
        /// The SDK's error with its context.
        message: String,
    },
    /// A resource trailbell would create exists and is not trailbell's.
    #[error(
        "{kind} {name} in {region} exists and is not managed by trailbell (no {} tag): \
         trailbell leaves it alone; rename or delete it, or deploy under another --event-bus-name",
        plan::MANAGED_TAG_KEY
    )]
    NotOurs {
        /// `rule`, ...
        kind: &'static str,
        /// Its name.
        name: String,
        /// Its region.
        region: String,
    },
}

impl DeployError {
    /// An SDK error, with the whole chain of causes in one line.
    pub(crate) fn aws<E>(what: impl Into<String>, err: E) -> DeployError
    where
        E: std::error::Error + 'static,
    {
        DeployError::Aws {
            what: what.into(),
            message: aws_smithy_display(&err),
        }
    }
}

/// An error and its sources, `: `-separated (the SDK's own Display says only "service error").
fn aws_smithy_display(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
