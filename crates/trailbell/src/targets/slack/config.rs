//! `type = "slack"`: `webhook_url`, or `token` and `channel` (and `api_base_url` for tests).

use serde::Deserialize;

use crate::targets::SlackDestination;
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    webhook_url: Option<String>,
    token: Option<String>,
    channel: Option<String>,
    api_base_url: Option<String>,
}

/// Slack's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<SlackDestination> {
    let keys: Keys = reader.keys()?;
    match (keys.webhook_url, keys.token) {
        (Some(url), None) => reader
            .secret("webhook_url", &url)
            .map(|url| SlackDestination::Webhook { url }),
        (None, Some(token)) => {
            let token = reader.secret("token", &token);
            let channel = reader.required("channel", keys.channel);
            token
                .zip(channel)
                .map(|(token, channel)| SlackDestination::Api {
                    token,
                    channel,
                    api_base_url: keys
                        .api_base_url
                        .unwrap_or_else(|| "https://slack.com/api".to_owned()),
                })
        }
        _ => {
            reader.problem(
                "",
                "a slack destination has webhook_url, or token and channel".to_owned(),
            );
            None
        }
    }
}
