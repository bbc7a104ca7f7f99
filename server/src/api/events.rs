//! GET /api/v1/events: the tenant's event log, newest first, with the page's filters
//! (actor, action, target, from, to) and paging (page, per_page).

use super::{Caller, Params};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::events::{EventPage, EventQuery, EVENT_PARAMS};
use bandpool_domain::AppError;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<EventPage>, AppError> {
    let tenant = caller.tenant(Permission::ViewEvents)?;
    let query = EventQuery::parse(&params.only(EVENT_PARAMS)?.to_map())?;
    Ok(Json(
        bandpool_store::events::list(&state.db, &tenant, &query).await?,
    ))
}
