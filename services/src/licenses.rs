//! Kill License and Sync licenses: what people do to the pool's licenses from the License
//! Repository or the REST API.

use bandpool_domain::connector::{KillOutcome, SyncRun};
use bandpool_domain::ids::Id;
use bandpool_domain::AppError;

use crate::change::Caller;
use crate::Services;

/// Kill License: `confirm` must be the word KILL. The kill waits in the connector's queue
/// (its long-poll is woken), the limits are checked again, and the tenant's Owners get an
/// email.
pub async fn kill(
    services: &Services,
    caller: &Caller,
    license_id: &str,
    confirm: &str,
) -> Result<KillOutcome, AppError> {
    if confirm.trim() != "KILL" {
        return Err(AppError::invalid(
            "confirm",
            "type KILL to confirm that the license should be killed",
        ));
    }
    let license_id = Id::parse("id", "a license", license_id)?;
    let tenant_id = caller.tenant_id();
    let before = bandpool_store::licenses::get(&services.db, tenant_id, &license_id).await?;
    let outcome = bandpool_store::licensing::kill(
        &services.db,
        tenant_id,
        &license_id,
        &caller.actor,
        services.now(),
    )
    .await?;
    if outcome.already_killed {
        return Ok(outcome);
    }
    if let Some(connector_id) = &before.connector_id {
        services.wakeups.ring(connector_id);
    }
    crate::notifications::check_limits(services, tenant_id).await;
    let device = match (&before.device_name, &before.ip_address) {
        (Some(name), Some(ip)) => format!("{name} ({ip})"),
        (Some(name), None) => name.clone(),
        _ => format!("serial {}", before.serial_no),
    };
    let relay = match &outcome.relayed_to {
        Some(connector) => format!(
            "The kill was sent through connector {connector}: the LoadMaster will be disabled at its next license check. Delete it from your environment."
        ),
        None => "The LoadMaster has no connector the portal can reach: disable it yourself.".into(),
    };
    crate::notifications::notify_owners(
        services,
        tenant_id,
        &format!("License killed: {device}"),
        &format!(
            "{} killed the {} license of LoadMaster {device} (serial {}).\n\n\
             Its {} Mb/s are back in the pool, and the LoadMaster was removed from the device inventory.\n{relay}\n\n{}\n",
            caller.actor.label,
            before.license_name,
            before.serial_no,
            before.bandwidth_mbps,
            services.portal.link("/license-repository?status=killed"),
        ),
    )
    .await;
    Ok(outcome)
}

/// Sync licenses: start a run (or join the running one) and wake every asked connector.
pub async fn start_sync(services: &Services, caller: &Caller) -> Result<SyncRun, AppError> {
    let tenant_id = caller.tenant_id();
    let run_id = bandpool_store::sync::start(
        &services.db,
        tenant_id,
        &caller.actor,
        services.now(),
        services.connectors.sync_timeout_secs,
    )
    .await?;
    let run = bandpool_store::sync::get(&services.db, tenant_id, &run_id).await?;
    for connector in &run.connectors {
        services.wakeups.ring(&connector.connector_id);
    }
    Ok(run)
}

/// A Sync licenses run as it stands (finished first if its deadline passed); the latest
/// when no run is named.
pub async fn sync_run(
    services: &Services,
    caller: &Caller,
    run_id: Option<&str>,
) -> Result<Option<SyncRun>, AppError> {
    let tenant_id = caller.tenant_id();
    bandpool_store::sync::finish_overdue(&services.db, services.now(), Some(tenant_id)).await?;
    match run_id {
        Some(id) => Ok(Some(
            bandpool_store::sync::get(&services.db, tenant_id, id).await?,
        )),
        None => bandpool_store::sync::latest(&services.db, tenant_id).await,
    }
}
