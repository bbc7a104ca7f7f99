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
