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

/// Kill License: `confirm` is what the person typed in the dialog (it must be KILL).
#[server(prefix = "/_server", endpoint = "kill_license")]
pub async fn kill_license(
    license_id: String,
    confirm: String,
) -> Result<bandpool_domain::connector::KillOutcome, AppError> {
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ChangeLicenses)?;
            let state = crate::state::app_state()?;
            crate::actions::kill_license(
                &state,
                &principal,
                &tenant.tenant_id,
                &license_id,
                &confirm,
            )
            .await
        }
        .await,
    )
}

/// Sync licenses: ask every connected connector for its LoadMasters (joins a running sync).
#[server(prefix = "/_server", endpoint = "sync_licenses")]
pub async fn sync_licenses() -> Result<bandpool_domain::connector::SyncRun, AppError> {
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ChangeLicenses)?;
            let state = crate::state::app_state()?;
            crate::actions::start_sync(&state, &principal, &tenant.tenant_id).await
        }
        .await,
    )
}

/// A sync run as it stands (`run_id` empty: the latest), for the progress line.
#[server(prefix = "/_server", endpoint = "get_sync_run")]
pub async fn get_sync_run(
    run_id: Option<String>,
) -> Result<Option<bandpool_domain::connector::SyncRun>, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            crate::actions::sync_run(
                &state,
                &tenant.tenant_id,
                run_id.as_deref().filter(|s| !s.is_empty()),
            )
            .await
        }
        .await,
    )
}
