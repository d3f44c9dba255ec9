//! The service's edge under abuse: requests signed by hand (a stale time, an unsigned action, another
//! region or service), configured secrets that are too short, and the HTTP server's limits.

use crate::common;
use crate::common::api_server;
use crate::common::service;

use std::time::{Duration, SystemTime};

use api_server::TestServer;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use serde_json::Value;
use service::ServiceProcess;

/// A request to the API signed with aws-sigv4, as an SDK would sign it.
struct Signing<'a> {
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    /// Whether `x-amz-target` is among the signed headers (it is sent either way).
    sign_target: bool,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            region: "us-east-1",
            service: "events",
            time: SystemTime::now(),
            sign_target: true,
        }
    }
}

/// Sends `ListRules` to `endpoint` signed as `signing` says; returns the status and the JSON body.
async fn send_signed(endpoint: &str, secret: &str, signing: &Signing<'_>) -> (u16, Value) {
    let url = format!("{endpoint}/");
    let host = endpoint.trim_start_matches("http://").to_owned();
    let body = b"{}".to_vec();
    let mut headers = vec![
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    if signing.sign_target {
        headers.push(("x-amz-target", "AWSEvents.ListRules"));
    }
    let identity =
        aws_credential_types::Credentials::new(api_server::KEY_ID, secret, None, None, "tests")
            .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )
    .expect("a signable request");
    let (instructions, _) = sign(signable, &params)
        .expect("the request is signed")
        .into_parts();
    let mut request = reqwest::Client::new().post(&url).body(body.clone());
    for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
        request = request.header(*name, *value);
    }
    if !signing.sign_target {
        request = request.header("x-amz-target", "AWSEvents.ListRules");
    }
    for (name, value) in instructions.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn signatures_are_checked_for_time_action_region_and_service() {
    let server = TestServer::start().await;
    let endpoint = server.endpoint.clone();
    let secret = api_server::SECRET;

    let (status, body) = send_signed(&endpoint, secret, &Signing::default()).await;
    assert_eq!(status, 200, "a well-signed request: {body}");

    // AWS accepts five minutes of skew, either way.
    for (offset, current) in [(-280_i64, true), (280, true), (-320, false), (320, false)] {
        let time = if offset < 0 {
            SystemTime::now() - Duration::from_secs(offset.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(offset.unsigned_abs())
        };
        let (status, body) = send_signed(
            &endpoint,
            secret,
            &Signing {
                time,
                ..Signing::default()
            },
        )
        .await;
        if current {
            assert_eq!(status, 200, "{offset} s is within five minutes: {body}");
        } else {
            assert_eq!(status, 403, "{offset} s: {body}");
            assert_eq!(body["__type"], "InvalidSignatureException", "{body}");
            let message = body["message"].as_str().unwrap_or("");
            let expected = if offset < 0 {
                "Signature expired: "
            } else {
                "Signature not yet current: "
            };
            assert!(message.starts_with(expected), "{message}");
            assert!(message.ends_with(" 5 min.)"), "{message}");
        }
    }

    let (status, body) = send_signed(
        &endpoint,
        secret,
        &Signing {
            sign_target: false,
            ..Signing::default()
        },
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["__type"], "IncompleteSignatureException");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("x-amz-target must be among the SignedHeaders")),
        "{body}"
    );

    let (status, body) = send_signed(
        &endpoint,
        secret,
        &Signing {
            region: "eu-west-1",
            ..Signing::default()
        },
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert_eq!(
        body["message"],
        "Credential should be scoped to a valid region."
    );

    let (status, body) = send_signed(
        &endpoint,
        secret,
        &Signing {
            service: "sqs",
            ..Signing::default()
        },
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert_eq!(
        body["message"],
        "Credential should be scoped to correct service: 'events'."
    );
    server.stop().await;
}

/// A configuration with SigV4 on and `secret` as the key's secret.
fn keyed_config(secret: &str) -> String {
    format!(
        r#"
[api]
[[api.access_keys]]
access_key_id = "AKIATRAILBELLTEST001"
secret_access_key = "{secret}"

[destinations.out]
type = "stdout"
"#
    )
}

#[test]
fn empty_and_short_api_secrets_are_refused_by_validate_and_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for secret in ["", "fifteen-chars!!"] {
        let path = dir.path().join("short.toml");
        std::fs::write(&path, keyed_config(secret)).expect("written");
        let path = path.to_str().expect("UTF-8");
        let output = common::run(&["validate", path]);
        let stderr = common::stderr(&output);
        assert_eq!(common::code(&output), 1, "{secret:?}: {stderr}");
        assert!(
            stderr.contains("api.access_keys[0].secret_access_key")
                && stderr.contains("use at least 16"),
            "{stderr}"
        );
        let data = dir.path().join("data");
        let output = common::run(&[
            "run",
            "--config",
            path,
            "--data-dir",
            data.to_str().expect("UTF-8"),
            "--listen",
            "127.0.0.1:0",
        ]);
        let stderr = common::stderr(&output);
        assert_eq!(common::code(&output), 2, "{secret:?}: {stderr}");
        assert!(stderr.contains("use at least 16"), "{stderr}");
    }
    let path = dir.path().join("long.toml");
    std::fs::write(&path, keyed_config("sixteen-chars!!!")).expect("written");
    let output = common::run(&["validate", path.to_str().expect("UTF-8")]);
    assert_eq!(
        common::code(&output),
        0,
        "sixteen characters are enough: {}",
        common::stderr(&output)
    );
}

/// Authentication off (loopback), no rules, the server's limits as given.
fn limits_config(service: &str) -> String {
    format!(
        r#"
[service]
{service}

[api]
authentication = "disabled"

[destinations.out]
type = "stdout"
"#
    )
}

/// Polls `child` for its exit until `within`; `None` if it is still running then.
fn exit_within(child: &mut std::process::Child, within: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_listen_serves_metrics_apart_from_the_api() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&limits_config("metrics_listen = \"127.0.0.1:0\"")),
        &dir.path().join("data"),
    );
    let line = service.stderr_line_with("trailbell: metrics on http://");
    let metrics_address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an address")
        .to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client");
    let get = |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await.expect("an answer");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let (status, body) = get(format!("http://{metrics_address}/metrics")).await;
    assert_eq!(status, 200);
    assert!(body.contains("trailbell_"), "{body}");
    assert_eq!(get(format!("http://{metrics_address}/health")).await.0, 200);
    assert_eq!(
        get(service.url("/metrics")).await.0,
        404,
        "the API's address no longer shows the metrics' labels"
    );
    assert_eq!(get(service.url("/health")).await.0, 200);
    assert_eq!(service.terminate(), 0);
}

/// This process's soft open-file limit raised to its hard one (for thousands of client sockets).
fn raise_open_file_limit() -> usize {
    let read = || -> (usize, String) {
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .expect("an open-file limit")
            .to_owned();
        let mut fields = line["Max open files".len()..].split_whitespace();
        let soft = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        (soft, fields.next().unwrap_or("0").to_owned())
    };
    let (soft, hard) = read();
    if soft < 4096 {
        let status = std::process::Command::new("prlimit")
            .args([
                "--pid",
                &std::process::id().to_string(),
                &format!("--nofile={hard}:{hard}"),
            ])
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit raised the limit");
    }
    read().0
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_idle_connections_do_not_stop_health_or_put_events() {
    const IDLE: usize = 2000;
    let limit = raise_open_file_limit();
    assert!(
        limit > IDLE + 200,
        "this test needs {} open files; the limit is {limit}",
        IDLE + 200
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Fewer descriptors than idle connections: without a connection limit the service runs out.
    let service = ServiceProcess::start_with_open_files(
        // Timeouts longer than the client's: room is made by closing idle connections.
        Some(&limits_config(
            "header_read_timeout = \"30s\"\nidle_timeout = \"30s\"",
        )),
        &dir.path().join("data"),
        &[],
        1024,
    );
    service.stderr_line_with("The open-file limit lowers the connection limit");
    let address = service.address.clone();
    let connects = (0..IDLE).map(|_| {
        let address = address.clone();
        async move {
            // A connection the kernel cannot queue is counted below, not waited for.
            tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::TcpStream::connect(address),
            )
            .await
        }
    });
    let idle: Vec<_> = futures_util::future::join_all(connects).await;
    let held = idle
        .iter()
        .filter(|connected| matches!(connected, Ok(Ok(_))))
        .count();

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client");
    let health = client
        .get(service.url("/health"))
        .send()
        .await
        .expect("/health answers beside 2,000 idle connections");
    assert_eq!(health.status(), 200);
    let response = client
        .post(service.url("/"))
        .header("X-Amz-Target", "AWSEvents.PutEvents")
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(
            serde_json::json!({"Entries": [{"Source": "my.app", "DetailType": "t", "Detail": "{}"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("PutEvents answers beside 2,000 idle connections");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["FailedEntryCount"], 0, "{body}");
    assert_eq!(held, IDLE, "every idle connection was made");
    drop(idle);
    assert_eq!(service.terminate(), 0);
}

#[test]
fn sigterm_with_a_half_sent_body_exits_within_the_shutdown_deadline() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut service = ServiceProcess::start_with_env(
        Some(&limits_config("shutdown_timeout = \"2s\"")),
        &dir.path().join("data"),
        &[("RUST_LOG", "info,trailbell::api=debug")],
    );
    let mut stream = std::net::TcpStream::connect(&service.address).expect("a connection");
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: trailbell\r\nX-Amz-Target: AWSEvents.PutEvents\r\n\
              Content-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{\"Entries\": [",
        )
        .expect("half a request is sent");
    service.stderr_line_with("HTTP request started.");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    // The deadline is 2 s; 30 s only bounds the wait of a broken build.
    let code = exit_within(&mut service.child, Duration::from_secs(30));
    assert_eq!(
        code,
        Some(0),
        "trailbell run exits after the shutdown deadline; stderr:\n{}",
        service.stderr_text()
    );
    assert!(
        service
            .stderr_text()
            .contains("A request still in flight at the shutdown deadline was dropped."),
        "{}",
        service.stderr_text()
    );
    drop(stream);
}

/// Reads `stream` until the server closes it; false if it is still open after 10 s.
fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read as _;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn silent_slow_and_idle_connections_are_closed() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = ServiceProcess::start(
        Some(&limits_config(
            "header_read_timeout = \"1s\"\nidle_timeout = \"2s\"",
        )),
        &dir.path().join("data"),
    );
    let connect = || std::net::TcpStream::connect(&service.address).expect("a connection");

    let mut silent = connect();
    assert!(
        closed_by_server(&mut silent),
        "a connection that sends nothing"
    );

    let mut slow = connect();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: trailbell\r\n")
        .expect("half a head");
    assert!(closed_by_server(&mut slow), "a head that never ends");

    let mut idle = connect();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: trailbell\r\n\r\n")
        .expect("a request");
    let mut reader = BufReader::new(idle.try_clone().expect("a clone"));
    let mut status = String::new();
    reader.read_line(&mut status).expect("an answer");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header");
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("a length");
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0_u8; length];
    reader.read_exact(&mut body).expect("the body");
    assert!(
        closed_by_server(&mut idle),
        "a keep-alive connection idle after its answer"
    );
    assert_eq!(service.terminate(), 0);
}

/// A webhook destination `hook` at `url` and a rule sending every `my.app` event to it.
fn hook_config(url: &str, extra: &str) -> String {
    format!(
        r#"
[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "{url}"
timeout = "5s"
{extra}

[[rules]]
Name = "everything"
EventPattern = '{{"source": ["my.app"]}}'
Targets = [{{ Id = "hook", Arn = "hook" }}]
"#
    )
}

/// PutEvents of one `my.app` event; panics unless it was accepted.
async fn put_one(address: &str) {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/"))
        .header("X-Amz-Target", "AWSEvents.PutEvents")
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(
            serde_json::json!({"Entries": [{"Source": "my.app", "DetailType": "t", "Detail": "{\"n\": 1}"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("PutEvents answers");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["FailedEntryCount"], 0, "{body}");
}

/// `trailbell outbox list --format json` of `data_dir`, polled until a row is in a final state.
fn final_outbox_rows(data_dir: &std::path::Path) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = common::run(&[
            "outbox",
            "list",
            "--format",
            "json",
            "--data-dir",
            data_dir.to_str().expect("UTF-8"),
        ]);
        let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_default();
        if rows
            .iter()
            .any(|row| row["state"] == "delivered" || row["state"] == "dead")
        {
            return rows;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery within 60 s: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTP server that answers every request 200 with a body that never ends; counts the bytes it
/// managed to write.
async fn endless_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&written);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = std::sync::Arc::clone(&counter);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 8192];
                // The head, then whatever of the body came with it: the answer does not wait.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
                let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                while stream.write_all(chunk.as_bytes()).await.is_ok() {
                    counter.fetch_add(0x10000, Ordering::Relaxed);
                }
            });
        }
    });
    (url, written)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_answer_is_read_only_in_part_and_delivery_completes() {
    let (url, written) = endless_server().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let service = ServiceProcess::start(Some(&hook_config(&url, "")), &data_dir);
    put_one(&service.address).await;
    let rows = tokio::task::spawn_blocking(move || final_outbox_rows(&data_dir))
        .await
        .expect("the poll");
    assert_eq!(rows[0]["state"], "delivered", "{rows:?}");
    assert_eq!(rows[0]["response_status"], 200);
    let body = rows[0]["response_body"].as_str().unwrap_or("");
    assert!(body.starts_with("xxxx") && body.len() < 2048, "{body}");
    assert!(
        written.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the answer's body was being written"
    );
    assert_eq!(service.terminate(), 0);
}

const PATH_TOKEN: &str = "XyZ0123456789abcdefTOKEN";
const QUERY_SECRET: &str = "a/b-secret-query-value";
const PASSWORD: &str = "pass word/with+chars!";
const HEADER_SECRET: &str = "header-secret-value-0001";

/// An HTTP server that answers `status` with everything it received of the request's head, plus
/// the query's values decoded and the basic password form-encoded, as careless APIs echo them.
async fn echo_server(status: u16) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 8192];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).into_owned();
                let target = head.split(' ').nth(1).unwrap_or("").to_owned();
                let query = target.split('?').nth(1).unwrap_or("");
                let decoded: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                let form: String =
                    url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
                let body = format!(
                    "{{\"echo\": {:?}, \"query\": {:?}, \"password_form\": {form:?}}}",
                    head.lines().take(12).collect::<Vec<_>>().join("\n"),
                    decoded.join("&"),
                );
                let answer = format!(
                    "HTTP/1.1 {status} Echo\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    let query: String = url::form_urlencoded::byte_serialize(QUERY_SECRET.as_bytes()).collect();
    format!("http://{address}/services/T0/B0/{PATH_TOKEN}?key={query}")
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_echoed_by_targets_never_reach_the_store_listings_or_logs() {
    use base64::Engine as _;
    let delivered = echo_server(200).await;
    let refused = echo_server(400).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let auth = format!(
        "headers = {{ X-Token = \"{HEADER_SECRET}\" }}\nbasic = {{ username = \"alerts\", password = \"{PASSWORD}\" }}"
    );
    let config = format!(
        "{}\n[destinations.refusing]\ntype = \"webhook\"\nendpoint = \"{refused}\"\n{auth}\n\n\
         [[rules]]\nName = \"refused\"\nEventPattern = '{{\"source\": [\"my.app\"]}}'\n\
         Targets = [{{ Id = \"refusing\", Arn = \"refusing\" }}]\n",
        hook_config(&delivered, &auth)
    );
    let service = ServiceProcess::start(Some(&config), &data_dir);
    put_one(&service.address).await;
    let poll_dir = data_dir.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let rows = final_outbox_rows(&poll_dir);
            let done = rows
                .iter()
                .filter(|row| row["state"] == "delivered" || row["state"] == "dead")
                .count();
            if done == 2 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{rows:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .expect("the poll");
    let log = std::sync::Arc::clone(&service.stderr);
    assert_eq!(service.terminate(), 0);

    let forms = [
        PATH_TOKEN.to_owned(),
        QUERY_SECRET.to_owned(),
        PASSWORD.to_owned(),
        HEADER_SECRET.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("alerts:{PASSWORD}")),
        url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect(),
    ];
    let data = data_dir.to_str().expect("UTF-8");
    let mut places = Vec::new();
    for args in [
        &["outbox", "list", "--format", "json", "--data-dir", data][..],
        &["outbox", "list", "--data-dir", data],
        &["outbox", "status", "--data-dir", data],
    ] {
        let output = common::run(args);
        places.push((
            args.join(" "),
            format!("{}{}", common::stdout(&output), common::stderr(&output)),
        ));
    }
    let listing = &places[0].1;
    assert!(
        listing.contains("x-token: ***") && listing.contains("HTTP_400"),
        "the echoes were kept, redacted: {listing}"
    );
    assert!(listing.contains("***"), "{listing}");
    for entry in std::fs::read_dir(&data_dir).expect("the data directory") {
        let path = entry.expect("an entry").path();
        let bytes = std::fs::read(&path).expect("a store file");
        places.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    places.push((
        "the service's log".to_owned(),
        log.lock().expect("the log").join("\n"),
    ));
    for (place, text) in &places {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{form:?} in {place}:\n{text}"
            );
        }
    }
}

/// A pattern whose `$or`s expand into the product of `factors` combinations: one `$or` of
/// `factors[i]` branches per nesting level, so that a thousand combinations stay short.
fn or_pattern(factors: &[usize]) -> String {
    let mut inner = String::from("{\"leaf\": [\"v\"]}");
    for (level, factor) in factors.iter().enumerate().rev() {
        let branches: Vec<String> = (0..*factor)
            .map(|i| format!("{{\"k{level}_{i}\": [\"v\"]}}"))
            .collect();
        inner = format!(
            "{{\"$or\": [{}], \"n{level}\": {inner}}}",
            branches.join(", ")
        );
    }
    format!("{{\"source\": [\"my.app\"], \"detail\": {inner}}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn put_rule_is_capped_per_bus_in_rules_and_combinations() {
    let server = TestServer::start().await;
    let client = server.sdk();
    // EventBridge's default quota: 300 rules per bus.
    for i in 0..300 {
        client
            .put_rule()
            .name(format!("rule-{i}"))
            .event_pattern(r#"{"source": ["my.app"]}"#)
            .send()
            .await
            .expect("300 rules fit");
    }
    let err = client
        .put_rule()
        .name("rule-300")
        .event_pattern(r#"{"source": ["my.app"]}"#)
        .send()
        .await
        .expect_err("the 301st rule");
    use aws_sdk_eventbridge::error::ProvideErrorMetadata as _;
    assert_eq!(err.code(), Some("LimitExceededException"), "{err:?}");
    // A rule already there may still change.
    client
        .put_rule()
        .name("rule-0")
        .event_pattern(r#"{"source": ["other.app"]}"#)
        .send()
        .await
        .expect("an update at the limit");

    server
        .registry
        .set_rule_limits(trailbell::registry::RuleLimits {
            max_rules_per_bus: 300,
            max_combinations_per_bus: 1500,
        });
    server
        .cli(&["create-event-bus", "--name", "small"])
        .await
        .ok();
    let first = or_pattern(&[10, 10, 10]);
    server
        .cli(&[
            "put-rule",
            "--name",
            "wide",
            "--event-bus-name",
            "small",
            "--event-pattern",
            &first,
        ])
        .await
        .ok();
    let second = or_pattern(&[10, 10, 6]);
    let stderr = server
        .cli(&[
            "put-rule",
            "--name",
            "wider",
            "--event-bus-name",
            "small",
            "--event-pattern",
            &second,
        ])
        .await
        .err();
    assert!(
        stderr.contains("LimitExceededException") && stderr.contains("1600 $or combinations"),
        "{stderr}"
    );
    let listed = server
        .cli(&["list-rules", "--event-bus-name", "small"])
        .await
        .ok();
    assert_eq!(
        listed["Rules"].as_array().map(Vec::len),
        Some(1),
        "the refused rule was not kept: {listed}"
    );
    server.stop().await;
}

#[test]
fn configured_rules_beyond_the_bus_limits_are_refused_by_validate_and_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules: String = (0..3)
        .map(|i| {
            format!(
                "[[rules]]\nName = \"r{i}\"\nEventPattern = '{}'\nTargets = [{{ Id = \"out\", Arn = \"out\" }}]\n",
                or_pattern(&[2, 2])
            )
        })
        .collect();
    for (limits, expected) in [
        ("max_rules_per_bus = 2", "3 rules on the bus \"default\""),
        (
            "max_combinations_per_bus = 10",
            "compile into 12 $or combinations",
        ),
    ] {
        let path = dir.path().join("limits.toml");
        std::fs::write(&path, format!("{}\n{rules}", limits_config(limits))).expect("written");
        let path = path.to_str().expect("UTF-8");
        let output = common::run(&["validate", path]);
        let stderr = common::stderr(&output);
        assert_eq!(common::code(&output), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        let data = dir.path().join("data");
        // Spawned, not run to its end: a `run` that accepts the rules would serve forever.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailbell"))
            .args([
                "run",
                "--config",
                path,
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("trailbell run starts");
        let code = exit_within(&mut child, Duration::from_secs(30));
        if code.is_none() {
            let _ = child.kill();
        }
        let output = child.wait_with_output().expect("its output");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code, Some(2), "run refuses the rules: {stderr}");
        // The same problem `validate` names (issue 14: run refuses what validate refuses).
        assert!(stderr.contains(expected), "{stderr}");
    }
}
