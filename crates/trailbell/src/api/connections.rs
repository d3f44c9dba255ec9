//! The HTTP server's own accept loop (decision 0020): a connection limit, a header-read timeout,
//! an idle (keep-alive) timeout and a shutdown deadline, which `axum::serve` does not offer.
//!
//! - At most [`HttpLimits::max_connections`] connections are open at once, lowered at start so that
//!   the process keeps [`FD_RESERVE`] file descriptors for its store and clients. At the limit the
//!   connection that has waited longest without sending a byte of a request is closed to make
//!   room (a client reopens an idle keep-alive connection at no cost), and the next connection
//!   waits in the kernel's backlog until its slot is free. Connections in the middle of a request
//!   are never closed for room: they are bounded by the header-read timeout.
//! - A connection with no request in flight is closed when the head of a request it began has taken
//!   longer than [`HttpLimits::header_read_timeout`] (a new connection's first request counts from
//!   the connection's start), or when it has waited for its next request longer than
//!   [`HttpLimits::idle_timeout`]. A request in flight is never cut short by these.
//! - On shutdown the loop stops accepting, idle connections close, requests in flight get until
//!   [`HttpLimits::shutdown_timeout`] to finish, and whatever is left is dropped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};

pub use super::limits::HttpLimits;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// File descriptors kept for everything but connections: the store's files, targets' and AWS
/// clients' connections, sources' files.
pub const FD_RESERVE: usize = 128;

/// `max_connections`, lowered to what the open-file limit leaves after [`FD_RESERVE`].
pub fn effective_max_connections(configured: usize) -> usize {
    match open_file_limit() {
        Some(limit) => configured.min(limit.saturating_sub(FD_RESERVE).max(1)),
        None => configured,
    }
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (Linux), without `unsafe`.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then drains as the
/// module's documentation says.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let max_connections = effective_max_connections(limits.max_connections);
    if max_connections < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            max_connections,
            "The open-file limit lowers the connection limit; raise it with `ulimit -n`."
        );
    }
    let slots = Arc::new(Semaphore::new(max_connections));
    let open: Arc<Mutex<HashMap<u64, Arc<Activity>>>> = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_id = 0_u64;
    tokio::pin!(shutdown);
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                make_room(&open);
                tokio::select! {
                    () = &mut shutdown => break,
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and the like: the reserve should prevent it; wait instead of spinning.
                    tracing::warn!(error = %err, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (router, stop) = (router.clone(), stop_rx.clone());
        let activity = Arc::new(Activity::new());
        next_id += 1;
        let (id, open) = (next_id, Arc::clone(&open));
        if let Ok(mut open) = open.lock() {
            open.insert(id, Arc::clone(&activity));
        }
        connections.spawn(async move {
            serve_connection(stream, activity, router, limits, stop).await;
            tracing::trace!(%peer, "Connection closed.");
            if let Ok(mut open) = open.lock() {
                open.remove(&id);
            }
            drop(permit);
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout + Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "Connections still open at the shutdown deadline were dropped."
        );
        connections.shutdown().await;
    }
}

/// Tells the open connection that has waited longest without a byte of a request to close.
fn make_room(open: &Mutex<HashMap<u64, Arc<Activity>>>) {
    let Ok(open) = open.lock() else { return };
    let waiting = open.values().filter(|activity| activity.is_waiting());
    let longest = waiting.min_by_key(|activity| {
        activity.start + Duration::from_millis(activity.idle_since.load(Ordering::SeqCst))
    });
    if let Some(activity) = longest {
        activity.evicted.store(true, Ordering::SeqCst);
        activity.changed.notify_one();
    }
}

/// What the timeouts look at, shared by the connection's reader, its requests and its watcher.
struct Activity {
    start: Instant,
    /// Requests whose head was read and whose answer is not yet written.
    in_flight: AtomicUsize,
    /// When the connection last became idle (ms since `start`, plus one; 0: it has served no
    /// request yet, so the header-read timeout runs from its start).
    idle_since: AtomicU64,
    /// When the first byte of the next request's head arrived (ms since `start`, plus one; 0:
    /// none yet).
    head_started: AtomicU64,
    /// Asked to close to make room for a new connection.
    evicted: AtomicBool,
    /// Woken when a head starts, a request ends or the connection is asked to close.
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// No request in flight and no byte of the next one read, and not already asked to close.
    fn is_waiting(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
            && self.head_started.load(Ordering::SeqCst) == 0
            && !self.evicted.load(Ordering::SeqCst)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }
}

/// Ends a request's part in [`Activity`] when dropped, so that a cancelled request counts too.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.head_started.store(0, Ordering::SeqCst);
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .idle_since
            .store(self.0.now_ms() + 1, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_one();
    }
}

async fn serve_connection(
    stream: TcpStream,
    activity: Arc<Activity>,
    router: Router,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let for_requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
        let in_flight = InFlight::begin(&for_requests);
        let router = router.clone();
        async move {
            tracing::debug!(method = %request.method(), path = %request.uri().path(), "HTTP request started.");
            let response = router.oneshot(request.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our watcher enforces the header-read and idle timeouts; hyper's own header timer would
    // also count idle time.
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(error = %err, "Connection ended with an error.");
            }
            return;
        }
        () = watch_timeouts(&activity, limits) => return,
        _ = stop.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    if tokio::time::timeout(limits.shutdown_timeout, connection)
        .await
        .is_err()
    {
        tracing::warn!("A request still in flight at the shutdown deadline was dropped.");
    }
}

/// Completes when the connection has no request in flight and has been idle, or reading a head,
/// for too long, or has been asked to make room while waiting for a request.
async fn watch_timeouts(activity: &Activity, limits: HttpLimits) {
    loop {
        let notified = activity.changed.notified();
        if activity.evicted.load(Ordering::SeqCst)
            && activity.in_flight.load(Ordering::SeqCst) == 0
            && activity.head_started.load(Ordering::SeqCst) == 0
        {
            return;
        }
        let deadline = if activity.in_flight.load(Ordering::SeqCst) > 0 {
            None
        } else {
            match (
                activity.head_started.load(Ordering::SeqCst),
                activity.idle_since.load(Ordering::SeqCst),
            ) {
                (0, 0) => Some(activity.start + limits.header_read_timeout),
                (0, idle) => Some(activity.at(idle - 1) + limits.idle_timeout),
                (started, _) => Some(activity.at(started - 1) + limits.header_read_timeout),
            }
        };
        match deadline {
            Some(deadline) if deadline <= Instant::now() => return,
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

/// A stream that notes when a request's head begins.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let activity = &self.activity;
            if activity.in_flight.load(Ordering::SeqCst) == 0
                && activity.head_started.load(Ordering::SeqCst) == 0
            {
                activity
                    .head_started
                    .store(activity.now_ms() + 1, Ordering::SeqCst);
                activity.changed.notify_one();
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
