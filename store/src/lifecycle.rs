//! The license lifecycle in the database: the vendor's orders and what is left of them, the
//! kind facts an activation needs (inside the pool's lock), licenses' subscriptions, terms
//! that end (the license expires and its capacity returns) and subscriptions whose warning
//! is due.

use crate::args;
use crate::db::{column, optional_as, rows_as, Read, WriteTx};
use crate::licenses::{bulk_set_status, StatusMove};
use crate::Result;
use bandpool_domain::connector::ActivationRequest;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::lifecycle::{
    warning_due, CheckedOrder, KindFacts, LicenseKind, Order, OrderFacts, OrderLine, Subscription,
    SupportTier,
};
use bandpool_domain::AppError;

/// An order's row.
#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    order_id: String,
    #[sqlx(try_from = "String")]
    support_tier: SupportTier,
    support_ends_at: i64,
    #[sqlx(try_from = "bandpool_domain::Flag")]
    spla: bool,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_ref: String,
    license_type_id: String,
    license_name: String,
    quantity: i64,
    in_use: i64,
    license_ends_at: Option<i64>,
}

/// Licenses of an order's line held now: what a permanent license from it takes.
const IN_USE: &str = "(SELECT COUNT(*) FROM licenses l WHERE l.order_ref = o.order_ref \
     AND l.license_type_id = o.license_type_id AND l.kind = 'permanent' \
     AND l.status IN ('active', 'grace_period'))";

/// Record an order for a tenant, or replace the one with the same Order ID (its support and
/// lines). A line may not fall below the licenses of it in use; every license type must be
/// in the catalogue. Returns whether the order is new.
pub async fn record_order(
    tx: &mut WriteTx,
    tenant_id: &str,
    order: &CheckedOrder,
    now: i64,
) -> Result<bool> {
    crate::tenants::require(&mut *tx, tenant_id).await?;
    tx.lock_pool(tenant_id).await?;
    for (i, (type_id, _, _)) in order.lines.iter().enumerate() {
        let known: Option<(String,)> = optional_as(
            &mut *tx,
            "SELECT id FROM license_types WHERE id = $1",
            args![type_id.clone()],
        )
        .await?;
        if known.is_none() {
            return Err(AppError::invalid(
                format!("lines[{i}].license_type_id"),
                format!("'{type_id}' is not a license type of the catalogue"),
            ));
        }
    }
    let existing: Option<(String,)> = optional_as(
        &mut *tx,
        "SELECT id FROM orders WHERE tenant_id = $1 AND order_id = $2",
        args![tenant_id, order.order_id.clone()],
    )
    .await?;
    let id = match &existing {
        Some((id,)) => {
            let in_use: Vec<LineRow> = rows_as(
                &tx.fetch_all(
                    &format!(
                        "SELECT o.order_ref, o.license_type_id, t.name AS license_name, o.quantity, \
                         {IN_USE} AS in_use, o.license_ends_at FROM order_lines o \
                         JOIN license_types t ON t.id = o.license_type_id WHERE o.order_ref = $1"
                    ),
                    args![id.clone()],
                )
                .await?,
            )?;
            for line in in_use.iter().filter(|l| l.in_use > 0) {
                let kept = order
                    .lines
                    .iter()
                    .position(|(t, _, _)| *t == line.license_type_id);
                let enough = kept.is_some_and(|i| order.lines[i].1 >= line.in_use);
                if !enough {
                    return Err(AppError::invalid(
                        match kept {
                            Some(i) => format!("lines[{i}].quantity"),
                            None => "lines".to_string(),
                        },
                        format!(
                            "{} {} licenses of this order are in use; the order must keep at least that many",
                            line.in_use, line.license_name
                        ),
                    ));
                }
            }
            tx.execute(
                "UPDATE orders SET support_tier = $2, support_ends_at = $3, updated_at = $4, \
                 spla = $5 WHERE id = $1",
                args![
                    id.clone(),
                    order.support_tier.key(),
                    order.support_ends_at,
                    now,
                    i64::from(order.spla)
                ],
            )
            .await?;
            tx.execute(
                "DELETE FROM order_lines WHERE order_ref = $1",
                args![id.clone()],
            )
            .await?;
            id.clone()
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO orders (id, tenant_id, order_id, support_tier, support_ends_at, \
                 created_at, updated_at, spla) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                args![
                    id.clone(),
                    tenant_id,
                    order.order_id.clone(),
                    order.support_tier.key(),
                    order.support_ends_at,
                    now,
                    i64::from(order.spla)
                ],
            )
            .await?;
            id
        }
    };
    for (type_id, quantity, ends) in &order.lines {
        tx.execute(
            "INSERT INTO order_lines (order_ref, license_type_id, quantity, license_ends_at) \
             VALUES ($1, $2, $3, $4)",
            args![id.clone(), type_id.clone(), *quantity, *ends],
        )
        .await?;
    }
    // The licenses already taken keep the support they hold until their LoadMaster updates
    // its license (Update License/Owner), as the Licenses table shows what LoadMasters hold.
    Ok(existing.is_none())
}

/// A tenant's orders, newest first, with what is in use of each line.
pub async fn orders(mut on: impl Read, tenant_id: &str) -> Result<Vec<Order>> {
    let heads: Vec<OrderRow> = rows_as(
        &on.fetch_all(
            "SELECT id, order_id, support_tier, support_ends_at, spla, created_at FROM orders \
             WHERE tenant_id = $1 ORDER BY created_at DESC, order_id",
            args![tenant_id],
        )
        .await?,
    )?;
    let lines: Vec<LineRow> = rows_as(
        &on.fetch_all(
            &format!(
                "SELECT o.order_ref, o.license_type_id, t.name AS license_name, o.quantity, \
                 {IN_USE} AS in_use, o.license_ends_at FROM order_lines o \
                 JOIN license_types t ON t.id = o.license_type_id \
                 JOIN orders h ON h.id = o.order_ref WHERE h.tenant_id = $1 \
                 ORDER BY t.bandwidth_mbps, t.name"
            ),
            args![tenant_id],
        )
        .await?,
    )?;
    Ok(heads
        .into_iter()
        .map(|head| Order {
            lines: lines
                .iter()
                .filter(|l| l.order_ref == head.id)
                .map(|l| OrderLine {
                    license_type_id: l.license_type_id.clone(),
                    license_name: l.license_name.clone(),
                    quantity: l.quantity,
                    in_use: l.in_use,
                    license_ends_at: l.license_ends_at,
                })
                .collect(),
            order_id: head.order_id,
            support_tier: head.support_tier,
            support_ends_at: head.support_ends_at,
            spla: head.spla,
            created_at: head.created_at,
        })
        .collect())
}

/// What the kind rules need for an activation of `license_type_id`: the order the
/// activation names (or the LoadMaster's last permanent license came from) with that line.
pub async fn kind_facts(
    tx: &mut WriteTx,
    tenant_id: &str,
    request: &ActivationRequest,
    license_type_id: &str,
) -> Result<KindFacts> {
    let named = request
        .ask
        .order_id
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    Ok(KindFacts {
        held: None,
        order: order_facts(
            tx,
            tenant_id,
            named,
            &request.serial_no,
            license_type_id,
            None,
        )
        .await?,
        order_named: named.is_some(),
        payg: request.ask.payg,
    })
}

/// The order `named` (or else the one the LoadMaster's last permanent license came from)
/// with its line for `license_type_id`; its licenses in use leave `except` out (a license
/// being updated does not count against itself).
pub async fn order_facts(
    tx: &mut WriteTx,
    tenant_id: &str,
    named: Option<&str>,
    serial_no: &str,
    license_type_id: &str,
    except: Option<&str>,
) -> Result<Option<OrderFacts>> {
    let head: Option<OrderRow> =
        match named {
            Some(order_id) => optional_as(
                &mut *tx,
                "SELECT id, order_id, support_tier, support_ends_at, spla, created_at FROM orders \
                 WHERE tenant_id = $1 AND order_id = $2",
                args![tenant_id, order_id],
            )
            .await?,
            None => optional_as(
                &mut *tx,
                "SELECT o.id, o.order_id, o.support_tier, o.support_ends_at, o.spla, o.created_at \
                 FROM licenses l JOIN orders o ON o.id = l.order_ref \
                 WHERE l.tenant_id = $1 AND l.serial_no = $2 AND l.kind = 'permanent' \
                 ORDER BY l.activated_at DESC LIMIT 1",
                args![tenant_id, serial_no],
            )
            .await?,
        };
    let Some(head) = head else {
        return Ok(None);
    };
    let line: Option<(i64, i64, Option<i64>)> = optional_as(
        &mut *tx,
        "SELECT o.quantity, (SELECT COUNT(*) FROM licenses l WHERE l.order_ref = o.order_ref \
         AND l.license_type_id = o.license_type_id AND l.kind = 'permanent' \
         AND l.status IN ('active', 'grace_period') AND l.id <> $3) AS in_use, \
         o.license_ends_at FROM order_lines o WHERE o.order_ref = $1 AND o.license_type_id = $2",
        args![head.id.clone(), license_type_id, except.unwrap_or("")],
    )
    .await?;
    Ok(Some(OrderFacts {
        id: head.id,
        order_id: head.order_id,
        support_tier: head.support_tier,
        support_ends_at: head.support_ends_at,
        line,
    }))
}

/// Replace a license's subscriptions (an update renewed or changed them).
pub async fn replace_subscriptions(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_id: &str,
    subscriptions: &[Subscription],
) -> Result<()> {
    tx.execute(
        "DELETE FROM license_subscriptions WHERE tenant_id = $1 AND license_id = $2",
        args![tenant_id, license_id],
    )
    .await?;
    add_subscriptions(tx, tenant_id, license_id, subscriptions).await
}

/// Record a new license's subscriptions, in the order given.
pub async fn add_subscriptions(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_id: &str,
    subscriptions: &[Subscription],
) -> Result<()> {
    for (position, s) in subscriptions.iter().enumerate() {
        tx.execute(
            "INSERT INTO license_subscriptions (license_id, tenant_id, position, name, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                license_id,
                tenant_id,
                position as i64,
                s.name.clone(),
                s.expires_at
            ],
        )
        .await?;
    }
    Ok(())
}

/// A license's subscriptions (support first).
pub async fn subscriptions_of(
    mut on: impl Read,
    tenant_id: &str,
    license_id: &str,
) -> Result<Vec<Subscription>> {
    let rows: Vec<(String, i64)> = rows_as(
        &on.fetch_all(
            "SELECT name, expires_at FROM license_subscriptions \
             WHERE tenant_id = $1 AND license_id = $2 ORDER BY position",
            args![tenant_id, license_id],
        )
        .await?,
    )?;
    Ok(rows
        .into_iter()
        .map(|(name, expires_at)| Subscription { name, expires_at })
        .collect())
}

/// A license whose term ended, as the Owners' email names it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndedTerm {
    pub id: String,
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    pub serial_no: String,
    pub license_name: String,
    #[sqlx(try_from = "String")]
    pub kind: LicenseKind,
    #[sqlx(try_from = "String")]
    pub status: LicenseStatus,
    pub bandwidth_mbps: i64,
    pub expires_at: i64,
}

/// The tenants with a license whose term has ended but that still holds capacity.
pub async fn tenants_with_ended_terms(on: impl Read, now: i64) -> Result<Vec<String>> {
    column(
        on,
        "SELECT DISTINCT tenant_id FROM licenses WHERE expires_at <= $1 \
         AND status IN ('active', 'grace_period')",
        args![now],
    )
    .await
}

/// Expire a tenant's licenses whose term has ended, in the caller's transaction (the pool's
/// lock, one history record each, the day's allocation): their capacity returns to the pool.
pub async fn end_terms(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<Vec<EndedTerm>> {
    tx.lock_pool(tenant_id).await?;
    let ended: Vec<EndedTerm> = rows_as(
        &tx.fetch_all(
            "SELECT id, device_name, ip_address, serial_no, license_name, kind, status, \
             bandwidth_mbps, expires_at FROM licenses WHERE tenant_id = $1 AND expires_at <= $2 \
             AND status IN ('active', 'grace_period') ORDER BY expires_at, id",
            args![tenant_id, now],
        )
        .await?,
    )?;
    for from in [LicenseStatus::Active, LicenseStatus::GracePeriod] {
        let ids: Vec<String> = ended
            .iter()
            .filter(|e| e.status == from)
            .map(|e| e.id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        bulk_set_status(
            tx,
            tenant_id,
            &ids,
            StatusMove {
                from,
                to: LicenseStatus::Expired,
                note: "The license's term ended; it expired and its capacity returned to the pool",
                now,
                grace_period_end: None,
            },
        )
        .await?;
    }
    Ok(ended)
}

/// A subscription whose warning is due, as the Owners' email names it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpiringSubscription {
    pub license_id: String,
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    pub license_name: String,
    pub name: String,
    pub expires_at: i64,
    pub warned_days: Option<i64>,
}

/// The tenants with a subscription of a licensed LoadMaster expiring within the first
/// warning's reach.
pub async fn tenants_with_expiring_subscriptions(on: impl Read, now: i64) -> Result<Vec<String>> {
    let reach = bandpool_domain::lifecycle::SUBSCRIPTION_WARNINGS[0] * 86_400;
    column(
        on,
        "SELECT DISTINCT s.tenant_id FROM license_subscriptions s \
         JOIN licenses l ON l.id = s.license_id WHERE s.expires_at > $1 AND s.expires_at <= $2 \
         AND l.status IN ('active', 'grace_period')",
        args![now, now + reach],
    )
    .await
}

/// A tenant's subscriptions whose warning (30 or 7 days ahead) is due, each marked as warned
/// in the caller's transaction; with the warning's days.
pub async fn due_warnings(
    tx: &mut WriteTx,
    tenant_id: &str,
    now: i64,
) -> Result<Vec<(ExpiringSubscription, i64)>> {
    let reach = bandpool_domain::lifecycle::SUBSCRIPTION_WARNINGS[0] * 86_400;
    let candidates: Vec<ExpiringSubscription> = rows_as(
        &tx.fetch_all(
            "SELECT s.license_id, l.device_name, l.ip_address, l.license_name, s.name, \
             s.expires_at, s.warned_days FROM license_subscriptions s \
             JOIN licenses l ON l.id = s.license_id WHERE s.tenant_id = $1 \
             AND s.expires_at > $2 AND s.expires_at <= $3 \
             AND l.status IN ('active', 'grace_period') ORDER BY s.expires_at, l.device_name, s.position",
            args![tenant_id, now, now + reach],
        )
        .await?,
    )?;
    let mut due = Vec::new();
    for s in candidates {
        if let Some(days) = warning_due(s.expires_at, s.warned_days, now) {
            tx.execute(
                "UPDATE license_subscriptions SET warned_days = $3 WHERE license_id = $1 AND name = $2",
                args![s.license_id.clone(), s.name.clone(), days],
            )
            .await?;
            due.push((s, days));
        }
    }
    Ok(due)
}

#[derive(sqlx::FromRow)]
struct LicensedRow {
    license_id: String,
    ip_address: Option<String>,
    nickname: Option<String>,
    license_name: String,
    #[sqlx(try_from = "String")]
    kind: LicenseKind,
    expires_at: Option<i64>,
}

/// The tenant's licensed LoadMasters (Active licenses: one whose connector is down is not
/// reachable, and the Licenses table leaves it out) with their subscriptions.
pub async fn licensed_loadmasters(
    mut on: impl Read,
    tenant_id: &str,
) -> Result<Vec<bandpool_domain::lifecycle::LicensedLoadMaster>> {
    let licenses: Vec<LicensedRow> = rows_as(
        &on.fetch_all(
            "SELECT id AS license_id, ip_address, device_name AS nickname, license_name, kind, \
             expires_at FROM licenses WHERE tenant_id = $1 AND status = 'active'",
            args![tenant_id],
        )
        .await?,
    )?;
    let subscriptions: Vec<(String, String, i64)> = rows_as(
        &on.fetch_all(
            "SELECT s.license_id, s.name, s.expires_at FROM license_subscriptions s \
             JOIN licenses l ON l.id = s.license_id WHERE s.tenant_id = $1 AND l.status = 'active' \
             ORDER BY s.license_id, s.position",
            args![tenant_id],
        )
        .await?,
    )?;
    let mut by_license: std::collections::HashMap<String, Vec<Subscription>> =
        std::collections::HashMap::new();
    for (license_id, name, expires_at) in subscriptions {
        by_license
            .entry(license_id)
            .or_default()
            .push(Subscription { name, expires_at });
    }
    Ok(licenses
        .into_iter()
        .map(|l| bandpool_domain::lifecycle::LicensedLoadMaster {
            subscriptions: by_license.remove(&l.license_id).unwrap_or_default(),
            license_id: l.license_id,
            ip_address: l.ip_address,
            nickname: l.nickname,
            license_name: l.license_name,
            kind: l.kind,
            expires_at: l.expires_at,
        })
        .collect())
}

/// The licenses a LoadMaster may take: an order's lines (with what the order and the pool
/// have left), or the pool's license types for its SKU (with what the pool, or a metered
/// contract, has left); largest first.
pub async fn availability(
    mut on: impl Read,
    tenant_id: &str,
    request: &bandpool_domain::lifecycle::AvailabilityRequest,
    now: i64,
) -> Result<bandpool_domain::lifecycle::Availability> {
    use bandpool_domain::error::Refusal;
    use bandpool_domain::lifecycle::{pool_room, Availability, AvailableLicense};
    let room = crate::pool::room(&mut on, tenant_id)
        .await?
        .ok_or_else(|| AppError::Refused {
            refusal: Refusal::TenantUnlicensed,
            detail: "The tenant has no license pool; ask your vendor to issue one.".into(),
        })?;
    // A metered contract limits activations, not capacity.
    #[derive(sqlx::FromRow)]
    struct Contract {
        max_activations: i64,
        trial_ends_at: Option<i64>,
        metered_active: i64,
    }
    let contract: Option<Contract> = optional_as(
        &mut on,
        "SELECT c.max_activations, c.trial_ends_at, \
         (SELECT COUNT(*) FROM licenses l WHERE l.tenant_id = $1 AND l.metered = 1 \
             AND l.status IN ('active', 'grace_period')) AS metered_active \
         FROM metered_contracts c WHERE c.tenant_id = $1",
        args![tenant_id],
    )
    .await?;
    let metered_left = contract.map(|c| {
        let limit = match c.trial_ends_at {
            Some(_) => c
                .max_activations
                .min(bandpool_domain::activation::TRIAL_ACTIVATIONS),
            None => c.max_activations,
        };
        limit - c.metered_active
    });
    let fits = |bandwidth: i64| {
        pool_room(
            room.max_capacity_mbps,
            room.allocated,
            room.loadmaster_limit,
            room.holding,
            bandwidth,
            metered_left,
        )
    };
    #[derive(sqlx::FromRow)]
    struct TypeRow {
        id: String,
        name: String,
        bandwidth_mbps: i64,
        ssl_tps: i64,
        quantity: Option<i64>,
        in_use: Option<i64>,
        license_ends_at: Option<i64>,
    }
    let named = request
        .order_id
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let licenses = match named {
        Some(order_id) => {
            let head: OrderRow = optional_as(
                &mut on,
                "SELECT id, order_id, support_tier, support_ends_at, spla, created_at FROM orders \
                 WHERE tenant_id = $1 AND order_id = $2",
                args![tenant_id, order_id],
            )
            .await?
            .ok_or_else(|| AppError::Refused {
                refusal: Refusal::OrderNotFound,
                detail: "Check the Order ID your vendor gave you; the portal has no such order for this tenant.".into(),
            })?;
            let lines: Vec<TypeRow> = rows_as(
                &on.fetch_all(
                    &format!(
                        "SELECT t.id, t.name, t.bandwidth_mbps, t.ssl_tps, o.quantity, \
                         {IN_USE} AS in_use, o.license_ends_at FROM order_lines o \
                         JOIN license_types t ON t.id = o.license_type_id \
                         WHERE o.order_ref = $1 AND t.sku = $2 ORDER BY t.bandwidth_mbps DESC, t.name"
                    ),
                    args![head.id.clone(), request.sku.clone()],
                )
                .await?,
            )?;
            lines
                .into_iter()
                .map(|t| {
                    let ended = t.license_ends_at.is_some_and(|end| end <= now);
                    let left = if ended {
                        0
                    } else {
                        t.quantity.unwrap_or(0) - t.in_use.unwrap_or(0)
                    };
                    AvailableLicense {
                        remaining: left.max(0).min(fits(t.bandwidth_mbps)),
                        license_type_id: t.id,
                        license_name: t.name,
                        kind: LicenseKind::Permanent,
                        order_id: Some(head.order_id.clone()),
                        bandwidth_mbps: t.bandwidth_mbps,
                        ssl_tps: t.ssl_tps,
                        support_tier: Some(head.support_tier),
                        support_ends_at: Some(head.support_ends_at),
                    }
                })
                .collect()
        }
        None => {
            let types: Vec<TypeRow> = rows_as(
                &on.fetch_all(
                    "SELECT id, name, bandwidth_mbps, ssl_tps, CAST(NULL AS BIGINT) AS quantity, \
                     CAST(NULL AS BIGINT) AS in_use, CAST(NULL AS BIGINT) AS license_ends_at \
                     FROM license_types WHERE sku = $1 ORDER BY bandwidth_mbps DESC, name",
                    args![request.sku.clone()],
                )
                .await?,
            )?;
            let kind = if metered_left.is_some() {
                LicenseKind::Metered
            } else {
                LicenseKind::Pooled
            };
            types
                .into_iter()
                .map(|t| AvailableLicense {
                    remaining: fits(t.bandwidth_mbps),
                    license_type_id: t.id,
                    license_name: t.name,
                    kind,
                    order_id: None,
                    bandwidth_mbps: t.bandwidth_mbps,
                    ssl_tps: t.ssl_tps,
                    support_tier: None,
                    support_ends_at: None,
                })
                .collect()
        }
    };
    Ok(Availability { licenses })
}
