//! Heartbeats: at start and every `heartbeat_seconds` (and at once when the connector's
//! address changes) the agent tells the portal it is up, its version, and the address its
//! LoadMasters reach it at. A connector silent for longer than the portal allows shows as
//! Down on the Connectors page. A heartbeat's answer may ask for the agent's diagnostics.

use crate::portal::VERSION;
use crate::Shared;
use bandpool_domain::connector::Heartbeat;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A clock further off than this from the portal's is worth a warning (grace periods and
/// check times are in Unix seconds).
const DRIFT_WARNING_SECONDS: i64 = 60;

pub(crate) async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let every = Duration::from_secs(shared.settings.heartbeat_seconds);
    // None until the first attempt; then whether the last one reached the portal.
    let mut reached: Option<bool> = None;
    let mut drift_warned = false;
    loop {
        let beat = Heartbeat {
            version: VERSION.to_string(),
            address: Some(shared.advertise_url()),
        };
        let answer = tokio::select! {
            answer = shared.portal.heartbeat(&beat) => answer,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        match answer {
            Ok(answer) => {
                shared.counters.heartbeats.fetch_add(1, Ordering::Relaxed);
                if reached != Some(true) {
                    tracing::info!(
                        "connected to the portal as connector {} (status {})",
                        answer.connector_id,
                        answer.status.key()
                    );
                }
                reached = Some(true);
                if answer.run_diagnostics {
                    diagnose(&shared);
                }
                *shared
                    .connector_id
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Some(answer.connector_id);
                let drift = crate::unix_now() - answer.server_time;
                if drift.abs() > DRIFT_WARNING_SECONDS && !drift_warned {
                    tracing::warn!(
                        "this machine's clock is {drift} s off the portal's; check times and \
                         grace periods will be off too (is NTP running?)"
                    );
                    drift_warned = true;
                }
            }
            Err(e) => {
                if e.unauthorized() {
                    tracing::error!(
                        "heartbeat: the portal refuses this connector's credential ({e}); was \
                         the connector deleted? Register again with a new token after removing \
                         {}",
                        shared.settings.data_dir.join("credential").display()
                    );
                } else if reached != Some(false) {
                    tracing::warn!("heartbeat failed: {e}");
                } else {
                    tracing::debug!("heartbeat failed: {e}");
                }
                reached = Some(false);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shared.heartbeat_now.notified() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// The portal asked for diagnostics: run them (once at a time) and send the results.
fn diagnose(shared: &Arc<Shared>) {
    if shared.diagnosing.swap(true, Ordering::SeqCst) {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let report = crate::diagnostics::run(&shared.settings.portal_url).await;
        match shared.portal.send_diagnostics(&report).await {
            Ok(()) => tracing::info!(
                "diagnostics sent: {} of {} checks answered",
                report.checks.iter().filter(|c| c.ok).count(),
                report.checks.len()
            ),
            Err(e) => tracing::warn!("diagnostics could not be sent: {e}"),
        }
        shared.diagnosing.store(false, Ordering::SeqCst);
    });
}
