//! GET /api/v1/pool and the allocation series behind the charts.

use super::Caller;
use super::Params;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use bandpool_domain::allocation::{DailyAllocation, MonthlyAllocation};
use bandpool_domain::auth::Permission;
use bandpool_domain::pool::PoolSummary;
use bandpool_domain::AppError;

/// Current allocation against maximum capacity, per license type.
#[utoipa::path(
    get,
    path = "/pool",
    tag = "pool",
    operation_id = "getPool",
    responses(
        (status = 200, description = "OK", body = PoolSummary),
    )
)]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<PoolSummary>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::pool::summary(&state.db, &tenant).await?,
    ))
}

/// Peak allocation of each of the last twelve months, with the day it happened.
#[utoipa::path(
    get,
    path = "/pool/allocation/monthly",
    tag = "pool",
    operation_id = "getMonthlyAllocation",
    responses(
        (status = 200, description = "OK", body = MonthlyAllocation),
    )
)]
pub async fn monthly(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<MonthlyAllocation>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::allocation::monthly(&state.db, &tenant, state.clock.today()).await?,
    ))
}

/// Peak allocation of each day of a month.
#[utoipa::path(
    get,
    path = "/pool/allocation/daily",
    tag = "pool",
    operation_id = "getDailyAllocation",
    params(
        ("month" = String, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM"),
    ),
    responses(
        (status = 200, description = "OK", body = DailyAllocation),
    )
)]
pub async fn daily(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<DailyAllocation>, AppError> {
    let month = params
        .only(&["month"])?
        .get("month")
        .ok_or_else(|| AppError::invalid("month", "is required, as YYYY-MM"))?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::allocation::daily(&state.db, &tenant, &month, state.clock.today()).await?,
    ))
}
