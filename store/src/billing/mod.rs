//! Usage and billing: a tenant's entitlement (with the pool's capacity and LoadMaster limit
//! from `pools`), its add-ons, Sync entitlements runs, Virtual Services and the applications
//! they are mapped to, and the page's overview. Writes that change a limit or a mapping lock
//! the pool row first, so an application never takes a 16th Virtual Service and a capacity
//! change never interleaves with an activation.

use crate::db::{Db, Read, Value, WriteTx};
use crate::Result;
use bandpool_domain::billing::{
    ApplicationPage, ApplicationUsage, AssetDevice, Entitlement, EntitlementChange,
    EntitlementSourceKind, EntitlementSync, Usage, UsageOverview, VirtualService, PER_PAGE_CHOICES,
    VIRTUAL_SERVICE_LIMIT,
};
use bandpool_domain::AppError;
use sqlx::Row;

mod applications;
mod overview;
mod syncs;

use crate::args;
pub use applications::*;
pub use overview::*;
pub use syncs::*;

const ENTITLEMENT_SQL: &str = "SELECT e.owner_name, e.progress_id, e.order_id, e.plan, e.pooled, \
     e.base_assets, e.virtual_service_limit, e.status, e.activated_at, e.bill_at, e.next_bill_at, \
     p.max_capacity_mbps, p.loadmaster_limit \
     FROM entitlements e JOIN pools p ON p.tenant_id = e.tenant_id WHERE e.tenant_id = $1";

const ADD_ONS_SQL: &str = "SELECT description, quantity, status, activated_at, bill_at \
     FROM entitlement_add_ons WHERE tenant_id = $1 ORDER BY position";

fn tenant(tenant_id: &str) -> Vec<Value> {
    args![tenant_id.to_string()]
}

/// The tenant's entitlement as it applies now (on the pool, or inside the transaction that
/// is about to change it).
pub async fn entitlement(mut on: impl Read, tenant_id: &str) -> Result<Entitlement> {
    let mut entitlement: Entitlement = crate::db::find_as(
        &mut on,
        "The entitlement",
        ENTITLEMENT_SQL,
        tenant(tenant_id),
    )
    .await?;
    entitlement.add_ons = crate::db::rows_as(&on.fetch_all(ADD_ONS_SQL, tenant(tenant_id)).await?)?;
    Ok(entitlement)
}

/// Make `next` the tenant's entitlement (an operator's record or an upstream pull), with the
/// pool's capacity and LoadMaster limit. Returns what changed. A capacity below the current
/// allocation is applied as a number only: no license is killed (the pages show an alert).
pub async fn apply_entitlement(
    tx: &mut WriteTx,
    tenant_id: &str,
    next: &Entitlement,
    now: i64,
) -> Result<Vec<EntitlementChange>> {
    next.validate()?;
    tx.lock_pool(tenant_id).await?;
    let before = entitlement(&mut *tx, tenant_id).await?;
    let changes = next.changes_from(&before);
    if changes.is_empty() {
        return Ok(changes);
    }
    tx.execute(
        "UPDATE entitlements SET owner_name = $2, progress_id = $3, order_id = $4, plan = $5, \
         pooled = $6, base_assets = $7, virtual_service_limit = $8, status = $9, \
         activated_at = $10, bill_at = $11, next_bill_at = $12, updated_at = $13 WHERE tenant_id = $1",
        args![tenant_id.to_string(), next.owner_name.trim().to_string(), next.progress_id.trim().to_string(), next.order_id.trim().to_string(), next.plan.trim().to_string(), i64::from(next.pooled), next.base_assets, next.virtual_service_limit, next.status.key().to_string(), next.activated_at, next.bill_at, next.next_bill_at, now],
    )
    .await?;
    tx.execute(
        "UPDATE pools SET max_capacity_mbps = $2, loadmaster_limit = $3 WHERE tenant_id = $1",
        args![
            tenant_id.to_string(),
            next.max_capacity_mbps,
            next.loadmaster_limit
        ],
    )
    .await?;
    tx.execute(
        "DELETE FROM entitlement_add_ons WHERE tenant_id = $1",
        tenant(tenant_id),
    )
    .await?;
    for (position, add_on) in next.add_ons.iter().enumerate() {
        tx.execute(
            "INSERT INTO entitlement_add_ons (id, tenant_id, position, description, quantity, status, activated_at, bill_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![uuid::Uuid::new_v4().to_string(), tenant_id.to_string(), position as i64, add_on.description.trim().to_string(), add_on.quantity, add_on.status.key().to_string(), add_on.activated_at, add_on.bill_at],
        )
        .await?;
    }
    Ok(changes)
}
