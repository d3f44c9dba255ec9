//! Secrets in the configuration are written as references, so the file can be committed:
//! `env:NAME` (an environment variable) or `file:PATH` (a file's contents, trimmed). A plain value
//! is taken as it is. `ssm:NAME` and `secretsmanager:ID` name AWS-held secrets that the caller
//! fetched beforehand ([`super::remote_secrets`]); they are looked up whole through the same
//! resolver, so a caller that fetched nothing refuses them instead of taking the text as a secret.

use crate::secret::Secret;

/// Resolves a secret reference; `Err` says why, without the secret.
///
/// ```
/// use trailbell::config::resolve_secret;
///
/// let env = |name: &str| (name == "HOOK").then(|| "https://hooks.example/T/B/X".to_owned());
/// assert_eq!(resolve_secret("env:HOOK", &env)?.expose(), "https://hooks.example/T/B/X");
/// assert!(resolve_secret("env:MISSING", &env).is_err());
/// assert_eq!(resolve_secret("plain", &env)?.expose(), "plain");
/// # Ok::<(), String>(())
/// ```
pub fn resolve_secret(
    reference: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        return match env(name) {
            Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Some(_) => Err(format!("the environment variable {name} is empty")),
            None => Err(format!("the environment variable {name} is not set")),
        };
    }
    if super::remote_secrets::is_remote_reference(reference) {
        return match env(reference) {
            Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Some(_) => Err(format!("the secret {reference} is empty")),
            None => Err(format!(
                "the secret {reference} was not fetched (SSM and Secrets Manager references \
                 are resolved by the Lambda build)"
            )),
        };
    }
    if let Some(path) = reference.strip_prefix("file:") {
        return match std::fs::read_to_string(path) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Ok(_) => Err(format!("the secret file {path} is empty")),
            Err(err) => Err(format!("cannot read the secret file {path}: {err}")),
        };
    }
    Ok(Secret::new(reference))
}
