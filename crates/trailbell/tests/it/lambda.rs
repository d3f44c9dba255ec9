//! The Lambda build (`bootstrap`) driven for real: the binary runs as a child process against a
//! Lambda Runtime API server of this test's own on 127.0.0.1, which hands it EventBridge events
//! and records what it answers. Alerts go to a recording webhook; the AWS parts (an SSM
//! parameter and a Secrets Manager secret by reference, an SQS dead-letter queue) to moto
//! (`TRAILBELL_TEST_MOTO_ENDPOINT`, see tests/it/s3.rs). Nothing sleeps to synchronise: the test
//! waits for the Runtime API to receive the answer, and delivery happens before the answer.

use crate::common;
use crate::common::recorder;

use common::moto_endpoint;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use recorder::{Recorder, Reply};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// How long a test waits for an answer before it fails (a guard, not a synchronisation).
const ANSWER_LIMIT: Duration = Duration::from_secs(60);

/// An event handed to the function.
#[derive(Debug)]
struct Invocation {
    request_id: String,
    body: String,
    deadline_ms: u64,
}

/// What the function told the Runtime API.
#[derive(Debug)]
enum Outcome {
    Response {
        request_id: String,
        body: Value,
    },
    Error {
        request_id: String,
        error_type: String,
        body: Value,
    },
    InitError {
        error_type: String,
        body: Value,
    },
}

struct Shared {
    invocations: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    outcomes: mpsc::UnboundedSender<(Instant, Outcome)>,
    first_next: std::sync::Mutex<Option<Instant>>,
}

/// The Runtime API: `next` long-polls for the test's next event, like Lambda's.
struct RuntimeApi {
    address: SocketAddr,
    invocations: mpsc::UnboundedSender<Invocation>,
    outcomes: mpsc::UnboundedReceiver<(Instant, Outcome)>,
    shared: Arc<Shared>,
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut first = shared.first_next.lock().expect("lock");
        first.get_or_insert_with(Instant::now);
    }
    let invocation = shared.invocations.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return StatusCode::GONE.into_response();
    };
    (
        [
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            (
                "Lambda-Runtime-Deadline-Ms",
                invocation.deadline_ms.to_string(),
            ),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:trailbell".to_owned(),
            ),
            ("Content-Type", "application/json".to_owned()),
        ],
        invocation.body,
    )
        .into_response()
}

fn json_or_text(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

/// The body's `errorType` (lambda_runtime's header says only `unhandled`), else the header's.
fn error_type(headers: &HeaderMap, body: &Value) -> String {
    body["errorType"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get("Lambda-Runtime-Function-Error-Type")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

impl RuntimeApi {
    async fn start() -> RuntimeApi {
        let (invocations, receiver) = mpsc::unbounded_channel();
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            invocations: Mutex::new(receiver),
            outcomes: outcomes_tx,
            first_next: std::sync::Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(
                    |State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: String| async move {
                        let _ = shared.outcomes.send((
                            Instant::now(),
                            Outcome::Response { request_id: id, body: json_or_text(&body) },
                        ));
                        StatusCode::ACCEPTED
                    },
                ),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(
                    |State(shared): State<Arc<Shared>>,
                     UrlPath(id): UrlPath<String>,
                     headers: HeaderMap,
                     body: String| async move {
                        let body = json_or_text(&body);
                        let _ = shared.outcomes.send((
                            Instant::now(),
                            Outcome::Error {
                                request_id: id,
                                error_type: error_type(&headers, &body),
                                body,
                            },
                        ));
                        StatusCode::ACCEPTED
                    },
                ),
            )
            .route(
                "/2018-06-01/runtime/init/error",
                post(
                    |State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String| async move {
                        let body = json_or_text(&body);
                        let _ = shared.outcomes.send((
                            Instant::now(),
                            Outcome::InitError { error_type: error_type(&headers, &body), body },
                        ));
                        StatusCode::ACCEPTED
                    },
                ),
            )
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            address,
            invocations,
            outcomes,
            shared,
        }
    }

    /// Hands `event` to the function with `time` to run; returns its answer.
    async fn invoke(&mut self, event: &str, time: Duration) -> Outcome {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let request_id = format!(
            "req-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let deadline = SystemTime::now() + time;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        self.invocations
            .send(Invocation {
                request_id: request_id.clone(),
                body: event.to_owned(),
                deadline_ms,
            })
            .expect("the Runtime API is up");
        let outcome = self.outcome().await;
        match &outcome {
            Outcome::Response { request_id: id, .. } | Outcome::Error { request_id: id, .. } => {
                assert_eq!(id, &request_id, "the answer is for this invocation")
            }
            Outcome::InitError { .. } => {}
        }
        outcome
    }

    /// The next answer the function gave.
    async fn outcome(&mut self) -> Outcome {
        self.timed_outcome().await.1
    }

    async fn timed_outcome(&mut self) -> (Instant, Outcome) {
        tokio::time::timeout(ANSWER_LIMIT, self.outcomes.recv())
            .await
            .expect("the function answers within a minute")
            .expect("the Runtime API is up")
    }
}

/// The `bootstrap` process; killed when dropped.
struct Bootstrap {
    child: Child,
    log: std::path::PathBuf,
}

impl Bootstrap {
    fn start(api: &RuntimeApi, dir: &Path, config: &str, extra: &[(&str, &str)]) -> Bootstrap {
        let config_path = dir.join("trailbell.toml");
        std::fs::write(&config_path, config).expect("write the configuration");
        let log = dir.join("bootstrap.log");
        // The measurement below may run the packaged (release, musl) binary instead.
        let binary = std::env::var("TRAILBELL_BOOTSTRAP")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_bootstrap").to_owned());
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "trailbell")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/trailbell")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("TRAILBELL_CONFIG", &config_path)
            .env("TRAILBELL_STATE_DIR", dir.join("state"))
            .env("TRAILBELL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("stdout.log")).expect("a log file"),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("a log file"),
            ));
        for (name, value) in extra {
            command.env(name, value);
        }
        Bootstrap {
            child: command.spawn().expect("start bootstrap"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn envelope(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/envelopes")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

const ROOT_SIGN_IN: &str = "console-login-root-mfa.json";
const IAM_SIGN_IN: &str = "console-login-iam-mfa.json";

/// A webhook destination (its endpoint as given: a URL or a reference) and one rule for root
/// sign-ins, with `target_extra` added to its target.
fn config(service: &str, endpoint: &str, headers: &str, target_extra: &str) -> String {
    format!(
        r#"
[service]
{service}

# The API is not used in Lambda, but the file is the same as `trailbell run`'s.
[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "{endpoint}"
{headers}

[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{{"source": ["aws.signin"], "detail": {{"userIdentity": {{"type": ["Root"]}}}}}}'
Targets = [{{ Id = "hook", Arn = "hook"{target_extra} }}]
"#
    )
}

fn response(outcome: Outcome, bootstrap: &Bootstrap) -> Value {
    match outcome {
        Outcome::Response { body, .. } => body,
        other => panic!("expected a response, got {other:?}\n{}", bootstrap.log()),
    }
}

fn event_id(event: &str) -> String {
    serde_json::from_str::<Value>(event).expect("JSON")["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_sign_in_alerts_once_and_other_events_send_nothing() {
    let hook = Recorder::always(Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let bootstrap = Bootstrap::start(
        &api,
        dir.path(),
        &config("", &hook.url("/alerts"), "", ""),
        &[],
    );
    let root = envelope(ROOT_SIGN_IN);

    let answer = response(api.invoke(&root, Duration::from_secs(30)).await, &bootstrap);
    assert_eq!(answer["alerts"], 1, "{answer}");
    assert_eq!(answer["delivered"], 1, "{answer}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/alerts");
    // The webhook gets the envelope as EventBridge delivered it, `detail` untouched.
    let sent: Value = serde_json::from_str(&requests[0].body).expect("JSON");
    let original: Value = serde_json::from_str(&root).expect("JSON");
    assert_eq!(sent, original);
    let key = requests[0]
        .header("Idempotency-Key")
        .expect("an idempotency key");
    assert_eq!(key.len(), 32);

    let answer = response(
        api.invoke(&envelope(IAM_SIGN_IN), Duration::from_secs(30))
            .await,
        &bootstrap,
    );
    assert_eq!(answer["alerts"], 0, "{answer}");

    // The same event again (EventBridge delivers at least once): not sent twice while warm.
    let answer = response(api.invoke(&root, Duration::from_secs(30)).await, &bootstrap);
    assert_eq!(answer["alerts"], 0, "{answer}");
    assert_eq!(hook.requests().len(), 1, "nothing more was sent");

    // A payload that is not an event is answered, not retried.
    let answer = response(
        api.invoke("[1, 2]", Duration::from_secs(30)).await,
        &bootstrap,
    );
    assert_eq!(answer["status"], "ignored", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried_within_the_invocation() {
    let hook = Recorder::start(vec![Reply::status(503, "busy")], Reply::ok());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let bootstrap = Bootstrap::start(
        &api,
        dir.path(),
        &config("", &hook.url("/"), "", ""),
        &[("TRAILBELL_RETRY_BASE_MS", "20")],
    );
    let answer = response(
        api.invoke(&envelope(ROOT_SIGN_IN), Duration::from_secs(30))
            .await,
        &bootstrap,
    );
    assert_eq!(answer["delivered"], 1, "{answer}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("Idempotency-Key"),
        requests[1].header("Idempotency-Key")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_alert_fails_the_invocation_and_the_retry_sends_it() {
    // The first answer asks for 30 s: more than the invocation has, so it ends undelivered.
    let hook = Recorder::start(
        vec![Reply::status(500, "down").header("Retry-After", "30")],
        Reply::ok(),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let bootstrap = Bootstrap::start(&api, dir.path(), &config("", &hook.url("/"), "", ""), &[]);
    let root = envelope(ROOT_SIGN_IN);

    match api.invoke(&root, Duration::from_secs(10)).await {
        Outcome::Error {
            error_type, body, ..
        } => {
            assert_eq!(error_type, "Trailbell.Undelivered", "{body}");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains(&event_id(&root)), "{message}");
            assert!(message.contains("HTTP_500"), "{message}");
        }
        other => panic!("expected an error, got {other:?}\n{}", bootstrap.log()),
    }
    assert_eq!(hook.requests().len(), 1);

    // EventBridge's retry of the same event, the webhook back up.
    let answer = response(api.invoke(&root, Duration::from_secs(10)).await, &bootstrap);
    assert_eq!(answer["delivered"], 1, "{answer}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("Idempotency-Key"),
        requests[1].header("Idempotency-Key"),
        "the retry is the same alert"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_is_reported_as_an_init_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let config = config("", "https://example.invalid/", "", "")
        .replace(r#"Arn = "hook""#, r#"Arn = "nowhere""#)
        .replace("severity = \"high\"", "severity = \"dire\"");
    let mut bootstrap = Bootstrap::start(&api, dir.path(), &config, &[]);
    match api.outcome().await {
        Outcome::InitError { error_type, body } => {
            assert_eq!(error_type, "Trailbell.InvalidConfiguration", "{body}");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(
                message.contains("rules[0]") && message.contains("dire"),
                "{message}"
            );
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = bootstrap.child.wait().expect("wait for bootstrap");
        (status, bootstrap)
    })
    .await
    .expect("join");
    assert!(!status.0.success(), "bootstrap exits with failure");
    assert!(
        api.shared.first_next.lock().expect("lock").is_none(),
        "no event was asked for"
    );
}

// AWS through moto.

async fn moto_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("tb-lambda-{name}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_ssm_and_secrets_manager_and_a_refused_alert_goes_to_the_dlq() {
    let endpoint = moto_endpoint();
    let sdk = moto_sdk(&endpoint).await;
    let hook = Recorder::always(Reply::status(400, "bad payload"));

    let parameter = format!("/{}/hook-url", unique("ssm"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&parameter)
        .value(hook.url("/from-ssm"))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put the parameter");
    let secret = unique("token");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&secret)
        .secret_string("s3cr3t-token")
        .send()
        .await
        .expect("create the secret");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = unique("dlq");
    let queue_url = sqs
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("a queue URL");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let config = config(
        &format!("aws_endpoint_url = \"{endpoint}\""),
        &format!("ssm:{parameter}"),
        &format!("headers = {{ X-Token = \"secretsmanager:{secret}\" }}"),
        &format!(", DeadLetterConfig = {{ Arn = \"arn:aws:sqs:us-east-1:123456789012:{queue}\" }}"),
    );
    let bootstrap = Bootstrap::start(&api, dir.path(), &config, &[]);
    let root = envelope(ROOT_SIGN_IN);

    let answer = response(api.invoke(&root, Duration::from_secs(30)).await, &bootstrap);
    assert_eq!(answer["dead_letters"], 1, "{answer}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "one attempt: a 400 is not retried");
    assert_eq!(requests[0].path, "/from-ssm", "the URL came from SSM");
    assert_eq!(requests[0].header("X-Token"), Some("s3cr3t-token"));

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .message_attribute_names("All")
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "the dead letter is on its queue");
    let attributes = messages[0].message_attributes.clone().unwrap_or_default();
    let attribute = |name: &str| {
        attributes
            .get(name)
            .and_then(|value| value.string_value.clone())
            .unwrap_or_default()
    };
    assert_eq!(attribute("ERROR_CODE"), "HTTP_400");
    assert_eq!(attribute("EVENT_ID"), event_id(&root));
    let body: Value =
        serde_json::from_str(messages[0].body.as_deref().unwrap_or("")).expect("JSON");
    assert_eq!(body["id"], event_id(&root));

    // Retried by EventBridge anyway: the dead letter is not sent again.
    let answer = response(api.invoke(&root, Duration::from_secs(30)).await, &bootstrap);
    assert_eq!(answer["alerts"], 0, "{answer}");
    assert_eq!(hook.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ssm_parameter_is_an_init_error() {
    let endpoint = moto_endpoint();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut api = RuntimeApi::start().await;
    let parameter = format!("/{}/absent", unique("ssm"));
    let config = config(
        &format!("aws_endpoint_url = \"{endpoint}\""),
        &format!("ssm:{parameter}"),
        "",
        "",
    );
    let _bootstrap = Bootstrap::start(&api, dir.path(), &config, &[]);
    match api.outcome().await {
        Outcome::InitError { error_type, body } => {
            assert_eq!(error_type, "Trailbell.SecretUnavailable", "{body}");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains(&parameter), "{message}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
}

/// Cold start and per-event cost through this Runtime API (docs/PERFORMANCE.md, "Lambda"):
/// `TRAILBELL_BOOTSTRAP=target/x86_64-unknown-linux-musl/release/bootstrap cargo test -p trailbell
/// --release --test it lambda:: -- --ignored --nocapture measure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run by hand"]
async fn measure_cold_start_and_per_event_cost() {
    const EVENTS: usize = 500;
    let hook = Recorder::always(Reply::ok());
    let mut api = RuntimeApi::start().await;
    let root = envelope(ROOT_SIGN_IN);
    let other = envelope(IAM_SIGN_IN);
    let mut cold = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("a temporary directory");
        *api.shared.first_next.lock().expect("lock") = None;
        let started = Instant::now();
        let bootstrap =
            Bootstrap::start(&api, dir.path(), &config("", &hook.url("/"), "", ""), &[]);
        let answer = api.invoke(&root, Duration::from_secs(30)).await;
        let answered = Instant::now();
        response(answer, &bootstrap);
        let ready = api
            .shared
            .first_next
            .lock()
            .expect("lock")
            .expect("asked for an event");
        cold.push((ready - started, answered - started));
    }
    for (ready, answered) in &cold {
        println!(
            "cold start: first `next` after {ready:?}, first answer (1 alert) after {answered:?}"
        );
    }
    // Warm: events that match nothing, then events that each raise and deliver one alert.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bootstrap = Bootstrap::start(&api, dir.path(), &config("", &hook.url("/"), "", ""), &[]);
    response(
        api.invoke(&other, Duration::from_secs(30)).await,
        &bootstrap,
    );
    let started = Instant::now();
    for _ in 0..EVENTS {
        response(
            api.invoke(&other, Duration::from_secs(30)).await,
            &bootstrap,
        );
    }
    let elapsed = started.elapsed();
    println!(
        "warm, no match: {EVENTS} invocations in {elapsed:?}: {:.0}/s, {:?} each",
        EVENTS as f64 / elapsed.as_secs_f64(),
        elapsed / EVENTS as u32
    );
    let started = Instant::now();
    for index in 0..EVENTS {
        let event = root.replace(
            "ea1e0000-0000-4000-8000-000000000002",
            &format!("ea1e0000-0000-4000-8000-{index:012}"),
        );
        let answer = response(
            api.invoke(&event, Duration::from_secs(30)).await,
            &bootstrap,
        );
        assert_eq!(answer["delivered"], 1, "{answer}");
    }
    let elapsed = started.elapsed();
    println!(
        "warm, one alert delivered to a local webhook: {EVENTS} invocations in {elapsed:?}: {:.0}/s, {:?} each",
        EVENTS as f64 / elapsed.as_secs_f64(),
        elapsed / EVENTS as u32
    );
}
