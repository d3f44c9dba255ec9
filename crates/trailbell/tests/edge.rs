//! The service's edge under abuse: requests signed by hand (a stale time, an unsigned action, another
//! region or service), configured secrets that are too short, and the HTTP server's limits.

#[path = "common/api_server.rs"]
mod api_server;
mod common;

use std::time::{Duration, SystemTime};

use api_server::TestServer;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use serde_json::Value;

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
