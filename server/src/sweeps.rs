//! Background work on the portal's clock: the connector health pass, webhook delivery,
//! expired sessions and usage samples, and the mail sender, each a service or store function
//! (`bandpool_services::connectors::health_pass`, `notifications::deliver_webhooks`,
//! `bandpool_store::sessions::delete_expired`, `mail::send_due`) run on a timer. With
//! several instances on one database, the instance holding the sweep's lease runs it (one
//! runner, `on_lease`); running it twice is harmless (each step changes only what is still
//! due).

pub use bandpool_services::connectors::{health_pass, HealthPass};
use bandpool_services::{Db, Services};
use std::future::Future;
use std::time::Duration;

/// Whether this instance holds (or just took) the sweep's lease. The lease is on the wall
/// clock: it is about which instance is alive, not about the product's (injectable) time.
async fn holds_lease(db: &Db, sweep: &str, instance: &str, every: Duration) -> bool {
    let wall = wall_clock();
    let lease = (2 * every.as_secs() as i64).max(10);
    match bandpool_store::leases::try_acquire(db, sweep, instance, wall, lease).await {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(%error, sweep, "lease not taken");
            false
        }
    }
}

fn wall_clock() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Run `pass` every `every`, on the instance holding the lease named `sweep`. The lease
/// outlives a missed tick, so when its holder stops another instance takes over. Each pass
/// logs its own outcome: a failed pass is simply tried again at the next tick.
async fn on_lease<F: Future<Output = ()>>(
    db: &Db,
    sweep: &str,
    every: Duration,
    pass: impl Fn() -> F,
) {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if holds_lease(db, sweep, &instance, every).await {
            pass().await;
        }
    }
}

/// Attempt due webhook deliveries every `every`, on the instance holding the lease.
pub async fn webhook_deliveries(state: Services, every: Duration) {
    let state = &state;
    on_lease(&state.db, "webhook-deliveries", every, || async move {
        if let Err(error) = bandpool_services::notifications::deliver_webhooks(state).await {
            tracing::warn!(%error, "webhook delivery sweep failed");
        }
    })
    .await
}

/// Run the health sweep every `every`, on the instance holding its lease.
pub async fn connector_health(state: Services, every: Duration) {
    let state = &state;
    on_lease(&state.db, "connector-health", every, || async move {
        match health_pass(state).await {
            Ok(pass) if pass != HealthPass::default() => tracing::info!(?pass, "connector health"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "connector health sweep failed"),
        }
    })
    .await
}

/// Delete raw usage samples older than the retention period every `every`, on the instance
/// holding the lease (their daily and monthly peaks stay), and check the stored metered
/// month totals against their sums.
pub async fn expired_samples(state: Services, every: Duration) {
    let state = &state;
    on_lease(&state.db, "sample-expiry", every, || async move {
        match bandpool_services::metered::expire_samples(state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(samples = n, "expired usage samples deleted"),
            Err(error) => tracing::warn!(%error, "usage sample expiry failed"),
        }
        if let Err(error) = bandpool_services::metered::check_month_totals(state).await {
            tracing::warn!(%error, "the check of metered month totals failed");
        }
    })
    .await
}

/// Delete expired sessions every `every` (on the wall clock, as tower-sessions stamps their
/// expiry), on the instance holding the lease; deleting twice deletes nothing the second time.
pub async fn expired_sessions(db: Db, every: Duration) {
    let db = &db;
    on_lease(db, "session-sweep", every, || async move {
        match bandpool_store::sessions::delete_expired(db, wall_clock()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
            Err(error) => tracing::warn!(%error, "session sweep failed"),
        }
    })
    .await
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
