//! Automatic reporting's records: each metered tenant's settings and reporting grace, and the
//! uploads of its periods (pending until the vendor's service takes them, with their
//! attempts and last error).

use crate::args;
use crate::db::{Db, Read, WriteTx};
use crate::Result;
use bandpool_domain::metered_reporting::{ReportingSettings, UploadAttempt};
use bandpool_domain::Flag;

/// A tenant's reporting row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reporting {
    pub tenant_id: String,
    #[sqlx(try_from = "Flag")]
    pub upload: bool,
    #[sqlx(try_from = "Flag")]
    pub email: bool,
    pub bcc: String,
    pub grace_from: i64,
    pub warned_at_days: Option<i64>,
    pub lapsed_at: Option<i64>,
    /// The last month whose report was emailed.
    pub emailed_month: Option<String>,
}

const COLUMNS: &str =
    "tenant_id, upload, email, bcc, grace_from, warned_at_days, lapsed_at, emailed_month";

/// Every tenant with a metered contract gets its reporting row (the grace starting `now`):
/// a new contract begins its countdown here.
pub async fn ensure_all(db: &Db, now: i64) -> Result<()> {
    db.execute(
        "INSERT INTO metered_reporting (tenant_id, grace_from, updated_at) \
         SELECT c.tenant_id, $1, $1 FROM metered_contracts c WHERE NOT EXISTS \
         (SELECT 1 FROM metered_reporting r WHERE r.tenant_id = c.tenant_id)",
        args![now],
    )
    .await?;
    Ok(())
}

/// Every tenant's reporting row (the sweep's list).
pub async fn all(db: &Db) -> Result<Vec<Reporting>> {
    let on = db;
    let rows = on
        .fetch_all(
            &format!("SELECT {COLUMNS} FROM metered_reporting ORDER BY tenant_id"),
            vec![],
        )
        .await?;
    crate::db::rows_as(&rows)
}

/// The tenant's reporting row; none for a tenant without a metered contract that never had
/// one.
pub async fn get(on: impl Read, tenant_id: &str) -> Result<Option<Reporting>> {
    crate::db::optional_as(
        on,
        &format!("SELECT {COLUMNS} FROM metered_reporting WHERE tenant_id = $1"),
        args![tenant_id],
    )
    .await
}

/// Apply the Automatic Reporting settings (the row made if it was not yet).
pub async fn set(
    tx: &mut WriteTx,
    tenant_id: &str,
    settings: &ReportingSettings,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO metered_reporting (tenant_id, upload, email, bcc, grace_from, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (tenant_id) DO UPDATE SET \
         upload = excluded.upload, email = excluded.email, bcc = excluded.bcc, \
         updated_at = excluded.updated_at",
        args![
            tenant_id,
            i64::from(settings.upload),
            i64::from(settings.email),
            &settings.bcc,
            now
        ],
    )
    .await?;
    Ok(())
}

/// Queue an upload of `period` unless it is queued or delivered already. Answers whether it
/// was queued now.
pub async fn queue(tx: &mut WriteTx, tenant_id: &str, period: &str, now: i64) -> Result<bool> {
    let queued = tx
        .execute(
            "INSERT INTO metered_report_uploads (tenant_id, period, status, next_attempt_at, created_at) \
             VALUES ($1, $2, 'pending', $3, $3) ON CONFLICT (tenant_id, period) DO NOTHING",
            args![tenant_id, period, now],
        )
        .await?;
    Ok(queued > 0)
}

/// Send `period` again now ("Upload now" of a period sent before, "Retry upload"): pending,
/// due at once. Answers whether there was such an upload.
pub async fn send_again(tx: &mut WriteTx, tenant_id: &str, period: &str, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO metered_report_uploads (tenant_id, period, status, next_attempt_at, created_at) \
         VALUES ($1, $2, 'pending', $3, $3) ON CONFLICT (tenant_id, period) DO UPDATE SET \
         status = 'pending', next_attempt_at = excluded.next_attempt_at",
        args![tenant_id, period, now],
    )
    .await?;
    Ok(())
}

/// The tenant's uploads waiting after a failure: made due now. Answers how many.
pub async fn retry_failed(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<u64> {
    tx.execute(
        "UPDATE metered_report_uploads SET next_attempt_at = $2 \
         WHERE tenant_id = $1 AND status = 'pending' AND attempts > 0",
        args![tenant_id, now],
    )
    .await
}

/// An upload due now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueUpload {
    pub tenant_id: String,
    pub period: String,
    pub attempts: i64,
}

/// Uploads due at `now`, oldest period first, at most `limit`.
pub async fn due(db: &Db, now: i64, limit: u32) -> Result<Vec<DueUpload>> {
    let on = db;
    let rows = on
        .fetch_all(
            "SELECT tenant_id, period, attempts FROM metered_report_uploads \
             WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, tenant_id, period LIMIT $2",
            args![now, i64::from(limit)],
        )
        .await?;
    crate::db::rows_as(&rows)
}

/// The vendor's service took the upload: delivered, and the tenant's grace starts again
/// (its warnings cleared, metered licensing running again if it had stopped).
pub async fn delivered(tx: &mut WriteTx, tenant_id: &str, period: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE metered_report_uploads SET status = 'delivered', attempts = attempts + 1, \
         last_attempt_at = $3, delivered_at = $3, last_error = NULL, next_attempt_at = NULL \
         WHERE tenant_id = $1 AND period = $2",
        args![tenant_id, period, now],
    )
    .await?;
    tx.execute(
        "UPDATE metered_reporting SET grace_from = $2, warned_at_days = NULL, lapsed_at = NULL \
         WHERE tenant_id = $1",
        args![tenant_id, now],
    )
    .await?;
    Ok(())
}

/// How many times `period` has been tried.
pub async fn attempts(tx: &mut WriteTx, tenant_id: &str, period: &str) -> Result<i64> {
    let found: Option<(i64,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT attempts FROM metered_report_uploads WHERE tenant_id = $1 AND period = $2",
        args![tenant_id, period],
    )
    .await?;
    Ok(found.map(|(n,)| n).unwrap_or(0))
}

/// An attempt failed: counted, its reason kept, the next one at `next_attempt_at`.
pub async fn failed(
    tx: &mut WriteTx,
    tenant_id: &str,
    period: &str,
    reason: &str,
    now: i64,
    next_attempt_at: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE metered_report_uploads SET attempts = attempts + 1, last_attempt_at = $3, \
         last_error = $4, next_attempt_at = $5 WHERE tenant_id = $1 AND period = $2 \
         AND status = 'pending'",
        args![tenant_id, period, now, reason, next_attempt_at],
    )
    .await?;
    Ok(())
}

const ATTEMPT_COLUMNS: &str =
    "period, attempts, last_attempt_at, delivered_at, next_attempt_at, last_error";

/// The tenant's last delivered upload, and the newest one failing.
pub async fn latest(
    db: &Db,
    tenant_id: &str,
) -> Result<(Option<UploadAttempt>, Option<UploadAttempt>)> {
    let success = crate::db::optional_as(
        db,
        &format!(
            "SELECT {ATTEMPT_COLUMNS} FROM metered_report_uploads WHERE tenant_id = $1 \
             AND status = 'delivered' ORDER BY delivered_at DESC, period DESC LIMIT 1"
        ),
        args![tenant_id],
    )
    .await?;
    let failing = crate::db::optional_as(
        db,
        &format!(
            "SELECT {ATTEMPT_COLUMNS} FROM metered_report_uploads WHERE tenant_id = $1 \
             AND status = 'pending' AND attempts > 0 ORDER BY last_attempt_at DESC, period DESC LIMIT 1"
        ),
        args![tenant_id],
    )
    .await?;
    Ok((success, failing))
}

/// Claim the monthly email of `month` for the tenant: answers false when it was emailed (or
/// claimed by another instance) already.
pub async fn claim_email(tx: &mut WriteTx, tenant_id: &str, month: &str) -> Result<bool> {
    let claimed = tx
        .execute(
            "UPDATE metered_reporting SET emailed_month = $2 WHERE tenant_id = $1 \
             AND (emailed_month IS NULL OR emailed_month < $2)",
            args![tenant_id, month],
        )
        .await?;
    Ok(claimed > 0)
}

/// Without a reporting service nothing counts down: every grace is held at its start (moved
/// to `now` once an hour, so a service configured later starts from the full count) and
/// every stop lifted.
pub async fn hold_graces(db: &Db, now: i64) -> Result<()> {
    db.execute(
        "UPDATE metered_reporting SET lapsed_at = NULL, warned_at_days = NULL, grace_from = $1 \
         WHERE lapsed_at IS NOT NULL OR warned_at_days IS NOT NULL OR grace_from < $1 - 3600",
        args![now],
    )
    .await?;
    Ok(())
}

/// Record that the warning at `days` left was sent.
pub async fn warned(tx: &mut WriteTx, tenant_id: &str, days: i64) -> Result<()> {
    tx.execute(
        "UPDATE metered_reporting SET warned_at_days = $2 WHERE tenant_id = $1",
        args![tenant_id, days],
    )
    .await?;
    Ok(())
}

/// Metered licensing stopped for the tenant at `now`: answers false when it had already
/// (another instance's sweep came first), so the removal happens once.
pub async fn lapse(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<bool> {
    tx.lock_pool(tenant_id).await?;
    let changed = tx
        .execute(
            "UPDATE metered_reporting SET lapsed_at = $2 WHERE tenant_id = $1 AND lapsed_at IS NULL",
            args![tenant_id, now],
        )
        .await?;
    Ok(changed > 0)
}

/// Remove every metered LoadMaster of the tenant (the reporting grace ran out), in `tx`,
/// which holds the pool's lock: each license is deactivated (back to the pool, a kill queued
/// for its connector so the LoadMaster learns at its next check) and its device forgotten.
/// Answers the connectors to wake and how many were removed.
pub async fn remove_metered(
    tx: &mut WriteTx,
    tenant_id: &str,
    now: i64,
) -> Result<(Vec<String>, usize)> {
    tx.lock_pool(tenant_id).await?;
    let held: Vec<(String, String, Option<String>, Option<String>)> = {
        let rows = tx
            .fetch_all(
                "SELECT l.id, l.serial_no, l.connector_id, d.id AS device_id FROM licenses l \
                 LEFT JOIN devices d ON d.tenant_id = l.tenant_id AND d.serial_no = l.serial_no \
                 WHERE l.tenant_id = $1 AND l.metered = 1 AND l.status IN ('active', 'grace_period') \
                 ORDER BY l.id",
                args![tenant_id],
            )
            .await?;
        crate::db::rows_as(&rows)?
    };
    let mut connectors = Vec::new();
    for (license_id, serial_no, connector_id, device_id) in &held {
        crate::licenses::set_status(
            tx,
            tenant_id,
            license_id,
            bandpool_domain::license::LicenseStatus::Killed,
            "Removed: no metered usage report reached the vendor within the reporting grace",
            now,
            None,
        )
        .await?;
        crate::licensing::remove_device(tx, tenant_id, device_id.as_deref()).await?;
        if let Some(connector_id) = connector_id {
            crate::commands::enqueue(
                tx,
                tenant_id,
                connector_id,
                &bandpool_domain::connector::CommandKind::Kill {
                    license_id: license_id.clone(),
                    serial_no: serial_no.clone(),
                },
                now,
            )
            .await?;
            if !connectors.contains(connector_id) {
                connectors.push(connector_id.clone());
            }
        }
    }
    Ok((connectors, held.len()))
}
