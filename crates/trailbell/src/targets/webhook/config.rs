//! `type = "webhook"`: `endpoint`, `headers`, and `api_key` or `basic` authorization, every value
//! a secret reference. Compiled in both builds (from `targets/mod.rs`), unlike the client beside
//! it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::targets::settings::SettingsReader;
use crate::targets::{WebhookAuth, WebhookDestination};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    endpoint: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    api_key: Option<ApiKey>,
    basic: Option<Basic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKey {
    header: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Basic {
    username: String,
    password: String,
}

/// The endpoint's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<WebhookDestination> {
    let keys: Keys = reader.keys()?;
    let endpoint = reader
        .required("endpoint", keys.endpoint)
        .and_then(|endpoint| reader.secret("endpoint", &endpoint));
    let mut headers = Vec::new();
    for (header, value) in keys.headers {
        if let Some(value) = reader.secret(&format!("headers.{header}"), &value) {
            headers.push((header, value));
        }
    }
    let auth = match (keys.api_key, keys.basic) {
        (Some(_), Some(_)) => {
            reader.problem("", "api_key and basic cannot both be set".to_owned());
            None
        }
        (Some(key), None) => {
            reader
                .secret("api_key.value", &key.value)
                .map(|value| WebhookAuth::ApiKey {
                    header: key.header,
                    value,
                })
        }
        (None, Some(basic)) => reader
            .secret("basic.password", &basic.password)
            .map(|password| WebhookAuth::Basic {
                username: basic.username,
                password,
            }),
        (None, None) => None,
    };
    endpoint.map(|endpoint| WebhookDestination {
        endpoint,
        headers,
        auth,
    })
}
