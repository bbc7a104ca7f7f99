//! Connectors: created in the portal with a one-time registration token, registered by their
//! agent for a credential of their own, seen on every message; Down after a silence (the
//! licenses of their LoadMasters enter a 30-day grace period), Up again when they speak.

use crate::args;
use crate::db::{column, optional_as, value, Db, Read, WriteTx};
use crate::events::{Actor, Change};
use crate::licenses::{bulk_set_status, StatusMove};
use crate::{secret, Result};
use bandpool_domain::connector::{
    ConnectorDiagnostics, ConnectorStatus, ConnectorView, DiagnosticsReport, CREDENTIAL_PREFIX,
    REGISTRATION_HOURS, REGISTRATION_PREFIX,
};
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::AppError;
use sqlx::Row;

/// A LoadMaster keeps its license this long after its connector goes silent (the License Repository's grace period).
pub const GRACE_DAYS: i64 = 30;
const DAY: i64 = 86_400;

/// How the event log names the sweeps that move licenses into and out of their grace period.
fn health() -> Actor {
    Actor::system("connector health")
}

/// Who a connector credential belongs to: the connector and its tenant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectorIdentity {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: ConnectorStatus,
    #[sqlx(rename = "ip_address")]
    pub address: Option<String>,
    pub version: Option<String>,
    pub last_seen_at: Option<i64>,
    /// Its diagnostics were asked for and have not arrived since: the heartbeat says so.
    #[sqlx(try_from = "i64")]
    pub diagnostics_due: bool,
}

impl ConnectorIdentity {
    /// How the event log and license history name it.
    pub fn actor(&self) -> Actor {
        Actor::system(&format!("connector {}", self.name))
    }
}

/// A connector waiting for its registration reads as Pending whatever its stored status.
const VIEW_SQL: &str = "SELECT c.id, c.name, \
     CASE WHEN c.registration_hash IS NOT NULL THEN 'pending' ELSE c.status END AS status, c.ip_address, c.version, c.last_seen_at, \
     c.down_since, c.created_at, c.registration_expires_at, c.registration_hash, \
     c.diagnostics_requested_at, c.diagnostics_at, c.diagnostics, \
     (SELECT COUNT(*) FROM licenses l WHERE l.connector_id = c.id \
      AND l.status IN ('active', 'grace_period')) AS licensed \
     FROM connectors c";

pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<ConnectorView>> {
    let rows = db
        .fetch_all(
            &format!("{VIEW_SQL} WHERE c.tenant_id = $1 ORDER BY c.name, c.id"),
            args![tenant_id.to_string()],
        )
        .await?;
    rows.iter().map(with_diagnostics).collect()
}

pub async fn get(db: &Db, tenant_id: &str, id: &str) -> Result<ConnectorView> {
    let sql = format!("{VIEW_SQL} WHERE c.tenant_id = $1 AND c.id = $2");
    let row = db
        .fetch_optional(&sql, args![tenant_id, id])
        .await?
        .ok_or_else(|| AppError::not_found("The connector"))?;
    with_diagnostics(&row)
}

/// A connector's row with its diagnostics (kept as the JSON the agent sent, already checked).
fn with_diagnostics(row: &sqlx::any::AnyRow) -> Result<ConnectorView> {
    let mut view: ConnectorView = crate::db::row_as(row)?;
    let checks: Option<String> = row.try_get("diagnostics")?;
    view.diagnostics = ConnectorDiagnostics {
        requested_at: row.try_get("diagnostics_requested_at")?,
        ran_at: row.try_get("diagnostics_at")?,
        checks: match checks {
            Some(json) => serde_json::from_str(&json).map_err(AppError::internal)?,
            None => Vec::new(),
        },
    };
    Ok(view)
}

/// An Owner or Admin asks for a connector's diagnostics: its agent runs them at its next
/// heartbeat.
pub async fn request_diagnostics(
    tx: &mut WriteTx,
    tenant_id: &str,
    id: &str,
    now: i64,
) -> Result<String> {
    let name: Option<(String,)> = optional_as(
        &mut *tx,
        "SELECT name FROM connectors WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, id],
    )
    .await?;
    let (name,) = name.ok_or_else(|| AppError::not_found("The connector"))?;
    tx.execute(
        "UPDATE connectors SET diagnostics_requested_at = $3 WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, id, now],
    )
    .await?;
    Ok(name)
}

/// The agent's diagnostics arrived: kept, replacing the last.
pub async fn record_diagnostics(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    report: &DiagnosticsReport,
    now: i64,
) -> Result<()> {
    let json = serde_json::to_string(&report.checks).map_err(AppError::internal)?;
    tx.execute(
        "UPDATE connectors SET diagnostics = $2, diagnostics_at = $3 WHERE id = $1",
        args![connector.id.clone(), json, now],
    )
    .await?;
    Ok(())
}

/// A new connector waiting for its agent; returns its id and the registration token (shown
/// once, stored hashed, working for `REGISTRATION_HOURS`).
pub async fn create(
    tx: &mut WriteTx,
    tenant_id: &str,
    name: &str,
    now: i64,
) -> Result<(String, String)> {
    let name = bandpool_domain::names::Name::parse("name", name)?;
    let name = name.as_str();
    let taken = tx
        .fetch_optional(
            "SELECT id FROM connectors WHERE tenant_id = $1 AND LOWER(name) = LOWER($2)",
            args![tenant_id.to_string(), name.to_string()],
        )
        .await?;
    if taken.is_some() {
        return Err(AppError::invalid(
            "name",
            "another connector of this tenant has this name",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let token = secret::generate(REGISTRATION_PREFIX);
    tx.execute(
        "INSERT INTO connectors (id, tenant_id, name, ip_address, status, last_seen_at, created_at, \
         registration_hash, registration_expires_at) \
         VALUES ($1, $2, $3, NULL, 'down', NULL, $4, $5, $6)",
        args![id.clone(), tenant_id.to_string(), name.to_string(), now, secret::hash(&token), now + REGISTRATION_HOURS * 3600],
    )
    .await?;
    Ok((id, token))
}

/// An agent exchanges its registration token for its credential (once: the token dies).
pub async fn register(
    db: &Db,
    token: &str,
    version: &str,
    address: Option<&str>,
    now: i64,
) -> Result<(ConnectorIdentity, String)> {
    let credential = secret::generate(CREDENTIAL_PREFIX);
    let mut tx = db.begin_write().await?;
    let taken = tx
        .execute(
            "UPDATE connectors SET credential_hash = $1, registration_hash = NULL, \
             registration_expires_at = NULL, registered_at = $2, status = 'up', last_seen_at = $2, \
             down_since = NULL, version = $3, ip_address = $4 \
             WHERE registration_hash = $5 AND registration_expires_at > $2",
            args![
                secret::hash(&credential),
                now,
                version.to_string(),
                address.map(str::to_string),
                secret::hash(token)
            ],
        )
        .await?;
    if taken != 1 {
        return Err(AppError::InvalidRegistrationToken);
    }
    let identity = authenticate(&mut tx, &credential)
        .await?
        .ok_or_else(|| AppError::internal("a registered connector vanished"))?;
    let detail = format!(
        "agent {version} at {}",
        address.unwrap_or("an unreported address")
    );
    Change::at(&identity.tenant_id, now, &identity.actor())
        .record(&mut tx, "connector_registered", &identity.name, &detail)
        .await?;
    tx.commit().await?;
    Ok((identity, credential))
}

/// A connector as its credential names it; one waiting for its registration reads as Pending.
const IDENTITY_SQL: &str = "SELECT id, tenant_id, name, \
     CASE WHEN registration_hash IS NOT NULL THEN 'pending' ELSE status END AS status, \
     ip_address, version, last_seen_at, \
     CASE WHEN diagnostics_requested_at IS NOT NULL AND (diagnostics_at IS NULL \
     OR diagnostics_at < diagnostics_requested_at) THEN 1 ELSE 0 END AS diagnostics_due \
     FROM connectors";

/// The connector a credential belongs to, if any.
pub async fn authenticate(on: impl Read, credential: &str) -> Result<Option<ConnectorIdentity>> {
    if !credential.starts_with(CREDENTIAL_PREFIX) {
        return Ok(None);
    }
    let sql = format!("{IDENTITY_SQL} WHERE credential_hash = $1");
    optional_as(on, &sql, args![secret::hash(credential)]).await
}

/// What changed when a connector was heard from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// It was Down and is Up again: this many licenses left their grace period.
    pub came_back: Option<usize>,
    /// Its address changed, from the first to the second.
    pub moved: Option<(Option<String>, String)>,
}

/// A connector's status and address as stored, before a message changes them.
#[derive(sqlx::FromRow)]
struct StoredState {
    status: String,
    ip_address: Option<String>,
}

/// A message from the connector arrived: it is alive. Cheap when nothing changed (one
/// UPDATE); when it was Down it comes back Up and its licenses in grace become Active again,
/// each with a history record, in one transaction.
pub async fn seen(
    db: &Db,
    connector: &ConnectorIdentity,
    now: i64,
    address: Option<&str>,
    version: Option<&str>,
) -> Result<Seen> {
    let moved = address.is_some_and(|a| connector.address.as_deref() != Some(a));
    let upgraded = version.is_some_and(|v| connector.version.as_deref() != Some(v));
    if connector.status == ConnectorStatus::Up && !moved && !upgraded {
        if connector.last_seen_at.is_none_or(|at| at < now) {
            db.execute(
                "UPDATE connectors SET last_seen_at = $2 WHERE id = $1 \
                 AND (last_seen_at IS NULL OR last_seen_at < $2)",
                args![connector.id.clone(), now],
            )
            .await?;
        }
        return Ok(Seen::default());
    }
    let mut tx = db.begin_write().await?;
    tx.lock_pool(&connector.tenant_id).await?;
    let stored: StoredState = optional_as(
        &mut tx,
        "SELECT status, ip_address FROM connectors WHERE id = $1",
        args![&connector.id],
    )
    .await?
    .ok_or(AppError::InvalidConnectorCredential)?;
    let (status, old_address) = (stored.status, stored.ip_address);
    let mut seen = Seen::default();
    tx.execute(
        "UPDATE connectors SET status = 'up', down_since = NULL, \
         last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < $2 THEN $2 ELSE last_seen_at END, \
         ip_address = COALESCE($3, ip_address), version = COALESCE($4, version) WHERE id = $1",
        args![connector.id.clone(), now, address.map(str::to_string), version.map(str::to_string)],
    )
    .await?;
    let actor = connector.actor();
    let change = Change::at(&connector.tenant_id, now, &actor);
    if status == "down" {
        let ids = licenses_of(&mut tx, connector, LicenseStatus::GracePeriod).await?;
        let restored = bulk_set_status(
            &mut tx,
            &connector.tenant_id,
            &ids,
            StatusMove {
                from: LicenseStatus::GracePeriod,
                to: LicenseStatus::Active,
                note: &format!(
                    "Connector {} is back online; grace period ended",
                    connector.name
                ),
                now,
                grace_period_end: None,
            },
        )
        .await?;
        let detail = format!(
            "back online; {} license(s) left their grace period",
            restored.len()
        );
        change
            .record(&mut tx, "connector_up", &connector.name, &detail)
            .await?;
        seen.came_back = Some(restored.len());
    }
    if let Some(address) = address {
        if old_address.as_deref() != Some(address) {
            let detail = format!(
                "from {} to {address}; its LoadMasters follow it and keep their licenses",
                old_address.as_deref().unwrap_or("none")
            );
            change
                .record(
                    &mut tx,
                    "connector_address_changed",
                    &connector.name,
                    &detail,
                )
                .await?;
            seen.moved = Some((old_address, address.to_string()));
        }
    }
    tx.commit().await?;
    Ok(seen)
}

async fn licenses_of(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    status: LicenseStatus,
) -> Result<Vec<String>> {
    column(
        tx,
        "SELECT id FROM licenses WHERE tenant_id = $1 AND connector_id = $2 AND status = $3",
        args![&connector.tenant_id, &connector.id, status.key()],
    )
    .await
}

/// A connector the silence sweep found Down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WentDown {
    pub tenant_id: String,
    pub connector_id: String,
    pub name: String,
    pub licenses_in_grace: usize,
    pub grace_period_end: i64,
}

/// Connectors silent for `silence_secs` or more go Down; the Active licenses of their
/// LoadMasters enter a grace period ending `GRACE_DAYS` later. One transaction per
/// connector; running it twice changes nothing the second time.
pub async fn sweep_silent(db: &Db, now: i64, silence_secs: i64) -> Result<Vec<WentDown>> {
    let cutoff = now - silence_secs;
    let silent: Vec<String> = column(
        db,
        "SELECT id FROM connectors WHERE status = 'up' AND registration_hash IS NULL \
         AND credential_hash IS NOT NULL AND last_seen_at <= $1",
        args![cutoff],
    )
    .await?;
    let mut down = Vec::new();
    for id in silent {
        let mut tx = db.begin_write().await?;
        let sql = format!("{IDENTITY_SQL} WHERE id = $1");
        let Some(connector) = optional_as::<ConnectorIdentity>(&mut tx, &sql, args![&id]).await?
        else {
            continue;
        };
        tx.lock_pool(&connector.tenant_id).await?;
        // Heard from since the list was read: not silent after all.
        let changed = tx
            .execute(
                "UPDATE connectors SET status = 'down', down_since = $2 \
                 WHERE id = $1 AND status = 'up' AND last_seen_at <= $3",
                args![id, now, cutoff],
            )
            .await?;
        if changed == 0 {
            continue;
        }
        let grace_end = now + GRACE_DAYS * DAY;
        let ids = licenses_of(&mut tx, &connector, LicenseStatus::Active).await?;
        let moved = bulk_set_status(
            &mut tx,
            &connector.tenant_id,
            &ids,
            StatusMove {
                from: LicenseStatus::Active,
                to: LicenseStatus::GracePeriod,
                note: &format!(
                    "Connector {} went down; {GRACE_DAYS}-day grace period started",
                    connector.name
                ),
                now,
                grace_period_end: Some(grace_end),
            },
        )
        .await?;
        let detail = format!(
            "silent for {silence_secs} s; {} license(s) entered their grace period",
            moved.len()
        );
        Change::at(&connector.tenant_id, now, &health())
            .record(&mut tx, "connector_down", &connector.name, &detail)
            .await?;
        tx.commit().await?;
        down.push(WentDown {
            tenant_id: connector.tenant_id,
            connector_id: connector.id,
            name: connector.name,
            licenses_in_grace: moved.len(),
            grace_period_end: grace_end,
        });
    }
    Ok(down)
}

/// The tenants with a license whose grace period has ended.
pub async fn tenants_with_ended_graces(on: impl Read, now: i64) -> Result<Vec<String>> {
    column(
        on,
        "SELECT DISTINCT tenant_id FROM licenses WHERE status = 'grace_period' \
         AND grace_period_end <= $1",
        args![now],
    )
    .await
}

/// A tenant's licenses whose grace period has ended become Expired and their capacity
/// returns to the pool, in the caller's transaction (with their history and one event).
/// Returns them, `expires_at` being when the grace ended.
pub async fn end_graces(
    tx: &mut WriteTx,
    tenant_id: &str,
    now: i64,
) -> Result<Vec<crate::lifecycle::EndedTerm>> {
    tx.lock_pool(tenant_id).await?;
    let ended: Vec<crate::lifecycle::EndedTerm> = crate::db::rows_as(
        &tx.fetch_all(
            "SELECT id, device_name, ip_address, serial_no, license_name, kind, status, \
             bandwidth_mbps, grace_period_end AS expires_at FROM licenses WHERE tenant_id = $1 \
             AND status = 'grace_period' AND grace_period_end <= $2 ORDER BY grace_period_end, id",
            args![tenant_id, now],
        )
        .await?,
    )?;
    let ids: Vec<String> = ended.iter().map(|e| e.id.clone()).collect();
    let moved = bulk_set_status(
        tx,
        tenant_id,
        &ids,
        StatusMove {
            from: LicenseStatus::GracePeriod,
            to: LicenseStatus::Expired,
            note: "Grace period ended; the license expired and its capacity returned to the pool",
            now,
            grace_period_end: None,
        },
    )
    .await?;
    if !moved.is_empty() {
        let target = format!("{} license(s)", moved.len());
        let detail = "grace period ended; capacity returned to the pool";
        Change::at(tenant_id, now, &health())
            .record(tx, "licenses_expired", &target, detail)
            .await?;
    }
    Ok(ended
        .into_iter()
        .filter(|e| moved.contains(&e.id))
        .collect())
}

/// Licenses whose grace period has ended become Expired, and their capacity returns to the
/// pool; one transaction per tenant. Returns (tenant, how many) for each tenant touched.
pub async fn sweep_grace(db: &Db, now: i64) -> Result<Vec<(String, usize)>> {
    let mut expired = Vec::new();
    for tenant_id in tenants_with_ended_graces(db, now).await? {
        let mut tx = db.begin_write().await?;
        let ended = end_graces(&mut tx, &tenant_id, now).await?;
        tx.commit().await?;
        if !ended.is_empty() {
            expired.push((tenant_id, ended.len()));
        }
    }
    Ok(expired)
}

/// Idempotency keys older than this are forgotten (a replay after a week is a new message).
pub const KEEP_MESSAGES_DAYS: i64 = 7;

pub async fn forget_old_messages(db: &Db, now: i64) -> Result<u64> {
    db.execute(
        "DELETE FROM connector_messages WHERE received_at < $1",
        args![now - KEEP_MESSAGES_DAYS * DAY],
    )
    .await
}

/// A connector by id (as its credential would find it).
pub async fn by_id(db: &Db, id: &str) -> Result<ConnectorIdentity> {
    let sql = format!("{IDENTITY_SQL} WHERE id = $1");
    crate::db::find_as(db, "The connector", &sql, args![id]).await
}

/// How many connectors are in one stored status.
#[derive(sqlx::FromRow)]
struct StatusCount {
    status: String,
    n: i64,
}

/// How many connectors are in each state and how many commands wait for an answer, across
/// every tenant (for `/metrics`).
pub async fn fleet(db: &Db) -> Result<(Vec<(String, i64)>, i64)> {
    let states: Vec<(String, i64)> = db
        .fetch_all_as::<StatusCount>(
            "SELECT status, COUNT(*) AS n FROM connectors GROUP BY status ORDER BY status",
            vec![],
        )
        .await?
        .into_iter()
        .map(|row| (row.status, row.n))
        .collect();
    let queued = value(
        db,
        "SELECT COUNT(*) FROM connector_commands WHERE acked_at IS NULL",
        vec![],
    )
    .await?;
    Ok((states, queued))
}
