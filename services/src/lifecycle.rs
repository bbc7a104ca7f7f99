//! The license lifecycle's use cases: the operator records a tenant's orders; members read
//! them; and the lifecycle pass (run by the connector health pass on the injected clock)
//! expires licenses whose term ended (capacity back in the pool, the Owners emailed, the
//! event log and history told) and warns the Owners of subscriptions expiring in 30 and
//! 7 days.

use crate::change::{Event, Scope};
use crate::Services;
use bandpool_domain::format::format_date;
use bandpool_domain::lifecycle::{Order, OrderInput};
use bandpool_domain::AppError;
use bandpool_store::events::{Actor, Change};
use bandpool_store::lifecycle::{EndedTerm, ExpiringSubscription};

/// An operator records an order for a tenant, or replaces the one with the same Order ID.
/// Returns whether it is new.
pub async fn record_order(
    services: &Services,
    actor: &Actor,
    tenant_id: &str,
    input: &OrderInput,
) -> Result<bool, AppError> {
    let order = input.checked()?;
    let scope = Scope {
        actor,
        tenant_id: Some(tenant_id),
    };
    let now = services.now();
    services
        .change(scope, async |tx| {
            let new = bandpool_store::lifecycle::record_order(tx, tenant_id, &order, now).await?;
            let lines = order
                .lines
                .iter()
                .map(|(t, q, _)| format!("{q} x {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            let detail = format!(
                "{} order: {lines}; {} support until {}",
                if new { "new" } else { "changed" },
                order.support_tier.label(),
                format_date(order.support_ends_at - 1)
            );
            Ok((
                new,
                Some(Event::new("order_recorded", &order.order_id, detail)),
            ))
        })
        .await
}

/// An operator reads a tenant's orders: a tenant that does not exist is a 404, not an empty
/// list.
pub async fn tenant_orders(services: &Services, tenant_id: &str) -> Result<Vec<Order>, AppError> {
    bandpool_store::tenants::require(&services.db, tenant_id).await?;
    orders(services, tenant_id).await
}

/// A tenant's orders with what is in use of each.
pub async fn orders(services: &Services, tenant_id: &str) -> Result<Vec<Order>, AppError> {
    bandpool_store::lifecycle::orders(&services.db, tenant_id).await
}

/// What one lifecycle pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LifecyclePass {
    /// Licenses whose term ended (now Expired).
    pub terms_ended: usize,
    /// Subscription warnings sent (one per subscription and warning).
    pub subscription_warnings: usize,
}

fn terms() -> Actor {
    Actor::system("license terms")
}

/// Expire licenses whose term ended and warn of expiring subscriptions, one transaction per
/// tenant: the change, its events and the Owners' email commit together.
pub async fn pass(services: &Services) -> Result<LifecyclePass, AppError> {
    let now = services.now();
    let mut pass = LifecyclePass::default();
    for tenant_id in bandpool_store::lifecycle::tenants_with_ended_terms(&services.db, now).await? {
        let mut tx = services.db.begin_write().await?;
        let ended = bandpool_store::lifecycle::end_terms(&mut tx, &tenant_id, now).await?;
        if ended.is_empty() {
            continue;
        }
        let actor = terms();
        for license in &ended {
            Change::at(&tenant_id, now, &actor)
                .record(
                    &mut tx,
                    "license_term_ended",
                    &name_of(license.device_name.as_deref(), &license.serial_no),
                    &format!(
                        "{} {} license's term ended on {}; {} Mb/s returned to the pool",
                        license.license_name,
                        license.kind.label().to_lowercase(),
                        format_date(license.expires_at),
                        license.bandwidth_mbps
                    ),
                )
                .await?;
        }
        let body = "The term of these licenses ended and they expired.";
        email_expired(services, &mut tx, &tenant_id, &ended, body).await?;
        tx.commit().await?;
        services.outbox.wake();
        tracing::info!(tenant = %tenant_id, licenses = ended.len(), "license terms ended");
        pass.terms_ended += ended.len();
        // Capacity came back: a reached limit may be cleared.
        crate::notifications::check_limits(services, &tenant_id).await;
    }
    for tenant_id in
        bandpool_store::lifecycle::tenants_with_expiring_subscriptions(&services.db, now).await?
    {
        let mut tx = services.db.begin_write().await?;
        let due = bandpool_store::lifecycle::due_warnings(&mut tx, &tenant_id, now).await?;
        if due.is_empty() {
            continue;
        }
        let (subject, body) = expiring_email(services, &due);
        Change::at(&tenant_id, now, &terms())
            .record(
                &mut tx,
                "subscriptions_expiring",
                &format!("{} subscription(s)", due.len()),
                &subject,
            )
            .await?;
        for owner in bandpool_store::accounts::owner_emails(&mut tx, &tenant_id).await? {
            crate::mail::queue(services, &mut tx, Some(&tenant_id), &owner, &subject, &body)
                .await?;
        }
        tx.commit().await?;
        services.outbox.wake();
        pass.subscription_warnings += due.len();
    }
    Ok(pass)
}

/// Licenses whose connector's grace period ended expire (capacity back in the pool), and
/// the Owners are emailed in the same transaction. Returns how many expired.
pub async fn expire_graces(services: &Services) -> Result<usize, AppError> {
    let now = services.now();
    let mut expired = 0;
    for tenant_id in
        bandpool_store::connectors::tenants_with_ended_graces(&services.db, now).await?
    {
        let mut tx = services.db.begin_write().await?;
        let ended = bandpool_store::connectors::end_graces(&mut tx, &tenant_id, now).await?;
        if ended.is_empty() {
            continue;
        }
        let why = "The grace period of these licenses ended (their connector stayed down for \
                   30 days) and they expired.";
        email_expired(services, &mut tx, &tenant_id, &ended, why).await?;
        tx.commit().await?;
        services.outbox.wake();
        tracing::info!(tenant = %tenant_id, licenses = ended.len(), "grace periods ended; licenses expired");
        expired += ended.len();
        crate::notifications::check_limits(services, &tenant_id).await;
    }
    Ok(expired)
}

/// Queue the email that tells a tenant's Owners which licenses expired and why.
async fn email_expired(
    services: &Services,
    tx: &mut bandpool_store::WriteTx,
    tenant_id: &str,
    ended: &[EndedTerm],
    why: &str,
) -> Result<(), AppError> {
    let (subject, body) = ended_email(services, ended, why);
    for owner in bandpool_store::accounts::owner_emails(&mut *tx, tenant_id).await? {
        crate::mail::queue(services, tx, Some(tenant_id), &owner, &subject, &body).await?;
    }
    Ok(())
}

/// How a LoadMaster is named in messages: its device name, else its serial number.
fn name_of(device_name: Option<&str>, serial_no: &str) -> String {
    device_name
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("serial {serial_no}"))
}

fn ended_email(services: &Services, ended: &[EndedTerm], why: &str) -> (String, String) {
    let subject = match ended {
        [one] => format!(
            "License expired: {}",
            name_of(one.device_name.as_deref(), &one.serial_no)
        ),
        many => format!("{} licenses expired", many.len()),
    };
    let lines = ended
        .iter()
        .map(|l| {
            format!(
                "- {} ({}, serial {}): {} {} license, ended {}; {} Mb/s back in the pool",
                name_of(l.device_name.as_deref(), &l.serial_no),
                l.ip_address.as_deref().unwrap_or("no address"),
                l.serial_no,
                l.license_name,
                l.kind.label().to_lowercase(),
                format_date(l.expires_at),
                l.bandwidth_mbps
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let body = format!(
        "{why} The LoadMasters stop working at their next check; their capacity is back in \
         the pool.\n\n{lines}\n\nLicense them again to keep them running.\n\n{}\n",
        services.portal.link("/license-repository?status=expired")
    );
    (subject, body)
}

fn expiring_email(services: &Services, due: &[(ExpiringSubscription, i64)]) -> (String, String) {
    let soonest = due.iter().map(|(_, days)| *days).min().unwrap_or(30);
    let subject = format!("{} subscription(s) expire within {soonest} days", due.len());
    let lines = due
        .iter()
        .map(|(s, _)| {
            format!(
                "- {} on {} ({}, {}): expires {}",
                s.name,
                s.device_name.as_deref().unwrap_or("a LoadMaster"),
                s.ip_address.as_deref().unwrap_or("no address"),
                s.license_name,
                format_date(s.expires_at)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let body = format!(
        "These subscriptions of your LoadMasters expire soon. Renew them with your vendor, then \
         use Update License/Owner on each LoadMaster.\n\n{lines}\n\n{}\n",
        services.portal.link("/licenses")
    );
    (subject, body)
}

/// The Licenses table: the tenant's licensed LoadMasters, each license followed by its
/// subscriptions, sorted as asked.
pub async fn licenses_table(
    services: &Services,
    tenant_id: &str,
    sort: bandpool_domain::lifecycle::LicensesSort,
    order: bandpool_domain::license::SortOrder,
) -> Result<Vec<bandpool_domain::lifecycle::LicensesTableRow>, AppError> {
    let loadmasters =
        bandpool_store::lifecycle::licensed_loadmasters(&services.db, tenant_id).await?;
    Ok(bandpool_domain::lifecycle::licenses_table(
        loadmasters,
        sort,
        order,
        services.now(),
    ))
}
