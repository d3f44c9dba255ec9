//! `type = "sqs"`: `queue_url`, `message_group_id`, `endpoint_url`. Compiled in both builds (from
//! `targets/mod.rs`), unlike the client beside it.

use serde::Deserialize;

use crate::targets::SqsDestination;
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    queue_url: Option<String>,
    message_group_id: Option<String>,
    endpoint_url: Option<String>,
}

/// The queue's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<SqsDestination> {
    let keys: Keys = reader.keys()?;
    let queue_url = reader.required("queue_url", keys.queue_url)?;
    Some(SqsDestination {
        queue_url,
        message_group_id: keys.message_group_id,
        endpoint_url: keys.endpoint_url,
    })
}
