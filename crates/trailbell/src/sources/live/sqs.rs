//! S3 event notifications for a trail's bucket, read from an SQS queue: each message names new
//! objects (directly, or wrapped in an SNS notification); each object is read, its events
//! submitted, and the message deleted only after every alert from every object in it is in the
//! outbox. A message whose object cannot be fetched stays on the queue and comes back after its
//! visibility timeout (and to the queue's dead-letter queue after its redrive policy's count).

use aws_config::BehaviorVersion;
use serde_json::Value;

use super::{SourceContext, lag_seconds, now_rfc3339};
use crate::cloudtrail::file_events;
use crate::sources::s3::is_digest_key;

/// One S3 object named by a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The key, URL-decoded.
    pub key: String,
}

/// The objects an SQS message body announces: an S3 event notification, or one wrapped in an SNS
/// notification. S3's test event and non-creation events announce none; digest files are left
/// out. `Err` for a body that is none of these.
///
/// ```
/// use trailbell::sources::live::sqs::objects_of;
///
/// let body = r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
///     "s3": {"bucket": {"name": "trail"}, "object": {"key": "AWSLogs/1/CloudTrail/us-east-1/2026/11/27/a+b%3D.json.gz"}}}]}"#;
/// let objects = objects_of(body)?;
/// assert_eq!(objects[0].key, "AWSLogs/1/CloudTrail/us-east-1/2026/11/27/a b=.json.gz");
/// let wrapped = serde_json::json!({"Type": "Notification", "Message": body}).to_string();
/// assert_eq!(objects_of(&wrapped)?, objects);
/// assert!(objects_of(r#"{"Service": "Amazon S3", "Event": "s3:TestEvent"}"#)?.is_empty());
/// # Ok::<(), String>(())
/// ```
pub fn objects_of(body: &str) -> Result<Vec<ObjectRef>, String> {
    let value: Value =
        serde_json::from_str(body).map_err(|err| format!("the message is not JSON: {err}"))?;
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let inner = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or("an SNS notification without a Message")?;
        return objects_of(inner);
    }
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let records = value
        .get("Records")
        .and_then(Value::as_array)
        .ok_or("neither an S3 event notification nor an SNS notification")?;
    let mut objects = Vec::new();
    for record in records {
        let created = record
            .get("eventName")
            .and_then(Value::as_str)
            .is_some_and(|name| name.starts_with("ObjectCreated:"));
        let bucket = record.pointer("/s3/bucket/name").and_then(Value::as_str);
        let key = record.pointer("/s3/object/key").and_then(Value::as_str);
        if let (true, Some(bucket), Some(key)) = (created, bucket, key) {
            let key = decode_key(key);
            if !is_digest_key(&key) {
                objects.push(ObjectRef {
                    bucket: bucket.to_owned(),
                    key,
                });
            }
        }
    }
    Ok(objects)
}

/// S3 notifications URL-encode keys, spaces as `+`.
fn decode_key(key: &str) -> String {
    url::form_urlencoded::parse(format!("k={key}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| key.to_owned())
}

/// Reads the queue until the service stops.
pub async fn watch(mut context: SourceContext, queue_url: String, endpoint_url: Option<String>) {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    let config = loader.load().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(endpoint_url.is_some())
            .build(),
    );
    tracing::info!(source = %context.name, "reading S3 notifications from SQS");
    loop {
        let receive = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(20);
        let received = tokio::select! {
            received = receive.send() => received,
            _ = context.shutdown.changed() => return,
        };
        let messages = match received {
            Ok(output) => {
                context.looked(Ok(()));
                output.messages.unwrap_or_default()
            }
            Err(err) => {
                let wait = std::time::Duration::from_secs(5);
                context.aws_error(&super::aws_failure("SQS", "ReceiveMessage", &err), wait);
                if context.pause(wait).await {
                    return;
                }
                continue;
            }
        };
        for message in messages {
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            match handle(&context, &s3, message.body().unwrap_or("")).await {
                Ok(()) => {
                    if let Err(err) = sqs
                        .delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                    {
                        context.error(&format!(
                            "{}; the message will be handled again",
                            super::aws_failure("SQS", "DeleteMessage", &err).summary()
                        ));
                    }
                }
                Err(err) => context.error(&format!("a message stays on the queue: {err}")),
            }
        }
        if *context.shutdown.borrow() {
            return;
        }
    }
}

/// Handles one message: `Ok` when it can be deleted.
async fn handle(
    context: &SourceContext,
    s3: &aws_sdk_s3::Client,
    body: &str,
) -> Result<(), String> {
    let objects = match objects_of(body) {
        Ok(objects) => objects,
        Err(reason) => {
            // Not a notification at all: no retry can help.
            context.error(&format!(
                "a message was not an S3 notification ({reason}); deleted"
            ));
            return Ok(());
        }
    };
    for object in objects {
        let name = format!("s3://{}/{}", object.bucket, object.key);
        let output = s3
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|err| {
                format!(
                    "{name}: {}",
                    super::aws_failure("S3", "GetObject", &err).summary()
                )
            })?;
        let data = output
            .body
            .collect()
            .await
            .map_err(|err| format!("{name}: reading the object failed: {err}"))?
            .into_bytes();
        let read = match file_events(&data) {
            Ok(read) => read,
            Err(err) => {
                // A damaged file stays damaged: report it and go on.
                context.error(&format!("{name}: {err}"));
                continue;
            }
        };
        context.refused(&name, &read.refused);
        let newest = read
            .events
            .iter()
            .filter_map(|event| event.value.get("time")?.as_str().map(str::to_owned))
            .max();
        let count = read.events.len();
        context.submit(read.events, &now_rfc3339()).await?;
        context.metrics.source(&context.name, |status| {
            status.events += count as u64;
            if let Some(lag) = newest.as_deref().and_then(lag_seconds) {
                status.lag_seconds = lag;
            }
        });
    }
    Ok(())
}
