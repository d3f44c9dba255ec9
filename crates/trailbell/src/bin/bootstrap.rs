//! `bootstrap`: trailbell as an AWS Lambda function (provided.al2023), the target of an
//! EventBridge rule. The work is in `trailbell::lambda`; this is the process edge: logs, the cold
//! start (reported to the Runtime API when it fails) and the Runtime API loop.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;
use trailbell::lambda::{Handler, Settings};

/// What `bootstrap` says when started by hand: it is the Lambda build, not a command.
const NOT_IN_LAMBDA: &str = "bootstrap is trailbell's AWS Lambda function (the target of an \
EventBridge rule) and runs only inside Lambda, which sets AWS_LAMBDA_RUNTIME_API; to run \
trailbell here use the trailbell binary (trailbell run, trailbell scan); to deploy this one see \
docs/LAMBDA.md";

fn main() -> std::process::ExitCode {
    // Lambda always sets it; without it the runtime client would panic on its first request.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none_or(|api| api.is_empty()) {
        eprintln!("{NOT_IN_LAMBDA}");
        return std::process::ExitCode::from(2);
    }
    match lambda_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn lambda_main() -> anyhow::Result<()> {
    // One JSON object per line: CloudWatch Logs keeps lines whole and Logs Insights reads them.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAILBELL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let settings = Settings::from_env();
    let handler = match Handler::init(&settings).await {
        Ok(handler) => Arc::new(handler),
        Err(err) => {
            tracing::error!(error = %err, "trailbell could not start.");
            if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
                && let Err(report) = trailbell::lambda::report_init_error(&api, &err).await
            {
                tracing::error!("the init error could not be reported: {report}");
            }
            return Err(err.into());
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let handler = Arc::clone(&handler);
        async move {
            let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
            let result = handler.handle(event.payload.get(), deadline_ms).await;
            if let Err(err) = &result {
                tracing::error!(error = %err, "The invocation failed; EventBridge will retry it.");
            }
            result
        }
    }))
    .await
    .map_err(|err| anyhow::anyhow!(err))
}
