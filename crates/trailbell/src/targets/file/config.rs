//! `type = "file"`: `path`, the file alerts are appended to.

use std::path::PathBuf;

use serde::Deserialize;

use crate::targets::FileDestination;
use crate::targets::settings::SettingsReader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    path: Option<PathBuf>,
}

/// The file's settings, or `None` after reporting why not.
pub fn read(reader: &mut impl SettingsReader) -> Option<FileDestination> {
    let keys: Keys = reader.keys()?;
    match keys.path {
        Some(path) => Some(FileDestination { path }),
        None => {
            reader.problem("path", "missing".to_owned());
            None
        }
    }
}
