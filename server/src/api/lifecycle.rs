//! The license lifecycle through the REST API: the tenant's orders (what each bought and what
//! is in use), the Licenses table (every licensed LoadMaster's license and subscriptions with
//! their expiration dates), and offline licensing with the key its texts are checked by. The
//! same service functions as the pages (`bandpool_services::lifecycle`, `::offline`).

use super::connector::Body;
use super::Ask;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::error::ErrorBody;
use bandpool_domain::lifecycle::{LicensesSort, LicensesTableRow, Order};
use bandpool_domain::offline::{OfflineLicense, OfflineRequest};
use bandpool_domain::AppError;
use bandpool_services::{lifecycle, offline};

/// The tenant's orders, newest first: Order ID, support tier and its end, and per license
/// type the quantity bought and the permanent licenses of it in use.
#[utoipa::path(
    get, path = "/orders", tag = "licenses", operation_id = "listOrders",
    responses((status = 200, description = "OK", body = Vec<Order>))
)]
pub async fn orders(ask: Ask) -> Result<Json<Vec<Order>>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(lifecycle::orders(&ask, &tenant).await?))
}

/// The Licenses table: for each licensed LoadMaster (Active licenses), its license type, then
/// its subscriptions (or "Classic"), each with its expiration date and whether it has passed.
#[utoipa::path(
    get, path = "/subscriptions", tag = "licenses", operation_id = "listSubscriptions",
    params(
        ("sort" = Option<LicensesSort>, Query, description = "ip_address (default) or expiration_date (the soonest of a LoadMaster's dates)"),
        ("order" = Option<bandpool_domain::license::SortOrder>, Query, description = "asc (default) or desc"),
    ),
    responses((status = 200, description = "OK", body = Vec<LicensesTableRow>))
)]
pub async fn subscriptions(ask: Ask) -> Result<Json<Vec<LicensesTableRow>>, AppError> {
    let (tenant, params) = ask.reads_with(&["sort", "order"], Permission::ViewPool)?;
    let (sort, order) = LicensesSort::parse(
        params.get("sort").as_deref(),
        params.get("order").as_deref(),
    )?;
    Ok(Json(
        lifecycle::licenses_table(&ask, &tenant, sort, order).await?,
    ))
}

/// The public half of the key this deployment signs offline license texts with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LicensingKey {
    /// `ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, hex.
    pub public_key: String,
}

/// The public key LoadMasters check offline license texts with (no sign-in: it is public by
/// design, so an appliance's administrator can fetch it from anywhere).
#[utoipa::path(
    get, path = "/licensing-key", tag = "licenses", operation_id = "getLicensingKey",
    security(()),
    responses((status = 200, description = "OK", body = LicensingKey))
)]
pub async fn licensing_key(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> Result<Json<LicensingKey>, AppError> {
    Ok(Json(LicensingKey {
        algorithm: "ed25519",
        public_key: offline::public_key(&state).await?,
    }))
}

/// Offline licensing, for a LoadMaster with no route to a connector: the action (license a
/// new LoadMaster, update a license, get a trial license, upgrade a trial license, update
/// the license owner) is taken exactly as through a connector, and the answer is license text
/// signed with this deployment's key, bound to the LoadMaster's serial number and access
/// code. Fields the action does not ask for are ignored. Owners and Admins.
#[utoipa::path(
    post, path = "/offline-licenses", tag = "licenses", operation_id = "generateOfflineLicense",
    request_body = OfflineRequest,
    responses(
        (status = 200, description = "The license text and what it grants", body = OfflineLicense),
        (status = 400, description = "A field the action needs is missing or malformed (invalid_parameter names it)", body = ErrorBody),
        (status = 403, description = "The access code is not the one the license was bound to (access_code_mismatch)", body = ErrorBody),
        (status = 409, description = "The pool or the order has no room (the connector API's refusal codes)", body = ErrorBody),
    )
)]
pub async fn offline_license(
    ask: Ask,
    Body(request): Body<OfflineRequest>,
) -> Result<Json<OfflineLicense>, AppError> {
    let caller = ask.authorize(Permission::ChangeLicenses)?;
    Ok(Json(offline::generate(&ask, &caller, &request).await?))
}

/// An operator reads a tenant's orders (what each bought and what is in use).
#[utoipa::path(
    get, path = "/tenants/{id}/orders", tag = "operator", operation_id = "listTenantOrders",
    params(("id" = uuid::Uuid, Path, description = "The tenant")),
    responses(
        (status = 200, description = "OK", body = Vec<Order>),
        (status = 403, description = "Operators only, signed in (not with an API token)", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    )
)]
pub async fn tenant_orders(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    _operator: super::Operator,
    super::PathId(id): super::PathId,
) -> Result<Json<Vec<Order>>, AppError> {
    Ok(Json(lifecycle::tenant_orders(&state, &id).await?))
}

/// Whether an order was new or replaced one with the same Order ID.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RecordedOrder {
    pub order_id: String,
    pub new: bool,
}

/// An operator records an order for a tenant: its Order ID, support tier and end, and per
/// license type the quantity bought (and an optional end of the licenses' term). Given again
/// with the same Order ID it replaces the order, never below what is in use.
#[utoipa::path(
    post, path = "/tenants/{id}/orders", tag = "operator", operation_id = "recordTenantOrder",
    params(("id" = uuid::Uuid, Path, description = "The tenant")),
    request_body = bandpool_domain::lifecycle::OrderInput,
    responses(
        (status = 200, description = "Recorded", body = RecordedOrder),
        (status = 400, description = "invalid_parameter names the field (a line as lines[i])", body = ErrorBody),
        (status = 403, description = "Operators only, signed in (not with an API token)", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    )
)]
pub async fn record_tenant_order(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    super::Operator(operator): super::Operator,
    super::PathId(id): super::PathId,
    Body(input): Body<bandpool_domain::lifecycle::OrderInput>,
) -> Result<Json<RecordedOrder>, AppError> {
    let actor = bandpool_services::Actor::from(&operator);
    let new = lifecycle::record_order(&state, &actor, &id, &input).await?;
    Ok(Json(RecordedOrder {
        order_id: input.order_id.trim().to_string(),
        new,
    }))
}
