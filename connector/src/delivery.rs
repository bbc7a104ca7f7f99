//! Delivery: every `flush_millis` the checks received are cut into a batch file, the local
//! state is saved if it changed, and the queue is sent to the portal oldest first. A file
//! is deleted once the portal has taken it (2xx), moved to `data_dir/rejected/` when the
//! portal refuses it for good (a 4xx), and kept when the portal is unreachable or failing:
//! then sending pauses with exponential backoff while new batches keep accumulating on
//! disk. Check-report answers update the local license state.

use crate::backoff::Backoff;
use crate::portal::PortalError;
use crate::queue::{Message, QueuedItem};
use crate::state::Applied;
use crate::{Shared, SHUTDOWN_SEND_TIME};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

/// Check times alone (no status change) are saved at most this often.
const CHECK_TIMES_EVERY: Duration = Duration::from_secs(30);

pub(crate) async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(shared.settings.flush_millis));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut backoff = Backoff::default();
    let mut retry_at: Option<Instant> = None;
    let mut last_save = Instant::now();
    let mut stalled = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shared.flush_now.notified() => {}
            _ = stopped.wait_for(|stop| *stop) => break,
        }
        cut(&shared).await;
        save_state(&shared, &mut last_save).await;
        if retry_at.is_some_and(|at| Instant::now() < at) || shared.queue.is_empty() {
            continue;
        }
        let outcome = tokio::select! {
            outcome = deliver(&shared) => outcome,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        match outcome {
            Ok(()) => {
                if stalled {
                    tracing::info!("the portal is taking checks again; queue delivered");
                }
                stalled = false;
                retry_at = None;
                backoff.reset();
            }
            Err(e) => {
                stalled = true;
                let wait = backoff.next_delay();
                retry_at = Some(Instant::now() + wait);
                let queued = format!(
                    "{} checks queued on disk ({} batches)",
                    shared.queue.queued_checks(),
                    shared.queue.len()
                );
                if e.unauthorized() {
                    tracing::error!(
                        "the portal refuses this connector's credential ({e}): was the connector \
                         deleted in the portal? {queued}, retrying in {:.1} s",
                        wait.as_secs_f64()
                    );
                } else {
                    tracing::warn!("{e}, {queued}, retrying in {:.1} s", wait.as_secs_f64());
                }
            }
        }
    }

    // Shutting down: nothing more arrives; keep what came, and try once more to send it.
    cut(&shared).await;
    save_state(&shared, &mut last_save).await;
    if !shared.queue.is_empty() {
        match tokio::time::timeout(SHUTDOWN_SEND_TIME, deliver(&shared)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!("could not deliver the queue before stopping: {e}"),
            Err(_) => tracing::info!("stopped delivering the queue to shut down"),
        }
    }
}

/// Writes the checks received so far into batch files.
async fn cut(shared: &Arc<Shared>) {
    if shared.queue.buffered() == 0 {
        return;
    }
    let queue_owner = Arc::clone(shared);
    match tokio::task::spawn_blocking(move || queue_owner.queue.cut()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(
            "could not write checks and usage samples to the queue ({e}); {} kept in memory",
            shared.queue.buffered()
        ),
        Err(e) => tracing::error!("cutting a batch failed: {e}"),
    }
}

async fn save_state(shared: &Shared, last_save: &mut Instant) {
    if !shared
        .licenses
        .unsaved(last_save.elapsed() >= CHECK_TIMES_EVERY)
    {
        return;
    }
    match shared.licenses.save().await {
        Ok(()) => *last_save = Instant::now(),
        Err(e) => tracing::error!("could not save the local license state: {e}"),
    }
}

/// Sends every queued file, oldest first. Stops at the first failure worth retrying.
async fn deliver(shared: &Arc<Shared>) -> Result<(), PortalError> {
    for item in shared.queue.pending() {
        let message = {
            let owner = Arc::clone(shared);
            let it = item.clone();
            tokio::task::spawn_blocking(move || owner.queue.read(&it))
                .await
                .map_err(std::io::Error::other)
                .and_then(|read| read)
        };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                reject(shared, &item, &format!("unreadable queue file: {e}"));
                continue;
            }
        };
        match message {
            Message::Checks(report) => match shared.portal.send_checks(&report).await {
                Ok(answer) => {
                    let applied = shared
                        .licenses
                        .apply_results(&report.checks, &answer.results);
                    log_applied(&applied);
                    delivered(shared, &item, report.checks.len());
                }
                Err(e @ PortalError::BadAnswer { .. }) => {
                    tracing::warn!("check report delivered, but {e}");
                    delivered(shared, &item, report.checks.len());
                }
                Err(e) if e.retryable() => return Err(e),
                Err(e) => reject(shared, &item, &e.to_string()),
            },
            Message::Usage(report) => match shared.portal.send_usage(&report).await {
                Ok(answer) => {
                    if !answer.refused.is_empty() {
                        tracing::warn!(
                            "the portal refused {} of {} usage samples (first: license {}, {})",
                            answer.refused.len(),
                            report.samples.len(),
                            answer.refused[0].license_id,
                            answer.refused[0].code
                        );
                    }
                    delivered(shared, &item, 0);
                }
                Err(e @ PortalError::BadAnswer { .. }) => {
                    tracing::warn!("usage report delivered, but {e}");
                    delivered(shared, &item, 0);
                }
                Err(e) if e.retryable() => return Err(e),
                Err(e) => reject(shared, &item, &e.to_string()),
            },
            Message::Deactivation(request) => {
                match shared.portal.deactivate(&request).await {
                    Ok(_) | Err(PortalError::BadAnswer { .. }) => {
                        tracing::info!(
                            "the portal took back license {} (serial {})",
                            request.license_id,
                            request.serial_no
                        );
                        shared.licenses.forget(&request.license_id);
                        delivered(shared, &item, 0);
                    }
                    Err(e) if e.retryable() => return Err(e),
                    Err(e) => {
                        // The LoadMaster gave the license up either way.
                        shared.licenses.forget(&request.license_id);
                        reject(shared, &item, &e.to_string());
                    }
                }
            }
        }
    }
    Ok(())
}

fn delivered(shared: &Shared, item: &QueuedItem, checks: usize) {
    shared
        .counters
        .checks_delivered
        .fetch_add(checks as u64, Ordering::Relaxed);
    if let Err(e) = shared.queue.remove(item) {
        // It is sent again later; its idempotency key makes that harmless.
        tracing::error!("could not delete a delivered queue file: {e}");
    }
}

fn reject(shared: &Shared, item: &QueuedItem, reason: &str) {
    match shared.queue.reject(item, reason) {
        Ok(path) => tracing::warn!(
            "the portal refused a queued {}: {reason}; moved to {}",
            match item.kind {
                crate::queue::ItemKind::Checks { .. } => "check report",
                crate::queue::ItemKind::Deactivation => "deactivation",
                crate::queue::ItemKind::Usage { .. } => "usage report",
            },
            path.display()
        ),
        Err(e) => tracing::error!("could not move a refused queue file aside ({reason}): {e}"),
    }
}

fn log_applied(applied: &Applied) {
    const SHOWN: usize = 5;
    if !applied.changed.is_empty() {
        let mut listed: Vec<String> = applied
            .changed
            .iter()
            .take(SHOWN)
            .map(|(id, from, to)| format!("{id} {} → {}", from.key(), to.key()))
            .collect();
        if applied.changed.len() > SHOWN {
            listed.push(format!("and {} more", applied.changed.len() - SHOWN));
        }
        tracing::info!(
            "the portal changed {} licenses: {}",
            applied.changed.len(),
            listed.join(", ")
        );
    }
    if applied.learned > 0 {
        tracing::info!(
            "learnt {} licenses this connector serves from the portal's answers",
            applied.learned
        );
    }
    if !applied.refused.is_empty() {
        let codes: Vec<String> = applied
            .refused
            .iter()
            .map(|(code, n)| format!("{code} ×{n}"))
            .collect();
        tracing::info!("the portal refused checks: {}", codes.join(", "));
    }
}
