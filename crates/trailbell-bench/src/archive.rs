//! A synthetic CloudTrail trail on disk, for the scan benchmark (`scripts/bench-scan`).
//!
//! [`generate`] writes what a trail delivering to S3 writes, in the same layout:
//!
//! ```text
//! DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<16 random>.json.gz
//! DIR/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_YYYYMMDDTHHMMSSZ.json.gz
//! ```
//!
//! Each log file is `{"Records":[...]}`, gzipped with flate2 at level 6 (zlib's default, as
//! CloudTrail's files are). The records are the `detail` of the benchmark's own CloudTrail events
//! ([`crate::cloudtrail::event`]), so both benchmarks share one generator and one mix of event
//! names; only `eventTime` is rewritten, to place each record in the archive's timeline.
//!
//! The timeline is `days` days cut into five-minute slots, the rate CloudTrail delivers files at.
//! Each slot gets a number of events that follows the hour of the day (busier in the afternoon,
//! UTC) and the day of the week. The slot's events are filed by their own account and region:
//! one file per account and region that had events in the slot, so busy regions (us-east-1, where
//! IAM, STS and root sign-ins are recorded) get files of hundreds of records and quiet ones files
//! of a few. A small share of records is delivered twice (again in the next file of the same
//! account and region), as trails sometimes do. Every hour, each account and region also gets a
//! digest file, which scanners must skip.
//!
//! Everything is a function of the seed: the same configuration writes the same bytes.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::cloudtrail;
use crate::rng::Rng;

const STREAM_SLOT: u64 = 21;
const STREAM_FILE_NAME: u64 = 22;
const STREAM_DUPLICATE: u64 = 23;
const STREAM_DIGEST: u64 = 24;

/// Minutes between two log files of one account and region.
pub const SLOT_MINUTES: u32 = 5;
const SLOTS_PER_DAY: u32 = 24 * 60 / SLOT_MINUTES;

/// The trail's name and home region, as digest file names carry them.
const TRAIL_NAME: &str = "management-events";
const HOME_REGION: &str = "us-east-1";
const BUCKET: &str = "org-cloudtrail-logs";

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// The seed of everything.
    pub seed: u64,
    /// The total size of the log files, decompressed, to aim at.
    pub target_bytes: u64,
    /// Accounts writing to the trail (at most 20).
    pub accounts: usize,
    /// Days of logs.
    pub days: u32,
    /// The first day, as days since 1970-01-01.
    pub first_day: i64,
    /// The share of records delivered a second time.
    pub duplicate_rate: f64,
    /// Threads compressing and writing files.
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 1,
            target_bytes: 1_200_000_000,
            accounts: 4,
            days: 3,
            // 2026-11-02, a Monday.
            first_day: days_from_civil(2026, 11, 2),
            duplicate_rate: 0.001,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Log files.
    pub files: u64,
    /// Records in them, duplicates included.
    pub records: u64,
    /// Records that repeat one delivered earlier.
    pub duplicates: u64,
    /// Stored size of the log files.
    pub compressed_bytes: u64,
    /// Decompressed size of the log files.
    pub uncompressed_bytes: u64,
    /// Digest files (not event logs).
    pub digest_files: u64,
    /// Their stored size.
    pub digest_bytes: u64,
    /// The fewest records in one file.
    pub min_records_per_file: u64,
    /// The most records in one file.
    pub max_records_per_file: u64,
    /// Console sign-in records (`eventName` ConsoleLogin), duplicates included.
    pub console_logins: u64,
    /// Read-only records (`"readOnly":true`), duplicates included.
    pub read_only: u64,
    /// Distinct `eventID`s of successful console sign-ins by Root or IAMUser without MFA: the
    /// answer the scan benchmark's tools must all give (see [`is_sign_in_without_mfa`]).
    pub sign_ins_without_mfa: u64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A moment of the timeline, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Moment {
    day: i64,
    second: u32,
}

impl Moment {
    fn date(self) -> (i64, u32, u32) {
        civil_from_days(self.day)
    }

    /// `2026-11-02T09:35:12Z`
    fn rfc3339(self) -> String {
        let (y, m, d) = self.date();
        let s = self.second;
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }

    /// `YYYY/MM/DD`, the day directories of the layout.
    fn day_path(self) -> String {
        let (y, m, d) = self.date();
        format!("{y:04}/{m:02}/{d:02}")
    }

    /// `20261102T0935Z`, as log file names carry it.
    fn minute_stamp(self) -> String {
        let (y, m, d) = self.date();
        let s = self.second;
        format!("{y:04}{m:02}{d:02}T{:02}{:02}Z", s / 3600, s / 60 % 60)
    }

    /// `20261102T093512Z`, as digest file names carry it.
    fn second_stamp(self) -> String {
        let (y, m, d) = self.date();
        let s = self.second;
        format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }

    fn plus_seconds(self, seconds: u32) -> Moment {
        let total = u64::from(self.second) + u64::from(seconds);
        Moment {
            day: self.day + (total / 86_400) as i64,
            second: (total % 86_400) as u32,
        }
    }
}

/// How busy the trail is in a slot, relative to the day's average: a quiet night, a busy
/// afternoon (UTC), half as busy at weekends.
fn activity(day: i64, slot_of_day: u32) -> f64 {
    let hour = f64::from(slot_of_day * SLOT_MINUTES) / 60.0;
    let afternoon = (-((hour - 15.0) / 4.5).powi(2)).exp();
    // 1970-01-01 was a Thursday: day 0 is weekday 3 (Monday = 0).
    let weekday = (day + 3).rem_euclid(7);
    let week = if weekday >= 5 { 0.5 } else { 1.0 };
    (0.3 + 1.4 * afternoon) * week
}

/// The parts of an envelope from [`cloudtrail::event`] the archive needs: account, region and
/// `detail`, the CloudTrail record. `None` if the envelope is not shaped as that generator writes
/// it.
pub fn split_envelope(envelope: &str) -> Option<(&str, &str, &str)> {
    fn field<'e>(envelope: &'e str, name: &str) -> Option<&'e str> {
        let key = format!("\"{name}\":\"");
        let start = envelope.find(&key)? + key.len();
        let len = envelope[start..].find('"')?;
        Some(&envelope[start..start + len])
    }
    let account = field(envelope, "account")?;
    let region = field(envelope, "region")?;
    let key = ",\"detail\":{";
    let start = envelope.find(key)? + key.len() - 1;
    let detail = envelope[start..].strip_suffix('}')?;
    Some((account, region, detail))
}

/// `record` with the value of its first `eventTime` replaced by `time`.
pub fn with_event_time(record: &str, time: &str) -> Option<String> {
    let key = "\"eventTime\":\"";
    let start = record.find(key)? + key.len();
    let len = record[start..].find('"')?;
    let mut out = String::with_capacity(record.len() + time.len());
    out.push_str(&record[..start]);
    out.push_str(time);
    out.push_str(&record[start + len..]);
    Some(out)
}

/// The benchmark's question about one CloudTrail record, as the built-in rule
/// `console-sign-in-without-mfa` asks it of the record's envelope: a console sign-in
/// (`eventSource` signin.amazonaws.com, `eventType` AwsConsoleSignIn, `eventName` ConsoleLogin) by
/// `userIdentity.type` Root or IAMUser that succeeded (`responseElements.ConsoleLogin` Success),
/// with `additionalEventData.MFAUsed` missing or anything but "yes" in any case.
pub fn is_sign_in_without_mfa(record: &serde_json::Value) -> bool {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(record, |v, key| v.get(key))
            .and_then(text)
    };
    let mfa_used = record
        .get("additionalEventData")
        .and_then(|d| d.get("MFAUsed"));
    field(&["eventSource"]).as_deref() == Some("signin.amazonaws.com")
        && field(&["eventType"]).as_deref() == Some("AwsConsoleSignIn")
        && field(&["eventName"]).as_deref() == Some("ConsoleLogin")
        && matches!(
            field(&["userIdentity", "type"]).as_deref(),
            Some("Root" | "IAMUser")
        )
        && field(&["responseElements", "ConsoleLogin"]).as_deref() == Some("Success")
        && match mfa_used {
            None => true,
            Some(serde_json::Value::String(s)) => !s.eq_ignore_ascii_case("yes"),
            Some(_) => true,
        }
}

/// The log files of a directory tree, as `trailbell scan` walks it: files ending in `.json.gz`
/// (or `.json`), directories named `CloudTrail-Digest` skipped, in name order.
pub fn log_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut dirs = Vec::new();
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if name != "CloudTrail-Digest" {
                    dirs.push(entry.path());
                }
            } else if kind.is_file() && (name.ends_with(".json.gz") || name.ends_with(".json")) {
                out.push(entry.path());
            }
        }
        pending.extend(dirs.into_iter().rev());
    }
    Ok(out)
}

/// A file to compress and write.
struct Job {
    path: PathBuf,
    body: Vec<u8>,
    digest: bool,
}

#[derive(Default)]
struct Written {
    files: u64,
    compressed: u64,
    digest_files: u64,
    digest_bytes: u64,
}

fn writer(jobs: &Mutex<Receiver<Job>>) -> io::Result<Written> {
    let mut written = Written::default();
    let mut made_dirs = HashSet::new();
    loop {
        let job = {
            let jobs = jobs
                .lock()
                .map_err(|_| io::Error::other("a writer panicked"))?;
            jobs.recv()
        };
        let Ok(job) = job else {
            return Ok(written);
        };
        let mut gz = GzEncoder::new(
            Vec::with_capacity(job.body.len() / 6 + 64),
            Compression::new(6),
        );
        gz.write_all(&job.body)?;
        let data = gz.finish()?;
        if let Some(parent) = job.path.parent()
            && made_dirs.insert(parent.to_owned())
        {
            fs::create_dir_all(parent)?;
        }
        fs::write(&job.path, &data)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", job.path.display())))?;
        if job.digest {
            written.digest_files += 1;
            written.digest_bytes += data.len() as u64;
        } else {
            written.files += 1;
            written.compressed += data.len() as u64;
        }
    }
}

/// One log file written in the current hour, for the hour's digest.
struct Logged {
    key: String,
    oldest: String,
    newest: String,
}

/// The digest file of one account and region for the hour ending at `end`.
fn digest(seed: u64, account: &str, region: &str, end: Moment, files: &[Logged]) -> String {
    let key_index = (end.day as u64 * 24 + u64::from(end.second / 3600))
        ^ (u64::from(region_index(region)) << 40);
    let mut rng = Rng::for_item(seed, STREAM_DIGEST, key_index ^ account_hash(account));
    let start = Moment {
        day: end.day - i64::from(end.second < 3600),
        second: (end.second + 86_400 - 3600) % 86_400,
    };
    let object = format!(
        "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{HOME_REGION}_{}.json.gz",
        end.day_path(),
        end.second_stamp()
    );
    let mut out = String::new();
    out.push_str(&format!(
        "{{\"awsAccountId\":\"{account}\",\"digestStartTime\":\"{}\",\"digestEndTime\":\"{}\",\
         \"digestS3Bucket\":\"{BUCKET}\",\"digestS3Object\":\"{object}\",\
         \"digestPublicKeyFingerprint\":\"{}\",\"digestSignatureAlgorithm\":\"SHA256withRSA\",",
        start.rfc3339(),
        end.rfc3339(),
        rng.hex(32),
    ));
    if let (Some(first), Some(last)) = (files.first(), files.last()) {
        out.push_str(&format!(
            "\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\",",
            last.newest, first.oldest
        ));
    }
    out.push_str(&format!(
        "\"previousDigestS3Bucket\":\"{BUCKET}\",\"previousDigestHashValue\":\"{}\",\
         \"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"{}\",\"logFiles\":[",
        rng.hex(64),
        rng.hex(512),
    ));
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"s3Bucket\":\"{BUCKET}\",\"s3Object\":\"{}\",\"hashValue\":\"{}\",\
             \"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\"}}",
            f.key,
            rng.hex(64),
            f.newest,
            f.oldest
        ));
    }
    out.push_str("]}");
    out
}

fn region_index(region: &str) -> u32 {
    region
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31) ^ u32::from(b))
}

fn account_hash(account: &str) -> u64 {
    account.parse::<u64>().unwrap_or(0) << 20
}

/// Events of the generator `pilot` events are measured on to size the archive.
const PILOT_EVENTS: u64 = 4_000;

/// The record of event `index`: its account, region and text (time not yet set).
fn record(seed: u64, accounts: &[String], index: u64) -> io::Result<(String, String, String)> {
    let envelope = cloudtrail::event(seed, accounts, index);
    let (account, region, detail) = split_envelope(&envelope)
        .ok_or_else(|| io::Error::other(format!("event {index} is not an envelope")))?;
    Ok((account.to_owned(), region.to_owned(), detail.to_owned()))
}

/// Writes the archive under `dir` (which must not hold an `AWSLogs` directory yet) and says what
/// it wrote. `progress` hears the fraction done now and then.
pub fn generate(dir: &Path, config: &Config, progress: &mut dyn FnMut(f64)) -> io::Result<Summary> {
    let root = dir.join("AWSLogs");
    if root.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists: remove it or write elsewhere",
                root.display()
            ),
        ));
    }
    let all_accounts = cloudtrail::accounts(config.seed);
    if config.accounts == 0 || config.accounts > all_accounts.len() || config.days == 0 {
        return Err(io::Error::other(format!(
            "accounts must be 1 to {} and days at least 1",
            all_accounts.len()
        )));
    }
    let accounts = &all_accounts[..config.accounts];

    // How many records make the target size, and the trail's regions: measured on the
    // generator's first events.
    let mut pilot_bytes = 0u64;
    let mut regions = std::collections::BTreeSet::new();
    for i in 0..PILOT_EVENTS {
        let (_, region, detail) = record(config.seed, accounts, i)?;
        pilot_bytes += detail.len() as u64 + 1;
        regions.insert(region);
    }
    let regions: Vec<String> = regions.into_iter().collect();
    let per_record = pilot_bytes as f64 / PILOT_EVENTS as f64;
    let total_records = config.target_bytes as f64 / per_record;
    let slots = u64::from(config.days) * u64::from(SLOTS_PER_DAY);
    let activity_sum: f64 = (0..slots)
        .map(|s| {
            activity(
                config.first_day + (s / u64::from(SLOTS_PER_DAY)) as i64,
                (s % u64::from(SLOTS_PER_DAY)) as u32,
            )
        })
        .sum();

    let threads = config.threads.max(1);
    let (send, receive) = sync_channel::<Job>(threads * 16);
    let receive = Arc::new(Mutex::new(receive));
    let mut summary = Summary {
        min_records_per_file: u64::MAX,
        ..Summary::default()
    };
    let written = std::thread::scope(|scope| -> io::Result<Written> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let receive = Arc::clone(&receive);
                scope.spawn(move || writer(&receive))
            })
            .collect();
        let produced = produce(
            &root,
            config,
            accounts,
            &regions,
            slots,
            total_records / activity_sum,
            &send,
            &mut summary,
            progress,
        );
        drop(send);
        let mut written = Written::default();
        for worker in workers {
            let w = worker
                .join()
                .map_err(|_| io::Error::other("a writer panicked"))??;
            written.files += w.files;
            written.compressed += w.compressed;
            written.digest_files += w.digest_files;
            written.digest_bytes += w.digest_bytes;
        }
        produced?;
        Ok(written)
    })?;
    summary.compressed_bytes = written.compressed;
    summary.digest_files = written.digest_files;
    summary.digest_bytes = written.digest_bytes;
    if summary.files != written.files {
        return Err(io::Error::other("not every file was written"));
    }
    if summary.files == 0 {
        summary.min_records_per_file = 0;
    }
    Ok(summary)
}

/// Generates the records slot by slot and hands files to the writers.
#[allow(clippy::too_many_arguments)]
fn produce(
    root: &Path,
    config: &Config,
    accounts: &[String],
    regions: &[String],
    slots: u64,
    records_per_activity: f64,
    send: &SyncSender<Job>,
    summary: &mut Summary,
    progress: &mut dyn FnMut(f64),
) -> io::Result<()> {
    let closed = || io::Error::other("the writers stopped");
    let mut next_event = 0u64;
    // Records to deliver again in the next file of their account and region.
    let mut again: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    // Log files of the current hour, per account and region, for the digests.
    let mut hour_files: BTreeMap<(String, String), Vec<Logged>> = BTreeMap::new();
    let mut no_mfa = HashSet::new();
    for slot in 0..slots {
        let day = config.first_day + (slot / u64::from(SLOTS_PER_DAY)) as i64;
        let slot_of_day = (slot % u64::from(SLOTS_PER_DAY)) as u32;
        let start = Moment {
            day,
            second: slot_of_day * SLOT_MINUTES * 60,
        };
        let mut rng = Rng::for_item(config.seed, STREAM_SLOT, slot);
        let expected = records_per_activity * activity(day, slot_of_day);
        let count = (expected * (0.85 + 0.3 * rng.unit())).round() as u64;

        // Records of earlier slots to deliver again; this slot's own repeats wait for the next.
        let mut repeat_now = std::mem::take(&mut again);
        let mut files: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for j in 0..count {
            let index = next_event + j;
            let (account, region, detail) = record(config.seed, accounts, index)?;
            let at = start.plus_seconds((j * u64::from(SLOT_MINUTES) * 60 / count) as u32);
            let detail = with_event_time(&detail, &at.rfc3339())
                .ok_or_else(|| io::Error::other(format!("event {index} has no eventTime")))?;
            if Rng::for_item(config.seed, STREAM_DUPLICATE, index).chance(config.duplicate_rate) {
                again
                    .entry((account.clone(), region.clone()))
                    .or_default()
                    .push(detail.clone());
            }
            files.entry((account, region)).or_default().push(detail);
        }
        next_event += count;

        for (key, mut records) in files {
            if let Some(repeats) = repeat_now.remove(&key) {
                // Delivered again after this slot's own records.
                let own = records.len();
                records.extend(repeats);
                summary.duplicates += (records.len() - own) as u64;
            }
            let (account, region) = &key;
            let mut name_rng = Rng::for_item(
                config.seed,
                STREAM_FILE_NAME,
                (slot << 16) ^ account_hash(account) ^ u64::from(region_index(region)),
            );
            let suffix = name_rng.chars(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                16,
            );
            let relative = format!(
                "{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{suffix}.json.gz",
                start.day_path(),
                start.minute_stamp(),
            );
            let mut body =
                Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
            body.extend_from_slice(b"{\"Records\":[");
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(r.as_bytes());
                tally(summary, r, &mut no_mfa)?;
            }
            body.extend_from_slice(b"]}");
            summary.files += 1;
            summary.records += records.len() as u64;
            summary.uncompressed_bytes += body.len() as u64;
            summary.min_records_per_file = summary.min_records_per_file.min(records.len() as u64);
            summary.max_records_per_file = summary.max_records_per_file.max(records.len() as u64);
            hour_files.entry(key.clone()).or_default().push(Logged {
                key: format!("AWSLogs/{relative}"),
                oldest: start.rfc3339(),
                newest: start.plus_seconds(SLOT_MINUTES * 60 - 1).rfc3339(),
            });
            send.send(Job {
                path: root.join(relative),
                body,
                digest: false,
            })
            .map_err(|_| closed())?;
        }

        // Accounts and regions without a file in this slot deliver their repeats later.
        for (key, mut repeats) in std::mem::take(&mut repeat_now) {
            let waiting = again.entry(key).or_default();
            repeats.append(waiting);
            *waiting = repeats;
        }

        // The end of an hour: each account and region's digest, even for an hour without logs.
        let end = start.plus_seconds(SLOT_MINUTES * 60);
        if end.second.is_multiple_of(3600) {
            for account in accounts {
                for region in regions {
                    let key = (account.clone(), region.clone());
                    let logged = hour_files.remove(&key).unwrap_or_default();
                    let text = digest(config.seed, account, region, end, &logged);
                    let path = root.join(format!(
                        "{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{HOME_REGION}_{}.json.gz",
                        end.day_path(),
                        end.second_stamp()
                    ));
                    send.send(Job {
                        path,
                        body: text.into_bytes(),
                        digest: true,
                    })
                    .map_err(|_| closed())?;
                }
            }
        }
        if slot.is_multiple_of(16) {
            progress((slot + 1) as f64 / slots as f64);
        }
    }
    summary.sign_ins_without_mfa = no_mfa.len() as u64;
    progress(1.0);
    Ok(())
}

/// Counts one record into the summary.
fn tally(summary: &mut Summary, record: &str, no_mfa: &mut HashSet<String>) -> io::Result<()> {
    if record.contains("\"readOnly\":true") {
        summary.read_only += 1;
    }
    if !record.contains("\"eventName\":\"ConsoleLogin\"") {
        return Ok(());
    }
    summary.console_logins += 1;
    let value: serde_json::Value = serde_json::from_str(record)
        .map_err(|e| io::Error::other(format!("a generated record is not JSON: {e}")))?;
    if is_sign_in_without_mfa(&value)
        && let Some(id) = value.get("eventID").and_then(serde_json::Value::as_str)
    {
        no_mfa.insert(id.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2026, 11, 2)), (2026, 11, 2));
        assert_eq!(
            civil_from_days(days_from_civil(2028, 2, 29) + 1),
            (2028, 3, 1)
        );
        // 2026-11-02 is a Monday: weekday index 0.
        assert_eq!((days_from_civil(2026, 11, 2) + 3).rem_euclid(7), 0);
    }

    #[test]
    fn moments_format_like_cloudtrail() {
        let m = Moment {
            day: days_from_civil(2026, 11, 2),
            second: 9 * 3600 + 35 * 60 + 12,
        };
        assert_eq!(m.rfc3339(), "2026-11-02T09:35:12Z");
        assert_eq!(m.minute_stamp(), "20261102T0935Z");
        assert_eq!(m.second_stamp(), "20261102T093512Z");
        assert_eq!(m.day_path(), "2026/11/02");
        assert_eq!(m.plus_seconds(86_400).rfc3339(), "2026-11-03T09:35:12Z");
    }

    #[test]
    fn envelopes_split_into_their_record() {
        let accounts = cloudtrail::accounts(3);
        for i in 0..500 {
            let envelope = cloudtrail::event(3, &accounts, i);
            let (account, region, detail) = split_envelope(&envelope).expect("an envelope");
            let v: serde_json::Value = serde_json::from_str(detail).expect("a record");
            assert_eq!(v["recipientAccountId"], account);
            assert_eq!(v["awsRegion"], region);
            let moved = with_event_time(detail, "2027-01-31T23:59:59Z").expect("a time");
            let v: serde_json::Value = serde_json::from_str(&moved).expect("still a record");
            assert_eq!(v["eventTime"], "2027-01-31T23:59:59Z");
        }
    }

    #[test]
    fn the_question_follows_the_rule() {
        let sign_in = |kind: &str, outcome: &str, mfa: Option<&str>| {
            let extra = mfa.map_or(String::new(), |m| format!(r#","MFAUsed":"{m}""#));
            serde_json::from_str::<serde_json::Value>(&format!(
                r#"{{"eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","eventName":"ConsoleLogin",
                   "userIdentity":{{"type":"{kind}"}},"responseElements":{{"ConsoleLogin":"{outcome}"}},
                   "additionalEventData":{{"LoginTo":"x"{extra}}}}}"#
            ))
            .expect("JSON")
        };
        assert!(is_sign_in_without_mfa(&sign_in(
            "IAMUser",
            "Success",
            Some("No")
        )));
        assert!(is_sign_in_without_mfa(&sign_in("Root", "Success", None)));
        assert!(!is_sign_in_without_mfa(&sign_in(
            "Root",
            "Success",
            Some("YES")
        )));
        assert!(!is_sign_in_without_mfa(&sign_in(
            "IAMUser",
            "Success",
            Some("yes")
        )));
        assert!(!is_sign_in_without_mfa(&sign_in(
            "IAMUser",
            "Failure",
            Some("No")
        )));
        assert!(!is_sign_in_without_mfa(&sign_in(
            "AssumedRole",
            "Success",
            Some("No")
        )));
    }

    #[test]
    fn a_small_archive_is_deterministic_and_laid_out_like_a_trail() {
        let base =
            std::env::temp_dir().join(format!("trailbell-archive-test-{}", std::process::id()));
        let config = Config {
            target_bytes: 600_000,
            accounts: 2,
            days: 1,
            threads: 2,
            duplicate_rate: 0.05,
            ..Config::default()
        };
        let mut summaries = Vec::new();
        let mut listings = Vec::new();
        for run in 0..2 {
            let dir = base.join(run.to_string());
            let summary = generate(&dir, &config, &mut |_| {}).expect("generated");
            let files = log_files(&dir).expect("listed");
            let mut records = 0;
            let mut bytes = 0;
            let mut contents = Vec::new();
            let mut ids = HashSet::new();
            let mut repeats = 0;
            for f in &files {
                let relative = f
                    .strip_prefix(&dir)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                let parts: Vec<&str> = relative.split('/').collect();
                assert_eq!(parts.len(), 8, "{relative}");
                assert_eq!(
                    (parts[0], parts[2]),
                    ("AWSLogs", "CloudTrail"),
                    "{relative}"
                );
                assert!(parts[7].starts_with(&format!("{}_CloudTrail_{}_", parts[1], parts[3])));
                let data = fs::read(f).expect("read");
                let mut text = String::new();
                io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&data[..]), &mut text)
                    .expect("gzip");
                let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                let file_records = v["Records"].as_array().expect("Records");
                records += file_records.len() as u64;
                let mut in_file = HashSet::new();
                for r in file_records {
                    let id = r["eventID"].as_str().expect("an eventID").to_owned();
                    assert!(in_file.insert(id.clone()), "{relative} repeats {id}");
                    repeats += u64::from(!ids.insert(id));
                }
                bytes += text.len() as u64;
                contents.push((relative, data));
            }
            assert_eq!(files.len() as u64, summary.files);
            assert_eq!(records, summary.records);
            // Repeats arrive in a later file, never beside their original.
            assert_eq!(repeats, summary.duplicates);
            assert_eq!(bytes, summary.uncompressed_bytes);
            assert!(summary.digest_files >= 24 * 2, "{summary:?}");
            assert!(
                summary.duplicates > 0 && summary.console_logins > 0,
                "{summary:?}"
            );
            assert!(summary.sign_ins_without_mfa > 0, "{summary:?}");
            summaries.push(summary);
            listings.push(contents);
        }
        assert_eq!(summaries[0], summaries[1]);
        assert!(
            listings[0] == listings[1],
            "the same seed wrote different files"
        );
        let _ = fs::remove_dir_all(&base);
    }
}
