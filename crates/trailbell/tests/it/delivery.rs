//! Delivery from the outbox to real servers: webhooks and Slack against a recording HTTP server on
//! 127.0.0.1, SNS and SQS against moto (`TRAILBELL_TEST_MOTO_ENDPOINT`; those tests fail, never
//! skip, without it: run them with `scripts/lib/with-test-services cargo test -p trailbell --test
//! delivery`). Tests wait for recorded requests and broadcast outcomes, never by sleeping.

use crate::common;
use crate::common::recorder;

use common::moto_endpoint;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use recorder::{Recorder, Reply};
use tokio::sync::broadcast;
use trailbell::outbox::{
    Deliverer, DelivererConfig, DeliveryOutcome, MessageAttributes, MessageState, MessageSummary,
    NewMessage, Outbox, idempotency_key, now_ms, retry::Backoff,
};
use trailbell::secret::Secret;
use trailbell::targets::{
    Destination, DestinationKind, FileDestination, RetryPolicy, SlackDestination, SnsDestination,
    SqsDestination, WebhookAuth, WebhookDestination,
};

/// Log lines of every test in this binary, to check that no secret reaches them.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A store in a temporary directory.
struct Store {
    dir: tempfile::TempDir,
    outbox: Outbox,
}

impl Store {
    fn new() -> Store {
        logs();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outbox = Outbox::open(&dir.path().join(trailbell::store::FILE_NAME)).expect("a store");
        Store { dir, outbox }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join(trailbell::store::FILE_NAME)
    }

    /// Enqueues one message and returns its row id.
    fn enqueue(&mut self, message: NewMessage) -> i64 {
        let key = message.idempotency_key.clone();
        assert_eq!(self.outbox.enqueue(&[message]).expect("enqueue"), 1);
        self.outbox
            .get_by_key(&key)
            .expect("read the row")
            .expect("the row exists")
            .id
    }

    /// Enqueues `message`, wakes `deliverer` and waits until the row is in `state`.
    async fn deliver(
        &mut self,
        deliverer: &Deliverer,
        outcomes: &mut broadcast::Receiver<DeliveryOutcome>,
        message: NewMessage,
        state: MessageState,
    ) -> MessageSummary {
        let id = self.enqueue(message);
        deliverer.wake();
        self.wait_state(outcomes, id, state).await
    }

    /// Waits until row `id` is in `state` (re-reading the store at every outcome).
    async fn wait_state(
        &self,
        outcomes: &mut broadcast::Receiver<DeliveryOutcome>,
        id: i64,
        state: MessageState,
    ) -> MessageSummary {
        loop {
            let row = self.outbox.get(id).expect("read").expect("the row exists");
            if row.state == state {
                return row;
            }
            match tokio::time::timeout(Duration::from_secs(30), outcomes.recv()).await {
                Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(err)) => panic!("outcomes ended: {err}"),
                Err(_) => panic!("row {id} not {state:?} within 30 s: {row:?}"),
            }
        }
    }
}

/// Asserts that `row` failed last with `code` (its `last_error` is `CODE: message`).
fn assert_last_error(row: &MessageSummary, code: &str) {
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|error| error.starts_with(code)),
        "{row:?}"
    );
}

fn destination(name: &str, kind: DestinationKind) -> Destination {
    Destination {
        name: name.to_owned(),
        kind,
        rate_limit_per_second: None,
        timeout: Duration::from_secs(5),
        max_in_flight: None,
    }
}

fn webhook(name: &str, url: &str) -> Destination {
    destination(
        name,
        DestinationKind::Webhook(WebhookDestination {
            endpoint: Secret::new(url),
            headers: Vec::new(),
            auth: None,
        }),
    )
}

fn message(destination: &str, event: &str) -> NewMessage {
    NewMessage {
        destination: destination.to_owned(),
        rule_name: "root-sign-in".to_owned(),
        target_id: "alerts".to_owned(),
        event_id: event.to_owned(),
        idempotency_key: idempotency_key(event, "root-sign-in", "alerts"),
        payload: format!(r#"{{"text":"alert for {event}"}}"#),
        attributes: MessageAttributes::default(),
        retry_policy: RetryPolicy::default(),
        dead_letter_queue_url: None,
        accepted_at_ms: now_ms(),
    }
}

/// Fast retries for tests that do not measure the backoff.
fn fast() -> DelivererConfig {
    DelivererConfig {
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(100),
        },
        ..DelivererConfig::default()
    }
}

async fn start(store: &Store, destinations: Vec<Destination>) -> Deliverer {
    Deliverer::start(&store.path(), destinations, fast())
        .await
        .expect("the deliverer starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gets_payload_headers_api_key_and_idempotency_key() {
    let server = Recorder::always(Reply::status(202, "accepted"));
    let mut store = Store::new();
    let mut hook = webhook("hook", &server.url("/hook"));
    if let DestinationKind::Webhook(config) = &mut hook.kind {
        config.headers = vec![("X-Team".to_owned(), Secret::new("security"))];
        config.auth = Some(WebhookAuth::ApiKey {
            header: "x-api-key".to_owned(),
            value: Secret::new("key-123"),
        });
    }
    let deliverer = start(&store, vec![hook]).await;
    let mut outcomes = deliverer.subscribe();
    let sent = message("hook", "event-1");
    let id = store.enqueue(sent.clone());
    deliverer.wake();

    let requests = server.wait_for(1).await;
    let row = store
        .wait_state(&mut outcomes, id, MessageState::Delivered)
        .await;
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hook");
    assert_eq!(request.body, sent.payload);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-team"), Some("security"));
    assert_eq!(request.header("x-api-key"), Some("key-123"));
    assert_eq!(
        request.header("idempotency-key"),
        Some(sent.idempotency_key.as_str())
    );
    assert_eq!(row.attempts, 1);
    assert_eq!(row.response_status, Some(202));
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_basic_auth_is_sent() {
    let server = Recorder::always(Reply::ok());
    let mut store = Store::new();
    let mut hook = webhook("hook", &server.url("/basic"));
    if let DestinationKind::Webhook(config) = &mut hook.kind {
        config.auth = Some(WebhookAuth::Basic {
            username: "alice".to_owned(),
            password: Secret::new("s3cret"),
        });
    }
    let deliverer = start(&store, vec![hook]).await;
    let mut outcomes = deliverer.subscribe();
    let id = store.enqueue(message("hook", "event-basic"));
    deliverer.wake();
    let requests = server.wait_for(1).await;
    store
        .wait_state(&mut outcomes, id, MessageState::Delivered)
        .await;
    // base64("alice:s3cret")
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_until_delivered() {
    let server = Recorder::start(
        vec![Reply::status(500, "oops"), Reply::status(503, "busy")],
        Reply::ok(),
    );
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("hook", "event-500"),
            MessageState::Delivered,
        )
        .await;
    assert_eq!(server.requests().len(), 3);
    assert_eq!(row.attempts, 3);
    assert_last_error(&row, "HTTP_503");
    deliverer.shutdown().await;
}

/// Four rows for a webhook whose server answers only once four requests have arrived (and never
/// within the client's 3 s timeout otherwise): delivered at the first attempt only if they were
/// sent at once.
async fn four_rows_to_a_gathering_server(
    max_in_flight: Option<usize>,
) -> (Recorder, Vec<MessageSummary>) {
    let server = Recorder::always(Reply::Gather {
        count: 4,
        within: Duration::from_secs(60),
        then: Box::new(Reply::ok()),
        otherwise: Box::new(Reply::status(500, "alone")),
    });
    let mut store = Store::new();
    // Enqueued before the deliverer starts, so that its first claim takes all four.
    let ids: Vec<i64> = (0..4)
        .map(|n| store.enqueue(message("hook", &format!("event-gather-{n}"))))
        .collect();
    let mut hook = webhook("hook", &server.url("/"));
    hook.max_in_flight = max_in_flight;
    hook.timeout = Duration::from_secs(3);
    let deliverer = start(&store, vec![hook]).await;
    let mut outcomes = deliverer.subscribe();
    deliverer.wake();
    let mut rows = Vec::new();
    for id in ids {
        rows.push(
            store
                .wait_state(&mut outcomes, id, MessageState::Delivered)
                .await,
        );
    }
    deliverer.shutdown().await;
    (server, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_several_requests_at_once() {
    // The default for webhooks is 8 in flight.
    let (server, rows) = four_rows_to_a_gathering_server(None).await;
    assert_eq!(server.requests().len(), 4);
    assert!(rows.iter().all(|row| row.attempts == 1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_one_sends_one_at_a_time() {
    let (server, rows) = four_rows_to_a_gathering_server(Some(1)).await;
    // One at a time, the first three requests each time out alone; the fourth request overall
    // finds four and succeeds, and the retries of the first three follow.
    assert!(server.requests().len() > 4);
    assert!(rows.iter().any(|row| row.attempts > 1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_delays_the_next_attempt() {
    let server = Recorder::start(
        vec![Reply::status(429, "slow down").header("Retry-After", "1")],
        Reply::ok(),
    );
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let id = store.enqueue(message("hook", "event-429"));
    deliverer.wake();
    let requests = server.wait_for(2).await;
    let row = store
        .wait_state(&mut outcomes, id, MessageState::Delivered)
        .await;
    let gap = requests[1].at.duration_since(requests[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(row.attempts, 2);
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_is_a_dead_letter_at_once_with_the_answer_kept() {
    let server = Recorder::always(Reply::status(400, r#"{"error":"missing field title"}"#));
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("hook", "event-400"),
            MessageState::Dead,
        )
        .await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.response_status, Some(400));
    assert_eq!(
        row.response_body.as_deref(),
        Some(r#"{"error":"missing field title"}"#)
    );
    assert_eq!(row.exhausted_retry_condition, None);
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_retry_attempts_die_after_one_failure() {
    let server = Recorder::always(Reply::status(500, "down"));
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let mut sent = message("hook", "event-once");
    sent.retry_policy.maximum_retry_attempts = 0;
    let row = store
        .deliver(&deliverer, &mut outcomes, sent, MessageState::Dead)
        .await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(row.attempts, 1);
    assert_eq!(
        row.exhausted_retry_condition.as_deref(),
        Some("MaximumRetryAttempts")
    );
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_their_maximum_age_are_not_sent() {
    let server = Recorder::always(Reply::ok());
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let mut sent = message("hook", "event-old");
    sent.retry_policy.maximum_event_age_seconds = 60;
    sent.accepted_at_ms = now_ms() - 120_000;
    let row = store
        .deliver(&deliverer, &mut outcomes, sent, MessageState::Dead)
        .await;
    assert_eq!(server.requests().len(), 0);
    assert_eq!(row.attempts, 0);
    assert_eq!(
        row.exhausted_retry_condition.as_deref(),
        Some("MaximumEventAgeExceeded")
    );
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_maximum_event_age() {
    let server = Recorder::always(Reply::status(502, "bad gateway"));
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let mut sent = message("hook", "event-aging");
    sent.retry_policy.maximum_event_age_seconds = 60;
    // Half a second of age left: a few fast retries, then the age runs out.
    sent.accepted_at_ms = now_ms() - 59_500;
    let row = store
        .deliver(&deliverer, &mut outcomes, sent, MessageState::Dead)
        .await;
    assert!(row.attempts >= 1);
    assert_eq!(server.requests().len(), row.attempts as usize);
    assert_eq!(
        row.exhausted_retry_condition.as_deref(),
        Some("MaximumEventAgeExceeded")
    );
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_retried() {
    let server = Recorder::start(
        vec![Reply::Slow(Duration::from_secs(3), Box::new(Reply::ok()))],
        Reply::ok(),
    );
    let mut store = Store::new();
    let mut hook = webhook("hook", &server.url("/"));
    hook.timeout = Duration::from_millis(300);
    let deliverer = start(&store, vec![hook]).await;
    let mut outcomes = deliverer.subscribe();
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("hook", "event-slow"),
            MessageState::Delivered,
        )
        .await;
    assert_eq!(row.attempts, 2);
    assert_last_error(&row, "TIMEOUT");
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_of_one_per_second_spaces_requests() {
    let server = Recorder::always(Reply::ok());
    let mut store = Store::new();
    let mut hook = webhook("hook", &server.url("/"));
    hook.rate_limit_per_second = Some(1.0);
    let deliverer = start(&store, vec![hook]).await;
    let mut outcomes = deliverer.subscribe();
    let ids: Vec<i64> = (0..3)
        .map(|n| store.enqueue(message("hook", &format!("event-rate-{n}"))))
        .collect();
    deliverer.wake();
    let requests = server.wait_for(3).await;
    for pair in requests.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(900), "requests {gap:?} apart");
    }
    for id in ids {
        store
            .wait_state(&mut outcomes, id, MessageState::Delivered)
            .await;
    }
    deliverer.shutdown().await;
}

fn slack_webhook(name: &str, url: &str) -> Destination {
    destination(
        name,
        DestinationKind::Slack(SlackDestination::Webhook {
            url: Secret::new(url),
        }),
    )
}

fn slack_api(name: &str, base: &str) -> Destination {
    destination(
        name,
        DestinationKind::Slack(SlackDestination::Api {
            token: Secret::new("xoxb-test-token"),
            channel: "C0SECURITY".to_owned(),
            api_base_url: base.to_owned(),
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_webhook_delivers_on_ok_and_gives_up_on_no_service() {
    let server = Recorder::start(vec![Reply::ok()], Reply::status(404, "no_service"));
    let mut store = Store::new();
    let deliverer = start(
        &store,
        vec![slack_webhook("slack", &server.url("/services/T/B/X"))],
    )
    .await;
    let mut outcomes = deliverer.subscribe();
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("slack", "event-slack-1"),
            MessageState::Delivered,
        )
        .await;
    assert_eq!(row.response_body.as_deref(), Some("ok"));
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("slack", "event-slack-2"),
            MessageState::Dead,
        )
        .await;
    assert_last_error(&row, "no_service");
    assert_eq!(server.requests().len(), 2);
    let body = server.requests()[0].json();
    assert_eq!(body["text"], "alert for event-slack-1");
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_api_posts_with_token_and_channel_and_handles_errors() {
    let server = Recorder::start(
        vec![
            Reply::status(429, r#"{"ok":false,"error":"ratelimited"}"#).header("Retry-After", "1"),
            Reply::status(
                200,
                r#"{"ok":true,"channel":"C0SECURITY","ts":"1700000000.000100"}"#,
            ),
            Reply::status(200, r#"{"ok":false,"error":"channel_not_found"}"#),
        ],
        Reply::status(500, "unexpected"),
    );
    let mut store = Store::new();
    let deliverer = start(&store, vec![slack_api("slack", &server.url("/api"))]).await;
    let mut outcomes = deliverer.subscribe();
    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("slack", "event-api-1"),
            MessageState::Delivered,
        )
        .await;
    assert_eq!(row.attempts, 2);
    assert_eq!(row.remote_id.as_deref(), Some("1700000000.000100"));
    let requests = server.requests();
    assert!(requests[1].at.duration_since(requests[0].at) >= Duration::from_secs(1));
    assert_eq!(requests[0].path, "/api/chat.postMessage");
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer xoxb-test-token")
    );
    let body = requests[0].json();
    assert_eq!(body["channel"], "C0SECURITY");
    assert_eq!(body["text"], "alert for event-api-1");

    let row = store
        .deliver(
            &deliverer,
            &mut outcomes,
            message("slack", "event-api-2"),
            MessageState::Dead,
        )
        .await;
    assert_eq!(row.attempts, 1);
    assert_last_error(&row, "channel_not_found");
    deliverer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_reply_waits_for_its_parent_and_goes_in_its_thread() {
    let server = Recorder::always(Reply::status(
        200,
        r#"{"ok":true,"channel":"C0SECURITY","ts":"1700000000.000200"}"#,
    ));
    let mut store = Store::new();
    let parent = message("slack", "event-parent");
    let mut reply = message("slack", "event-reply");
    reply.attributes.thread_parent_key = Some(parent.idempotency_key.clone());
    // The reply is in the outbox first: it must still go second, in the parent's thread.
    let reply_id = store.enqueue(reply);
    let parent_id = store.enqueue(parent);
    let deliverer = start(&store, vec![slack_api("slack", &server.url("/api"))]).await;
    let mut outcomes = deliverer.subscribe();
    deliverer.wake();
    store
        .wait_state(&mut outcomes, reply_id, MessageState::Delivered)
        .await;
    store
        .wait_state(&mut outcomes, parent_id, MessageState::Delivered)
        .await;
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].json()["text"], "alert for event-parent");
    assert!(requests[0].json().get("thread_ts").is_none());
    assert_eq!(requests[1].json()["text"], "alert for event-reply");
    assert_eq!(requests[1].json()["thread_ts"], "1700000000.000200");
    deliverer.shutdown().await;
}

#[test]
fn rows_left_in_flight_by_a_crash_are_delivered_after_restart() {
    let hanging = Recorder::always(Reply::Hang);
    let mut store = Store::new();
    let id = store.enqueue(message("hook", "event-crash"));

    // The first process claims the row, sends it, and dies before the answer.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut hook = webhook("hook", &hanging.url("/"));
        hook.timeout = Duration::from_secs(600);
        let deliverer = Deliverer::start(&store.path(), vec![hook], fast())
            .await
            .expect("the deliverer starts");
        hanging.wait_for(1).await;
        // No shutdown: the process "dies" with the attempt in flight.
        std::mem::forget(deliverer);
    });
    runtime.shutdown_background();
    let row = store.outbox.get(id).expect("read").expect("the row");
    assert_eq!(row.state, MessageState::InFlight);

    // The next process finds it in flight and delivers it.
    let server = Recorder::always(Reply::ok());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let deliverer = Deliverer::start(
            &store.path(),
            vec![webhook("hook", &server.url("/"))],
            fast(),
        )
        .await
        .expect("the deliverer starts");
        let mut outcomes = deliverer.subscribe();
        let row = store
            .wait_state(&mut outcomes, id, MessageState::Delivered)
            .await;
        assert_eq!(row.attempts, 1);
        assert_eq!(server.requests().len(), 1);
        deliverer.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_get_one_json_line_per_alert() {
    let mut store = Store::new();
    let path = store.dir.path().join("alerts.jsonl");
    let file = destination(
        "file",
        DestinationKind::File(FileDestination { path: path.clone() }),
    );
    let deliverer = start(&store, vec![file]).await;
    let mut outcomes = deliverer.subscribe();
    let sent = message("file", "event-file");
    let id = store.enqueue(sent.clone());
    deliverer.wake();
    store
        .wait_state(&mut outcomes, id, MessageState::Delivered)
        .await;
    let text = std::fs::read_to_string(&path).expect("the file exists");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1);
    let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(line["idempotency_key"], sent.idempotency_key.as_str());
    assert_eq!(line["payload"]["text"], "alert for event-file");
    deliverer.shutdown().await;
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn run_cli(args: &[&str], data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("trailbell runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_errors_listings_or_logs() {
    const SECRET: &str = "T000/B000/very-secret-path";
    let mut store = Store::new();
    let url = format!("http://127.0.0.1:{}/services/{SECRET}", closed_port());
    let mut hook = webhook("leaky-hook", &url);
    if let DestinationKind::Webhook(config) = &mut hook.kind {
        config.auth = Some(WebhookAuth::ApiKey {
            header: "x-api-key".to_owned(),
            value: Secret::new("api-key-very-secret"),
        });
    }
    let slack = slack_webhook("leaky-slack", &url);
    let deliverer = start(&store, vec![hook, slack]).await;
    let mut outcomes = deliverer.subscribe();
    let mut ids = Vec::new();
    for destination in ["leaky-hook", "leaky-slack"] {
        let mut sent = message(destination, &format!("event-{destination}"));
        sent.retry_policy.maximum_retry_attempts = 1;
        ids.push(store.enqueue(sent));
    }
    deliverer.wake();
    for id in &ids {
        let row = store
            .wait_state(&mut outcomes, *id, MessageState::Dead)
            .await;
        let error = row.last_error.expect("an error is kept");
        assert!(error.starts_with("CONNECTION"), "{error}");
        assert!(!error.contains(SECRET), "{error}");
    }
    deliverer.shutdown().await;

    for args in [
        &["outbox", "list"][..],
        &["outbox", "list", "--format", "json"],
        &["outbox", "status", "--format", "json"],
    ] {
        let output = run_cli(args, store.dir.path());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains("leaky-hook"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
    }
    let logs = String::from_utf8_lossy(&logs().lock().expect("log lock")).into_owned();
    assert!(logs.contains("leaky-slack"), "the failures were logged");
    assert!(!logs.contains("very-secret"), "{logs}");
    let _ = std::io::stderr().flush();
}

// SNS and SQS against moto.

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), now_ms())
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sqs::config::Region::from_static("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .expect("moto creates the queue")
        .queue_url()
        .expect("a queue URL")
        .to_owned()
}

async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("moto receives")
        .messages()
        .to_vec()
}

fn attribute(message: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|value| value.string_value())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_standard_and_fifo_queues_receive_the_payload() {
    let endpoint = moto_endpoint();
    let sqs = sqs_client(&endpoint);
    let standard = create_queue(&sqs, &unique("tb-standard")).await;
    let fifo = create_queue(&sqs, &format!("{}.fifo", unique("tb-fifo"))).await;
    let mut store = Store::new();
    let destinations = vec![
        destination(
            "standard",
            DestinationKind::Sqs(SqsDestination {
                queue_url: standard.clone(),
                message_group_id: None,
                endpoint_url: Some(endpoint.clone()),
            }),
        ),
        destination(
            "fifo",
            DestinationKind::Sqs(SqsDestination {
                queue_url: fifo.clone(),
                message_group_id: Some("alerts".to_owned()),
                endpoint_url: Some(endpoint.clone()),
            }),
        ),
    ];
    let deliverer = start(&store, destinations).await;
    let mut outcomes = deliverer.subscribe();
    let to_standard = message("standard", "event-sqs");
    let to_fifo = message("fifo", "event-sqs-fifo");
    let ids = [
        store.enqueue(to_standard.clone()),
        store.enqueue(to_fifo.clone()),
    ];
    deliverer.wake();
    for id in ids {
        let row = store
            .wait_state(&mut outcomes, id, MessageState::Delivered)
            .await;
        assert!(row.remote_id.is_some(), "SQS returned a message id");
    }
    deliverer.shutdown().await;

    let received = receive(&sqs, &standard).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body(), Some(to_standard.payload.as_str()));
    assert_eq!(
        attribute(&received[0], "trailbell.idempotency_key"),
        Some(to_standard.idempotency_key.clone())
    );
    let received = receive(&sqs, &fifo).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body(), Some(to_fifo.payload.as_str()));
    let attributes = received[0].attributes().expect("system attributes");
    assert_eq!(
        attributes
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some("alerts")
    );
    assert_eq!(
        attributes
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageDeduplicationId)
            .map(String::as_str),
        Some(to_fifo.idempotency_key.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_publishes_to_a_topic_that_a_queue_subscribes_to() {
    let endpoint = moto_endpoint();
    let sqs = sqs_client(&endpoint);
    let config = aws_sdk_sns::config::Builder::new()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_sdk_sns::config::Region::from_static("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let sns = aws_sdk_sns::Client::from_conf(config);
    let topic_arn = sns
        .create_topic()
        .name(unique("tb-topic"))
        .send()
        .await
        .expect("moto creates the topic")
        .topic_arn()
        .expect("a topic ARN")
        .to_owned();
    let queue_url = create_queue(&sqs, &unique("tb-sns-sub")).await;
    common::subscribe_queue_to_topic(&sns, &sqs, &topic_arn, &queue_url, false).await;

    let mut store = Store::new();
    let topic = destination(
        "topic",
        DestinationKind::Sns(SnsDestination {
            topic_arn: topic_arn.clone(),
            chatbot_format: false,
            endpoint_url: Some(endpoint.clone()),
        }),
    );
    let deliverer = start(&store, vec![topic]).await;
    let mut outcomes = deliverer.subscribe();
    let sent = message("topic", "event-sns");
    let id = store.enqueue(sent.clone());
    deliverer.wake();
    store
        .wait_state(&mut outcomes, id, MessageState::Delivered)
        .await;
    deliverer.shutdown().await;

    let received = receive(&sqs, &queue_url).await;
    assert_eq!(received.len(), 1);
    let envelope: serde_json::Value =
        serde_json::from_str(received[0].body().expect("a body")).expect("the SNS envelope");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    assert_eq!(envelope["Message"], sent.payload.as_str());
    assert_eq!(
        envelope["MessageAttributes"]["trailbell.idempotency_key"]["Value"],
        sent.idempotency_key.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_land_in_their_dead_letter_queue() {
    let endpoint = moto_endpoint();
    let sqs = sqs_client(&endpoint);
    let dlq = create_queue(&sqs, &unique("tb-dlq")).await;
    let server = Recorder::always(Reply::status(500, "down"));
    let mut store = Store::new();
    let deliverer = start(&store, vec![webhook("hook", &server.url("/"))]).await;
    let mut outcomes = deliverer.subscribe();
    let mut sent = message("hook", "event-dlq");
    sent.retry_policy.maximum_retry_attempts = 1;
    sent.dead_letter_queue_url = Some(dlq.clone());
    let row = store
        .deliver(&deliverer, &mut outcomes, sent.clone(), MessageState::Dead)
        .await;
    assert_eq!(row.dead_letter_status.as_deref(), Some("sent"), "{row:?}");
    deliverer.shutdown().await;

    let received = receive(&sqs, &dlq).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.body(), Some(sent.payload.as_str()));
    assert_eq!(
        attribute(message, "ERROR_CODE").as_deref(),
        Some("HTTP_500")
    );
    assert_eq!(
        attribute(message, "RULE_ARN").as_deref(),
        Some("root-sign-in")
    );
    assert_eq!(attribute(message, "TARGET_ARN").as_deref(), Some("alerts"));
    // One retry allowed, one made: EventBridge counts retries, not attempts.
    assert_eq!(attribute(message, "RETRY_ATTEMPTS").as_deref(), Some("1"));
    assert_eq!(
        attribute(message, "EXHAUSTED_RETRY_CONDITION").as_deref(),
        Some("MaximumRetryAttempts")
    );
}
