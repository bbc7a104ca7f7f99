//! Metered licensing: the usage samples connectors relay, a month's metered usage and its
//! tier, the tenant's metered contract (set by the operator), and the expiry of raw samples
//! after the retention period (daily and monthly peaks stay for billing).

use bandpool_domain::ids::Id;
use bandpool_domain::metered::{
    block_after_label, bytes_to_mbps, check_block_after, day_and_month, ActivationStatus,
    Activations, LoadMasterPeaks, MeteredMonth, PeakQuery, Tier, Tiers,
};
use bandpool_domain::AppError;

use crate::change::{Caller, Event};
pub use bandpool_store::metered::{Contract, DailyPeak};

use crate::{Db, Services};

/// The tenant's metered usage in `month` (`YYYY-MM`), or in the current month.
pub async fn month_usage(
    services: &Services,
    tenant_id: &str,
    month: Option<&str>,
) -> Result<MeteredMonth, AppError> {
    let (_, current) = day_and_month(services.now());
    let month = match month {
        Some(m) => {
            bandpool_domain::allocation::parse_month(m)
                .ok_or_else(|| AppError::invalid("month", "must be a month as YYYY-MM"))?;
            m.to_string()
        }
        None => current.clone(),
    };
    let usage = bandpool_store::metered::month_usage(&services.db, tenant_id, &month).await?;
    let tiers = bandpool_store::metered::tiers(&services.db, tenant_id).await?;
    let usage_mbps = bytes_to_mbps(usage.usage_bytes_per_second);
    Ok(MeteredMonth {
        so_far: month >= current,
        tier: tiers.map(|t| t.tier_for(usage_mbps).clone()),
        usage_mbps,
        usage_bytes_per_second: usage.usage_bytes_per_second,
        loadmasters: usage.loadmasters,
        month,
    })
}

/// The last `count` months of metered usage, oldest first, ending with the current month
/// ("so far"); months without samples are there with nothing used.
pub async fn history(
    services: &Services,
    tenant_id: &str,
    count: u32,
) -> Result<Vec<MeteredMonth>, AppError> {
    if !(1..=36).contains(&count) {
        return Err(AppError::invalid("months", "must be 1 to 36"));
    }
    let today = services.clock.today();
    let first = bandpool_domain::allocation::months_back(
        bandpool_domain::allocation::first_of_month(today),
        count - 1,
    );
    let months: Vec<String> = (0..count)
        .map(|i| {
            first
                .checked_add_months(chrono::Months::new(i))
                .unwrap_or(first)
                .format("%Y-%m")
                .to_string()
        })
        .collect();
    let (from, to) = (months[0].clone(), months[months.len() - 1].clone());
    let found = bandpool_store::metered::months(&services.db, tenant_id, &from, &to).await?;
    let tiers = bandpool_store::metered::tiers(&services.db, tenant_id).await?;
    Ok(months
        .into_iter()
        .map(|month| {
            let usage = found
                .iter()
                .find(|(m, _)| *m == month)
                .map(|(_, u)| u.clone())
                .unwrap_or(bandpool_store::metered::MonthUsage {
                    usage_bytes_per_second: 0,
                    loadmasters: 0,
                });
            let usage_mbps = bytes_to_mbps(usage.usage_bytes_per_second);
            MeteredMonth {
                so_far: month == to,
                tier: tiers.as_ref().map(|t| t.tier_for(usage_mbps).clone()),
                usage_mbps,
                usage_bytes_per_second: usage.usage_bytes_per_second,
                loadmasters: usage.loadmasters,
                month,
            }
        })
        .collect())
}

/// A page of the LoadMasters that reported in the query's month (the current one when it
/// names none), with their monthly peaks.
pub async fn loadmaster_peaks(
    services: &Services,
    tenant_id: &str,
    query: &PeakQuery,
) -> Result<LoadMasterPeaks, AppError> {
    let month = query
        .month
        .clone()
        .unwrap_or_else(|| day_and_month(services.now()).1);
    let (loadmasters, total) =
        bandpool_store::metered::loadmaster_peaks(&services.db, tenant_id, &month, query).await?;
    Ok(LoadMasterPeaks {
        month,
        loadmasters,
        total,
        page: query.page,
        per_page: query.per_page,
    })
}

/// One LoadMaster's daily peaks in `month` (`YYYY-MM`; empty: the current month).
pub async fn daily_peaks(
    services: &Services,
    tenant_id: &str,
    license_id: &str,
    month: Option<&str>,
) -> Result<Vec<DailyPeak>, AppError> {
    let month = match month {
        Some(m) => m.to_string(),
        None => day_and_month(services.now()).1,
    };
    let first = bandpool_domain::allocation::parse_month(&month)
        .ok_or_else(|| AppError::invalid("month", "must be a month as YYYY-MM"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first);
    bandpool_store::metered::daily_peaks(
        &services.db,
        tenant_id,
        license_id,
        &first.format("%Y-%m-%d").to_string(),
        &last.format("%Y-%m-%d").to_string(),
    )
    .await
}

/// A tenant's metered contract with its tiers (none for a tenant without one): what the
/// operator's contract form shows.
pub async fn contract(
    db: &Db,
    tenant_id: &str,
) -> Result<Option<bandpool_domain::metered::MeteredContract>, AppError> {
    let Some(contract) = bandpool_store::metered::contract(db, tenant_id).await? else {
        return Ok(None);
    };
    let tiers = bandpool_store::metered::tiers(db, tenant_id).await?;
    Ok(Some(bandpool_domain::metered::MeteredContract {
        contract_id: contract.contract_id,
        max_activations: contract.max_activations,
        trial_ends_at: contract.trial_ends_at,
        tiers: tiers.map(|t| t.as_slice().to_vec()).unwrap_or_default(),
    }))
}

/// The operator makes (or changes) a tenant's metered contract and its usage tiers.
pub async fn set_contract(
    services: &Services,
    tenant_id: &str,
    contract: &Contract,
    tiers: Vec<Tier>,
) -> Result<(), AppError> {
    let tiers = Tiers::new(tiers)?;
    let mut tx = services.db.begin_write().await?;
    bandpool_store::metered::set_contract(&mut tx, tenant_id, contract, &tiers, services.now())
        .await?;
    tx.commit().await
}

/// Expire raw samples older than the retention period (whole UTC days), a batch at a time;
/// answers how many. On PostgreSQL it first makes the coming days' partitions.
pub async fn expire_samples(services: &Services) -> Result<u64, AppError> {
    bandpool_store::partitions::ensure(&services.db, services.now()).await?;
    let before = services.now() - services.connectors.sample_retention_secs;
    let mut gone = 0;
    loop {
        let batch = bandpool_store::metered::expire_samples(&services.db, before, 5_000).await?;
        gone += batch;
        if batch == 0 {
            return Ok(gone);
        }
    }
}

/// The hourly check of the stored month totals against the sums of the monthly peaks they
/// stand for (the last 25 months, as long as peaks are kept for billing): a difference is
/// repaired, logged as an error and counted in /metrics. Answers how many were repaired.
pub async fn check_month_totals(services: &Services) -> Result<usize, AppError> {
    let today = chrono::DateTime::from_timestamp(services.now(), 0)
        .unwrap_or_default()
        .date_naive();
    let from = today
        .checked_sub_months(chrono::Months::new(25))
        .unwrap_or(today)
        .format("%Y-%m")
        .to_string();
    let repairs = bandpool_store::metered::check_totals(&services.db, &from).await?;
    for r in &repairs {
        tracing::error!(
            tenant = %r.tenant_id,
            month = %r.month,
            stored = ?r.stored_bytes_per_second,
            actual = r.actual_bytes_per_second,
            "metered month total differed from its sum; repaired"
        );
        metrics::counter!("bandpool_metered_total_repairs_total").increment(1);
    }
    Ok(repairs.len())
}

/// The tenant's Activations table, the rows of the chosen statuses (every status when none
/// is chosen); none for a tenant without a metered contract.
pub async fn activations(
    services: &Services,
    tenant_id: &str,
    statuses: &[ActivationStatus],
) -> Result<Option<Activations>, AppError> {
    let statuses = if statuses.is_empty() {
        ActivationStatus::ALL.to_vec()
    } else {
        statuses.to_vec()
    };
    bandpool_store::metered::activations(&services.db, tenant_id, &statuses).await
}

/// Unblock Selected: the chosen blocked activations' addresses may take a metered license
/// again. Answers how many were unblocked (ids of rows that are not blocked are passed by).
pub async fn unblock(
    services: &Services,
    caller: &Caller,
    license_ids: &[String],
) -> Result<usize, AppError> {
    if license_ids.is_empty() {
        return Err(AppError::invalid(
            "license_ids",
            "choose at least one blocked activation to unblock",
        ));
    }
    if license_ids.len() > 1_000 {
        return Err(AppError::invalid("license_ids", "at most 1000 at once"));
    }
    let ids = license_ids
        .iter()
        .map(|id| Id::parse("license_ids", "an activation", id).map(|id| id.as_str().to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let now = services.now();
    services
        .change(caller.scope(), async |tx| {
            let n =
                bandpool_store::metered::unblock(tx, caller.tenant_id(), &ids, &caller.actor, now)
                    .await?;
            Ok((n, None))
        })
        .await
}

/// Set "Block unconfirmed activations after" (seconds: one of the offered periods).
pub async fn set_block_after(
    services: &Services,
    caller: &Caller,
    seconds: i64,
) -> Result<(), AppError> {
    let seconds = check_block_after(seconds)?;
    let now = services.now();
    services
        .change(caller.scope(), async |tx| {
            bandpool_store::metered::set_block_after(tx, caller.tenant_id(), seconds, now).await?;
            let event = Event::new(
                "metered_settings_changed",
                "Block unconfirmed activations after",
                block_after_label(seconds),
            );
            Ok(((), Some(event)))
        })
        .await
}

/// One pass of the unconfirmed-activation sweep at the clock's now: every metered
/// activation its connector has not confirmed within its tenant's setting is removed, its
/// address blocked, and the tenant's Owners and Admins emailed (through the outbox, in the
/// same transaction). Answers how many were blocked; running it twice blocks nothing twice.
pub async fn block_unconfirmed(services: &Services) -> Result<usize, AppError> {
    let now = services.now();
    let mut blocked = 0;
    loop {
        let due = bandpool_store::metered::unconfirmed_due(&services.db, now, 100).await?;
        if due.is_empty() {
            break;
        }
        let mut progressed = false;
        for one in &due {
            let waited = block_after_label(one.block_after);
            let mut tx = services.db.begin_write().await?;
            if !bandpool_store::metered::block(&mut tx, one, &waited, now).await? {
                continue;
            }
            let (subject, body) = blocked_email(one, &waited);
            for to in
                bandpool_store::accounts::owner_and_admin_emails(&mut tx, &one.tenant_id).await?
            {
                crate::mail::queue(
                    services,
                    &mut tx,
                    Some(&one.tenant_id),
                    &to,
                    &subject,
                    &body,
                )
                .await?;
            }
            let connector: Option<String> =
                bandpool_store::licenses::get(&mut tx, &one.tenant_id, &one.license_id)
                    .await?
                    .connector_id;
            tx.commit().await?;
            services.outbox.wake();
            if let Some(connector) = connector {
                services.wakeups.ring(&connector);
            }
            tracing::warn!(tenant = %one.tenant_id, address = %one.ip_address, "unconfirmed metered activation blocked");
            blocked += 1;
            progressed = true;
        }
        if !progressed || due.len() < 100 {
            break;
        }
    }
    Ok(blocked)
}

fn blocked_email(one: &bandpool_store::metered::Unconfirmed, waited: &str) -> (String, String) {
    (
        format!("Bandpool: metered LoadMaster at {} blocked", one.ip_address),
        format!(
            "A LoadMaster at {address} (serial {serial}) took a metered {license} license on {at}, \
             and its connector has not confirmed it (no usage sample reached the portal) within \
             {waited}. An unmanaged device must not hold a license, so Bandpool removed it: the \
             license is back in the pool and the address {address} cannot take a metered license \
             again.\n\nIf it was removed by mistake, unblock it on the Activations page (Unblock \
             Selected) and license the LoadMaster again.\n",
            address = one.ip_address,
            serial = one.serial_no,
            license = one.license_name,
            at = bandpool_domain::format::format_datetime(one.activated_at),
        ),
    )
}

/// The daily instance check: at 12:00 UTC each day (and at the first health pass after a
/// start that finds a metered tenant never checked, as after the migration that brought
/// metered licensing), every metered tenant's last recorded number of active instances is
/// compared with the actual number. A discrepancy is recorded with both numbers, logged as
/// an error and written to the event log as `metered_instances_discrepancy`; agreement as
/// `metered_instances_checked` with the count. Answers the checks made; a tenant checked
/// since the last noon is not checked twice.
pub async fn daily_instance_check(
    services: &Services,
) -> Result<Vec<bandpool_store::metered::InstanceCheck>, AppError> {
    let now = services.now();
    let noon = now.div_euclid(86_400) * 86_400 + 12 * 3_600;
    // Before today's noon, yesterday's noon is the last one due.
    let due_since = if now >= noon { noon } else { noon - 86_400 };
    let mut checks = Vec::new();
    for tenant_id in bandpool_store::metered::unchecked_since(&services.db, due_since).await? {
        let check = services
            .change(
                crate::change::Scope {
                    actor: &crate::Actor::system("Bandpool (daily instance check)"),
                    tenant_id: Some(&tenant_id),
                },
                async |tx| {
                    let check = bandpool_store::metered::check_instances(tx, &tenant_id, now).await?;
                    let event = if check.discrepancy() {
                        Event::new(
                            "metered_instances_discrepancy",
                            "Sync (Discrepancy)",
                            format!(
                                "the last recorded number of active metered instances was {}, the actual number is {}; corrected",
                                check.recorded.unwrap_or_default(),
                                check.actual
                            ),
                        )
                    } else {
                        Event::new(
                            "metered_instances_checked",
                            "Sync (No Discrepancy)",
                            format!("{} active metered instances", check.actual),
                        )
                    };
                    Ok((check, Some(event)))
                },
            )
            .await?;
        if check.discrepancy() {
            tracing::error!(tenant = %tenant_id, recorded = ?check.recorded, actual = check.actual, "metered instance count discrepancy");
        }
        checks.push(check);
    }
    Ok(checks)
}
