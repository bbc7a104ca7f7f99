//! The License overview table and a license's history.

use bandpool_domain::connector::{KillOutcome, SyncRun};
use bandpool_domain::license::{LicenseHistory, LicensePage, LicenseQueryParams};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {bandpool_domain::auth::Permission, bandpool_services::reads::licenses};

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
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let query = LicenseQueryParams {
            status,
            q,
            sort,
            order,
            page,
            per_page,
        }
        .parse()?;
        licenses::list(&services.db, caller.tenant_id(), &query).await
    })
    .await
}

#[server(prefix = "/_server", endpoint = "get_license_history")]
pub async fn get_license_history(license_id: String) -> Result<LicenseHistory, AppError> {
    crate::serve::tenant_read(Permission::ViewPool, async |db, tenant| {
        licenses::history(db, tenant, &license_id).await
    })
    .await
}

/// Kill License: `confirm` is what the person typed in the dialog (it must be KILL).
#[server(prefix = "/_server", endpoint = "kill_license")]
pub async fn kill_license(license_id: String, confirm: String) -> Result<KillOutcome, AppError> {
    crate::serve::tenant(Permission::ChangeLicenses, async |services, caller| {
        let outcome =
            bandpool_services::licenses::kill(services, caller, &license_id, &confirm).await?;
        let relay = outcome
            .relayed_to
            .as_ref()
            .map(|c| format!(" The kill was sent through connector {c}."))
            .unwrap_or_default();
        crate::serve::notice(format!(
            "The license is killed and its capacity is back in the pool.{relay}"
        ));
        Ok(outcome)
    })
    .await
}

/// Sync licenses: ask every connected connector for its LoadMasters (joins a running sync).
#[server(prefix = "/_server", endpoint = "sync_licenses")]
pub async fn sync_licenses() -> Result<SyncRun, AppError> {
    crate::serve::tenant(Permission::ChangeLicenses, async |services, caller| {
        let run = bandpool_services::licenses::start_sync(services, caller).await?;
        crate::serve::go_to(format!("{}?sync={}", crate::url::PAGE_PATH, run.id));
        Ok(run)
    })
    .await
}

/// A sync run as it stands (`run_id` empty: the latest), for the progress line.
#[server(prefix = "/_server", endpoint = "get_sync_run")]
pub async fn get_sync_run(run_id: Option<String>) -> Result<Option<SyncRun>, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let run_id = run_id.as_deref().filter(|s| !s.is_empty());
        bandpool_services::licenses::sync_run(services, caller, run_id).await
    })
    .await
}
