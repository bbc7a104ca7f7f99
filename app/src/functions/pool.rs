//! The cylinder chart: current allocation vs maximum capacity.

use bandpool_domain::chart::CylinderGeometry;
use bandpool_domain::pool::PoolSummary;
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolView {
    pub summary: PoolSummary,
    pub geometry: CylinderGeometry,
    /// The chart drawn by the server (plotters), shown with or without JavaScript.
    pub svg: String,
}

#[server(prefix = "/_server", endpoint = "get_pool_view")]
pub async fn get_pool_view() -> Result<PoolView, AppError> {
    crate::serve::tenant(
        bandpool_domain::auth::Permission::ViewPool,
        async |services, caller| {
            let summary =
                bandpool_services::reads::pool::summary(&services.db, caller.tenant_id()).await?;
            let geometry = bandpool_domain::chart::cylinder(&summary);
            let svg = bandpool_services::charts::cylinder_svg(&geometry)?;
            Ok(PoolView {
                summary,
                geometry,
                svg,
            })
        },
    )
    .await
}
