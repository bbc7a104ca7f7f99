//! GET /api/v1/licenses (filter, search, sort, page) and a license's history.

use super::Caller;
use super::Params;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::license::{LicenseHistory, LicensePage, LicenseQueryParams};
use bandpool_domain::AppError;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<LicensePage>, AppError> {
    params.only(&LicenseQueryParams::NAMES)?;
    let query = LicenseQueryParams::from_lookup(|k| params.get(k)).parse()?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::licenses::list(&state.db, &tenant, &query).await?,
    ))
}

pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<LicenseHistory>, AppError> {
    params.only(&[])?;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(AppError::invalid("id", "is not a license id (a UUID)"));
    }
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::licenses::history(&state.db, &tenant, &id).await?,
    ))
}
