//! `type = "eventbridge"`: `event_bus_arn` (its region is the client's), `endpoint_url`.

use serde::Deserialize;

use super::{EventBridgeDestination, bus_region};
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    event_bus_arn: Option<String>,
    endpoint_url: Option<String>,
}

/// The bus's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<EventBridgeDestination> {
    let keys: Keys = reader.keys()?;
    let event_bus_arn = reader.required("event_bus_arn", keys.event_bus_arn)?;
    if let Err(reason) = bus_region(&event_bus_arn) {
        reader.problem("event_bus_arn", reason);
        return None;
    }
    Some(EventBridgeDestination {
        event_bus_arn,
        endpoint_url: keys.endpoint_url,
    })
}
