//! Connectors and the LoadMaster inventory: adding a connector, removing or blocking a
//! LoadMaster, asking a connector for its diagnostics, and the messages a connector going Down
//! or coming back sends.

use bandpool_domain::connector::{ConnectorView, CreatedConnector, Device};
use bandpool_domain::ids::Id;
use bandpool_domain::AppError;

use crate::change::{Caller, Event, Scope};
use crate::notifications::Message;
use crate::Actor;
use crate::Services;

/// A new connector and its registration token (shown once). The Connectors page, the REST
/// API and the command line (whose actor is the system) all make connectors here.
pub async fn create(
    services: &Services,
    actor: &Actor,
    tenant_id: &str,
    name: &str,
) -> Result<CreatedConnector, AppError> {
    let now = services.now();
    let scope = Scope {
        actor,
        tenant_id: Some(tenant_id),
    };
    let (id, token) = services
        .change(scope, async |tx| {
            let created = bandpool_store::connectors::create(tx, tenant_id, name, now).await?;
            let event = Event::new(
                "connector_created",
                name.trim(),
                "registration token issued",
            );
            Ok((created, Some(event)))
        })
        .await?;
    Ok(CreatedConnector {
        connector: bandpool_store::connectors::get(&services.db, tenant_id, &id).await?,
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

impl DeviceChange {
    pub fn parse(word: &str) -> Result<DeviceChange, AppError> {
        match word {
            "remove" => Ok(DeviceChange::Remove),
            "block" => Ok(DeviceChange::Block),
            "unblock" => Ok(DeviceChange::Unblock),
            _ => Err(AppError::invalid(
                "change",
                "must be remove, block or unblock",
            )),
        }
    }
}

/// Remove, block or unblock a LoadMaster, with its event.
pub async fn change_device(
    services: &Services,
    caller: &Caller,
    device_id: &str,
    change: DeviceChange,
) -> Result<Device, AppError> {
    let device_id = Id::parse("id", "a LoadMaster", device_id)?;
    let tenant_id = caller.tenant_id();
    services
        .change(caller.scope(), async |tx| {
            let (device, action) = match change {
                DeviceChange::Remove => (
                    bandpool_store::devices::remove(tx, tenant_id, &device_id).await?,
                    "device_removed",
                ),
                DeviceChange::Block => (
                    bandpool_store::devices::set_blocked(tx, tenant_id, &device_id, true).await?,
                    "device_blocked",
                ),
                DeviceChange::Unblock => (
                    bandpool_store::devices::set_blocked(tx, tenant_id, &device_id, false).await?,
                    "device_unblocked",
                ),
            };
            let event = Event::new(
                action,
                device.name.clone(),
                format!("serial {} at {}", device.serial_no, device.ip_address),
            );
            Ok((device, Some(event)))
        })
        .await
}

/// Run diagnostics: an Owner or Admin asks a connector to ping its default gateway, its DNS
/// servers and the portal; its agent runs them at its next heartbeat and sends the results.
pub async fn request_diagnostics(
    services: &Services,
    caller: &Caller,
    connector_id: &str,
) -> Result<ConnectorView, AppError> {
    let id = Id::parse("id", "a connector", connector_id)?;
    let tenant_id = caller.tenant_id();
    let now = services.now();
    services
        .change(caller.scope(), async |tx| {
            let name =
                bandpool_store::connectors::request_diagnostics(tx, tenant_id, &id, now).await?;
            let event = Event::new(
                "connector_diagnostics_requested",
                name,
                "Run diagnostics: the connector runs them at its next heartbeat".to_string(),
            );
            Ok(((), Some(event)))
        })
        .await?;
    bandpool_store::connectors::get(&services.db, tenant_id, &id).await
}

/// An Owner or Admin corrects a LoadMaster's HA partner and GEO partners (its checks name
/// them too; a correction stands until a check names others).
pub async fn correct_partners(
    services: &Services,
    caller: &Caller,
    device_id: &str,
    partners: &bandpool_domain::connector::Partners,
) -> Result<Device, AppError> {
    let device_id = Id::parse("id", "a LoadMaster", device_id)?;
    let tenant_id = caller.tenant_id();
    services
        .change(caller.scope(), async |tx| {
            let device =
                bandpool_store::devices::correct_partners(tx, tenant_id, &device_id, partners)
                    .await?;
            let detail = format!(
                "HA partner {}; GEO partners {}",
                device.ha_partner_serial.as_deref().unwrap_or("none"),
                if device.geo_partner_serials.is_empty() {
                    "none".to_string()
                } else {
                    device.geo_partner_serials.join(", ")
                }
            );
            let event = Event::new("device_partners_changed", device.name.clone(), detail);
            Ok((device, Some(event)))
        })
        .await
}

/// The message a connector going Down sends on the tenant's channels.
pub async fn went_down(services: &Services, went: &bandpool_store::connectors::WentDown) {
    let deadline = chrono::DateTime::from_timestamp(went.grace_period_end, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    crate::notifications::send(
        services,
        &went.tenant_id,
        Message {
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
                services.portal.link("/connectors"),
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
pub async fn came_back(services: &Services, tenant_id: &str, name: &str, restored: usize) {
    crate::notifications::send(
        services,
        tenant_id,
        Message {
            event: "connector_up",
            subject: format!("Connector {name} is back online"),
            text: format!(
                "Connector {name} is back online.\n\n\
                 {restored} license(s) left their grace period and are Active again.\n\n{}\n",
                services.portal.link("/connectors"),
            ),
            data: serde_json::json!({ "connector": name, "licenses_restored": restored }),
        },
    )
    .await;
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HealthPass {
    pub connectors_down: usize,
    pub licenses_expired: usize,
    pub syncs_finished: usize,
    /// Metered activations blocked because their connector never confirmed them.
    pub activations_blocked: usize,
    /// Metered tenants whose instance count was checked (the daily check, at 12:00 UTC).
    pub instance_checks: usize,
    /// Automatic reporting: uploads sent, warnings, and the reporting grace running out.
    pub reporting: crate::metered_reporting::ReportingPass,
    /// Terms that ended and subscription warnings.
    pub lifecycle: crate::lifecycle::LifecyclePass,
}

/// One pass of connector health at the clock's now (the sweep runs it; tests call it
/// directly). Silent connectors go Down (their licenses enter a 30-day grace period) and
/// their tenants are told; grace periods and license terms that ended expire their licenses
/// (the capacity returns to the pool, the Owners are emailed); subscriptions expiring in 30
/// and 7 days are emailed; syncs past their deadline finish without the connectors that did
/// not answer; metered activations left unconfirmed too long are blocked; metered tenants'
/// instance counts are checked once a day; usage reports due go to the vendor and the
/// reporting grace is checked; old idempotency keys are forgotten.
pub async fn health_pass(services: &Services) -> Result<HealthPass, AppError> {
    let now = services.clock.now_ts();
    let mut pass = HealthPass::default();
    let down = bandpool_store::connectors::sweep_silent(
        &services.db,
        now,
        services.connectors.silence_secs,
    )
    .await?;
    for went in &down {
        tracing::warn!(
            connector = %went.name,
            licenses = went.licenses_in_grace,
            "connector went down; its licenses entered their grace period"
        );
        went_down(services, went).await;
    }
    pass.connectors_down = down.len();
    pass.licenses_expired = crate::lifecycle::expire_graces(services).await?;
    pass.lifecycle = crate::lifecycle::pass(services).await?;
    pass.syncs_finished = bandpool_store::sync::finish_overdue(&services.db, now, None).await?;
    pass.activations_blocked = crate::metered::block_unconfirmed(services).await?;
    pass.instance_checks = crate::metered::daily_instance_check(services).await?.len();
    pass.reporting = crate::metered_reporting::pass(services).await?;
    bandpool_store::connectors::forget_old_messages(&services.db, now).await?;
    Ok(pass)
}
