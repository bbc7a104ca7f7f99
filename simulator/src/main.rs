//! `loadmaster-sim`: runs a fleet of simulated LoadMasters against a connector until
//! Ctrl-C (or SIGTERM), logging a summary line every `--report-seconds`. Its `offline`
//! commands play one LoadMaster with no route to a connector: it shows its serial number,
//! access code and the link to the portal's Offline Licensing page, then applies the license
//! text pasted back (checked against the portal's public key; a tampered text is refused).
//!
//! ```text
//! loadmaster-sim --connector http://127.0.0.1:8470 --count 5000 --check-seconds 10
//! loadmaster-sim offline-link --portal https://portal.example --serial 1234567
//! loadmaster-sim apply-license --portal https://portal.example --serial 1234567 \
//!     --access-code ... --text license.txt
//! ```

use bandpool_simulator::{Fleet, FleetSettings};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "loadmaster-sim",
    version,
    about = "Simulated LoadMasters that license themselves through a Bandpool connector",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    offline: Option<bandpool_simulator::offline::Command>,
    /// The connector's local API.
    #[arg(
        long,
        env = "LOADMASTER_SIM_CONNECTOR",
        default_value = "http://127.0.0.1:8470"
    )]
    connector: String,
    /// How many LoadMasters.
    #[arg(long, default_value_t = 10)]
    count: usize,
    /// Seconds between one LoadMaster's checks.
    #[arg(long, default_value_t = 10)]
    check_seconds: u64,
    /// Metered LoadMasters: seconds between usage samples (300 as the documents say; 0:
    /// none, as pooled LoadMasters).
    #[arg(long, default_value_t = 0)]
    usage_seconds: u64,
    /// The license type each LoadMaster asks for.
    #[arg(long, default_value = "vlm-200")]
    license_type: String,
    /// The licensing identifier (SKU) of the LoadMaster image.
    #[arg(long, default_value = "VLM-SPLA")]
    sku: String,
    /// The kind of license asked for: pooled, permanent, temporary or trial.
    #[arg(long, default_value = "pooled", value_parser = kind)]
    kind: bandpool_domain::lifecycle::LicenseKind,
    /// The vendor's Order ID (a first permanent license needs one).
    #[arg(long)]
    order_id: Option<String>,
    /// Run the LoadMasters as HA pairs (1 with 2, 3 with 4, ...), named in their checks.
    #[arg(long)]
    ha_pairs: bool,
    /// Device names are <prefix>-0001, <prefix>-0002, ...
    #[arg(long, default_value = "sim")]
    name_prefix: String,
    /// Serial numbers are base+1, base+2, ...
    #[arg(long, default_value_t = 9_000_000)]
    serial_base: u64,
    /// IP addresses are this prefix (one to three octets) plus octets from the number.
    #[arg(long, default_value = "10.20")]
    ip_prefix: String,
    /// Seconds between summary lines (0: none).
    #[arg(long, default_value_t = 10)]
    report_seconds: u64,
    /// Seconds between activation attempts after a refusal.
    #[arg(long, default_value_t = 60)]
    refusal_retry_seconds: u64,
    /// Requests in flight to the connector at most.
    #[arg(long, default_value_t = 256)]
    max_connections: usize,
    /// A tracing filter (`info`, `debug`, ...).
    #[arg(long, env = "LOADMASTER_SIM_LOG", default_value = "info")]
    log: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(offline) = cli.offline {
        return bandpool_simulator::offline::run(offline);
    }
    let filter = match tracing_subscriber::EnvFilter::try_new(&cli.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("error: --log: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let settings = FleetSettings {
        check_interval: Duration::from_secs(cli.check_seconds),
        usage_interval: (cli.usage_seconds > 0).then(|| Duration::from_secs(cli.usage_seconds)),
        license_type_id: cli.license_type,
        sku: cli.sku,
        ask: bandpool_domain::connector::LicenseAsk {
            kind: Some(cli.kind),
            order_id: cli.order_id,
            payg: false,
        },
        ha_pairs: cli.ha_pairs,
        name_prefix: cli.name_prefix,
        serial_base: cli.serial_base,
        ip_prefix: cli.ip_prefix,
        report_interval: (cli.report_seconds > 0).then(|| Duration::from_secs(cli.report_seconds)),
        refusal_retry: Duration::from_secs(cli.refusal_retry_seconds),
        max_connections: cli.max_connections,
        ..FleetSettings::new(cli.connector, cli.count)
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let fleet = match Fleet::start(settings).await {
            Ok(fleet) => fleet,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        stop_signal().await;
        let last = fleet.shutdown().await;
        tracing::info!(
            "stopped: {} licensed, {} in grace, {} killed, {} expired, {} refused, {} pending; \
             checks {} ok, {} failed",
            last.licensed,
            last.in_grace,
            last.killed,
            last.expired,
            last.refused,
            last.pending,
            last.checks_ok,
            last.checks_failed
        );
        ExitCode::SUCCESS
    })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn kind(key: &str) -> Result<bandpool_domain::lifecycle::LicenseKind, String> {
    bandpool_domain::lifecycle::LicenseKind::from_key(key)
        .ok_or_else(|| format!("'{key}' is not pooled, permanent, temporary or trial"))
}
