//! The MELA report's reads: the instance history of a range, the top LoadMasters by their
//! daily peaks, the aggregate throughput per day, and the rows of the downloads as streams
//! (the summary's files and every stored sample), so a month of ten thousand LoadMasters
//! downloads with flat memory.

use crate::args;
use crate::db::{stream_rows, Db, Read};
use crate::Result;
use bandpool_domain::metered_report::{DayFigure, InstanceEvent, TopLoadMaster};
use futures::stream::BoxStream;

const EVENT_COLUMNS: &str =
    "at, kind, license_type AS license_name, sku, instances, previous_instances";

/// The number of active metered instances the last record before `at` left (0: none yet).
pub async fn instances_before(on: impl Read, tenant_id: &str, at: i64) -> Result<i64> {
    let found: Option<(i64,)> = crate::db::optional_as(
        on,
        "SELECT instances FROM metered_instance_events WHERE tenant_id = $1 AND at < $2 \
         ORDER BY seq DESC LIMIT 1",
        args![tenant_id, at],
    )
    .await?;
    Ok(found.map(|(n,)| n).unwrap_or(0))
}

/// Each record's time and count in `[start, end)`, oldest first.
pub async fn instance_counts(
    on: impl Read,
    tenant_id: &str,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut on = on;
    let rows = on
        .fetch_all(
            "SELECT at, instances FROM metered_instance_events \
             WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY seq",
            args![tenant_id, start, end],
        )
        .await?;
    crate::db::rows_as(&rows)
}

/// The newest `limit` records in `[start, end)`, newest first, and how many there are.
pub async fn latest_events(
    on: impl Read + Copy,
    tenant_id: &str,
    start: i64,
    end: i64,
    limit: u32,
) -> Result<(Vec<InstanceEvent>, u64)> {
    let mut first = on;
    let rows = first
        .fetch_all(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM metered_instance_events \
                 WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY seq DESC LIMIT $4"
            ),
            args![tenant_id, start, end, i64::from(limit)],
        )
        .await?;
    let total: i64 = crate::db::value(
        on,
        "SELECT COUNT(*) FROM metered_instance_events WHERE tenant_id = $1 AND at >= $2 AND at < $3",
        args![tenant_id, start, end],
    )
    .await?;
    Ok((crate::db::rows_as(&rows)?, total.max(0) as u64))
}

/// Every record in `[start, end)`, oldest first (`asl.csv`).
pub fn stream_events(
    db: &Db,
    tenant_id: &str,
    start: i64,
    end: i64,
) -> BoxStream<'static, Result<InstanceEvent>> {
    stream_rows(
        db,
        format!(
            "SELECT {EVENT_COLUMNS} FROM metered_instance_events \
             WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY seq"
        ),
        args![tenant_id, start, end],
        crate::db::row_as::<InstanceEvent>,
    )
}

/// Which daily peak the top LoadMasters are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    SslTps,
    Throughput,
}

impl Measure {
    fn column(self) -> &'static str {
        match self {
            Measure::SslTps => "peak_ssl_tps",
            Measure::Throughput => "peak_bytes_per_second",
        }
    }
}

#[derive(sqlx::FromRow)]
struct Ranked {
    license_id: String,
    peak: i64,
    device_name: Option<String>,
    ip_address: Option<String>,
}

/// The `limit` LoadMasters with the highest daily peak of `measure` from `from_day` to
/// `to_day` (inclusive), highest first (ties by id), each with its daily peaks of it.
pub async fn top_loadmasters(
    on: impl Read + Copy,
    tenant_id: &str,
    from_day: &str,
    to_day: &str,
    measure: Measure,
    limit: u32,
) -> Result<Vec<TopLoadMaster>> {
    let column = measure.column();
    let mut first = on;
    let rows = first
        .fetch_all(
            &format!(
                "SELECT r.license_id, r.peak, l.device_name, l.ip_address FROM (\
                   SELECT license_id, MAX({column}) AS peak FROM metered_daily \
                   WHERE tenant_id = $1 AND day >= $2 AND day <= $3 GROUP BY license_id \
                   ORDER BY peak DESC, license_id LIMIT $4) r \
                 LEFT JOIN licenses l ON l.tenant_id = $1 AND l.id = r.license_id \
                 ORDER BY r.peak DESC, r.license_id"
            ),
            args![tenant_id, from_day, to_day, i64::from(limit)],
        )
        .await?;
    let ranked: Vec<Ranked> = crate::db::rows_as(&rows)?;
    let mut top = Vec::with_capacity(ranked.len());
    for r in ranked {
        let mut daily_read = on;
        let rows = daily_read
            .fetch_all(
                &format!(
                    "SELECT day, {column} AS value FROM metered_daily WHERE tenant_id = $1 \
                     AND license_id = $2 AND day >= $3 AND day <= $4 ORDER BY day"
                ),
                args![tenant_id, &r.license_id, from_day, to_day],
            )
            .await?;
        top.push(TopLoadMaster {
            license_id: r.license_id,
            device_name: r.device_name,
            ip_address: r.ip_address,
            peak: r.peak,
            daily: crate::db::rows_as(&rows)?,
        });
    }
    Ok(top)
}

/// Per day from `from_day` to `to_day`, the sum of the reporting LoadMasters' peak
/// throughput (bytes per second); days without samples are left out.
pub async fn aggregate_throughput(
    on: impl Read,
    tenant_id: &str,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<DayFigure>> {
    let mut on = on;
    let rows = on
        .fetch_all(
            "SELECT day, CAST(SUM(peak_bytes_per_second) AS BIGINT) AS value FROM metered_daily \
             WHERE tenant_id = $1 AND day >= $2 AND day <= $3 GROUP BY day ORDER BY day",
            args![tenant_id, from_day, to_day],
        )
        .await?;
    crate::db::rows_as(&rows)
}

/// A metered LoadMaster active now (`devices.csv`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActiveDevice {
    pub id: String,
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    pub license_name: String,
    pub activated_at: i64,
}

/// The metered licenses held now (Active or in their Grace Period), oldest activation first.
pub fn stream_active_devices(db: &Db, tenant_id: &str) -> BoxStream<'static, Result<ActiveDevice>> {
    stream_rows(
        db,
        "SELECT id, device_name, ip_address, license_name, activated_at FROM licenses \
         WHERE tenant_id = $1 AND metered = 1 AND status IN ('active', 'grace_period') \
         ORDER BY activated_at, id"
            .to_string(),
        args![tenant_id],
        crate::db::row_as::<ActiveDevice>,
    )
}

/// One LoadMaster's peaks on one day (`ssl_tps.csv` and `throughput.csv`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayPeaks {
    pub day: String,
    pub license_id: String,
    pub device_name: Option<String>,
    pub peak_ssl_tps: i64,
    pub peak_bytes_per_second: i64,
}

/// Every LoadMaster's daily peaks from `from_day` to `to_day`, by day then LoadMaster.
pub fn stream_daily_peaks(
    db: &Db,
    tenant_id: &str,
    from_day: &str,
    to_day: &str,
) -> BoxStream<'static, Result<DayPeaks>> {
    stream_rows(
        db,
        "SELECT d.day, d.license_id, l.device_name, d.peak_ssl_tps, d.peak_bytes_per_second \
         FROM metered_daily d LEFT JOIN licenses l ON l.tenant_id = d.tenant_id AND l.id = d.license_id \
         WHERE d.tenant_id = $1 AND d.day >= $2 AND d.day <= $3 ORDER BY d.day, d.license_id"
            .to_string(),
        args![tenant_id, from_day, to_day],
        crate::db::row_as::<DayPeaks>,
    )
}

/// Bytes one Virtual Service of one LoadMaster transferred on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VirtualServiceDay {
    /// Days since 1970-01-01 (UTC).
    pub day_number: i64,
    pub license_id: String,
    pub name: String,
    pub bytes: i64,
}

/// Per UTC day, LoadMaster and Virtual Service, the bytes its stored samples in
/// `[start, end)` carried (so only within the sample retention).
pub fn stream_virtual_service_days(
    db: &Db,
    tenant_id: &str,
    start: i64,
    end: i64,
) -> BoxStream<'static, Result<VirtualServiceDay>> {
    stream_rows(
        db,
        "SELECT v.sampled_at / 86400 AS day_number, v.license_id, v.name, \
         CAST(SUM(v.bytes) AS BIGINT) AS bytes \
         FROM usage_sample_virtual_services v JOIN usage_samples s \
           ON s.license_id = v.license_id AND s.sampled_at = v.sampled_at \
         WHERE s.tenant_id = $1 AND s.sampled_at >= $2 AND s.sampled_at < $3 \
         GROUP BY v.sampled_at / 86400, v.license_id, v.name \
         ORDER BY day_number, v.license_id, v.name"
            .to_string(),
        args![tenant_id, start, end],
        crate::db::row_as::<VirtualServiceDay>,
    )
}

/// One stored sample (the full download).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSample {
    pub sampled_at: i64,
    pub license_id: String,
    pub bytes_in_per_second: i64,
    pub bytes_out_per_second: i64,
    pub ssl_tps: i64,
}

/// Every stored sample of the tenant in `[start, end)`, oldest first, read as the consumer
/// takes them.
pub fn stream_samples(
    db: &Db,
    tenant_id: &str,
    start: i64,
    end: i64,
) -> BoxStream<'static, Result<StoredSample>> {
    stream_rows(
        db,
        "SELECT sampled_at, license_id, bytes_in_per_second, bytes_out_per_second, ssl_tps \
         FROM usage_samples WHERE tenant_id = $1 AND sampled_at >= $2 AND sampled_at < $3 \
         ORDER BY sampled_at, license_id"
            .to_string(),
        args![tenant_id, start, end],
        crate::db::row_as::<StoredSample>,
    )
}

/// The tenant's name, as the report's heading and every PDF page name it.
pub async fn tenant_name(on: impl Read, tenant_id: &str) -> Result<String> {
    crate::db::value(
        on,
        "SELECT name FROM tenants WHERE id = $1",
        args![tenant_id],
    )
    .await
}
