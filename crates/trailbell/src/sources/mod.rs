//! Where a scan's inputs come from: each command-line input expanded into the objects (files) to
//! read, lazily, so that listing a large archive holds no more than a directory's names at a time.
//!
//! An input is standard input (`-`), or anything that lists [`ArchiveObject`]s: a local file or
//! directory ([`local`]), or an S3 archive, `s3://bucket/prefix` ([`s3`]). Another source plugs in by adding a branch for its URL scheme to
//! [`expand_input`] and an [`ArchiveObject`] of its own.

#[cfg(feature = "service")]
pub mod live;
pub mod local;
#[cfg(feature = "service")]
pub mod s3;
mod window;

use std::fmt;

pub use window::{TimeWindow, WindowError, layout_day};

/// One file of an archive, ready to be read by a scan's worker thread.
pub trait ArchiveObject: Send {
    /// The name used in messages: a path, or a URL.
    fn name(&self) -> String;
    /// Its size in bytes as stored (compressed), when known before reading; for progress.
    fn size(&self) -> Option<u64>;
    /// Its whole content, as stored.
    fn read(self: Box<Self>) -> Result<Vec<u8>, SourceError>;
}

/// The objects of an input, in the order they are to be read; an `Err` item is a part of the
/// input that cannot be listed or read (named in the error), which the scan counts and goes on.
pub type Objects = Box<dyn Iterator<Item = Result<Box<dyn ArchiveObject>, SourceError>> + Send>;

/// A command-line input, expanded.
pub enum Input {
    /// Standard input, read as a stream.
    Stdin,
    /// Files to read whole.
    Objects(Objects),
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("Stdin"),
            Input::Objects(_) => f.write_str("Objects(..)"),
        }
    }
}

/// What expanding an input may use.
#[derive(Clone, Debug, Default)]
pub struct ExpandOptions {
    /// The scan's time window: a source may skip files whose date in CloudTrail's key layout
    /// shows they hold no event in it ([`TimeWindow::may_contain_day`]).
    pub window: TimeWindow,
    /// For `s3://` inputs: an S3-compatible endpoint (`--endpoint-url`) instead of AWS's.
    pub endpoint_url: Option<String>,
    /// For `s3://` inputs: the named profile of the AWS configuration files (`--profile`).
    pub profile: Option<String>,
    /// For `s3://` inputs: the region to ask first (`--region`).
    pub region: Option<String>,
}

/// Something that could not be listed or read: its name and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct SourceError {
    /// The file, directory or URL.
    pub name: String,
    /// Why, in one lowercase line.
    pub reason: String,
}

impl SourceError {
    /// An error about `name`.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> SourceError {
        SourceError {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Expands one command-line input: `-` is standard input, `s3://bucket/prefix` an S3 archive, a
/// path a local file or directory.
///
/// Fails only for an input that cannot be an archive at all (an unknown URL scheme, an S3 bucket
/// that does not exist or cannot be listed); a path that does not exist or cannot be read comes out
/// as an `Err` item of the objects, counted by the scan like any unreadable file.
///
/// ```
/// use trailbell::sources::{ExpandOptions, Input, expand_input};
///
/// assert!(matches!(expand_input("-", &ExpandOptions::default())?, Input::Stdin));
/// let Input::Objects(objects) = expand_input("../../testdata/AWSLogs", &ExpandOptions::default())? else {
///     unreachable!()
/// };
/// assert_eq!(objects.count(), 3);
/// assert!(expand_input("ftp://example/x", &ExpandOptions::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn expand_input(input: &str, options: &ExpandOptions) -> Result<Input, SourceError> {
    if input == "-" {
        return Ok(Input::Stdin);
    }
    if input.starts_with("s3://") {
        #[cfg(feature = "service")]
        return s3::expand(input, options);
        #[cfg(not(feature = "service"))]
        return Err(SourceError::new(
            input,
            "this trailbell was built without AWS support (--no-default-features); \
             install the default build to scan S3",
        ));
    }
    // Sources with a URL scheme add their branch here.
    if let Some((scheme, _)) = input.split_once("://") {
        return Err(SourceError::new(
            input,
            format!("unsupported URL scheme {scheme:?}: expected a local path or -"),
        ));
    }
    Ok(Input::Objects(local::expand(input.as_ref(), options)))
}
