//! The Connectors page: the tenant's connectors and their health; adding one (its
//! registration token is shown once); the LoadMaster inventory.

use bandpool_domain::connector::{ConnectorView, CreatedConnector, Device, DevicePage};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission,
    bandpool_services::{connectors, reads},
};

#[server(prefix = "/_server", endpoint = "list_connectors")]
pub async fn list_connectors() -> Result<Vec<ConnectorView>, AppError> {
    crate::serve::tenant_read(Permission::ViewPool, reads::connectors::list).await
}

#[server(prefix = "/_server", endpoint = "create_connector")]
pub async fn create_connector(name: String) -> Result<CreatedConnector, AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let created = connectors::create(services, &caller.actor, caller.tenant_id(), &name).await?;
        crate::serve::secret_once(
            format!(
                "Copy the registration token of {} now: it is not shown again, and it works once, for 24 hours. Start the agent with it:",
                created.connector.name
            ),
            created.registration_token.clone(),
            format!(
                "BANDPOOL_CONNECTOR_PORTAL_URL=<this portal's address> \\\nBANDPOOL_CONNECTOR_REGISTRATION_TOKEN={} \\\nbandpool-connector",
                created.registration_token
            ),
        );
        Ok(created)
    })
    .await
}

/// Run diagnostics: the connector's agent pings its default gateway, its DNS servers and the
/// portal at its next heartbeat; the Connectors page shows the results when they arrive.
#[server(prefix = "/_server", endpoint = "request_diagnostics")]
pub async fn request_diagnostics(connector_id: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let connector = connectors::request_diagnostics(services, caller, &connector_id).await?;
        crate::serve::notice(format!(
            "Connector {} runs its diagnostics at its next heartbeat; the results show here when they arrive.",
            connector.name
        ));
        Ok(())
    })
    .await
}

/// One page (100 by name) of the LoadMaster inventory.
#[server(prefix = "/_server", endpoint = "list_devices")]
pub async fn list_devices(page: Option<u32>) -> Result<DevicePage, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        const PER_PAGE: u32 = 100;
        let page = page.unwrap_or(1).max(1);
        // One more than a page tells whether there is a next one.
        let mut devices = reads::devices::list(
            &services.db,
            caller.tenant_id(),
            PER_PAGE + 1,
            u64::from(page - 1) * u64::from(PER_PAGE),
        )
        .await?;
        let has_more = devices.len() > PER_PAGE as usize;
        devices.truncate(PER_PAGE as usize);
        Ok(DevicePage {
            devices,
            page,
            has_more,
        })
    })
    .await
}

/// Remove a LoadMaster from the inventory (refused while it holds a pooled license), or
/// block or unblock it: `change` is remove, block or unblock.
/// An Owner or Admin corrects a LoadMaster's partners: the HA partner's serial number and the
/// GEO partners' (separated by commas or spaces); empty fields clear them.
#[server(prefix = "/_server", endpoint = "set_device_partners")]
pub async fn set_device_partners(
    device_id: String,
    ha_partner_serial: String,
    geo_partner_serials: String,
) -> Result<Device, AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let partners = bandpool_domain::connector::Partners {
            ha_partner_serial: Some(ha_partner_serial.trim().to_string()).filter(|s| !s.is_empty()),
            geo_partner_serials: geo_partner_serials
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let device = connectors::correct_partners(services, caller, &device_id, &partners).await?;
        crate::serve::notice(format!("{}'s partners are saved.", device.name));
        Ok(device)
    })
    .await
}

#[server(prefix = "/_server", endpoint = "change_device")]
pub async fn change_device(device_id: String, change: String) -> Result<Device, AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let change = connectors::DeviceChange::parse(&change)?;
        let device = connectors::change_device(services, caller, &device_id, change).await?;
        crate::serve::notice(match change {
            connectors::DeviceChange::Remove => {
                format!("{} is removed from the inventory.", device.name)
            }
            connectors::DeviceChange::Block => {
                format!("{} is blocked: it cannot take a license.", device.name)
            }
            connectors::DeviceChange::Unblock => format!("{} is unblocked.", device.name),
        });
        Ok(device)
    })
    .await
}
