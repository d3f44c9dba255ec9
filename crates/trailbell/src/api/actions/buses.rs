//! `CreateEventBus`, `DeleteEventBus`, `DescribeEventBus`, `ListEventBuses`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{AwsError, after_token, blocking, bus_name, epoch_seconds, next_token, page_limit};
use crate::api::server::ApiState;
use crate::registry::BusInfo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateEventBusRequest {
    #[serde(default)]
    name: String,
    event_source_name: Option<String>,
    description: Option<String>,
}

pub(super) async fn create_event_bus(
    state: &ApiState,
    request: CreateEventBusRequest,
) -> Result<Value, AwsError> {
    super::check_name(&request.name, "name", 256)?;
    if request.event_source_name.is_some() {
        return Err(AwsError::validation(
            "Parameter EventSourceName is not valid. Reason: partner event sources are not supported by trailbell.",
        ));
    }
    let bus = blocking(&state.registry, move |registry| {
        registry.create_bus(&request.name, request.description.as_deref())
    })
    .await?;
    Ok(json!({"EventBusArn": bus.arn, "Description": bus.description}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct BusRequest {
    name: Option<String>,
}

pub(super) async fn delete_event_bus(
    state: &ApiState,
    request: BusRequest,
) -> Result<Value, AwsError> {
    let name = request.name.unwrap_or_default();
    super::check_name(&name, "name", 256)?;
    blocking(&state.registry, move |registry| registry.delete_bus(&name)).await?;
    Ok(json!({}))
}

pub(super) async fn describe_event_bus(
    state: &ApiState,
    request: BusRequest,
) -> Result<Value, AwsError> {
    let name = bus_name(state, request.name.as_deref())?;
    let bus = blocking(&state.registry, move |registry| {
        registry.describe_bus(&name)
    })
    .await?;
    Ok(bus_json(&bus))
}

fn bus_json(bus: &BusInfo) -> Value {
    json!({
        "Name": bus.name,
        "Arn": bus.arn,
        "Description": bus.description,
        "CreationTime": epoch_seconds(bus.created_ms),
        "LastModifiedTime": epoch_seconds(bus.created_ms),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListEventBusesRequest {
    name_prefix: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn list_event_buses(
    state: &ApiState,
    request: ListEventBusesRequest,
) -> Result<Value, AwsError> {
    let limit = page_limit(request.limit)?;
    let after = after_token(request.next_token.as_deref())?;
    let (buses, more) = blocking(&state.registry, move |registry| {
        registry.list_buses(request.name_prefix.as_deref(), after.as_deref(), limit)
    })
    .await?;
    let token = if more {
        next_token(buses.last().map(|bus| bus.name.as_str()))
    } else {
        None
    };
    Ok(json!({
        "EventBuses": buses.iter().map(bus_json).collect::<Vec<_>>(),
        "NextToken": token,
    }))
}
