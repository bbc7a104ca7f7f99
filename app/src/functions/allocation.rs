//! The Maximum allocation chart: twelve monthly bars, or the days of one month.

use bandpool_domain::chart::BarGeometry;
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationView {
    /// The month drilled into (YYYY-MM), or None for the twelve-month view.
    pub month: Option<String>,
    pub capacity_mbps: i64,
    pub has_history: bool,
    pub geometry: BarGeometry,
    pub svg: String,
}

#[server(prefix = "/_server", endpoint = "get_allocation_view")]
pub async fn get_allocation_view(month: Option<String>) -> Result<AllocationView, AppError> {
    use bandpool_domain::chart::{daily_bars, monthly_bars};
    use bandpool_services::reads::allocation;
    crate::serve::tenant(
        bandpool_domain::auth::Permission::ViewPool,
        async |services, caller| {
            let (db, tenant) = (&services.db, caller.tenant_id());
            let today = services.clock.today();
            let (geometry, has_history, capacity) = match &month {
                Some(month) => {
                    let daily = allocation::daily(db, tenant, month, today).await?;
                    (daily_bars(&daily), daily.has_history, daily.capacity_mbps)
                }
                None => {
                    let monthly = allocation::monthly(db, tenant, today).await?;
                    (
                        monthly_bars(&monthly),
                        monthly.has_history,
                        monthly.capacity_mbps,
                    )
                }
            };
            let svg = bandpool_services::charts::bars_svg(&geometry)?;
            Ok(AllocationView {
                month,
                capacity_mbps: capacity,
                has_history,
                geometry,
                svg,
            })
        },
    )
    .await
}
