//! `type = "stdout"`: `format`, `text` (readable lines, the default) or `json`. Compiled in both
//! builds (from `targets/mod.rs`), unlike the client beside it.

use serde::Deserialize;

use crate::targets::settings::SettingsReader;
use crate::targets::{LineFormat, StdoutDestination};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    format: Option<String>,
}

/// Standard output's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<StdoutDestination> {
    let keys: Keys = reader.keys()?;
    let format = match keys.format.as_deref() {
        None | Some("text") => LineFormat::Text,
        Some("json") => LineFormat::Json,
        Some(other) => {
            reader.problem(
                "format",
                format!("{other:?}: expected \"text\" or \"json\""),
            );
            return None;
        }
    };
    Some(StdoutDestination { format })
}
