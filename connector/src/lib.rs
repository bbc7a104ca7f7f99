//! The Bandpool connector agent: what a customer runs in their own network so that their
//! LoadMasters can take licenses from their pool without reaching the internet. It dials
//! out to the portal only; the LoadMasters talk to it.
//!
//! - [`settings`]: the typed settings (TOML file, then `BANDPOOL_CONNECTOR_*` variables).
//! - `identity`: the credential — stored, or obtained once with a registration token.
//! - `local_api`: the HTTP API LoadMasters call (`/v1/activate`, `/v1/check`,
//!   `/v1/deactivate`, `/healthz`).
//! - `state`: the local license state checks are answered from (`data_dir/state.json`).
//! - `queue`: the disk-backed outbox of check reports and deactivations (`data_dir/queue/`).
//! - `delivery`: cuts checks into batches and sends the outbox, oldest first, with backoff.
//! - `heartbeat`: tells the portal the connector is up, and where LoadMasters reach it.
//! - `commands`: long-polls the portal for kill and sync commands and acknowledges them.
//! - `portal`: the portal's connector API client.
//!
//! [`start`] runs it all in the current tokio runtime and returns a [`RunningAgent`];
//! the `bandpool-connector` binary is a thin wrapper around it.

pub mod settings;

mod backoff;
mod commands;
mod delivery;
pub mod diagnostics;
mod fsutil;
mod heartbeat;
mod identity;
mod local_api;
mod portal;
mod queue;
mod state;

pub use settings::{Settings, SettingsError};

use bandpool_domain::license::LicenseStatus;
use queue::Queue;
use state::Licenses;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("settings: {0}")]
    Settings(#[from] SettingsError),
    #[error(
        "this connector is not registered yet and no registration token is set: set \
         registration_token (or BANDPOOL_CONNECTOR_REGISTRATION_TOKEN) to the token the portal \
         showed when the connector was created (no credential at {credential_path})"
    )]
    NotRegistered { credential_path: String },
    #[error(
        "the portal refused the registration token ({code}: {message}); tokens work once and \
         for 24 hours: create a new one for this connector in the portal"
    )]
    RegistrationRefused { code: String, message: String },
    #[error("data folder: {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen for LoadMasters on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP client: {0}")]
    Client(String),
}

impl AgentError {
    /// The process exit code for this error: 2 for what the operator must fix in the
    /// settings (or the portal), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            AgentError::Settings(_)
            | AgentError::NotRegistered { .. }
            | AgentError::RegistrationRefused { .. } => 2,
            _ => 1,
        }
    }
}

/// What every part of the running agent shares.
pub(crate) struct Shared {
    pub settings: Settings,
    pub portal: portal::Portal,
    pub queue: Queue,
    pub licenses: Licenses,
    pub advertise_url: RwLock<String>,
    pub connector_id: RwLock<Option<String>>,
    pub counters: Counters,
    /// Cut and send now (a deactivation was queued, or a test asked).
    pub flush_now: Notify,
    /// Send a heartbeat now (the address changed).
    pub heartbeat_now: Notify,
    /// Diagnostics the portal asked for are running (one run at a time).
    pub diagnosing: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub checks_received: AtomicU64,
    pub checks_delivered: AtomicU64,
    pub heartbeats: AtomicU64,
    pub commands_done: AtomicU64,
}

impl Shared {
    pub fn advertise_url(&self) -> String {
        self.advertise_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Now, in Unix seconds (check times, clock drift).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How long a shutdown keeps trying to deliver what is queued.
pub const SHUTDOWN_SEND_TIME: Duration = Duration::from_secs(2);

/// Starts the agent: finds or obtains the credential (registering once with the
/// registration token; retries while the portal is unreachable), opens the local state
/// and the queue, listens for LoadMasters, and starts the heartbeat, command and delivery
/// loops. Must run inside a tokio runtime.
pub async fn start(settings: Settings) -> Result<RunningAgent, AgentError> {
    settings.validate()?;
    let data_dir = settings.data_dir.clone();
    let data_error = |source| AgentError::DataDir {
        path: data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&data_dir).map_err(data_error)?;
    identity::ensure_possible(&settings)?;
    // Listen before registering: a port in use is found before the token is spent.
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| AgentError::Listen {
            addr: settings.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| AgentError::Listen {
        addr: settings.listen,
        source,
    })?;
    let advertise_url = settings
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("http://{local_addr}"));
    if settings.advertise_url.is_none() && local_addr.ip().is_unspecified() {
        tracing::warn!(
            "advertise_url is not set: telling LoadMasters to use {advertise_url}; set it to the \
             address they reach this connector at"
        );
    }

    let http = portal::http_client().map_err(|e| AgentError::Client(e.to_string()))?;
    let identity = identity::establish(&settings, &http, &advertise_url).await?;
    let queue = Queue::open(&data_dir).map_err(data_error)?;
    if !queue.is_empty() {
        tracing::info!(
            "{} batches ({} checks) left from the previous run; sending them first",
            queue.len(),
            queue.queued_checks()
        );
    }
    let licenses = Licenses::open(&data_dir).map_err(data_error)?;
    let shared = Arc::new(Shared {
        portal: portal::Portal::new(http, settings.portal_base(), identity.credential),
        settings,
        queue,
        licenses,
        advertise_url: RwLock::new(advertise_url.clone()),
        connector_id: RwLock::new(identity.connector_id),
        counters: Counters::default(),
        flush_now: Notify::new(),
        heartbeat_now: Notify::new(),
        diagnosing: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(local_api::serve(
        listener,
        local_api::router(shared.clone()),
        stopped.clone(),
    ));
    let loops = vec![
        tokio::spawn(heartbeat::run(shared.clone(), stopped.clone())),
        tokio::spawn(commands::run(shared.clone(), stopped.clone())),
    ];
    let delivery = tokio::spawn(delivery::run(shared.clone(), stopped));
    tracing::info!(
        "listening for LoadMasters on {local_addr} (they reach it at {advertise_url}); {} licenses in local state",
        shared.licenses.len()
    );
    Ok(RunningAgent {
        shared,
        local_addr,
        stop,
        server,
        loops,
        delivery,
    })
}

/// A running connector agent. Dropping it without [`RunningAgent::shutdown`] leaves its
/// tasks running until the runtime ends.
pub struct RunningAgent {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    loops: Vec<JoinHandle<()>>,
    delivery: JoinHandle<()>,
}

/// What was still queued when the agent stopped (it is sent at the next start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownSummary {
    pub queued_batches: usize,
    pub queued_checks: usize,
}

impl RunningAgent {
    /// The address the local API listens on (the bound port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connector's id in the portal, once known (from registration or a heartbeat).
    pub fn connector_id(&self) -> Option<String> {
        self.shared
            .connector_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The address LoadMasters are told to reach the connector at.
    pub fn advertise_url(&self) -> String {
        self.shared.advertise_url()
    }

    /// The connector's address changed: from now on checks answer with this
    /// `connector_url`, and a heartbeat reports it to the portal right away.
    pub fn set_advertise_url(&self, url: impl Into<String>) {
        let url = url.into();
        tracing::info!("LoadMasters now reach this connector at {url}");
        *self
            .shared
            .advertise_url
            .write()
            .unwrap_or_else(|p| p.into_inner()) = url;
        self.shared.heartbeat_now.notify_one();
    }

    /// LoadMaster checks received on the local API since start.
    pub fn checks_received(&self) -> u64 {
        self.shared.counters.checks_received.load(Ordering::Relaxed)
    }

    /// Checks the portal has taken (in check reports answered 2xx) since start.
    pub fn checks_delivered(&self) -> u64 {
        self.shared
            .counters
            .checks_delivered
            .load(Ordering::Relaxed)
    }

    /// Batch files (check reports and deactivations) waiting on disk.
    pub fn queued_batches(&self) -> usize {
        self.shared.queue.len()
    }

    /// Checks not yet delivered: in batch files, plus those not yet cut into one.
    pub fn queued_checks(&self) -> usize {
        self.shared.queue.queued_checks() + self.shared.queue.buffered_checks()
    }

    /// Heartbeats the portal answered since start.
    pub fn heartbeats_sent(&self) -> u64 {
        self.shared.counters.heartbeats.load(Ordering::Relaxed)
    }

    /// Commands (kill, sync) carried out and acknowledged since start.
    pub fn commands_done(&self) -> u64 {
        self.shared.counters.commands_done.load(Ordering::Relaxed)
    }

    /// A license's status in the local state (what its LoadMaster's next check hears).
    pub fn license_status(&self, license_id: &str) -> Option<LicenseStatus> {
        self.shared.licenses.status(license_id)
    }

    /// Cut the checks received so far into a batch and try sending now, instead of at
    /// the next `flush_millis` tick (a backoff in progress still applies).
    pub fn flush_now(&self) {
        self.shared.flush_now.notify_one();
    }

    /// Stops cleanly: the local API stops taking requests, the received checks are cut
    /// into a batch, the state is saved, and the queue is sent for up to
    /// [`SHUTDOWN_SEND_TIME`]. What remains stays on disk for the next start.
    pub async fn shutdown(self) -> ShutdownSummary {
        let _ = self.stop.send(true);
        // In-flight LoadMaster requests finish (an activation may be waiting on the portal).
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(15), &mut server)
            .await
            .is_err()
        {
            tracing::warn!("the local API did not stop in time");
            server.abort();
        }
        for task in self.loops {
            let _ = task.await;
        }
        let _ = self.delivery.await;
        if let Err(e) = self.shared.licenses.save().await {
            tracing::error!("could not save the local license state: {e}");
        }
        let summary = ShutdownSummary {
            queued_batches: self.shared.queue.len(),
            queued_checks: self.shared.queue.queued_checks(),
        };
        if summary.queued_batches == 0 {
            tracing::info!("stopped; nothing left queued");
        } else {
            tracing::info!(
                "stopped; {} batches ({} checks) stay queued on disk and are sent at the next start",
                summary.queued_batches,
                summary.queued_checks
            );
        }
        summary
    }
}
