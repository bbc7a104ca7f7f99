//! GET /api/v1/pool and the allocation series behind the charts.

use super::Ask;
use axum::Json;
use bandpool_domain::allocation::{DailyAllocation, MonthlyAllocation};
use bandpool_domain::auth::Permission;
use bandpool_domain::pool::PoolSummary;
use bandpool_domain::AppError;

/// Current allocation against maximum capacity, per license type.
#[utoipa::path(
    get, path = "/pool", tag = "pool", operation_id = "getPool",
    responses((status = 200, description = "OK", body = PoolSummary))
)]
pub async fn summary(ask: Ask) -> Result<Json<PoolSummary>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(bandpool_store::pool::summary(&ask.db, &tenant).await?))
}

/// Peak allocation of each of the last twelve months, with the day it happened.
#[utoipa::path(
    get, path = "/pool/allocation/monthly", tag = "pool", operation_id = "getMonthlyAllocation",
    responses((status = 200, description = "OK", body = MonthlyAllocation))
)]
pub async fn monthly(ask: Ask) -> Result<Json<MonthlyAllocation>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(
        bandpool_store::allocation::monthly(&ask.db, &tenant, ask.clock.today()).await?,
    ))
}

/// Peak allocation of each day of a month.
#[utoipa::path(
    get, path = "/pool/allocation/daily", tag = "pool", operation_id = "getDailyAllocation",
    params(
        ("month" = String, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM"),
    ),
    responses((status = 200, description = "OK", body = DailyAllocation))
)]
pub async fn daily(ask: Ask) -> Result<Json<DailyAllocation>, AppError> {
    let (tenant, params) = ask.reads_with(&["month"], Permission::ViewPool)?;
    let month = params
        .get("month")
        .ok_or_else(|| AppError::invalid("month", "is required, as YYYY-MM"))?;
    Ok(Json(
        bandpool_store::allocation::daily(&ask.db, &tenant, &month, ask.clock.today()).await?,
    ))
}
