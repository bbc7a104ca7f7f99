//! How licenses are granted, checked and recovered: activation from the pool (atomic: the
//! capacity and LoadMaster-limit checks and the insert share one write transaction that no
//! other grant can interleave with), deactivation, the periodic checks connectors relay, and
//! Kill License. Each message from a connector is remembered by its idempotency key in the
//! same transaction, so a replay changes nothing twice.

use crate::allocation::record_allocation;
use crate::args;
use crate::commands;
use crate::connectors::ConnectorIdentity;
use crate::db::{Db, WriteTx};
use crate::events::{Actor, Change};
use crate::idempotency::{self, check_key, Claim, MessageKey, MessageKind};
use crate::licenses::{get, set_status};
use crate::Result;
use bandpool_domain::activation::{
    decide, ActivationFacts, Ask, Decision, LicenseTypeFacts, PoolFacts,
};
use bandpool_domain::connector::{
    Activation, ActivationRequest, CheckReport, CheckReportResponse, CheckResult, CommandKind,
    Deactivation, DeactivationRequest, KillOutcome, MAX_CHECKS_PER_REPORT,
};
use bandpool_domain::error::Refusal;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::lifecycle::{decide_terms, LicenseKind, Subscription, TRIAL_LICENSE_TYPE};
use bandpool_domain::AppError;
use sqlx::Row;
use std::collections::HashMap;

/// The namespace of license ids made from a connector message (UUID version 5).
const LICENSE_IDS: uuid::Uuid = uuid::Uuid::from_u128(0x6b1d_2c3e_8f4a_4d5b_9c6e_7f80_91a2_b3c4);

fn check_text(name: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(AppError::invalid(
            name,
            format!("must be 1 to {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            name,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Check an activation request's fields before anything is read.
pub fn validate_activation(request: &ActivationRequest) -> Result<()> {
    check_key(&request.idempotency_key)?;
    check_text("serial_no", &request.serial_no, 64)?;
    check_text("device_name", &request.device_name, 100)?;
    check_text("sku", &request.sku, 64)?;
    check_text("license_type_id", &request.license_type_id, 64)?;
    if let Some(order_id) = request.ask.order_id.as_deref() {
        bandpool_domain::lifecycle::check_order_id("order_id", order_id)?;
    }
    if request.ip_address.parse::<std::net::IpAddr>().is_err() {
        return Err(AppError::invalid(
            "ip_address",
            "must be an IPv4 or IPv6 address",
        ));
    }
    Ok(())
}

/// Check a deactivation request's fields before anything is read.
fn validate_deactivation(request: &DeactivationRequest) -> Result<()> {
    check_key(&request.idempotency_key)?;
    check_text("license_id", &request.license_id, 64)?;
    check_text("serial_no", &request.serial_no, 64)
}

/// The license a message is about, if it is this connector's.
#[derive(sqlx::FromRow)]
struct Held {
    id: String,
    serial_no: String,
    #[sqlx(try_from = "String")]
    status: LicenseStatus,
    license_name: String,
    bandwidth_mbps: i64,
    ssl_tps: i64,
    activated_at: i64,
    device_id: Option<String>,
    #[sqlx(try_from = "String")]
    kind: LicenseKind,
    expires_at: Option<i64>,
    license_type_id: String,
    order_ref: Option<String>,
}

const HELD_COLUMNS: &str = "id, serial_no, status, license_name, bandwidth_mbps, ssl_tps, \
     activated_at, device_id, kind, expires_at, license_type_id, order_ref";

impl Held {
    fn activation(&self, subscriptions: Vec<Subscription>) -> Activation {
        Activation {
            license_id: self.id.clone(),
            license_name: self.license_name.clone(),
            bandwidth_mbps: self.bandwidth_mbps,
            ssl_tps: self.ssl_tps,
            status: self.status,
            activated_at: self.activated_at,
            kind: self.kind,
            expires_at: self.expires_at,
            subscriptions,
        }
    }
}

/// The refusal for a tenant without a pool.
fn no_pool() -> AppError {
    AppError::Refused {
        refusal: Refusal::TenantUnlicensed,
        detail: "The tenant has no license pool; ask your vendor to issue one.".into(),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(AppError::internal)
}

/// How a license request reached the portal: a connector relaying a LoadMaster's message, or
/// a member generating offline license text for a LoadMaster with no route to a connector.
/// Both take the same decisions; they differ in who the logs name, in how a repeated message
/// is recognised (a connector's idempotency keys) and in how the LoadMaster proves it holds a
/// license (the connector that issued it, or the access code the text was bound to).
#[derive(Clone)]
pub enum Channel<'a> {
    Connector(&'a ConnectorIdentity),
    Offline {
        tenant_id: &'a str,
        actor: Actor,
        /// The LoadMaster's access code, which the license text binds.
        access_code: &'a str,
    },
}

impl<'a> From<&'a ConnectorIdentity> for Channel<'a> {
    fn from(connector: &'a ConnectorIdentity) -> Channel<'a> {
        Channel::Connector(connector)
    }
}

impl<'a> From<&Channel<'a>> for Channel<'a> {
    fn from(channel: &Channel<'a>) -> Channel<'a> {
        channel.clone()
    }
}

impl Channel<'_> {
    pub fn tenant_id(&self) -> &str {
        match self {
            Channel::Connector(c) => &c.tenant_id,
            Channel::Offline { tenant_id, .. } => tenant_id,
        }
    }

    fn connector_id(&self) -> Option<String> {
        match self {
            Channel::Connector(c) => Some(c.id.clone()),
            Channel::Offline { .. } => None,
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Channel::Connector(c) => c.actor(),
            Channel::Offline { actor, .. } => actor.clone(),
        }
    }

    /// How a license's history says it came: "through connector edge-1".
    fn via(&self) -> String {
        match self {
            Channel::Connector(c) => format!("through connector {}", c.name),
            Channel::Offline { actor, .. } => format!("by offline licensing ({})", actor.label),
        }
    }

    /// What makes a license id from a message key unique to its sender.
    fn scope(&self) -> String {
        match self {
            Channel::Connector(c) => c.id.clone(),
            Channel::Offline { tenant_id, .. } => format!("offline/{tenant_id}"),
        }
    }

    /// The stored fingerprint of the access code (offline only).
    fn access_hash(&self) -> Option<String> {
        match self {
            Channel::Offline { access_code, .. } => Some(crate::secret::hash(access_code)),
            Channel::Connector(_) => None,
        }
    }

    /// A connector's message is claimed by its key; an offline request has no connector to
    /// remember keys for (a form posted twice finds the license it made, by serial number).
    async fn claim(&self, tx: &mut WriteTx, key: &MessageKey<'_>, now: i64) -> Result<Claim> {
        match self {
            Channel::Connector(c) => idempotency::claim(tx, &c.id, key, now).await,
            Channel::Offline { .. } => Ok(Claim::Fresh),
        }
    }

    async fn answer(&self, tx: &mut WriteTx, key: &MessageKey<'_>, answer: &str) -> Result<()> {
        match self {
            Channel::Connector(c) => idempotency::answer(tx, &c.id, key, answer).await,
            Channel::Offline { .. } => Ok(()),
        }
    }

    /// The license this sender may act on: one its connector issued (tenant, connector, id and
    /// serial number all match), or offline, the tenant's license held by that serial number,
    /// refused when it was bound to another access code.
    async fn held(&self, tx: &mut WriteTx, license_id: &str, serial_no: &str) -> Result<Held> {
        let (sql, values) = match self {
            Channel::Connector(c) => (
                format!(
                    "SELECT {HELD_COLUMNS}, access_code_hash FROM licenses WHERE tenant_id = $1 \
                     AND connector_id = $2 AND id = $3 AND serial_no = $4"
                ),
                args![
                    c.tenant_id.clone(),
                    c.id.clone(),
                    license_id.to_string(),
                    serial_no.to_string()
                ],
            ),
            Channel::Offline { tenant_id, .. } => (
                format!(
                    "SELECT {HELD_COLUMNS}, access_code_hash FROM licenses WHERE tenant_id = $1 \
                     AND serial_no = $2 AND status IN ('active', 'grace_period')"
                ),
                args![tenant_id.to_string(), serial_no.to_string()],
            ),
        };
        let row = tx
            .fetch_optional(&sql, values)
            .await?
            .ok_or_else(|| match self {
                Channel::Connector(_) => AppError::not_found(
                    "A license this connector issued with that id and serial number",
                ),
                Channel::Offline { .. } => AppError::not_found(
                    "An Active or Grace Period license of this tenant held by that serial number",
                ),
            })?;
        self.check_access_code(&row)?;
        crate::db::row_as::<Held>(&row)
    }

    /// Offline, a license bound to an access code answers only that code.
    fn check_access_code(&self, row: &sqlx::any::AnyRow) -> Result<()> {
        let stored: Option<String> = row.try_get("access_code_hash")?;
        match (self.access_hash(), stored) {
            (Some(given), Some(stored)) if given != stored => Err(AppError::Refused {
                refusal: Refusal::AccessCodeMismatch,
                detail: "The access code is not the one this LoadMaster's license was issued for; enter the code its Offline Licensing page shows.".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// Everything the activation decision (`bandpool_domain::activation::decide`) looks at, in
/// one query on the transaction that holds the pool's lock.
async fn activation_facts(
    tx: &mut WriteTx,
    tenant: &str,
    request: &ActivationRequest,
    license_type_id: &str,
) -> Result<ActivationFacts> {
    const HOLDING: &str = "status IN ('active', 'grace_period')";
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT p.max_capacity_mbps, p.loadmaster_limit, p.expires_at, e.status AS subscription, \
                 t.id AS type_id, t.name AS type_name, t.sku AS type_sku, t.bandwidth_mbps, t.ssl_tps, \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM devices d WHERE d.tenant_id = $1 \
                     AND d.serial_no = $2 AND d.blocked = 1) THEN 1 ELSE 0 END AS BIGINT) AS blocked, \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM license_types k WHERE k.sku = $3) \
                     THEN 1 ELSE 0 END AS BIGINT) AS sku_known, \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM licenses l WHERE l.tenant_id = $1 \
                     AND l.serial_no = $2 AND l.{HOLDING}) THEN 1 ELSE 0 END AS BIGINT) AS held, \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM licenses l WHERE l.tenant_id = $1 \
                     AND l.ip_address = $5 AND l.{HOLDING} AND l.serial_no <> $2) \
                     THEN 1 ELSE 0 END AS BIGINT) AS ip_taken, \
                 (SELECT COUNT(*) FROM licenses l WHERE l.tenant_id = $1 AND l.{HOLDING} \
                     AND l.metered = 0) AS holding, \
                 (SELECT CAST(COALESCE(SUM(l.bandwidth_mbps), 0) AS BIGINT) FROM licenses l \
                     WHERE l.tenant_id = $1 AND l.{HOLDING} AND l.metered = 0) AS allocated \
                 FROM pools p LEFT JOIN entitlements e ON e.tenant_id = p.tenant_id \
                 LEFT JOIN license_types t ON t.id = $4 \
                 WHERE p.tenant_id = $1"
            ),
            args![tenant.to_string(), request.serial_no.clone(), request.sku.clone(), license_type_id.to_string(), request.ip_address.clone()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(ActivationFacts {
            pool: None,
            blocked: false,
            sku_known: false,
            license_type: None,
            held: false,
            ip_taken: false,
            metered: None,
        });
    };
    let facts: FactsRow = crate::db::row_as(&row)?;
    let license_type = match facts.type_id {
        Some(id) => Some(LicenseTypeFacts {
            id,
            name: facts.type_name.unwrap_or_default(),
            sku: facts.type_sku.unwrap_or_default(),
            bandwidth_mbps: facts.bandwidth_mbps.unwrap_or_default(),
            ssl_tps: facts.ssl_tps.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(ActivationFacts {
        pool: Some(facts.pool),
        blocked: facts.blocked,
        sku_known: facts.sku_known,
        license_type,
        held: facts.held,
        ip_taken: facts.ip_taken,
        metered: None,
    })
}

/// The facts query's row: the pool's figures, the flags, and the license type asked for
/// (absent, all its columns NULL, when the pool has no such type).
#[derive(sqlx::FromRow)]
struct FactsRow {
    #[sqlx(flatten)]
    pool: PoolFacts,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    blocked: bool,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    sku_known: bool,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    held: bool,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    ip_taken: bool,
    type_id: Option<String>,
    type_name: Option<String>,
    type_sku: Option<String>,
    bandwidth_mbps: Option<i64>,
    ssl_tps: Option<i64>,
}

/// A license a check report names, as the portal holds it.
#[derive(sqlx::FromRow)]
struct Checked {
    id: String,
    serial_no: String,
    #[sqlx(try_from = "String")]
    status: LicenseStatus,
    grace_period_end: Option<i64>,
}

/// A LoadMaster asks, through its connector, for a license of a type from the pool.
/// Returns the license and whether this was a replay (or the LoadMaster already held one).
pub async fn activate<'a>(
    db: &Db,
    channel: impl Into<Channel<'a>>,
    request: &ActivationRequest,
    now: i64,
) -> Result<(Activation, bool)> {
    validate_activation(request)?;
    let channel = &channel.into();
    let tenant = channel.tenant_id();
    let key = MessageKey::new(MessageKind::Activation, &request.idempotency_key, request)?;
    let mut tx = db.begin_write().await?;
    tx.lock_pool(tenant).await?;
    if let Claim::Replay(answer) = channel.claim(&mut tx, &key, now).await? {
        return Ok((from_json(&answer)?, true));
    }
    let appliance = request
        .appliance
        .as_ref()
        .map(|a| a.checked(now))
        .transpose()?;
    let asked = request.ask.kind.unwrap_or(LicenseKind::Pooled);
    // A trial is always the largest Virtual LoadMaster, whatever type was asked for.
    let license_type_id = match asked {
        LicenseKind::Trial => TRIAL_LICENSE_TYPE,
        _ => request.license_type_id.as_str(),
    };
    let mut facts = activation_facts(&mut tx, tenant, request, license_type_id).await?;
    facts.metered = crate::metered::activation_facts(
        &mut tx,
        tenant,
        &request.serial_no,
        &request.ip_address,
        appliance.as_ref().map(|a| a.mac_address.as_str()),
    )
    .await?;
    let metered = facts.metered.is_some();
    let ask = Ask {
        sku: &request.sku,
        license_type_id,
        ip_address: &request.ip_address,
        appliance: appliance.as_ref(),
    };
    let license_type = match decide(ask, facts, now)? {
        Decision::Grant(license_type) => license_type,
        // The LoadMaster already holds a license: the same answer again, now through this
        // connector (a LoadMaster pointed at a new connector keeps its license).
        Decision::AlreadyHeld => {
            let row = tx
                .fetch_one(
                    &format!(
                        "SELECT {HELD_COLUMNS}, connector_id, access_code_hash FROM licenses WHERE tenant_id = $1 \
                         AND serial_no = $2 AND status IN ('active', 'grace_period')"
                    ),
                    args![tenant.to_string(), request.serial_no.clone()],
                )
                .await?;
            channel.check_access_code(&row)?;
            let held = crate::db::row_as::<Held>(&row)?;
            // No temporary license on top of a temporary one.
            let facts = bandpool_domain::lifecycle::KindFacts {
                held: Some(held.kind),
                ..Default::default()
            };
            if asked.is_temporary() {
                decide_terms(asked, metered, &facts, &held.license_name, now)?;
            }
            // Offline, a license not yet bound to an access code is bound to this one.
            let bound: Option<String> = row.try_get("access_code_hash")?;
            if let (None, Some(hash)) = (bound, channel.access_hash()) {
                tx.execute(
                    "UPDATE licenses SET access_code_hash = $3 WHERE tenant_id = $1 AND id = $2",
                    args![tenant.to_string(), held.id.clone(), hash],
                )
                .await?;
            }
            let via: Option<String> = row.try_get("connector_id")?;
            if let Some(connector_id) = channel.connector_id().filter(|c| via.as_ref() != Some(c)) {
                tx.execute(
                    "UPDATE licenses SET connector_id = $3 WHERE tenant_id = $1 AND id = $2",
                    args![tenant.to_string(), held.id.clone(), connector_id],
                )
                .await?;
            }
            let subscriptions =
                crate::lifecycle::subscriptions_of(&mut tx, tenant, &held.id).await?;
            return answered(tx, channel, &key, held.activation(subscriptions), true).await;
        }
    };
    let LicenseTypeFacts {
        id: type_id,
        name,
        bandwidth_mbps: bandwidth,
        ssl_tps,
        ..
    } = license_type;
    let kind_facts = crate::lifecycle::kind_facts(&mut tx, tenant, request, &type_id).await?;
    let terms = decide_terms(asked, metered, &kind_facts, &name, now)?;
    // The license's id follows from the message (connector and key): a replay whose key
    // the portal no longer remembers makes the same id, and is refused instead of granting
    // a second license.
    let license_id = uuid::Uuid::new_v5(
        &LICENSE_IDS,
        format!("{}/{}", channel.scope(), request.idempotency_key).as_bytes(),
    )
    .to_string();
    let taken: Option<(String,)> = crate::db::optional_as(
        &mut tx,
        "SELECT id FROM licenses WHERE id = $1",
        args![&license_id],
    )
    .await?;
    if taken.is_some() {
        return Err(AppError::Refused {
            refusal: Refusal::LicenseIdUnavailable,
            detail: "This activation was granted once already under the same idempotency key; send a new activation with a new key.".into(),
        });
    }
    let device_id = upsert_device(&mut tx, channel, request, now).await?;
    // Taken while the tenant has a metered contract: the license counts toward metered usage.
    tx.execute(
        "INSERT INTO licenses (id, tenant_id, device_id, device_name, ip_address, serial_no, \
         license_type_id, license_name, status, bandwidth_mbps, ssl_tps, grace_period_end, \
         activated_at, recovered_at, issued_through_portal, connector_id, metered, kind, \
         expires_at, order_ref, access_code_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, NULL, $11, NULL, 1, $12, $13, \
         $14, $15, $16, $17)",
        args![
            license_id.clone(),
            tenant.to_string(),
            device_id,
            request.device_name.trim().to_string(),
            request.ip_address.clone(),
            request.serial_no.clone(),
            type_id.clone(),
            name.clone(),
            bandwidth,
            ssl_tps,
            now,
            channel.connector_id(),
            i64::from(metered),
            terms.kind.key().to_string(),
            terms.expires_at,
            terms.order.clone(),
            channel.access_hash()
        ],
    )
    .await?;
    crate::lifecycle::add_subscriptions(&mut tx, tenant, &license_id, &terms.subscriptions).await?;
    if metered {
        crate::metered::record_activation(
            &mut tx,
            tenant,
            &license_id,
            &name,
            &request.ip_address,
            appliance.as_ref(),
            now,
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO license_history (id, license_id, tenant_id, at, from_status, to_status, note) \
         VALUES ($1, $2, $3, $4, NULL, 'active', $5)",
        args![uuid::Uuid::new_v4().to_string(), license_id.clone(), tenant.to_string(), now, format!(
                "{} {}",
                bandpool_domain::lifecycle::granted_note(&terms, kind_facts.order.as_ref()),
                channel.via()
            )],
    )
    .await?;
    record_allocation(&mut tx, tenant, now).await?;
    let answer = Activation {
        license_id: license_id.clone(),
        license_name: name.clone(),
        bandwidth_mbps: bandwidth,
        ssl_tps,
        status: LicenseStatus::Active,
        activated_at: now,
        kind: terms.kind,
        expires_at: terms.expires_at,
        subscriptions: terms.subscriptions,
    };
    let detail = format!(
        "{name} ({}) for serial {} at {}",
        terms.kind.label(),
        request.serial_no,
        request.ip_address
    );
    Change::at(tenant, now, &channel.actor())
        .record(&mut tx, "license_activated", &request.device_name, &detail)
        .await?;
    answered(tx, channel, &key, answer, false).await
}

/// Remember the activation's key with its answer, and commit: a replay gets this answer.
async fn answered(
    mut tx: WriteTx,
    channel: &Channel<'_>,
    key: &MessageKey<'_>,
    answer: Activation,
    again: bool,
) -> Result<(Activation, bool)> {
    channel.answer(&mut tx, key, &to_json(&answer)?).await?;
    tx.commit().await?;
    Ok((answer, again))
}

/// The LoadMaster in the device inventory, added or brought up to date.
async fn upsert_device(
    tx: &mut WriteTx,
    channel: &Channel<'_>,
    request: &ActivationRequest,
    now: i64,
) -> Result<String> {
    let tenant = channel.tenant_id().to_string();
    let found: Option<(String,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT id FROM devices WHERE tenant_id = $1 AND serial_no = $2",
        args![&tenant, &request.serial_no],
    )
    .await?;
    if let Some((id,)) = found {
        tx.execute(
            "UPDATE devices SET name = $2, ip_address = $3, connector_id = $4 WHERE id = $1",
            args![
                id.clone(),
                request.device_name.trim().to_string(),
                request.ip_address.clone(),
                channel.connector_id()
            ],
        )
        .await?;
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO devices (id, tenant_id, name, ip_address, serial_no, connector_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![id.clone(), tenant, request.device_name.trim().to_string(), request.ip_address.clone(), request.serial_no.clone(), channel.connector_id(), now],
    )
    .await?;
    Ok(id)
}

/// Update License/Owner from the LoadMaster, in one transaction under the pool's lock: the
/// license is renewed from its order, changes type, or moves to another kind and order (a
/// trial or temporary license upgraded to permanent), its subscriptions follow, the pool's
/// allocation and the order's use stay right, and the history and event log record it.
pub async fn update<'a>(
    db: &Db,
    channel: impl Into<Channel<'a>>,
    request: &bandpool_domain::lifecycle::LicenseUpdateRequest,
    now: i64,
) -> Result<bandpool_domain::lifecycle::LicenseUpdate> {
    use bandpool_domain::lifecycle::{update_kind, KindFacts, LicenseUpdate, UPDATE_APPLIED};
    let channel = &channel.into();
    check_key(&request.idempotency_key)?;
    if let Channel::Connector(_) = channel {
        check_text("license_id", &request.license_id, 64)?;
    }
    check_text("serial_no", &request.serial_no, 64)?;
    if let Some(type_id) = &request.license_type_id {
        check_text("license_type_id", type_id, 64)?;
    }
    let named = request
        .ask
        .order_id
        .as_deref()
        .map(|o| bandpool_domain::lifecycle::check_order_id("order_id", o))
        .transpose()?;
    let tenant = channel.tenant_id();
    let key = MessageKey::new(MessageKind::Update, &request.idempotency_key, request)?;
    let mut tx = db.begin_write().await?;
    tx.lock_pool(tenant).await?;
    if let Claim::Replay(answer) = channel.claim(&mut tx, &key, now).await? {
        return from_json(&answer);
    }
    let held = channel
        .held(&mut tx, &request.license_id, &request.serial_no)
        .await?;
    if !held.status.holds_capacity() {
        return Err(AppError::invalid(
            "license_id",
            format!(
                "the license is {}; only an Active or Grace Period license can be updated (activate a new one instead)",
                held.status.label()
            ),
        ));
    }
    let target = update_kind(held.kind, request.ask.kind, named.is_some())?;
    let type_id = request
        .license_type_id
        .clone()
        .unwrap_or_else(|| held.license_type_id.clone());
    #[derive(sqlx::FromRow)]
    struct TypeRow {
        name: String,
        sku: String,
        bandwidth_mbps: i64,
        ssl_tps: i64,
        current_sku: String,
    }
    let found: Option<TypeRow> = crate::db::optional_as(
        &mut tx,
        "SELECT t.name, t.sku, t.bandwidth_mbps, t.ssl_tps, \
         (SELECT c.sku FROM license_types c WHERE c.id = $2) AS current_sku \
         FROM license_types t WHERE t.id = $1",
        args![type_id.clone(), held.license_type_id.clone()],
    )
    .await?;
    let new_type = match found {
        Some(t) if t.sku == t.current_sku => t,
        Some(t) => {
            return Err(AppError::Refused {
                refusal: Refusal::InvalidLicenseType,
                detail: format!(
                    "License type '{type_id}' is for SKU '{}', not this LoadMaster's '{}'.",
                    t.sku, t.current_sku
                ),
            })
        }
        None => {
            return Err(AppError::Refused {
                refusal: Refusal::InvalidLicenseType,
                detail: format!("There is no license type '{type_id}'."),
            })
        }
    };
    // The pool keeps its accounting: a larger type needs the difference free.
    let room = crate::pool::room(&mut tx, tenant)
        .await?
        .ok_or_else(no_pool)?;
    let more = new_type.bandwidth_mbps - held.bandwidth_mbps;
    if more > 0 && room.allocated + more > room.max_capacity_mbps {
        return Err(AppError::Refused {
            refusal: Refusal::PoolCapacityExceeded,
            detail: format!(
                "The pool has {} Mb/s available and changing to {} needs {more} Mb/s more.",
                room.free_mbps(),
                new_type.name
            ),
        });
    }
    // A permanent license renews from its own order unless another is named.
    let order = match (named.as_deref(), held.order_ref.as_deref()) {
        (None, Some(own)) if target == LicenseKind::Permanent => {
            let order_id: Option<(String,)> = crate::db::optional_as(
                &mut tx,
                "SELECT order_id FROM orders WHERE id = $1",
                args![own],
            )
            .await?;
            order_id.map(|(o,)| o)
        }
        (named, _) => named.map(str::to_string),
    };
    let facts = KindFacts {
        held: None,
        order: crate::lifecycle::order_facts(
            &mut tx,
            tenant,
            order.as_deref(),
            &held.serial_no,
            &type_id,
            Some(&held.id),
        )
        .await?,
        order_named: order.is_some(),
        // A Pay As You Go license (permanent without an order) stays one unless an order is named.
        payg: target == LicenseKind::Permanent
            && held.kind == LicenseKind::Permanent
            && held.order_ref.is_none()
            && order.is_none(),
    };
    let mut terms = decide_terms(target, false, &facts, &new_type.name, now)?;
    // A temporary or trial license renewed keeps its term and subscriptions.
    let before = crate::lifecycle::subscriptions_of(&mut tx, tenant, &held.id).await?;
    if target.is_temporary() {
        terms.expires_at = held.expires_at;
        terms.subscriptions = before.clone();
    }
    let mut changes = Vec::new();
    if type_id != held.license_type_id {
        changes.push(format!("{} → {}", held.license_name, new_type.name));
    }
    if terms.kind != held.kind {
        changes.push(format!("{} → {}", held.kind.label(), terms.kind.label()));
    }
    if terms.order != held.order_ref {
        if let Some(order) = facts.order.as_ref().filter(|_| terms.order.is_some()) {
            changes.push(format!("order {}", order.order_id));
        }
    }
    if terms.expires_at != held.expires_at {
        changes.push(match terms.expires_at {
            Some(end) => format!("term until {}", bandpool_domain::format::format_date(end)),
            None => "no end of term".to_string(),
        });
    }
    if terms.subscriptions != before {
        let until = terms.subscriptions.iter().map(|s| s.expires_at).max();
        changes.push(match (terms.subscriptions.first(), until) {
            (Some(first), Some(until)) => format!(
                "{} support until {}",
                first.name,
                bandpool_domain::format::format_date(until - 1)
            ),
            _ => "no subscriptions (Classic)".to_string(),
        });
    }
    if !changes.is_empty() {
        tx.execute(
            "UPDATE licenses SET license_type_id = $3, license_name = $4, bandwidth_mbps = $5,              ssl_tps = $6, kind = $7, expires_at = $8, order_ref = $9 WHERE tenant_id = $1 AND id = $2",
            args![
                tenant,
                held.id.clone(),
                type_id.clone(),
                new_type.name.clone(),
                new_type.bandwidth_mbps,
                new_type.ssl_tps,
                terms.kind.key(),
                terms.expires_at,
                terms.order.clone()
            ],
        )
        .await?;
        crate::lifecycle::replace_subscriptions(&mut tx, tenant, &held.id, &terms.subscriptions)
            .await?;
        let note = match channel {
            Channel::Connector(c) => format!(
                "Updated by the LoadMaster through connector {}: {}",
                c.name,
                changes.join(", ")
            ),
            Channel::Offline { .. } => format!("Updated {}: {}", channel.via(), changes.join(", ")),
        };
        tx.execute(
            "INSERT INTO license_history (id, license_id, tenant_id, at, from_status, to_status, note)              VALUES ($1, $2, $3, $4, $5, $5, $6)",
            args![uuid::Uuid::new_v4().to_string(), held.id.clone(), tenant, now, held.status.key(), note],
        )
        .await?;
        if more != 0 {
            record_allocation(&mut tx, tenant, now).await?;
        }
        Change::at(tenant, now, &channel.actor())
            .record(
                &mut tx,
                "license_updated",
                &format!("serial {}", held.serial_no),
                &changes.join(", "),
            )
            .await?;
    }
    let answer = LicenseUpdate {
        license: Activation {
            license_id: held.id.clone(),
            license_name: new_type.name.clone(),
            bandwidth_mbps: new_type.bandwidth_mbps,
            ssl_tps: new_type.ssl_tps,
            status: held.status,
            activated_at: held.activated_at,
            kind: terms.kind,
            expires_at: terms.expires_at,
            subscriptions: terms.subscriptions,
        },
        message: if changes.is_empty() {
            "The license is up to date; nothing changed.".to_string()
        } else {
            UPDATE_APPLIED.to_string()
        },
        changes,
    };
    // Offline, the license is bound from now on to the access code its text was made for.
    if let Some(hash) = channel.access_hash() {
        tx.execute(
            "UPDATE licenses SET access_code_hash = $3 WHERE tenant_id = $1 AND id = $2",
            args![tenant, held.id.clone(), hash],
        )
        .await?;
    }
    channel.answer(&mut tx, &key, &to_json(&answer)?).await?;
    tx.commit().await?;
    Ok(answer)
}

/// Kill License on a LoadMaster to move its permanent license (the licensing guide's
/// transfer), in the caller's transaction: the prerequisites checked, the license Killed (its
/// capacity back, the device out of the inventory), its order's license free for another
/// LoadMaster. Returns the answer and whether this was a replay (nothing to tell anyone).
pub async fn release_for_transfer(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    request: &bandpool_domain::lifecycle::TransferRequest,
    now: i64,
) -> Result<(bandpool_domain::lifecycle::Transfer, bool)> {
    use bandpool_domain::lifecycle::{check_transfer, Transfer, TransferFacts};
    check_key(&request.idempotency_key)?;
    check_text("license_id", &request.license_id, 64)?;
    check_text("serial_no", &request.serial_no, 64)?;
    check_text("firmware_version", &request.firmware_version, 64)?;
    let tenant = connector.tenant_id.as_str();
    let key = MessageKey::new(MessageKind::Transfer, &request.idempotency_key, request)?;
    tx.lock_pool(tenant).await?;
    if let Claim::Replay(answer) = idempotency::claim(tx, &connector.id, &key, now).await? {
        return Ok((from_json(&answer)?, true));
    }
    let held = Channel::Connector(connector)
        .held(tx, &request.license_id, &request.serial_no)
        .await?;
    if !held.status.holds_capacity() {
        return Err(AppError::invalid(
            "license_id",
            format!(
                "the license is {}; only an Active or Grace Period license can be transferred",
                held.status.label()
            ),
        ));
    }
    let order: Option<(String, i64)> = match &held.order_ref {
        Some(id) => {
            crate::db::optional_as(
                &mut *tx,
                "SELECT order_id, spla FROM orders WHERE id = $1",
                args![id.clone()],
            )
            .await?
        }
        None => None,
    };
    let subscriptions = crate::lifecycle::subscriptions_of(&mut *tx, tenant, &held.id).await?;
    check_transfer(
        &TransferFacts {
            kind: held.kind,
            from_order: order.is_some(),
            spla: order.as_ref().is_some_and(|(_, spla)| *spla == 1),
            // The support subscription comes first.
            support_ends_at: subscriptions.first().map(|s| s.expires_at),
            firmware_version: &request.firmware_version,
        },
        now,
    )?;
    let order_id = order.map(|(o, _)| o).unwrap_or_default();
    set_status(
        tx,
        tenant,
        &held.id,
        LicenseStatus::Killed,
        &format!(
            "Killed for transfer by the LoadMaster through connector {}; order {order_id}'s license is free for another LoadMaster",
            connector.name
        ),
        now,
        None,
    )
    .await?;
    remove_device(tx, tenant, held.device_id.as_deref()).await?;
    Change::at(tenant, now, &connector.actor())
        .record(
            tx,
            "license_transferred",
            &format!("serial {}", held.serial_no),
            &format!(
                "{} of order {order_id} killed for transfer; license another LoadMaster from the order",
                held.license_name
            ),
        )
        .await?;
    let answer = Transfer {
        license_id: held.id.clone(),
        status: LicenseStatus::Killed,
        message: format!(
            "The license was killed on this LoadMaster. License the new LoadMaster with Order ID {order_id} and choose the {} license.",
            held.license_name
        ),
        order_id,
        license_type_id: held.license_type_id.clone(),
    };
    idempotency::answer(tx, &connector.id, &key, &to_json(&answer)?).await?;
    Ok((answer, false))
}

/// Change of owner: the license a LoadMaster holds (named by its id and serial number, the
/// proof that it holds it) moves to the tenant of the connector relaying the request, in the
/// caller's transaction with both pools locked: the new pool must have room (capacity and a
/// LoadMaster slot; metered licenses never move), the old pool gets its capacity back, the
/// license keeps its id, kind, term, subscriptions and history (now the new tenant's), and both
/// tenants' event logs say so. Returns the answer and the previous owner's tenant (none for a
/// replay).
pub async fn change_owner<'a>(
    tx: &mut WriteTx,
    channel: impl Into<Channel<'a>>,
    request: &bandpool_domain::lifecycle::OwnerChangeRequest,
    now: i64,
) -> Result<(bandpool_domain::lifecycle::OwnerChange, Option<String>)> {
    use bandpool_domain::lifecycle::{OwnerChange, UPDATE_APPLIED};
    let channel = &channel.into();
    check_key(&request.idempotency_key)?;
    if let Channel::Connector(_) = channel {
        check_text("license_id", &request.license_id, 64)?;
    }
    check_text("serial_no", &request.serial_no, 64)?;
    check_text("device_name", &request.device_name, 100)?;
    if request.ip_address.parse::<std::net::IpAddr>().is_err() {
        return Err(AppError::invalid(
            "ip_address",
            "must be an IPv4 or IPv6 address",
        ));
    }
    let new_tenant = channel.tenant_id();
    // Online, the LoadMaster proves it holds the license by naming its id; offline, by the
    // access code the license's text was bound to.
    let owner_of = async |tx: &mut WriteTx| -> Result<Option<(String, String)>> {
        match channel.access_hash() {
            None => {
                crate::db::optional_as(
                    &mut *tx,
                    "SELECT tenant_id, id FROM licenses WHERE id = $1 AND serial_no = $2",
                    args![request.license_id.clone(), request.serial_no.clone()],
                )
                .await
            }
            Some(hash) => {
                crate::db::optional_as(
                    &mut *tx,
                    "SELECT tenant_id, id FROM licenses WHERE serial_no = $1 \
                     AND access_code_hash = $2 AND status IN ('active', 'grace_period')",
                    args![request.serial_no.clone(), hash],
                )
                .await
            }
        }
    };
    // Both pools locked in one order (by tenant id), so two changes crossing never deadlock.
    let before = owner_of(tx).await?;
    let mut pools = vec![new_tenant.to_string()];
    pools.extend(before.clone().map(|(t, _)| t));
    pools.sort();
    pools.dedup();
    for pool in &pools {
        tx.lock_pool(pool).await?;
    }
    let key = MessageKey::new(MessageKind::OwnerChange, &request.idempotency_key, request)?;
    if let Claim::Replay(answer) = channel.claim(tx, &key, now).await? {
        return Ok((from_json(&answer)?, None));
    }
    let not_held = || match channel {
        Channel::Connector(_) => AppError::not_found(
            "A license with that id held by a LoadMaster with that serial number",
        ),
        Channel::Offline { .. } => AppError::not_found(
            "An offline license held by a LoadMaster with that serial number and access code",
        ),
    };
    let (old_tenant, license_id) = match owner_of(tx).await? {
        Some(found) if Some(&found) == before.as_ref() => found,
        _ => return Err(not_held()),
    };
    if old_tenant == new_tenant {
        return Err(AppError::invalid(
            "license_id",
            "the license already belongs to this tenant; use Update License instead",
        ));
    }
    let held: Held = crate::db::row_as(
        &tx.fetch_one(
            &format!("SELECT {HELD_COLUMNS} FROM licenses WHERE tenant_id = $1 AND id = $2"),
            args![old_tenant.clone(), license_id.clone()],
        )
        .await?,
    )?;
    if !held.status.holds_capacity() {
        return Err(not_held());
    }
    if held.kind == LicenseKind::Metered {
        return Err(AppError::invalid(
            "license_id",
            "a metered license stays with its tenant's metered contract; deactivate it and activate under the new owner",
        ));
    }
    let room = crate::pool::room(&mut *tx, new_tenant)
        .await?
        .ok_or_else(|| AppError::Refused {
            refusal: Refusal::TenantUnlicensed,
            detail: "The new owner's tenant has no license pool; ask your vendor to issue one."
                .into(),
        })?;
    if room.holding >= room.loadmaster_limit {
        return Err(AppError::Refused {
            refusal: Refusal::InstanceLimitReached,
            detail: format!(
                "The new owner's pool allows {} LoadMasters and all of them hold a license.",
                room.loadmaster_limit
            ),
        });
    }
    if room.allocated + held.bandwidth_mbps > room.max_capacity_mbps {
        return Err(AppError::Refused {
            refusal: Refusal::PoolCapacityExceeded,
            detail: format!(
                "The new owner's pool has {} Mb/s available and this {} license needs {} Mb/s.",
                room.free_mbps(),
                held.license_name,
                held.bandwidth_mbps
            ),
        });
    }
    remove_device(tx, &old_tenant, held.device_id.as_deref()).await?;
    let device_id = upsert_device(
        tx,
        channel,
        &ActivationRequest {
            idempotency_key: request.idempotency_key.clone(),
            serial_no: request.serial_no.clone(),
            device_name: request.device_name.clone(),
            ip_address: request.ip_address.clone(),
            sku: String::new(),
            license_type_id: held.license_type_id.clone(),
            appliance: None,
            ask: Default::default(),
        },
        now,
    )
    .await?;
    tx.execute(
        "UPDATE licenses SET tenant_id = $2, connector_id = $3, device_id = $4, device_name = $5,          ip_address = $6, status = 'active', grace_period_end = NULL, issued_through_portal = 1          WHERE id = $1",
        args![
            held.id.clone(),
            new_tenant,
            channel.connector_id(),
            device_id,
            request.device_name.trim().to_string(),
            request.ip_address.clone()
        ],
    )
    .await?;
    for table in ["license_history", "license_subscriptions"] {
        tx.execute(
            &format!("UPDATE {table} SET tenant_id = $2 WHERE license_id = $1"),
            args![held.id.clone(), new_tenant],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO license_history (id, license_id, tenant_id, at, from_status, to_status, note)          VALUES ($1, $2, $3, $4, $5, 'active', $6)",
        args![
            uuid::Uuid::new_v4().to_string(),
            held.id.clone(),
            new_tenant,
            now,
            held.status.key(),
            format!(
                "Owner changed: the license moved here from another tenant {}",
                channel.via()
            )
        ],
    )
    .await?;
    record_allocation(tx, &old_tenant, now).await?;
    record_allocation(tx, new_tenant, now).await?;
    let target = format!("serial {}", held.serial_no);
    let what = format!(
        "{} {} license",
        held.license_name,
        held.kind.label().to_lowercase()
    );
    Change::at(&old_tenant, now, &Actor::system("change of owner"))
        .record(
            tx,
            "license_owner_changed",
            &target,
            &format!("{what} moved to another owner; its capacity returned to the pool"),
        )
        .await?;
    Change::at(new_tenant, now, &channel.actor())
        .record(
            tx,
            "license_owner_changed",
            &target,
            &format!("{what} moved here from another owner"),
        )
        .await?;
    let subscriptions = crate::lifecycle::subscriptions_of(&mut *tx, new_tenant, &held.id).await?;
    let answer = OwnerChange {
        license: Activation {
            license_id: held.id.clone(),
            license_name: held.license_name.clone(),
            bandwidth_mbps: held.bandwidth_mbps,
            ssl_tps: held.ssl_tps,
            status: LicenseStatus::Active,
            activated_at: held.activated_at,
            kind: held.kind,
            expires_at: held.expires_at,
            subscriptions,
        },
        message: UPDATE_APPLIED.to_string(),
    };
    channel.answer(tx, &key, &to_json(&answer)?).await?;
    Ok((answer, Some(old_tenant)))
}

/// A LoadMaster gives its license back: Killed (recovered), capacity back in the pool, the
/// LoadMaster out of the device inventory.
pub async fn deactivate(
    db: &Db,
    connector: &ConnectorIdentity,
    request: &DeactivationRequest,
    now: i64,
) -> Result<Deactivation> {
    validate_deactivation(request)?;
    let key = MessageKey::new(MessageKind::Deactivation, &request.idempotency_key, request)?;
    let mut tx = db.begin_write().await?;
    tx.lock_pool(&connector.tenant_id).await?;
    if let Claim::Replay(answer) = idempotency::claim(&mut tx, &connector.id, &key, now).await? {
        return from_json(&answer);
    }
    let held = Channel::Connector(connector)
        .held(&mut tx, &request.license_id, &request.serial_no)
        .await?;
    let status = if held.status.holds_capacity() {
        set_status(
            &mut tx,
            &connector.tenant_id,
            &held.id,
            LicenseStatus::Killed,
            &format!(
                "Deactivated by the LoadMaster through connector {}",
                connector.name
            ),
            now,
            None,
        )
        .await?;
        remove_device(&mut tx, &connector.tenant_id, held.device_id.as_deref()).await?;
        crate::metered::mark_deleted(&mut tx, &connector.tenant_id, &held.id, now).await?;
        Change::at(&connector.tenant_id, now, &connector.actor())
            .record(
                &mut tx,
                "license_deactivated",
                &format!("serial {}", held.serial_no),
                "the LoadMaster gave its license back; capacity returned to the pool",
            )
            .await?;
        LicenseStatus::Killed
    } else {
        held.status
    };
    let answer = Deactivation {
        license_id: held.id,
        status,
    };
    idempotency::answer(&mut tx, &connector.id, &key, &to_json(&answer)?).await?;
    tx.commit().await?;
    Ok(answer)
}

pub(crate) async fn remove_device(
    tx: &mut WriteTx,
    tenant_id: &str,
    device_id: Option<&str>,
) -> Result<()> {
    if let Some(device_id) = device_id {
        tx.execute(
            "DELETE FROM devices WHERE tenant_id = $1 AND id = $2",
            args![tenant_id.to_string(), device_id.to_string()],
        )
        .await?;
    }
    Ok(())
}

/// The periodic checks of many LoadMasters, relayed in one report. Each check of a license
/// this connector issued is counted once (a replayed report is answered, not counted again);
/// any other license id is answered with no status and `unknown_license`.
pub async fn record_checks(
    db: &Db,
    connector: &ConnectorIdentity,
    report: &CheckReport,
    now: i64,
) -> Result<CheckReportResponse> {
    check_key(&report.idempotency_key)?;
    if report.checks.len() > MAX_CHECKS_PER_REPORT {
        return Err(AppError::invalid(
            "checks",
            format!("at most {MAX_CHECKS_PER_REPORT} checks per report"),
        ));
    }
    for check in &report.checks {
        check_text("license_id", &check.license_id, 64)?;
        check_text("serial_no", &check.serial_no, 64)?;
        if check.checked_at < 0 {
            return Err(AppError::invalid("checked_at", "must be a Unix time"));
        }
    }
    let key = MessageKey::new(MessageKind::Checks, &report.idempotency_key, report)?;
    let mut tx = db.begin_write().await?;
    // Checks are answered from the licenses' current state, so only the key is kept.
    let replayed = idempotency::claim(&mut tx, &connector.id, &key, now).await? != Claim::Fresh;
    let mut known: HashMap<String, (String, LicenseStatus, Option<i64>)> = HashMap::new();
    let ids: Vec<&String> = {
        let mut ids: Vec<&String> = report.checks.iter().map(|c| &c.license_id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    // PostgreSQL: the rows are locked here, in id order (the chunks go in sorted order), so
    // two reports over the same licenses queue behind each other instead of deadlocking in
    // the UPDATEs below, which would lock them in whatever order their groups come. SQLite's
    // `BEGIN IMMEDIATE` already lets one writer in at a time.
    let lock = if tx.kind() == crate::db::DbKind::Postgres {
        " ORDER BY id FOR UPDATE"
    } else {
        ""
    };
    for (placeholders, values) in crate::db::in_lists(
        args![connector.tenant_id.clone(), connector.id.clone()],
        &ids,
    ) {
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT id, serial_no, status, grace_period_end FROM licenses \
                     WHERE tenant_id = $1 AND connector_id = $2 AND id IN ({placeholders}){lock}"
                ),
                values,
            )
            .await?;
        for row in crate::db::rows_as::<Checked>(&rows)? {
            known.insert(row.id, (row.serial_no, row.status, row.grace_period_end));
        }
    }
    // Per license: how many checks, and the latest.
    let mut counted: HashMap<&str, (i64, i64)> = HashMap::new();
    let results = report
        .checks
        .iter()
        .map(|check| match known.get(&check.license_id) {
            Some((serial, status, grace)) if *serial == check.serial_no => {
                let entry = counted.entry(&check.license_id).or_insert((0, 0));
                entry.0 += 1;
                // A connector whose clock runs ahead cannot move a check into the future.
                entry.1 = entry.1.max(check.checked_at.min(now));
                CheckResult {
                    license_id: check.license_id.clone(),
                    status: Some(*status),
                    grace_period_end: *grace,
                    refused: None,
                }
            }
            // This connector's license, asked about by another LoadMaster: the check cannot be
            // verified as that license's LoadMaster's.
            Some(_) => CheckResult {
                license_id: check.license_id.clone(),
                status: None,
                grace_period_end: None,
                refused: Some(Refusal::CheckUnverifiable.code().into()),
            },
            None => CheckResult {
                license_id: check.license_id.clone(),
                status: None,
                grace_period_end: None,
                refused: Some("unknown_license".into()),
            },
        })
        .collect();
    if !replayed {
        // One UPDATE per (count, time) group: a report of a second's checks has few groups.
        let mut groups: HashMap<(i64, i64), Vec<&str>> = HashMap::new();
        for (id, (n, at)) in &counted {
            groups.entry((*n, *at)).or_default().push(id);
        }
        for ((n, at), ids) in groups {
            for (placeholders, values) in
                crate::db::in_lists(args![connector.tenant_id.clone(), n, at], &ids)
            {
                tx.execute(
                    &format!(
                        "UPDATE licenses SET check_count = check_count + $2, \
                         last_check_at = CASE WHEN last_check_at IS NULL OR last_check_at < $3 \
                         THEN $3 ELSE last_check_at END \
                         WHERE tenant_id = $1 AND id IN ({placeholders})"
                    ),
                    values,
                )
                .await?;
            }
        }
        // HA and GEO partners, as the LoadMasters whose checks were verified name them.
        for check in &report.checks {
            let verified = matches!(known.get(&check.license_id), Some((serial, _, _)) if *serial == check.serial_no);
            if let (true, Some(partners)) = (verified, &check.partners) {
                // One LoadMaster's impossible partners must not cost the others in the report
                // their checks (a refused report is rejected whole): they are left out.
                let partners = match partners.checked(&check.serial_no) {
                    Ok(partners) => partners,
                    Err(error) => {
                        tracing::warn!(serial = %check.serial_no, %error, "partners in a check left out");
                        continue;
                    }
                };
                crate::devices::set_partners(
                    &mut tx,
                    &connector.tenant_id,
                    &check.serial_no,
                    &partners,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(CheckReportResponse { results })
}

/// Kill License: the license is recovered (Killed, recovery date set, device name and IP
/// address removed), the LoadMaster leaves the device inventory, the kill waits in its
/// connector's queue so the LoadMaster gets disabled, and the capacity is back at once.
/// Killing twice changes nothing. `actor` is who asked.
pub async fn kill(
    db: &Db,
    tenant_id: &str,
    license_id: &str,
    actor: &Actor,
    now: i64,
) -> Result<KillOutcome> {
    let mut tx = db.begin_write().await?;
    tx.lock_pool(tenant_id).await?;
    let before = get(&mut tx, tenant_id, license_id).await?;
    if before.status == LicenseStatus::Killed {
        return Ok(KillOutcome {
            license: before,
            already_killed: true,
            relayed_to: None,
        });
    }
    if !before.issued_through_portal {
        return Err(AppError::LicenseNotKillable {
            reason:
                "it was not issued through this portal; kill it where the LoadMaster was licensed"
                    .into(),
        });
    }
    if before.status == LicenseStatus::Expired {
        return Err(AppError::LicenseNotKillable {
            reason: "it has expired, and its capacity is already back in the pool".into(),
        });
    }
    let device = tx
        .fetch_optional(
            "SELECT device_id FROM licenses WHERE tenant_id = $1 AND id = $2",
            args![tenant_id.to_string(), license_id.to_string()],
        )
        .await?
        .map(|r| r.try_get::<Option<String>, _>("device_id"))
        .transpose()?
        .flatten();
    let license = set_status(
        &mut tx,
        tenant_id,
        license_id,
        LicenseStatus::Killed,
        &format!("Killed by {}; capacity returned to the pool", actor.label),
        now,
        None,
    )
    .await?;
    remove_device(&mut tx, tenant_id, device.as_deref()).await?;
    let mut relayed_to = None;
    if let Some(connector_id) = &before.connector_id {
        let name = tx
            .fetch_optional(
                "SELECT name FROM connectors WHERE tenant_id = $1 AND id = $2",
                args![tenant_id.to_string(), connector_id.clone()],
            )
            .await?;
        if let Some(row) = name {
            commands::enqueue(
                &mut tx,
                tenant_id,
                connector_id,
                &CommandKind::Kill {
                    license_id: license_id.to_string(),
                    serial_no: before.serial_no.clone(),
                },
                now,
            )
            .await?;
            relayed_to = Some(row.try_get::<String, _>("name")?);
        }
    }
    let target = before.device_name.as_deref().unwrap_or(&before.serial_no);
    let detail = format!(
        "{} (serial {}, {}) killed; {} Mb/s back in the pool{}",
        before.license_name,
        before.serial_no,
        before.ip_address.as_deref().unwrap_or("no address"),
        before.bandwidth_mbps,
        relayed_to
            .as_deref()
            .map(|c| format!("; kill sent to connector {c}"))
            .unwrap_or_default()
    );
    Change::at(tenant_id, now, actor)
        .record(&mut tx, "license_killed", target, &detail)
        .await?;
    tx.commit().await?;
    Ok(KillOutcome {
        license,
        already_killed: false,
        relayed_to,
    })
}
