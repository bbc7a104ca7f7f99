//! One simulated LoadMaster: it activates a license through its connector, then checks
//! every `check_interval` and does what a LoadMaster does with the answer.
//!
//! - `active` → Licensed; `grace_period` → In grace (the portal's grace period);
//!   `expired` → Expired (it stops checking); `killed` → Killed: the LoadMaster disables
//!   itself and stops checking.
//! - A refused activation (a 4xx with a code: `instance_limit_reached`, ...) → Refused,
//!   tried again every `refusal_retry`.
//! - The connector unreachable (or failing): the last state stays, but after
//!   `unreachable_after` failed checks in a row a licensed LoadMaster goes into grace
//!   ("connector unreachable") until a check answers `active` again.
//! - A check answer naming another `connector_url` moves the LoadMaster's Host setting:
//!   its next requests go there.
//! - A metered LoadMaster (`usage_interval` set) that is licensed or in grace reports a
//!   usage sample (`traffic::sample`) at the first check after one is due.

use crate::naming::ApplianceId;
use crate::FleetContext;
use bandpool_domain::connector::appliance::{ActivateRequest, CheckRequest, CheckResponse};
use bandpool_domain::connector::Activation;
use bandpool_domain::error::ErrorBody;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::metered::UsageSample;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// Where a simulated LoadMaster stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplianceState {
    /// No license yet: activating, or waiting to try again (the connector or portal could
    /// not be reached).
    Pending,
    Licensed,
    InGrace(GraceReason),
    /// The license expired; the LoadMaster stopped checking.
    Expired,
    /// The license was killed; the LoadMaster disabled itself and stopped checking.
    Killed,
    /// The activation was refused with this code; tried again later.
    Refused(String),
}

/// Why a LoadMaster is in grace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraceReason {
    /// The portal says so (its grace period ends at `until`, Unix seconds).
    Portal { until: Option<i64> },
    /// Checks have not reached the connector for a while.
    ConnectorUnreachable,
    /// The connector refused the checks with this code (`unknown_license`, ...).
    CheckRefused(String),
}

impl ApplianceState {
    /// A short key for counting and logs: `pending`, `licensed`, `in_grace`, `expired`,
    /// `killed`, `refused`.
    pub fn key(&self) -> &'static str {
        match self {
            ApplianceState::Pending => "pending",
            ApplianceState::Licensed => "licensed",
            ApplianceState::InGrace(_) => "in_grace",
            ApplianceState::Expired => "expired",
            ApplianceState::Killed => "killed",
            ApplianceState::Refused(_) => "refused",
        }
    }

    /// Whether the LoadMaster has stopped for good (killed or expired).
    pub fn is_final(&self) -> bool {
        matches!(self, ApplianceState::Killed | ApplianceState::Expired)
    }
}

impl std::fmt::Display for ApplianceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplianceState::InGrace(GraceReason::Portal { until: Some(t) }) => {
                write!(f, "in grace (until {t})")
            }
            ApplianceState::InGrace(GraceReason::Portal { until: None }) => {
                write!(f, "in grace")
            }
            ApplianceState::InGrace(GraceReason::ConnectorUnreachable) => {
                write!(f, "in grace (connector unreachable)")
            }
            ApplianceState::InGrace(GraceReason::CheckRefused(code)) => {
                write!(f, "in grace (checks refused: {code})")
            }
            ApplianceState::Refused(code) => write!(f, "refused ({code})"),
            other => f.write_str(other.key()),
        }
    }
}

/// The state a license status puts a LoadMaster in (a check's answer, or an activation's).
pub fn state_for(status: LicenseStatus, grace_period_end: Option<i64>) -> ApplianceState {
    match status {
        LicenseStatus::Active => ApplianceState::Licensed,
        LicenseStatus::GracePeriod => ApplianceState::InGrace(GraceReason::Portal {
            until: grace_period_end,
        }),
        LicenseStatus::Expired => ApplianceState::Expired,
        LicenseStatus::Killed => ApplianceState::Killed,
    }
}

/// The state after `failures` failed checks in a row (`refused`: the connector answered
/// with this code; `None`: no answer). A licensed LoadMaster goes into grace at
/// `threshold` failures; any other state stays.
pub fn state_after_failure(
    current: &ApplianceState,
    failures: u32,
    threshold: u32,
    refused: Option<&str>,
) -> ApplianceState {
    if *current == ApplianceState::Licensed && failures >= threshold {
        ApplianceState::InGrace(match refused {
            Some(code) => GraceReason::CheckRefused(code.to_string()),
            None => GraceReason::ConnectorUnreachable,
        })
    } else {
        current.clone()
    }
}

/// What the fleet sees of one appliance (behind a lock; the task updates it).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub license_id: Option<String>,
    pub state: ApplianceState,
    pub connector_url: String,
    pub failures: u32,
    /// When the last usage sample was taken by the connector.
    pub last_sample: Option<Instant>,
}

pub(crate) struct Slot {
    pub id: ApplianceId,
    pub record: Mutex<Record>,
}

impl Slot {
    pub fn new(id: ApplianceId, connector_url: String) -> Slot {
        Slot {
            id,
            record: Mutex::new(Record {
                license_id: None,
                state: ApplianceState::Pending,
                connector_url,
                failures: 0,
                last_sample: None,
            }),
        }
    }

    pub fn read(&self) -> Record {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn update<T>(&self, change: impl FnOnce(&mut Record) -> T) -> T {
        change(&mut self.record.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A request to take the next step now; answered when it is done.
pub(crate) type Poke = oneshot::Sender<()>;

/// Runs one appliance until it stops (killed, expired) or the fleet stops.
pub(crate) async fn run(
    slot: Arc<Slot>,
    ctx: Arc<FleetContext>,
    mut pokes: mpsc::Receiver<Poke>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next = Instant::now();
    let mut backoff = Backoff::default();
    loop {
        let poke = tokio::select! {
            _ = tokio::time::sleep_until(next) => None,
            poke = pokes.recv() => match poke {
                Some(poke) => Some(poke),
                None => return,
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        let after = tokio::select! {
            after = step(&slot, &ctx, &mut backoff) => after,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        if let Some(poke) = poke {
            let _ = poke.send(());
        }
        match after {
            Some(wait) => next = Instant::now() + wait,
            None => return,
        }
    }
}

/// Activates or checks, whichever is due. Returns how long until the next step (`None`:
/// the appliance has stopped).
async fn step(slot: &Slot, ctx: &FleetContext, backoff: &mut Backoff) -> Option<Duration> {
    let record = slot.read();
    match record.license_id.clone() {
        None => Some(match activate(slot, ctx, &record).await {
            Activated::Yes => {
                backoff.reset();
                // Spread the checks so that a fleet started at once does not check in step.
                let interval = ctx.settings.check_interval;
                if ctx.settings.spread_first_check {
                    rand::thread_rng().gen_range(Duration::ZERO..interval)
                } else {
                    interval
                }
            }
            Activated::Refused => ctx.settings.refusal_retry,
            Activated::NotYet => backoff.next_delay(),
        }),
        Some(license_id) => {
            let state = check(slot, ctx, &record, &license_id).await;
            if matches!(state, ApplianceState::Licensed | ApplianceState::InGrace(_)) {
                report_usage(slot, ctx, &license_id).await;
            }
            (!state.is_final()).then_some(ctx.settings.check_interval)
        }
    }
}

enum Activated {
    Yes,
    Refused,
    NotYet,
}

async fn activate(slot: &Slot, ctx: &FleetContext, record: &Record) -> Activated {
    let request = ActivateRequest {
        serial_no: slot.id.serial_no.clone(),
        device_name: slot.id.device_name.clone(),
        ip_address: slot.id.ip_address.clone(),
        sku: ctx.settings.sku.clone(),
        license_type_id: ctx.settings.license_type_id.clone(),
        // A metered LoadMaster says who it is.
        appliance: ctx
            .settings
            .usage_interval
            .map(|_| crate::naming::identity(slot.id.number, ctx.started_at)),
        ask: ctx.settings.ask.clone(),
    };
    let url = format!("{}/v1/activate", record.connector_url.trim_end_matches('/'));
    let answer = {
        let _permit = ctx.connections.acquire().await;
        post(ctx, &url, &request, ACTIVATION_TIMEOUT).await
    };
    let name = &slot.id.device_name;
    match answer {
        Ok((status, body)) if status.is_success() => {
            match serde_json::from_slice::<Activation>(&body) {
                Ok(activation) => {
                    let state = state_for(activation.status, None);
                    tracing::debug!(
                        "{name} (serial {}): activated license {} ({})",
                        slot.id.serial_no,
                        activation.license_id,
                        activation.license_name
                    );
                    slot.update(|r| {
                        r.license_id = Some(activation.license_id);
                        r.state = state;
                        r.failures = 0;
                    });
                    ctx.counters.activations.fetch_add(1, Ordering::Relaxed);
                    Activated::Yes
                }
                Err(e) => {
                    tracing::warn!(
                        "{name}: the connector's activation answer is not understood: {e}"
                    );
                    Activated::NotYet
                }
            }
        }
        Ok((status, body)) if status.is_client_error() => {
            let code = serde_json::from_slice::<ErrorBody>(&body)
                .map(|e| e.code)
                .unwrap_or_else(|_| format!("http_{}", status.as_u16()));
            let first = slot.update(|r| {
                let first = r.state != ApplianceState::Refused(code.clone());
                r.state = ApplianceState::Refused(code.clone());
                first
            });
            if first {
                tracing::info!(
                    "{name} (serial {}): activation refused: {code}; trying again in {} s",
                    slot.id.serial_no,
                    ctx.settings.refusal_retry.as_secs()
                );
            }
            Activated::Refused
        }
        Ok((status, body)) => {
            let code = serde_json::from_slice::<ErrorBody>(&body)
                .map(|e| e.code)
                .unwrap_or_default();
            tracing::debug!("{name}: activation failed ({status} {code}); trying again");
            Activated::NotYet
        }
        Err(e) => {
            tracing::debug!("{name}: connector unreachable for activation ({e}); trying again");
            Activated::NotYet
        }
    }
}

/// Checks once; returns the state after it.
async fn check(
    slot: &Slot,
    ctx: &FleetContext,
    record: &Record,
    license_id: &str,
) -> ApplianceState {
    let request = CheckRequest {
        license_id: license_id.to_string(),
        serial_no: slot.id.serial_no.clone(),
        virtual_services: Some(crate::naming::virtual_services(
            slot.id.number,
            &slot.id.ip_address,
        )),
        partners: ctx.settings.partners_of(slot.id.number),
    };
    let url = format!("{}/v1/check", record.connector_url.trim_end_matches('/'));
    let answer = {
        let _permit = ctx.connections.acquire().await;
        post(ctx, &url, &request, ctx.settings.request_timeout).await
    };
    let name = &slot.id.device_name;
    let answered = match answer {
        Ok((status, body)) if status.is_success() => {
            serde_json::from_slice::<CheckResponse>(&body).map_err(|_| None)
        }
        Ok((status, body)) if status.is_client_error() => Err(Some(
            serde_json::from_slice::<ErrorBody>(&body)
                .map(|e| e.code)
                .unwrap_or_else(|_| format!("http_{}", status.as_u16())),
        )),
        Ok(_) | Err(_) => Err(None),
    };
    match answered {
        Ok(answer) => {
            ctx.counters.checks_ok.fetch_add(1, Ordering::Relaxed);
            let state = state_for(answer.status, answer.grace_period_end);
            let moved = answer.connector_url != record.connector_url;
            slot.update(|r| {
                r.state = state.clone();
                r.failures = 0;
                if moved {
                    r.connector_url = answer.connector_url.clone();
                }
            });
            if moved {
                // One line per new address, not one per LoadMaster.
                let first = {
                    let mut announced = ctx.announced_url.lock().unwrap_or_else(|p| p.into_inner());
                    let first = announced.as_deref() != Some(answer.connector_url.as_str());
                    *announced = Some(answer.connector_url.clone());
                    first
                };
                if first {
                    tracing::info!(
                        "the connector moved to {}; LoadMasters follow it at their next check",
                        answer.connector_url
                    );
                }
                tracing::debug!(
                    "{name}: following the connector to {}",
                    answer.connector_url
                );
            }
            log_change(slot, &record.state, &state);
            state
        }
        Err(refused) => {
            ctx.counters.checks_failed.fetch_add(1, Ordering::Relaxed);
            let threshold = ctx.settings.unreachable_after;
            let (before, after) = slot.update(|r| {
                r.failures += 1;
                let before = r.state.clone();
                r.state = state_after_failure(&r.state, r.failures, threshold, refused.as_deref());
                (before, r.state.clone())
            });
            if before != after {
                tracing::debug!("{name}: {after}");
            }
            after
        }
    }
}

/// Sends a usage sample when one is due (a metered fleet only).
async fn report_usage(slot: &Slot, ctx: &FleetContext, license_id: &str) {
    let Some(every) = ctx.settings.usage_interval else {
        return;
    };
    let record = slot.read();
    if record.last_sample.is_some_and(|at| at.elapsed() < every) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let sample: UsageSample = crate::traffic::sample(
        slot.id.number,
        &slot.id.ip_address,
        license_id,
        &slot.id.serial_no,
        now,
    );
    let url = format!("{}/v1/usage", record.connector_url.trim_end_matches('/'));
    let answer = {
        let _permit = ctx.connections.acquire().await;
        post(ctx, &url, &sample, ctx.settings.request_timeout).await
    };
    match answer {
        Ok((status, _)) if status.is_success() => {
            ctx.counters.samples_sent.fetch_add(1, Ordering::Relaxed);
            slot.update(|r| r.last_sample = Some(Instant::now()));
        }
        // Tried again at the next check.
        Ok((status, _)) => tracing::debug!(
            "{}: the connector refused a usage sample ({status})",
            slot.id.device_name
        ),
        Err(e) => tracing::debug!("{}: usage sample not sent ({e})", slot.id.device_name),
    }
}

fn log_change(slot: &Slot, before: &ApplianceState, after: &ApplianceState) {
    if before == after {
        return;
    }
    let name = &slot.id.device_name;
    let serial = &slot.id.serial_no;
    match after {
        ApplianceState::Killed => {
            tracing::warn!("{name} (serial {serial}): license killed; LoadMaster disabled")
        }
        ApplianceState::Expired => {
            tracing::warn!("{name} (serial {serial}): license expired; LoadMaster stopped")
        }
        ApplianceState::InGrace(GraceReason::Portal { .. }) => {
            tracing::info!("{name} (serial {serial}): entering the grace period ({after})")
        }
        ApplianceState::Licensed if matches!(before, ApplianceState::InGrace(_)) => {
            tracing::info!("{name} (serial {serial}): out of grace, licensed again")
        }
        _ => tracing::debug!("{name} (serial {serial}): {before} → {after}"),
    }
}

/// How long an activation may take (the connector waits on the portal, with retries).
const ACTIVATION_TIMEOUT: Duration = Duration::from_secs(60);

async fn post(
    ctx: &FleetContext,
    url: &str,
    body: &impl serde::Serialize,
    timeout: Duration,
) -> reqwest::Result<(reqwest::StatusCode, Vec<u8>)> {
    let response = ctx
        .http
        .post(url)
        .timeout(timeout)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.bytes().await?.to_vec()))
}

/// Waits between attempts that could not reach the connector: from 250 ms, doubling to
/// 30 s, ±50%.
#[derive(Debug)]
struct Backoff {
    base: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(250),
        }
    }
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let base = self.base;
        self.base = (self.base * 2).min(Duration::from_secs(30));
        base.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
    }

    fn reset(&mut self) {
        *self = Backoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_set_the_state() {
        assert_eq!(
            state_for(LicenseStatus::Active, None),
            ApplianceState::Licensed
        );
        assert_eq!(
            state_for(LicenseStatus::GracePeriod, Some(99)),
            ApplianceState::InGrace(GraceReason::Portal { until: Some(99) })
        );
        assert!(state_for(LicenseStatus::Killed, None).is_final());
        assert!(state_for(LicenseStatus::Expired, None).is_final());
        assert!(!ApplianceState::Refused("x".into()).is_final());
    }

    #[test]
    fn failures_lead_to_grace_only_when_licensed_and_persistent() {
        let licensed = ApplianceState::Licensed;
        assert_eq!(state_after_failure(&licensed, 2, 3, None), licensed);
        assert_eq!(
            state_after_failure(&licensed, 3, 3, None),
            ApplianceState::InGrace(GraceReason::ConnectorUnreachable)
        );
        assert_eq!(
            state_after_failure(&licensed, 3, 3, Some("unknown_license")),
            ApplianceState::InGrace(GraceReason::CheckRefused("unknown_license".into()))
        );
        let portal_grace = ApplianceState::InGrace(GraceReason::Portal { until: Some(5) });
        assert_eq!(
            state_after_failure(&portal_grace, 10, 3, None),
            portal_grace
        );
        assert_eq!(
            state_after_failure(&ApplianceState::Killed, 10, 3, None),
            ApplianceState::Killed
        );
    }

    #[test]
    fn states_read_well() {
        assert_eq!(
            ApplianceState::InGrace(GraceReason::ConnectorUnreachable).to_string(),
            "in grace (connector unreachable)"
        );
        assert_eq!(
            ApplianceState::Refused("instance_limit_reached".into()).to_string(),
            "refused (instance_limit_reached)"
        );
        assert_eq!(ApplianceState::Licensed.to_string(), "licensed");
    }

    #[test]
    fn retries_back_off() {
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(waits[0] <= Duration::from_millis(375));
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(45)));
        assert!(waits[11] >= Duration::from_secs(15));
    }
}
