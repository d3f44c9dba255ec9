//! S3 archives against a moto server on 127.0.0.1, started by `scripts/test`
//! (`TRAILBELL_TEST_MOTO_ENDPOINT`): the S3 source's listing, pruning and fetching, then
//! `trailbell scan s3://...` run for real. Every test makes its own bucket. Without the endpoint,
//! these tests fail (never skip): run them with `./scripts/test` or
//! `scripts/lib/with-test-services cargo test -p trailbell --test it s3::`.

use crate::common;

use common::moto_endpoint;
use common::workspace_root;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::StorageClass;
use serde_json::Value;
use trailbell::scan::TimeWindow;
use trailbell::sources::s3::{FetchFailure, S3Archive, S3Error, S3Location, S3Object, S3Options};

/// A bucket name no other test (or earlier run against the same server) uses.
fn unique_bucket(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "tb-{}-{}-{}-{nanos}",
        test.replace('_', "-"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A test's own view of moto: an SDK client with dummy credentials, on its own runtime.
struct Moto {
    runtime: tokio::runtime::Runtime,
    client: Client,
    endpoint: String,
}

impl Moto {
    fn new() -> Moto {
        let endpoint = moto_endpoint();
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .force_path_style(true)
            .region(Region::from_static("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        Moto {
            runtime: tokio::runtime::Runtime::new().expect("a tokio runtime"),
            client: Client::from_conf(config),
            endpoint,
        }
    }

    fn create_bucket(&self, test: &str) -> String {
        let bucket = unique_bucket(test);
        self.runtime
            .block_on(self.client.create_bucket().bucket(&bucket).send())
            .expect("moto creates the bucket");
        bucket
    }

    fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.runtime
            .block_on(
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .expect("moto stores the object");
    }

    /// Puts many objects at once.
    fn put_all(&self, bucket: &str, objects: Vec<(String, Vec<u8>)>) {
        self.runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for (key, bytes) in objects {
                let request = self
                    .client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(bytes));
                tasks.spawn(request.send());
                while tasks.len() >= 16 {
                    if let Some(done) = tasks.join_next().await {
                        done.expect("the upload task ends")
                            .expect("moto stores the object");
                    }
                }
            }
            while let Some(done) = tasks.join_next().await {
                done.expect("the upload task ends")
                    .expect("moto stores the object");
            }
        });
    }

    /// Uploads every file under `dir`, keyed `key_prefix` + its path relative to `dir`.
    fn upload_tree(&self, bucket: &str, dir: &Path, key_prefix: &str) -> Vec<String> {
        let mut objects = Vec::new();
        for path in files_under(dir) {
            let relative = relative_key(dir, &path);
            let bytes = std::fs::read(&path).expect("the sample file is readable");
            objects.push((format!("{key_prefix}{relative}"), bytes));
        }
        let mut keys: Vec<String> = objects.iter().map(|(key, _)| key.clone()).collect();
        keys.sort();
        self.put_all(bucket, objects);
        keys
    }

    fn archive(&self, url: &str) -> Result<S3Archive, S3Error> {
        S3Archive::connect(
            S3Location::parse(url).expect("a valid s3:// URL"),
            self.options(),
        )
    }

    fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: Some(self.endpoint.clone()),
            ..S3Options::default()
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("the sample tree is readable") {
            let path = entry.expect("the sample tree is readable").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `path` relative to `dir`, with `/` separators: the key it is uploaded under.
fn relative_key(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).expect("the path is under the tree");
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn sample_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/AWSLogs")
}

fn at(time: &str) -> Option<jiff::Timestamp> {
    Some(time.parse().expect("an RFC 3339 time"))
}

fn window(since: Option<&str>, until: Option<&str>) -> TimeWindow {
    TimeWindow::new(since.and_then(at), until.and_then(at)).expect("a valid window")
}

/// Keys of a synthetic archive: two accounts, two regions each, 2026-10-28 to 2026-11-06, two
/// files a day, plus digests.
fn synthetic_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for account in ["111122223333", "444455556666"] {
        for region in ["eu-west-1", "us-east-1"] {
            let mut day = jiff::civil::date(2026, 10, 28);
            while day <= jiff::civil::date(2026, 11, 6) {
                let folder = day.strftime("%Y/%m/%d");
                let stamp = day.strftime("%Y%m%d");
                for time in ["0005", "2355"] {
                    keys.push(format!(
                        "AWSLogs/{account}/CloudTrail/{region}/{folder}/{account}_CloudTrail_{region}_{stamp}T{time}Z_x.json.gz"
                    ));
                    keys.push(format!(
                        "AWSLogs/{account}/CloudTrail-Digest/{region}/{folder}/{account}_CloudTrail-Digest_{region}_{stamp}T{time}Z.json.gz"
                    ));
                }
                day = day.tomorrow().expect("a day after 2026-11-06");
            }
        }
    }
    keys.sort();
    keys
}

fn listed_keys(archive: &S3Archive, window: &TimeWindow) -> Vec<String> {
    let listing = archive.list(window).expect("the archive lists");
    listing
        .objects
        .into_iter()
        .map(|object| object.key)
        .collect()
}

#[test]
fn listing_keeps_the_log_files_and_skips_digests_folders_and_other_files() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("listing_keeps_log_files");
    let mut keys = moto.upload_tree(&bucket, &sample_tree(), "AWSLogs/");
    // The sample has a digest file beside its three logs.
    keys.retain(|key| !key.contains("/CloudTrail-Digest/"));
    assert_eq!(keys.len(), 3);
    moto.put(
        &bucket,
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz",
        b"{}".to_vec(),
    );
    moto.put(&bucket, "AWSLogs/111122223333/CloudTrail/", Vec::new());
    moto.put(&bucket, "AWSLogs/notes.txt", b"not a log".to_vec());

    let archive = moto.archive(&format!("s3://{bucket}/AWSLogs/")).unwrap();
    let listing = archive.list(&TimeWindow::all()).unwrap();
    let listed: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, keys);
    assert_eq!(listing.stats.digests_skipped, 2);
    assert_eq!(listing.stats.not_logs, 1);
    assert_eq!(listing.stats.requests, 1);
    assert!(listing.objects.iter().all(|o| o.size > 0));

    // A key named whole is kept whatever its name.
    let archive = moto
        .archive(&format!("s3://{bucket}/AWSLogs/notes.txt"))
        .unwrap();
    assert_eq!(
        listed_keys(&archive, &TimeWindow::all()),
        ["AWSLogs/notes.txt"]
    );
}

#[test]
fn listing_prunes_by_the_day_in_the_key_at_every_level() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("listing_prunes");
    let keys = synthetic_keys();
    moto.put_all(
        &bucket,
        keys.iter().map(|k| (k.clone(), b"x".to_vec())).collect(),
    );

    let range = window(Some("2026-11-01T12:00:00Z"), Some("2026-11-03T06:00:00Z"));
    // Kept: 2026-11-01 to 2026-11-04 (the day after the end's day may hold events before it).
    let in_range = |key: &&String| {
        !key.contains("Digest")
            && ["2026/11/01/", "2026/11/02/", "2026/11/03/", "2026/11/04/"]
                .iter()
                .any(|day| key.contains(day))
    };
    for prefix in [
        "",
        "AWSLogs/",
        "AWSLogs/111122223333/",
        "AWSLogs/111122223333/CloudTrail/",
        "AWSLogs/111122223333/CloudTrail/us-east-1/",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/0",
        "AWSLogs/4444",
    ] {
        let archive = moto.archive(&format!("s3://{bucket}/{prefix}")).unwrap();
        let listing = archive.list(&range).unwrap();
        let listed: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
        let expected: Vec<&str> = keys
            .iter()
            .filter(|key| key.starts_with(prefix))
            .filter(in_range)
            .map(String::as_str)
            .collect();
        assert_eq!(listed, expected, "prefix {prefix:?}");
        // The walk reached the regions: no key outside the range was even listed.
        assert_eq!(listing.stats.pruned, 0, "prefix {prefix:?}");
    }

    // Without a window: everything but the digests.
    let archive = moto.archive(&format!("s3://{bucket}/")).unwrap();
    let all = listed_keys(&archive, &TimeWindow::all());
    let expected: Vec<&String> = keys.iter().filter(|k| !k.contains("Digest")).collect();
    assert_eq!(all.iter().collect::<Vec<_>>(), expected);

    // Only --until: from the start to the day after the end's day.
    let listed = listed_keys(&archive, &window(None, Some("2026-10-28T01:00:00Z")));
    let expected: Vec<&String> = keys
        .iter()
        .filter(|k| {
            !k.contains("Digest") && (k.contains("2026/10/28/") || k.contains("2026/10/29/"))
        })
        .collect();
    assert_eq!(listed.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn listing_pages_through_more_than_a_thousand_keys() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("listing_pages");
    let keys: Vec<String> = (0..1203)
        .map(|i| format!("AWSLogs/1/CloudTrail/us-east-1/2026/11/02/f{i:05}.json.gz"))
        .collect();
    moto.put_all(
        &bucket,
        keys.iter().map(|k| (k.clone(), Vec::new())).collect(),
    );
    let archive = moto.archive(&format!("s3://{bucket}/AWSLogs/")).unwrap();
    let listing = archive.list(&TimeWindow::all()).unwrap();
    assert_eq!(listed_keys(&archive, &TimeWindow::all()), keys);
    assert_eq!(listing.stats.requests, 2);
    // With a window: one request for each level down to the region (AWSLogs/, 1/, CloudTrail/),
    // then the region's two pages.
    let listing = archive
        .list(&window(Some("2026-11-02T00:00:00Z"), None))
        .unwrap();
    assert_eq!(listing.objects.len(), 1203);
    assert_eq!(listing.stats.requests, 5);
}

#[test]
fn fetch_all_returns_every_object_once_with_its_bytes() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("fetch_all");
    let tree = sample_tree();
    moto.upload_tree(&bucket, &tree, "AWSLogs/");
    // The smallest budgets: one request at a time, one object held at a time.
    let archive = S3Archive::connect(
        S3Location::parse(&format!("s3://{bucket}/AWSLogs/")).unwrap(),
        S3Options {
            max_requests: 1,
            max_buffered_bytes: 1,
            ..moto.options()
        },
    )
    .unwrap();
    let mut fetched: Vec<(String, Vec<u8>)> = archive
        .fetch_all(&TimeWindow::all())
        .map(|item| {
            let item = item.unwrap();
            (item.object.key.clone(), item.bytes.unwrap())
        })
        .collect();
    fetched.sort();
    let expected: Vec<(String, Vec<u8>)> = files_under(&tree)
        .into_iter()
        .filter(|path| !path.to_string_lossy().contains("CloudTrail-Digest"))
        .map(|path| {
            let key = format!("AWSLogs/{}", relative_key(&tree, &path));
            (key, std::fs::read(&path).unwrap())
        })
        .collect();
    assert_eq!(fetched, expected);
}

#[test]
fn a_missing_object_is_a_named_fetch_error() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("missing_object");
    let archive = moto.archive(&format!("s3://{bucket}/")).unwrap();
    let err = archive
        .fetch(&S3Object {
            key: "AWSLogs/gone.json.gz".to_owned(),
            size: 10,
        })
        .unwrap_err();
    assert_eq!(err.failure(), &FetchFailure::NotFound);
    assert_eq!(
        err.to_string(),
        format!("failed to read s3://{bucket}/AWSLogs/gone.json.gz: no such key (404)")
    );
}

#[test]
fn an_object_over_the_size_limit_is_skipped_unread() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("too_large");
    moto.put(&bucket, "big.json", vec![b' '; 5000]);
    let archive = S3Archive::connect(
        S3Location::parse(&format!("s3://{bucket}/")).unwrap(),
        S3Options {
            max_object_bytes: 4096,
            ..moto.options()
        },
    )
    .unwrap();
    let fetched: Vec<_> = archive
        .fetch_all(&TimeWindow::all())
        .map(Result::unwrap)
        .collect();
    assert_eq!(fetched.len(), 1);
    assert!(matches!(
        fetched[0].bytes.as_ref().unwrap_err().failure(),
        FetchFailure::TooLarge {
            size: 5000,
            limit: 4096
        }
    ));
}

#[test]
fn a_missing_bucket_is_an_error_before_any_listing() {
    let moto = Moto::new();
    let bucket = unique_bucket("no_such_bucket");
    let err = moto
        .archive(&format!("s3://{bucket}/AWSLogs/"))
        .unwrap_err();
    assert!(
        matches!(&err, S3Error::NoSuchBucket { bucket: b } if *b == bucket),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("bucket {bucket:?} does not exist"));
}

fn trailbell(args: &[&str]) -> Output {
    common::run(args)
}

/// A `trailbell scan --format jsonl` run.
struct Scan {
    code: i32,
    alerts: Vec<Value>,
    stats: Value,
    stderr: String,
}

impl Scan {
    fn stat(&self, name: &str) -> u64 {
        self.stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no stat {name} in {}", self.stats))
    }

    /// Every alert as JSON text, its file named relative to `root`, sorted: what two scans of
    /// the same files must agree on, wherever the files are.
    fn alerts_under(&self, root: &str) -> Vec<String> {
        let mut alerts: Vec<String> = self
            .alerts
            .iter()
            .map(|alert| {
                let mut alert = alert.clone();
                let file = alert["file"].as_str().expect("an alert names its file");
                let relative = file
                    .strip_prefix(root)
                    .unwrap_or_else(|| panic!("{file} is not under {root}"))
                    .to_owned();
                alert["file"] = Value::String(relative);
                alert.to_string()
            })
            .collect();
        alerts.sort();
        alerts
    }
}

fn scan_jsonl(args: &[&str]) -> Scan {
    let mut all = vec!["scan", "--format", "jsonl"];
    all.extend_from_slice(args);
    let output = trailbell(&all);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let (mut alerts, mut stats) = (Vec::new(), Value::Null);
    for line in stdout.lines() {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        match value["kind"].as_str() {
            Some("alert") => alerts.push(value),
            Some("stats") => stats = value,
            _ => {}
        }
    }
    Scan {
        code: output.status.code().expect("an exit code"),
        alerts,
        stats,
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// Scans `s3://bucket/AWSLogs/` through moto.
fn scan_bucket(moto: &Moto, bucket: &str, args: &[&str]) -> Scan {
    let url = format!("s3://{bucket}/AWSLogs/");
    let mut all = vec![url.as_str(), "--endpoint-url", moto.endpoint.as_str()];
    all.extend_from_slice(args);
    scan_jsonl(&all)
}

#[test]
fn scanning_a_bucket_gives_the_alerts_of_the_same_tree_on_disk() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("scan_matches_disk");
    moto.upload_tree(&bucket, &sample_tree(), "AWSLogs/");
    moto.put(
        &bucket,
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz",
        b"not a log".to_vec(),
    );

    let on_disk = scan_jsonl(&["testdata/AWSLogs"]);
    let in_s3 = scan_bucket(&moto, &bucket, &[]);
    assert_eq!((in_s3.code, in_s3.stderr.as_str()), (0, ""));
    assert!(!on_disk.alerts.is_empty());
    assert_eq!(
        in_s3.alerts_under(&format!("s3://{bucket}/AWSLogs/")),
        on_disk.alerts_under("testdata/AWSLogs/")
    );
    for stat in ["files", "bytes", "records", "events", "alerts"] {
        assert_eq!(in_s3.stat(stat), on_disk.stat(stat), "{stat}");
    }
}

#[test]
fn since_and_until_prune_the_objects_read() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("scan_prunes");
    moto.upload_tree(&bucket, &sample_tree(), "AWSLogs/");
    // The same files delivered on other days: their events are all of 2026-11-02.
    for day in ["2026/10/30", "2026/11/01", "2026/11/04", "2026/11/06"] {
        let dir = std::env::temp_dir().join(unique_bucket("scan_prunes_tree"));
        for path in files_under(&sample_tree()) {
            let key = relative_key(&sample_tree(), &path).replace("2026/11/02", day);
            let target = dir.join(&key);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&path, &target).unwrap();
        }
        moto.upload_tree(&bucket, &dir, "AWSLogs/");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    let all = scan_bucket(&moto, &bucket, &[]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(all.stat("files"), 15);
    // The copies' events are the sample's: each matching one is dropped as a duplicate 4 times.
    assert!(all.stat("duplicates") > 0);
    assert_eq!(all.stat("duplicates") % 4, 0);

    // 2026-11-02 to the end of the day: the files of 2026-11-02 and, for events of the 2nd
    // delivered after midnight, of the 3rd: 3 objects read.
    let day = ["--since", "2026-11-02", "--until", "2026-11-03"];
    let pruned = scan_bucket(&moto, &bucket, &day);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert_eq!(pruned.stat("files"), 3);
    let on_disk = scan_jsonl(&[&day[..], &["testdata/AWSLogs"]].concat());
    assert_eq!(
        pruned.alerts_under(&format!("s3://{bucket}/AWSLogs/")),
        on_disk.alerts_under("testdata/AWSLogs/")
    );

    // From 2026-11-05: only the copies of the 6th are read, and none of their events is in range.
    let late = scan_bucket(&moto, &bucket, &["--since", "2026-11-05"]);
    assert_eq!((late.stat("files"), late.stat("alerts")), (3, 0));
    assert_eq!(late.stat("outside_window"), 18);
}

#[test]
fn unreadable_objects_are_named_counted_and_exit_1() {
    let moto = Moto::new();
    let bucket = moto.create_bucket("scan_unreadable");
    moto.upload_tree(&bucket, &sample_tree(), "AWSLogs/");
    let corrupt = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/corrupt.json.gz";
    moto.put(
        &bucket,
        corrupt,
        b"\x1f\x8b\x08\x00 this is not gzip".to_vec(),
    );
    let archived = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/archived.json.gz";
    moto.runtime
        .block_on(
            moto.client
                .put_object()
                .bucket(&bucket)
                .key(archived)
                .storage_class(StorageClass::Glacier)
                .body(ByteStream::from_static(b"{\"Records\": []}"))
                .send(),
        )
        .expect("moto stores the object");

    let scan = scan_bucket(&moto, &bucket, &[]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert_eq!(scan.stat("skipped_files"), 2);
    let lines: Vec<&str> = scan.stderr.lines().collect();
    assert!(
        lines.contains(
            &format!("skipped s3://{bucket}/{archived}: archived (restore it from Glacier first)")
                .as_str()
        ),
        "{}",
        scan.stderr
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&format!("skipped s3://{bucket}/{corrupt}: "))),
        "{}",
        scan.stderr
    );
    // Everything else was scanned.
    let on_disk = scan_jsonl(&["testdata/AWSLogs"]);
    assert_eq!(
        scan.alerts_under(&format!("s3://{bucket}/AWSLogs/")),
        on_disk.alerts_under("testdata/AWSLogs/")
    );

    // --strict stops at the first.
    let strict = scan_bucket(&moto, &bucket, &["--strict"]);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
}

#[test]
fn a_missing_bucket_is_a_clear_error_exit_2() {
    let moto = Moto::new();
    let bucket = unique_bucket("scan_no_bucket");
    let output = trailbell(&[
        "scan",
        &format!("s3://{bucket}/AWSLogs/"),
        "--endpoint-url",
        &moto.endpoint,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("s3://{bucket}/AWSLogs/: bucket \"{bucket}\" does not exist\n")
    );
}

#[test]
fn a_bad_s3_url_is_an_error_exit_2() {
    let output = trailbell(&["scan", "s3://", "--endpoint-url", "http://127.0.0.1:9"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "s3://: invalid S3 URL: the bucket name is empty\n"
    );
}

/// A stand-in for S3 that lists three objects and serves one: `denied.json` answers 403,
/// `failing.json.gz` 503, `ok.json.gz` a sample log file. moto cannot be made to fail like that.
struct FailingS3 {
    endpoint: String,
    _runtime: tokio::runtime::Runtime,
}

impl FailingS3 {
    fn start(bucket: &str) -> FailingS3 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let sample = files_under(&sample_tree())
            .into_iter()
            .find(|path| path.to_string_lossy().contains("eu-west-1"))
            .expect("the sample has an eu-west-1 file");
        let log = std::fs::read(sample).expect("the sample is readable");
        let bucket = bucket.to_owned();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (bucket, log) = (bucket.clone(), log.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    // One request after another on a kept-alive connection; none has a body.
                    while let Ok(Some(request_line)) = lines.next_line().await {
                        while let Ok(Some(header)) = lines.next_line().await {
                            if header.is_empty() {
                                break;
                            }
                        }
                        let target = request_line.split(' ').nth(1).unwrap_or_default();
                        let response = FailingS3::answer(
                            &bucket,
                            &log,
                            request_line.starts_with("HEAD"),
                            target,
                        );
                        if write.write_all(&response).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FailingS3 {
            endpoint,
            _runtime: runtime,
        }
    }

    fn answer(bucket: &str, log: &[u8], head: bool, target: &str) -> Vec<u8> {
        let error = |status: &str, code: &str| {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
            );
            (status.to_owned(), "application/xml", body.into_bytes())
        };
        let (status, content_type, body) = if target == format!("/{bucket}")
            || target == format!("/{bucket}/")
        {
            ("200 OK".to_owned(), "application/xml", Vec::new())
        } else if target.starts_with(&format!("/{bucket}?"))
            || target.starts_with(&format!("/{bucket}/?"))
        {
            let contents: String = [
                ("AWSLogs/denied.json", 10),
                ("AWSLogs/failing.json.gz", 10),
                ("AWSLogs/ok.json.gz", log.len()),
            ]
            .iter()
            .map(|(key, size)| format!("<Contents><Key>{key}</Key><Size>{size}</Size></Contents>"))
            .collect();
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>{bucket}</Name><Prefix>AWSLogs/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
            );
            ("200 OK".to_owned(), "application/xml", body.into_bytes())
        } else if target.starts_with(&format!("/{bucket}/AWSLogs/denied.json")) {
            error("403 Forbidden", "AccessDenied")
        } else if target.starts_with(&format!("/{bucket}/AWSLogs/failing.json.gz")) {
            error("503 Service Unavailable", "SlowDown")
        } else if target.starts_with(&format!("/{bucket}/AWSLogs/ok.json.gz")) {
            (
                "200 OK".to_owned(),
                "application/octet-stream",
                log.to_vec(),
            )
        } else {
            error("404 Not Found", "NoSuchKey")
        };
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amz-bucket-region: us-east-1\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if !head {
            response.extend_from_slice(&body);
        }
        response
    }
}

#[test]
fn objects_answering_403_or_5xx_are_named_counted_and_the_rest_scanned() {
    let bucket = "failing-bucket";
    let server = FailingS3::start(bucket);
    let output = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args([
            "scan",
            "--format",
            "jsonl",
            &format!("s3://{bucket}/AWSLogs/"),
        ])
        .args(["--endpoint-url", &server.endpoint])
        .current_dir(workspace_root())
        // One attempt: the SDK's retries of the 503 would only make the test slower.
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("trailbell runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    for expected in [
        format!("skipped s3://{bucket}/AWSLogs/denied.json: access denied (403)"),
        format!("skipped s3://{bucket}/AWSLogs/failing.json.gz: HTTP status 503"),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "{expected} not in\n{stderr}"
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stats: Value = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|value| value["kind"] == "stats")
        .expect("a stats line");
    assert_eq!(stats["files"], 3);
    assert_eq!(stats["skipped_files"], 2);
    assert!(stats["alerts"].as_u64().expect("alerts") > 0, "{stdout}");
}

/// Measures the two ways worker threads could read an archive: each worker fetching one object at
/// a time (`fetch`, `block_on` per object) or the background prefetch (`fetch_all`). A proxy in
/// front of moto adds a delay to every request, as the distance to S3 does.
/// `scripts/lib/with-test-services cargo test --release -p trailbell --test it s3:: -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn measure_fetch_strategies() {
    use std::time::{Duration, Instant};
    let moto = Moto::new();
    let bucket = moto.create_bucket("measure_fetch");
    let objects = 400;
    let body = vec![b'x'; 20_000];
    moto.put_all(
        &bucket,
        (0..objects)
            .map(|i| {
                (
                    format!("AWSLogs/1/CloudTrail/us-east-1/2026/11/02/f{i:04}.json.gz"),
                    body.clone(),
                )
            })
            .collect(),
    );
    for delay_ms in [0, 20] {
        let proxy = DelayProxy::start(&moto, Duration::from_millis(delay_ms));
        let options = S3Options {
            endpoint_url: Some(proxy.endpoint.clone()),
            ..S3Options::default()
        };
        let url = format!("s3://{bucket}/AWSLogs/");
        let archive =
            S3Archive::connect(S3Location::parse(&url).unwrap(), options.clone()).unwrap();
        let listing = archive.list(&TimeWindow::all()).unwrap();
        let queue = std::sync::Mutex::new(listing.objects.clone());
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    loop {
                        let Some(object) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        assert_eq!(archive.fetch(&object).unwrap().len(), body.len());
                    }
                });
            }
        });
        let per_object = started.elapsed();
        for max_requests in [8, 32] {
            let archive = S3Archive::connect(
                S3Location::parse(&url).unwrap(),
                S3Options {
                    max_requests,
                    ..options.clone()
                },
            )
            .unwrap();
            let started = Instant::now();
            let fetches = archive.fetch_all(&TimeWindow::all());
            let receiver = fetches.receiver().clone();
            let count = AtomicU32::new(0);
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for item in receiver.iter() {
                            assert_eq!(item.unwrap().bytes.unwrap().len(), body.len());
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            });
            assert_eq!(count.load(Ordering::Relaxed), objects);
            println!(
                "delay {delay_ms} ms, {objects} objects of 20 kB: 2 workers x fetch {:?}, fetch_all with {max_requests} requests {:?}",
                per_object,
                started.elapsed()
            );
        }
    }
}

/// A TCP proxy to moto that holds every chunk a client sends for `delay` before passing it on.
struct DelayProxy {
    endpoint: String,
    _runtime: tokio::runtime::Runtime,
}

impl DelayProxy {
    fn start(moto: &Moto, delay: std::time::Duration) -> DelayProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let upstream = moto.endpoint.trim_start_matches("http://").to_owned();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    tokio::spawn(async move {
                        let mut buf = vec![0; 65536];
                        while let Ok(n) = client_read.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            tokio::time::sleep(delay).await;
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
            }
        });
        DelayProxy {
            endpoint,
            _runtime: runtime,
        }
    }
}
