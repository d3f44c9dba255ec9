//! `trailbell run`: the service, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use trailbell::config::Config;
use trailbell::service::Service;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  trailbell run
  TRAILBELL_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... trailbell run
  trailbell run --config /etc/trailbell/trailbell.toml --data-dir /var/lib/trailbell
  trailbell run --listen localhost:9820 --log-format json")]
pub struct Args {
    /// The configuration file. [default: the embedded default: the built-in rules, alerts to the
    /// terminal and to Slack when TRAILBELL_SLACK_WEBHOOK_URL is set]
    #[arg(long, value_name = "FILE", env = "TRAILBELL_CONFIG")]
    config: Option<PathBuf>,
    /// Where the store lives. [default: the configuration's, else the user's data directory]
    #[arg(long, value_name = "DIR", env = "TRAILBELL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The API's address, instead of the configuration's: IP:PORT or HOST:PORT, e.g.
    /// localhost:9820 (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Log lines as text for people or as JSON for machines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    init_logs(args.log_format);
    let mut config = match &args.config {
        Some(path) => Config::load(path)?.checked(&path.display().to_string())?,
        None => Config::embedded_default()?.checked("(embedded default)")?,
    };
    for left_out in &config.left_out {
        tracing::warn!(
            destination = %left_out.destination,
            "Destination left out: {}; set it and restart to send alerts there.",
            left_out.reason
        );
    }
    if let Some(listen) = args.listen {
        if !config.api.authentication && !listen.ip().is_loopback() {
            anyhow::bail!(
                "--listen {listen}: authentication is disabled, which is allowed on a loopback address only"
            );
        }
        config.service.listen = listen;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // The handlers go in before the banner: whoever reads the banner may signal at once.
        let stop = stop_signals()?;
        let service = Service::start(config, args.data_dir.clone()).await?;
        let banner = format!(
            "trailbell: listening on http://{} (EventBridge API; /health, /metrics); {} rules; store {}",
            service.api_address(),
            service.configured_rules(),
            service.store_path().display()
        );
        // JSON logs stay JSON: every line on standard error is then one object.
        match args.log_format {
            LogFormat::Text => eprintln!("{banner}"),
            LogFormat::Json => tracing::info!(address = %service.api_address(), "{banner}"),
        }
        if let Some(address) = service.metrics_address() {
            let banner = format!("trailbell: metrics on http://{address} (/metrics, /health)");
            match args.log_format {
                LogFormat::Text => eprintln!("{banner}"),
                LogFormat::Json => tracing::info!(%address, "{banner}"),
            }
        }
        stop.await;
        match args.log_format {
            LogFormat::Text => eprintln!("trailbell: stopping"),
            LogFormat::Json => tracing::info!("trailbell: stopping"),
        }
        service.stop().await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Registers SIGTERM and SIGINT now; the returned future ends at the first of them.
fn stop_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set (https://no-color.org):
/// escape codes in a log file or a journal are noise.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// `--listen`: an IP address and port, or a host name and port resolved here (its IPv4 address
/// first, as `localhost` means 127.0.0.1 to most clients).
fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(address) = value.parse::<SocketAddr>() {
        return Ok(address);
    }
    if !value.contains(':') {
        return Err(format!(
            "{value:?} has no port: give HOST:PORT, e.g. localhost:9820"
        ));
    }
    let addresses: Vec<SocketAddr> = value
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {value:?}: {err}"))?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| format!("{value:?} resolves to no address"))
}
