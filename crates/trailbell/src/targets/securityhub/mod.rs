//! AWS Security Hub: each alert a finding in ASFF ([`finding`]), imported with
//! `BatchImportFindings`. The finding's id is stable per rule and event, so delivering the same
//! alert again updates the finding instead of adding one (decision 0052).

pub mod config;
pub mod finding;

#[cfg(feature = "service")]
use std::time::Duration;

#[cfg(feature = "service")]
use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity, SeverityLabel};

#[cfg(feature = "service")]
use super::aws;
#[cfg(feature = "service")]
use super::client::{Delivered, DeliveryError, Outgoing};
#[cfg(feature = "service")]
use finding::Finding;

/// Security Hub in one region (`type = "securityhub"`).
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityHubDestination {
    /// The hub's region; `None` for the usual AWS configuration's.
    pub region: Option<String>,
    /// A Security Hub-compatible endpoint (tests: moto); `None` for AWS's.
    pub endpoint_url: Option<String>,
}

/// Security Hub, ready to import findings into.
#[derive(Debug)]
#[cfg(feature = "service")]
pub struct SecurityHubClient {
    client: aws_sdk_securityhub::Client,
    region: String,
}

#[cfg(feature = "service")]
impl SecurityHubClient {
    /// Loads the AWS configuration.
    pub async fn new(config: &SecurityHubDestination, timeout: Duration) -> SecurityHubClient {
        let sdk = aws::sdk_config(
            config.region.clone(),
            config.endpoint_url.as_deref(),
            timeout,
        )
        .await;
        let region = sdk
            .region()
            .map(|region| region.as_ref().to_owned())
            .unwrap_or_else(|| "us-east-1".to_owned());
        SecurityHubClient {
            client: aws_sdk_securityhub::Client::new(&sdk),
            region,
        }
    }

    /// Imports the finding once. A finding Security Hub refuses (`FailedFindings`) is a failure
    /// with its reason; throttling and server errors retry.
    pub async fn deliver(&self, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        let finding: Finding = serde_json::from_str(&message.payload).map_err(|err| {
            DeliveryError::permanent(
                "INVALID_FINDING",
                format!("the payload is not a trailbell finding ({err}); give the target no Input"),
            )
        })?;
        let id = finding.id.clone();
        let output = self
            .client
            .batch_import_findings()
            .findings(self.to_asff(finding))
            .send()
            .await
            .map_err(|err| aws::classify(&err))?;
        if let Some(failed) = output.failed_findings().first() {
            let code = failed.error_code().unwrap_or("Unknown").to_owned();
            let message = format!(
                "{code}: finding {id}: {}",
                failed.error_message().unwrap_or("refused")
            );
            return Err(if code.contains("Throttl") {
                DeliveryError::retryable(code, message)
            } else {
                DeliveryError::permanent(code, message)
            });
        }
        Ok(Delivered {
            remote_id: Some(id),
            ..Delivered::default()
        })
    }

    /// The SDK's finding: trailbell's fields plus the fixed ones (schema, product).
    fn to_asff(&self, finding: Finding) -> AwsSecurityFinding {
        let account = &finding.aws_account_id;
        let mut builder = AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(finding.id)
            .product_arn(format!(
                "arn:aws:securityhub:{}:{account}:product/{account}/default",
                self.region
            ))
            .generator_id(finding.generator_id)
            .aws_account_id(account)
            .region(finding.region)
            .created_at(finding.created_at)
            .updated_at(finding.updated_at)
            .first_observed_at(finding.first_observed_at)
            .severity(
                Severity::builder()
                    .label(SeverityLabel::from(finding.severity_label.as_str()))
                    .build(),
            )
            .title(finding.title)
            .description(finding.description)
            .set_types(Some(finding.types))
            .set_product_fields(Some(finding.product_fields.into_iter().collect()));
        for resource in finding.resources {
            builder = builder.resources(
                Resource::builder()
                    .r#type(resource.kind)
                    .id(resource.id)
                    .build(),
            );
        }
        builder.build()
    }
}
