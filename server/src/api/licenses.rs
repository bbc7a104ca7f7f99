//! GET /api/v1/licenses (filter, search, sort, page) and a license's history.

use super::{Ask, PathId};
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::license::{
    Column, LicenseHistory, LicensePage, LicenseQueryParams, LicenseStatus, SortOrder,
};
use bandpool_domain::AppError;

/// One page of the pool's licenses, filtered, searched and sorted.
#[utoipa::path(
    get, path = "/licenses", tag = "licenses", operation_id = "listLicenses",
    params(
        ("status" = Option<LicenseStatus>, Query, description = "Only licenses in this status"),
        ("q" = Option<String>, Query, max_length = 200, description = "Search device name, IP address, serial no. and license name (case-insensitive)"),
        ("sort" = Option<Column>, Query, description = "Column to sort by (default device_name)"),
        ("order" = Option<SortOrder>, Query, description = "asc (default) or desc"),
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Licenses per page (default 10)"),
    ),
    responses((status = 200, description = "OK", body = LicensePage))
)]
pub async fn list(ask: Ask) -> Result<Json<LicensePage>, AppError> {
    let (tenant, params) = ask.reads_with(&LicenseQueryParams::NAMES, Permission::ViewPool)?;
    let query = LicenseQueryParams::from_lookup(|k| params.get(k)).parse()?;
    Ok(Json(
        bandpool_store::licenses::list(&ask.db, &tenant, &query).await?,
    ))
}

/// A license's history records, oldest first.
#[utoipa::path(
    get, path = "/licenses/{id}/history", tag = "licenses", operation_id = "getLicenseHistory",
    params(("id" = uuid::Uuid, Path, description = "The license")),
    responses((status = 200, description = "OK", body = LicenseHistory))
)]
pub async fn history(ask: Ask, PathId(id): PathId) -> Result<Json<LicenseHistory>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::licenses::history(&ask.db, &tenant, &id).await?,
    ))
}
