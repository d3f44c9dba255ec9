//! `type = "securityhub"`: `region`, `endpoint_url`.

use serde::Deserialize;

use super::SecurityHubDestination;
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    region: Option<String>,
    endpoint_url: Option<String>,
}

/// The hub's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<SecurityHubDestination> {
    let keys: Keys = reader.keys()?;
    Some(SecurityHubDestination {
        region: keys.region,
        endpoint_url: keys.endpoint_url,
    })
}
