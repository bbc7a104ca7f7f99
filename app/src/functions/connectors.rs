//! The Connectors page: the tenant's connectors and their health; adding one (its
//! registration token is shown once).

use bandpool_domain::connector::{ConnectorView, CreatedConnector};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[server(prefix = "/_server", endpoint = "list_connectors")]
pub async fn list_connectors() -> Result<Vec<ConnectorView>, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            bandpool_store::connectors::list(&state.db, &tenant.tenant_id).await
        }
        .await,
    )
}

#[server(prefix = "/_server", endpoint = "create_connector")]
pub async fn create_connector(name: String) -> Result<CreatedConnector, AppError> {
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageConnectors)?;
            let state = crate::state::app_state()?;
            crate::actions::create_connector(&state, &principal, &tenant.tenant_id, &name).await
        }
        .await,
    )
}

/// One page (100 by name) of the LoadMaster inventory.
#[server(prefix = "/_server", endpoint = "list_devices")]
pub async fn list_devices(
    page: Option<u32>,
) -> Result<bandpool_domain::connector::DevicePage, AppError> {
    crate::state::answer(
        async move {
            const PER_PAGE: u32 = 100;
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            let page = page.unwrap_or(1).max(1);
            // One more than a page tells whether there is a next one.
            let mut devices = bandpool_store::devices::list(
                &state.db,
                &tenant.tenant_id,
                PER_PAGE + 1,
                u64::from(page - 1) * u64::from(PER_PAGE),
            )
            .await?;
            let has_more = devices.len() > PER_PAGE as usize;
            devices.truncate(PER_PAGE as usize);
            Ok(bandpool_domain::connector::DevicePage {
                devices,
                page,
                has_more,
            })
        }
        .await,
    )
}

/// Remove a LoadMaster from the inventory (refused while it holds a pooled license), or
/// block or unblock it: `change` is remove, block or unblock.
#[server(prefix = "/_server", endpoint = "change_device")]
pub async fn change_device(
    device_id: String,
    change: String,
) -> Result<bandpool_domain::connector::Device, AppError> {
    crate::state::answer(
        async move {
            use crate::actions::DeviceChange;
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageConnectors)?;
            let state = crate::state::app_state()?;
            let change = match change.as_str() {
                "remove" => DeviceChange::Remove,
                "block" => DeviceChange::Block,
                "unblock" => DeviceChange::Unblock,
                _ => {
                    return Err(AppError::invalid(
                        "change",
                        "must be remove, block or unblock",
                    ))
                }
            };
            crate::actions::change_device(&state, &principal, &tenant.tenant_id, &device_id, change)
                .await
        }
        .await,
    )
}
