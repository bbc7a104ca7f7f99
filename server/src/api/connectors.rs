//! What people do through the REST API about connectors, LoadMasters and licenses:
//! list and add connectors, the device inventory (remove, block), Kill License and Sync
//! licenses. The same actions as the portal's pages (`bandpool_services`).

use super::connector::Body;
use super::{sync_answer, Ask, PathId};
use axum::http::StatusCode;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::connector::Device;
use bandpool_domain::connector::{ConnectorView, CreatedConnector, KillOutcome, SyncRun};
use bandpool_domain::error::ErrorBody;
use bandpool_domain::AppError;
use bandpool_services::connectors::{self, DeviceChange};
use bandpool_services::licenses;
use bandpool_services::reads::devices;
use serde::Deserialize;

/// The tenant's connectors and their health.
#[utoipa::path(
    get, path = "/connectors", tag = "connectors", operation_id = "listConnectors",
    responses((status = 200, description = "OK", body = Vec<ConnectorView>))
)]
pub async fn list(ask: Ask) -> Result<Json<Vec<ConnectorView>>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::connectors::list(&ask.db, &tenant).await?,
    ))
}

/// A new connector.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// Its name, up to 80 characters.
    name: String,
}

/// Add a connector; its one-time registration token is in the answer (shown once).
#[utoipa::path(
    post, path = "/connectors", tag = "connectors", operation_id = "createConnector",
    request_body = NewConnector,
    responses((status = 201, description = "Created", body = CreatedConnector))
)]
pub async fn create(
    ask: Ask,
    Body(body): Body<NewConnector>,
) -> Result<(StatusCode, Json<CreatedConnector>), AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    let created = connectors::create(&ask, &caller.actor, caller.tenant_id(), &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The LoadMaster device inventory, by name.
#[utoipa::path(
    get, path = "/devices", tag = "devices", operation_id = "listDevices",
    params(
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Devices per page (default 100)"),
    ),
    responses((status = 200, description = "OK", body = Vec<Device>))
)]
pub async fn devices(ask: Ask) -> Result<Json<Vec<Device>>, AppError> {
    let (tenant, params) = ask.reads_with(&["page", "per_page"], Permission::ViewPool)?;
    let page: u64 = params.number("page", 1, |p| *p >= 1, "must be 1 or more")?;
    let per_page: u32 = params.number(
        "per_page",
        100,
        |p| (1..=500).contains(p),
        "must be between 1 and 500",
    )?;
    Ok(Json(
        devices::list(&ask.db, &tenant, per_page, (page - 1) * u64::from(per_page)).await?,
    ))
}

async fn change_device(ask: &Ask, id: &str, change: DeviceChange) -> Result<Device, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    connectors::change_device(ask, &caller, id, change).await
}

/// Remove a LoadMaster from the inventory.
///
/// Refused (409 device_has_pooled_license) while it holds a pooled license.
#[utoipa::path(
    delete, path = "/devices/{id}", tag = "devices", operation_id = "removeDevice",
    params(("id" = uuid::Uuid, Path, description = "The LoadMaster")),
    responses(
        (status = 200, description = "OK", body = Device),
        (status = 409, description = "The LoadMaster holds a pooled license (code device_has_pooled_license)", body = ErrorBody),
    )
)]
pub async fn remove_device(ask: Ask, PathId(id): PathId) -> Result<Json<Device>, AppError> {
    Ok(Json(change_device(&ask, &id, DeviceChange::Remove).await?))
}

/// Run diagnostics: the connector's agent pings its default gateway, its DNS servers and the
/// portal at its next heartbeat and sends the results, which the connector's `diagnostics`
/// then holds (`GET /connectors`).
#[utoipa::path(
    post, path = "/connectors/{id}/diagnostics", tag = "connectors", operation_id = "requestConnectorDiagnostics",
    params(("id" = uuid::Uuid, Path, description = "The connector")),
    responses(
        (status = 202, description = "Asked; the results follow the next heartbeat", body = ConnectorView),
        (status = 404, description = "No such connector in this tenant", body = ErrorBody),
    )
)]
pub async fn request_diagnostics(
    ask: Ask,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<ConnectorView>), AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(connectors::request_diagnostics(&ask, &caller, &id).await?),
    ))
}

/// Block a LoadMaster from taking licenses from the pool.
#[utoipa::path(
    post, path = "/devices/{id}/block", tag = "devices", operation_id = "blockDevice",
    params(("id" = uuid::Uuid, Path, description = "The LoadMaster")),
    responses((status = 200, description = "OK", body = Device))
)]
pub async fn block_device(ask: Ask, PathId(id): PathId) -> Result<Json<Device>, AppError> {
    Ok(Json(change_device(&ask, &id, DeviceChange::Block).await?))
}

/// Unblock a LoadMaster.
#[utoipa::path(
    post, path = "/devices/{id}/unblock", tag = "devices", operation_id = "unblockDevice",
    params(("id" = uuid::Uuid, Path, description = "The LoadMaster")),
    responses((status = 200, description = "OK", body = Device))
)]
pub async fn unblock_device(ask: Ask, PathId(id): PathId) -> Result<Json<Device>, AppError> {
    Ok(Json(change_device(&ask, &id, DeviceChange::Unblock).await?))
}

/// Correct a LoadMaster's HA partner and GEO partners (by serial number; each must be in the
/// inventory). An empty body clears them. Used Assets counts an HA pair once.
#[utoipa::path(
    put, path = "/devices/{id}/partners", tag = "devices", operation_id = "setDevicePartners",
    params(("id" = uuid::Uuid, Path, description = "The LoadMaster")),
    request_body = bandpool_domain::connector::Partners,
    responses((status = 200, description = "OK", body = Device))
)]
pub async fn set_partners(
    ask: Ask,
    PathId(id): PathId,
    Body(partners): Body<bandpool_domain::connector::Partners>,
) -> Result<Json<Device>, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    Ok(Json(
        connectors::correct_partners(&ask, &caller, &id, &partners).await?,
    ))
}

/// The confirmation Kill License asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// Must be KILL.
    #[schema(pattern = "^KILL$")]
    confirm: String,
}

/// Kill License: recover the license (confirm must be KILL).
///
/// The kill is relayed to the LoadMaster through its connector; killing twice is harmless.
#[utoipa::path(
    post, path = "/licenses/{id}/kill", tag = "licenses", operation_id = "killLicense",
    request_body = Confirm,
    params(("id" = uuid::Uuid, Path, description = "The license")),
    responses(
        (status = 200, description = "OK", body = KillOutcome),
        (status = 409, description = "The license was not issued through the portal, or has expired (code license_not_killable)", body = ErrorBody),
    )
)]
pub async fn kill(
    ask: Ask,
    PathId(id): PathId,
    Body(body): Body<Confirm>,
) -> Result<Json<KillOutcome>, AppError> {
    let caller = ask.authorize(Permission::ChangeLicenses)?;
    Ok(Json(
        licenses::kill(&ask, &caller, &id, &body.confirm).await?,
    ))
}

/// Sync licenses: ask every connected connector for its LoadMasters.
///
/// Joins a running sync; 202 while it runs.
#[utoipa::path(
    post, path = "/licenses/sync", tag = "licenses", operation_id = "syncLicenses",
    responses(
        (status = 200, description = "Finished", body = SyncRun),
        (status = 202, description = "Running", body = SyncRun),
    )
)]
pub async fn sync(ask: Ask) -> Result<(StatusCode, Json<SyncRun>), AppError> {
    ask.query(&[])?;
    let caller = ask.authorize(Permission::ChangeLicenses)?;
    let run = licenses::start_sync(&ask, &caller).await?;
    Ok(sync_answer(run.running(), run))
}

/// A sync run: connectors asked and answered, differences found.
#[utoipa::path(
    get, path = "/licenses/sync/{id}", tag = "licenses", operation_id = "getSyncRun",
    params(("id" = uuid::Uuid, Path, description = "The sync run")),
    responses((status = 200, description = "OK", body = SyncRun))
)]
pub async fn sync_run(ask: Ask, PathId(id): PathId) -> Result<Json<SyncRun>, AppError> {
    ask.query(&[])?;
    let caller = ask.authorize(Permission::ViewPool)?;
    licenses::sync_run(&ask, &caller, Some(&id))
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("The sync run"))
}
