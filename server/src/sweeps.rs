//! Background work on the portal's clock: the connector health pass, webhook delivery and
//! the mail sender, each a service function (`bandpool_services::connectors::health_pass`,
//! `notifications::deliver_webhooks`, `mail::send_due`) run on a timer. With several instances on one database,
//! the instance holding the sweep's lease runs it; running it twice is harmless (each step
//! changes only what is still due).

pub use bandpool_services::connectors::{health_pass, HealthPass};
use bandpool_services::Services;
use std::time::Duration;

/// Whether this instance holds (or just took) the sweep's lease. The lease is on the wall
/// clock: it is about which instance is alive, not about the product's (injectable) time.
async fn holds_lease(state: &Services, sweep: &str, instance: &str, every: Duration) -> bool {
    let wall = time::OffsetDateTime::now_utc().unix_timestamp();
    let lease = (2 * every.as_secs() as i64).max(10);
    match bandpool_store::leases::try_acquire(&state.db, sweep, instance, wall, lease).await {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(%error, sweep, "lease not taken");
            false
        }
    }
}

/// Attempt due webhook deliveries every `every`, on the instance holding the lease.
pub async fn webhook_deliveries(state: Services, every: Duration) {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if !holds_lease(&state, "webhook-deliveries", &instance, every).await {
            continue;
        }
        if let Err(error) = bandpool_services::notifications::deliver_webhooks(&state).await {
            tracing::warn!(%error, "webhook delivery sweep failed");
        }
    }
}

/// Run the health sweep every `every`, on the instance holding its lease.
pub async fn connector_health(state: Services, every: Duration) {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if !holds_lease(&state, "connector-health", &instance, every).await {
            continue;
        }
        match health_pass(&state).await {
            Ok(pass) if pass != HealthPass::default() => tracing::info!(?pass, "connector health"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "connector health sweep failed"),
        }
    }
}

/// This instance's mail sender: sends queued email as soon as this instance queued some
/// (the outbox wakes it after the commit), and every `every` for retries that came due and
/// messages other instances queued. Claims keep two instances from sending one message.
pub async fn emails(state: Services, every: Duration) {
    loop {
        tokio::select! {
            _ = state.outbox.woken() => {}
            _ = tokio::time::sleep(every) => {}
        }
        loop {
            match bandpool_services::mail::send_due(&state).await {
                // A full batch: there may be more due.
                Ok(sent) if sent >= 50 => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "mail sender failed");
                    break;
                }
            }
        }
    }
}
