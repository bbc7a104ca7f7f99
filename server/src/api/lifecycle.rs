//! The license lifecycle through the REST API: the tenant's orders (what each bought and what
//! is in use) and the Licenses table (every licensed LoadMaster's license and subscriptions
//! with their expiration dates). The same reads as the pages (`bandpool_services::lifecycle`).

use super::Ask;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::lifecycle::{LicensesSort, LicensesTableRow, Order};
use bandpool_domain::AppError;
use bandpool_services::lifecycle;

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
