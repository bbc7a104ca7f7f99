//! What people do to licenses and connectors, shared by the server functions (the portal's
//! pages) and the REST API: Kill License, Sync licenses, creating connectors; and the emails
//! connector health sends. Each starts from a tenant the caller was authorized for.

use crate::state::AppState;
use bandpool_domain::auth::Principal;
use bandpool_domain::connector::{CreatedConnector, KillOutcome, SyncRun};
use bandpool_domain::AppError;
use bandpool_store::events::Actor;

fn actor(principal: &Principal) -> Actor {
    Actor::user(&principal.user_id, &principal.actor_label())
}

/// Kill License (002): `confirm` must be the word KILL. The kill waits in the connector's
/// queue (its long-poll is woken), and the tenant's Owners get an email.
pub async fn kill_license(
    state: &AppState,
    principal: &Principal,
    tenant_id: &str,
    license_id: &str,
    confirm: &str,
) -> Result<KillOutcome, AppError> {
    if confirm.trim() != "KILL" {
        return Err(AppError::invalid(
            "confirm",
            "type KILL to confirm that the license should be killed",
        ));
    }
    if !uuid_like(license_id) {
        return Err(AppError::invalid("id", "is not a license id (a UUID)"));
    }
    let before = bandpool_store::licenses::get(&state.db, tenant_id, license_id).await?;
    let outcome = bandpool_store::licensing::kill(
        &state.db,
        tenant_id,
        license_id,
        &actor(principal),
        state.clock.now_ts(),
    )
    .await?;
    if outcome.already_killed {
        return Ok(outcome);
    }
    if let Some(connector_id) = &before.connector_id {
        state.wakeups.ring(connector_id);
    }
    crate::usage::check_limits(state, tenant_id).await;
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
    notify_owners(
        state,
        tenant_id,
        &format!("License killed: {device}"),
        &format!(
            "{} killed the {} license of LoadMaster {device} (serial {}).\n\n\
             Its {} Mb/s are back in the pool, and the LoadMaster was removed from the device inventory.\n{relay}\n\n{}\n",
            principal.actor_label(),
            before.license_name,
            before.serial_no,
            before.bandwidth_mbps,
            state.portal.link("/license-repository?status=killed"),
        ),
    )
    .await;
    Ok(outcome)
}

/// Whether an id has a UUID's shape (ids in URLs are UUIDs).
fn uuid_like(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

/// Sync licenses: start a run (or join the running one) and wake every asked connector.
pub async fn start_sync(
    state: &AppState,
    principal: &Principal,
    tenant_id: &str,
) -> Result<SyncRun, AppError> {
    let run_id = bandpool_store::sync::start(
        &state.db,
        tenant_id,
        &actor(principal),
        state.clock.now_ts(),
        state.connectors.sync_timeout_secs,
    )
    .await?;
    let run = bandpool_store::sync::get(&state.db, tenant_id, &run_id).await?;
    for connector in &run.connectors {
        state.wakeups.ring(&connector.connector_id);
    }
    Ok(run)
}

/// A run as it stands (finished first if its deadline passed).
pub async fn sync_run(
    state: &AppState,
    tenant_id: &str,
    run_id: Option<&str>,
) -> Result<Option<SyncRun>, AppError> {
    bandpool_store::sync::finish_overdue(&state.db, state.clock.now_ts(), Some(tenant_id)).await?;
    match run_id {
        Some(id) => Ok(Some(
            bandpool_store::sync::get(&state.db, tenant_id, id).await?,
        )),
        None => bandpool_store::sync::latest(&state.db, tenant_id).await,
    }
}

/// A new connector and its registration token (shown once).
pub async fn create_connector(
    state: &AppState,
    principal: &Principal,
    tenant_id: &str,
    name: &str,
) -> Result<CreatedConnector, AppError> {
    let now = state.clock.now_ts();
    let mut tx = state.db.begin_write().await?;
    let (id, token) = bandpool_store::connectors::create(&mut tx, tenant_id, name, now).await?;
    bandpool_store::events::record(
        &mut tx,
        bandpool_store::events::NewEvent {
            tenant_id: Some(tenant_id),
            at_ms: state.clock.now().timestamp_millis(),
            actor: &actor(principal),
            action: "connector_created",
            target: name.trim(),
            detail: "registration token issued",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedConnector {
        connector: bandpool_store::connectors::get(&state.db, tenant_id, &id).await?,
        registration_token: token,
    })
}

/// What can be done to a LoadMaster of the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChange {
    /// Out of the inventory (refused while it holds a pooled license).
    Remove,
    Block,
    Unblock,
}

/// Remove, block or unblock a LoadMaster, with its event.
pub async fn change_device(
    state: &AppState,
    principal: &Principal,
    tenant_id: &str,
    device_id: &str,
    change: DeviceChange,
) -> Result<bandpool_domain::connector::Device, AppError> {
    if !uuid_like(device_id) {
        return Err(AppError::invalid("id", "is not a LoadMaster id (a UUID)"));
    }
    let mut tx = state.db.begin_write().await?;
    let (device, action) = match change {
        DeviceChange::Remove => (
            bandpool_store::devices::remove(&mut tx, tenant_id, device_id).await?,
            "device_removed",
        ),
        DeviceChange::Block => (
            bandpool_store::devices::set_blocked(&mut tx, tenant_id, device_id, true).await?,
            "device_blocked",
        ),
        DeviceChange::Unblock => (
            bandpool_store::devices::set_blocked(&mut tx, tenant_id, device_id, false).await?,
            "device_unblocked",
        ),
    };
    bandpool_store::events::record(
        &mut tx,
        bandpool_store::events::NewEvent {
            tenant_id: Some(tenant_id),
            at_ms: state.clock.now().timestamp_millis(),
            actor: &actor(principal),
            action,
            target: &device.name,
            detail: &format!("serial {} at {}", device.serial_no, device.ip_address),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(device)
}

/// Email the tenant's communication channel (its Owners). A mail failure is logged, never
/// an error of the action that caused it: the change is made and recorded either way.
pub async fn notify_owners(state: &AppState, tenant_id: &str, subject: &str, body: &str) {
    let owners = match bandpool_store::accounts::owner_emails(&state.db, tenant_id).await {
        Ok(owners) => owners,
        Err(error) => {
            tracing::warn!(%error, tenant_id, "could not read the tenant's owners to email them");
            return;
        }
    };
    for owner in owners {
        if let Err(error) = state.mailer.send(&owner, subject, body).await {
            tracing::warn!(%error, to = %owner, subject, "notification email not sent");
        }
    }
}

/// The message a connector going Down sends on the tenant's channels.
pub async fn connector_went_down(state: &AppState, went: &bandpool_store::connectors::WentDown) {
    let deadline = chrono::DateTime::from_timestamp(went.grace_period_end, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    crate::usage::send(
        state,
        &went.tenant_id,
        crate::usage::Message {
            event: "connector_down",
            subject: format!("Connector {} is down", went.name),
            text: format!(
                "Connector {} has not been heard from and is now Down.\n\n\
                 The licenses of its {} LoadMaster(s) entered a 30-day grace period that ends {deadline}. \
                 Bring the connector back before then and they become Active again; otherwise they \
                 expire and their capacity returns to the pool.\n\
                 If the connector cannot be brought back, deploy a new one, kill the licenses tied to \
                 this one and license the LoadMasters again.\n\n{}\n",
                went.name,
                went.licenses_in_grace,
                state.portal.link("/connectors"),
            ),
            data: serde_json::json!({
                "connector": went.name,
                "licenses_in_grace": went.licenses_in_grace,
                "grace_period_end": went.grace_period_end,
            }),
        },
    )
    .await;
}

/// The message a connector coming back sends on the tenant's channels.
pub async fn connector_came_back(state: &AppState, tenant_id: &str, name: &str, restored: usize) {
    crate::usage::send(
        state,
        tenant_id,
        crate::usage::Message {
            event: "connector_up",
            subject: format!("Connector {name} is back online"),
            text: format!(
                "Connector {name} is back online.\n\n\
                 {restored} license(s) left their grace period and are Active again.\n\n{}\n",
                state.portal.link("/connectors"),
            ),
            data: serde_json::json!({ "connector": name, "licenses_restored": restored }),
        },
    )
    .await;
}
