//! The actions, one file per resource, and what they share: reading requests, bus names, name
//! checks, paging tokens, timestamps.

mod archives;
mod buses;
mod events;
mod rules;
mod targets;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::AwsError;
use super::server::ApiState;
use crate::registry::{DEFAULT_BUS, Registry, RegistryError};

/// Runs `action` (the part of `X-Amz-Target` after `AWSEvents.`) on the request body.
pub(super) async fn dispatch(
    state: &ApiState,
    action: &str,
    body: &[u8],
) -> Result<Value, AwsError> {
    let answer = match action {
        "PutEvents" => {
            let started = std::time::Instant::now();
            let answer = events::put_events(state, parse(body)?).await;
            let seconds = started.elapsed().as_secs_f64();
            state.metrics.graphs.put_events_seconds.observe(seconds);
            answer
        }
        "TestEventPattern" => events::test_event_pattern(parse(body)?),
        "PutRule" => rules::put_rule(state, parse(body)?).await,
        "DescribeRule" => rules::describe_rule(state, parse(body)?).await,
        "ListRules" => rules::list_rules(state, parse(body)?).await,
        "DeleteRule" => rules::delete_rule(state, parse(body)?).await,
        "EnableRule" => rules::set_state(state, parse(body)?, true).await,
        "DisableRule" => rules::set_state(state, parse(body)?, false).await,
        "PutTargets" => targets::put_targets(state, parse(body)?).await,
        "RemoveTargets" => targets::remove_targets(state, parse(body)?).await,
        "ListTargetsByRule" => targets::list_targets_by_rule(state, parse(body)?).await,
        "ListRuleNamesByTarget" => targets::list_rule_names_by_target(state, parse(body)?).await,
        "CreateEventBus" => buses::create_event_bus(state, parse(body)?).await,
        "DeleteEventBus" => buses::delete_event_bus(state, parse(body)?).await,
        "DescribeEventBus" => buses::describe_event_bus(state, parse(body)?).await,
        "ListEventBuses" => buses::list_event_buses(state, parse(body)?).await,
        "CreateArchive" => archives::create_archive(state, parse(body)?).await,
        "DescribeArchive" => archives::describe_archive(state, parse(body)?).await,
        "ListArchives" => archives::list_archives(state, parse(body)?).await,
        "DeleteArchive" => archives::delete_archive(state, parse(body)?).await,
        "StartReplay" => archives::start_replay(state, parse(body)?).await,
        "DescribeReplay" => archives::describe_replay(state, parse(body)?).await,
        "ListReplays" => archives::list_replays(state, parse(body)?).await,
        "CancelReplay" => archives::cancel_replay(state, parse(body)?).await,
        _ => {
            return Err(AwsError::client(
                "UnknownOperationException",
                format!("Unknown operation AWSEvents.{action}."),
            ));
        }
    };
    answer.map(compact)
}

/// The request body as `T`; an empty body is `{}`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|err| {
        AwsError::client(
            "SerializationException",
            format!("The request body could not be read: {err}"),
        )
    })
}

/// Runs a registry call on the blocking pool.
async fn blocking<T: Send + 'static>(
    registry: &Registry,
    call: impl FnOnce(&Registry) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, AwsError> {
    let registry = registry.clone();
    match tokio::task::spawn_blocking(move || call(&registry)).await {
        Ok(result) => result.map_err(AwsError::from),
        Err(err) => Err(AwsError::internal(&err)),
    }
}

/// The bus named by an `EventBusName` parameter (a name or this account's ARN; `default` when
/// absent). An ARN of another account or region names a bus that does not exist here.
fn bus_name(state: &ApiState, given: Option<&str>) -> Result<String, AwsError> {
    match given {
        None | Some("") => Ok(DEFAULT_BUS.to_owned()),
        Some(given) => state.registry.bus_name_from(given).ok_or_else(|| {
            AwsError::client(
                "ResourceNotFoundException",
                format!("Event bus {given} does not exist."),
            )
        }),
    }
}

/// A name of `[.\-_A-Za-z0-9]+`, 1 to `max` characters, or AWS's validation message about
/// the field `at`.
fn check_name(value: &str, at: &str, max: usize) -> Result<(), AwsError> {
    if value.is_empty() {
        return Err(AwsError::constraint(
            value,
            at,
            "Member must have length greater than or equal to 1",
        ));
    }
    if value.chars().count() > max {
        return Err(AwsError::constraint(
            value,
            at,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(AwsError::constraint(
            value,
            at,
            r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// `Limit`: 1 to 100, 100 when absent.
fn page_limit(limit: Option<i64>) -> Result<usize, AwsError> {
    match limit {
        None => Ok(100),
        Some(limit @ 1..=100) => Ok(usize::try_from(limit).unwrap_or(100)),
        Some(limit) => Err(AwsError::constraint(
            &limit.to_string(),
            "limit",
            "Member must have value between 1 and 100",
        )),
    }
}

/// A `NextToken` for a listing that stopped after `last`.
fn next_token(last: Option<&str>) -> Option<String> {
    last.map(|name| hex::encode(name.as_bytes()))
}

/// The name a `NextToken` resumes after.
fn after_token(token: Option<&str>) -> Result<Option<String>, AwsError> {
    token
        .filter(|token| !token.is_empty())
        .map(|token| {
            hex::decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| AwsError::validation("The NextToken provided is invalid."))
        })
        .transpose()
}

/// Unix milliseconds as AWS JSON's timestamp: seconds, with a fraction.
fn epoch_seconds(ms: i64) -> Value {
    // Timestamps are far below 2^53 milliseconds: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let seconds = ms as f64 / 1000.0;
    serde_json::json!(seconds)
}

/// A timestamp parameter: epoch seconds (a number or numeric string) or RFC 3339 text.
fn timestamp(value: &Value) -> Option<jiff::Timestamp> {
    let from_seconds = |seconds: f64| -> Option<jiff::Timestamp> {
        if !seconds.is_finite() {
            return None;
        }
        // Bounded by jiff's range check below.
        #[allow(clippy::cast_possible_truncation)]
        let ms = (seconds * 1000.0).round() as i64;
        jiff::Timestamp::from_millisecond(ms).ok()
    };
    match value {
        Value::Number(number) => number.as_f64().and_then(from_seconds),
        Value::String(text) => text
            .parse::<jiff::Timestamp>()
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(from_seconds)),
        _ => None,
    }
}

/// The answer without `null` fields: AWS leaves absent fields out.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key, compact(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        other => other,
    }
}

/// A random (version 4) UUID.
pub(super) fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
