//! GET /api/v1/events: the tenant's event log, newest first, with the page's filters
//! (actor, action, target, from, to) and paging (page, per_page).

use super::Ask;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::events::{EventPage, EventQuery, EVENT_PARAMS};
use bandpool_domain::AppError;

/// The event log, newest first (never editable).
#[utoipa::path(
    get, path = "/events", tag = "events", operation_id = "listEvents",
    params(EventFilters),
    responses((status = 200, description = "OK", body = EventPage))
)]
pub async fn list(ask: Ask) -> Result<Json<EventPage>, AppError> {
    let (tenant, params) = ask.reads_with(EVENT_PARAMS, Permission::ViewEvents)?;
    let query = EventQuery::parse(&params.to_map())?;
    Ok(Json(
        bandpool_store::events::list(&ask.db, &tenant, &query).await?,
    ))
}

/// The event log's filters and page, as the list and the CSV export take them. Described
/// here for the API document; `EventQuery::parse` reads and checks them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EventFilters {
    /// Part of the actor's name (case-insensitive).
    #[param(max_length = 200)]
    actor: Option<String>,
    /// One action the log records.
    action: Option<String>,
    /// Part of the target's name (case-insensitive).
    #[param(max_length = 200)]
    target: Option<String>,
    /// First day, YYYY-MM-DD (UTC).
    from: Option<chrono::NaiveDate>,
    /// Last day, YYYY-MM-DD (UTC).
    to: Option<chrono::NaiveDate>,
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Events per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u32>,
}
