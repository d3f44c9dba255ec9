//! AWS Signature Version 4, verified: the canonical request and the signature are re-derived from
//! the request and the caller's secret key, and compared in constant time.
//!
//! Accepted: the `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/events/aws4_request,
//! SignedHeaders=..., Signature=...` header with `x-amz-date` within 5 minutes of now (as AWS
//! allows), signing at least `host`, `x-amz-date` and `x-amz-target` (so that a captured request
//! cannot be replayed as another action), scoped to the server's region and `events`. The payload hash is `x-amz-content-sha256` when sent (it must
//! then equal the body's SHA-256), else computed from the body. Query-string (presigned) requests
//! and `UNSIGNED-PAYLOAD` are refused.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The service name in credential scopes.
pub const SERVICE: &str = "events";
/// How far `x-amz-date` may be from now: AWS's five minutes.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// The headers every request must sign.
pub const REQUIRED_SIGNED_HEADERS: [&str; 3] = ["host", "x-amz-date", "x-amz-target"];

/// Why a request's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing authentication token")]
    Missing,
    /// An access key id that is not configured.
    #[error("unknown access key id")]
    UnknownKey,
    /// The header or scope could not be read, or lacks what must be signed.
    #[error("malformed authorization: {0}")]
    Malformed(String),
    /// `x-amz-date` too far before now (`signed_at`, `now`: `YYYYMMDDTHHMMSSZ`).
    #[error("signature expired: {signed_at} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        /// The request's `x-amz-date`.
        signed_at: String,
        /// The earliest time accepted.
        earliest: String,
        /// The server's time.
        now: String,
    },
    /// `x-amz-date` too far after now.
    #[error("signature not yet current: {signed_at} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        /// The request's `x-amz-date`.
        signed_at: String,
        /// The latest time accepted.
        latest: String,
        /// The server's time.
        now: String,
    },
    /// The credential scope names another region.
    #[error("credential should be scoped to a valid region")]
    WrongRegion,
    /// The credential scope names another service.
    #[error("credential should be scoped to correct service: '{0}'")]
    WrongService(&'static str),
    /// The signature does not match.
    #[error("signature mismatch")]
    Mismatch,
}

/// The parts of a request that are signed.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// `POST`, ...
    pub method: &'a str,
    /// The path as sent, e.g. `/`.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// The parsed `Authorization` header.
#[derive(Debug)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: Vec<u8>,
}

/// Verifies `request` to this server in `region` against `keys` at time `now` and returns the
/// access key id it was signed with.
pub fn verify<'k>(
    keys: &'k [(String, Secret)],
    region: &str,
    request: &SignedRequest<'_>,
    now: jiff::Timestamp,
) -> Result<&'k str, AuthError> {
    verify_for(
        SERVICE,
        &REQUIRED_SIGNED_HEADERS,
        keys,
        region,
        request,
        now,
    )
}

/// [`verify`] for requests to `service` signing `required` (tests check AWS's documented examples
/// of other services).
fn verify_for<'k>(
    service: &'static str,
    required: &[&str],
    keys: &'k [(String, Secret)],
    region: &str,
    request: &SignedRequest<'_>,
    now: jiff::Timestamp,
) -> Result<&'k str, AuthError> {
    let header = request
        .headers
        .get("authorization")
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("the header is not ASCII".to_owned()))?;
    let auth = parse_authorization(header)?;
    let (key_id, secret) = keys
        .iter()
        .find(|(id, _)| id == auth.access_key_id)
        .ok_or(AuthError::UnknownKey)?;
    if auth.service != service {
        return Err(AuthError::WrongService(service));
    }
    if auth.region != region {
        return Err(AuthError::WrongRegion);
    }
    for required in required {
        if !auth.signed_headers.contains(required) {
            return Err(AuthError::Malformed(format!(
                "{required} must be among the SignedHeaders"
            )));
        }
    }
    let amz_date = header_text(request.headers, "x-amz-date")
        .ok_or_else(|| AuthError::Malformed("no x-amz-date".to_owned()))?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| AuthError::Malformed("x-amz-date is not YYYYMMDDTHHMMSSZ".to_owned()))?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(AuthError::Malformed(
            "the credential scope's date is not x-amz-date's".to_owned(),
        ));
    }
    let skew = now.as_second() - signed_at.as_second();
    if skew.abs() > MAX_SKEW_SECONDS {
        let bound = if skew > 0 {
            now.as_second() - MAX_SKEW_SECONDS
        } else {
            now.as_second() + MAX_SKEW_SECONDS
        };
        let (bound, now) = (amz_date_of(bound), amz_date_of(now.as_second()));
        let signed_at = amz_date.to_owned();
        return Err(if skew > 0 {
            AuthError::Expired {
                signed_at,
                earliest: bound,
                now,
            }
        } else {
            AuthError::NotYetCurrent {
                signed_at,
                latest: bound,
                now,
            }
        });
    }
    let body_hash = hex::encode(Sha256::digest(request.body));
    let payload_hash = match header_text(request.headers, "x-amz-content-sha256") {
        Some(claimed) if claimed.eq_ignore_ascii_case(&body_hash) => claimed,
        Some(_) => return Err(AuthError::Mismatch),
        None => &body_hash,
    };
    let canonical = canonical_request(request, &auth.signed_headers, payload_hash)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", secret.expose()).as_bytes(),
        auth.date.as_bytes(),
    );
    for part in [auth.region, auth.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| AuthError::Mismatch)?;
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&auth.signature)
        .map_err(|_| AuthError::Mismatch)?;
    Ok(key_id)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, AuthError> {
    let malformed = |what: &str| AuthError::Malformed(what.to_owned());
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| malformed("not AWS4-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let credential = credential.ok_or_else(|| malformed("no Credential"))?;
    let mut scope = credential.split('/');
    let (Some(access_key_id), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(malformed(
            "Credential is not KEY/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    let signed_headers: Vec<&str> = signed_headers
        .ok_or_else(|| malformed("no SignedHeaders"))?
        .split(';')
        .collect();
    let signature = hex::decode(signature.ok_or_else(|| malformed("no Signature"))?)
        .map_err(|_| malformed("Signature is not hex"))?;
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn parse_amz_date(text: &str) -> Option<jiff::Timestamp> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8]
            .iter()
            .chain(&bytes[9..15])
            .all(u8::is_ascii_digit);
    if !shape_ok {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    rfc3339.parse().ok()
}

/// `YYYYMMDDTHHMMSSZ` of a Unix time, as AWS's messages write times.
fn amz_date_of(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|time| time.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

fn canonical_request(
    request: &SignedRequest<'_>,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut canonical = String::new();
    canonical.push_str(request.method);
    canonical.push('\n');
    canonical.push_str(if request.path.is_empty() {
        "/"
    } else {
        request.path
    });
    canonical.push('\n');
    canonical.push_str(&canonical_query(request.query));
    canonical.push('\n');
    let mut sorted = signed_headers.to_vec();
    sorted.sort_unstable();
    for name in &sorted {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|value| {
                value
                    .to_str()
                    .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
                    .map_err(|_| AuthError::Malformed(format!("header {name} is not ASCII")))
            })
            .collect::<Result<_, _>>()?;
        if values.is_empty() {
            return Err(AuthError::Malformed(format!(
                "signed header {name} is missing"
            )));
        }
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&values.join(","));
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&sorted.join(";"));
    canonical.push('\n');
    canonical.push_str(payload_hash);
    Ok(canonical)
}

/// The query's parameters sorted by name then value, each name and value decoded and re-encoded
/// as SigV4 wants (RFC 3986 unreserved characters kept, everything else `%XX`).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (encode(&name), encode(&value)))
        .collect();
    pairs.sort();
    let sorted: BTreeMap<usize, String> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| (i, format!("{name}={value}")))
        .collect();
    sorted.into_values().collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// AWS's documented example: IAM ListUsers signed on 2015-08-30 with the example key.
    fn example(signature: &str) -> (Vec<(String, Secret)>, HeaderMap) {
        let keys = vec![(
            "AKIDEXAMPLE".to_owned(),
            Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        )];
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("ASCII"),
        );
        (keys, headers)
    }

    /// What the IAM example signs beyond what SigV4 needs: no `x-amz-target` in the query API.
    const IAM_SIGNED: &[&str] = &["host", "x-amz-date"];

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("a timestamp")
    }

    const EXAMPLE_SIGNATURE: &str =
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn example_request(headers: &HeaderMap) -> SignedRequest<'_> {
        SignedRequest {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers,
            body: b"",
        }
    }

    #[test]
    fn the_documented_example_signature_verifies() {
        let (keys, headers) = example(EXAMPLE_SIGNATURE);
        let request = example_request(&headers);
        let canonical = canonical_request(
            &request,
            &["content-type", "host", "x-amz-date"],
            &hex::encode(Sha256::digest(b"")),
        )
        .expect("canonical");
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            verify_for(
                "iam",
                IAM_SIGNED,
                &keys,
                "us-east-1",
                &request,
                at("2015-08-30T12:40:00Z")
            ),
            Ok("AKIDEXAMPLE")
        );
        // The same request is not an EventBridge request.
        assert!(matches!(
            verify(&keys, "us-east-1", &request, at("2015-08-30T12:40:00Z")),
            Err(AuthError::WrongService("events"))
        ));
        // Nor one for another region.
        assert_eq!(
            verify_for(
                "iam",
                IAM_SIGNED,
                &keys,
                "eu-west-1",
                &request,
                at("2015-08-30T12:40:00Z")
            ),
            Err(AuthError::WrongRegion)
        );
        // A header the server requires to be signed, not among SignedHeaders.
        assert!(matches!(
            verify_for(
                "iam",
                &["host", "x-amz-date", "x-amz-target"],
                &keys,
                "us-east-1",
                &request,
                at("2015-08-30T12:40:00Z")
            ),
            Err(AuthError::Malformed(why)) if why.contains("x-amz-target")
        ));
    }

    #[test]
    fn a_changed_request_a_stale_date_and_a_wrong_key_are_refused() {
        let (mut keys, headers) = example(EXAMPLE_SIGNATURE);
        let mut request = example_request(&headers);
        let now = at("2015-08-30T12:36:00Z");
        request.query = "Action=ListUsers&Version=2010-05-09";
        assert_eq!(
            verify_for("iam", IAM_SIGNED, &keys, "us-east-1", &request, now),
            Err(AuthError::Mismatch)
        );
        request.query = "Action=ListUsers&Version=2010-05-08";
        request.body = b"{}";
        assert_eq!(
            verify_for("iam", IAM_SIGNED, &keys, "us-east-1", &request, now),
            Err(AuthError::Mismatch)
        );
        request.body = b"";
        assert_eq!(
            verify_for(
                "iam",
                IAM_SIGNED,
                &keys,
                "us-east-1",
                &request,
                at("2015-08-30T12:41:01Z")
            ),
            Err(AuthError::Expired {
                signed_at: "20150830T123600Z".to_owned(),
                earliest: "20150830T123601Z".to_owned(),
                now: "20150830T124101Z".to_owned(),
            })
        );
        assert_eq!(
            verify_for(
                "iam",
                IAM_SIGNED,
                &keys,
                "us-east-1",
                &request,
                at("2015-08-30T12:41:00Z")
            ),
            Ok("AKIDEXAMPLE"),
            "five minutes is still current"
        );
        assert!(matches!(
            verify_for(
                "iam",
                IAM_SIGNED,
                &keys,
                "us-east-1",
                &request,
                at("2015-08-30T12:30:59Z")
            ),
            Err(AuthError::NotYetCurrent { .. })
        ));
        keys[0].0 = "OTHER".to_owned();
        assert_eq!(
            verify_for("iam", IAM_SIGNED, &keys, "us-east-1", &request, now),
            Err(AuthError::UnknownKey)
        );
        let empty = HeaderMap::new();
        request.headers = &empty;
        assert_eq!(
            verify_for("iam", IAM_SIGNED, &keys, "us-east-1", &request, now),
            Err(AuthError::Missing)
        );
    }
}
