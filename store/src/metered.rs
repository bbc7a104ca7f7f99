//! Metered usage: the samples connectors relay for their LoadMasters, each LoadMaster's peaks
//! per UTC day and per month (changed in the same transaction as the samples that move
//! them), a month's usage (the sum of the metered LoadMasters' monthly peaks) and its tier,
//! the tenant's metered contract, and the expiry of raw samples after the retention period.
//!
//! A report is remembered by its idempotency key like every connector message, and each
//! sample is stored once per LoadMaster and time, so a replayed report, or the same sample
//! in a batch the agent cut again, is counted once.

use crate::args;
use crate::connectors::ConnectorIdentity;
use crate::db::{Db, Read, Value, WriteTx};
use crate::idempotency::{self, check_key, Claim, MessageKey, MessageKind};
use crate::Result;
use bandpool_domain::activation::MeteredFacts;
use bandpool_domain::connector::ApplianceIdentity;
pub use bandpool_domain::metered::DailyPeak;
use bandpool_domain::metered::{
    check_report, day_and_month, ActivationStatus, Activations, LoadMasterPeak, PeakQuery,
    PeakSort, RefusedSample, Tier, Tiers, UsageReport, UsageReportResponse, UsageSample,
};
use bandpool_domain::AppError;
use std::collections::{BTreeMap, HashMap};

/// A refused sample's codes.
pub const UNKNOWN_LICENSE: &str = "unknown_license";
pub const SAMPLE_TOO_OLD: &str = "sample_too_old";

/// Rows per multi-row statement: about 1,000 parameters, as `db::insert_rows` keeps them.
const ROWS_PER_STATEMENT: usize = 120;

/// A license the reporting connector issued.
#[derive(sqlx::FromRow)]
struct Reporter {
    id: String,
    serial_no: String,
    metered: bandpool_domain::Flag,
}

/// Record a connector's usage report at `now`; samples older than `retention_seconds` are
/// refused (the portal could not keep them), the rest are stored once and move their day's
/// and month's peaks.
pub async fn record_usage(
    db: &Db,
    connector: &ConnectorIdentity,
    report: &UsageReport,
    now: i64,
    retention_seconds: i64,
) -> Result<UsageReportResponse> {
    check_key(&report.idempotency_key)?;
    check_report(report, now)?;
    let key = MessageKey::new(MessageKind::Usage, &report.idempotency_key, report)?;
    let mut tx = db.begin_write().await?;
    // The tenant's metered changes one at a time (PostgreSQL; SQLite's write transaction is
    // alone already): the month totals a report recomputes then count every other report.
    tx.lock_pool(&connector.tenant_id).await?;
    if let Claim::Replay(answer) = idempotency::claim(&mut tx, &connector.id, &key, now).await? {
        tx.commit().await?;
        return serde_json::from_str(&answer).map_err(AppError::internal);
    }
    let reporters = reporters(&mut tx, connector, report).await?;
    let oldest = now - retention_seconds;
    let mut refused = Vec::new();
    let mut fresh: Vec<(&UsageSample, bool)> = Vec::new();
    for sample in &report.samples {
        let code = match reporters.get(&sample.license_id) {
            Some((serial, _)) if *serial != sample.serial_no => Some(UNKNOWN_LICENSE),
            None => Some(UNKNOWN_LICENSE),
            Some(_) if sample.sampled_at < oldest => Some(SAMPLE_TOO_OLD),
            Some(_) => None,
        };
        match code {
            Some(code) => refused.push(RefusedSample {
                license_id: sample.license_id.clone(),
                sampled_at: sample.sampled_at,
                code: code.into(),
            }),
            None => fresh.push((sample, reporters[&sample.license_id].1)),
        }
    }
    let candidates = fresh.len();
    // The same sample twice in one report is stored and counted once.
    let mut seen = std::collections::HashSet::new();
    fresh.retain(|(s, _)| seen.insert((s.license_id.as_str(), s.sampled_at)));
    let stored = store_samples(&mut tx, &connector.tenant_id, &fresh).await?;
    let recorded: Vec<(&UsageSample, bool)> = fresh
        .into_iter()
        .filter(|(s, _)| stored.contains(&(s.license_id.clone(), s.sampled_at)))
        .collect();
    raise_peaks(&mut tx, &connector.tenant_id, &recorded).await?;
    confirm_activations(&mut tx, &connector.tenant_id, &recorded, now).await?;
    let response = UsageReportResponse {
        recorded: recorded.len(),
        duplicates: candidates - recorded.len(),
        refused,
    };
    let answer = serde_json::to_string(&response).map_err(AppError::internal)?;
    idempotency::answer(&mut tx, &connector.id, &key, &answer).await?;
    tx.commit().await?;
    Ok(response)
}

/// The report's licenses that this connector issued, with their serials and metered flags.
async fn reporters(
    tx: &mut WriteTx,
    connector: &ConnectorIdentity,
    report: &UsageReport,
) -> Result<HashMap<String, (String, bool)>> {
    let mut ids: Vec<&String> = report.samples.iter().map(|s| &s.license_id).collect();
    ids.sort();
    ids.dedup();
    let mut found = HashMap::new();
    for (placeholders, values) in crate::db::in_lists(
        args![connector.tenant_id.clone(), connector.id.clone()],
        &ids,
    ) {
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT id, serial_no, metered FROM licenses \
                     WHERE tenant_id = $1 AND connector_id = $2 AND id IN ({placeholders})"
                ),
                values,
            )
            .await?;
        for row in crate::db::rows_as::<Reporter>(&rows)? {
            found.insert(row.id, (row.serial_no, row.metered.into()));
        }
    }
    Ok(found)
}

/// A metered activation is confirmed when its first usage sample reaches the portal (its
/// connector is collecting from it): from then on it is no unmanaged device.
async fn confirm_activations(
    tx: &mut WriteTx,
    tenant_id: &str,
    samples: &[(&UsageSample, bool)],
    now: i64,
) -> Result<()> {
    let mut ids: Vec<&str> = samples
        .iter()
        .filter(|(_, metered)| *metered)
        .map(|(s, _)| s.license_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for (placeholders, values) in crate::db::in_lists(args![tenant_id, now], &ids) {
        tx.execute(
            &format!(
                "UPDATE metered_activations SET confirmed_at = $2 WHERE tenant_id = $1 \
                 AND confirmed_at IS NULL AND license_id IN ({placeholders})"
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// `($1, $2, ...), ($n, ...)` for `rows` rows of `width` values.
fn value_lists(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells = (1..=width)
                .map(|c| format!("${}", r * width + c))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({cells})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Insert the samples the portal does not have yet; answers which (license, time) were new.
async fn store_samples(
    tx: &mut WriteTx,
    tenant_id: &str,
    samples: &[(&UsageSample, bool)],
) -> Result<std::collections::HashSet<(String, i64)>> {
    let mut stored = std::collections::HashSet::new();
    for chunk in samples.chunks(ROWS_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * 6);
        for (s, _) in chunk {
            values.extend(args![
                s.license_id.clone(),
                s.sampled_at,
                tenant_id.to_string(),
                s.bytes_in_per_second,
                s.bytes_out_per_second,
                s.ssl_tps
            ]);
        }
        let rows = tx
            .fetch_all(
                &format!(
                    "INSERT INTO usage_samples (license_id, sampled_at, tenant_id, \
                     bytes_in_per_second, bytes_out_per_second, ssl_tps) VALUES {} \
                     ON CONFLICT (license_id, sampled_at) DO NOTHING \
                     RETURNING license_id, sampled_at",
                    value_lists(chunk.len(), 6)
                ),
                values,
            )
            .await?;
        #[derive(sqlx::FromRow)]
        struct Key {
            license_id: String,
            sampled_at: i64,
        }
        for key in crate::db::rows_as::<Key>(&rows)? {
            stored.insert((key.license_id, key.sampled_at));
        }
    }
    let bytes: Vec<Vec<Value>> = samples
        .iter()
        .filter(|(s, _)| stored.contains(&(s.license_id.clone(), s.sampled_at)))
        .flat_map(|(s, _)| {
            // A name reported twice in one sample counts once (its last figure).
            let mut by_name: BTreeMap<&str, i64> = BTreeMap::new();
            for vs in &s.virtual_services {
                by_name.insert(&vs.name, vs.bytes);
            }
            by_name
                .into_iter()
                .map(|(name, bytes)| args![s.license_id.clone(), s.sampled_at, name, bytes])
                .collect::<Vec<_>>()
        })
        .collect();
    crate::db::insert_rows(
        tx,
        "usage_sample_virtual_services",
        &["license_id", "sampled_at", "name", "bytes"],
        bytes,
    )
    .await?;
    Ok(stored)
}

/// The highest throughput (and when) and the highest SSL TPS among some samples.
#[derive(Debug, Clone, Copy)]
struct Peak {
    bytes_per_second: i64,
    at: i64,
    ssl_tps: i64,
    samples: i64,
    metered: bool,
}

impl Peak {
    fn of(sample: &UsageSample, metered: bool) -> Peak {
        Peak {
            bytes_per_second: sample.throughput(),
            at: sample.sampled_at,
            ssl_tps: sample.ssl_tps,
            samples: 1,
            metered,
        }
    }

    fn with(self, other: Peak) -> Peak {
        let (bytes_per_second, at) = if other.bytes_per_second > self.bytes_per_second {
            (other.bytes_per_second, other.at)
        } else {
            (self.bytes_per_second, self.at)
        };
        Peak {
            bytes_per_second,
            at,
            ssl_tps: self.ssl_tps.max(other.ssl_tps),
            samples: self.samples + other.samples,
            metered: self.metered || other.metered,
        }
    }
}

/// The conflict clause that raises a stored peak to an inserted one's when it is higher (in
/// both engines a SET expression reads the row as it was before the update).
fn raise_clause(table: &str, key: &str, also: &str) -> String {
    let higher = |column: &str| {
        format!(
            "CASE WHEN excluded.peak_bytes_per_second > {table}.peak_bytes_per_second \
             THEN excluded.{column} ELSE {table}.{column} END"
        )
    };
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET peak_at = {}, peak_bytes_per_second = {}, \
         peak_ssl_tps = CASE WHEN excluded.peak_ssl_tps > {table}.peak_ssl_tps \
         THEN excluded.peak_ssl_tps ELSE {table}.peak_ssl_tps END{also}",
        higher("peak_at"),
        higher("peak_bytes_per_second"),
    )
}

pub(crate) const DAILY_COLUMNS: [&str; 7] = [
    "tenant_id",
    "license_id",
    "day",
    "peak_bytes_per_second",
    "peak_at",
    "peak_ssl_tps",
    "samples",
];
pub(crate) const MONTHLY_COLUMNS: [&str; 7] = [
    "tenant_id",
    "month",
    "license_id",
    "metered",
    "peak_bytes_per_second",
    "peak_at",
    "peak_ssl_tps",
];

/// A day's peaks raised (and its samples counted) by an insert that meets the stored row.
pub(crate) static RAISE_DAY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    raise_clause(
        "metered_daily",
        "tenant_id, license_id, day",
        ", samples = metered_daily.samples + excluded.samples",
    )
});

/// A month's peaks raised by an insert that meets the stored row.
pub(crate) static RAISE_MONTH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    raise_clause("metered_monthly", "tenant_id, month, license_id", "")
});

/// Raise each day's and month's peaks to the new samples' (one statement per group, in key
/// order, so two reports over the same LoadMasters on PostgreSQL lock rows in one order).
async fn raise_peaks(
    tx: &mut WriteTx,
    tenant_id: &str,
    samples: &[(&UsageSample, bool)],
) -> Result<()> {
    let mut days: BTreeMap<(&str, String), Peak> = BTreeMap::new();
    let mut months: BTreeMap<(&str, String), Peak> = BTreeMap::new();
    for (sample, metered) in samples {
        let (day, month) = day_and_month(sample.sampled_at);
        let peak = Peak::of(sample, *metered);
        days.entry((sample.license_id.as_str(), day))
            .and_modify(|p| *p = p.with(peak))
            .or_insert(peak);
        months
            .entry((sample.license_id.as_str(), month))
            .and_modify(|p| *p = p.with(peak))
            .or_insert(peak);
    }
    // Multi-row statements in key order: one report costs a few statements, not one per
    // LoadMaster and day, and two reports still lock rows in one order.
    let day_rows = days
        .into_iter()
        .map(|((license_id, day), peak)| {
            args![
                tenant_id,
                license_id,
                day,
                peak.bytes_per_second,
                peak.at,
                peak.ssl_tps,
                peak.samples
            ]
        })
        .collect();
    crate::db::insert_rows_then(tx, "metered_daily", &DAILY_COLUMNS, day_rows, &RAISE_DAY).await?;
    let touched: std::collections::BTreeSet<String> =
        months.keys().map(|(_, month)| month.clone()).collect();
    let month_rows = months
        .into_iter()
        .map(|((license_id, month), peak)| {
            args![
                tenant_id,
                month,
                license_id,
                i64::from(peak.metered),
                peak.bytes_per_second,
                peak.at,
                peak.ssl_tps
            ]
        })
        .collect();
    crate::db::insert_rows_then(
        tx,
        "metered_monthly",
        &MONTHLY_COLUMNS,
        month_rows,
        &RAISE_MONTH,
    )
    .await?;
    recompute_totals(tx, tenant_id, touched.iter().map(String::as_str)).await?;
    Ok(())
}

/// A month's metered usage: the sum of the metered LoadMasters' monthly peaks.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthUsage {
    pub usage_bytes_per_second: i64,
    /// Metered LoadMasters that reported in the month.
    pub loadmasters: i64,
}

pub async fn month_usage(on: impl Read, tenant_id: &str, month: &str) -> Result<MonthUsage> {
    Ok(crate::db::optional_as(
        on,
        "SELECT usage_bytes_per_second, metered_loadmasters AS loadmasters \
         FROM metered_month_totals WHERE tenant_id = $1 AND month = $2",
        args![tenant_id, month],
    )
    .await?
    .unwrap_or(MonthUsage {
        usage_bytes_per_second: 0,
        loadmasters: 0,
    }))
}

/// The statement that makes a month's stored totals equal to the sums of its monthly peaks.
const RECOMPUTE_TOTALS: &str = "INSERT INTO metered_month_totals (tenant_id, month, \
     usage_bytes_per_second, metered_loadmasters, reporting_loadmasters) \
     SELECT $1, $2, \
     CAST(COALESCE(SUM(CASE WHEN metered = 1 THEN peak_bytes_per_second ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(metered), 0) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
     FROM metered_monthly WHERE tenant_id = $1 AND month = $2 \
     ON CONFLICT (tenant_id, month) DO UPDATE SET \
     usage_bytes_per_second = excluded.usage_bytes_per_second, \
     metered_loadmasters = excluded.metered_loadmasters, \
     reporting_loadmasters = excluded.reporting_loadmasters";

/// Bring the stored totals of `months` up to their sums, in the transaction that changed
/// their monthly peaks (which holds the tenant's lock, so no other change slips between).
pub(crate) async fn recompute_totals<'a>(
    tx: &mut WriteTx,
    tenant_id: &str,
    months: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    for month in months {
        tx.execute(RECOMPUTE_TOTALS, args![tenant_id, month])
            .await?;
    }
    Ok(())
}

/// A month whose stored totals differed from the sums of its monthly peaks (and were put
/// right): the hourly check's finding.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TotalsRepair {
    pub tenant_id: String,
    pub month: String,
    pub stored_bytes_per_second: Option<i64>,
    pub actual_bytes_per_second: i64,
}

/// Compare every stored month total from `from_month` on with the sums of its monthly
/// peaks, and repair those that differ (none should: each report recomputes the months it
/// touches). Answers what was repaired.
pub async fn check_totals(db: &Db, from_month: &str) -> Result<Vec<TotalsRepair>> {
    let mut tx = db.begin_write().await?;
    let rows = tx
        .fetch_all(
            "SELECT s.tenant_id, s.month, t.usage_bytes_per_second AS stored_bytes_per_second, \
             s.actual AS actual_bytes_per_second FROM (SELECT tenant_id, month, \
               CAST(SUM(CASE WHEN metered = 1 THEN peak_bytes_per_second ELSE 0 END) AS BIGINT) AS actual, \
               CAST(SUM(metered) AS BIGINT) AS metered, CAST(COUNT(*) AS BIGINT) AS reporting \
               FROM metered_monthly WHERE month >= $1 GROUP BY tenant_id, month) s \
             LEFT JOIN metered_month_totals t ON t.tenant_id = s.tenant_id AND t.month = s.month \
             WHERE t.tenant_id IS NULL OR t.usage_bytes_per_second <> s.actual \
               OR t.metered_loadmasters <> s.metered OR t.reporting_loadmasters <> s.reporting \
             ORDER BY s.tenant_id, s.month",
            args![from_month],
        )
        .await?;
    let repairs: Vec<TotalsRepair> = crate::db::rows_as(&rows)?;
    for r in &repairs {
        tx.lock_pool(&r.tenant_id).await?;
        tx.execute(RECOMPUTE_TOTALS, args![&r.tenant_id, &r.month])
            .await?;
    }
    tx.commit().await?;
    Ok(repairs)
}

/// A LoadMaster's daily peaks from `from_day` to `to_day` (inclusive), oldest first.
pub async fn daily_peaks(
    on: impl Read,
    tenant_id: &str,
    license_id: &str,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<DailyPeak>> {
    let mut on = on;
    let rows = on
        .fetch_all(
            "SELECT day, peak_bytes_per_second, peak_at, peak_ssl_tps, samples FROM metered_daily \
             WHERE tenant_id = $1 AND license_id = $2 AND day >= $3 AND day <= $4 ORDER BY day",
            args![tenant_id, license_id, from_day, to_day],
        )
        .await?;
    crate::db::rows_as(&rows)
}

/// A tenant's metered contract.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Contract {
    pub contract_id: String,
    pub max_activations: i64,
    pub trial_ends_at: Option<i64>,
}

/// Make (or change) a tenant's metered contract and its tiers.
pub async fn set_contract(
    tx: &mut WriteTx,
    tenant_id: &str,
    contract: &Contract,
    tiers: &Tiers,
    now: i64,
) -> Result<()> {
    if contract.contract_id.trim().is_empty()
        || !bandpool_domain::names::is_plain_text(&contract.contract_id, 64)
    {
        return Err(AppError::invalid(
            "contract_id",
            "must be 1 to 64 plain characters",
        ));
    }
    bandpool_domain::names::count("max_activations", contract.max_activations)?;
    crate::tenants::require(&mut *tx, tenant_id).await?;
    tx.execute(
        "INSERT INTO metered_contracts (tenant_id, contract_id, max_activations, trial_ends_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET \
         contract_id = excluded.contract_id, max_activations = excluded.max_activations, \
         trial_ends_at = excluded.trial_ends_at, updated_at = excluded.updated_at",
        args![
            tenant_id,
            contract.contract_id.trim(),
            contract.max_activations,
            contract.trial_ends_at,
            now
        ],
    )
    .await?;
    tx.execute(
        "DELETE FROM metered_tiers WHERE tenant_id = $1",
        args![tenant_id],
    )
    .await?;
    for tier in tiers.as_slice() {
        tx.execute(
            "INSERT INTO metered_tiers (tenant_id, from_mbps, name) VALUES ($1, $2, $3)",
            args![tenant_id, tier.from_mbps, tier.name.trim()],
        )
        .await?;
    }
    Ok(())
}

/// The tenant's metered contract, if it has one.
pub async fn contract(on: impl Read, tenant_id: &str) -> Result<Option<Contract>> {
    crate::db::optional_as(
        on,
        "SELECT contract_id, max_activations, trial_ends_at FROM metered_contracts WHERE tenant_id = $1",
        args![tenant_id],
    )
    .await
}

/// The tenant's usage tiers (none without a contract).
pub async fn tiers(on: impl Read, tenant_id: &str) -> Result<Option<Tiers>> {
    let mut on = on;
    let rows = on
        .fetch_all(
            "SELECT name, from_mbps FROM metered_tiers WHERE tenant_id = $1 ORDER BY from_mbps",
            args![tenant_id],
        )
        .await?;
    let tiers: Vec<Tier> = crate::db::rows_as(&rows)?;
    if tiers.is_empty() {
        Ok(None)
    } else {
        Tiers::new(tiers).map(Some)
    }
}

/// Expire the raw samples of the UTC days that ended by `before`: a day's samples go
/// together, so a sample is kept for the retention period and at most a day longer. On
/// PostgreSQL those days' partitions are dropped whole (`partitions::drop_expired`); rows
/// left outside them (SQLite, or PostgreSQL's default partition) are deleted about `limit`
/// at a time (the sweep calls it until nothing is left, so no delete holds the write lock
/// long). Daily and monthly peaks stay. Answers how many samples went.
pub async fn expire_samples(db: &Db, before: i64, limit: i64) -> Result<u64> {
    let before = before.div_euclid(86_400) * 86_400;
    let dropped = crate::partitions::drop_expired(db, before).await?;
    let mut tx = db.begin_write().await?;
    let cutoff: Option<i64> = crate::db::value(
        &mut tx,
        "SELECT MAX(sampled_at) FROM (SELECT sampled_at FROM usage_samples \
         WHERE sampled_at < $1 ORDER BY sampled_at LIMIT $2) oldest",
        args![before, limit],
    )
    .await?;
    let Some(cutoff) = cutoff else {
        tx.commit().await?;
        return Ok(dropped);
    };
    tx.execute(
        "DELETE FROM usage_sample_virtual_services WHERE sampled_at <= $1",
        args![cutoff],
    )
    .await?;
    let gone = tx
        .execute(
            "DELETE FROM usage_samples WHERE sampled_at <= $1",
            args![cutoff],
        )
        .await?;
    tx.commit().await?;
    Ok(dropped + gone)
}

/// The tenant's metered facts for an activation (none without a metered contract), read in
/// the activation's transaction, which holds the pool's lock.
pub async fn activation_facts(
    tx: &mut WriteTx,
    tenant_id: &str,
    serial_no: &str,
    ip_address: &str,
    mac_address: Option<&str>,
) -> Result<Option<MeteredFacts>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        max_activations: i64,
        trial_ends_at: Option<i64>,
        active: i64,
        #[sqlx(try_from = "bandpool_domain::Flag")]
        address_blocked: bool,
        #[sqlx(try_from = "bandpool_domain::Flag")]
        mac_in_use: bool,
        reporting_lapsed_at: Option<i64>,
    }
    let row: Option<Row> = crate::db::optional_as(
        &mut *tx,
        "SELECT c.max_activations, c.trial_ends_at, \
         (SELECT COUNT(*) FROM licenses l WHERE l.tenant_id = $1 AND l.metered = 1 \
             AND l.status IN ('active', 'grace_period')) AS active, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM metered_blocked_addresses b \
             WHERE b.tenant_id = $1 AND b.ip_address = $3) THEN 1 ELSE 0 END AS BIGINT) AS address_blocked, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM metered_activations a JOIN licenses l ON l.id = a.license_id \
             WHERE a.tenant_id = $1 AND a.mac_address = $4 AND l.serial_no <> $2 \
             AND l.status IN ('active', 'grace_period')) THEN 1 ELSE 0 END AS BIGINT) AS mac_in_use, \
         (SELECT r.lapsed_at FROM metered_reporting r WHERE r.tenant_id = $1) AS reporting_lapsed_at \
         FROM metered_contracts c WHERE c.tenant_id = $1",
        args![tenant_id, serial_no, ip_address, mac_address.unwrap_or("")],
    )
    .await?;
    Ok(row.map(|r| MeteredFacts {
        max_activations: r.max_activations,
        trial_ends_at: r.trial_ends_at,
        active: r.active,
        address_blocked: r.address_blocked,
        mac_in_use: r.mac_in_use,
        reporting_lapsed_at: r.reporting_lapsed_at,
    }))
}

/// Metered licenses held now (Active or Grace Period).
async fn active_instances(tx: &mut WriteTx, tenant_id: &str) -> Result<i64> {
    crate::db::value(
        &mut *tx,
        "SELECT COUNT(*) FROM licenses WHERE tenant_id = $1 AND metered = 1 \
         AND status IN ('active', 'grace_period')",
        args![tenant_id],
    )
    .await
}

async fn instance_event(
    tx: &mut WriteTx,
    tenant_id: &str,
    at: i64,
    kind: &str,
    license: Option<(&str, &str)>,
    instances: i64,
    previous: Option<i64>,
) -> Result<()> {
    // `license`: the license's id and name. Its type's SKU is read here, so every record
    // names it the same way.
    let (license_id, license_type) = (license.map(|l| l.0), license.map(|l| l.1));
    // Numbered within the tenant: every caller holds the tenant's pool lock, so no two
    // records take the same number.
    tx.execute(
        "INSERT INTO metered_instance_events (id, tenant_id, at, kind, license_type, instances, \
         previous_instances, seq, sku) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM metered_instance_events WHERE tenant_id = $2), \
         (SELECT t.sku FROM licenses l JOIN license_types t ON t.id = l.license_type_id \
          WHERE l.tenant_id = $2 AND l.id = $8))",
        args![
            uuid::Uuid::new_v4().to_string(),
            tenant_id,
            at,
            kind,
            license_type,
            instances,
            previous,
            license_id
        ],
    )
    .await?;
    Ok(())
}

/// A metered license was just granted (in its transaction): its row in the Activations table
/// and the activation with the number of active instances.
pub async fn record_activation(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_id: &str,
    license_name: &str,
    ip_address: &str,
    appliance: Option<&ApplianceIdentity>,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO metered_activations (license_id, tenant_id, mac_address, loadmaster_version, \
         booted_at, hypervisor, ip_address) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            license_id,
            tenant_id,
            appliance.map(|a| a.mac_address.clone()),
            appliance.map(|a| a.firmware_version.clone()),
            appliance.map(|a| a.booted_at),
            appliance.map(|a| a.hypervisor.clone()),
            ip_address
        ],
    )
    .await?;
    let instances = active_instances(tx, tenant_id).await?;
    instance_event(
        tx,
        tenant_id,
        now,
        "activation",
        Some((license_id, license_name)),
        instances,
        None,
    )
    .await
}

/// Licenses among `license_ids` just stopped holding (in the change's transaction): each
/// metered one is recorded as a deactivation with the number of active instances, counting
/// down to the number left.
pub async fn record_deactivations(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_ids: &[String],
    now: i64,
) -> Result<()> {
    let mut metered: Vec<(String, String)> = Vec::new();
    for (placeholders, values) in crate::db::in_lists(args![tenant_id], license_ids) {
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT id, license_name FROM licenses WHERE tenant_id = $1 AND metered = 1 \
                     AND id IN ({placeholders}) ORDER BY id"
                ),
                values,
            )
            .await?;
        metered.extend(crate::db::rows_as::<(String, String)>(&rows)?);
    }
    if metered.is_empty() {
        return Ok(());
    }
    let left = active_instances(tx, tenant_id).await?;
    let n = metered.len() as i64;
    for (i, (license_id, license_name)) in metered.iter().enumerate() {
        instance_event(
            tx,
            tenant_id,
            now,
            "deactivation",
            Some((license_id, license_name)),
            left + n - 1 - i as i64,
            None,
        )
        .await?;
    }
    Ok(())
}

/// A metered LoadMaster gave its license back: its activation shows Deleted.
pub async fn mark_deleted(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_id: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE metered_activations SET deleted_at = $3 \
         WHERE tenant_id = $1 AND license_id = $2 AND deleted_at IS NULL",
        args![tenant_id, license_id, now],
    )
    .await?;
    Ok(())
}

/// A metered activation its connector never confirmed, due to be blocked.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Unconfirmed {
    pub tenant_id: String,
    pub license_id: String,
    pub ip_address: String,
    pub serial_no: String,
    pub license_name: String,
    pub activated_at: i64,
    /// The tenant's "Block unconfirmed activations after", in seconds.
    pub block_after: i64,
}

/// Metered activations still unconfirmed (no usage sample) longer than their tenant's
/// setting allows at `now`, oldest first, at most `limit`.
pub async fn unconfirmed_due(db: &Db, now: i64, limit: i64) -> Result<Vec<Unconfirmed>> {
    db.fetch_all_as(
        "SELECT a.tenant_id, a.license_id, a.ip_address, l.serial_no, l.license_name, l.activated_at, \
         c.block_unconfirmed_after AS block_after \
         FROM metered_activations a JOIN licenses l ON l.id = a.license_id \
         JOIN metered_contracts c ON c.tenant_id = a.tenant_id \
         WHERE a.confirmed_at IS NULL AND a.blocked_at IS NULL AND a.deleted_at IS NULL \
         AND l.status IN ('active', 'grace_period') \
         AND l.activated_at + c.block_unconfirmed_after <= $1 \
         ORDER BY l.activated_at LIMIT $2",
        args![now, limit],
    )
    .await
}

/// Block one unconfirmed activation in `tx`: its license is deactivated (back to the pool,
/// a kill queued for its connector so the LoadMaster learns at its next check), the row
/// shows BLOCKED, its address may not take a metered license again until unblocked, and the
/// event log records it. Answers false (nothing done) when it is no longer due: confirmed,
/// blocked or deactivated meanwhile.
pub async fn block(tx: &mut WriteTx, due: &Unconfirmed, waited: &str, now: i64) -> Result<bool> {
    tx.lock_pool(&due.tenant_id).await?;
    let still: Option<(String,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT a.license_id FROM metered_activations a JOIN licenses l ON l.id = a.license_id \
         WHERE a.tenant_id = $1 AND a.license_id = $2 AND a.confirmed_at IS NULL \
         AND a.blocked_at IS NULL AND a.deleted_at IS NULL AND l.status IN ('active', 'grace_period')",
        args![&due.tenant_id, &due.license_id],
    )
    .await?;
    if still.is_none() {
        return Ok(false);
    }
    let before = crate::licenses::get(&mut *tx, &due.tenant_id, &due.license_id).await?;
    crate::licenses::set_status(
        tx,
        &due.tenant_id,
        &due.license_id,
        bandpool_domain::license::LicenseStatus::Killed,
        &format!(
            "Removed: its connector did not confirm it within {waited}; address {} blocked",
            due.ip_address
        ),
        now,
        None,
    )
    .await?;
    let device: Option<(Option<String>,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT id FROM devices WHERE tenant_id = $1 AND serial_no = $2",
        args![&due.tenant_id, &due.serial_no],
    )
    .await?;
    crate::licensing::remove_device(tx, &due.tenant_id, device.and_then(|(d,)| d).as_deref())
        .await?;
    if let Some(connector_id) = &before.connector_id {
        crate::commands::enqueue(
            tx,
            &due.tenant_id,
            connector_id,
            &bandpool_domain::connector::CommandKind::Kill {
                license_id: due.license_id.clone(),
                serial_no: due.serial_no.clone(),
            },
            now,
        )
        .await?;
    }
    tx.execute(
        "UPDATE metered_activations SET blocked_at = $3 WHERE tenant_id = $1 AND license_id = $2",
        args![&due.tenant_id, &due.license_id, now],
    )
    .await?;
    tx.execute(
        "INSERT INTO metered_blocked_addresses (tenant_id, ip_address, license_id, blocked_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, ip_address) DO NOTHING",
        args![&due.tenant_id, &due.ip_address, &due.license_id, now],
    )
    .await?;
    crate::events::Change::at(
        &due.tenant_id,
        now,
        &crate::events::Actor::system("Bandpool (unconfirmed activations)"),
    )
    .record(
        tx,
        "metered_activation_blocked",
        &due.ip_address,
        &format!(
            "{} (serial {}) was never confirmed by its connector within {waited}: its license \
                 went back to the pool and the address is blocked until unblocked",
            due.license_name, due.serial_no
        ),
    )
    .await?;
    Ok(true)
}

/// Unblock the chosen blocked activations of a tenant (by license id): their addresses may
/// take a metered license again. Answers how many were unblocked.
pub async fn unblock(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_ids: &[String],
    actor: &crate::events::Actor,
    now: i64,
) -> Result<usize> {
    let mut unblocked = 0;
    for license_id in license_ids {
        let row: Option<(String,)> = crate::db::optional_as(
            &mut *tx,
            "SELECT ip_address FROM metered_activations WHERE tenant_id = $1 AND license_id = $2 \
             AND blocked_at IS NOT NULL",
            args![tenant_id, license_id.as_str()],
        )
        .await?;
        let Some((ip_address,)) = row else {
            continue;
        };
        tx.execute(
            "UPDATE metered_activations SET blocked_at = NULL, deleted_at = COALESCE(deleted_at, $3) \
             WHERE tenant_id = $1 AND license_id = $2",
            args![tenant_id, license_id.as_str(), now],
        )
        .await?;
        tx.execute(
            "DELETE FROM metered_blocked_addresses WHERE tenant_id = $1 AND ip_address = $2",
            args![tenant_id, ip_address.as_str()],
        )
        .await?;
        crate::events::Change::at(tenant_id, now, actor)
            .record(
                tx,
                "metered_activation_unblocked",
                &ip_address,
                "the address may take a metered license again",
            )
            .await?;
        unblocked += 1;
    }
    Ok(unblocked)
}

/// Set the tenant's "Block unconfirmed activations after" (seconds, one of the offered
/// values).
pub async fn set_block_after(
    tx: &mut WriteTx,
    tenant_id: &str,
    seconds: i64,
    now: i64,
) -> Result<()> {
    let changed = tx
        .execute(
            "UPDATE metered_contracts SET block_unconfirmed_after = $2, updated_at = $3 WHERE tenant_id = $1",
            args![tenant_id, seconds, now],
        )
        .await?;
    if changed == 0 {
        return Err(AppError::not_found("metered contract"));
    }
    Ok(())
}

/// The Activations table of a tenant with a metered contract (none without one): its
/// heading figures and the rows of the chosen statuses, newest activation first.
pub async fn activations(
    db: &Db,
    tenant_id: &str,
    statuses: &[ActivationStatus],
) -> Result<Option<Activations>> {
    #[derive(sqlx::FromRow)]
    struct Heading {
        max_activations: i64,
        trial_ends_at: Option<i64>,
        block_unconfirmed_after: i64,
        current: i64,
    }
    let heading: Option<Heading> = crate::db::optional_as(
        db,
        "SELECT c.max_activations, c.trial_ends_at, c.block_unconfirmed_after, \
         (SELECT COUNT(*) FROM licenses l WHERE l.tenant_id = c.tenant_id AND l.metered = 1 \
             AND l.status IN ('active', 'grace_period')) AS current \
         FROM metered_contracts c WHERE c.tenant_id = $1",
        args![tenant_id],
    )
    .await?;
    let Some(heading) = heading else {
        return Ok(None);
    };
    let keys = statuses
        .iter()
        .enumerate()
        .map(|(i, _)| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let mut values = args![tenant_id];
    values.extend(statuses.iter().map(|s| Value::from(s.key())));
    let rows = db
        .fetch_all_as(
            &format!(
                "SELECT * FROM (SELECT a.license_id, a.mac_address, a.loadmaster_version, \
                 CASE WHEN a.blocked_at IS NOT NULL THEN 'blocked' \
                      WHEN a.deleted_at IS NOT NULL THEN 'deleted' \
                      WHEN l.status IN ('killed', 'expired') THEN 'disabled' \
                      ELSE 'active' END AS status, \
                 l.activated_at, a.booted_at, \
                 (SELECT MAX(h.at) FROM license_history h WHERE h.license_id = a.license_id \
                     AND h.to_status = 'killed') AS last_kill_at, \
                 l.license_name AS license_type, a.hypervisor AS vlm_name, a.ip_address, a.confirmed_at \
                 FROM metered_activations a JOIN licenses l ON l.id = a.license_id \
                 WHERE a.tenant_id = $1) rows WHERE status IN ({keys}) \
                 ORDER BY activated_at DESC, license_id"
            ),
            values,
        )
        .await?;
    let limit = match heading.trial_ends_at {
        Some(_) => heading
            .max_activations
            .min(bandpool_domain::activation::TRIAL_ACTIVATIONS),
        None => heading.max_activations,
    };
    Ok(Some(Activations {
        max_activations: limit,
        current_activations: heading.current,
        block_unconfirmed_after_seconds: heading.block_unconfirmed_after,
        trial_ends_at: heading.trial_ends_at,
        rows,
    }))
}

/// A month's metered usage and reporting LoadMasters, per month from `from_month` to
/// `to_month` (`YYYY-MM`, inclusive); months with no sample are absent.
pub async fn months(
    db: &Db,
    tenant_id: &str,
    from_month: &str,
    to_month: &str,
) -> Result<Vec<(String, MonthUsage)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        month: String,
        usage_bytes_per_second: i64,
        loadmasters: i64,
    }
    let rows: Vec<Row> = db
        .fetch_all_as(
            "SELECT month, usage_bytes_per_second, metered_loadmasters AS loadmasters \
             FROM metered_month_totals WHERE tenant_id = $1 AND metered_loadmasters > 0 \
             AND month >= $2 AND month <= $3 ORDER BY month",
            args![tenant_id, from_month, to_month],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.month,
                MonthUsage {
                    usage_bytes_per_second: r.usage_bytes_per_second,
                    loadmasters: r.loadmasters,
                },
            )
        })
        .collect())
}

/// One page of the LoadMasters that reported in `month`, with their peaks, as `query` asks
/// (search on name, serial and license type), and how many match in all.
pub async fn loadmaster_peaks(
    db: &Db,
    tenant_id: &str,
    month: &str,
    query: &PeakQuery,
) -> Result<(Vec<LoadMasterPeak>, u64)> {
    let mut values = args![tenant_id, month];
    let mut filter = String::new();
    if let Some(search) = &query.search {
        values.push(Value::Text(crate::db::like_pattern(search)));
        filter = " AND (LOWER(COALESCE(l.device_name, '')) LIKE $3 ESCAPE '\\' \
                  OR LOWER(l.serial_no) LIKE $3 ESCAPE '\\' \
                  OR LOWER(l.license_name) LIKE $3 ESCAPE '\\')"
            .to_string();
    }
    let from = format!(
        "FROM metered_monthly m JOIN licenses l ON l.id = m.license_id AND l.tenant_id = m.tenant_id \
         WHERE m.tenant_id = $1 AND m.month = $2{filter}"
    );
    // Without a search, the month's stored count; a search counts its matches.
    let total: i64 = if query.search.is_none() {
        crate::db::optional_as::<(i64,)>(
            db,
            "SELECT reporting_loadmasters FROM metered_month_totals WHERE tenant_id = $1 AND month = $2",
            args![tenant_id, month],
        )
        .await?
        .map_or(0, |(n,)| n)
    } else {
        crate::db::value(db, &format!("SELECT COUNT(*) {from}"), values.clone()).await?
    };
    let direction = if query.descending { "DESC" } else { "ASC" };
    let order = match query.sort {
        PeakSort::Peak => format!("m.peak_bytes_per_second {direction}"),
        PeakSort::SslTps => format!("m.peak_ssl_tps {direction}"),
        PeakSort::Name => {
            format!("LOWER(COALESCE(l.device_name, '')) {direction}, l.serial_no {direction}")
        }
    };
    let n = values.len();
    values.push(Value::Int(i64::from(query.per_page)));
    values.push(Value::Int(
        i64::from(query.page.saturating_sub(1)) * i64::from(query.per_page),
    ));
    let rows = db
        .fetch_all_as(
            &format!(
                "SELECT m.license_id, COALESCE(l.device_name, '') AS device_name, l.serial_no, \
                 l.license_name AS license_type, m.metered, m.peak_bytes_per_second, m.peak_at, \
                 m.peak_ssl_tps {from} ORDER BY {order}, m.license_id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            values,
        )
        .await?;
    Ok((rows, total.max(0) as u64))
}

/// What the daily instance check found for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceCheck {
    pub tenant_id: String,
    /// The count last recorded (none: nothing recorded yet).
    pub recorded: Option<i64>,
    /// Metered licenses held now.
    pub actual: i64,
}

impl InstanceCheck {
    pub fn discrepancy(&self) -> bool {
        self.recorded.is_some_and(|n| n != self.actual)
    }
}

/// Tenants with a metered contract whose instance count has not been checked since `since`
/// (Unix seconds).
pub async fn unchecked_since(db: &Db, since: i64) -> Result<Vec<String>> {
    crate::db::column(
        db,
        "SELECT c.tenant_id FROM metered_contracts c WHERE NOT EXISTS (\
         SELECT 1 FROM metered_instance_events e WHERE e.tenant_id = c.tenant_id \
         AND e.kind IN ('sync_discrepancy', 'sync_no_discrepancy') AND e.at >= $1) \
         ORDER BY c.tenant_id",
        args![since],
    )
    .await
}

/// Compare a tenant's last recorded number of active metered instances with the actual one
/// and record the outcome ("Sync (Discrepancy)" with both numbers, or "Sync (No
/// Discrepancy)" with the count) in the instance history, under the pool's lock.
pub async fn check_instances(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<InstanceCheck> {
    tx.lock_pool(tenant_id).await?;
    let recorded: Option<(i64,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT instances FROM metered_instance_events WHERE tenant_id = $1 \
         ORDER BY seq DESC LIMIT 1",
        args![tenant_id],
    )
    .await?;
    let check = InstanceCheck {
        tenant_id: tenant_id.to_string(),
        recorded: recorded.map(|(n,)| n),
        actual: active_instances(tx, tenant_id).await?,
    };
    if check.discrepancy() {
        instance_event(
            tx,
            tenant_id,
            now,
            "sync_discrepancy",
            None,
            check.actual,
            check.recorded,
        )
        .await?;
    } else {
        instance_event(
            tx,
            tenant_id,
            now,
            "sync_no_discrepancy",
            None,
            check.actual,
            None,
        )
        .await?;
    }
    Ok(check)
}
