//! A LoadMaster appliance simulator: a fleet of stand-in LoadMasters that license
//! themselves through a Bandpool connector's local API (`/v1/activate`, then `/v1/check`
//! periodically) and react to the answers as LoadMasters do — grace periods, kills,
//! expiry, refusals, and a connector that moves to a new address.
//!
//! - [`naming`]: the names, serial numbers and IP addresses of the fleet's appliances.
//! - [`appliance`]: one appliance's states and behaviour (each runs as a tokio task).
//! - `report`: the periodic summary log line.
//!
//! [`Fleet::start`] runs a fleet in the current tokio runtime; thousands of appliances share
//! one HTTP client whose connections are capped (`max_connections`), so a fleet of 5,000
//! runs comfortably on a small machine. The `loadmaster-sim` binary is a thin wrapper.

pub mod appliance;
pub mod naming;
pub mod offline;
mod report;
pub mod traffic;

pub use appliance::{ApplianceState, GraceReason};

use appliance::{Poke, Slot};
use naming::ApplianceId;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

/// How a fleet is made up and behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSettings {
    /// The connector's local API, e.g. `http://127.0.0.1:8470`.
    pub connector_url: String,
    /// How many LoadMasters.
    pub count: usize,
    /// Time between one appliance's checks.
    pub check_interval: Duration,
    /// The license type asked for (`vlm-200`).
    pub license_type_id: String,
    /// The licensing identifier of the LoadMaster image (`VLM-SPLA`).
    pub sku: String,
    /// The kind of license asked for and the order (default: pooled).
    pub ask: bandpool_domain::connector::LicenseAsk,
    /// LoadMasters run as HA pairs (1 with 2, 3 with 4, ...) and say so in their checks.
    pub ha_pairs: bool,
    /// Device names are `<prefix>-0001`, ...
    pub name_prefix: String,
    /// Serial numbers are `serial_base + 1`, ...
    pub serial_base: u64,
    /// IP addresses are this prefix (one to three octets) plus octets from the number.
    pub ip_prefix: String,
    /// Spread the first checks over the first interval (so that a fleet started at once
    /// does not check in lock-step). Off: the first check comes a full interval after
    /// the activation (tests that drive checks with `check_all_now`).
    pub spread_first_check: bool,
    /// A summary log line this often (`None`: none).
    pub report_interval: Option<Duration>,
    /// Time between activation attempts after a refusal.
    pub refusal_retry: Duration,
    /// Failed checks in a row before a licensed LoadMaster goes into grace.
    pub unreachable_after: u32,
    /// Requests in flight to the connector at most (the connection pool's size).
    pub max_connections: usize,
    /// How long a check may take.
    pub request_timeout: Duration,
    /// A metered fleet: each licensed LoadMaster reports a usage sample this often (at the
    /// first check after it is due; `None`: no samples, as a pooled LoadMaster).
    pub usage_interval: Option<Duration>,
}

impl FleetSettings {
    /// `count` LoadMasters checking in every 10 s through the connector at `connector_url`,
    /// with the simulator's other defaults.
    pub fn new(connector_url: impl Into<String>, count: usize) -> FleetSettings {
        FleetSettings {
            connector_url: connector_url.into(),
            count,
            check_interval: Duration::from_secs(10),
            license_type_id: "vlm-200".into(),
            sku: "VLM-SPLA".into(),
            ask: Default::default(),
            ha_pairs: false,
            name_prefix: "sim".into(),
            serial_base: 9_000_000,
            ip_prefix: "10.20".into(),
            spread_first_check: true,
            report_interval: None,
            refusal_retry: Duration::from_secs(60),
            unreachable_after: 3,
            max_connections: 256,
            request_timeout: Duration::from_secs(10),
            usage_interval: None,
        }
    }

    /// What appliance `number` says about its partners in its checks: its HA partner when the
    /// fleet runs HA pairs (an odd number pairs with the next; a last odd one is alone).
    pub fn partners_of(&self, number: usize) -> Option<bandpool_domain::connector::Partners> {
        if !self.ha_pairs {
            return None;
        }
        let partner = if number % 2 == 1 {
            number + 1
        } else {
            number - 1
        };
        (partner >= 1 && partner <= self.count).then(|| bandpool_domain::connector::Partners {
            ha_partner_serial: Some(naming::serial_no(self.serial_base, partner)),
            geo_partner_serials: Vec::new(),
        })
    }

    fn validate(&self) -> Result<(), FleetError> {
        let invalid = |m: String| Err(FleetError::InvalidSettings(m));
        match reqwest::Url::parse(&self.connector_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return invalid(format!(
                    "connector: `{}` is not an http:// address",
                    self.connector_url
                ))
            }
        }
        match naming::ip_capacity(&self.ip_prefix) {
            None => {
                return invalid(format!(
                    "ip prefix: `{}` is not one to three octets (like 10.20)",
                    self.ip_prefix
                ))
            }
            Some(room) if room < self.count => {
                return invalid(format!(
                    "ip prefix: `{}` has room for {room} appliances, not {}",
                    self.ip_prefix, self.count
                ))
            }
            Some(_) => {}
        }
        if self.check_interval.is_zero() {
            return invalid("the check interval must be more than 0".into());
        }
        if self.max_connections == 0 {
            return invalid("max connections must be at least 1".into());
        }
        if self.unreachable_after == 0 {
            return invalid("unreachable after must be at least 1".into());
        }
        Ok(())
    }
}

/// Why a fleet could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    InvalidSettings(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Counts over the whole fleet at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetSnapshot {
    pub total: usize,
    pub pending: usize,
    pub licensed: usize,
    pub in_grace: usize,
    pub killed: usize,
    pub expired: usize,
    pub refused: usize,
    /// The refused appliances by refusal code.
    pub refusals: BTreeMap<String, usize>,
    /// Successful activations since start.
    pub activations: u64,
    /// Checks answered (any status) since start.
    pub checks_ok: u64,
    /// Checks not answered (connector unreachable, an error status) since start.
    pub checks_failed: u64,
    /// Usage samples the connector took since start.
    pub samples_sent: u64,
}

/// One appliance as the fleet sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceView {
    pub device_name: String,
    pub serial_no: String,
    pub ip_address: String,
    /// The license it holds, once activated.
    pub license_id: Option<String>,
    pub state: ApplianceState,
    /// The connector it talks to now (it follows the connector's address changes).
    pub connector_url: String,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub activations: AtomicU64,
    pub checks_ok: AtomicU64,
    pub checks_failed: AtomicU64,
    pub samples_sent: AtomicU64,
}

/// What every appliance task shares.
pub(crate) struct FleetContext {
    pub settings: FleetSettings,
    pub http: reqwest::Client,
    /// Caps the requests in flight (and so the connections) across the fleet.
    pub connections: Semaphore,
    pub counters: Counters,
    /// The last connector address announced in the log (LoadMasters follow it one by one).
    pub announced_url: std::sync::Mutex<Option<String>>,
    /// When the fleet started (Unix seconds): metered appliances booted shortly before.
    pub started_at: i64,
}

/// A running fleet of simulated LoadMasters.
pub struct Fleet {
    ctx: Arc<FleetContext>,
    slots: Vec<Arc<Slot>>,
    pokes: Vec<mpsc::Sender<Poke>>,
    tasks: Vec<JoinHandle<()>>,
    reporter: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Fleet {
    /// Starts every appliance: each activates at once, then checks on its own schedule
    /// (its first check at a random point of the first interval). Must run inside a tokio
    /// runtime.
    pub async fn start(settings: FleetSettings) -> Result<Fleet, FleetError> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("loadmaster-sim/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(settings.max_connections)
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| FleetError::Client(e.to_string()))?;
        let ctx = Arc::new(FleetContext {
            connections: Semaphore::new(settings.max_connections),
            http,
            counters: Counters::default(),
            announced_url: std::sync::Mutex::new(None),
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            settings,
        });
        let (stop, stopped) = watch::channel(false);
        let s = &ctx.settings;
        let mut slots = Vec::with_capacity(s.count);
        let mut pokes = Vec::with_capacity(s.count);
        let mut tasks = Vec::with_capacity(s.count);
        for number in 1..=s.count {
            let id = ApplianceId {
                number,
                device_name: naming::device_name(&s.name_prefix, number),
                serial_no: naming::serial_no(s.serial_base, number),
                ip_address: naming::ip_address(&s.ip_prefix, number)
                    .expect("validated: the prefix has room"),
            };
            let slot = Arc::new(Slot::new(id, s.connector_url.clone()));
            let (poke, poked) = mpsc::channel(1);
            tasks.push(tokio::spawn(appliance::run(
                slot.clone(),
                ctx.clone(),
                poked,
                stopped.clone(),
            )));
            slots.push(slot);
            pokes.push(poke);
        }
        let mut fleet = Fleet {
            ctx,
            slots,
            pokes,
            tasks,
            reporter: None,
            stop,
        };
        if let Some(every) = fleet.ctx.settings.report_interval {
            fleet.reporter = Some(tokio::spawn(report::run(
                fleet.slots.clone(),
                fleet.ctx.clone(),
                every,
                stopped,
            )));
        }
        tracing::info!(
            "started {} LoadMasters against {}",
            fleet.slots.len(),
            fleet.ctx.settings.connector_url
        );
        Ok(fleet)
    }

    /// How many appliances the fleet has.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the fleet has no appliances.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Counts per state and check counters, now.
    pub fn snapshot(&self) -> FleetSnapshot {
        snapshot(&self.slots, &self.ctx)
    }

    /// Every appliance, in fleet order.
    pub fn appliances(&self) -> Vec<ApplianceView> {
        self.slots
            .iter()
            .map(|slot| {
                let record = slot.read();
                ApplianceView {
                    device_name: slot.id.device_name.clone(),
                    serial_no: slot.id.serial_no.clone(),
                    ip_address: slot.id.ip_address.clone(),
                    license_id: record.license_id,
                    state: record.state,
                    connector_url: record.connector_url,
                }
            })
            .collect()
    }

    /// Makes every appliance take its next step now — a check, or an activation attempt
    /// for one without a license (refused ones included) — and waits until all have.
    /// Appliances that stopped (killed, expired) are skipped.
    pub async fn check_all_now(&self) {
        let mut waiting = Vec::with_capacity(self.pokes.len());
        for poke in &self.pokes {
            let (done, finished) = oneshot::channel();
            if poke.send(done).await.is_ok() {
                waiting.push(finished);
            }
        }
        for finished in waiting {
            let _ = finished.await;
        }
    }

    /// Polls the fleet until `done` holds for its snapshot, or `timeout` passes. Returns
    /// the last snapshot and whether `done` held.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&FleetSnapshot) -> bool,
    ) -> (FleetSnapshot, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return (snapshot, true);
            }
            if tokio::time::Instant::now() >= deadline {
                return (snapshot, false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every appliance (in-flight requests are dropped) and returns the final counts.
    pub async fn shutdown(self) -> FleetSnapshot {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(reporter) = self.reporter {
            let _ = reporter.await;
        }
        snapshot(&self.slots, &self.ctx)
    }
}

pub(crate) fn snapshot(slots: &[Arc<Slot>], ctx: &FleetContext) -> FleetSnapshot {
    let mut s = FleetSnapshot {
        total: slots.len(),
        activations: ctx.counters.activations.load(Ordering::Relaxed),
        checks_ok: ctx.counters.checks_ok.load(Ordering::Relaxed),
        checks_failed: ctx.counters.checks_failed.load(Ordering::Relaxed),
        samples_sent: ctx.counters.samples_sent.load(Ordering::Relaxed),
        ..FleetSnapshot::default()
    };
    for slot in slots {
        match slot.read().state {
            ApplianceState::Pending => s.pending += 1,
            ApplianceState::Licensed => s.licensed += 1,
            ApplianceState::InGrace(_) => s.in_grace += 1,
            ApplianceState::Killed => s.killed += 1,
            ApplianceState::Expired => s.expired += 1,
            ApplianceState::Refused(code) => {
                s.refused += 1;
                *s.refusals.entry(code).or_default() += 1;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha_pairs_are_neighbours_and_a_last_odd_one_is_alone() {
        let mut fleet = FleetSettings::new("http://127.0.0.1:8470", 3);
        assert_eq!(fleet.partners_of(1), None);
        fleet.ha_pairs = true;
        let ha = |n| fleet.partners_of(n).and_then(|p| p.ha_partner_serial);
        assert_eq!(ha(1).as_deref(), Some("9000002"));
        assert_eq!(ha(2).as_deref(), Some("9000001"));
        assert_eq!(ha(3), None);
    }
}
