//! Commands from the portal: the agent long-polls `GET commands?wait=N`, carries out each
//! command and acknowledges it (acknowledging twice is harmless; an unacknowledged
//! command is delivered again).
//!
//! - Kill: the license was killed in the portal. The license is marked `killed` in the
//!   local state (saved before the acknowledgement), so its LoadMaster hears `killed` at
//!   its next check and disables itself.
//! - Sync: the portal wants every LoadMaster this connector serves; the acknowledgement
//!   carries them, from the local state.
//!
//! A command of a kind this agent does not know is acknowledged as failed.

use crate::backoff::Backoff;
use crate::portal::VERSION;
use crate::Shared;
use bandpool_domain::connector::{Command, CommandAck, CommandKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;

pub(crate) async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let wait = shared.settings.command_wait_seconds;
    let mut backoff = Backoff::default();
    let mut failing = false;
    loop {
        let polled = tokio::select! {
            polled = shared.portal.commands(wait) => polled,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        let pause = match polled {
            Ok(commands) => {
                failing = false;
                let mut all_acknowledged = true;
                for raw in commands {
                    all_acknowledged &= carry_out(&shared, raw, &mut stopped).await;
                    if *stopped.borrow() {
                        return;
                    }
                }
                if all_acknowledged {
                    backoff.reset();
                    None
                } else {
                    // An acknowledgement the portal refused: do not poll again in a tight loop.
                    Some(backoff.next_delay())
                }
            }
            Err(e) => {
                let wait = backoff.next_delay();
                if e.unauthorized() {
                    tracing::error!(
                        "commands: the portal refuses this connector's credential ({e})"
                    );
                } else if !failing {
                    tracing::warn!(
                        "could not poll for commands: {e}; retrying in {:.1} s",
                        wait.as_secs_f64()
                    );
                } else {
                    tracing::debug!("could not poll for commands: {e}");
                }
                failing = true;
                Some(wait)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// Carries out one command and acknowledges it. Returns whether the portal took the
/// acknowledgement.
async fn carry_out(
    shared: &Shared,
    raw: serde_json::Value,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    let Some(id) = raw.get("id").and_then(|id| id.as_str()).map(str::to_string) else {
        tracing::warn!("ignoring a command without an id: {raw}");
        return true;
    };
    let ack = match serde_json::from_value::<Command>(raw) {
        Ok(command) => perform(shared, command).await,
        Err(e) => {
            tracing::warn!("command {id} is not understood ({e}); acknowledged as failed");
            CommandAck::Failed {
                reason: format!(
                    "connector version {VERSION} does not understand this command: {e}"
                ),
            }
        }
    };
    acknowledge(shared, &id, &ack, stopped).await
}

async fn perform(shared: &Shared, command: Command) -> CommandAck {
    match command.kind {
        CommandKind::Kill {
            license_id,
            serial_no,
        } => {
            let known = shared.licenses.kill(&license_id, &serial_no);
            if let Err(e) = shared.licenses.save().await {
                tracing::error!(
                    "kill of license {license_id}: could not save the local state: {e}"
                );
                return CommandAck::Failed {
                    reason: format!("the connector could not save its license state: {e}"),
                };
            }
            tracing::warn!(
                "license {license_id} was killed in the portal: LoadMaster {serial_no} is told to \
                 disable itself at its next check{}",
                if known {
                    ""
                } else {
                    " (this connector had no record of it)"
                }
            );
            CommandAck::Done
        }
        CommandKind::Sync { run_id } => {
            let appliances = shared.licenses.appliances();
            tracing::info!(
                "sync {run_id}: reporting {} LoadMasters to the portal",
                appliances.len()
            );
            CommandAck::Sync { appliances }
        }
    }
}

async fn acknowledge(
    shared: &Shared,
    id: &str,
    ack: &CommandAck,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    let mut backoff = Backoff::default();
    loop {
        let sent = tokio::select! {
            sent = shared.portal.ack(id, ack) => sent,
            _ = stopped.wait_for(|stop| *stop) => return false,
        };
        match sent {
            Ok(()) => {
                shared
                    .counters
                    .commands_done
                    .fetch_add(1, Ordering::Relaxed);
                return true;
            }
            Err(e) if e.retryable() => {
                let wait = backoff.next_delay();
                tracing::debug!("acknowledging command {id}: {e}; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped.wait_for(|stop| *stop) => return false,
                }
            }
            Err(e) => {
                tracing::warn!("the portal refused the acknowledgement of command {id}: {e}");
                return false;
            }
        }
    }
}
