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
      AND l.status IN ('active', 'grace_period') ORDER BY l.activated_at DESC LIMIT 1) AS pooled, \
     (SELECT p.serial_no FROM devices p WHERE p.id = d.ha_partner_id) AS ha_partner_serial \
     FROM devices d LEFT JOIN connectors c ON c.id = d.connector_id";

/// One page of the inventory, by name.
pub async fn list(db: &Db, tenant_id: &str, limit: u32, offset: u64) -> Result<Vec<Device>> {
    let mut devices: Vec<Device> = db
        .fetch_all(
            &format!(
                "{DEVICE_SQL} WHERE d.tenant_id = $1 ORDER BY d.name, d.id LIMIT {limit} OFFSET {offset}"
            ),
            args![tenant_id.to_string()],
        )
        .await?
        .iter()
        .map(crate::db::row_as)
        .collect::<Result<_>>()?;
    let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    let mut geo: Vec<(String, String)> = Vec::new();
    for (placeholders, values) in crate::db::in_lists(args![tenant_id.to_string()], &ids) {
        geo.extend(crate::db::rows_as::<(String, String)>(
            &db.fetch_all(
                &format!(
                    "SELECT g.device_id, p.serial_no FROM device_geo_partners g \
                     JOIN devices p ON p.id = g.partner_id WHERE g.tenant_id = $1 \
                     AND g.device_id IN ({placeholders}) ORDER BY p.serial_no"
                ),
                values,
            )
            .await?,
        )?);
    }
    for device in &mut devices {
        device.geo_partner_serials = geo
            .iter()
            .filter(|(id, _)| *id == device.id)
            .map(|(_, serial)| serial.clone())
            .collect();
    }
    Ok(devices)
}

/// Record a LoadMaster's partners (found by serial number in the tenant's inventory; a
/// partner not in it is left out): its HA partner, and its GEO partners (the first also as
/// `geo_partner_id`). Writes nothing when they are as recorded. Returns whether they changed.
pub async fn set_partners(
    tx: &mut WriteTx,
    tenant_id: &str,
    serial_no: &str,
    partners: &bandpool_domain::connector::Partners,
) -> Result<bool> {
    let Some((device_id, ha_now)): Option<(String, Option<String>)> = crate::db::optional_as(
        &mut *tx,
        "SELECT id, ha_partner_id FROM devices WHERE tenant_id = $1 AND serial_no = $2",
        args![tenant_id, serial_no],
    )
    .await?
    else {
        return Ok(false);
    };
    let id_of = async |tx: &mut WriteTx, serial: &str| -> Result<Option<String>> {
        let found: Option<(String,)> = crate::db::optional_as(
            &mut *tx,
            "SELECT id FROM devices WHERE tenant_id = $1 AND serial_no = $2",
            args![tenant_id, serial],
        )
        .await?;
        Ok(found.map(|(id,)| id))
    };
    let ha = match partners.ha_partner_serial.as_deref() {
        Some(serial) => id_of(tx, serial).await?,
        None => None,
    };
    let mut geo = Vec::new();
    for serial in &partners.geo_partner_serials {
        if let Some(id) = id_of(tx, serial).await? {
            geo.push(id);
        }
    }
    let geo_now: Vec<String> = crate::db::column(
        &mut *tx,
        "SELECT partner_id FROM device_geo_partners WHERE device_id = $1 ORDER BY partner_id",
        args![device_id.clone()],
    )
    .await?;
    let mut geo_sorted = geo.clone();
    geo_sorted.sort();
    if ha == ha_now && geo_sorted == geo_now {
        return Ok(false);
    }
    tx.execute(
        "UPDATE devices SET ha_partner_id = $2, geo_partner_id = $3 WHERE id = $1",
        args![device_id.clone(), ha, geo.first().cloned()],
    )
    .await?;
    tx.execute(
        "DELETE FROM device_geo_partners WHERE device_id = $1",
        args![device_id.clone()],
    )
    .await?;
    for partner in geo {
        tx.execute(
            "INSERT INTO device_geo_partners (device_id, partner_id, tenant_id) VALUES ($1, $2, $3)",
            args![device_id.clone(), partner, tenant_id],
        )
        .await?;
    }
    Ok(true)
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

/// An Owner or Admin corrects a LoadMaster's partners: every serial named must be a
/// LoadMaster of the inventory (a refusal names the field). Returns the LoadMaster as it is now.
pub async fn correct_partners(
    tx: &mut WriteTx,
    tenant_id: &str,
    id: &str,
    partners: &bandpool_domain::connector::Partners,
) -> Result<Device> {
    let device = get_in(tx, tenant_id, id).await?;
    let partners = partners.checked(&device.serial_no)?;
    let named = partners
        .ha_partner_serial
        .iter()
        .map(|s| ("ha_partner_serial".to_string(), s))
        .chain(
            partners
                .geo_partner_serials
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("geo_partner_serials[{i}]"), s)),
        );
    for (field, serial) in named {
        let found: Option<(String,)> = crate::db::optional_as(
            &mut *tx,
            "SELECT id FROM devices WHERE tenant_id = $1 AND serial_no = $2",
            args![tenant_id, serial.clone()],
        )
        .await?;
        if found.is_none() {
            return Err(AppError::invalid(
                field,
                format!("no LoadMaster with serial number {serial} is in the inventory"),
            ));
        }
    }
    set_partners(tx, tenant_id, &device.serial_no, &partners).await?;
    let mut device = get_in(tx, tenant_id, id).await?;
    device.geo_partner_serials = partners.geo_partner_serials;
    Ok(device)
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
