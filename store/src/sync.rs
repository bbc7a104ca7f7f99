//! Sync licenses: one run asks every connected connector for the current state of its
//! LoadMasters (a `sync` command in each queue), collects the answers, and reconciles:
//! killed here but still licensed there (the kill is sent again), licensed there but unknown
//! here (flagged), a status that differs. A run finishes when every connector has answered or
//! its deadline passes (the silent ones are named); then the pool's Last refreshed moves.

use crate::args;
use crate::commands;
use crate::connectors::ConnectorIdentity;
use crate::db::{Db, WriteTx};
use crate::events::{Actor, Change};
use crate::Result;
use bandpool_domain::connector::{
    ApplianceLicense, ApplianceState, CommandKind, Drift, DriftKind, SyncRun,
};
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::AppError;
use sqlx::Row;
use std::collections::HashMap;

/// Start a run for the tenant, or join the one already running. Returns its id.
pub async fn start(
    db: &Db,
    tenant_id: &str,
    actor: &Actor,
    now: i64,
    timeout_secs: i64,
) -> Result<String> {
    let mut tx = db.begin_write().await?;
    tx.lock_pool(tenant_id).await?;
    let running = tx
        .fetch_optional(
            "SELECT id FROM sync_runs WHERE tenant_id = $1 AND finished_at IS NULL \
             AND deadline_at > $2 ORDER BY started_at DESC LIMIT 1",
            args![tenant_id.to_string(), now],
        )
        .await?;
    if let Some(row) = running {
        return Ok(row.try_get("id")?);
    }
    let run_id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO sync_runs (id, tenant_id, started_at, deadline_at) VALUES ($1, $2, $3, $4)",
        args![
            run_id.clone(),
            tenant_id.to_string(),
            now,
            now + timeout_secs.max(1)
        ],
    )
    .await?;
    // Connected: registered and Up. (A Down connector cannot be reached until it returns.)
    let connectors = tx
        .fetch_all(
            "SELECT id, name FROM connectors WHERE tenant_id = $1 AND status = 'up' \
             AND credential_hash IS NOT NULL ORDER BY name",
            args![tenant_id.to_string()],
        )
        .await?;
    for row in &connectors {
        let connector_id: String = row.try_get("id")?;
        let command_id = commands::enqueue(
            &mut tx,
            tenant_id,
            &connector_id,
            &CommandKind::Sync {
                run_id: run_id.clone(),
            },
            now,
        )
        .await?;
        tx.execute(
            "INSERT INTO sync_run_connectors (run_id, connector_id, command_id) VALUES ($1, $2, $3)",
            args![run_id.clone(), connector_id, command_id],
        )
        .await?;
    }
    let asked = format!("{} connector(s)", connectors.len());
    let detail = "asked every connected connector for its LoadMasters";
    Change::at(tenant_id, now, actor)
        .record(&mut tx, "licenses_sync_started", &asked, detail)
        .await?;
    if connectors.is_empty() {
        finish(&mut tx, tenant_id, &run_id, now).await?;
    }
    tx.commit().await?;
    Ok(run_id)
}

/// A connector's answer to a sync command; finishes the run when it was the last one.
pub async fn record_answer(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    run_id: &str,
    appliances: &[ApplianceState],
    now: i64,
) -> Result<()> {
    let open = tx
        .fetch_optional(
            "SELECT r.finished_at FROM sync_runs r JOIN sync_run_connectors c ON c.run_id = r.id \
             WHERE r.id = $1 AND r.tenant_id = $2 AND c.connector_id = $3",
            args![
                run_id.to_string(),
                connector.tenant_id.clone(),
                connector.id.clone()
            ],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The sync run"))?;
    record_virtual_services(tx, connector, appliances, now).await?;
    if open.try_get::<Option<i64>, _>("finished_at")?.is_some() {
        // Too late: the run finished without this connector; its answer is not used.
        return Ok(());
    }
    tx.execute(
        "UPDATE sync_run_connectors SET answered_at = $3, report = $4 \
         WHERE run_id = $1 AND connector_id = $2 AND answered_at IS NULL",
        args![
            run_id.to_string(),
            connector.id.clone(),
            now,
            serde_json::to_string(appliances).map_err(AppError::internal)?
        ],
    )
    .await?;
    let waiting: i64 = crate::db::value(
        &mut *tx,
        "SELECT COUNT(*) FROM sync_run_connectors WHERE run_id = $1 AND answered_at IS NULL",
        args![run_id],
    )
    .await?;
    if waiting == 0 {
        finish(tx, &connector.tenant_id, run_id, now).await?;
    }
    Ok(())
}

/// The Virtual Services each answering LoadMaster reported, for the LoadMasters this
/// connector licensed (any other license id is ignored).
async fn record_virtual_services(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    appliances: &[ApplianceState],
    now: i64,
) -> Result<()> {
    for appliance in appliances {
        let Some(services) = &appliance.virtual_services else {
            continue;
        };
        let device = tx
            .fetch_optional(
                "SELECT device_id FROM licenses WHERE tenant_id = $1 AND connector_id = $2 AND id = $3 \
                 AND status IN ('active', 'grace_period') AND device_id IS NOT NULL",
                args![connector.tenant_id.clone(), connector.id.clone(), appliance.license_id.clone()],
            )
            .await?;
        if let Some(device) = device {
            let device_id: String = device.try_get("device_id")?;
            let services: Vec<_> = services
                .iter()
                .filter(|s| s.is_valid())
                .take(bandpool_domain::connector::ReportedVirtualService::MAX_PER_LOADMASTER)
                .cloned()
                .collect();
            crate::billing::replace_device_services(
                tx,
                &connector.tenant_id,
                &device_id,
                &services,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// A run still open, with its tenant.
#[derive(sqlx::FromRow)]
struct OpenRun {
    id: String,
    tenant_id: String,
}

/// Finish runs whose deadline passed: every tenant's (the sweep), or one tenant's (someone
/// of that tenant reading a run, so a finished run never waits for the sweep).
pub async fn finish_overdue(db: &Db, now: i64, tenant_id: Option<&str>) -> Result<usize> {
    let runs = db
        .fetch_all_as::<OpenRun>(
            "SELECT id, tenant_id FROM sync_runs WHERE finished_at IS NULL AND deadline_at <= $1 \
             AND ($2 = '' OR tenant_id = $2)",
            args![now, tenant_id.unwrap_or("").to_string()],
        )
        .await?;
    let mut finished = 0;
    for run in runs {
        let (run_id, tenant_id) = (run.id, run.tenant_id);
        let mut tx = db.begin_write().await?;
        tx.lock_pool(&tenant_id).await?;
        let still_open = tx
            .fetch_optional(
                "SELECT id FROM sync_runs WHERE id = $1 AND finished_at IS NULL",
                args![run_id.clone()],
            )
            .await?;
        if still_open.is_some() {
            finish(&mut tx, &tenant_id, &run_id, now).await?;
            finished += 1;
        }
        tx.commit().await?;
    }
    Ok(finished)
}

/// A connector asked in a run, with its answer (none while it has not answered).
#[derive(sqlx::FromRow)]
struct Answer {
    connector_id: String,
    name: String,
    report: Option<String>,
}

/// A license as this portal holds it, to compare with a connector's answer.
#[derive(sqlx::FromRow)]
struct HeldHere {
    id: String,
    serial_no: String,
    status: String,
}

/// Reconcile every answer of the run, record the drift, resend kills, move Last refreshed.
async fn finish(tx: &mut WriteTx, tenant_id: &str, run_id: &str, now: i64) -> Result<()> {
    let answers = tx
        .fetch_all(
            "SELECT c.connector_id, n.name, c.answered_at, c.report FROM sync_run_connectors c \
             JOIN connectors n ON n.id = c.connector_id WHERE c.run_id = $1",
            args![run_id.to_string()],
        )
        .await?;
    let mut drift: Vec<(String, Drift)> = Vec::new();
    let mut silent = Vec::new();
    for answer in crate::db::rows_as::<Answer>(&answers)? {
        let (connector_id, name) = (answer.connector_id, answer.name);
        let Some(report) = answer.report else {
            silent.push(name);
            continue;
        };
        let reported: Vec<ApplianceState> =
            serde_json::from_str(&report).map_err(AppError::internal)?;
        let here = tx
            .fetch_all(
                "SELECT id, serial_no, status FROM licenses WHERE tenant_id = $1 AND connector_id = $2",
                args![tenant_id.to_string(), connector_id.clone()],
            )
            .await?;
        let mut known: HashMap<String, (String, LicenseStatus)> = HashMap::new();
        for r in crate::db::rows_as::<HeldHere>(&here)? {
            if let Some(status) = LicenseStatus::from_key(&r.status) {
                known.insert(r.id, (r.serial_no, status));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for appliance in &reported {
            seen.insert(appliance.license_id.clone());
            let licensed_there = appliance.state == ApplianceLicense::Licensed;
            let item = |kind, detail: String| Drift {
                kind,
                connector: Some(name.clone()),
                license_id: Some(appliance.license_id.clone()),
                serial_no: Some(appliance.serial_no.clone()),
                detail,
            };
            match known.get(&appliance.license_id) {
                None if licensed_there => drift.push((
                    connector_id.clone(),
                    item(
                        DriftKind::UnknownHere,
                        "the connector reports a licensed LoadMaster this portal did not license through it".into(),
                    ),
                )),
                None => {}
                Some((_, LicenseStatus::Killed)) if licensed_there => {
                    commands::enqueue(
                        tx,
                        tenant_id,
                        &connector_id,
                        &CommandKind::Kill {
                            license_id: appliance.license_id.clone(),
                            serial_no: appliance.serial_no.clone(),
                        },
                        now,
                    )
                    .await?;
                    drift.push((
                        connector_id.clone(),
                        item(
                            DriftKind::KillResent,
                            "killed here but still licensed there; the kill was sent again".into(),
                        ),
                    ));
                }
                Some((_, status)) if licensed_there && !status.holds_capacity() => drift.push((
                    connector_id.clone(),
                    item(
                        DriftKind::StatusMismatch,
                        format!("{} here, still licensed there", status.label()),
                    ),
                )),
                Some((_, status)) if !licensed_there && status.holds_capacity() => drift.push((
                    connector_id.clone(),
                    item(
                        DriftKind::StatusMismatch,
                        format!("{} here, killed there", status.label()),
                    ),
                )),
                Some(_) => {}
            }
        }
        for (id, (serial, status)) in &known {
            if status.holds_capacity() && !seen.contains(id) {
                drift.push((
                    connector_id.clone(),
                    Drift {
                        kind: DriftKind::StatusMismatch,
                        connector: Some(name.clone()),
                        license_id: Some(id.clone()),
                        serial_no: Some(serial.clone()),
                        detail: format!("{} here, unknown to the connector", status.label()),
                    },
                ));
            }
        }
    }
    for (connector_id, d) in &drift {
        tx.execute(
            "INSERT INTO sync_drift (id, run_id, tenant_id, connector_id, kind, license_id, serial_no, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![uuid::Uuid::new_v4().to_string(), run_id.to_string(), tenant_id.to_string(), Some(connector_id.clone()), d.kind.key().to_string(), d.license_id.clone(), d.serial_no.clone(), d.detail.clone()],
        )
        .await?;
    }
    tx.execute(
        "UPDATE sync_runs SET finished_at = $2 WHERE id = $1",
        args![run_id.to_string(), now],
    )
    .await?;
    tx.execute(
        "UPDATE pools SET last_refreshed_at = $2 WHERE tenant_id = $1",
        args![tenant_id.to_string(), now],
    )
    .await?;
    let detail = format!(
        "{} difference(s) found{}",
        drift.len(),
        if silent.is_empty() {
            String::new()
        } else {
            format!("; no answer in time from {}", silent.join(", "))
        }
    );
    let asked = format!("{} connector(s)", answers.len());
    Change::at(tenant_id, now, &Actor::system("license sync"))
        .record(tx, "licenses_synced", &asked, &detail)
        .await?;
    Ok(())
}

/// A run of the tenant, as the License Repository shows it.
pub async fn get(db: &Db, tenant_id: &str, run_id: &str) -> Result<SyncRun> {
    let mut run: SyncRun = crate::db::find_as(
        db,
        "The sync run",
        "SELECT id, started_at, deadline_at, finished_at FROM sync_runs WHERE tenant_id = $1 AND id = $2",
        args![tenant_id.to_string(), run_id.to_string()],
    )
    .await?;
    run.connectors = db
        .fetch_all_as(
            "SELECT c.connector_id, n.name, c.answered_at FROM sync_run_connectors c \
             JOIN connectors n ON n.id = c.connector_id WHERE c.run_id = $1 ORDER BY n.name",
            args![run_id.to_string()],
        )
        .await?;
    run.drift = db
        .fetch_all_as(
            "SELECT d.kind, n.name, d.license_id, d.serial_no, d.detail FROM sync_drift d \
             LEFT JOIN connectors n ON n.id = d.connector_id WHERE d.run_id = $1 \
             ORDER BY d.kind, d.serial_no",
            args![run_id.to_string()],
        )
        .await?;
    Ok(run)
}

/// The tenant's latest run, if any.
pub async fn latest(db: &Db, tenant_id: &str) -> Result<Option<SyncRun>> {
    let row = db
        .fetch_optional(
            "SELECT id FROM sync_runs WHERE tenant_id = $1 ORDER BY started_at DESC, id LIMIT 1",
            args![tenant_id.to_string()],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(
            get(db, tenant_id, &row.try_get::<String, _>("id")?).await?,
        )),
        None => Ok(None),
    }
}
