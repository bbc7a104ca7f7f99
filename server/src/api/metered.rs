//! Metered usage over REST (`/api/v1/metered/...`): the same figures as the portal's pages,
//! each a call into `bandpool_services::metered`.

use super::Ask;
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::metered::MeteredMonth;
use bandpool_domain::AppError;
use bandpool_services::metered;

/// A month's metered usage: the sum of each metered LoadMaster's peak throughput in the month, its tier, and whether the month is still running ("so far") or closed (final).
#[utoipa::path(
    get, path = "/metered/usage", tag = "metered", operation_id = "getMeteredUsage",
    params(
        ("month" = Option<String>, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM (default: the current month)"),
    ),
    responses((status = 200, description = "OK", body = MeteredMonth))
)]
pub async fn usage(ask: Ask) -> Result<Json<MeteredMonth>, AppError> {
    let (tenant, params) = ask.reads_with(&["month"], Permission::ViewPool)?;
    let month = params.get("month");
    Ok(Json(
        metered::month_usage(&ask, &tenant, month.as_deref()).await?,
    ))
}
