//! Secrets in the configuration are written as references, so the file can be committed:
//! `env:NAME` (an environment variable) or `file:PATH` (a file's contents, trimmed). A plain value
//! is taken as it is. `ssm:NAME` and `secretsmanager:ID` name AWS-held secrets that the caller
//! fetched beforehand ([`super::remote_secrets`]); they are looked up whole through the same
//! resolver, so a caller that fetched nothing refuses them instead of taking the text as a secret.

use crate::secret::Secret;

/// Why a secret reference could not be resolved; it names the variable, secret or file, never the
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretRefError {
    /// `env:NAME` names a variable that is set but blank.
    #[error("the environment variable {0} is empty")]
    EmptyVariable(String),
    /// `env:NAME` names a variable that is not set.
    #[error("the environment variable {0} is not set")]
    UnsetVariable(String),
    /// An `ssm:` or `secretsmanager:` reference fetched blank.
    #[error("the secret {0} is empty")]
    EmptyRemote(String),
    /// An `ssm:` or `secretsmanager:` reference the caller did not fetch.
    #[error(
        "the secret {0} was not fetched (SSM and Secrets Manager references are resolved by the \
         Lambda build)"
    )]
    NotFetched(String),
    /// `file:PATH` names a blank file.
    #[error("the secret file {0} is empty")]
    EmptyFile(String),
    /// `file:PATH` cannot be read.
    #[error("cannot read the secret file {path}: {source}")]
    UnreadableFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Resolves a secret reference; `Err` says why, without the secret.
///
/// ```
/// use trailbell::config::resolve_secret;
///
/// let env = |name: &str| (name == "HOOK").then(|| "https://hooks.example/T/B/X".to_owned());
/// assert_eq!(resolve_secret("env:HOOK", &env)?.expose(), "https://hooks.example/T/B/X");
/// assert!(resolve_secret("env:MISSING", &env).is_err());
/// assert_eq!(resolve_secret("plain", &env)?.expose(), "plain");
/// # Ok::<(), trailbell::config::SecretRefError>(())
/// ```
pub fn resolve_secret(
    reference: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, SecretRefError> {
    if let Some(name) = reference.strip_prefix("env:") {
        return match env(name) {
            Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Some(_) => Err(SecretRefError::EmptyVariable(name.to_owned())),
            None => Err(SecretRefError::UnsetVariable(name.to_owned())),
        };
    }
    if super::remote_secrets::is_remote_reference(reference) {
        return match env(reference) {
            Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Some(_) => Err(SecretRefError::EmptyRemote(reference.to_owned())),
            None => Err(SecretRefError::NotFetched(reference.to_owned())),
        };
    }
    if let Some(path) = reference.strip_prefix("file:") {
        return match std::fs::read_to_string(path) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim())),
            Ok(_) => Err(SecretRefError::EmptyFile(path.to_owned())),
            Err(source) => Err(SecretRefError::UnreadableFile {
                path: path.to_owned(),
                source,
            }),
        };
    }
    Ok(Secret::new(reference))
}
