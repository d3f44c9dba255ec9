//! Local files and directories.
//!
//! A file named on the command line is read whatever its name. A directory is walked recursively,
//! depth first, each directory's entries in name order, so a scan lists the same files in the same
//! order every time. The walk keeps files ending in `.json`, `.jsonl` or `.ndjson`, each possibly
//! followed by `.gz`; it skips directories named `CloudTrail-Digest` (digest files, not event
//! logs), the days of CloudTrail's layout (`CloudTrail/<region>/YYYY/MM/DD`) that hold no event in
//! the time window, and symbolic links to directories (which could loop); symbolic links to files
//! are followed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{ArchiveObject, ExpandOptions, Objects, SourceError};
use super::{TimeWindow, layout_day};

/// The name of the directories CloudTrail writes digest files to.
pub const DIGEST_DIR: &str = "CloudTrail-Digest";

/// A local file.
#[derive(Debug, Clone)]
pub struct LocalFile {
    path: PathBuf,
    size: Option<u64>,
}

impl LocalFile {
    /// The file at `path`, of `size` bytes when known.
    pub fn new(path: PathBuf, size: Option<u64>) -> LocalFile {
        LocalFile { path, size }
    }
}

impl ArchiveObject for LocalFile {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn size(&self) -> Option<u64> {
        self.size
    }

    fn read(self: Box<Self>) -> Result<Vec<u8>, SourceError> {
        fs::read(&self.path).map_err(|err| io_error(&self.path, &err))
    }
}

/// Whether the walk reads a file of this name.
///
/// ```
/// use trailbell::sources::local::is_log_file_name;
///
/// assert!(is_log_file_name("111122223333_CloudTrail_us-east-1_20261102T0935Z_abcd.json.gz"));
/// assert!(is_log_file_name("events.jsonl"));
/// assert!(!is_log_file_name("notes.txt"));
/// assert!(!is_log_file_name("archive.tar.gz"));
/// ```
pub fn is_log_file_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|extension| name.ends_with(extension))
}

/// The objects under `path`: the file itself, or the log files of the directory tree.
pub fn expand(path: &Path, options: &ExpandOptions) -> Objects {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) => return Box::new(std::iter::once(Err(io_error(path, &err)))),
    };
    if !metadata.is_dir() {
        let file = LocalFile::new(path.to_owned(), Some(metadata.len()));
        return Box::new(std::iter::once(
            Ok(Box::new(file) as Box<dyn ArchiveObject>),
        ));
    }
    Box::new(Walk {
        pending: vec![Pending::Dir(path.to_owned())],
        window: options.window.clone(),
    })
}

enum Pending {
    Dir(PathBuf),
    File(PathBuf, u64),
}

/// A depth-first walk: `pending` is a stack, each directory's entries pushed in reverse name order.
struct Walk {
    pending: Vec<Pending>,
    window: TimeWindow,
}

impl Iterator for Walk {
    type Item = Result<Box<dyn ArchiveObject>, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.pending.pop()? {
                Pending::File(path, size) => {
                    return Some(Ok(Box::new(LocalFile::new(path, Some(size)))));
                }
                Pending::Dir(dir) => {
                    if let Err(err) = self.list(&dir) {
                        return Some(Err(err));
                    }
                }
            }
        }
    }
}

impl Walk {
    /// Pushes the entries of `dir` worth visiting.
    fn list(&mut self, dir: &Path) -> Result<(), SourceError> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(|err| io_error(dir, &err))? {
            let entry = entry.map_err(|err| io_error(dir, &err))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                // Not UTF-8: neither a log file's nor a layout directory's name.
                continue;
            };
            let path = entry.path();
            // `metadata` follows a symbolic link; `file_type` says whether this entry is one.
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let metadata = match fs::metadata(&path) {
                Ok(metadata) => metadata,
                // A dangling link or a file gone since the listing: say so only for a log file.
                Err(err) if is_log_file_name(name) => return Err(io_error(&path, &err)),
                Err(_) => continue,
            };
            if metadata.is_dir() {
                if is_link || name == DIGEST_DIR || !self.day_in_window(&path) {
                    continue;
                }
                entries.push((name.to_owned(), Pending::Dir(path)));
            } else if is_log_file_name(name) {
                entries.push((name.to_owned(), Pending::File(path, metadata.len())));
            }
        }
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        self.pending
            .extend(entries.into_iter().map(|(_, pending)| pending));
        Ok(())
    }

    /// False for a day directory of CloudTrail's layout that holds no event in the window.
    fn day_in_window(&self, dir: &Path) -> bool {
        if self.window.is_all() {
            return true;
        }
        let text = dir.to_string_lossy();
        let text = if std::path::MAIN_SEPARATOR == '/' {
            text
        } else {
            text.replace(std::path::MAIN_SEPARATOR, "/").into()
        };
        layout_day(&text).is_none_or(|day| self.window.may_contain_day(day))
    }
}

fn io_error(path: &Path, err: &std::io::Error) -> SourceError {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => lowercase_first(&err.to_string()),
    };
    SourceError::new(path.display().to_string(), reason)
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(objects: Objects, root: &Path) -> Vec<String> {
        objects
            .map(|object| match object {
                Ok(object) => {
                    let name = object.name();
                    Path::new(&name)
                        .strip_prefix(root)
                        .expect("under the root")
                        .display()
                        .to_string()
                }
                Err(err) => format!("error: {}", err.reason),
            })
            .collect()
    }

    fn touch(root: &Path, path: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, "{}").expect("write");
    }

    #[test]
    fn the_walk_keeps_log_files_in_name_order_and_skips_digests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for path in [
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/b.json.gz",
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/a.json.gz",
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/notes.txt",
            "AWSLogs/1/CloudTrail/eu-west-1/2026/11/03/c.json",
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz",
            "lines.jsonl",
            "z/events.ndjson.gz",
        ] {
            touch(root, path);
        }
        let objects = expand(root, &ExpandOptions::default());
        assert_eq!(
            names(objects, root),
            [
                "AWSLogs/1/CloudTrail/eu-west-1/2026/11/03/c.json",
                "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/a.json.gz",
                "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/b.json.gz",
                "lines.jsonl",
                "z/events.ndjson.gz",
            ]
        );
    }

    #[test]
    fn days_outside_the_window_are_not_walked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for day in ["01", "02", "03", "04"] {
            touch(root, &format!("CloudTrail/us-east-1/2026/11/{day}/x.json"));
        }
        touch(root, "elsewhere/2026/11/01/y.json");
        let window = TimeWindow::new(
            Some("2026-11-02T10:00:00Z".parse().expect("time")),
            Some("2026-11-02T12:00:00Z".parse().expect("time")),
        )
        .expect("window");
        let objects = expand(
            root,
            &ExpandOptions {
                window,
                ..ExpandOptions::default()
            },
        );
        assert_eq!(
            names(objects, root),
            [
                "CloudTrail/us-east-1/2026/11/02/x.json",
                "CloudTrail/us-east-1/2026/11/03/x.json",
                "elsewhere/2026/11/01/y.json",
            ]
        );
    }

    #[test]
    fn a_named_file_is_read_whatever_its_name_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "notes.txt");
        let objects = expand(&dir.path().join("notes.txt"), &ExpandOptions::default());
        assert_eq!(names(objects, dir.path()), ["notes.txt"]);
        let objects = expand(&dir.path().join("missing"), &ExpandOptions::default());
        assert_eq!(
            names(objects, dir.path()),
            ["error: no such file or directory"]
        );
    }
}
