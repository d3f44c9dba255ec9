//! The soak: does every accepted alert get delivered while trailbell is killed and its target
//! fails? `trailbell run` (the release binary, as a child process) with a webhook target pointing at
//! a local fault-injecting HTTP server, loaded by concurrent PutEvents clients, killed with SIGKILL
//! at random moments and restarted on the same data directory. At the end it compares the accepted
//! alerts (PutEvents entries answered with an EventId whose event matches a rule) with the ones
//! the target answered 200 to, by Idempotency-Key, and prints `lost N, duplicated M, pending P`.
//!
//! ```sh
//! cargo build --release -p trailbell
//! cargo run --release -p trailbell-bench --bin soak -- [--seconds 60] [--clients 4] \
//!     [--rate 60] [--durability process] [--seed 1] [--drain-seconds 180]
//! ```
//!
//! `TRAILBELL_BIN` names another trailbell binary (a debug build, say).
//!
//! Everything stays on 127.0.0.1 and stops by itself: the load lasts `--seconds` at `--rate`
//! events a second (0: as fast as the clients go), then the kills stop and trailbell gets up to
//! `--drain-seconds` (target faults going on) until its `/metrics` shows nothing pending. Then it is
//! stopped, and every accepted alert the target never answered 200 to is looked up in the outbox
//! (`trailbell outbox list`): still pending or in flight there is `pending` (not drained in time,
//! not lost), dead-lettered is `dead` (visible, not lost), and anything else is `lost`. Exits 0
//! when nothing was lost or left pending, 1 when something was lost, 2 on a harness failure
//! (trailbell would not start, the outbox could not be read), 3 when nothing was lost but some
//! alerts were still pending at the end (inconclusive: a longer drain or a lower rate).
//!
//! Target faults, drawn per request: 10% answer 500, 5% answer 429 with `Retry-After: 1`, 3% reset
//! the connection after reading the request, 2% hold it past trailbell's 1 s timeout; the rest
//! answer 200 and count as delivered. A request that saw a fault is not a delivery.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use trailbell_bench::rng::Rng;

/// Rules in the configuration; event `n` matches rule `n % (2 * RULES)` when that is below
/// `RULES`, so half the events raise an alert.
const RULES: u64 = 4;

/// Events a second by default: half raise an alert, and the fault-injecting target takes far
/// fewer deliveries a second than trailbell accepts events (a hang holds a batch of attempts for
/// the 1 s timeout), so an unpaced load only builds a backlog that no drain empties; the figures
/// in docs/RELIABILITY.md say what this build keeps up with.
const DEFAULT_RATE: u64 = 60;

/// Entries in one PutEvents request.
const BATCH: u64 = 10;

struct Options {
    seconds: u64,
    clients: u64,
    /// Events a second over all clients; 0 for no pacing.
    rate: u64,
    durability: String,
    seed: u64,
    drain_seconds: u64,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 60,
        clients: 4,
        rate: DEFAULT_RATE,
        durability: "process".to_owned(),
        seed: 1,
        drain_seconds: 180,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let text = pair.get(1).map(String::as_str).unwrap_or("");
        let number = text.parse::<u64>().ok();
        match (pair[0].as_str(), number) {
            ("--seconds", Some(v)) => options.seconds = v.max(1),
            ("--clients", Some(v)) => options.clients = v.clamp(1, 64),
            ("--rate", Some(v)) => options.rate = v,
            ("--seed", Some(v)) => options.seed = v,
            ("--drain-seconds", Some(v)) => options.drain_seconds = v.max(1),
            ("--durability", _) if matches!(text, "process" | "machine") => {
                options.durability = text.to_owned();
            }
            _ => {
                eprintln!(
                    "usage: soak [--seconds N] [--clients N] [--rate N] [--durability process|machine] [--seed N] [--drain-seconds N]"
                );
                std::process::exit(2);
            }
        }
    }
    options
}

/// What the fault-injecting target saw.
#[derive(Default)]
struct Sink {
    /// Idempotency-Key to the number of 200 answers given for it.
    delivered: Mutex<HashMap<String, u64>>,
    /// The event id carried by each delivered key's payload.
    event_of_key: Mutex<HashMap<String, String>>,
    answered_500: AtomicU64,
    answered_429: AtomicU64,
    resets: AtomicU64,
    hangs: AtomicU64,
}

enum Fault {
    ServerError,
    TooMany,
    Reset,
    Hang,
    None,
}

fn draw_fault(rng: &mut Rng) -> Fault {
    match rng.below(100) {
        0..10 => Fault::ServerError,
        10..15 => Fault::TooMany,
        15..18 => Fault::Reset,
        18..20 => Fault::Hang,
        _ => Fault::None,
    }
}

/// One HTTP/1.1 request read from a connection: the Idempotency-Key and the body.
async fn read_request(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(String, Vec<u8>)> {
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    let key = header("idempotency-key").unwrap_or_default();
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Some((key, body))
}

async fn serve_connection(mut stream: tokio::net::TcpStream, sink: Arc<Sink>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut buffer = Vec::new();
    while let Some((key, body)) = read_request(&mut stream, &mut buffer).await {
        let fault = draw_fault(&mut rng);
        let answer: &[u8] = match fault {
            Fault::ServerError => {
                sink.answered_500.fetch_add(1, Ordering::Relaxed);
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
            }
            Fault::TooMany => {
                sink.answered_429.fetch_add(1, Ordering::Relaxed);
                b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n"
            }
            Fault::Reset => {
                sink.resets.fetch_add(1, Ordering::Relaxed);
                // A zero linger turns the close into a reset.
                let _ = stream.set_zero_linger();
                return;
            }
            Fault::Hang => {
                sink.hangs.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(3)).await;
                return;
            }
            Fault::None => {
                let event_id = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                *sink
                    .delivered
                    .lock()
                    .expect("sink lock")
                    .entry(key.clone())
                    .or_default() += 1;
                sink.event_of_key
                    .lock()
                    .expect("sink lock")
                    .insert(key, event_id);
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
            }
        };
        if stream.write_all(answer).await.is_err() {
            return;
        }
    }
}

async fn start_sink(seed: u64) -> (String, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the sink");
    let address = listener.local_addr().expect("address");
    let state = Arc::clone(&sink);
    tokio::spawn(async move {
        let mut connection = 0u64;
        while let Ok((stream, _)) = listener.accept().await {
            connection += 1;
            tokio::spawn(serve_connection(
                stream,
                Arc::clone(&state),
                seed ^ connection,
            ));
        }
    });
    (format!("http://{address}/"), sink)
}

fn matching_rule(n: u64) -> Option<u64> {
    let slot = n % (2 * RULES);
    (slot < RULES).then_some(slot)
}

fn entry(n: u64) -> Value {
    let name = match matching_rule(n) {
        Some(rule) => format!("Match{rule}"),
        None => format!("Other{n}"),
    };
    let detail = json!({
        "eventSource": "soak.amazonaws.com",
        "eventName": name,
        "eventID": format!("soak-{n}"),
        "awsRegion": "us-east-1",
        "requestParameters": {"key": format!("objects/{n}")},
    });
    json!({"Source": "aws.soak", "DetailType": "AWS API Call via CloudTrail", "Detail": detail.to_string()})
}

/// What the clients saw.
#[derive(Default)]
struct Accepted {
    /// EventIds of answered entries whose event matches a rule.
    alerts: Mutex<HashSet<String>>,
    entries: AtomicU64,
    refused_entries: AtomicU64,
    failed_requests: AtomicU64,
}

async fn client_loop(
    url: Arc<RwLock<String>>,
    next: Arc<AtomicU64>,
    accepted: Arc<Accepted>,
    until: Instant,
    period: Option<Duration>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    let mut next_batch = tokio::time::Instant::now();
    while Instant::now() < until {
        if let Some(period) = period {
            // Paced: one batch a period; time lost while trailbell was down is not made up.
            tokio::time::sleep_until(next_batch).await;
            next_batch = (next_batch + period).max(tokio::time::Instant::now());
        }
        let first = next.fetch_add(BATCH, Ordering::Relaxed);
        let numbers: Vec<u64> = (first..first + BATCH).collect();
        let body = json!({"Entries": numbers.iter().map(|&n| entry(n)).collect::<Vec<_>>()});
        let target = url.read().expect("url lock").clone();
        let response = client
            .post(&target)
            .header("X-Amz-Target", "AWSEvents.PutEvents")
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
            .await;
        let text = match response {
            Ok(response) if response.status().is_success() => response.text().await.ok(),
            _ => None,
        };
        let Some(answer) = text.and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
            accepted.failed_requests.fetch_add(1, Ordering::Relaxed);
            // trailbell is down (killed, restarting): try again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let entries = answer["Entries"].as_array().cloned().unwrap_or_default();
        for (n, answered) in numbers.iter().zip(entries) {
            match answered["EventId"].as_str() {
                Some(id) if answered.get("ErrorCode").is_none() => {
                    accepted.entries.fetch_add(1, Ordering::Relaxed);
                    if matching_rule(*n).is_some() {
                        accepted
                            .alerts
                            .lock()
                            .expect("accepted lock")
                            .insert(id.to_owned());
                    }
                }
                _ => {
                    accepted.refused_entries.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if period.is_none() {
            // A steady load rather than the most the machine can take: the soak is about loss.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The sum of `trailbell_pending` (alerts waiting or in flight) over destinations, from the
/// service's `/metrics`; `None` when it does not answer.
async fn pending_alerts(client: &reqwest::Client, base: &str) -> Option<u64> {
    let response = client.get(format!("{base}metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    let mut total = 0;
    let mut seen = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("trailbell_pending{") {
            let value = rest.rsplit(' ').next()?;
            total += value.trim().parse::<u64>().ok()?;
            seen = true;
        }
    }
    seen.then_some(total)
}

/// Every outbox row's event id and state, from `trailbell outbox list` on the data directory.
fn outbox_rows(data_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let binary = trailbell_binary();
    let output = Command::new(&binary)
        .args(["outbox", "list", "--format", "json", "--limit"])
        .arg(u32::MAX.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {} outbox list: {err}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "trailbell outbox list failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let rows: Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("trailbell outbox list: not JSON: {err}"))?;
    let rows = rows
        .as_array()
        .ok_or("trailbell outbox list: not a JSON array")?;
    Ok(rows
        .iter()
        .map(|row| {
            let text = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
            (text("event_id"), text("state"))
        })
        .collect())
}

/// `TRAILBELL_BIN`, or the release build.
fn trailbell_binary() -> PathBuf {
    std::env::var_os("TRAILBELL_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/trailbell"),
        PathBuf::from,
    )
}

/// Starts `trailbell run` and waits for its address.
fn start_trailbell(config: &Path, data_dir: &Path) -> Result<(Child, String), String> {
    let binary = trailbell_binary();
    let mut child = Command::new(&binary)
        .args(["run", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            format!(
                "cannot start {} (cargo build --release -p trailbell): {err}",
                binary.display()
            )
        })?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                sent = true;
            } else if line.contains("ERROR") {
                eprintln!("trailbell: {line}");
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(address) => Ok((child, format!("http://{address}/"))),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().map_err(|e| e.to_string())?;
            Err(format!(
                "trailbell run did not listen within 60 s ({status})"
            ))
        }
    }
}

/// Starts trailbell, retrying for a while: a restart may find the last instance's lock not yet
/// released.
async fn restart(config: &Path, data_dir: &Path) -> (Child, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match start_trailbell(config, data_dir) {
            Ok(started) => return started,
            Err(err) if Instant::now() < deadline => {
                eprintln!("soak: restart failed, retrying: {err}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => {
                eprintln!("soak: {err}");
                std::process::exit(2);
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let (sink_url, sink) = start_sink(options.seed).await;
    let dir = std::env::temp_dir().join(format!("trailbell-soak-{}", std::process::id()));
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir).expect("a temporary directory");
    let mut config = format!(
        "[service]\ndurability = \"{}\"\n\n[api]\nauthentication = \"disabled\"\n\n\
         [destinations.sink]\ntype = \"webhook\"\nendpoint = \"{sink_url}\"\ntimeout = \"1s\"\n\n",
        options.durability
    );
    for rule in 0..RULES {
        let pattern =
            json!({"source": ["aws.soak"], "detail": {"eventName": [format!("Match{rule}")]}});
        config.push_str(&format!(
            "[[rules]]\nName = \"soak-{rule}\"\nEventPattern = '{pattern}'\nTargets = [{{ Id = \"sink\", Arn = \"sink\" }}]\n\n"
        ));
    }
    let config_path = dir.join("soak.toml");
    std::fs::write(&config_path, config).expect("write the configuration");

    let (mut child, first_url) = restart(&config_path, &data_dir).await;
    let url = Arc::new(RwLock::new(first_url));
    let accepted = Arc::new(Accepted::default());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(options.seconds);
    // Each client sends one batch a period, so that all of them together send `rate` events a second.
    let period = (options.rate > 0)
        .then(|| Duration::from_secs_f64((BATCH * options.clients) as f64 / options.rate as f64));
    let clients: Vec<_> = (0..options.clients)
        .map(|_| {
            tokio::spawn(client_loop(
                Arc::clone(&url),
                Arc::clone(&next),
                Arc::clone(&accepted),
                until,
                period,
            ))
        })
        .collect();

    // Kill -9 at random moments (every 1 to 6 s) while the load runs, and restart at once.
    let mut rng = Rng::new(options.seed ^ 0x50A4);
    let mut kills = 0u64;
    loop {
        let pause = Duration::from_millis(1_000 + rng.below(5_000) as u64);
        if Instant::now() + pause >= until {
            break;
        }
        tokio::time::sleep(pause).await;
        let _ = child.kill();
        let _ = child.wait();
        kills += 1;
        let (restarted, new_url) = restart(&config_path, &data_dir).await;
        child = restarted;
        *url.write().expect("url lock") = new_url;
    }
    for client in clients {
        let _ = client.await;
    }
    let load_seconds = started.elapsed().as_secs_f64();

    // The kills stop; the faults go on, and trailbell delivers what it holds until its outbox
    // shows nothing pending (or the drain's time is up).
    let delivered_during_load = sink.event_of_key.lock().expect("sink lock").len();
    let expected: HashSet<String> = accepted.alerts.lock().expect("accepted lock").clone();
    let drain_started = Instant::now();
    let drain_deadline = drain_started + Duration::from_secs(options.drain_seconds);
    let metrics_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    let base = url.read().expect("url lock").clone();
    let mut pending_at_end = None;
    while Instant::now() < drain_deadline {
        pending_at_end = pending_alerts(&metrics_client, &base).await;
        if pending_at_end == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();

    let delivered: HashSet<String> = sink
        .event_of_key
        .lock()
        .expect("sink lock")
        .values()
        .cloned()
        .collect();
    // What the outbox says of every accepted alert the target never answered 200 to.
    let rows = match outbox_rows(&data_dir) {
        Ok(rows) => rows,
        Err(err) => {
            eprintln!("soak: {err}");
            std::process::exit(2);
        }
    };
    let mut states: HashMap<&str, Vec<&str>> = HashMap::new();
    for (event_id, state) in &rows {
        states.entry(event_id).or_default().push(state);
    }
    let (mut lost, mut pending, mut dead) = (Vec::new(), 0u64, 0u64);
    for event_id in expected.difference(&delivered) {
        let held = states
            .get(event_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if held.iter().any(|s| matches!(*s, "pending" | "in_flight")) {
            pending += 1;
        } else if held.contains(&"dead") {
            dead += 1;
        } else {
            // Not in the outbox, or marked delivered without a 200 the target gave.
            lost.push(event_id.as_str());
        }
    }
    let counts = sink.delivered.lock().expect("sink lock").clone();
    let duplicated: u64 = counts.values().map(|c| c - 1).sum();
    let keys_per_event = counts.len() as f64 / delivered.len().max(1) as f64;
    println!(
        "soak: {:.0} s of load by {} clients at {}, durability {}, seed {}",
        load_seconds,
        options.clients,
        match options.rate {
            0 => "no set rate".to_owned(),
            rate => format!("{rate} events/s"),
        },
        options.durability,
        options.seed
    );
    println!(
        "  trailbell killed with SIGKILL {kills} times and restarted; requests unanswered (trailbell down): {}",
        accepted.failed_requests.load(Ordering::Relaxed)
    );
    println!(
        "  entries accepted {}, refused {}; accepted alerts {}",
        accepted.entries.load(Ordering::Relaxed),
        accepted.refused_entries.load(Ordering::Relaxed),
        expected.len()
    );
    println!(
        "  target faults: 500 x{}, 429 x{}, resets x{}, hangs x{}",
        sink.answered_500.load(Ordering::Relaxed),
        sink.answered_429.load(Ordering::Relaxed),
        sink.resets.load(Ordering::Relaxed),
        sink.hangs.load(Ordering::Relaxed)
    );
    println!(
        "  delivered (200) keys {}, for {} events ({keys_per_event:.2} keys an event); {delivered_during_load} during the load, the rest in {drain_seconds:.1} s after it",
        counts.len(),
        delivered.len()
    );
    println!(
        "  outbox at the end: {} rows; /metrics pending {}; accepted alerts dead-lettered {dead}",
        rows.len(),
        pending_at_end.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    );
    for event_id in lost.iter().take(10) {
        println!("  lost: event {event_id}");
    }
    println!(
        "lost {}, duplicated {duplicated}, pending {pending}",
        lost.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    let code = match (lost.len(), pending) {
        (0, 0) => 0,
        (0, _) => 3,
        _ => 1,
    };
    std::process::exit(code);
}
