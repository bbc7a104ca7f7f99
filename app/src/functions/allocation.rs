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
    crate::state::answer(
        async move {
            use bandpool_domain::chart::{daily_bars, monthly_bars};
            let state = crate::state::app_state()?;
            let tenant = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?
                .1
                .tenant_id;
            let today = state.clock.today();
            let (geometry, has_history, capacity) = match &month {
                Some(month) => {
                    let daily =
                        bandpool_store::allocation::daily(&state.db, &tenant, month, today).await?;
                    (daily_bars(&daily), daily.has_history, daily.capacity_mbps)
                }
                None => {
                    let monthly =
                        bandpool_store::allocation::monthly(&state.db, &tenant, today).await?;
                    (
                        monthly_bars(&monthly),
                        monthly.has_history,
                        monthly.capacity_mbps,
                    )
                }
            };
            let svg = crate::charts::bars_svg(&geometry)?;
            Ok(AllocationView {
                month,
                capacity_mbps: capacity,
                has_history,
                geometry,
                svg,
            })
        }
        .await,
    )
}
