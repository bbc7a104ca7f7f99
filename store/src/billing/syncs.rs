//! Sync entitlements runs: started (or joined), finished with what changed or why not, and
//! read back; a run its instance abandoned reads as failed.

use super::*;
use crate::args;

const SYNC_SQL: &str = "SELECT id, source, started_at, finished_at, status, error_code, \
     error_message, changes FROM entitlement_syncs";

/// A run as stored (`SYNC_SQL`'s row): its source as a key, its changes as JSON.
#[derive(sqlx::FromRow)]
struct SyncRow {
    id: String,
    source: String,
    started_at: i64,
    finished_at: Option<i64>,
    status: String,
    error_code: Option<String>,
    error_message: Option<String>,
    changes: String,
}

fn sync_from(row: &sqlx::any::AnyRow) -> Result<EntitlementSync> {
    let row: SyncRow = crate::db::row_as(row)?;
    let source = match row.source.as_str() {
        "upstream" => EntitlementSourceKind::Upstream,
        _ => EntitlementSourceKind::Operator,
    };
    let changes: Vec<EntitlementChange> =
        serde_json::from_str(&row.changes).map_err(AppError::internal)?;
    Ok(EntitlementSync {
        id: row.id,
        source,
        started_at: row.started_at,
        finished_at: row.finished_at,
        status: row.status,
        error_code: row.error_code,
        error_message: row.error_message,
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
        args![id.clone(), tenant_id.to_string(), source_key(source).to_string(), now],
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
    args![tenant_id.to_string(), now, now - stale_after]
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
            args![tenant_id.to_string(), id.to_string(), status.to_string(), now, code, message, changes],
        )
        .await?;
    if n > 0 && status == "done" {
        tx.execute(
            "UPDATE entitlements SET refreshed_at = $2 WHERE tenant_id = $1",
            args![tenant_id.to_string(), now],
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
            args![tenant_id.to_string(), id.to_string()],
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
