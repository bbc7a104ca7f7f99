//! The LoadMaster device inventory: removing a LoadMaster (refused while it holds a pooled
//! license: kill the license first) and blocking one from taking licenses.

use crate::args;
use crate::db::{Db, WriteTx};
use crate::Result;
pub use bandpool_domain::connector::Device;
use bandpool_domain::AppError;

const DEVICE_SQL: &str =
    "SELECT d.id, d.name, d.ip_address, d.serial_no, d.blocked, c.name AS connector, \
     (SELECT l.id FROM licenses l WHERE l.device_id = d.id AND l.tenant_id = d.tenant_id \
      AND l.status IN ('active', 'grace_period') ORDER BY l.activated_at DESC LIMIT 1) AS pooled \
     FROM devices d LEFT JOIN connectors c ON c.id = d.connector_id";

/// One page of the inventory, by name.
pub async fn list(db: &Db, tenant_id: &str, limit: u32, offset: u64) -> Result<Vec<Device>> {
    db.fetch_all(
        &format!(
            "{DEVICE_SQL} WHERE d.tenant_id = $1 ORDER BY d.name, d.id LIMIT {limit} OFFSET {offset}"
        ),
        args![tenant_id.to_string()],
    )
    .await?
    .iter()
    .map(crate::db::row_as)
    .collect()
}

async fn get_in(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<Device> {
    crate::db::find_as(
        &mut *tx,
        "The LoadMaster",
        &format!("{DEVICE_SQL} WHERE d.tenant_id = $1 AND d.id = $2"),
        args![tenant_id.to_string(), id.to_string()],
    )
    .await
}

/// Remove a LoadMaster from the inventory; refused while it holds a license from the pool.
pub async fn remove(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<Device> {
    tx.lock_pool(tenant_id).await?;
    let device = get_in(tx, tenant_id, id).await?;
    if device.pooled_license_id.is_some() {
        return Err(AppError::DeviceHasPooledLicense);
    }
    tx.execute(
        "DELETE FROM devices WHERE tenant_id = $1 AND id = $2",
        args![tenant_id.to_string(), id.to_string()],
    )
    .await?;
    Ok(device)
}

/// Block (or unblock) a LoadMaster from taking licenses from the pool.
pub async fn set_blocked(
    tx: &mut WriteTx,
    tenant_id: &str,
    id: &str,
    blocked: bool,
) -> Result<Device> {
    tx.execute(
        "UPDATE devices SET blocked = $3 WHERE tenant_id = $1 AND id = $2",
        args![tenant_id.to_string(), id.to_string(), i64::from(blocked)],
    )
    .await?;
    get_in(tx, tenant_id, id).await
}
