//! The License overview table and a license's history.

use bandpool_domain::license::{LicenseHistory, LicensePage, LicenseQueryParams};
use bandpool_domain::AppError;
use leptos::prelude::*;

/// One page of the pool's licenses for the raw URL parameters, validated here as the REST
/// API validates them.
pub async fn list_licenses(params: LicenseQueryParams) -> Result<LicensePage, AppError> {
    let LicenseQueryParams {
        status,
        q,
        sort,
        order,
        page,
        per_page,
    } = params;
    list_license_page(status, q, sort, order, page, per_page).await
}

// Flat optional arguments: an absent one is simply None on the wire.
#[server(prefix = "/_server", endpoint = "list_license_page")]
pub async fn list_license_page(
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
) -> Result<LicensePage, AppError> {
    crate::state::answer(
        async move {
            let query = LicenseQueryParams {
                status,
                q,
                sort,
                order,
                page,
                per_page,
            }
            .parse()?;
            let state = crate::state::app_state()?;
            let tenant = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?
                .1
                .tenant_id;
            bandpool_store::licenses::list(&state.db, &tenant, &query).await
        }
        .await,
    )
}

#[server(prefix = "/_server", endpoint = "get_license_history")]
pub async fn get_license_history(license_id: String) -> Result<LicenseHistory, AppError> {
    crate::state::answer(
        async move {
            let state = crate::state::app_state()?;
            let tenant = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?
                .1
                .tenant_id;
            bandpool_store::licenses::history(&state.db, &tenant, &license_id).await
        }
        .await,
    )
}
