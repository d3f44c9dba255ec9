//! Running one rule set on both engines: build, a verification pass, timed passes, comparison.

use std::hint::black_box;
use std::time::{Duration, Instant};

use trailbell_pattern::ReferenceMatcher;

use crate::corpus::Corpus;
use crate::engines::{Engine, Failure, Quamina, Trailbell, TrailbellTrusted, guarded};
use crate::rules::RuleSet;

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Events per corpus.
    pub events: usize,
    /// Timed passes after the verification pass.
    pub passes: usize,
    /// Time allowed per engine per set for matching (verification and timed passes together).
    pub budget: Duration,
    /// Data and rule seed.
    pub seed: u64,
    /// Measure the compiled size of the big sets in child processes.
    pub rss: bool,
    /// Run trailbell.
    pub trailbell: bool,
    /// Run trailbell's trusted mode.
    pub trusted: bool,
    /// Run quamina.
    pub quamina: bool,
    /// The ways events reach the engines in timed passes.
    pub arrivals: Vec<Arrival>,
}

/// What one engine did with one rule set.
#[derive(Clone, Debug, Default)]
pub struct EngineRun {
    /// Why it could not run, if it could not.
    pub failure: Option<Failure>,
    /// Time to compile the rules.
    pub build: Option<Duration>,
    /// Per event of the verification pass: number of matching rules and a digest of which.
    pub per_event: Vec<(u32, u64)>,
    /// Total matches over the verified events.
    pub matches: u64,
    /// True when the budget ran out before the verification pass saw every event.
    pub partial: bool,
    /// Throughput of each complete timed pass, events per second.
    pub pass_eps: Vec<f64>,
    /// The same for the timed passes in which events arrive just before they are matched.
    pub arrived_eps: Vec<f64>,
    /// Throughput of the verification pass (used when no timed pass completed).
    pub verify_eps: Option<f64>,
    /// Growth of the resident set when building this set alone in a fresh process, KiB.
    pub rss_kib: Option<Result<u64, String>>,
}

impl EngineRun {
    /// Events the verification pass matched.
    pub fn events(&self) -> usize {
        self.per_event.len()
    }

    /// Best throughput (fastest complete pass), events per second.
    pub fn best_eps(&self) -> Option<f64> {
        self.pass_eps
            .iter()
            .copied()
            .reduce(f64::max)
            .or(self.verify_eps)
    }

    /// Best throughput when events arrive just before they are matched, events per second.
    pub fn best_arrived_eps(&self) -> Option<f64> {
        self.arrived_eps.iter().copied().reduce(f64::max)
    }

    /// Median throughput, events per second.
    pub fn median_eps(&self) -> Option<f64> {
        if self.pass_eps.is_empty() {
            return self.verify_eps;
        }
        let mut v = self.pass_eps.clone();
        v.sort_by(f64::total_cmp);
        Some(v[v.len() / 2])
    }
}

/// Whether the engines found the same matches.
#[derive(Clone, Debug)]
pub enum Agreement {
    /// Same number of matches, and the same rules, on every event both engines saw.
    Agree {
        /// Events compared.
        events: usize,
    },
    /// They differ.
    Mismatch {
        /// Events compared.
        events: usize,
        /// Events on which they differ.
        differing: usize,
        /// The first such event, its matches in each engine and the reference matcher.
        detail: String,
    },
    /// One engine did not run.
    NotCompared,
}

/// Everything measured for one rule set.
#[derive(Clone, Debug)]
pub struct SetResult {
    /// Set name.
    pub name: String,
    /// Corpus name.
    pub corpus: &'static str,
    /// Number of rules.
    pub rules: usize,
    /// Events in the corpus.
    pub events: usize,
    /// Average event size.
    pub avg_event_bytes: usize,
    /// trailbell.
    pub trailbell: EngineRun,
    /// trailbell's trusted mode.
    pub trusted: EngineRun,
    /// quamina.
    pub quamina: EngineRun,
    /// trailbell against quamina.
    pub vs_quamina: Agreement,
    /// trailbell against its own trusted mode.
    pub vs_trusted: Agreement,
}

impl SetResult {
    /// trailbell events/s over quamina events/s (best passes).
    pub fn ratio(&self) -> Option<f64> {
        Some(self.trailbell.best_eps()? / self.quamina.best_eps()?)
    }

    /// The pairwise comparisons combined: any mismatch, else agreement if any pair was compared.
    pub fn agreement(&self) -> Agreement {
        combine(vec![self.vs_quamina.clone(), self.vs_trusted.clone()])
    }

    /// trailbell trusted-mode events/s over quamina events/s (best passes).
    pub fn trusted_ratio(&self) -> Option<f64> {
        Some(self.trusted.best_eps()? / self.quamina.best_eps()?)
    }

    /// trailbell over quamina when events arrive just before they are matched (best passes).
    pub fn arrived_ratio(&self) -> Option<f64> {
        Some(self.trailbell.best_arrived_eps()? / self.quamina.best_arrived_eps()?)
    }

    /// trusted over quamina when events arrive just before they are matched (best passes).
    pub fn trusted_arrived_ratio(&self) -> Option<f64> {
        Some(self.trusted.best_arrived_eps()? / self.quamina.best_arrived_eps()?)
    }
}

/// How a timed pass hands the events to an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Straight from the corpus, in order. The corpus (about 93 MB at 100,000 events) is far
    /// larger than the caches, so each event is read from memory by the engine itself: most of
    /// what it costs is then the wait for its first bytes, the same for every engine.
    InMemory,
    /// Copied, a batch of [`ARRIVAL_BATCH`] bytes at a time, into a buffer just before they are
    /// matched, as a socket read, a decompressor or a JSON parser leaves the events a matcher is
    /// given. Only the matching is timed.
    Arrived,
}

/// Bytes of events copied into the buffer at a time in an [`Arrival::Arrived`] pass: well
/// within the 1 MiB L2 cache of each core of the project's machine.
pub const ARRIVAL_BATCH: usize = 256 * 1024;

fn pass<E: Engine>(
    engine: &mut E,
    corpus: &Corpus,
    deadline: Instant,
) -> Result<Option<f64>, String> {
    let n = corpus.len();
    let start = Instant::now();
    let mut total = 0usize;
    for i in 0..n {
        if i % 64 == 0 && Instant::now() >= deadline {
            return Ok(None);
        }
        total += engine.count(black_box(corpus.get(i)))?;
    }
    black_box(total);
    Ok(Some(n as f64 / start.elapsed().as_secs_f64()))
}

/// A pass in which each batch of events is copied into `buffer` just before it is matched; the
/// copying is not timed.
fn arrived_pass<E: Engine>(
    engine: &mut E,
    corpus: &Corpus,
    deadline: Instant,
    buffer: &mut Vec<u8>,
) -> Result<Option<f64>, String> {
    let n = corpus.len();
    let mut matching = Duration::ZERO;
    let mut total = 0usize;
    let mut first = 0;
    while first < n {
        if Instant::now() >= deadline {
            return Ok(None);
        }
        let (end, bytes) = corpus.batch(first, ARRIVAL_BATCH);
        buffer.clear();
        buffer.extend_from_slice(bytes);
        let base = corpus.span(first).start;
        let start = Instant::now();
        for i in first..end {
            let span = corpus.span(i);
            total += engine.count(black_box(&buffer[span.start - base..span.end - base]))?;
        }
        matching += start.elapsed();
        first = end;
    }
    black_box(total);
    Ok(Some(n as f64 / matching.as_secs_f64()))
}

/// An engine built and verified, ready for timed passes.
pub struct Prepared<E> {
    /// Results so far.
    pub run: EngineRun,
    /// The engine, when it built and verified without failing.
    pub engine: Option<E>,
    /// Matching time spent so far (counts against the budget).
    pub spent: Duration,
}

/// Builds one engine and runs the verification pass (per-event digests), within the budget.
pub fn prepare<E: Engine>(set: &RuleSet, corpus: &Corpus, opts: &Options) -> Prepared<E> {
    let mut run = EngineRun::default();
    let started = Instant::now();
    let mut engine = match E::build(&set.rules) {
        Ok(e) => e,
        Err(f) => {
            run.failure = Some(f);
            return Prepared {
                run,
                engine: None,
                spent: Duration::ZERO,
            };
        }
    };
    run.build = Some(started.elapsed());

    let verify_start = Instant::now();
    let deadline = verify_start + opts.budget;
    let verified = guarded(|| -> Result<(), String> {
        for i in 0..corpus.len() {
            if i % 64 == 0 && Instant::now() >= deadline {
                run.partial = true;
                break;
            }
            let (count, digest) = engine.digest(corpus.get(i))?;
            run.per_event.push((count, digest));
            run.matches += u64::from(count);
        }
        Ok(())
    });
    let spent = verify_start.elapsed();
    let failure = match verified {
        Err(panic) => Some(Failure::Panicked(panic)),
        Ok(Err(e)) => Some(Failure::Error(e)),
        Ok(Ok(())) => None,
    };
    if failure.is_some() {
        run.failure = failure;
        return Prepared {
            run,
            engine: None,
            spent,
        };
    }
    if spent.as_secs_f64() > 0.0 {
        run.verify_eps = Some(run.per_event.len() as f64 / spent.as_secs_f64());
    }
    Prepared {
        run,
        engine: Some(engine),
        spent,
    }
}

impl<E: Engine> Prepared<E> {
    fn skipped() -> Prepared<E> {
        Prepared {
            run: EngineRun {
                failure: Some(Failure::Skipped),
                ..EngineRun::default()
            },
            engine: None,
            spent: Duration::ZERO,
        }
    }

    /// Whether another timed pass may run.
    fn can_time(&self, opts: &Options) -> bool {
        self.engine.is_some() && !self.run.partial && self.spent < opts.budget
    }

    /// One timed pass over the corpus; a pass cut short by the budget is not recorded and ends
    /// the timing for this engine.
    fn timed_pass(
        &mut self,
        corpus: &Corpus,
        opts: &Options,
        arrival: Arrival,
        buffer: &mut Vec<u8>,
    ) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let started = Instant::now();
        let deadline = started + opts.budget.saturating_sub(self.spent);
        let outcome = guarded(|| match arrival {
            Arrival::InMemory => pass(engine, corpus, deadline),
            Arrival::Arrived => arrived_pass(engine, corpus, deadline, buffer),
        });
        self.spent += started.elapsed();
        match outcome {
            Ok(Ok(Some(eps))) if arrival == Arrival::InMemory => self.run.pass_eps.push(eps),
            Ok(Ok(Some(eps))) => self.run.arrived_eps.push(eps),
            Ok(Ok(None)) => self.spent = opts.budget,
            Ok(Err(e)) => {
                self.run.failure = Some(Failure::Error(e));
                self.engine = None;
            }
            Err(panic) => {
                self.run.failure = Some(Failure::Panicked(panic));
                self.engine = None;
            }
        }
    }
}

fn excerpt(event: &[u8]) -> String {
    let text = String::from_utf8_lossy(event);
    if text.len() > 600 {
        let mut end = 600;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text.into_owned()
    }
}

fn reference_names(set: &RuleSet, event: &[u8]) -> String {
    let mut reference = ReferenceMatcher::new();
    for rule in &set.rules {
        if let Err(e) = reference.add_rule(&rule.name, &rule.pattern) {
            return format!("(reference rejected a rule: {e})");
        }
    }
    match reference.matches(event) {
        Ok(ids) => {
            let mut names: Vec<&str> = ids.iter().map(|&id| reference.rule_name(id)).collect();
            names.sort_unstable();
            format!("{names:?}")
        }
        Err(e) => format!("(reference: {e})"),
    }
}

type NamesFn<'a> = Option<&'a mut dyn FnMut(&[u8]) -> Vec<String>>;

/// Compares two engines' verification passes over the events both saw.
fn compare_pair(
    set: &RuleSet,
    corpus: &Corpus,
    (a_name, a, a_names): (&str, &EngineRun, NamesFn<'_>),
    (b_name, b, b_names): (&str, &EngineRun, NamesFn<'_>),
) -> Agreement {
    if a.failure.is_some() || b.failure.is_some() {
        return Agreement::NotCompared;
    }
    let n = a.events().min(b.events());
    let differing: Vec<usize> = (0..n)
        .filter(|&i| a.per_event[i] != b.per_event[i])
        .collect();
    let Some(&first) = differing.first() else {
        return Agreement::Agree { events: n };
    };
    let event = corpus.get(first);
    let mut detail = format!(
        "{a_name} vs {b_name}, first differing event #{first}: {}\n",
        excerpt(event)
    );
    if let (Some(fa), Some(fb)) = (a_names, b_names) {
        detail.push_str(&format!(
            "  {a_name}: {:?}\n  {b_name}: {:?}\n",
            fa(event),
            fb(event)
        ));
    }
    detail.push_str(&format!("  reference: {}", reference_names(set, event)));
    Agreement::Mismatch {
        events: n,
        differing: differing.len(),
        detail,
    }
}

fn names_fn<E: Engine>(engine: Option<&mut E>) -> Option<impl FnMut(&[u8]) -> Vec<String> + '_> {
    engine.map(|e| {
        move |event: &[u8]| {
            e.names(event)
                .unwrap_or_else(|err| vec![format!("error: {err}")])
        }
    })
}

/// Combines pairwise comparisons: any mismatch wins, then any agreement.
fn combine(results: Vec<Agreement>) -> Agreement {
    let mut agreed = None;
    let mut mismatches = Vec::new();
    for r in results {
        match r {
            Agreement::Mismatch { .. } => mismatches.push(r),
            Agreement::Agree { events } => {
                agreed = Some(agreed.map_or(events, |e: usize| e.min(events)))
            }
            Agreement::NotCompared => {}
        }
    }
    if let Some(first) = mismatches.first().cloned() {
        if mismatches.len() == 1 {
            return first;
        }
        let (events, differing) = mismatches.iter().fold((0, 0), |(e, d), m| match m {
            Agreement::Mismatch {
                events, differing, ..
            } => (e.max(*events), d.max(*differing)),
            _ => (e, d),
        });
        let detail = mismatches
            .iter()
            .filter_map(|m| match m {
                Agreement::Mismatch { detail, .. } => Some(detail.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Agreement::Mismatch {
            events,
            differing,
            detail,
        };
    }
    agreed.map_or(Agreement::NotCompared, |events| Agreement::Agree { events })
}

/// Compares another engine's per-event answers with trailbell's (validating) answers.
fn compare_with_trailbell<E: Engine>(
    set: &RuleSet,
    corpus: &Corpus,
    tb: &mut Prepared<Trailbell>,
    name: &str,
    other: &mut Prepared<E>,
) -> Agreement {
    let mut fa = names_fn(tb.engine.as_mut());
    let mut fb = names_fn(other.engine.as_mut());
    compare_pair(
        set,
        corpus,
        (
            "trailbell",
            &tb.run,
            fa.as_mut()
                .map(|f| f as &mut dyn FnMut(&[u8]) -> Vec<String>),
        ),
        (
            name,
            &other.run,
            fb.as_mut()
                .map(|f| f as &mut dyn FnMut(&[u8]) -> Vec<String>),
        ),
    )
}

/// Runs one set on both engines (trailbell first), compares them, and measures compiled size
/// for the big sets.
pub fn run_set(set: &RuleSet, corpus: &Corpus, opts: &Options) -> SetResult {
    let mut tb: Prepared<Trailbell> = if opts.trailbell {
        prepare(set, corpus, opts)
    } else {
        Prepared::skipped()
    };
    let mut tt: Prepared<TrailbellTrusted> = if opts.trusted {
        prepare(set, corpus, opts)
    } else {
        Prepared::skipped()
    };
    let mut q: Prepared<Quamina> = if opts.quamina {
        prepare(set, corpus, opts)
    } else {
        Prepared::skipped()
    };
    let with_quamina = compare_with_trailbell(set, corpus, &mut tb, "quamina", &mut q);
    let with_trusted = compare_with_trailbell(set, corpus, &mut tb, "trusted", &mut tt);

    // Timed passes alternate between the engines, so that a noisy moment on a shared machine
    // slows both rather than one.
    let mut buffer = Vec::with_capacity(ARRIVAL_BATCH * 2);
    for _ in 0..opts.passes {
        for &arrival in &opts.arrivals {
            if tb.can_time(opts) {
                tb.timed_pass(corpus, opts, arrival, &mut buffer);
            }
            if tt.can_time(opts) {
                tt.timed_pass(corpus, opts, arrival, &mut buffer);
            }
            if q.can_time(opts) {
                q.timed_pass(corpus, opts, arrival, &mut buffer);
            }
        }
    }
    let (mut trailbell, trusted, mut quamina) = (tb.run, tt.run, q.run);
    drop(tb.engine);
    drop(tt.engine);
    drop(q.engine);
    if opts.rss && set.is_big() {
        if opts.trailbell {
            trailbell.rss_kib = Some(measure_rss_in_child("trailbell", &set.name, opts.seed));
        }
        if opts.quamina && !matches!(quamina.failure, Some(Failure::Unsupported(_))) {
            quamina.rss_kib = Some(measure_rss_in_child("quamina", &set.name, opts.seed));
        }
    }
    SetResult {
        name: set.name.clone(),
        corpus: corpus.kind.name(),
        rules: set.rules.len(),
        events: corpus.len(),
        avg_event_bytes: corpus.avg_bytes(),
        trailbell,
        trusted,
        quamina,
        vs_quamina: with_quamina,
        vs_trusted: with_trusted,
    }
}

/// Runs `trailbell-bench --measure-rss ENGINE SET` in a fresh process and reads its answer.
fn measure_rss_in_child(engine: &str, set: &str, seed: u64) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(["--measure-rss", engine, set, "--seed", &seed.to_string()])
        .output()
        .map_err(|e| format!("cannot run child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    if let Some(kib) = line.strip_prefix("rss_kib ") {
        kib.trim()
            .parse()
            .map_err(|_| format!("bad child answer: {line}"))
    } else if let Some(why) = line.strip_prefix("failed ") {
        Err(why.to_owned())
    } else {
        Err(format!(
            "child exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The child side of `--measure-rss`: VmRSS before and after building `set` with `engine`, with
/// the rule text already in memory. Prints `rss_kib N` or `failed WHY`.
pub fn measure_rss(engine: &str, set: &RuleSet) -> String {
    let before = crate::engines::rss_kib();
    let after = match engine {
        "trailbell" => Trailbell::build(&set.rules).map(|e| {
            let rss = crate::engines::rss_kib();
            drop(black_box(e));
            rss
        }),
        "quamina" => Quamina::build(&set.rules).map(|e| {
            let rss = crate::engines::rss_kib();
            drop(black_box(e));
            rss
        }),
        other => return format!("failed unknown engine {other}"),
    };
    match (before, after) {
        (Some(b), Ok(Some(a))) => format!("rss_kib {}", a.saturating_sub(b)),
        (_, Err(f)) => format!("failed {f}"),
        _ => "failed /proc/self/status unreadable".to_owned(),
    }
}
