//! Secrets held in AWS, named in the configuration by reference: `ssm:/param/name` (a Parameter
//! Store parameter, decrypted) and `secretsmanager:name-or-arn` (a Secrets Manager secret's
//! string). [`super::parse`] takes a synchronous resolver, so the references are found in the
//! text first ([`references`]), fetched once ([`fetch`], at a Lambda cold start), and handed to
//! the parse through [`resolver`].

#[cfg(feature = "service")]
use std::collections::BTreeMap;

/// The prefix of a Parameter Store reference.
pub const SSM_PREFIX: &str = "ssm:";
/// The prefix of a Secrets Manager reference.
pub const SECRETS_MANAGER_PREFIX: &str = "secretsmanager:";

/// Whether `reference` names a secret held in AWS.
pub fn is_remote_reference(reference: &str) -> bool {
    reference
        .strip_prefix(SSM_PREFIX)
        .is_some_and(|name| !name.is_empty())
        || reference
            .strip_prefix(SECRETS_MANAGER_PREFIX)
            .is_some_and(|name| !name.is_empty())
}

/// Why a secret could not be fetched (never the secret itself).
#[derive(Debug, thiserror::Error)]
#[cfg(feature = "service")]
pub enum RemoteSecretError {
    /// The configuration is not TOML (the parse that follows names the problem; this is only
    /// the pre-scan's).
    #[error("cannot scan the configuration for secret references: {0}")]
    Toml(String),
    /// AWS refused or failed.
    #[error("cannot fetch {reference}: {message}")]
    Fetch {
        /// The reference, as written.
        reference: String,
        /// AWS's answer.
        message: String,
    },
}

/// Every string value in the configuration's text that is an `ssm:` or `secretsmanager:`
/// reference, once each, in order.
#[cfg(feature = "service")]
pub fn references(text: &str) -> Result<Vec<String>, RemoteSecretError> {
    let value: toml::Value =
        toml::from_str(text).map_err(|err| RemoteSecretError::Toml(err.to_string()))?;
    let mut found = Vec::new();
    collect(&value, &mut found);
    Ok(found)
}

#[cfg(feature = "service")]
fn collect(value: &toml::Value, found: &mut Vec<String>) {
    match value {
        toml::Value::String(text) if is_remote_reference(text) && !found.contains(text) => {
            found.push(text.clone());
        }
        toml::Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        toml::Value::Table(table) => table.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// `[service] aws_endpoint_url` when the text sets it as plain text: the endpoint the secrets are
/// fetched from too (tests: moto), since the configuration is parsed only after they are.
#[cfg(feature = "service")]
pub fn endpoint_in(text: &str) -> Option<String> {
    let value: toml::Value = toml::from_str(text).ok()?;
    value
        .get("service")?
        .get("aws_endpoint_url")?
        .as_str()
        .map(str::to_owned)
}

/// Fetches every reference (Parameter Store with decryption; Secrets Manager's `SecretString`),
/// from `endpoint_url` when given, else AWS as the SDK's usual configuration says.
#[cfg(feature = "service")]
pub async fn fetch(
    references: &[String],
    endpoint_url: Option<&str>,
) -> Result<BTreeMap<String, String>, RemoteSecretError> {
    let mut fetched = BTreeMap::new();
    if references.is_empty() {
        return Ok(fetched);
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk = loader.load().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for reference in references {
        let fail = |message: String| RemoteSecretError::Fetch {
            reference: reference.clone(),
            message,
        };
        let value = if let Some(name) = reference.strip_prefix(SSM_PREFIX) {
            let answer = ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|err| fail(aws_sdk_ssm::error::DisplayErrorContext(err).to_string()))?;
            answer
                .parameter
                .and_then(|parameter| parameter.value)
                .ok_or_else(|| fail("the parameter has no value".to_owned()))?
        } else if let Some(id) = reference.strip_prefix(SECRETS_MANAGER_PREFIX) {
            let answer = secrets
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|err| {
                    fail(aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string())
                })?;
            answer
                .secret_string
                .ok_or_else(|| fail("the secret has no SecretString".to_owned()))?
        } else {
            continue;
        };
        fetched.insert(reference.clone(), value);
    }
    Ok(fetched)
}

/// A resolver for [`super::parse`]: fetched references by their whole text, anything else from
/// the environment.
#[cfg(feature = "service")]
pub fn resolver(fetched: BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        if is_remote_reference(name) {
            fetched.get(name).cloned()
        } else {
            std::env::var(name).ok()
        }
    }
}

#[cfg(test)]
#[cfg(feature = "service")]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_anywhere_once() {
        let text = r#"
[service]
aws_endpoint_url = "http://127.0.0.1:5000"
[destinations.a]
type = "webhook"
endpoint = "ssm:/trailbell/hook"
[destinations.b]
type = "slack"
bot_token = "secretsmanager:slack-token"
headers = { X = "ssm:/trailbell/hook", Y = "env:Y", Z = "ssm:" }
"#;
        assert_eq!(
            references(text).expect("TOML"),
            ["ssm:/trailbell/hook", "secretsmanager:slack-token"]
        );
        assert_eq!(endpoint_in(text).as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn unfetched_references_are_refused_not_taken_as_text() {
        let resolve = resolver(BTreeMap::from([("ssm:/a".to_owned(), "A".to_owned())]));
        assert_eq!(
            super::super::resolve_secret("ssm:/a", &resolve)
                .expect("fetched")
                .expose(),
            "A"
        );
        assert!(super::super::resolve_secret("ssm:/b", &resolve).is_err());
        assert!(super::super::resolve_secret("secretsmanager:x", &|_| None).is_err());
    }
}
