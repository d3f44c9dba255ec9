//! Scanning archives: every event of many files run through one matcher, in parallel, in bounded
//! memory.
//!
//! # The pipeline
//!
//! ```text
//! inputs ──► lister thread ──(bounded: 64 × threads jobs)──► N worker threads ──(bounded: 1,024)──► collector
//!            expands inputs lazily                       read, gunzip, parse,                   (the caller's thread)
//!                                                        envelope, match                        dedup, summaries, output
//! ```
//!
//! - The **lister** walks the inputs ([`crate::sources`]) and hands objects to the workers through
//!   a channel that holds 64 jobs per worker. A job is a path, or an S3 object whose bytes stay
//!   counted against the S3 source's fetch budget until a worker drops them, so the depth costs no
//!   unbounded memory; a shallow queue made the workers wait on the lister and switch threads
//!   tens of thousands of times per scan (measured: 15–25% of wall time on a 1.2 GB archive).
//! - Each **worker** reads one file whole, decompresses it into a buffer it reuses
//!   ([`Decompressor`], capped at [`ScanConfig::max_file_bytes`]), reads its records with
//!   [`LogReader`] (one serde_json pass per record, which validates it), drops those outside the
//!   [`TimeWindow`], writes each record's envelope into a reused buffer and matches it with
//!   [`Matcher::matches_trusted_with`](trailbell_pattern::Matcher::matches_trusted_with): the JSON was just validated, so the matcher skips what no
//!   rule reads. The envelope's `detail` holds only the fields the rules and their exceptions name
//!   ([`DetailFields`], captured raw in the same serde_json pass), and its `id` (a SHA-1) is computed
//!   only if a rule reads it: the same answers, with less for the matcher to skip. Only a matching
//!   event is read again, to summarize it for the alert.
//! - **Passing over.** A record that lacks the text every rule needs ([`RecordFilter`]:
//!   `"ConsoleLogin"` and `"Root"` for a root sign-in rule, one multi-string SIMD search over its
//!   bytes) cannot match: it is validated (by serde_json's cheapest pass; with a time window, by
//!   one that keeps its `eventTime`) and counted in [`Stats::passed_over`], and nothing more is
//!   done with it.
//!   On a trail most records are passed over for a pack of targeted rules. A record holding an
//!   escape (`\u`) is always read, since the text may be spelled otherwise.
//! - The **collector** (the thread that called [`scan`]) deduplicates matching events on their
//!   `eventID`, aggregates the per-rule summaries and hands alerts, problems and progress to an
//!   [`Observer`].
//!
//! Memory is bounded whatever the archive's size: at most `threads` local files are held, each once
//! compressed and once decompressed (so at most `threads × (stored size + max_file_bytes)`), plus
//! 1,024 alerts in flight, the deduplication set, and for S3 the source's fetch budget.
//!
//! # Deduplication
//!
//! Trails may deliver an event twice. Each matching event's envelope id (a UUID derived from its
//! `eventID`, see [`envelope_id`](crate::cloudtrail::envelope_id)) is kept in a hash set, and an
//! event whose id was seen is dropped before it is reported. Only matching events are kept, so
//! the set grows with the alerts, never with the archive: 16 bytes an event plus the hash table's
//! overhead, about 40 MB for a million matching events. Events without an `eventID` are never
//! deduplicated. Non-matching duplicates are still counted in [`Stats::records`].
//!
//! # Thresholds
//!
//! A rule with a `[threshold]` fires as the service's would: over the events' own times, per key,
//! on the match that reaches the count. Its matches are held by the collector and decided once
//! every file is read (`threshold.rs`), so its alerts come last. Exceptions apply as for any
//! rule; dedup windows are the service's business and are not applied by a scan.
//!
//! # Repeated keys
//!
//! [`Matcher::matches_trusted_with`](trailbell_pattern::Matcher::matches_trusted_with) requires JSON without repeated keys; serde_json's validation
//! does not check for them. CloudTrail writes records with a JSON library and never repeats a
//! key, so this only matters for hand-made files: there, a record with a repeated key may match
//! as if its first occurrence counted, where EventBridge and `trailbell match` take the last.
//! Matching never panics either way. Checking every record for repeated keys would cost a second
//! full parse. Likewise serde_json checks the UTF-8 of the strings it reads, not of those it
//! skips; the matcher treats a string that is not UTF-8 as empty.
//!
//! # Problems
//!
//! Bad input never stops a scan (unless [`ScanConfig::strict`]): a file that cannot be read,
//! decompressed or parsed, a file that is not CloudTrail, a record over EventBridge's 256 KB
//! limit: each is a [`Problem`] naming the file and the reason, counted in [`Stats`].

mod alert;
mod report;
mod threshold;
mod worker;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

/// How far the lister may run ahead of the workers, in jobs per worker (see the module docs).
const JOBS_PER_WORKER: usize = 64;
use trailbell_pattern::RuleId;

pub use crate::sources::{TimeWindow, WindowError, layout_day};
pub use alert::EventSummary;
pub use report::{Format, Report};

use crate::cloudtrail::{Decompressor, DetailFields, RecordFilter};
use crate::rules::CompiledRules;
use crate::sources::{Input, SourceError};
use worker::{Job, Message, Worker};

/// The default cap on the decompressed size of one file: 2 GiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 2 << 30;

/// How many alerts may wait between the workers and the collector.
const MESSAGES_IN_FLIGHT: usize = 1024;

/// How often the observer hears about progress.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How a scan runs.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Events outside it are not matched.
    pub window: TimeWindow,
    /// Worker threads; at least one.
    pub threads: usize,
    /// Stop at the first problem.
    pub strict: bool,
    /// The largest a file may decompress to, and the largest one value of a stream may be.
    pub max_file_bytes: u64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            window: TimeWindow::all(),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            strict: false,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Something a scan skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A file, or the rest of it from the point where reading failed, was skipped.
    #[error("skipped {name}: {reason}")]
    File {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
    /// One value of a file was skipped; the rest of the file was read.
    #[error("skipped a value of {name} at byte {offset}: {reason}")]
    Record {
        /// The file.
        name: String,
        /// Where the value starts in the (decompressed) file.
        offset: u64,
        /// Why.
        reason: String,
    },
    /// More values of a file were skipped than are listed one by one.
    #[error("skipped {count} more values of {name}")]
    MoreRecords {
        /// The file.
        name: String,
        /// How many.
        count: u64,
    },
}

impl From<SourceError> for Problem {
    fn from(err: SourceError) -> Problem {
        Problem::File {
            name: err.name,
            reason: err.reason,
        }
    }
}

/// Counters of a scan, updated as it runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files listed so far.
    pub files_listed: AtomicU64,
    /// Their stored size, as far as known.
    pub bytes_listed: AtomicU64,
    /// Files read (or given up on).
    pub files_done: AtomicU64,
    /// Stored bytes read.
    pub bytes_read: AtomicU64,
    /// Bytes after decompression.
    pub bytes_inflated: AtomicU64,
    /// Records and envelopes read.
    pub records: AtomicU64,
    /// Of those, the events matched against the rules (in the window, not skipped).
    pub events: AtomicU64,
    /// Records outside the time window.
    pub outside_window: AtomicU64,
    /// Records left out of a time window because their time could not be read.
    pub untimed: AtomicU64,
    /// Matches silenced by their rule's exceptions.
    pub excepted: AtomicU64,
    /// Events no rule could match, by the text every match needs ([`RecordFilter`]): counted in
    /// `records` and, in the window, `events`; validated but not read.
    pub passed_over: AtomicU64,
    /// Counts of [`Warnings`](crate::cloudtrail::Warnings), in its field order.
    pub warnings: [AtomicU64; 5],
}

/// A snapshot of [`Progress`] and what only the collector counts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Files listed.
    pub files: u64,
    /// Files read (or given up on).
    pub files_done: u64,
    /// Stored bytes listed, as far as known.
    pub bytes_listed: u64,
    /// Stored bytes read.
    pub bytes: u64,
    /// Bytes after decompression.
    pub bytes_inflated: u64,
    /// Records and envelopes read.
    pub records: u64,
    /// Events matched against the rules (those passed over included).
    pub events: u64,
    /// Of those, the events no rule could match by the text every match needs
    /// ([`RecordFilter`]): validated as JSON, only their `eventTime` read (for the window), so
    /// the warnings below count only the others.
    pub passed_over: u64,
    /// Records outside the time window.
    pub outside_window: u64,
    /// Records left out of a time window because their time could not be read.
    pub untimed: u64,
    /// Alerts reported (one per rule and event).
    pub alerts: u64,
    /// Matches silenced by their rule's exceptions (counted before deduplication).
    pub excepted: u64,
    /// Matching events dropped as duplicates of one already reported.
    pub duplicates: u64,
    /// Files skipped whole or in part.
    pub skipped_files: u64,
    /// Values skipped.
    pub skipped_records: u64,
    /// Records with no `eventSource`.
    pub no_source: u64,
    /// Records with no known `eventType`.
    pub no_detail_type: u64,
    /// Records with no `eventTime`.
    pub no_time: u64,
    /// Records with an `eventTime` that is not a time.
    pub odd_time: u64,
    /// Records with no `eventID`.
    pub no_event_id: u64,
    /// Seconds since the scan started.
    pub elapsed_secs: f64,
}

impl Stats {
    /// Whether anything was skipped.
    pub fn skipped_anything(&self) -> bool {
        self.skipped_files > 0 || self.skipped_records > 0
    }
}

impl Progress {
    fn snapshot(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            files: get(&self.files_listed),
            files_done: get(&self.files_done),
            bytes_listed: get(&self.bytes_listed),
            bytes: get(&self.bytes_read),
            bytes_inflated: get(&self.bytes_inflated),
            records: get(&self.records),
            events: get(&self.events),
            outside_window: get(&self.outside_window),
            untimed: get(&self.untimed),
            excepted: get(&self.excepted),
            passed_over: get(&self.passed_over),
            no_source: get(&self.warnings[0]),
            no_detail_type: get(&self.warnings[1]),
            no_time: get(&self.warnings[2]),
            odd_time: get(&self.warnings[3]),
            no_event_id: get(&self.warnings[4]),
            ..Stats::default()
        }
    }
}

/// One rule's alerts, aggregated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSummary {
    /// The rule.
    pub rule: RuleId,
    /// How many events it matched (after deduplication).
    pub count: u64,
    /// The earliest event time among them (normalized times compare as text).
    pub first_seen: String,
    /// The latest.
    pub last_seen: String,
}

/// What a scan did.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanOutcome {
    /// The counters.
    pub stats: Stats,
    /// Per rule that matched anything, in rule order.
    pub rules: Vec<RuleSummary>,
    /// Whether the scan stopped at a problem ([`ScanConfig::strict`]).
    pub stopped: bool,
}

/// Hears what a scan finds, on the thread that called [`scan`].
pub trait Observer {
    /// A rule matched an event (reported once per rule and event, after deduplication). An error
    /// (a closed output) stops the scan.
    fn alert(&mut self, rule: RuleId, event: &EventSummary) -> io::Result<()>;
    /// Something was skipped.
    fn problem(&mut self, problem: &Problem);
    /// About ten times a second.
    fn progress(&mut self, stats: &Stats) {
        let _ = stats;
    }
}

/// Runs `rules` over every event of `inputs`; see the module documentation. A match that one of
/// its rule's exceptions covers is not an alert (counted in [`Stats::excepted`]).
///
/// Fails only when the observer fails (its output closed); everything wrong with the input is a
/// [`Problem`].
pub fn scan(
    inputs: Vec<Input>,
    rules: &CompiledRules,
    config: &ScanConfig,
    observer: &mut dyn Observer,
) -> io::Result<ScanOutcome> {
    let started = Instant::now();
    let matcher = rules.matcher();
    let patterns = rules.rules().iter().map(|rule| rule.event_pattern.as_str());
    let filter = RecordFilter::for_patterns(patterns.clone()).map(Arc::new);
    // Records are matched with only the `detail` fields the rules and their exceptions read: the
    // same answers, faster.
    let exceptions = rules.rules().iter().flat_map(|rule| {
        rule.noise
            .exceptions
            .iter()
            .map(|exception| exception.event_pattern.as_str())
    });
    let detail_fields = DetailFields::from_patterns(patterns.chain(exceptions)).map(Arc::new);
    let threads = config.threads.max(1);
    let progress = Progress::default();
    let cancel = AtomicBool::new(false);
    let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(JOBS_PER_WORKER * threads);
    let (message_tx, message_rx) = crossbeam_channel::bounded::<Message>(MESSAGES_IN_FLIGHT);

    let collected = std::thread::scope(|scope| {
        let lister_messages = message_tx.clone();
        let (progress, cancel) = (&progress, &cancel);
        scope.spawn(move || list(inputs, &job_tx, &lister_messages, progress, cancel));
        for _ in 0..threads {
            let jobs = job_rx.clone();
            let messages = message_tx.clone();
            let (filter, detail_fields) = (filter.clone(), detail_fields.clone());
            scope.spawn(move || {
                let mut worker = Worker {
                    matcher,
                    rules,
                    cache: matcher.new_cache(),
                    ids: Vec::new(),
                    decompressor: Decompressor::new(config.max_file_bytes),
                    inflated: Vec::new(),
                    envelope: Vec::new(),
                    filter,
                    detail_fields,
                    config,
                    progress,
                    cancel,
                    messages,
                };
                worker.run(&jobs);
            });
        }
        drop(job_rx);
        drop(message_tx);
        let collected = collect(message_rx, rules, config, observer, progress);
        if collected.as_ref().map_or(true, |c| c.stopped) {
            cancel.store(true, Ordering::Relaxed);
        }
        collected
    })?;

    let mut stats = progress.snapshot();
    stats.alerts = collected.alerts;
    stats.duplicates = collected.duplicates;
    stats.skipped_files = collected.skipped_files;
    stats.skipped_records = collected.skipped_records;
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(ScanOutcome {
        stats,
        rules: collected.rules.into_values().collect(),
        stopped: collected.stopped,
    })
}

/// The lister: expands every input and sends the objects to the workers.
fn list(
    inputs: Vec<Input>,
    jobs: &crossbeam_channel::Sender<Job>,
    messages: &crossbeam_channel::Sender<Message>,
    progress: &Progress,
    cancel: &AtomicBool,
) {
    for input in inputs {
        let objects = match input {
            Input::Stdin => {
                progress.files_listed.fetch_add(1, Ordering::Relaxed);
                if jobs.send(Job::Stdin).is_err() {
                    return;
                }
                continue;
            }
            Input::Objects(objects) => objects,
        };
        for object in objects {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let sent = match object {
                Ok(object) => {
                    progress.files_listed.fetch_add(1, Ordering::Relaxed);
                    if let Some(size) = object.size() {
                        progress.bytes_listed.fetch_add(size, Ordering::Relaxed);
                    }
                    jobs.send(Job::Object(object)).is_ok()
                }
                Err(err) => messages.send(Message::Problem(err.into())).is_ok(),
            };
            if !sent {
                return;
            }
        }
    }
}

/// What the collector counted.
struct Collected {
    alerts: u64,
    duplicates: u64,
    skipped_files: u64,
    skipped_records: u64,
    rules: BTreeMap<RuleId, RuleSummary>,
    stopped: bool,
}

/// A hasher for keys that are already uniformly random (UUIDs from SHA-1): their low 64 bits.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

fn collect(
    messages: crossbeam_channel::Receiver<Message>,
    rules: &CompiledRules,
    config: &ScanConfig,
    observer: &mut dyn Observer,
    progress: &Progress,
) -> io::Result<Collected> {
    let mut seen: HashSet<u128, BuildHasherDefault<PassThrough>> = HashSet::default();
    let mut collected = Collected {
        alerts: 0,
        duplicates: 0,
        skipped_files: 0,
        skipped_records: 0,
        rules: BTreeMap::new(),
        stopped: false,
    };
    let mut held = threshold::Held::default();
    let mut last_progress = Instant::now();
    loop {
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            observer.progress(&progress.snapshot());
            last_progress = Instant::now();
        }
        let message = match messages.recv_timeout(PROGRESS_INTERVAL) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match message {
            Message::Hit(hit) => {
                if let Some(key) = hit.key
                    && !seen.insert(key)
                {
                    collected.duplicates += 1;
                    continue;
                }
                for &rule in &hit.rules {
                    if let Some((_, key)) = hit.threshold_keys.iter().find(|(id, _)| *id == rule) {
                        // Decided once every file is read (see `threshold.rs`).
                        if let Err(event) = held.push(rule, key.clone(), hit.event.clone()) {
                            let problem = untimed(rules, rule, &event);
                            collected.skipped_records += 1;
                            observer.problem(&problem);
                        }
                        continue;
                    }
                    alert(&mut collected, observer, rule, &hit.event)?;
                }
            }
            Message::Problem(problem) => {
                match &problem {
                    Problem::File { .. } => collected.skipped_files += 1,
                    Problem::Record { .. } => collected.skipped_records += 1,
                    Problem::MoreRecords { count, .. } => collected.skipped_records += count,
                }
                observer.problem(&problem);
                if config.strict {
                    collected.stopped = true;
                    break;
                }
            }
        }
    }
    if !collected.stopped {
        for (rule, event) in held.fired(rules) {
            alert(&mut collected, observer, rule, &event)?;
        }
    }
    observer.progress(&progress.snapshot());
    Ok(collected)
}

/// One alert: counted in its rule's summary and handed to the observer.
fn alert(
    collected: &mut Collected,
    observer: &mut dyn Observer,
    rule: RuleId,
    event: &EventSummary,
) -> io::Result<()> {
    let time = &event.time;
    let summary = collected.rules.entry(rule).or_insert_with(|| RuleSummary {
        rule,
        count: 0,
        first_seen: time.clone(),
        last_seen: time.clone(),
    });
    summary.count += 1;
    if *time < summary.first_seen {
        summary.first_seen.clone_from(time);
    }
    if *time > summary.last_seen {
        summary.last_seen.clone_from(time);
    }
    collected.alerts += 1;
    observer.alert(rule, event)
}

/// A threshold rule matched an event whose time cannot be read: it cannot be counted in a window.
fn untimed(rules: &CompiledRules, rule: RuleId, event: &EventSummary) -> Problem {
    Problem::File {
        name: event.file.clone(),
        reason: format!(
            "event {:?} matched the threshold rule {} but has no readable eventTime, so it was not counted",
            event.event_id,
            rules.rule(rule).name
        ),
    }
}
