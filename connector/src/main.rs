//! `bandpool-connector [--config PATH]`: the connector agent. Settings come from the file
//! (default `bandpool-connector.toml` when present) and `BANDPOOL_CONNECTOR_*` variables;
//! see the `bandpool_connector::settings` docs. Stops cleanly on Ctrl-C or SIGTERM.
//!
//! Exit codes: 0 stopped, 1 failed, 2 settings (or registration token) to fix.

use bandpool_connector::{start, Settings};
use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bandpool-connector",
    version,
    about = "Bandpool connector agent: licenses the LoadMasters of this network through the portal"
)]
struct Cli {
    /// A settings file (TOML); BANDPOOL_CONNECTOR_* variables override it.
    #[arg(long, env = "BANDPOOL_CONNECTOR_CONFIG")]
    config: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: settings: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> ExitCode {
    let agent = tokio::select! {
        started = start(settings) => match started {
            Ok(agent) => agent,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::from(e.exit_code());
            }
        },
        _ = stop_signal() => {
            tracing::info!("stopped before connecting to the portal");
            return ExitCode::SUCCESS;
        }
    };
    stop_signal().await;
    tracing::info!("stopping");
    agent.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what service managers and containers send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
