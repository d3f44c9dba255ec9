//! CloudTrail `LookupEvents`, polled per region, with a cursor persisted in the store
//! (docs/decisions/0011-lookup-events-source.md).
//!
//! Every `interval`, each region is asked for the events between `cursor - OVERLAP` and now,
//! following `NextToken` page by page. CloudTrail makes an event visible to `LookupEvents` up to
//! about 15 minutes after it happened, so each poll asks again for the last [`OVERLAP`]: an event
//! that arrived late is found by a later poll. The events of each page that this source has not
//! handled before (a small table of event ids, kept for the overlap only) are turned into
//! EventBridge envelopes and submitted; their ids are recorded once the service has their alerts
//! in the outbox (whose idempotency keys would drop a repeat anyway: the table only saves the
//! work). After the last page the cursor moves to the poll's `EndTime`: the newest time up to
//! which every event visible then was handled (never older than the newest `EventTime` handled,
//! which is at most `EndTime`; in a quiet account it keeps moving, so the window stays
//! `OVERLAP` plus an interval wide). A poll that fails part way leaves the cursor alone; the next
//! one asks the same window again.
//!
//! With no cursor yet, the first poll starts at `now - OVERLAP`, not at the 90 days of history
//! `LookupEvents` keeps: a new source alerts on what happens from now on (`trailbell scan` is for
//! the past).
//!
//! Calls are paced to the documented limit of two per second per account and region; a
//! `ThrottlingException` is answered by waiting (doubling, up to [`Pacing::max_backoff`]) and
//! asking for the same page again. Each region reports its lag (after each complete poll: now less
//! the newest `EventTime` it saw) and errors as the source `<source>:<region>` in `/metrics`.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata as _;
use rusqlite::{OptionalExtension as _, params};
use tokio::sync::watch;

use super::{SourceContext, now_rfc3339};
use crate::cloudtrail::{FileEvent, file_events};

/// How far back each poll asks again before the cursor: CloudTrail delivers events to
/// `LookupEvents` up to about 15 minutes after they happened.
pub const OVERLAP: Duration = Duration::from_secs(15 * 60);

/// How far back `LookupEvents` keeps events (90 days), less an hour of margin.
const HISTORY_MS: i64 = (90 * 24 - 1) * 3_600_000;

/// The most events `LookupEvents` returns per page.
const PAGE_SIZE: i32 = 50;

/// How long one call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How calls are spaced and throttling answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacing {
    /// The least time between two calls' starts (500 ms: two per second).
    pub gap: Duration,
    /// The first wait after a throttling answer; it doubles on each one in a row.
    pub first_backoff: Duration,
    /// The longest wait after a throttling answer.
    pub max_backoff: Duration,
    /// Throttling answers in a row for one page before the poll gives up until the next interval.
    pub max_throttles: u32,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            gap: Duration::from_millis(500),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_throttles: 8,
        }
    }
}

/// The time range of one poll, in epoch milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// `StartTime`.
    pub start_ms: i64,
    /// `EndTime`.
    pub end_ms: i64,
}

/// The window to ask at `now_ms`: from `cursor - overlap` (from `now - overlap` with no cursor,
/// from `now - overlap` too when the cursor is ahead of this clock) to now, never before the 90
/// days `LookupEvents` keeps.
///
/// ```
/// use std::time::Duration;
/// use trailbell::sources::live::lookup::window;
///
/// let overlap = Duration::from_secs(900);
/// let w = window(Some(10_000_000), 20_000_000, overlap);
/// assert_eq!((w.start_ms, w.end_ms), (10_000_000 - 900_000, 20_000_000));
/// assert_eq!(window(None, 20_000_000, overlap).start_ms, 20_000_000 - 900_000);
/// ```
pub fn window(cursor_ms: Option<i64>, now_ms: i64, overlap: Duration) -> Window {
    let overlap_ms = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
    let from = cursor_ms.unwrap_or(now_ms).min(now_ms);
    let start_ms = from
        .saturating_sub(overlap_ms)
        .max(now_ms.saturating_sub(HISTORY_MS));
    Window {
        start_ms,
        end_ms: now_ms,
    }
}

/// The cursor after a complete poll of `window`: its end (every event visible then, up to then,
/// was handled), never moving back.
///
/// ```
/// use trailbell::sources::live::lookup::{Window, next_cursor};
///
/// let w = Window { start_ms: 1_000, end_ms: 2_000_000 };
/// assert_eq!(next_cursor(None, w), 2_000_000);
/// assert_eq!(next_cursor(Some(3_000_000), w), 3_000_000);
/// ```
pub fn next_cursor(old_ms: Option<i64>, window: Window) -> i64 {
    old_ms.map_or(window.end_ms, |old| old.max(window.end_ms))
}

/// One event of a `LookupEvents` page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookedUp {
    /// `EventId`.
    pub event_id: String,
    /// `EventTime`, epoch milliseconds.
    pub event_time_ms: Option<i64>,
    /// `CloudTrailEvent`: the record's JSON text.
    pub record: String,
}

/// One page of `LookupEvents`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Its events, newest first as CloudTrail returns them.
    pub events: Vec<LookedUp>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// `ThrottlingException` (or HTTP 429): ask again later.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Anything else.
    #[error("{0}")]
    Failed(String),
}

/// Why a poll stopped before its last page.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// The service is stopping.
    #[error("the service is stopping")]
    Stopped,
    /// A call failed.
    #[error("LookupEvents failed: {0}")]
    Call(String),
    /// Throttled too many times in a row.
    #[error("LookupEvents was throttled {0} times in a row")]
    Throttled(u32),
    /// A page's events could not be handed over.
    #[error("{0}")]
    Handler(String),
}

/// What a complete poll saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollOutcome {
    /// Pages read.
    pub pages: usize,
    /// Events on them (handled before or not).
    pub events: usize,
    /// The newest `EventTime` among them.
    pub newest_event_ms: Option<i64>,
    /// Throttling answers that were waited out.
    pub throttled: u32,
}

/// Asks for one page.
pub trait Pages {
    /// `LookupEvents` for `window`, continuing at `token`.
    fn page(
        &mut self,
        window: Window,
        token: Option<&str>,
    ) -> impl Future<Output = Result<Page, CallError>> + Send;
}

/// Takes one page's events.
pub trait PageHandler {
    /// Hands `events` over; `Err` stops the poll.
    fn handle(&mut self, events: Vec<LookedUp>) -> impl Future<Output = Result<(), String>> + Send;
}

/// Reads every page of `window`, handing each page's events to `handler` as it comes, calls spaced
/// by `pacing.gap` and throttling waited out; stops early when `shutdown` turns true.
pub async fn paginate<P: Pages + Send, H: PageHandler + Send>(
    pages: &mut P,
    handler: &mut H,
    window: Window,
    pacing: Pacing,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<PollOutcome, PollError> {
    let mut outcome = PollOutcome::default();
    let mut token: Option<String> = None;
    let mut last_call: Option<tokio::time::Instant> = None;
    let mut throttles_in_a_row = 0u32;
    let mut wait = Duration::ZERO;
    loop {
        if let Some(last) = last_call {
            let since = last.elapsed();
            wait = wait.max(pacing.gap.saturating_sub(since));
        }
        if !wait.is_zero() && pause(shutdown, wait).await {
            return Err(PollError::Stopped);
        }
        if *shutdown.borrow() {
            return Err(PollError::Stopped);
        }
        last_call = Some(tokio::time::Instant::now());
        wait = Duration::ZERO;
        let answer = tokio::select! {
            answer = pages.page(window, token.as_deref()) => answer,
            _ = shutdown.wait_for(|stop| *stop) => return Err(PollError::Stopped),
        };
        let page = match answer {
            Ok(page) => page,
            Err(CallError::Throttled(_)) => {
                throttles_in_a_row += 1;
                outcome.throttled += 1;
                if throttles_in_a_row > pacing.max_throttles {
                    return Err(PollError::Throttled(throttles_in_a_row));
                }
                wait = backoff(pacing, throttles_in_a_row);
                continue;
            }
            Err(CallError::Failed(message)) => return Err(PollError::Call(message)),
        };
        throttles_in_a_row = 0;
        outcome.pages += 1;
        outcome.events += page.events.len();
        outcome.newest_event_ms = page
            .events
            .iter()
            .filter_map(|event| event.event_time_ms)
            .chain(outcome.newest_event_ms)
            .max();
        if !page.events.is_empty() {
            handler
                .handle(page.events)
                .await
                .map_err(PollError::Handler)?;
        }
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(outcome),
        }
    }
}

/// The wait after the `n`th throttling answer in a row (n ≥ 1).
fn backoff(pacing: Pacing, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(16);
    pacing
        .first_backoff
        .saturating_mul(factor)
        .min(pacing.max_backoff)
}

/// Waits `period` or until `shutdown` turns true; true when stopping.
async fn pause(shutdown: &mut watch::Receiver<bool>, period: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    let stopped = tokio::select! {
        () = tokio::time::sleep(period) => false,
        _ = shutdown.wait_for(|stop| *stop) => true,
    };
    stopped || *shutdown.borrow()
}

/// `LookupEvents` through the SDK, for one region.
struct SdkPages {
    client: aws_sdk_cloudtrail::Client,
}

impl Pages for SdkPages {
    fn page(
        &mut self,
        window: Window,
        token: Option<&str>,
    ) -> impl Future<Output = Result<Page, CallError>> + Send {
        use aws_sdk_cloudtrail::primitives::DateTime;
        let request = self
            .client
            .lookup_events()
            .start_time(DateTime::from_millis(window.start_ms))
            .end_time(DateTime::from_millis(window.end_ms))
            .max_results(PAGE_SIZE)
            .set_next_token(token.map(str::to_owned));
        async move {
            let output = request.send().await.map_err(|err| {
                let throttled = err.code().is_some_and(|code| {
                    matches!(
                        code,
                        "ThrottlingException" | "Throttling" | "TooManyRequestsException"
                    )
                }) || err
                    .raw_response()
                    .is_some_and(|raw| raw.status().as_u16() == 429);
                let text = super::aws_failure("CloudTrail", "LookupEvents", &err).summary();
                if throttled {
                    CallError::Throttled(text)
                } else {
                    CallError::Failed(text)
                }
            })?;
            let events = output
                .events()
                .iter()
                .filter_map(|event| {
                    Some(LookedUp {
                        event_id: event.event_id()?.to_owned(),
                        event_time_ms: event.event_time().and_then(|time| time.to_millis().ok()),
                        record: event.cloud_trail_event()?.to_owned(),
                    })
                })
                .collect();
            Ok(Page {
                events,
                next_token: output.next_token().map(str::to_owned),
            })
        }
    }
}

/// Submits a page's new events and records them as seen.
struct Submitter {
    context: SourceContext,
    store: PathBuf,
    source: String,
    region: String,
}

impl PageHandler for Submitter {
    async fn handle(&mut self, events: Vec<LookedUp>) -> Result<(), String> {
        let ids: Vec<String> = events.iter().map(|event| event.event_id.clone()).collect();
        let seen = {
            let (store, source, region) =
                (self.store.clone(), self.source.clone(), self.region.clone());
            blocking(move || seen_ids(&store, &source, &region, &ids)).await?
        };
        let mut fresh: Vec<LookedUp> = events
            .into_iter()
            .filter(|event| !seen.contains(&event.event_id))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        // CloudTrail returns the newest first; alerts go out oldest first.
        fresh.reverse();
        let mut envelopes: Vec<FileEvent> = Vec::with_capacity(fresh.len());
        for event in &fresh {
            match file_events(event.record.as_bytes()) {
                Ok(read) => {
                    let origin = format!(
                        "LookupEvents in {}: CloudTrailEvent of {}",
                        self.region, event.event_id
                    );
                    self.context.refused(&origin, &read.refused);
                    envelopes.extend(read.events);
                }
                Err(err) => self.context.error(&format!(
                    "event {}: CloudTrailEvent is not JSON ({err}); skipped",
                    event.event_id
                )),
            }
        }
        let count = envelopes.len();
        self.context.submit(envelopes, &now_rfc3339()).await?;
        self.context
            .metrics
            .source(&self.context.name, |status| status.events += count as u64);
        let rows: Vec<(String, i64)> = fresh
            .into_iter()
            .map(|event| (event.event_id, event.event_time_ms.unwrap_or(0)))
            .collect();
        let (store, source, region) =
            (self.store.clone(), self.source.clone(), self.region.clone());
        blocking(move || mark_seen(&store, &source, &region, &rows)).await
    }
}

/// Polls every region of the source until the service stops.
pub async fn watch(
    context: SourceContext,
    regions: Vec<String>,
    interval: Duration,
    endpoint_url: Option<String>,
    store: PathBuf,
) {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    let config = loader.load().await;
    let mut tasks = tokio::task::JoinSet::new();
    for region in regions {
        let client = aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(&config)
                .region(aws_sdk_cloudtrail::config::Region::new(region.clone()))
                // Throttling is paced here; other failures wait for the next interval.
                .retry_config(aws_sdk_cloudtrail::config::retry::RetryConfig::disabled())
                .timeout_config(
                    aws_sdk_cloudtrail::config::timeout::TimeoutConfig::builder()
                        .operation_timeout(CALL_TIMEOUT)
                        .build(),
                )
                .build(),
        );
        let mut region_context = context.clone();
        region_context.name = format!("{}:{region}", context.name);
        let source = context.name.clone();
        tasks.spawn(poll_region(
            region_context,
            SdkPages { client },
            source,
            region,
            interval,
            store.clone(),
        ));
    }
    while tasks.join_next().await.is_some() {}
}

/// Polls one region until the service stops.
async fn poll_region(
    mut context: SourceContext,
    mut pages: SdkPages,
    source: String,
    region: String,
    interval: Duration,
    store: PathBuf,
) {
    tracing::info!(source = %context.name, "polling CloudTrail LookupEvents");
    // The metric exists from the start, errors or not.
    context.metrics.source(&context.name, |_| {});
    loop {
        match poll_once(&mut context, &mut pages, &source, &region, &store).await {
            Ok(()) => context.looked(Ok(())),
            Err(err) => {
                if err == PollError::Stopped || *context.shutdown.borrow() {
                    return;
                }
                context.looked(Err(format!("{err}; next poll in {}s", interval.as_secs())));
            }
        }
        if context.pause(interval).await {
            return;
        }
    }
}

/// One poll: the window from the stored cursor, every page, the cursor moved.
async fn poll_once(
    context: &mut SourceContext,
    pages: &mut SdkPages,
    source: &str,
    region: &str,
    store: &Path,
) -> Result<(), PollError> {
    let cursor = {
        let (store, source, region) = (store.to_owned(), source.to_owned(), region.to_owned());
        blocking(move || load_cursor(&store, &source, &region))
            .await
            .map_err(PollError::Handler)?
    };
    let window = window(cursor, jiff::Timestamp::now().as_millisecond(), OVERLAP);
    let mut shutdown = context.shutdown.clone();
    let mut handler = Submitter {
        context: context.clone(),
        store: store.to_owned(),
        source: source.to_owned(),
        region: region.to_owned(),
    };
    let outcome = paginate(
        pages,
        &mut handler,
        window,
        Pacing::default(),
        &mut shutdown,
    )
    .await?;
    if outcome.throttled > 0 {
        tracing::info!(source = %context.name, throttled = outcome.throttled, "LookupEvents throttled; waited");
    }
    if let Some(newest) = outcome.newest_event_ms {
        // How far behind: the newest event this poll saw (handled now or before).
        let lag_ms = jiff::Timestamp::now()
            .as_millisecond()
            .saturating_sub(newest);
        context.metrics.source(&context.name, |status| {
            status.lag_seconds = (lag_ms as f64 / 1000.0).max(0.0);
        });
    }
    let cursor_ms = next_cursor(cursor, window);
    let (store, source, region) = (store.to_owned(), source.to_owned(), region.to_owned());
    blocking(move || save_cursor(&store, &source, &region, cursor_ms))
        .await
        .map_err(PollError::Handler)?;
    tracing::debug!(
        source = %context.name,
        pages = outcome.pages,
        events = outcome.events,
        newest_event_ms = ?outcome.newest_event_ms,
        cursor_ms,
        "LookupEvents poll done"
    );
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| err.to_string())?
}

fn load_cursor(store: &Path, source: &str, region: &str) -> Result<Option<i64>, String> {
    let connection = crate::store::open(store).map_err(|err| err.to_string())?;
    connection
        .query_row(
            "SELECT cursor_ms FROM lookup_events_cursors WHERE source = ?1 AND region = ?2",
            params![source, region],
            |row| row.get(0),
        )
        .optional()
        .map_err(|err| err.to_string())
}

/// Stores the cursor and forgets the ids of events older than the next window can reach.
fn save_cursor(store: &Path, source: &str, region: &str, cursor_ms: i64) -> Result<(), String> {
    let mut connection = crate::store::open(store).map_err(|err| err.to_string())?;
    let transaction = connection.transaction().map_err(|err| err.to_string())?;
    transaction
        .execute(
            "INSERT INTO lookup_events_cursors (source, region, cursor_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source, region) DO UPDATE
             SET cursor_ms = max(cursor_ms, excluded.cursor_ms), updated_at_ms = excluded.updated_at_ms",
            params![source, region, cursor_ms, jiff::Timestamp::now().as_millisecond()],
        )
        .map_err(|err| err.to_string())?;
    let overlap_ms = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
    transaction
        .execute(
            "DELETE FROM lookup_events_seen
             WHERE source = ?1 AND region = ?2 AND event_time_ms < ?3",
            params![source, region, cursor_ms.saturating_sub(overlap_ms)],
        )
        .map_err(|err| err.to_string())?;
    transaction.commit().map_err(|err| err.to_string())
}

fn seen_ids(
    store: &Path,
    source: &str,
    region: &str,
    ids: &[String],
) -> Result<HashSet<String>, String> {
    let connection = crate::store::open(store).map_err(|err| err.to_string())?;
    let mut statement = connection
        .prepare_cached(
            "SELECT 1 FROM lookup_events_seen WHERE source = ?1 AND region = ?2 AND event_id = ?3",
        )
        .map_err(|err| err.to_string())?;
    let mut seen = HashSet::new();
    for id in ids {
        if statement
            .exists(params![source, region, id])
            .map_err(|err| err.to_string())?
        {
            seen.insert(id.clone());
        }
    }
    Ok(seen)
}

fn mark_seen(
    store: &Path,
    source: &str,
    region: &str,
    rows: &[(String, i64)],
) -> Result<(), String> {
    let mut connection = crate::store::open(store).map_err(|err| err.to_string())?;
    let transaction = connection.transaction().map_err(|err| err.to_string())?;
    {
        let mut statement = transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO lookup_events_seen (source, region, event_id, event_time_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|err| err.to_string())?;
        for (id, time_ms) in rows {
            statement
                .execute(params![source, region, id, time_ms])
                .map_err(|err| err.to_string())?;
        }
    }
    transaction.commit().map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Answers from a script and records each call's window, token and start.
    struct FakePages {
        script: VecDeque<Result<Page, CallError>>,
        calls: Vec<(Window, Option<String>, tokio::time::Instant)>,
    }

    impl Pages for FakePages {
        fn page(
            &mut self,
            window: Window,
            token: Option<&str>,
        ) -> impl Future<Output = Result<Page, CallError>> + Send {
            self.calls.push((
                window,
                token.map(str::to_owned),
                tokio::time::Instant::now(),
            ));
            let answer = self
                .script
                .pop_front()
                .unwrap_or_else(|| Err(CallError::Failed("script exhausted".to_owned())));
            async move { answer }
        }
    }

    #[derive(Default)]
    struct Collect(Vec<Vec<String>>);

    impl PageHandler for Collect {
        fn handle(
            &mut self,
            events: Vec<LookedUp>,
        ) -> impl Future<Output = Result<(), String>> + Send {
            self.0
                .push(events.into_iter().map(|event| event.event_id).collect());
            async { Ok(()) }
        }
    }

    fn event(id: &str, time_ms: i64) -> LookedUp {
        LookedUp {
            event_id: id.to_owned(),
            event_time_ms: Some(time_ms),
            record: "{}".to_owned(),
        }
    }

    fn page(events: Vec<LookedUp>, next: Option<&str>) -> Result<Page, CallError> {
        Ok(Page {
            events,
            next_token: next.map(str::to_owned),
        })
    }

    fn fast() -> Pacing {
        Pacing {
            gap: Duration::from_millis(30),
            first_backoff: Duration::from_millis(40),
            max_backoff: Duration::from_millis(100),
            max_throttles: 2,
        }
    }

    const W: Window = Window {
        start_ms: 1_000,
        end_ms: 9_000,
    };

    #[tokio::test]
    async fn follows_next_token_to_the_end_with_calls_spaced() {
        let mut pages = FakePages {
            script: VecDeque::from([
                page(vec![event("c", 300), event("b", 200)], Some("t1")),
                page(vec![], Some("t2")),
                page(vec![event("a", 100)], None),
            ]),
            calls: Vec::new(),
        };
        let mut handler = Collect::default();
        let (_stop, mut shutdown) = watch::channel(false);
        let outcome = paginate(&mut pages, &mut handler, W, fast(), &mut shutdown)
            .await
            .expect("a complete poll");
        assert_eq!(
            outcome,
            PollOutcome {
                pages: 3,
                events: 3,
                newest_event_ms: Some(300),
                throttled: 0
            }
        );
        assert_eq!(handler.0, vec![vec!["c", "b"], vec!["a"]]);
        let tokens: Vec<_> = pages.calls.iter().map(|call| call.1.clone()).collect();
        assert_eq!(tokens, [None, Some("t1".into()), Some("t2".into())]);
        assert!(pages.calls.iter().all(|call| call.0 == W));
        for pair in pages.calls.windows(2) {
            assert!(pair[1].2 - pair[0].2 >= fast().gap);
        }
    }

    #[tokio::test]
    async fn throttling_waits_and_asks_for_the_same_page_again() {
        let throttled = || Err(CallError::Throttled("Rate exceeded".to_owned()));
        let mut pages = FakePages {
            script: VecDeque::from([
                page(vec![event("b", 200)], Some("t1")),
                throttled(),
                throttled(),
                page(vec![event("a", 100)], None),
            ]),
            calls: Vec::new(),
        };
        let mut handler = Collect::default();
        let (_stop, mut shutdown) = watch::channel(false);
        let outcome = paginate(&mut pages, &mut handler, W, fast(), &mut shutdown)
            .await
            .expect("a complete poll");
        assert_eq!(outcome.throttled, 2);
        assert_eq!(handler.0, vec![vec!["b"], vec!["a"]]);
        let tokens: Vec<_> = pages.calls.iter().map(|call| call.1.clone()).collect();
        assert_eq!(
            tokens,
            [
                None,
                Some("t1".into()),
                Some("t1".into()),
                Some("t1".into())
            ]
        );
        // The waits double: 40 ms, then 80 ms.
        assert!(pages.calls[2].2 - pages.calls[1].2 >= Duration::from_millis(40));
        assert!(pages.calls[3].2 - pages.calls[2].2 >= Duration::from_millis(80));
    }

    #[tokio::test]
    async fn too_much_throttling_or_a_failure_ends_the_poll() {
        let throttled = || Err(CallError::Throttled("Rate exceeded".to_owned()));
        let mut pages = FakePages {
            script: VecDeque::from([throttled(), throttled(), throttled()]),
            calls: Vec::new(),
        };
        let (_stop, mut shutdown) = watch::channel(false);
        let result = paginate(
            &mut pages,
            &mut Collect::default(),
            W,
            fast(),
            &mut shutdown,
        )
        .await;
        assert_eq!(result, Err(PollError::Throttled(3)));

        let mut pages = FakePages {
            script: VecDeque::from([
                page(vec![event("b", 200)], Some("t1")),
                Err(CallError::Failed("InternalFailure".to_owned())),
            ]),
            calls: Vec::new(),
        };
        let mut handler = Collect::default();
        let result = paginate(&mut pages, &mut handler, W, fast(), &mut shutdown).await;
        assert_eq!(result, Err(PollError::Call("InternalFailure".to_owned())));
        assert_eq!(handler.0, vec![vec!["b"]]);
    }

    /// Asks the service to stop when it gets a page.
    struct StopOnPage(watch::Sender<bool>);

    impl PageHandler for StopOnPage {
        fn handle(
            &mut self,
            _events: Vec<LookedUp>,
        ) -> impl Future<Output = Result<(), String>> + Send {
            let _ = self.0.send(true);
            async { Ok(()) }
        }
    }

    #[tokio::test]
    async fn a_stopping_service_ends_the_poll_between_pages() {
        let mut pages = FakePages {
            script: VecDeque::from([
                page(vec![event("b", 200)], Some("t1")),
                page(vec![event("a", 100)], None),
            ]),
            calls: Vec::new(),
        };
        let (stop, mut shutdown) = watch::channel(false);
        // A gap of an hour: only the stop can end the wait before the second page.
        let slow = Pacing {
            gap: Duration::from_secs(3600),
            ..fast()
        };
        let result = paginate(&mut pages, &mut StopOnPage(stop), W, slow, &mut shutdown).await;
        assert_eq!(result, Err(PollError::Stopped));
        assert_eq!(pages.calls.len(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let pacing = Pacing::default();
        let waits: Vec<u64> = (1..=7).map(|n| backoff(pacing, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(pacing, u32::MAX), pacing.max_backoff);
    }

    #[test]
    fn window_and_cursor_arithmetic() {
        let overlap = Duration::from_secs(900);
        let now = 1_800_000_000_000;
        // A cursor ahead of this clock (skew): from now, never a start after the end.
        let ahead = window(Some(now + 60_000), now, overlap);
        assert_eq!(ahead.start_ms, now - 900_000);
        // A cursor older than the 90 days kept: clamped.
        let old = window(Some(0), now, overlap);
        assert_eq!(old.start_ms, now - HISTORY_MS);
        // The cursor moves to the window's end (quiet account or not) and never back.
        let w = window(Some(now - 3_600_000), now, overlap);
        assert_eq!(w.start_ms, now - 3_600_000 - 900_000);
        assert_eq!(next_cursor(Some(now - 3_600_000), w), now);
        assert_eq!(next_cursor(None, w), now);
        assert_eq!(next_cursor(Some(now + 5), w), now + 5);
        // The next window after a complete poll: the overlap before that poll's end.
        let next = window(Some(next_cursor(None, w)), now + 60_000, overlap);
        assert_eq!((next.start_ms, next.end_ms), (now - 900_000, now + 60_000));
    }

    #[test]
    fn cursor_and_seen_ids_persist_and_are_pruned() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = dir.path().join("store.db");
        assert_eq!(load_cursor(&store, "s", "us-east-1"), Ok(None));
        let hour = 3_600_000;
        mark_seen(
            &store,
            "s",
            "us-east-1",
            &[("old".to_owned(), 10 * hour), ("new".to_owned(), 20 * hour)],
        )
        .expect("marked");
        let ids = ["old".to_owned(), "new".to_owned(), "other".to_owned()];
        let seen = seen_ids(&store, "s", "us-east-1", &ids).expect("read");
        assert_eq!(seen.len(), 2);
        assert!(
            seen_ids(&store, "s", "eu-west-1", &ids)
                .expect("read")
                .is_empty()
        );
        save_cursor(&store, "s", "us-east-1", 20 * hour).expect("saved");
        assert_eq!(load_cursor(&store, "s", "us-east-1"), Ok(Some(20 * hour)));
        // Older than cursor - overlap: forgotten; within it: kept.
        let seen = seen_ids(&store, "s", "us-east-1", &ids).expect("read");
        assert_eq!(seen, HashSet::from(["new".to_owned()]));
        // Never back.
        save_cursor(&store, "s", "us-east-1", hour).expect("saved");
        assert_eq!(load_cursor(&store, "s", "us-east-1"), Ok(Some(20 * hour)));
    }
}
