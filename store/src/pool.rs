//! Current allocation vs maximum capacity, computed from the licenses themselves (never a
//! stored running total that could drift).

use crate::args;
use crate::db::Db;
use crate::Result;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::pool::{PoolSummary, TypeSection};
use bandpool_domain::AppError;
use sqlx::Row;
use std::collections::BTreeMap;

pub async fn summary(db: &Db, tenant_id: &str) -> Result<PoolSummary> {
    let pool = db
        .fetch_optional(
            "SELECT t.name, p.max_capacity_mbps, p.loadmaster_limit, p.last_refreshed_at \
             FROM pools p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The pool"))?;
    let rows = db
        .fetch_all(
            "SELECT license_name, status, CAST(SUM(bandwidth_mbps) AS BIGINT) AS mbps, COUNT(*) AS n \
             FROM licenses WHERE tenant_id = $1 AND status IN ('active', 'grace_period') \
             GROUP BY license_name, status",
            args![tenant_id.to_string()],
        )
        .await?;
    let mut sections: BTreeMap<String, TypeSection> = BTreeMap::new();
    for row in rows {
        let name: String = row.try_get("license_name")?;
        let status: String = row.try_get("status")?;
        let mbps: i64 = row.try_get("mbps")?;
        let n: i64 = row.try_get("n")?;
        let section = sections.entry(name.clone()).or_insert(TypeSection {
            license_type: name,
            allocated_mbps: 0,
            active_licenses: 0,
            grace_period_licenses: 0,
        });
        section.allocated_mbps += mbps;
        match LicenseStatus::from_key(&status) {
            Some(LicenseStatus::GracePeriod) => section.grace_period_licenses += n as u64,
            _ => section.active_licenses += n as u64,
        }
    }
    Ok(PoolSummary::new(
        pool.try_get("name")?,
        pool.try_get("max_capacity_mbps")?,
        pool.try_get("loadmaster_limit")?,
        sections.into_values().collect(),
        pool.try_get("last_refreshed_at")?,
    ))
}
