//! Where the Lambda build's configuration comes from: `TRAILBELL_CONFIG` (a path, or
//! `s3://bucket/key` fetched at cold start), else a `trailbell.toml` beside the `bootstrap`
//! binary (the deployment package), else the embedded default.

use std::path::{Path, PathBuf};

use super::LambdaError;

/// The configuration's text and a name for it in problems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigText {
    /// The path or URL it was read from, or `(embedded default)`.
    pub name: String,
    /// The TOML.
    pub text: String,
}

/// Reads the configuration `setting` names (the value of `TRAILBELL_CONFIG`), or the one beside
/// `executable_dir`, or the embedded default.
pub async fn read(
    setting: Option<&str>,
    executable_dir: Option<&Path>,
) -> Result<ConfigText, LambdaError> {
    if let Some(setting) = setting.filter(|setting| !setting.is_empty()) {
        if let Some(location) = setting.strip_prefix("s3://") {
            return read_s3(setting, location).await;
        }
        return read_file(PathBuf::from(setting));
    }
    if let Some(dir) = executable_dir {
        let beside = dir.join("trailbell.toml");
        if beside.is_file() {
            return read_file(beside);
        }
    }
    Ok(ConfigText {
        name: "(embedded default)".to_owned(),
        text: crate::config::EMBEDDED_DEFAULT.to_owned(),
    })
}

fn read_file(path: PathBuf) -> Result<ConfigText, LambdaError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(ConfigText { name, text }),
        Err(err) => Err(LambdaError::Config(format!(
            "{name}: failed to read: {err}"
        ))),
    }
}

/// `s3://bucket/key`, through the SDK's usual configuration (`AWS_ENDPOINT_URL` for tests, with
/// path-style addressing then).
async fn read_s3(url: &str, location: &str) -> Result<ConfigText, LambdaError> {
    let fail = |message: String| LambdaError::Config(format!("{url}: {message}"));
    let (bucket, key) = location
        .split_once('/')
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| fail("expected s3://bucket/key".to_owned()))?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| fail(aws_sdk_s3::error::DisplayErrorContext(err).to_string()))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|err| fail(err.to_string()))?
        .into_bytes();
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| fail("not UTF-8".to_owned()))?;
    Ok(ConfigText {
        name: url.to_owned(),
        text,
    })
}
