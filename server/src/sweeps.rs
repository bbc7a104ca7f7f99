//! Background work on the portal's clock: connector health. Silent connectors go Down (their
//! licenses enter a 30-day grace period) and their Owners are emailed; grace periods that
//! ended expire their licenses (the capacity returns to the pool); syncs past their deadline
//! finish without the connectors that did not answer; old idempotency keys are forgotten.
//! With several instances on one database, the instance holding the sweep's lease runs it;
//! running it twice is harmless (each step changes only what is still due).

use app::state::AppState;
use bandpool_domain::AppError;
use std::time::Duration;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HealthPass {
    pub connectors_down: usize,
    pub licenses_expired: usize,
    pub syncs_finished: usize,
}

/// One pass of the health sweep at the clock's now (tests call it directly).
pub async fn health_pass(state: &AppState) -> Result<HealthPass, AppError> {
    let now = state.clock.now_ts();
    let mut pass = HealthPass::default();
    let down =
        bandpool_store::connectors::sweep_silent(&state.db, now, state.connectors.silence_secs)
            .await?;
    for went in &down {
        tracing::warn!(
            connector = %went.name,
            licenses = went.licenses_in_grace,
            "connector went down; its licenses entered their grace period"
        );
        app::actions::connector_went_down(state, went).await;
    }
    pass.connectors_down = down.len();
    for (tenant, n) in bandpool_store::connectors::sweep_grace(&state.db, now).await? {
        tracing::info!(%tenant, licenses = n, "grace periods ended; licenses expired");
        pass.licenses_expired += n;
        // Capacity came back: a reached limit may be cleared.
        app::usage::check_limits(state, &tenant).await;
    }
    pass.syncs_finished = bandpool_store::sync::finish_overdue(&state.db, now, None).await?;
    bandpool_store::connectors::forget_old_messages(&state.db, now).await?;
    Ok(pass)
}

/// Whether this instance holds (or just took) the sweep's lease. The lease is on the wall
/// clock: it is about which instance is alive, not about the product's (injectable) time.
async fn holds_lease(state: &AppState, sweep: &str, instance: &str, every: Duration) -> bool {
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
pub async fn webhook_deliveries(state: AppState, every: Duration) {
    let instance = uuid::Uuid::new_v4().to_string();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if !holds_lease(&state, "webhook-deliveries", &instance, every).await {
            continue;
        }
        if let Err(error) = app::usage::deliver_webhooks(&state).await {
            tracing::warn!(%error, "webhook delivery sweep failed");
        }
    }
}

/// Run the health sweep every `every`, on the instance holding its lease.
pub async fn connector_health(state: AppState, every: Duration) {
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
