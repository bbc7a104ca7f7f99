//! The Usage and billing page's figures, and the figures limit checks compare.

use super::*;

/// The overview's counts (and when the entitlement was last refreshed).
#[derive(sqlx::FromRow)]
struct Counts {
    applications: i64,
    devices: i64,
    /// The last sync that changed nothing or something; before the first, when the operator
    /// last wrote the entitlement (the page's figures are as fresh as that).
    refreshed_at: Option<i64>,
}

/// Everything the Usage and billing page shows above the application table.
pub async fn overview(
    db: &Db,
    tenant_id: &str,
    source: EntitlementSourceKind,
) -> Result<UsageOverview> {
    let entitlement = entitlement(db, tenant_id).await?;
    let pool = crate::pool::summary(db, tenant_id).await?;
    let row = db
        .fetch_one(
            "SELECT (SELECT COUNT(*) FROM applications WHERE tenant_id = $1) AS applications, \
             (SELECT COUNT(*) FROM devices WHERE tenant_id = $1) AS devices, \
             (SELECT COALESCE(refreshed_at, updated_at) FROM entitlements WHERE tenant_id = $1) \
             AS refreshed_at",
            tenant(tenant_id),
        )
        .await?;
    let counts: Counts = crate::db::row_as(&row)?;
    let applications = counts.applications;
    let devices = if entitlement.pooled {
        vec![]
    } else {
        asset_devices(db, tenant_id).await?
    };
    let used = bandpool_domain::billing::used_assets(entitlement.pooled, &devices, applications);
    let total_assets = entitlement.total_assets();
    Ok(UsageOverview {
        tenant_name: pool.tenant_name.clone(),
        total_assets,
        assets: Usage::new(used, total_assets),
        capacity: Usage::new(pool.allocated_mbps, pool.max_capacity_mbps),
        loadmasters: Usage::new(pool.loadmasters as i64, pool.loadmaster_limit),
        mapped_applications: applications,
        inventory_loadmasters: counts.devices,
        last_refreshed_at: counts.refreshed_at,
        latest_sync: latest_sync(db, tenant_id).await?,
        entitlement,
        source,
    })
}

/// The three figures whose limits are watched, read inside the caller's write transaction
/// (which holds the pool lock, so no change commits while they are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitFigures {
    pub tenant_name: String,
    pub capacity: Usage,
    pub loadmasters: Usage,
    pub assets: Usage,
}

/// The figures `limit_figures` reads in one row.
#[derive(sqlx::FromRow)]
struct FiguresRow {
    name: String,
    max_capacity_mbps: i64,
    loadmaster_limit: i64,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    pooled: bool,
    base_assets: i64,
    allocated: i64,
    licensed: i64,
    add_on_assets: i64,
    applications: i64,
}

pub async fn limit_figures(tx: &mut WriteTx, tenant_id: &str) -> Result<LimitFigures> {
    let row: FiguresRow = crate::db::find_as(
        &mut *tx,
        "The pool",
        "SELECT t.name, p.max_capacity_mbps, p.loadmaster_limit, e.pooled, e.base_assets, \
         (SELECT CAST(COALESCE(SUM(l.bandwidth_mbps), 0) AS BIGINT) FROM licenses l \
          WHERE l.tenant_id = p.tenant_id AND l.status IN ('active', 'grace_period') \
          AND l.metered = 0) AS allocated, \
         (SELECT COUNT(*) FROM licenses l \
          WHERE l.tenant_id = p.tenant_id AND l.status IN ('active', 'grace_period') \
          AND l.metered = 0) AS licensed, \
         (SELECT CAST(COALESCE(SUM(a.quantity), 0) AS BIGINT) FROM entitlement_add_ons a \
          WHERE a.tenant_id = p.tenant_id AND a.status = 'active') AS add_on_assets, \
         (SELECT COUNT(*) FROM applications a WHERE a.tenant_id = p.tenant_id) AS applications \
         FROM pools p JOIN tenants t ON t.id = p.tenant_id JOIN entitlements e ON e.tenant_id = p.tenant_id \
         WHERE p.tenant_id = $1",
        tenant(tenant_id),
    )
    .await?;
    let devices = if row.pooled {
        vec![]
    } else {
        asset_devices(&mut *tx, tenant_id).await?
    };
    let total_assets = row.base_assets + row.add_on_assets;
    Ok(LimitFigures {
        tenant_name: row.name,
        capacity: Usage::new(row.allocated, row.max_capacity_mbps),
        loadmasters: Usage::new(row.licensed, row.loadmaster_limit),
        assets: Usage::new(
            bandpool_domain::billing::used_assets(row.pooled, &devices, row.applications),
            total_assets,
        ),
    })
}

/// The tenant's LoadMasters as asset counting needs them (on the pool, or inside the
/// transaction that holds the pool's lock).
async fn asset_devices(mut on: impl Read, tenant_id: &str) -> Result<Vec<AssetDevice>> {
    let rows = on
        .fetch_all(
            "SELECT id, ha_partner_id, geo_partner_id FROM devices WHERE tenant_id = $1",
            tenant(tenant_id),
        )
        .await?;
    crate::db::rows_as(&rows)
}
