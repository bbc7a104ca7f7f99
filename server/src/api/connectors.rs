//! What people do through the REST API about connectors, LoadMasters and licenses:
//! list and add connectors, the device inventory (remove, block), Kill License and Sync
//! licenses. The same actions as the portal's pages (`bandpool_services`).

use super::connector::Body;
use super::{Caller, Params};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::connector::Device;
use bandpool_domain::connector::{ConnectorView, CreatedConnector, KillOutcome, SyncRun};
use bandpool_domain::ids::Id;
use bandpool_domain::AppError;
use bandpool_services::connectors::{self, DeviceChange};
use bandpool_services::licenses;
use bandpool_services::reads::devices;
use serde::Deserialize;

/// GET /api/v1/connectors
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Vec<ConnectorView>>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::connectors::list(&state.db, &tenant).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    name: String,
}

/// POST /api/v1/connectors: a connector and its one-time registration token.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewConnector>,
) -> Result<(StatusCode, Json<CreatedConnector>), AppError> {
    let caller = caller.authorize(Permission::ManageConnectors)?;
    let created = connectors::create(&state, &caller.actor, caller.tenant_id(), &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// GET /api/v1/devices?page=&per_page=: the LoadMaster inventory, by name.
pub async fn devices(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Vec<Device>>, AppError> {
    params.only(&["page", "per_page"])?;
    let page: u64 = match params.get("page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| AppError::invalid("page", "must be 1 or more"))?,
    };
    let per_page: u32 = match params.get("per_page") {
        None => 100,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| (1..=500).contains(p))
            .ok_or_else(|| AppError::invalid("per_page", "must be between 1 and 500"))?,
    };
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        devices::list(
            &state.db,
            &tenant,
            per_page,
            (page - 1) * u64::from(per_page),
        )
        .await?,
    ))
}

async fn change_device(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: DeviceChange,
) -> Result<Device, AppError> {
    let caller = caller.authorize(Permission::ManageConnectors)?;
    connectors::change_device(state, &caller, id, change).await
}

/// DELETE /api/v1/devices/{id}: refused while the LoadMaster holds a pooled license.
pub async fn remove_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Device>, AppError> {
    Ok(Json(
        change_device(&state, &caller, &id, DeviceChange::Remove).await?,
    ))
}

/// POST /api/v1/devices/{id}/block
pub async fn block_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Device>, AppError> {
    Ok(Json(
        change_device(&state, &caller, &id, DeviceChange::Block).await?,
    ))
}

/// POST /api/v1/devices/{id}/unblock
pub async fn unblock_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Device>, AppError> {
    Ok(Json(
        change_device(&state, &caller, &id, DeviceChange::Unblock).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    confirm: String,
}

/// POST /api/v1/licenses/{id}/kill with {"confirm": "KILL"}
pub async fn kill(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Confirm>,
) -> Result<Json<KillOutcome>, AppError> {
    let caller = caller.authorize(Permission::ChangeLicenses)?;
    Ok(Json(
        licenses::kill(&state, &caller, &id, &body.confirm).await?,
    ))
}

/// POST /api/v1/licenses/sync: starts a run (or joins the running one); 202 while it runs.
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<(StatusCode, Json<SyncRun>), AppError> {
    params.only(&[])?;
    let caller = caller.authorize(Permission::ChangeLicenses)?;
    let run = licenses::start_sync(&state, &caller).await?;
    let status = if run.running() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(run)))
}

/// GET /api/v1/licenses/sync/{id}: a run's progress and findings.
pub async fn sync_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<SyncRun>, AppError> {
    params.only(&[])?;
    let id = Id::parse("id", "a sync run", &id)?;
    let caller = caller.authorize(Permission::ViewPool)?;
    licenses::sync_run(&state, &caller, Some(&id))
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("The sync run"))
}
