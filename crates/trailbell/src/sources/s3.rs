//! Archives in S3: `s3://bucket/prefix`, listed (pruned by the date in CloudTrail's key layout) and
//! fetched with bounded concurrency, behind a blocking API for the scan's worker threads.
//!
//! # Credentials, region, endpoint
//!
//! The usual AWS way ([`aws_config`]'s default chain): environment variables, the shared config and
//! credentials files with `AWS_PROFILE`, SSO, `credential_process`, web identity, container and
//! instance metadata. The region comes from the same chain; without one, `us-east-1` is asked and
//! the bucket's own region (the `x-amz-bucket-region` header of `HeadBucket`) is used from then on.
//! [`S3Options::endpoint_url`] (the `--endpoint-url` of `trailbell scan`) points the client at an
//! S3-compatible store or moto and switches to path-style addressing (`http://host/bucket/key`);
//! so does an endpoint set the usual way (`AWS_ENDPOINT_URL`).
//!
//! # Listing
//!
//! Keys are listed with `ListObjectsV2`, page by page. As in a local directory, only log files are
//! kept ([`is_log_file_name`]: `.json`, `.jsonl`, `.ndjson`, gzipped or not; a key named whole by the
//! URL is kept whatever its name), and keys under `CloudTrail-Digest/` (digest files, not event
//! logs) are left out. With a time window (`--since`/`--until`, a [`TimeWindow`]), the listing is
//! pruned by the day in the layout `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`, keeping the
//! days [`TimeWindow::may_contain_day`] keeps:
//!
//! - Under a region (`.../CloudTrail/<region>/` or deeper), only the keys between the first and the
//!   last day are listed: keys sort by date there, so one listing that starts after the first day
//!   (`StartAfter`) and stops at the first key past the last day costs one request per 1,000 keys
//!   in range and none for the days outside it (or the empty days inside it).
//! - Above a region (`AWSLogs/`, `AWSLogs/<account>/`, an organization trail's `AWSLogs/o-.../`), the
//!   listing walks down one level at a time (`Delimiter=/`) until it reaches the regions, then lists
//!   each region's range as above. The walk goes at most [`MAX_WALK_DEPTH`] levels; below that, or
//!   without a date range, the prefix is listed flat and each key is kept or dropped by its date.
//! - A key without a day in the layout is kept: pruning never drops what it cannot date.
//!
//! The day in the key is the day CloudTrail delivered the file (UTC), minutes after its events; the
//! window keeps the day after its end's day for events from just before midnight. The scan still
//! filters each event by its own time.
//!
//! # Fetching
//!
//! [`S3Archive::fetch_all`] lists and fetches in the background, on one tokio runtime owned by the
//! archive, and hands the objects to any number of threads through a channel ([`Fetches`]): at
//! most [`S3Options::max_requests`] `GetObject` calls in flight, at most
//! [`S3Options::max_buffered_bytes`] fetched or being fetched and not yet taken. The scan's worker
//! threads never wait on the network for more than the first objects: fetching runs ahead of them
//! (decision 0003 has the measurement). An object that cannot be read (403, 404, 5xx after the
//! SDK's retries, a broken connection, an archived object) comes out as a [`FetchError`] naming it:
//! a skip to count, not a failure of the scan. Only a listing that fails (no such bucket, access
//! denied, no credentials) is an [`S3Error`].
//!
//! [`expand`] plugs this into `trailbell scan` ([`expand_input`](super::expand_input)): each object
//! is an [`ArchiveObject`] whose bytes are already fetched.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokio::runtime::Runtime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::local::{DIGEST_DIR, is_log_file_name};
use super::{ArchiveObject, ExpandOptions, Input, SourceError};
use super::{TimeWindow, layout_day};

/// How many levels the listing walks down (`Delimiter=/`) looking for the regions of the key layout
/// before it lists the rest flat: enough for `<trail prefix>/AWSLogs/o-<org>/<account>/CloudTrail/`.
pub const MAX_WALK_DEPTH: usize = 6;

/// The region asked when the default chain names none; the bucket's own region is used after.
const FALLBACK_REGION: &str = "us-east-1";

/// The unit of the fetch budget ([`S3Options::max_buffered_bytes`]).
const BUDGET_UNIT_BYTES: u64 = 4096;

/// Where an archive is: a bucket and a key prefix (possibly empty), from `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    bucket: String,
    prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket` or `s3://bucket/prefix`. The prefix is used as it is: `s3://b/AWSLogs`
    /// also lists `AWSLogs-old/`, `s3://b/AWSLogs/` does not.
    ///
    /// ```
    /// use trailbell::sources::s3::S3Location;
    ///
    /// let location = S3Location::parse("s3://my-trail/AWSLogs/111122223333/").unwrap();
    /// assert_eq!(location.bucket(), "my-trail");
    /// assert_eq!(location.prefix(), "AWSLogs/111122223333/");
    /// assert!(S3Location::parse("s3:///AWSLogs/").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<S3Location, S3Error> {
        let invalid = |reason| S3Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket name is empty"));
        }
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(invalid(
                "a bucket name has only letters, digits, '-', '.' and '_'",
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// Whether `input` names an S3 archive (`s3://...`), as opposed to a path.
    pub fn is_s3_url(input: &str) -> bool {
        input.starts_with("s3://")
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix, possibly empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach S3 and how much to fetch at once.
#[derive(Clone, Debug)]
pub struct S3Options {
    /// An S3-compatible endpoint (`http://127.0.0.1:5000` for moto) instead of AWS's; addressing
    /// is path-style then.
    pub endpoint_url: Option<String>,
    /// A named profile of the AWS configuration files instead of the default chain's choice.
    pub profile: Option<String>,
    /// The region to ask first instead of the configured one.
    pub region: Option<String>,
    /// At most this many `GetObject` calls in flight.
    pub max_requests: usize,
    /// At most this many bytes fetched (or being fetched) and not yet taken by a consumer. An
    /// object larger than this is fetched alone.
    pub max_buffered_bytes: u64,
    /// Objects larger than this are skipped ([`FetchFailure::TooLarge`]), unread.
    pub max_object_bytes: u64,
}

impl Default for S3Options {
    fn default() -> S3Options {
        S3Options {
            endpoint_url: None,
            profile: None,
            region: None,
            max_requests: 32,
            max_buffered_bytes: 128 << 20,
            max_object_bytes: 1 << 30,
        }
    }
}

/// The first and last day of the layout a window may need, for listing ranges; each key is still
/// checked with [`TimeWindow::may_contain_day`].
#[derive(Clone, Debug)]
struct Days {
    window: TimeWindow,
    first: Option<Date>,
    last: Option<Date>,
}

impl Days {
    fn new(window: &TimeWindow) -> Days {
        let utc_date = |t: jiff::Timestamp| TimeZone::UTC.to_datetime(t).date();
        let first = window.since().map(utc_date);
        // The day after the end's day may hold events from before the end; the day after that
        // cannot. At the end of time there is no later day.
        let last = window.until().map(utc_date).map(|day| {
            let after = day.tomorrow().unwrap_or(day);
            if window.may_contain_day(after) {
                after
            } else {
                day
            }
        });
        Days {
            window: window.clone(),
            first,
            last,
        }
    }

    /// Whether a key (of the layout or not) may hold events in the window.
    fn keeps_key(&self, key: &str) -> bool {
        let dir = key.rsplit_once('/').map_or("", |(dir, _)| dir);
        layout_day(dir).is_none_or(|day| self.window.may_contain_day(day))
    }
}

/// Whether a key is a CloudTrail digest file (under `CloudTrail-Digest/`), not an event log.
///
/// ```
/// use trailbell::sources::s3::is_digest_key;
///
/// assert!(is_digest_key("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz"));
/// assert!(!is_digest_key("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/f.json.gz"));
/// ```
pub fn is_digest_key(key: &str) -> bool {
    key.split('/').any(|segment| segment == DIGEST_DIR)
}

/// The prefix of `prefix` that ends at its region in the key layout
/// (`.../CloudTrail/<region>/`), when `prefix` reaches that deep.
fn region_prefix(prefix: &str) -> Option<&str> {
    let mut offset = 0;
    let mut after_cloudtrail = false;
    for segment in prefix.split_inclusive('/') {
        offset += segment.len();
        let name = segment.strip_suffix('/')?;
        if after_cloudtrail && !name.is_empty() {
            return Some(&prefix[..offset]);
        }
        after_cloudtrail = name == "CloudTrail";
    }
    None
}

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Object {
    /// The object's key.
    pub key: String,
    /// Its size in bytes, as listed.
    pub size: u64,
}

/// What a listing found and left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListStats {
    /// `ListObjectsV2` requests made.
    pub requests: u64,
    /// Objects kept.
    pub objects: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Digest files (and digest folders, when the walk skipped a whole one) left out.
    pub digests_skipped: u64,
    /// Keys left out because their names are not log files' (`notes.txt`).
    pub not_logs: u64,
    /// Keys seen and left out because their day is outside the window. Keys a range listing never
    /// asked for are not counted.
    pub pruned: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    objects: AtomicU64,
    bytes: AtomicU64,
    digests_skipped: AtomicU64,
    not_logs: AtomicU64,
    pruned: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ListStats {
        ListStats {
            requests: self.requests.load(Ordering::Relaxed),
            objects: self.objects.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            digests_skipped: self.digests_skipped.load(Ordering::Relaxed),
            not_logs: self.not_logs.load(Ordering::Relaxed),
            pruned: self.pruned.load(Ordering::Relaxed),
        }
    }
}

/// A listing done in full: the objects in key order and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects kept, in key order.
    pub objects: Vec<S3Object>,
    /// What the listing did.
    pub stats: ListStats,
}

/// Why an archive could not be listed: the scan cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The text is not an `s3://bucket/prefix` URL.
    #[error("invalid S3 URL {url:?}: {reason}")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The bucket does not exist.
    #[error("bucket {bucket:?} does not exist")]
    NoSuchBucket {
        /// The bucket's name.
        bucket: String,
    },
    /// The credentials in use may not list the bucket.
    #[error(
        "access denied listing {location} (the credentials in use need s3:ListBucket on the bucket)"
    )]
    AccessDenied {
        /// The archive, `s3://bucket/prefix`.
        location: String,
    },
    /// Listing failed for another reason: no credentials, no connection, a server error.
    #[error("failed to list {location}: {message}")]
    List {
        /// The archive, `s3://bucket/prefix`.
        location: String,
        /// The SDK's error chain, on one line.
        message: String,
    },
    /// The runtime for S3 requests could not start.
    #[error("failed to start the S3 client")]
    Runtime(#[source] std::io::Error),
}

impl S3Error {
    /// The message without the archive's name, for a [`SourceError`] that names it.
    fn reason(&self) -> String {
        match self {
            S3Error::InvalidUrl { reason, .. } => format!("invalid S3 URL: {reason}"),
            S3Error::NoSuchBucket { .. } => self.to_string(),
            S3Error::AccessDenied { .. } => {
                "access denied (the credentials in use need s3:ListBucket on the bucket)".to_owned()
            }
            S3Error::List { message, .. } => format!("failed to list: {message}"),
            S3Error::Runtime(err) => format!("failed to start the S3 client: {err}"),
        }
    }
}

/// Why one object could not be read: the scan names it, counts it and goes on.
#[derive(Debug, thiserror::Error)]
#[error("failed to read s3://{bucket}/{key}: {failure}")]
pub struct FetchError {
    bucket: String,
    key: String,
    failure: FetchFailure,
}

impl FetchError {
    /// The object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What went wrong.
    pub fn failure(&self) -> &FetchFailure {
        &self.failure
    }
}

/// What went wrong reading one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    /// 403: the credentials may not read it (or may not decrypt it with its KMS key).
    AccessDenied,
    /// 404: it is gone since the listing.
    NotFound,
    /// It is in an archive storage class (Glacier) and must be restored first.
    Archived,
    /// Another HTTP status (5xx after the SDK's retries, for example).
    Status(u16),
    /// It is larger than [`S3Options::max_object_bytes`].
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// No HTTP answer, or the body broke off: the SDK's error chain on one line.
    Transport(String),
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::AccessDenied => f.write_str("access denied (403)"),
            FetchFailure::NotFound => f.write_str("no such key (404)"),
            FetchFailure::Archived => f.write_str("archived (restore it from Glacier first)"),
            FetchFailure::Status(status) => write!(f, "HTTP status {status}"),
            FetchFailure::TooLarge { size, limit } => {
                write!(f, "{size} bytes, larger than the limit of {limit} bytes")
            }
            FetchFailure::Transport(message) => f.write_str(message),
        }
    }
}

/// An S3 archive, connected: a client and the runtime it runs on. Every method blocks; call them
/// from plain threads, never from inside an async runtime.
#[derive(Debug)]
pub struct S3Archive {
    runtime: Arc<Background>,
    client: Client,
    location: S3Location,
    options: S3Options,
}

impl S3Archive {
    /// Builds the client (credentials and region the usual AWS way) and checks that the bucket
    /// exists and may be read, learning its region on the way.
    pub fn connect(location: S3Location, options: S3Options) -> Result<S3Archive, S3Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("trailbell-s3")
            .enable_all()
            .build()
            .map_err(S3Error::Runtime)?;
        let client = runtime.block_on(connect(&location, &options))?;
        Ok(S3Archive {
            runtime: Arc::new(Background(Some(runtime))),
            client,
            location,
            options,
        })
    }

    /// The archive's bucket and prefix.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// Lists the archive in full (keys and sizes only, no fetching), pruned by `window`.
    pub fn list(&self, window: &TimeWindow) -> Result<Listing, S3Error> {
        let counters = Arc::new(Counters::default());
        let (tx, mut rx) = mpsc::channel(1024);
        let walker = Walker {
            client: self.client.clone(),
            location: self.location.clone(),
            days: Days::new(window),
            counters: Arc::clone(&counters),
            tx,
        };
        let objects = self.runtime.get().block_on(async move {
            let walk = tokio::spawn(walker.run());
            let mut objects = Vec::new();
            while let Some(object) = rx.recv().await {
                objects.push(object);
            }
            match walk.await {
                Ok(result) => result.map(|()| objects),
                Err(join) => Err(S3Error::List {
                    location: self.location.to_string(),
                    message: join.to_string(),
                }),
            }
        })?;
        Ok(Listing {
            objects,
            stats: counters.snapshot(),
        })
    }

    /// Fetches one object's bytes.
    pub fn fetch(&self, object: &S3Object) -> Result<Vec<u8>, FetchError> {
        self.runtime.get().block_on(get_object(
            &self.client,
            &self.location.bucket,
            object,
            self.options.max_object_bytes,
        ))
    }

    /// Lists and fetches in the background; the objects come out of the returned [`Fetches`] as
    /// they arrive (not in key order), to any number of threads. Take each, process it, drop it:
    /// objects held count against [`S3Options::max_buffered_bytes`].
    pub fn fetch_all(&self, window: &TimeWindow) -> Fetches {
        let counters = Arc::new(Counters::default());
        let cancelled = Arc::new(AtomicBool::new(false));
        let (keys_tx, keys_rx) = mpsc::channel(1024);
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let walker = Walker {
            client: self.client.clone(),
            location: self.location.clone(),
            days: Days::new(window),
            counters: Arc::clone(&counters),
            tx: keys_tx,
        };
        let listing_out = out_tx.clone();
        let listing_cancelled = Arc::clone(&cancelled);
        self.runtime.get().spawn(async move {
            if let Err(err) = walker.run().await
                && !listing_cancelled.load(Ordering::Relaxed)
            {
                let _ = listing_out.send(Err(err));
            }
        });
        let dispatcher = Dispatcher {
            client: self.client.clone(),
            bucket: self.location.bucket.clone(),
            options: self.options.clone(),
            cancelled: Arc::clone(&cancelled),
            out: out_tx,
        };
        self.runtime.get().spawn(dispatcher.run(keys_rx));
        Fetches {
            receiver: out_rx,
            counters,
            cancelled,
            _runtime: Arc::clone(&self.runtime),
        }
    }
}

/// The runtime S3 requests run on. Shut down without waiting when its last user goes: requests
/// still in flight then are abandoned, not awaited.
#[derive(Debug)]
struct Background(Option<Runtime>);

impl Background {
    fn get(&self) -> &Runtime {
        self.0.as_ref().expect("the runtime is taken only on drop")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Objects being listed and fetched in the background ([`S3Archive::fetch_all`]). Iterate it, or
/// hand [`Fetches::receiver`] clones to worker threads. An `Err` item means the listing failed:
/// nothing more will come. Dropping every receiver stops the background work.
#[derive(Debug)]
pub struct Fetches {
    receiver: crossbeam_channel::Receiver<Result<Fetched, S3Error>>,
    counters: Arc<Counters>,
    cancelled: Arc<AtomicBool>,
    _runtime: Arc<Background>,
}

impl Fetches {
    /// The channel the objects come out of, for worker threads to share.
    pub fn receiver(&self) -> &crossbeam_channel::Receiver<Result<Fetched, S3Error>> {
        &self.receiver
    }

    /// What the listing has done so far (all of it once the channel is empty and closed).
    pub fn stats(&self) -> ListStats {
        self.counters.snapshot()
    }
}

impl Iterator for Fetches {
    type Item = Result<Fetched, S3Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.recv().ok()
    }
}

impl Drop for Fetches {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

/// One object from [`Fetches`]: its listing entry and its bytes, or why it could not be read.
#[derive(Debug)]
pub struct Fetched {
    /// The object as listed.
    pub object: S3Object,
    /// Its bytes, or why they could not be read.
    pub bytes: Result<Vec<u8>, FetchError>,
    /// The object's share of the fetch budget, given back when this is dropped.
    _budget: OwnedSemaphorePermit,
}

/// Expands an `s3://bucket/prefix` input of `trailbell scan`: connects (an error when the bucket
/// cannot be reached: the input is not an archive), then lists and fetches in the background
/// ([`S3Archive::fetch_all`]). Each object comes out fetched; one that could not be read says why
/// when the scan reads it, and a listing that fails midway is an `Err` item.
pub fn expand(url: &str, options: &ExpandOptions) -> Result<Input, SourceError> {
    let location = S3Location::parse(url).map_err(|err| SourceError::new(url, err.reason()))?;
    let name = location.to_string();
    let s3_options = S3Options {
        endpoint_url: options.endpoint_url.clone(),
        profile: options.profile.clone(),
        region: options.region.clone(),
        ..S3Options::default()
    };
    let archive = S3Archive::connect(location, s3_options)
        .map_err(|err| SourceError::new(&name, err.reason()))?;
    let bucket = archive.location().bucket().to_owned();
    let fetches = archive.fetch_all(&options.window);
    Ok(Input::Objects(Box::new(fetches.map(
        move |item| match item {
            Ok(fetched) => Ok(Box::new(S3File::new(&bucket, fetched)) as Box<dyn ArchiveObject>),
            Err(err) => Err(SourceError::new(name.clone(), err.reason())),
        },
    ))))
}

/// An object fetched for a scan: its bytes are in memory already.
struct S3File {
    name: String,
    size: u64,
    bytes: Result<Vec<u8>, FetchFailure>,
    _budget: OwnedSemaphorePermit,
}

impl S3File {
    fn new(bucket: &str, fetched: Fetched) -> S3File {
        S3File {
            name: format!("s3://{bucket}/{}", fetched.object.key),
            size: fetched.object.size,
            bytes: fetched.bytes.map_err(|err| err.failure),
            _budget: fetched._budget,
        }
    }
}

impl ArchiveObject for S3File {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn size(&self) -> Option<u64> {
        Some(self.size)
    }

    fn read(self: Box<Self>) -> Result<Vec<u8>, SourceError> {
        let S3File { name, bytes, .. } = *self;
        bytes.map_err(|failure| SourceError::new(name, failure.to_string()))
    }
}

/// Loads the SDK's configuration and makes the client, switching to the bucket's region when
/// AWS says it is elsewhere.
async fn connect(location: &S3Location, options: &S3Options) -> Result<Client, S3Error> {
    // Retries are the SDK's, configured the usual way (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, the
    // profile): by default three attempts with backoff for 5xx, throttling and broken connections.
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(Duration::from_secs(300))
            .build(),
    );
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let sdk_config = loader.load().await;
    let custom_endpoint = sdk_config.endpoint_url().is_some();
    let build = |region: Region| {
        let config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .region(region)
            .force_path_style(custom_endpoint)
            .build();
        Client::from_conf(config)
    };
    let region = sdk_config
        .region()
        .cloned()
        .unwrap_or_else(|| Region::from_static(FALLBACK_REGION));
    let client = build(region.clone());
    let head = client.head_bucket().bucket(&location.bucket).send().await;
    let bucket_region = match &head {
        Ok(output) => output.bucket_region().map(str::to_owned),
        Err(err) => err
            .raw_response()
            .and_then(|response| response.headers().get("x-amz-bucket-region"))
            .map(str::to_owned),
    };
    match bucket_region {
        // Elsewhere: AWS answers 301 (or 400/403 for a signature of the wrong region).
        Some(bucket_region) if !custom_endpoint && bucket_region != region.as_ref() => {
            let client = build(Region::new(bucket_region));
            let head = client.head_bucket().bucket(&location.bucket).send().await;
            head.map_err(|err| head_bucket_error(location, err))?;
            Ok(client)
        }
        _ => {
            head.map_err(|err| head_bucket_error(location, err))?;
            Ok(client)
        }
    }
}

fn head_bucket_error(
    location: &S3Location,
    err: SdkError<HeadBucketError, aws_sdk_s3::config::http::HttpResponse>,
) -> S3Error {
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (&err, status) {
        (SdkError::ServiceError(service), _) if service.err().is_not_found() => {
            S3Error::NoSuchBucket {
                bucket: location.bucket.clone(),
            }
        }
        (_, Some(404)) => S3Error::NoSuchBucket {
            bucket: location.bucket.clone(),
        },
        (_, Some(403)) => S3Error::AccessDenied {
            location: location.to_string(),
        },
        _ => S3Error::List {
            location: location.to_string(),
            message: one_line(&DisplayErrorContext(&err).to_string()),
        },
    }
}

fn list_error(
    location: &S3Location,
    err: SdkError<ListObjectsV2Error, aws_sdk_s3::config::http::HttpResponse>,
) -> S3Error {
    let status = err.raw_response().map(|r| r.status().as_u16());
    if let SdkError::ServiceError(service) = &err {
        if service.err().is_no_such_bucket() {
            return S3Error::NoSuchBucket {
                bucket: location.bucket.clone(),
            };
        }
        if service.err().code() == Some("AccessDenied") || status == Some(403) {
            return S3Error::AccessDenied {
                location: location.to_string(),
            };
        }
    }
    S3Error::List {
        location: location.to_string(),
        message: one_line(&DisplayErrorContext(&err).to_string()),
    }
}

/// An SDK error chain on one line: the scan reports it in one line per object.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lists an archive and sends the objects it keeps down a channel, in key order.
struct Walker {
    client: Client,
    location: S3Location,
    days: Days,
    counters: Arc<Counters>,
    tx: mpsc::Sender<S3Object>,
}

/// Whether to go on listing: the receiver may have gone away.
enum Flow {
    Continue,
    Stop,
}

impl Walker {
    async fn run(self) -> Result<(), S3Error> {
        let prefix = self.location.prefix.clone();
        if self.days.window.is_all() {
            self.list_flat(&prefix, None, None).await?;
            return Ok(());
        }
        // Depth-first, in key order: children are pushed in reverse.
        let mut pending = vec![(prefix, 0)];
        while let Some((prefix, depth)) = pending.pop() {
            let flow = if let Some(region) = region_prefix(&prefix) {
                let start_after = self
                    .days
                    .first
                    .map(|first| format!("{region}{}", first.strftime("%Y/%m/%d/")));
                let end = self
                    .days
                    .last
                    .and_then(|last| last.tomorrow().ok())
                    .map(|end| format!("{region}{}", end.strftime("%Y/%m/%d/")));
                self.list_flat(&prefix, start_after, end).await?
            } else if depth >= MAX_WALK_DEPTH {
                self.list_flat(&prefix, None, None).await?
            } else {
                let (flow, children) = self.list_level(&prefix).await?;
                for child in children.into_iter().rev() {
                    if is_digest_key(&child) {
                        self.counters
                            .digests_skipped
                            .fetch_add(1, Ordering::Relaxed);
                    } else {
                        pending.push((child, depth + 1));
                    }
                }
                flow
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        Ok(())
    }

    /// Lists every key under `prefix` after `start_after`, stopping at the first key at or past
    /// `end`.
    async fn list_flat(
        &self,
        prefix: &str,
        start_after: Option<String>,
        end: Option<String>,
    ) -> Result<Flow, S3Error> {
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.location.bucket)
                .prefix(prefix)
                .set_start_after(start_after.clone())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|err| list_error(&self.location, err))?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                if end.as_deref().is_some_and(|end| key >= end) {
                    return Ok(Flow::Continue);
                }
                if let Flow::Stop = self.offer(key, object.size()).await {
                    return Ok(Flow::Stop);
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(Flow::Continue),
            }
        }
    }

    /// Lists one level under `prefix` (`Delimiter=/`): offers its objects, returns its folders.
    async fn list_level(&self, prefix: &str) -> Result<(Flow, Vec<String>), S3Error> {
        let mut token: Option<String> = None;
        let mut children = Vec::new();
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.location.bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|err| list_error(&self.location, err))?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                if let Flow::Stop = self.offer(key, object.size()).await {
                    return Ok((Flow::Stop, children));
                }
            }
            children.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|common| common.prefix().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok((Flow::Continue, children)),
            }
        }
    }

    /// Keeps or leaves out one listed key.
    async fn offer(&self, key: &str, size: Option<i64>) -> Flow {
        if key.ends_with('/') {
            return Flow::Continue;
        }
        if is_digest_key(key) {
            self.counters
                .digests_skipped
                .fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        }
        let name = key.rsplit_once('/').map_or(key, |(_, name)| name);
        if !is_log_file_name(name) && key != self.location.prefix {
            self.counters.not_logs.fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        }
        if !self.days.keeps_key(key) {
            self.counters.pruned.fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        }
        let size = size.and_then(|size| u64::try_from(size).ok()).unwrap_or(0);
        self.counters.objects.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(size, Ordering::Relaxed);
        let object = S3Object {
            key: key.to_owned(),
            size,
        };
        match self.tx.send(object).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

/// Fetches listed objects, within the request and byte budgets, and sends them out.
struct Dispatcher {
    client: Client,
    bucket: String,
    options: S3Options,
    cancelled: Arc<AtomicBool>,
    out: crossbeam_channel::Sender<Result<Fetched, S3Error>>,
}

impl Dispatcher {
    async fn run(self, mut keys: mpsc::Receiver<S3Object>) {
        let budget_units = units(self.options.max_buffered_bytes).max(1);
        let budget = Arc::new(Semaphore::new(budget_units as usize));
        let requests = Arc::new(Semaphore::new(self.options.max_requests.max(1)));
        while let Some(object) = keys.recv().await {
            if self.cancelled.load(Ordering::Relaxed) {
                return;
            }
            let wanted =
                units(object.size.min(self.options.max_object_bytes)).clamp(1, budget_units);
            let (Ok(share), Ok(request)) = (
                Arc::clone(&budget).acquire_many_owned(wanted).await,
                Arc::clone(&requests).acquire_owned().await,
            ) else {
                return;
            };
            let client = self.client.clone();
            let bucket = self.bucket.clone();
            let limit = self.options.max_object_bytes;
            let out = self.out.clone();
            let cancelled = Arc::clone(&self.cancelled);
            tokio::spawn(async move {
                if cancelled.load(Ordering::Relaxed) {
                    return;
                }
                let bytes = get_object(&client, &bucket, &object, limit).await;
                drop(request);
                let _ = out.send(Ok(Fetched {
                    object,
                    bytes,
                    _budget: share,
                }));
            });
        }
    }
}

/// `bytes` in budget units, rounded up, saturating.
fn units(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(BUDGET_UNIT_BYTES)).unwrap_or(u32::MAX >> 4)
}

/// Fetches one object, reading its body into one buffer.
async fn get_object(
    client: &Client,
    bucket: &str,
    object: &S3Object,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    let fail = |failure| FetchError {
        bucket: bucket.to_owned(),
        key: object.key.clone(),
        failure,
    };
    if object.size > limit {
        return Err(fail(FetchFailure::TooLarge {
            size: object.size,
            limit,
        }));
    }
    let output = client
        .get_object()
        .bucket(bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|err| fail(get_object_failure(&err)))?;
    let expected = output
        .content_length()
        .and_then(|len| u64::try_from(len).ok())
        .unwrap_or(object.size);
    let mut bytes = Vec::with_capacity(usize::try_from(expected.min(limit)).unwrap_or(0));
    let mut body = output.body;
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk);
                let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                if size > limit {
                    return Err(fail(FetchFailure::TooLarge { size, limit }));
                }
            }
            Ok(None) => return Ok(bytes),
            Err(err) => {
                return Err(fail(FetchFailure::Transport(one_line(&format!(
                    "the body broke off: {}",
                    DisplayErrorContext(&err)
                )))));
            }
        }
    }
}

fn get_object_failure(
    err: &SdkError<GetObjectError, aws_sdk_s3::config::http::HttpResponse>,
) -> FetchFailure {
    if let SdkError::ServiceError(service) = err {
        match service.err() {
            GetObjectError::NoSuchKey(_) => return FetchFailure::NotFound,
            GetObjectError::InvalidObjectState(_) => return FetchFailure::Archived,
            _ => {}
        }
    }
    match err.raw_response().map(|r| r.status().as_u16()) {
        Some(403) => FetchFailure::AccessDenied,
        Some(404) => FetchFailure::NotFound,
        Some(status) => FetchFailure::Status(status),
        None => FetchFailure::Transport(one_line(&DisplayErrorContext(err).to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_keeps_the_prefix_as_given() {
        let location = S3Location::parse("s3://trail-bucket").unwrap();
        assert_eq!((location.bucket(), location.prefix()), ("trail-bucket", ""));
        let location = S3Location::parse("s3://trail-bucket/").unwrap();
        assert_eq!((location.bucket(), location.prefix()), ("trail-bucket", ""));
        let location = S3Location::parse("s3://trail-bucket/AWSLogs").unwrap();
        assert_eq!(location.prefix(), "AWSLogs");
        assert_eq!(location.to_string(), "s3://trail-bucket/AWSLogs");
    }

    #[test]
    fn location_rejects_what_is_not_a_bucket() {
        for url in [
            "s3://",
            "s3:///x",
            "/tmp/AWSLogs",
            "s3://a b/",
            "s3://bu\u{7}cket/x",
        ] {
            assert!(S3Location::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn digest_keys_are_recognised_by_their_folder() {
        assert!(is_digest_key(
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/02/x.json.gz"
        ));
        assert!(is_digest_key("CloudTrail-Digest/"));
        assert!(!is_digest_key(
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/02/CloudTrail-Digest.json.gz"
        ));
    }

    #[test]
    fn region_prefix_needs_a_whole_region_segment() {
        assert_eq!(
            region_prefix("AWSLogs/1/CloudTrail/us-east-1/"),
            Some("AWSLogs/1/CloudTrail/us-east-1/")
        );
        assert_eq!(
            region_prefix("AWSLogs/1/CloudTrail/us-east-1/2026/11/0"),
            Some("AWSLogs/1/CloudTrail/us-east-1/")
        );
        for prefix in [
            "",
            "AWSLogs/",
            "AWSLogs/1/CloudTrail/",
            "AWSLogs/1/CloudTrail/us-east",
            "AWSLogs/1/CloudTrail-Digest/us-east-1/",
        ] {
            assert_eq!(region_prefix(prefix), None, "{prefix}");
        }
    }

    #[test]
    fn days_are_those_the_window_may_need() {
        let window = |since: Option<&str>, until: Option<&str>| {
            let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
            TimeWindow::new(since.map(at), until.map(at)).unwrap()
        };
        let day = |text: &str| Some(text.parse::<Date>().unwrap());
        let days = Days::new(&window(
            Some("2026-11-02T08:00:00Z"),
            Some("2026-11-03T08:00:00Z"),
        ));
        assert_eq!(
            (days.first, days.last),
            (day("2026-11-02"), day("2026-11-04"))
        );
        // An end at midnight: the end's own day holds the last events of the day before.
        let days = Days::new(&window(None, Some("2026-11-03T00:00:00Z")));
        assert_eq!((days.first, days.last), (None, day("2026-11-03")));
        // Times with offsets count by their UTC day.
        let days = Days::new(&window(Some("2026-11-02T01:00:00+02:00"), None));
        assert_eq!((days.first, days.last), (day("2026-11-01"), None));
        let days = Days::new(&TimeWindow::all());
        assert_eq!((days.first, days.last), (None, None));
    }

    #[test]
    fn keys_outside_the_layout_are_kept() {
        let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
        let days = Days::new(&TimeWindow::new(Some(at("2026-11-02T00:00:00Z")), None).unwrap());
        assert!(!days.keeps_key("AWSLogs/1/CloudTrail/us-east-1/2026/11/01/f.json.gz"));
        assert!(days.keeps_key("AWSLogs/1/CloudTrail/us-east-1/2026/11/02/f.json.gz"));
        assert!(days.keeps_key("exports/2026/11/01/f.json.gz"));
        assert!(days.keeps_key("f.json.gz"));
    }

    #[test]
    fn budget_units_round_up_and_saturate() {
        assert_eq!(units(0), 0);
        assert_eq!(units(1), 1);
        assert_eq!(units(4096), 1);
        assert_eq!(units(4097), 2);
        assert!(units(u64::MAX) > 0);
    }
}
