//! Tenants, their pools, and the license-type catalogue.

use crate::args;
use crate::db::{Db, WriteTx};
use crate::Result;
use bandpool_domain::pool::LicenseType;
use bandpool_domain::AppError;
use sqlx::Row;

/// The license types the portal knows. A VLM-10G takes twice the capacity of a VLM-5000.
pub fn catalogue() -> Vec<LicenseType> {
    [
        ("VLM-200", 200, 200),
        ("VLM-500", 500, 500),
        ("VLM-2000", 2_000, 1_000),
        ("VLM-5000", 5_000, 4_000),
        ("VLM-10G", 10_000, 8_000),
        // The trial license's type: the largest Virtual LoadMaster.
        ("VLM-MAX", 10_000, 10_000),
    ]
    .into_iter()
    .map(|(name, bandwidth_mbps, ssl_tps)| LicenseType {
        id: name.to_lowercase(),
        name: name.to_string(),
        bandwidth_mbps,
        ssl_tps,
    })
    .collect()
}

/// Add the catalogue's license types that are missing.
pub async fn ensure_license_types(tx: &mut WriteTx) -> Result<Vec<LicenseType>> {
    let types = catalogue();
    for t in &types {
        tx.execute(
            "INSERT INTO license_types (id, name, bandwidth_mbps, ssl_tps) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
            args![t.id.clone(), t.name.clone(), t.bandwidth_mbps, t.ssl_tps],
        )
        .await?;
    }
    Ok(types)
}

/// A license type of the catalogue as offline licensing offers it: with the SKU it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TypeWithSku {
    pub id: String,
    pub name: String,
    pub sku: String,
}

/// A tenant's name, if it exists.
pub async fn name_of(on: impl crate::db::Read, tenant_id: &str) -> Result<Option<String>> {
    let found: Option<(String,)> = crate::db::optional_as(
        on,
        "SELECT name FROM tenants WHERE id = $1",
        args![tenant_id],
    )
    .await?;
    Ok(found.map(|(name,)| name))
}

/// The tenant named by an operator's request must exist (404 otherwise).
pub async fn require(on: impl crate::db::Read, tenant_id: &str) -> Result<()> {
    match name_of(on, tenant_id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::not_found("The tenant")),
    }
}

/// Every license type, smallest first.
pub async fn license_types(db: &Db) -> Result<Vec<TypeWithSku>> {
    db.fetch_all_as(
        "SELECT id, name, sku FROM license_types ORDER BY bandwidth_mbps, name",
        vec![],
    )
    .await
}

/// Create a tenant with its pool; returns the tenant id.
pub async fn create_tenant(
    tx: &mut WriteTx,
    name: &str,
    max_capacity_mbps: i64,
    loadmaster_limit: i64,
    now: i64,
) -> Result<String> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "must not be empty"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)",
        args![id.clone(), name.trim().to_string(), now],
    )
    .await?;
    tx.execute(
        "INSERT INTO pools (tenant_id, max_capacity_mbps, loadmaster_limit, last_refreshed_at) VALUES ($1, $2, $3, $4)",
        args![id.clone(), max_capacity_mbps, loadmaster_limit, now],
    )
    .await?;
    tx.execute(
        "INSERT INTO entitlements (tenant_id, activated_at, updated_at) VALUES ($1, $2, $2)",
        args![id.clone(), now],
    )
    .await?;
    Ok(id)
}

pub async fn count_tenants(db: &Db) -> Result<i64> {
    let row = db
        .fetch_optional("SELECT COUNT(*) AS n FROM tenants", vec![])
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>("n"))
        .transpose()?
        .unwrap_or(0))
}

/// The tenant of this name, if one has it (the oldest when several do).
pub async fn tenant_id_named(db: &Db, name: &str) -> Result<Option<String>> {
    crate::db::optional_as::<(String,)>(
        db,
        "SELECT id FROM tenants WHERE name = $1 ORDER BY created_at, id LIMIT 1",
        crate::args![name],
    )
    .await
    .map(|found| found.map(|(id,)| id))
}

/// The oldest tenant (the command line's default).
pub async fn first_tenant_id(db: &Db) -> Result<Option<String>> {
    Ok(db
        .fetch_optional(
            "SELECT id FROM tenants ORDER BY created_at, id LIMIT 1",
            vec![],
        )
        .await?
        .map(|r| r.try_get::<String, _>("id"))
        .transpose()?)
}
