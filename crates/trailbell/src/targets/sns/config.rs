//! `type = "sns"`: `topic_arn`, `chatbot_format`, `endpoint_url`. Compiled in both builds (from
//! `targets/mod.rs`), unlike the client beside it.

use serde::Deserialize;

use crate::targets::SnsDestination;
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    topic_arn: Option<String>,
    #[serde(default)]
    chatbot_format: bool,
    endpoint_url: Option<String>,
}

/// The topic's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<SnsDestination> {
    let keys: Keys = reader.keys()?;
    let topic_arn = reader.required("topic_arn", keys.topic_arn)?;
    Some(SnsDestination {
        topic_arn,
        chatbot_format: keys.chatbot_format,
        endpoint_url: keys.endpoint_url,
    })
}
