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
use bandpool_domain::metered::{
    check_report, day_and_month, RefusedSample, Tier, Tiers, UsageReport, UsageReportResponse,
    UsageSample,
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
    let stored = store_samples(&mut tx, &connector.tenant_id, &fresh).await?;
    let recorded: Vec<(&UsageSample, bool)> = fresh
        .into_iter()
        .filter(|(s, _)| stored.contains(&(s.license_id.clone(), s.sampled_at)))
        .collect();
    raise_peaks(&mut tx, &connector.tenant_id, &recorded).await?;
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
    for chunk in ids.chunks(500) {
        let placeholders = (0..chunk.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let mut values = args![connector.tenant_id.clone(), connector.id.clone()];
        values.extend(chunk.iter().map(|id| Value::Text((*id).clone())));
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
    // In both engines a SET expression reads the row as it was before the update.
    let higher = |table: &str, column: &str, value: &str| {
        format!(
            "CASE WHEN excluded.peak_bytes_per_second > {table}.peak_bytes_per_second \
             THEN excluded.{value} ELSE {table}.{column} END"
        )
    };
    let day_sql = format!(
        "INSERT INTO metered_daily (tenant_id, license_id, day, peak_bytes_per_second, peak_at, \
         peak_ssl_tps, samples) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, license_id, day) DO UPDATE SET \
         peak_at = {}, peak_bytes_per_second = {}, \
         peak_ssl_tps = CASE WHEN excluded.peak_ssl_tps > metered_daily.peak_ssl_tps \
             THEN excluded.peak_ssl_tps ELSE metered_daily.peak_ssl_tps END, \
         samples = metered_daily.samples + excluded.samples",
        higher("metered_daily", "peak_at", "peak_at"),
        higher(
            "metered_daily",
            "peak_bytes_per_second",
            "peak_bytes_per_second"
        ),
    );
    for ((license_id, day), peak) in days {
        tx.execute(
            &day_sql,
            args![
                tenant_id,
                license_id,
                day,
                peak.bytes_per_second,
                peak.at,
                peak.ssl_tps,
                peak.samples
            ],
        )
        .await?;
    }
    let month_sql = format!(
        "INSERT INTO metered_monthly (tenant_id, month, license_id, metered, \
         peak_bytes_per_second, peak_at, peak_ssl_tps) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, month, license_id) DO UPDATE SET \
         peak_at = {}, peak_bytes_per_second = {}, \
         peak_ssl_tps = CASE WHEN excluded.peak_ssl_tps > metered_monthly.peak_ssl_tps \
             THEN excluded.peak_ssl_tps ELSE metered_monthly.peak_ssl_tps END",
        higher("metered_monthly", "peak_at", "peak_at"),
        higher(
            "metered_monthly",
            "peak_bytes_per_second",
            "peak_bytes_per_second"
        ),
    );
    for ((license_id, month), peak) in months {
        tx.execute(
            &month_sql,
            args![
                tenant_id,
                month,
                license_id,
                i64::from(peak.metered),
                peak.bytes_per_second,
                peak.at,
                peak.ssl_tps
            ],
        )
        .await?;
    }
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
    crate::db::find_as(
        on,
        "month",
        "SELECT CAST(COALESCE(SUM(peak_bytes_per_second), 0) AS BIGINT) AS usage_bytes_per_second, \
         CAST(COUNT(*) AS BIGINT) AS loadmasters \
         FROM metered_monthly WHERE tenant_id = $1 AND month = $2 AND metered = 1",
        args![tenant_id, month],
    )
    .await
}

/// One LoadMaster's peak on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayPeak {
    pub day: String,
    pub peak_bytes_per_second: i64,
    pub peak_at: i64,
    pub peak_ssl_tps: i64,
    pub samples: i64,
}

/// A LoadMaster's daily peaks from `from_day` to `to_day` (inclusive), oldest first.
pub async fn daily_peaks(
    on: impl Read,
    tenant_id: &str,
    license_id: &str,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<DayPeak>> {
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

/// Delete raw samples taken before `before`, at most `limit` at a time (the sweep calls it
/// until nothing is left, so no delete holds the write lock long). Daily and monthly peaks
/// stay. Answers how many samples went.
pub async fn expire_samples(db: &Db, before: i64, limit: i64) -> Result<u64> {
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
        return Ok(0);
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
    Ok(gone)
}
