//! PutEvents throughput and latency: `trailbell run` (the release binary, as a child process) with
//! 100 rules and a webhook target, loaded by concurrent clients sending 10-entry PutEvents
//! requests; and, side by side, a moto server answering the same requests (when
//! `TRAILBELL_TEST_MOTO_ENDPOINT` names one: run under `scripts/lib/with-test-services`).
//!
//! ```sh
//! cargo build --release -p trailbell
//! scripts/lib/with-test-services cargo run --release -p trailbell-bench --bin putevents -- \
//!     [--events 200000] [--clients 32] [--rules 100] [--moto-events 20000] [--rate 5000]
//!     [--latency-events 50000] [--burst 1]
//! ```
//!
//! Measured: events/s accepted (every PutEvents answered with no failed entry), the PutEvents
//! round trip (p50, p99), and the hand-off latency: from sending the PutEvents request that
//! carried an event to the webhook target receiving its alert (p50, p99). One event in ten matches
//! one of the rules.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Options {
    events: u64,
    clients: u64,
    rules: u64,
    moto_events: u64,
    /// Events per second of the latency phase.
    rate: u64,
    /// Events of the latency phase.
    latency_events: u64,
}

fn options() -> Options {
    let mut options = Options {
        events: 200_000,
        clients: 32,
        rules: 100,
        moto_events: 20_000,
        rate: 5_000,
        latency_events: 50_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
        match (pair[0].as_str(), value) {
            ("--events", Some(v)) => options.events = v,
            ("--clients", Some(v)) => options.clients = v.max(1),
            ("--rules", Some(v)) => options.rules = v.max(1),
            ("--moto-events", Some(v)) => options.moto_events = v,
            ("--rate", Some(v)) => options.rate = v.max(10),
            ("--latency-events", Some(v)) => options.latency_events = v,
            ("--burst", Some(v)) => BURST.store(v.max(1), Ordering::Relaxed),
            _ => {
                eprintln!(
                    "usage: putevents [--events N] [--clients N] [--rules N] [--moto-events N] [--rate N] [--latency-events N] [--burst N]"
                );
                std::process::exit(2);
            }
        }
    }
    options
}

/// The detail of event `n`, named by [`event_name`].
fn entry(n: u64, rules: u64) -> Value {
    let detail = json!({
        "eventVersion": "1.08",
        "eventSource": "bench.amazonaws.com",
        "eventName": event_name(n, rules),
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "bench/1.0",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bench", "userName": "bench"},
        "requestParameters": {"bucketName": "bench-bucket", "key": format!("objects/{n}")},
        "eventID": format!("bench-{n}"),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    });
    json!({"Source": "aws.bench", "DetailType": "AWS API Call via CloudTrail", "Detail": detail.to_string()})
}

/// How many matching events come in a row (`--burst`; 1 by default).
static BURST: AtomicU64 = AtomicU64::new(1);

/// One event in ten matches one of the rules (`Op0` to `Op{rules-1}`, in turn); the others are
/// named past the rules. By default every tenth event, so that a steady event rate is a steady
/// alert rate; with `--burst N`, runs of N matching events followed by 9N others.
fn event_name(n: u64, rules: u64) -> String {
    let burst = BURST.load(Ordering::Relaxed);
    let run = n / burst;
    if run.is_multiple_of(10) {
        format!("Op{}", ((run / 10) * burst + n % burst) % rules)
    } else {
        format!("Op{}", rules + n % (9 * rules))
    }
}

fn rule_pattern(i: u64) -> String {
    json!({"source": ["aws.bench"], "detail": {"eventName": [format!("Op{i}")]}}).to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct Sink {
    received: Mutex<HashMap<String, Instant>>,
    count: AtomicU64,
}

/// A webhook target that notes when each alert (by event id) arrived.
async fn start_sink() -> (String, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let state = Arc::clone(&sink);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the sink");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let state = Arc::clone(&state);
        async move {
            let now = Instant::now();
            if let Ok(value) = serde_json::from_slice::<Value>(&body)
                && let Some(id) = value.get("id").and_then(Value::as_str)
            {
                state
                    .received
                    .lock()
                    .expect("sink lock")
                    .insert(id.to_owned(), now);
                state.count.fetch_add(1, Ordering::Relaxed);
            }
            "ok"
        }
    });
    tokio::spawn(async move {
        use axum::serve::ListenerExt as _;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/"), sink)
}

struct Load {
    events: u64,
    elapsed: Duration,
    round_trips: Vec<Duration>,
    /// Event id -> when the request that carried it was sent.
    sent: HashMap<String, Instant>,
    failed: u64,
}

impl Load {
    /// Nothing measured yet for a load of `events` events.
    fn of(events: u64) -> Load {
        Load {
            events,
            elapsed: Duration::ZERO,
            round_trips: Vec::new(),
            sent: HashMap::new(),
            failed: 0,
        }
    }
}

/// Sends `events` events in 10-entry PutEvents requests from `clients` concurrent clients.
async fn load(
    url: &str,
    headers: &[(&str, String)],
    events: u64,
    clients: u64,
    rules: u64,
) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()
        .expect("a client");
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next, url) = (client.clone(), Arc::clone(&next), url.to_owned());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut round_trips = Vec::new();
            let mut sent = HashMap::new();
            let mut failed = 0;
            loop {
                let first = next.fetch_add(10, Ordering::Relaxed);
                if first >= events {
                    break;
                }
                let last = (first + 10).min(events);
                let entries: Vec<Value> = (first..last).map(|n| entry(n, rules)).collect();
                let body = json!({ "Entries": entries }).to_string();
                let mut request = client
                    .post(&url)
                    .header("X-Amz-Target", "AWSEvents.PutEvents")
                    .header("Content-Type", "application/x-amz-json-1.1");
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                let at = Instant::now();
                let response = request.body(body).send().await;
                let Ok(response) = response else {
                    failed += last - first;
                    continue;
                };
                let Ok(text) = response.text().await else {
                    failed += last - first;
                    continue;
                };
                round_trips.push(at.elapsed());
                let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                failed += answer["FailedEntryCount"].as_u64().unwrap_or(last - first);
                for entry in answer["Entries"].as_array().into_iter().flatten() {
                    if let Some(id) = entry["EventId"].as_str() {
                        sent.insert(id.to_owned(), at);
                    }
                }
            }
            (round_trips, sent, failed)
        }));
    }
    let mut result = Load::of(events);
    for task in tasks {
        let (round_trips, sent, failed) = task.await.expect("a client task");
        result.round_trips.extend(round_trips);
        result.sent.extend(sent);
        result.failed += failed;
    }
    result.elapsed = started.elapsed();
    result.round_trips.sort();
    result
}

/// Sends `events` events at `rate` events/s (10-entry requests started on a fixed schedule,
/// whatever the answers' speed: an open loop, so latency is not hidden by waiting clients).
async fn paced_load(url: &str, events: u64, rate: u64, first_event: u64, rules: u64) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let requests = events.div_ceil(10);
    let period = Duration::from_secs_f64(10.0 / rate as f64);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for request in 0..requests {
        ticker.tick().await;
        let first = first_event + request * 10;
        let last = (first + 10).min(first_event + events);
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let entries: Vec<Value> = (first..last).map(|n| entry(n, rules)).collect();
            let body = json!({ "Entries": entries }).to_string();
            let at = Instant::now();
            let response = client
                .post(&url)
                .header("X-Amz-Target", "AWSEvents.PutEvents")
                .header("Content-Type", "application/x-amz-json-1.1")
                .body(body)
                .send()
                .await;
            let text = match response {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let round_trip = at.elapsed();
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let failed = answer["FailedEntryCount"].as_u64().unwrap_or(last - first);
            let ids: Vec<String> = answer["Entries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|entry| entry["EventId"].as_str().map(str::to_owned))
                .collect();
            (at, round_trip, failed, ids)
        }));
    }
    let mut result = Load::of(events);
    for task in tasks {
        let (at, round_trip, failed, ids) = task.await.expect("a request task");
        result.round_trips.push(round_trip);
        result.failed += failed;
        for id in ids {
            result.sent.insert(id, at);
        }
    }
    result.elapsed = started.elapsed();
    result.round_trips.sort();
    result
}

/// Waits until the sink has seen `count` alerts (or `limit` passed); returns how long it took.
async fn drained(sink: &Sink, count: u64, limit: Duration) -> Duration {
    let started = Instant::now();
    while sink.count.load(Ordering::Relaxed) < count && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Where the latency phase's hand-off time went, from the outbox's own timestamps (whole
/// milliseconds): accepted to the start of the attempt (waiting in the outbox: the worker's wake-up
/// and claim), and the attempt itself (the webhook's answer).
fn outbox_breakdown(data_dir: &std::path::Path, from_ms: i64) -> rusqlite::Result<String> {
    let connection = rusqlite::Connection::open_with_flags(
        data_dir.join("trailbell.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut statement = connection.prepare(
        "SELECT last_attempt_at_ms - accepted_at_ms, finished_at_ms - last_attempt_at_ms
         FROM outbox WHERE accepted_at_ms >= ?1 AND state = 'delivered'",
    )?;
    let rows = statement
        .query_map([from_ms], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut waiting: Vec<Duration> = rows
        .iter()
        .map(|(wait, _)| Duration::from_millis(u64::try_from(*wait).unwrap_or(0)))
        .collect();
    let mut sending: Vec<Duration> = rows
        .iter()
        .map(|(_, send)| Duration::from_millis(u64::try_from(*send).unwrap_or(0)))
        .collect();
    waiting.sort();
    sending.sort();
    Ok(format!(
        "  of which (outbox timestamps, whole ms, {} rows): accepted to attempt p50 {}, p99 {}; attempt p50 {}, p99 {}",
        rows.len(),
        ms(percentile(&waiting, 0.50)),
        ms(percentile(&waiting, 0.99)),
        ms(percentile(&sending, 0.50)),
        ms(percentile(&sending, 0.99))
    ))
}

fn trailbell_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("target/release/trailbell")
}

#[tokio::main]
async fn main() {
    let options = options();
    let (sink_url, sink) = start_sink().await;
    let dir = std::env::temp_dir().join(format!("trailbell-putevents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut config = format!(
        "[api]\nauthentication = \"disabled\"\n\n[destinations.sink]\ntype = \"webhook\"\nendpoint = \"{sink_url}\"\n\n"
    );
    for i in 0..options.rules {
        config.push_str(&format!(
            "[[rules]]\nName = \"bench-{i}\"\nEventPattern = '{}'\nTargets = [{{ Id = \"sink\", Arn = \"sink\" }}]\n\n",
            rule_pattern(i)
        ));
    }
    let config_path = dir.join("bench.toml");
    std::fs::write(&config_path, config).expect("write the configuration");
    let binary = trailbell_binary();
    let mut child = Command::new(&binary)
        .args(["run", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "cannot start {} (cargo build --release -p trailbell): {err}",
                binary.display()
            )
        });
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("trailbell run listens");
    let url = format!("http://{address}/");

    // Warm up: connections, caches, the store's first pages.
    let _ = load(&url, &[], 2_000, options.clients, options.rules).await;
    drained(&sink, 200, Duration::from_secs(60)).await;
    let before = sink.count.load(Ordering::Relaxed);

    // Throughput: as fast as the clients can get answers.
    let result = load(&url, &[], options.events, options.clients, options.rules).await;
    let expected = options.events / 10;
    let drain = drained(&sink, before + expected, Duration::from_secs(600)).await;
    println!(
        "trailbell run: {} rules, {} events in 10-entry PutEvents requests",
        options.rules, result.events
    );
    println!(
        "  throughput, {} clients: accepted {:.0} events/s ({} failed entries) in {:.2} s; PutEvents round trip p50 {}, p99 {}",
        options.clients,
        (result.events - result.failed) as f64 / result.elapsed.as_secs_f64(),
        result.failed,
        result.elapsed.as_secs_f64(),
        ms(percentile(&result.round_trips, 0.50)),
        ms(percentile(&result.round_trips, 0.99))
    );
    println!(
        "  its {} alerts (one event in ten matches) all reached the webhook {:.2} s after the last answer",
        expected,
        drain.as_secs_f64()
    );

    // Latency: a steady rate, every event's alert timed from its request to the webhook.
    let before = sink.count.load(Ordering::Relaxed);
    let paced_from_ms = unix_ms();
    let paced = paced_load(
        &url,
        options.latency_events,
        options.rate,
        options.events,
        options.rules,
    )
    .await;
    drained(
        &sink,
        before + options.latency_events / 10,
        Duration::from_secs(600),
    )
    .await;
    let mut hand_off: Vec<Duration> = {
        let received = sink.received.lock().expect("sink lock");
        paced
            .sent
            .iter()
            .filter_map(|(id, sent)| {
                received
                    .get(id)
                    .map(|at| at.saturating_duration_since(*sent))
            })
            .collect()
    };
    hand_off.sort();
    println!(
        "  latency at {} events/s ({} events, {} failed): PutEvents round trip p50 {}, p99 {}; PutEvents to webhook hand-off ({} alerts) p50 {}, p99 {}",
        options.rate,
        paced.events,
        paced.failed,
        ms(percentile(&paced.round_trips, 0.50)),
        ms(percentile(&paced.round_trips, 0.99)),
        hand_off.len(),
        ms(percentile(&hand_off, 0.50)),
        ms(percentile(&hand_off, 0.99))
    );
    match outbox_breakdown(&dir.join("data"), paced_from_ms) {
        Ok(line) => println!("{line}"),
        Err(err) => println!("  (cannot read the outbox for the breakdown: {err})"),
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let Ok(moto) = std::env::var("TRAILBELL_TEST_MOTO_ENDPOINT") else {
        println!(
            "moto: skipped (TRAILBELL_TEST_MOTO_ENDPOINT is not set; run under scripts/lib/with-test-services)"
        );
        return;
    };
    // moto reads the account and region from the credential scope; it does not check signatures.
    let authorization = (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=testing/20261127/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0".to_owned(),
    );
    let client = reqwest::Client::new();
    for i in 0..options.rules {
        let body = json!({"Name": format!("bench-{i}"), "EventPattern": rule_pattern(i)});
        let _ = client
            .post(format!("{moto}/"))
            .header("X-Amz-Target", "AWSEvents.PutRule")
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(authorization.0, &authorization.1)
            .body(body.to_string())
            .send()
            .await
            .expect("moto PutRule");
    }
    let moto_result = load(
        &format!("{moto}/"),
        &[authorization],
        options.moto_events,
        options.clients,
        options.rules,
    )
    .await;
    println!(
        "moto_server: {} rules, {} clients, {} events",
        options.rules, options.clients, moto_result.events
    );
    println!(
        "  accepted {:.0} events/s ({} failed entries) in {:.2} s",
        (moto_result.events - moto_result.failed) as f64 / moto_result.elapsed.as_secs_f64(),
        moto_result.failed,
        moto_result.elapsed.as_secs_f64()
    );
    println!(
        "  PutEvents round trip: p50 {}, p99 {}",
        ms(percentile(&moto_result.round_trips, 0.50)),
        ms(percentile(&moto_result.round_trips, 0.99))
    );
}
