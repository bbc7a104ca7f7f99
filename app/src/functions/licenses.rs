//! The License overview table and a license's history.

use bandpool_domain::license::{LicenseHistory, LicensePage, LicenseQueryParams};
use bandpool_domain::AppError;
use leptos::prelude::*;

/// One page of the pool's licenses; the parameters are validated here, as the REST API does.
#[server(prefix = "/_server")]
pub async fn list_licenses(params: LicenseQueryParams) -> Result<LicensePage, AppError> {
    let query = params.parse()?;
    let state = crate::state::app_state()?;
    let tenant = state.tenant_id().await?;
    bandpool_store::licenses::list(&state.db, &tenant, &query).await
}

#[server(prefix = "/_server")]
pub async fn get_license_history(license_id: String) -> Result<LicenseHistory, AppError> {
    let state = crate::state::app_state()?;
    let tenant = state.tenant_id().await?;
    bandpool_store::licenses::history(&state.db, &tenant, &license_id).await
}
