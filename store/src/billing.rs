//! Usage and billing: a tenant's entitlement (with the pool's capacity and LoadMaster limit
//! from `pools`), its add-ons, Sync entitlements runs, Virtual Services and the applications
//! they are mapped to, and the page's overview. Writes that change a limit or a mapping lock
//! the pool row first, so an application never takes a 16th Virtual Service and a capacity
//! change never interleaves with an activation.

use crate::db::{Db, Value, WriteTx};
use crate::Result;
use bandpool_domain::billing::{
    AddOn, ApplicationPage, ApplicationUsage, AssetDevice, Entitlement, EntitlementChange,
    EntitlementSourceKind, EntitlementSync, SubscriptionStatus, Usage, UsageOverview,
    VirtualService, PER_PAGE_CHOICES, VIRTUAL_SERVICE_LIMIT,
};
use bandpool_domain::AppError;
use sqlx::Row;

const ENTITLEMENT_SQL: &str = "SELECT e.owner_name, e.progress_id, e.order_id, e.plan, e.pooled, \
     e.base_assets, e.virtual_service_limit, e.status, e.activated_at, e.bill_at, e.next_bill_at, \
     p.max_capacity_mbps, p.loadmaster_limit \
     FROM entitlements e JOIN pools p ON p.tenant_id = e.tenant_id WHERE e.tenant_id = $1";

fn status_of(key: &str) -> Result<SubscriptionStatus> {
    SubscriptionStatus::from_key(key)
        .ok_or_else(|| AppError::internal(format!("unknown subscription status {key}")))
}

fn entitlement_from(row: &sqlx::any::AnyRow, add_ons: Vec<AddOn>) -> Result<Entitlement> {
    Ok(Entitlement {
        owner_name: row.try_get("owner_name")?,
        progress_id: row.try_get("progress_id")?,
        order_id: row.try_get("order_id")?,
        plan: row.try_get("plan")?,
        pooled: row.try_get::<i64, _>("pooled")? != 0,
        base_assets: row.try_get("base_assets")?,
        add_ons,
        virtual_service_limit: row.try_get("virtual_service_limit")?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        activated_at: row.try_get("activated_at")?,
        bill_at: row.try_get("bill_at")?,
        next_bill_at: row.try_get("next_bill_at")?,
        max_capacity_mbps: row.try_get("max_capacity_mbps")?,
        loadmaster_limit: row.try_get("loadmaster_limit")?,
    })
}

const ADD_ONS_SQL: &str = "SELECT description, quantity, status, activated_at, bill_at \
     FROM entitlement_add_ons WHERE tenant_id = $1 ORDER BY position";

fn add_on_from(row: &sqlx::any::AnyRow) -> Result<AddOn> {
    Ok(AddOn {
        description: row.try_get("description")?,
        quantity: row.try_get("quantity")?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        activated_at: row.try_get("activated_at")?,
        bill_at: row.try_get("bill_at")?,
    })
}

fn tenant(tenant_id: &str) -> Vec<Value> {
    vec![Value::Text(tenant_id.to_string())]
}

/// The tenant's entitlement as it applies now.
pub async fn entitlement(db: &Db, tenant_id: &str) -> Result<Entitlement> {
    let row = db
        .fetch_optional(ENTITLEMENT_SQL, tenant(tenant_id))
        .await?
        .ok_or_else(|| AppError::not_found("The entitlement"))?;
    let add_ons = db
        .fetch_all(ADD_ONS_SQL, tenant(tenant_id))
        .await?
        .iter()
        .map(add_on_from)
        .collect::<Result<Vec<_>>>()?;
    entitlement_from(&row, add_ons)
}

async fn entitlement_in(tx: &mut WriteTx, tenant_id: &str) -> Result<Entitlement> {
    let row = tx
        .fetch_optional(ENTITLEMENT_SQL, tenant(tenant_id))
        .await?
        .ok_or_else(|| AppError::not_found("The entitlement"))?;
    let add_ons = tx
        .fetch_all(ADD_ONS_SQL, tenant(tenant_id))
        .await?
        .iter()
        .map(add_on_from)
        .collect::<Result<Vec<_>>>()?;
    entitlement_from(&row, add_ons)
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
    let before = entitlement_in(tx, tenant_id).await?;
    let changes = next.changes_from(&before);
    if changes.is_empty() {
        return Ok(changes);
    }
    tx.execute(
        "UPDATE entitlements SET owner_name = $2, progress_id = $3, order_id = $4, plan = $5, \
         pooled = $6, base_assets = $7, virtual_service_limit = $8, status = $9, \
         activated_at = $10, bill_at = $11, next_bill_at = $12, updated_at = $13 WHERE tenant_id = $1",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(next.owner_name.trim().to_string()),
            Value::Text(next.progress_id.trim().to_string()),
            Value::Text(next.order_id.trim().to_string()),
            Value::Text(next.plan.trim().to_string()),
            Value::Int(i64::from(next.pooled)),
            Value::Int(next.base_assets),
            Value::Int(next.virtual_service_limit),
            Value::Text(next.status.key().to_string()),
            Value::OptInt(next.activated_at),
            Value::OptInt(next.bill_at),
            Value::OptInt(next.next_bill_at),
            Value::Int(now),
        ],
    )
    .await?;
    tx.execute(
        "UPDATE pools SET max_capacity_mbps = $2, loadmaster_limit = $3 WHERE tenant_id = $1",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Int(next.max_capacity_mbps),
            Value::Int(next.loadmaster_limit),
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
            vec![
                Value::Text(uuid::Uuid::new_v4().to_string()),
                Value::Text(tenant_id.to_string()),
                Value::Int(position as i64),
                Value::Text(add_on.description.trim().to_string()),
                Value::Int(add_on.quantity),
                Value::Text(add_on.status.key().to_string()),
                Value::OptInt(add_on.activated_at),
                Value::OptInt(add_on.bill_at),
            ],
        )
        .await?;
    }
    Ok(changes)
}

// ---- Sync entitlements ----

const SYNC_SQL: &str = "SELECT id, source, started_at, finished_at, status, error_code, \
     error_message, changes FROM entitlement_syncs";

fn sync_from(row: &sqlx::any::AnyRow) -> Result<EntitlementSync> {
    let source = match row.try_get::<String, _>("source")?.as_str() {
        "upstream" => EntitlementSourceKind::Upstream,
        _ => EntitlementSourceKind::Operator,
    };
    let changes: Vec<EntitlementChange> =
        serde_json::from_str(&row.try_get::<String, _>("changes")?).map_err(AppError::internal)?;
    Ok(EntitlementSync {
        id: row.try_get("id")?,
        source,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        status: row.try_get("status")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        changes,
    })
}

fn source_key(source: EntitlementSourceKind) -> &'static str {
    match source {
        EntitlementSourceKind::Operator => "operator",
        EntitlementSourceKind::Upstream => "upstream",
    }
}

/// Start a sync, or answer the one already running (a double click starts one). A run left
/// running longer than `stale_after` (its instance stopped) is marked failed first.
/// Returns the run and whether it is new.
pub async fn start_sync(
    tx: &mut WriteTx,
    tenant_id: &str,
    source: EntitlementSourceKind,
    now: i64,
    stale_after: i64,
) -> Result<(EntitlementSync, bool)> {
    tx.lock_pool(tenant_id).await?;
    fail_stale(tx, tenant_id, now, stale_after).await?;
    if let Some(row) = tx
        .fetch_optional(
            &format!(
                "{SYNC_SQL} WHERE tenant_id = $1 AND status = 'running' ORDER BY seq DESC LIMIT 1"
            ),
            tenant(tenant_id),
        )
        .await?
    {
        return Ok((sync_from(&row)?, false));
    }
    let id = uuid::Uuid::new_v4().to_string();
    // The pool row is locked: no other start of this tenant's interleaves with this one.
    tx.execute(
        "INSERT INTO entitlement_syncs (id, tenant_id, seq, source, started_at, status) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM entitlement_syncs WHERE tenant_id = $2), $3, $4, 'running')",
        vec![
            Value::Text(id.clone()),
            Value::Text(tenant_id.to_string()),
            Value::Text(source_key(source).to_string()),
            Value::Int(now),
        ],
    )
    .await?;
    Ok((
        EntitlementSync {
            id,
            source,
            started_at: now,
            finished_at: None,
            status: "running".into(),
            error_code: None,
            error_message: None,
            changes: vec![],
        },
        true,
    ))
}

/// Runs left running longer than `stale_after` (their instance stopped) are marked failed,
/// so a page never waits for them.
pub async fn fail_stale_syncs(db: &Db, tenant_id: &str, now: i64, stale_after: i64) -> Result<()> {
    // Looked for first: a page read writes nothing (and takes no write lock) in the usual case.
    let stale = db
        .fetch_optional(
            "SELECT id FROM entitlement_syncs WHERE tenant_id = $1 AND status = 'running' AND started_at < $3 \
             AND $2 = $2 LIMIT 1",
            stale_values(tenant_id, now, stale_after),
        )
        .await?;
    if stale.is_some() {
        db.execute(STALE_SQL, stale_values(tenant_id, now, stale_after))
            .await?;
    }
    Ok(())
}

const STALE_SQL: &str = "UPDATE entitlement_syncs SET status = 'failed', finished_at = $2, \
     error_code = 'entitlement_source_failed', \
     error_message = 'The licensing service could not be synced: the sync was interrupted before it finished (the portal restarted); start it again' \
     WHERE tenant_id = $1 AND status = 'running' AND started_at < $3";

fn stale_values(tenant_id: &str, now: i64, stale_after: i64) -> Vec<Value> {
    vec![
        Value::Text(tenant_id.to_string()),
        Value::Int(now),
        Value::Int(now - stale_after),
    ]
}

async fn fail_stale(tx: &mut WriteTx, tenant_id: &str, now: i64, stale_after: i64) -> Result<()> {
    tx.execute(STALE_SQL, stale_values(tenant_id, now, stale_after))
        .await?;
    Ok(())
}

/// Finish a run: done (with what changed; Last refreshed moves) or failed (with its code and
/// message; nothing else changes). Finishing a finished run changes nothing.
pub async fn finish_sync(
    tx: &mut WriteTx,
    tenant_id: &str,
    id: &str,
    outcome: std::result::Result<&[EntitlementChange], &AppError>,
    now: i64,
) -> Result<()> {
    let (status, code, message, changes) = match outcome {
        Ok(changes) => (
            "done",
            None,
            None,
            serde_json::to_string(changes).map_err(AppError::internal)?,
        ),
        Err(error) => (
            "failed",
            Some(error.code().to_string()),
            Some(error.to_string()),
            "[]".to_string(),
        ),
    };
    let n = tx
        .execute(
            "UPDATE entitlement_syncs SET status = $3, finished_at = $4, error_code = $5, \
             error_message = $6, changes = $7 WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(id.to_string()),
                Value::Text(status.to_string()),
                Value::Int(now),
                Value::OptText(code),
                Value::OptText(message),
                Value::Text(changes),
            ],
        )
        .await?;
    if n > 0 && status == "done" {
        tx.execute(
            "UPDATE entitlements SET refreshed_at = $2 WHERE tenant_id = $1",
            vec![Value::Text(tenant_id.to_string()), Value::Int(now)],
        )
        .await?;
    }
    Ok(())
}

/// One run of this tenant's.
pub async fn sync(db: &Db, tenant_id: &str, id: &str) -> Result<EntitlementSync> {
    let row = db
        .fetch_optional(
            &format!("{SYNC_SQL} WHERE tenant_id = $1 AND id = $2"),
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(id.to_string()),
            ],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The entitlement sync"))?;
    sync_from(&row)
}

pub async fn latest_sync(db: &Db, tenant_id: &str) -> Result<Option<EntitlementSync>> {
    db.fetch_optional(
        &format!("{SYNC_SQL} WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1"),
        tenant(tenant_id),
    )
    .await?
    .as_ref()
    .map(sync_from)
    .transpose()
}

// ---- the page's figures ----

/// Everything the Usage and billing page shows above the application table.
pub async fn overview(
    db: &Db,
    tenant_id: &str,
    source: EntitlementSourceKind,
) -> Result<UsageOverview> {
    let entitlement = entitlement(db, tenant_id).await?;
    let pool = crate::pool::summary(db, tenant_id).await?;
    let counts = db
        .fetch_one(
            "SELECT (SELECT COUNT(*) FROM applications WHERE tenant_id = $1) AS applications, \
             (SELECT COUNT(*) FROM devices WHERE tenant_id = $1) AS devices, \
             (SELECT refreshed_at FROM entitlements WHERE tenant_id = $1) AS refreshed_at",
            tenant(tenant_id),
        )
        .await?;
    let applications: i64 = counts.try_get("applications")?;
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
        inventory_loadmasters: counts.try_get("devices")?,
        last_refreshed_at: counts.try_get("refreshed_at")?,
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

pub async fn limit_figures(tx: &mut WriteTx, tenant_id: &str) -> Result<LimitFigures> {
    let row = tx
        .fetch_optional(
            "SELECT t.name, p.max_capacity_mbps, p.loadmaster_limit, e.pooled, e.base_assets, \
             (SELECT CAST(COALESCE(SUM(l.bandwidth_mbps), 0) AS BIGINT) FROM licenses l \
              WHERE l.tenant_id = p.tenant_id AND l.status IN ('active', 'grace_period')) AS allocated, \
             (SELECT COUNT(*) FROM licenses l \
              WHERE l.tenant_id = p.tenant_id AND l.status IN ('active', 'grace_period')) AS licensed, \
             (SELECT CAST(COALESCE(SUM(a.quantity), 0) AS BIGINT) FROM entitlement_add_ons a \
              WHERE a.tenant_id = p.tenant_id AND a.status = 'active') AS add_on_assets, \
             (SELECT COUNT(*) FROM applications a WHERE a.tenant_id = p.tenant_id) AS applications \
             FROM pools p JOIN tenants t ON t.id = p.tenant_id JOIN entitlements e ON e.tenant_id = p.tenant_id \
             WHERE p.tenant_id = $1",
            tenant(tenant_id),
        )
        .await?
        .ok_or_else(|| AppError::not_found("The pool"))?;
    let pooled = row.try_get::<i64, _>("pooled")? != 0;
    let applications: i64 = row.try_get("applications")?;
    let devices = if pooled {
        vec![]
    } else {
        tx.fetch_all(
            "SELECT id, ha_partner_id, geo_partner_id FROM devices WHERE tenant_id = $1",
            tenant(tenant_id),
        )
        .await?
        .iter()
        .map(asset_device)
        .collect::<Result<Vec<_>>>()?
    };
    let total_assets =
        row.try_get::<i64, _>("base_assets")? + row.try_get::<i64, _>("add_on_assets")?;
    Ok(LimitFigures {
        tenant_name: row.try_get("name")?,
        capacity: Usage::new(row.try_get("allocated")?, row.try_get("max_capacity_mbps")?),
        loadmasters: Usage::new(row.try_get("licensed")?, row.try_get("loadmaster_limit")?),
        assets: Usage::new(
            bandpool_domain::billing::used_assets(pooled, &devices, applications),
            total_assets,
        ),
    })
}

fn asset_device(row: &sqlx::any::AnyRow) -> Result<AssetDevice> {
    Ok(AssetDevice {
        id: row.try_get("id")?,
        ha_partner_id: row.try_get("ha_partner_id")?,
        geo_partner_id: row.try_get("geo_partner_id")?,
    })
}

async fn asset_devices(db: &Db, tenant_id: &str) -> Result<Vec<AssetDevice>> {
    db.fetch_all(
        "SELECT id, ha_partner_id, geo_partner_id FROM devices WHERE tenant_id = $1",
        tenant(tenant_id),
    )
    .await?
    .iter()
    .map(asset_device)
    .collect()
}

// ---- applications and Virtual Services ----

const APPLICATION_SQL: &str = "SELECT a.id, a.name, \
     (SELECT COUNT(*) FROM virtual_services v WHERE v.application_id = a.id) AS n \
     FROM applications a";

async fn vs_limit(db: &Db, tenant_id: &str) -> Result<i64> {
    Ok(db
        .fetch_optional(
            "SELECT virtual_service_limit FROM entitlements WHERE tenant_id = $1",
            tenant(tenant_id),
        )
        .await?
        .map(|r| r.try_get::<i64, _>("virtual_service_limit"))
        .transpose()?
        .unwrap_or(VIRTUAL_SERVICE_LIMIT))
}

/// One page of Mapped application usage, by name. `per_page` is 10, 20 or 50.
pub async fn applications(
    db: &Db,
    tenant_id: &str,
    page: u32,
    per_page: u32,
) -> Result<ApplicationPage> {
    if !PER_PAGE_CHOICES.contains(&per_page) {
        return Err(AppError::invalid("per_page", "must be 10, 20 or 50"));
    }
    if page == 0 || page > 1_000_000 {
        return Err(AppError::invalid("page", "must be from 1 to 1000000"));
    }
    let total: i64 = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM applications WHERE tenant_id = $1",
            tenant(tenant_id),
        )
        .await?
        .try_get("n")?;
    let quota = vs_limit(db, tenant_id).await?;
    let offset = u64::from(page - 1) * u64::from(per_page);
    let rows = db
        .fetch_all(
            &format!("{APPLICATION_SQL} WHERE a.tenant_id = $1 ORDER BY a.name, a.id LIMIT {per_page} OFFSET {offset}"),
            tenant(tenant_id),
        )
        .await?;
    let applications = rows
        .iter()
        .map(|r| {
            Ok(ApplicationUsage::new(
                r.try_get("id")?,
                r.try_get("name")?,
                r.try_get("n")?,
                quota,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ApplicationPage {
        applications,
        total: total as u64,
        page,
        per_page,
    })
}

/// Every application (the CSV's Assets section).
pub async fn all_applications(db: &Db, tenant_id: &str) -> Result<Vec<ApplicationUsage>> {
    let quota = vs_limit(db, tenant_id).await?;
    db.fetch_all(
        &format!("{APPLICATION_SQL} WHERE a.tenant_id = $1 ORDER BY a.name, a.id"),
        tenant(tenant_id),
    )
    .await?
    .iter()
    .map(|r| {
        Ok(ApplicationUsage::new(
            r.try_get("id")?,
            r.try_get("name")?,
            r.try_get("n")?,
            quota,
        ))
    })
    .collect()
}

/// The tenant's Virtual Services (at most `limit`), unmapped ones first, then by LoadMaster.
pub async fn virtual_services(db: &Db, tenant_id: &str, limit: u32) -> Result<Vec<VirtualService>> {
    db.fetch_all(
        &format!(
            "SELECT v.id, v.name, v.address, d.name AS device_name, a.name AS application \
             FROM virtual_services v JOIN devices d ON d.id = v.device_id \
             LEFT JOIN applications a ON a.id = v.application_id \
             WHERE v.tenant_id = $1 \
             ORDER BY CASE WHEN v.application_id IS NULL THEN 0 ELSE 1 END, d.name, v.address LIMIT {limit}"
        ),
        tenant(tenant_id),
    )
    .await?
    .iter()
    .map(|r| {
        Ok(VirtualService {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            address: r.try_get("address")?,
            device_name: r.try_get("device_name")?,
            application: r.try_get("application")?,
        })
    })
    .collect()
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "must be 1 to 100 characters of text",
        ));
    }
    Ok(name.to_string())
}

async fn name_taken(tx: &mut WriteTx, tenant_id: &str, name: &str) -> Result<bool> {
    Ok(tx
        .fetch_optional(
            "SELECT id FROM applications WHERE tenant_id = $1 AND name = $2",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(name.to_string()),
            ],
        )
        .await?
        .is_some())
}

/// Manual mapping: a new application with these Virtual Services (each unmapped, at most
/// the Virtual Service limit). Returns its id.
pub async fn create_application(
    tx: &mut WriteTx,
    tenant_id: &str,
    name: &str,
    virtual_service_ids: &[String],
    now: i64,
) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let name = check_name(name)?;
    if name_taken(tx, tenant_id, &name).await? {
        return Err(AppError::invalid(
            "name",
            "another application has this name",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO applications (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
        vec![
            Value::Text(id.clone()),
            Value::Text(tenant_id.to_string()),
            Value::Text(name),
            Value::Int(now),
        ],
    )
    .await?;
    for vs in virtual_service_ids {
        map_in(tx, tenant_id, &id, vs).await?;
    }
    Ok(id)
}

/// Add one Virtual Service to an application (refused when it is full or the service is
/// another application's). Mapping it to its own application again changes nothing.
pub async fn map_virtual_service(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: &str,
    virtual_service_id: &str,
) -> Result<()> {
    tx.lock_pool(tenant_id).await?;
    map_in(tx, tenant_id, application_id, virtual_service_id).await
}

async fn map_in(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: &str,
    virtual_service_id: &str,
) -> Result<()> {
    let app = tx
        .fetch_optional(
            &format!("{APPLICATION_SQL} WHERE a.tenant_id = $1 AND a.id = $2"),
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(application_id.to_string()),
            ],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The application"))?;
    let vs = tx
        .fetch_optional(
            "SELECT v.application_id, a.name FROM virtual_services v \
             LEFT JOIN applications a ON a.id = v.application_id WHERE v.tenant_id = $1 AND v.id = $2",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(virtual_service_id.to_string()),
            ],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The Virtual Service"))?;
    match vs.try_get::<Option<String>, _>("application_id")? {
        Some(current) if current == application_id => return Ok(()),
        Some(_) => {
            return Err(AppError::VirtualServiceMapped {
                application: vs.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
            })
        }
        None => {}
    }
    let limit = {
        let row = tx
            .fetch_one(
                "SELECT virtual_service_limit FROM entitlements WHERE tenant_id = $1",
                tenant(tenant_id),
            )
            .await?;
        row.try_get::<i64, _>("virtual_service_limit")?
    };
    if app.try_get::<i64, _>("n")? >= limit {
        return Err(AppError::ApplicationFull { limit });
    }
    tx.execute(
        "UPDATE virtual_services SET application_id = $3 WHERE tenant_id = $1 AND id = $2",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(virtual_service_id.to_string()),
            Value::Text(application_id.to_string()),
        ],
    )
    .await?;
    Ok(())
}

/// Take a Virtual Service out of its application (of `application_id` only, when given).
/// Returns the application's name.
pub async fn unmap_virtual_service(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: Option<&str>,
    virtual_service_id: &str,
) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let row = tx
        .fetch_optional(
            "SELECT a.id, a.name FROM virtual_services v JOIN applications a ON a.id = v.application_id \
             WHERE v.tenant_id = $1 AND v.id = $2",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(virtual_service_id.to_string()),
            ],
        )
        .await?;
    let Some(row) = row else {
        return Err(AppError::not_found("The mapped Virtual Service"));
    };
    let app_id: String = row.try_get("id")?;
    if application_id.is_some_and(|a| a != app_id) {
        return Err(AppError::not_found(
            "The Virtual Service in this application",
        ));
    }
    tx.execute(
        "UPDATE virtual_services SET application_id = NULL WHERE tenant_id = $1 AND id = $2",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(virtual_service_id.to_string()),
        ],
    )
    .await?;
    Ok(row.try_get("name")?)
}

/// Delete an application; its Virtual Services become unmapped. Returns its name.
pub async fn delete_application(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let row = tx
        .fetch_optional(
            "SELECT name FROM applications WHERE tenant_id = $1 AND id = $2",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(id.to_string()),
            ],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The application"))?;
    tx.execute(
        "UPDATE virtual_services SET application_id = NULL WHERE tenant_id = $1 AND application_id = $2",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(id.to_string()),
        ],
    )
    .await?;
    tx.execute(
        "DELETE FROM applications WHERE tenant_id = $1 AND id = $2",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(id.to_string()),
        ],
    )
    .await?;
    Ok(row.try_get("name")?)
}

/// Quick mapping: every unmapped Virtual Service becomes an application of its own, named
/// after it (with its LoadMaster and address when the name is taken). Returns how many.
pub async fn quick_map(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<usize> {
    tx.lock_pool(tenant_id).await?;
    let unmapped = tx
        .fetch_all(
            "SELECT v.id, v.name, v.address, d.name AS device_name FROM virtual_services v \
             JOIN devices d ON d.id = v.device_id \
             WHERE v.tenant_id = $1 AND v.application_id IS NULL ORDER BY d.name, v.address",
            tenant(tenant_id),
        )
        .await?;
    let mut made = 0;
    for row in &unmapped {
        let vs: String = row.try_get("id")?;
        let base: String = row.try_get("name")?;
        let mut name = base.chars().take(100).collect::<String>();
        if name.trim().is_empty() || name_taken(tx, tenant_id, name.trim()).await? {
            let device: String = row.try_get("device_name")?;
            let address: String = row.try_get("address")?;
            name = format!("{base} ({device} {address})")
                .chars()
                .take(100)
                .collect();
        }
        if name_taken(tx, tenant_id, name.trim()).await? {
            continue;
        }
        let app = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO applications (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
            vec![
                Value::Text(app.clone()),
                Value::Text(tenant_id.to_string()),
                Value::Text(name.trim().to_string()),
                Value::Int(now),
            ],
        )
        .await?;
        map_in(tx, tenant_id, &app, &vs).await?;
        made += 1;
    }
    Ok(made)
}

/// A LoadMaster's Virtual Services as its connector reported them: new ones are added
/// (unmapped), gone ones removed (and so leave their application), renamed ones renamed.
pub async fn replace_device_services(
    tx: &mut WriteTx,
    tenant_id: &str,
    device_id: &str,
    services: &[bandpool_domain::connector::ReportedVirtualService],
    now: i64,
) -> Result<()> {
    let existing = tx
        .fetch_all(
            "SELECT id, address, name FROM virtual_services WHERE tenant_id = $1 AND device_id = $2",
            vec![
                Value::Text(tenant_id.to_string()),
                Value::Text(device_id.to_string()),
            ],
        )
        .await?;
    let mut known = std::collections::HashMap::new();
    for row in &existing {
        known.insert(
            row.try_get::<String, _>("address")?,
            (
                row.try_get::<String, _>("id")?,
                row.try_get::<String, _>("name")?,
            ),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for vs in services {
        if !seen.insert(vs.address.clone()) {
            continue;
        }
        match known.get(&vs.address) {
            Some((id, name)) if name != &vs.name => {
                tx.execute(
                    "UPDATE virtual_services SET name = $2 WHERE id = $1",
                    vec![Value::Text(id.clone()), Value::Text(vs.name.clone())],
                )
                .await?;
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO virtual_services (id, tenant_id, device_id, name, address, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    vec![
                        Value::Text(uuid::Uuid::new_v4().to_string()),
                        Value::Text(tenant_id.to_string()),
                        Value::Text(device_id.to_string()),
                        Value::Text(vs.name.clone()),
                        Value::Text(vs.address.clone()),
                        Value::Int(now),
                    ],
                )
                .await?;
            }
        }
    }
    for (address, (id, _)) in known {
        if !seen.contains(&address) {
            tx.execute(
                "DELETE FROM virtual_services WHERE id = $1",
                vec![Value::Text(id)],
            )
            .await?;
        }
    }
    Ok(())
}
