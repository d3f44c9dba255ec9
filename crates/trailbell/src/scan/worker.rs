//! A scan's worker thread: one file at a time, read, decompressed, parsed, matched.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use trailbell_pattern::{Cache, Matcher, RuleId};

use super::{EventSummary, Problem, Progress, ScanConfig};
use crate::cloudtrail::{
    Decompressor, DetailFields, Item, LogReader, MAX_EVENT_BYTES, ReadError, RecordFields,
    RecordFilter, Step, Warnings, envelope_id, gzip_error, is_gzip, item_of, normalize_time,
    record_id, stream_decoder, write_envelope, write_projected_envelope,
};
use crate::rules::CompiledRules;
use crate::sources::ArchiveObject;

/// The name standard input goes by in messages.
pub(crate) const STDIN_NAME: &str = "standard input";

/// How many skipped values of one file are reported one by one.
const LISTED_PROBLEMS_PER_FILE: u64 = 3;

/// How much of a stream is read at a time.
const STREAM_CHUNK_BYTES: usize = 1 << 20;

/// Work for a worker.
pub(crate) enum Job {
    Object(Box<dyn ArchiveObject>),
    Stdin,
}

/// What a worker tells the collector.
pub(crate) enum Message {
    Hit(Box<Hit>),
    Problem(Problem),
}

/// An event that matched at least one rule.
pub(crate) struct Hit {
    /// The deduplication key (the envelope id), when the event has an `eventID`.
    pub(crate) key: Option<u128>,
    pub(crate) rules: Vec<RuleId>,
    pub(crate) event: EventSummary,
    /// For each matched rule with a threshold: its key for this event (see `threshold.rs`).
    pub(crate) threshold_keys: Vec<(RuleId, String)>,
}

/// The collector has gone (it stopped at a problem, or its output closed), or the scan was
/// cancelled: stop.
struct Stop;

pub(crate) struct Worker<'s> {
    pub(crate) matcher: &'s Matcher,
    /// The rules behind `matcher`, for their exceptions.
    pub(crate) rules: &'s CompiledRules,
    pub(crate) cache: Cache,
    pub(crate) ids: Vec<RuleId>,
    pub(crate) decompressor: Decompressor,
    pub(crate) inflated: Vec<u8>,
    pub(crate) envelope: Vec<u8>,
    /// Passes over records no rule can match ([`LogReader::pass_over`]).
    pub(crate) filter: Option<Arc<RecordFilter>>,
    /// The `detail` fields the rules and their exceptions read: a record's envelope holds only
    /// those ([`LogReader::project`]); `None` matches whole envelopes.
    pub(crate) detail_fields: Option<Arc<DetailFields>>,
    pub(crate) config: &'s ScanConfig,
    pub(crate) progress: &'s Progress,
    pub(crate) cancel: &'s AtomicBool,
    pub(crate) messages: Sender<Message>,
}

/// What one file has given so far.
#[derive(Default)]
struct FileState {
    name: String,
    /// Records and envelopes read (whether or not in the window).
    good: u64,
    /// Values that were not CloudTrail, held back while nothing in the file was: if nothing ever
    /// is, the file is reported as not CloudTrail rather than value by value.
    pending_other: Vec<u64>,
    /// Values skipped so far, listed or not.
    skipped: u64,
    records: u64,
    events: u64,
    outside_window: u64,
    untimed: u64,
    /// Matches silenced by their rule's exceptions.
    excepted: u64,
    passed_over: u64,
    warnings: [u64; 5],
}

impl Worker<'_> {
    pub(crate) fn run(&mut self, jobs: &Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            if self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let result = match job {
                Job::Object(object) => self.object(object),
                Job::Stdin => self.stdin(),
            };
            self.progress.files_done.fetch_add(1, Ordering::Relaxed);
            if result.is_err() {
                return;
            }
        }
    }

    fn object(&mut self, object: Box<dyn ArchiveObject>) -> Result<(), Stop> {
        let mut file = FileState {
            name: object.name(),
            ..FileState::default()
        };
        let data = match object.read() {
            Ok(data) => data,
            Err(err) => return self.send(Message::Problem(err.into())),
        };
        self.progress
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let mut inflated = std::mem::take(&mut self.inflated);
        let result = self.data(&mut file, &data, &mut inflated);
        self.inflated = inflated;
        result
    }

    /// A whole file's bytes, compressed or not.
    fn data(
        &mut self,
        file: &mut FileState,
        data: &[u8],
        inflated: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        let text = if is_gzip(data) {
            match self.decompressor.decompress(data, inflated) {
                Ok(text) => text,
                Err(err) => return self.file_problem(file, err.to_string()),
            }
        } else {
            data
        };
        self.progress
            .bytes_inflated
            .fetch_add(text.len() as u64, Ordering::Relaxed);
        let (mut reader, mut pos) = (LogReader::new(), 0);
        reader.project(self.detail_fields.clone());
        reader.pass_over(self.filter.clone(), !self.config.window.is_all());
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(Stop);
            }
            match reader.next(text, &mut pos, true) {
                Ok(Step::Value {
                    offset,
                    raw,
                    item,
                    in_records,
                }) => self.value(file, offset as u64, raw, item, in_records)?,
                Ok(Step::PassedOver { time, .. }) => self.passed_over(file, time.as_deref())?,
                Ok(Step::End | Step::NeedMore) => break,
                Err(err) => return self.read_failed(file, err),
            }
        }
        self.finish(file)
    }

    /// Standard input, as a stream: gzip or not, in chunks, in bounded memory.
    fn stdin(&mut self) -> Result<(), Stop> {
        let mut file = FileState {
            name: STDIN_NAME.to_owned(),
            ..FileState::default()
        };
        let mut input = BufReader::with_capacity(STREAM_CHUNK_BYTES, io::stdin().lock());
        let gzip = match input.fill_buf() {
            Ok(head) => is_gzip(head),
            Err(err) => return self.file_problem(&mut file, format!("failed to read: {err}")),
        };
        if gzip {
            self.stream(&mut file, &mut stream_decoder(input), true)
        } else {
            self.stream(&mut file, &mut input, false)
        }
    }

    fn stream(
        &mut self,
        file: &mut FileState,
        input: &mut dyn Read,
        gzip: bool,
    ) -> Result<(), Stop> {
        let (mut reader, mut buf) = (LogReader::new(), Vec::with_capacity(STREAM_CHUNK_BYTES));
        reader.project(self.detail_fields.clone());
        reader.pass_over(self.filter.clone(), !self.config.window.is_all());
        let (mut base, mut pos, mut eof) = (0u64, 0usize, false);
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(Stop);
            }
            match reader.next(&buf, &mut pos, eof) {
                Ok(Step::Value {
                    offset,
                    raw,
                    item,
                    in_records,
                }) => self.value(file, base + offset as u64, raw, item, in_records)?,
                Ok(Step::PassedOver { time, .. }) => self.passed_over(file, time.as_deref())?,
                Ok(Step::End) => break,
                Ok(Step::NeedMore) => {
                    buf.drain(..pos);
                    base += pos as u64;
                    pos = 0;
                    if buf.len() as u64 >= self.config.max_file_bytes {
                        let reason = format!(
                            "a value at byte {base} is larger than {} bytes, the limit",
                            self.config.max_file_bytes
                        );
                        return self.file_problem(file, reason);
                    }
                    let before = buf.len();
                    let read = input.take(STREAM_CHUNK_BYTES as u64).read_to_end(&mut buf);
                    let count = buf.len() - before;
                    self.progress
                        .bytes_read
                        .fetch_add(count as u64, Ordering::Relaxed);
                    self.progress
                        .bytes_inflated
                        .fetch_add(count as u64, Ordering::Relaxed);
                    match read {
                        Ok(0) => eof = true,
                        Ok(_) => {}
                        Err(err) => {
                            let reason = if gzip {
                                gzip_error(&err).to_string()
                            } else {
                                format!("failed to read: {err}")
                            };
                            return self.file_problem(file, reason);
                        }
                    }
                    // A stream may be long: count what it has given so far.
                    self.flush_counters(file);
                }
                Err(err) => return self.read_failed(file, err.shifted(base)),
            }
        }
        self.finish(file)
    }

    fn value(
        &mut self,
        file: &mut FileState,
        offset: u64,
        raw: &[u8],
        item: Item<'_>,
        in_records: bool,
    ) -> Result<(), Stop> {
        match item {
            Item::Record(fields) => self.record(file, offset, raw, &fields),
            Item::Envelope {
                detail,
                id: _,
                time,
            } => self.envelope(file, offset, raw, &detail, time.as_deref()),
            Item::Records(records) if !in_records => {
                let start = raw.as_ptr() as usize;
                for record in records {
                    let text = record.get();
                    let at = offset + (text.as_ptr() as usize - start) as u64;
                    match item_of(text) {
                        Ok(Item::Record(fields)) => {
                            self.record(file, at, text.as_bytes(), &fields)?
                        }
                        Ok(Item::Envelope {
                            detail,
                            id: _,
                            time,
                        }) => {
                            self.envelope(file, at, text.as_bytes(), &detail, time.as_deref())?;
                        }
                        _ => self.other(file, at)?,
                    }
                }
                Ok(())
            }
            Item::Records(_) | Item::Other => self.other(file, offset),
        }
    }

    /// A CloudTrail record: to its envelope, matched.
    fn record(
        &mut self,
        file: &mut FileState,
        offset: u64,
        raw: &[u8],
        fields: &RecordFields<'_>,
    ) -> Result<(), Stop> {
        self.good(file)?;
        file.records += 1;
        let time = fields.event_time.as_deref().and_then(normalize_time);
        if !self.in_window(file, time.as_deref()) {
            return Ok(());
        }
        let mut envelope = std::mem::take(&mut self.envelope);
        let whole_len = match &self.detail_fields {
            Some(names) => {
                let id = names.reads_id().then(|| match fields.event_id.as_deref() {
                    Some(event_id) => envelope_id(event_id),
                    None => record_id(raw),
                });
                let (_, warnings, whole_len) =
                    write_projected_envelope(fields, names, id, raw.len(), &mut envelope);
                count_warnings(file, warnings);
                whole_len
            }
            None => {
                let info = write_envelope(fields, raw, &mut envelope);
                count_warnings(file, info.warnings);
                envelope.len()
            }
        };
        let matched = self.event(file, offset, &envelope, whole_len);
        let readable = match matched {
            Ok(true) => {
                if self.detail_fields.is_some() {
                    // The door reads the whole envelope, not the fields the rules read.
                    write_envelope(fields, raw, &mut envelope);
                }
                crate::event::read(&envelope).map(drop)
            }
            _ => Ok(()),
        };
        self.envelope = envelope;
        if !matched? {
            return Ok(());
        }
        if let Err(err) = readable {
            // Where in the record: the envelope holds it whole, just before its last byte.
            let head = self.envelope.len().saturating_sub(raw.len() + 1);
            return self.unreadable(file, offset, err.offset().saturating_sub(head), &err);
        }
        let time = time.as_deref().or(fields.event_time.as_deref());
        let threshold_keys = self.threshold_keys(|out| {
            write_envelope(fields, raw, out);
        });
        let hit = Hit {
            key: fields
                .event_id
                .as_deref()
                .map(|event_id| envelope_id(event_id).0),
            rules: std::mem::take(&mut self.ids),
            event: EventSummary::of_record(raw, time.unwrap_or_default(), &file.name),
            threshold_keys,
        };
        self.send(Message::Hit(Box::new(hit)))
    }

    /// A record no rule can match, with its `eventTime`: counted as matched when in the window.
    fn passed_over(&mut self, file: &mut FileState, time: Option<&str>) -> Result<(), Stop> {
        self.good(file)?;
        file.records += 1;
        let time = time.and_then(normalize_time);
        if !self.in_window(file, time.as_deref()) {
            return Ok(());
        }
        file.events += 1;
        file.passed_over += 1;
        Ok(())
    }

    /// An EventBridge envelope: matched as it is.
    fn envelope(
        &mut self,
        file: &mut FileState,
        offset: u64,
        raw: &[u8],
        detail: &RecordFields<'_>,
        envelope_time: Option<&str>,
    ) -> Result<(), Stop> {
        self.good(file)?;
        file.records += 1;
        let time = detail
            .event_time
            .as_deref()
            .or(envelope_time)
            .and_then(normalize_time);
        if !self.in_window(file, time.as_deref()) {
            return Ok(());
        }
        if !self.event(file, offset, raw, raw.len())? {
            return Ok(());
        }
        if let Err(err) = crate::event::read(raw) {
            return self.unreadable(file, offset, err.offset(), &err);
        }
        let key = match detail.event_id.as_deref() {
            Some(event_id) => envelope_id(event_id).0,
            None => record_id(raw).0,
        };
        let time = time.as_deref().or(envelope_time).unwrap_or_default();
        let threshold_keys = self.threshold_keys(|out| out.extend_from_slice(raw));
        let hit = Hit {
            key: Some(key),
            rules: std::mem::take(&mut self.ids),
            event: EventSummary::of_envelope(raw, time, &file.name),
            threshold_keys,
        };
        self.send(Message::Hit(Box::new(hit)))
    }

    /// The threshold key of each matched rule that has a threshold, rendered over the whole
    /// envelope (`write` writes it) as the service renders it. Only such matches pay for the
    /// envelope's parse.
    fn threshold_keys(&self, write: impl FnOnce(&mut Vec<u8>)) -> Vec<(RuleId, String)> {
        let counted: Vec<RuleId> = self
            .ids
            .iter()
            .copied()
            .filter(|&id| self.rules.rule(id).noise.threshold.is_some())
            .collect();
        if counted.is_empty() {
            return Vec::new();
        }
        let mut whole = Vec::new();
        write(&mut whole);
        // The matcher has read this envelope, so it is JSON; `Null` renders empty keys if not.
        let event: serde_json::Value = serde_json::from_slice(&whole).unwrap_or_default();
        counted
            .into_iter()
            .map(|id| {
                let key = super::threshold::key(&self.rules.rule(id).noise, &event);
                (id, key)
            })
            .collect()
    }

    /// Whether an event at `time` is in the window; counts it when it is not.
    fn in_window(&self, file: &mut FileState, time: Option<&str>) -> bool {
        if self.config.window.is_all() {
            return true;
        }
        match time {
            Some(time) if self.config.window.contains(time) => true,
            Some(_) => {
                file.outside_window += 1;
                false
            }
            None => {
                file.untimed += 1;
                false
            }
        }
    }

    /// Matches an event's envelope: whether any rule matched (their ids in `self.ids`).
    /// `whole_len` is the length of the whole envelope (`envelope` may hold only the fields the
    /// rules read).
    fn event(
        &mut self,
        file: &mut FileState,
        offset: u64,
        envelope: &[u8],
        whole_len: usize,
    ) -> Result<bool, Stop> {
        if whole_len > MAX_EVENT_BYTES {
            let reason = format!(
                "the event is {whole_len} bytes, over EventBridge's limit of {MAX_EVENT_BYTES} (256 KB): EventBridge would not deliver it"
            );
            self.value_problem(file, offset, reason)?;
            return Ok(false);
        }
        file.events += 1;
        if let Err(err) =
            self.matcher
                .matches_trusted_with(&mut self.cache, envelope, &mut self.ids)
        {
            self.value_problem(file, offset, err.to_string())?;
            return Ok(false);
        }
        if !self.ids.is_empty() {
            // As `trailbell run` does: an exception of the rule silences its alert. The envelope
            // holds the fields the exceptions read (they are part of `detail_fields`).
            let before = self.ids.len();
            let rules = self.rules;
            self.ids
                .retain(|&id| rules.suppressed_by(id, envelope).is_none());
            file.excepted += (before - self.ids.len()) as u64;
        }
        Ok(!self.ids.is_empty())
    }

    /// A value that is a record or an envelope: anything held back as not CloudTrail is a skipped
    /// value after all.
    fn good(&mut self, file: &mut FileState) -> Result<(), Stop> {
        file.good += 1;
        if file.pending_other.is_empty() {
            return Ok(());
        }
        for offset in std::mem::take(&mut file.pending_other) {
            self.value_problem(file, offset, NOT_CLOUDTRAIL.to_owned())?;
        }
        Ok(())
    }

    /// A value that is neither a record nor an envelope.
    fn other(&mut self, file: &mut FileState, offset: u64) -> Result<(), Stop> {
        if file.good > 0 {
            return self.value_problem(file, offset, NOT_CLOUDTRAIL.to_owned());
        }
        if self.config.strict {
            return self.file_problem(file, NOT_CLOUDTRAIL_FILE.to_owned());
        }
        file.pending_other.push(offset);
        Ok(())
    }

    /// A matching event that `trailbell run` would refuse at its door (decision 0016): a problem
    /// here too, so that a file gives the same alerts to both. `within` is where in the value
    /// (at `offset` in the file) the reading stopped.
    fn unreadable(
        &mut self,
        file: &mut FileState,
        offset: u64,
        within: usize,
        err: &crate::event::Unreadable,
    ) -> Result<(), Stop> {
        self.ids.clear();
        let at = offset.saturating_add(within as u64);
        self.value_problem(
            file,
            offset,
            format!(
                "the event cannot be read, trailbell run refuses it: {} at byte {at}",
                err.reason()
            ),
        )
    }

    fn value_problem(
        &mut self,
        file: &mut FileState,
        offset: u64,
        reason: String,
    ) -> Result<(), Stop> {
        file.skipped += 1;
        if file.skipped > LISTED_PROBLEMS_PER_FILE {
            return Ok(());
        }
        self.send(Message::Problem(Problem::Record {
            name: file.name.clone(),
            offset,
            reason,
        }))
    }

    /// Reading the file's text failed at some point.
    fn read_failed(&mut self, file: &mut FileState, err: ReadError) -> Result<(), Stop> {
        let reason = if file.good > 0 {
            let (plural, verb) = if file.good == 1 {
                ("", "was")
            } else {
                ("s", "were")
            };
            format!(
                "{err} (the {} value{plural} before it {verb} scanned)",
                file.good
            )
        } else {
            err.to_string()
        };
        file.pending_other.clear();
        self.file_problem(file, reason)
    }

    /// The end of a file: report what was held back, count.
    fn finish(&mut self, file: &mut FileState) -> Result<(), Stop> {
        if file.good == 0 {
            if !file.pending_other.is_empty() {
                file.pending_other.clear();
                return self.file_problem(file, NOT_CLOUDTRAIL_FILE.to_owned());
            }
            if file.skipped == 0 {
                return self.file_problem(file, "empty: no JSON value in the file".to_owned());
            }
        }
        self.flush_counters(file);
        if file.skipped > LISTED_PROBLEMS_PER_FILE {
            self.send(Message::Problem(Problem::MoreRecords {
                name: file.name.clone(),
                count: file.skipped - LISTED_PROBLEMS_PER_FILE,
            }))?;
        }
        Ok(())
    }

    fn file_problem(&mut self, file: &mut FileState, reason: String) -> Result<(), Stop> {
        self.flush_counters(file);
        self.send(Message::Problem(Problem::File {
            name: file.name.clone(),
            reason,
        }))
    }

    fn flush_counters(&self, file: &mut FileState) {
        let add = |counter: &AtomicU64, value: &mut u64| {
            if *value > 0 {
                counter.fetch_add(*value, Ordering::Relaxed);
                *value = 0;
            }
        };
        add(&self.progress.records, &mut file.records);
        add(&self.progress.events, &mut file.events);
        add(&self.progress.outside_window, &mut file.outside_window);
        add(&self.progress.untimed, &mut file.untimed);
        add(&self.progress.excepted, &mut file.excepted);
        add(&self.progress.passed_over, &mut file.passed_over);
        for (counter, value) in self.progress.warnings.iter().zip(file.warnings.iter_mut()) {
            add(counter, value);
        }
    }

    fn send(&self, message: Message) -> Result<(), Stop> {
        self.messages.send(message).map_err(|_| Stop)
    }
}

const NOT_CLOUDTRAIL: &str = "not a CloudTrail record or EventBridge event";
const NOT_CLOUDTRAIL_FILE: &str = "not CloudTrail: no CloudTrail log file ({\"Records\": [...]}), record or EventBridge event in it";

fn count_warnings(file: &mut FileState, warnings: Warnings) {
    let flags = [
        warnings.no_source,
        warnings.no_detail_type,
        warnings.no_time,
        warnings.odd_time,
        warnings.no_event_id,
    ];
    for (count, flag) in file.warnings.iter_mut().zip(flags) {
        *count += u64::from(flag);
    }
}
