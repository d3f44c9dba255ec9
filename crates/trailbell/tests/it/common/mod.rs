//! What the integration tests share: the real `trailbell` binary, run from the workspace root as a
//! user in a checkout would run it.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

pub mod account;
pub mod api_server;
pub mod recorder;
pub mod service;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

/// The workspace root, where `testdata/` and `rules/` are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `trailbell` with `args` and no standard input.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .expect("trailbell runs")
}

/// Runs `trailbell` with `args`, feeding `stdin` from a thread so that a large input cannot
/// deadlock against a full stdout pipe.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trailbell starts");
    let mut child_stdin = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let writer = thread::spawn(move || {
        // The child may exit before reading everything (e.g. on an invalid rules file).
        let _ = child_stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("trailbell runs");
    writer.join().expect("stdin writer finishes");
    output
}

pub fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> &str {
    std::str::from_utf8(&output.stderr).expect("stderr is UTF-8")
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("trailbell exits with a code")
}

/// The moto server's endpoint; a test that needs it fails (never skips) without it.
pub fn moto_endpoint() -> String {
    match std::env::var("TRAILBELL_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "TRAILBELL_TEST_MOTO_ENDPOINT is not set: these tests need a moto server; \
             run them with ./scripts/test (or scripts/lib/with-test-services cargo test ...)"
        ),
    }
}

/// A topic `<name>-<pid>` in moto with a queue `<name>-channel-<pid>` subscribed to it (raw
/// delivery), as a Chatbot channel stands in for here: the SQS client, the topic's ARN and the
/// queue's URL.
pub async fn topic_with_queue(name: &str) -> (aws_sdk_sqs::Client, String, String) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let suffix = std::process::id();
    let topic_arn = sns
        .create_topic()
        .name(format!("{name}-{suffix}"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("an ARN");
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{name}-channel-{suffix}"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("a URL");
    subscribe_queue_to_topic(&sns, &sqs, &topic_arn, &queue_url, true).await;
    (sqs, topic_arn, queue_url)
}

/// Subscribes the SQS queue at `queue_url` to the SNS topic `topic_arn` (raw message delivery
/// when `raw`): what a team that reads alerts from a queue sets up.
pub async fn subscribe_queue_to_topic(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    queue_url: &str,
    raw: bool,
) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    let mut subscribe = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn);
    if raw {
        subscribe = subscribe.attributes("RawMessageDelivery", "true");
    }
    subscribe.send().await.expect("moto subscribes the queue");
}
