//! Metered licensing: the usage samples connectors relay, a month's metered usage and its
//! tier, the tenant's metered contract (set by the operator), and the expiry of raw samples
//! after the retention period (daily and monthly peaks stay for billing).

use bandpool_domain::metered::{bytes_to_mbps, day_and_month, MeteredMonth, Tier, Tiers};
use bandpool_domain::AppError;
pub use bandpool_store::metered::{Contract, DayPeak};

use crate::Services;

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

/// Delete raw samples older than the retention period, a batch at a time; answers how many.
pub async fn expire_samples(services: &Services) -> Result<u64, AppError> {
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
