//! Current allocation vs maximum capacity, computed from the licenses themselves (never a
//! stored running total that could drift).

use crate::args;
use crate::db::Db;
use crate::Result;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::pool::{PoolSummary, TypeSection};
use std::collections::BTreeMap;

/// What a pool has room for now: its limits, and what its pooled licenses (Active or Grace
/// Period; metered licenses hold no pool capacity) take of them. Read in the transaction that
/// holds the pool's lock, it stays true until that transaction commits. (Activation reads the
/// same sums inside its one facts query.)
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Room {
    pub max_capacity_mbps: i64,
    pub loadmaster_limit: i64,
    /// Pooled licenses in Active or Grace Period: each takes a LoadMaster slot.
    pub holding: i64,
    /// Their bandwidth, Mb/s.
    pub allocated: i64,
}

impl Room {
    /// The capacity not yet allocated.
    pub fn free_mbps(&self) -> i64 {
        (self.max_capacity_mbps - self.allocated).max(0)
    }
}

/// The tenant's pool room (none: the tenant has no pool).
pub async fn room(on: impl crate::db::Read, tenant_id: &str) -> Result<Option<Room>> {
    crate::db::optional_as(
        on,
        "SELECT p.max_capacity_mbps, p.loadmaster_limit, \
         (SELECT COUNT(*) FROM licenses l WHERE l.tenant_id = $1 \
             AND l.status IN ('active', 'grace_period') AND l.metered = 0) AS holding, \
         (SELECT CAST(COALESCE(SUM(l.bandwidth_mbps), 0) AS BIGINT) FROM licenses l \
             WHERE l.tenant_id = $1 AND l.status IN ('active', 'grace_period') AND l.metered = 0) AS allocated \
         FROM pools p WHERE p.tenant_id = $1",
        args![tenant_id],
    )
    .await
}

/// The pool with its tenant's name.
#[derive(sqlx::FromRow)]
struct PoolRow {
    name: String,
    max_capacity_mbps: i64,
    loadmaster_limit: i64,
    last_refreshed_at: Option<i64>,
}

/// The allocation of one license type in one status.
#[derive(sqlx::FromRow)]
struct Allocated {
    license_name: String,
    status: String,
    mbps: i64,
    n: i64,
}

pub async fn summary(db: &Db, tenant_id: &str) -> Result<PoolSummary> {
    let pool: PoolRow = crate::db::find_as(
        db,
        "The pool",
        "SELECT t.name, p.max_capacity_mbps, p.loadmaster_limit, p.last_refreshed_at \
         FROM pools p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1",
        args![tenant_id.to_string()],
    )
    .await?;
    let rows = db
        .fetch_all_as::<Allocated>(
            "SELECT license_name, status, CAST(SUM(bandwidth_mbps) AS BIGINT) AS mbps, COUNT(*) AS n \
             FROM licenses WHERE tenant_id = $1 AND status IN ('active', 'grace_period') \
             AND metered = 0 GROUP BY license_name, status",
            args![tenant_id.to_string()],
        )
        .await?;
    let mut sections: BTreeMap<String, TypeSection> = BTreeMap::new();
    for row in rows {
        let name = row.license_name;
        let section = sections.entry(name.clone()).or_insert(TypeSection {
            license_type: name,
            allocated_mbps: 0,
            active_licenses: 0,
            grace_period_licenses: 0,
        });
        section.allocated_mbps += row.mbps;
        match LicenseStatus::from_key(&row.status) {
            Some(LicenseStatus::GracePeriod) => section.grace_period_licenses += row.n as u64,
            _ => section.active_licenses += row.n as u64,
        }
    }
    Ok(PoolSummary::new(
        pool.name,
        pool.max_capacity_mbps,
        pool.loadmaster_limit,
        sections.into_values().collect(),
        pool.last_refreshed_at,
    ))
}
