//! (h) The MELA report's downloads at scale: a tenant whose LoadMasters reported a sample
//! every five minutes for a month (1,000 LoadMasters × 30 days: 8.64 million stored
//! samples, with their daily peaks). The samples are written straight into the database by
//! one set-based statement (the harness's second direct write: going through the connector
//! API would take hours and is measured in (g)). Measured:
//! - the full download (every sample as CSV): the server's peak memory, against the same
//!   server at rest, and rows per second against the database's own CSV dump of the same
//!   rows in the same run (the sqlite3 command line's CSV mode, psql's `\copy ... TO STDOUT
//!   CSV`), what a user would reach for instead;
//! - the summary download (the zip): its size beside the full download's, and the server's
//!   peak memory while it streams.

use crate::metered::connect;
use crate::portal::{Engine, Portal, DEMO_OWNER};
use crate::report::{Row, Target, Unit};
use crate::repository::grouped;
use crate::{Result, Scale};
use futures::StreamExt;
use std::time::Instant;

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    let db = engine.label();
    let (n, days) = (scale.report_loadmasters, scale.report_days);
    let samples = grouped(n * days * 288);
    let what = format!(
        "{} LoadMasters × {days} days ({samples} samples)",
        grouped(n)
    );
    vec![
        Row::new(
            "h",
            format!("MELA full download (every sample as CSV), {what}: server peak memory"),
            db,
            Unit::Megabytes,
        )
        .baseline("the same server at rest before it")
        .target(Target::Under(64.0)),
        Row::new(
            "h",
            format!("MELA full download, {what}"),
            db,
            Unit::Rate("rows/s"),
        )
        .baseline("the database's own CSV dump of the same rows (sqlite3 -csv / psql \\copy)"),
        Row::new(
            "h",
            format!("MELA summary download (zip), {what}: size"),
            db,
            Unit::Kilobytes,
        )
        .baseline("the full download's size"),
        Row::new(
            "h",
            format!("MELA summary download (zip), {what}: server peak memory"),
            db,
            Unit::Megabytes,
        )
        .baseline("the same server at rest before it")
        .target(Target::Under(64.0)),
    ]
}

/// The rows the downloads read, in their order, for the dump's baseline.
fn dump_query(tenant: &str, start: i64, end: i64) -> String {
    format!(
        "SELECT sampled_at, license_id, bytes_in_per_second, bytes_out_per_second, ssl_tps \
         FROM usage_samples WHERE tenant_id = '{tenant}' AND sampled_at >= {start} \
         AND sampled_at < {end} ORDER BY sampled_at, license_id"
    )
}

/// Write `loadmasters` × `days` of samples (every five minutes) and their daily peaks for
/// the portal's tenant, ending at the last midnight. Answers the tenant, the range's first
/// and last day, and its start and end (Unix seconds).
pub async fn seed(
    database_url: &str,
    loadmasters: usize,
    days: usize,
) -> Result<(String, String, String, i64, i64)> {
    let mut c = connect(database_url).await?;
    // The demo Owner's tenant: the one the signed-in downloads read.
    let (tenant,): (String,) = sqlx::query_as(&format!(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE u.email = '{DEMO_OWNER}' ORDER BY m.tenant_id LIMIT 1"
    ))
    .fetch_one(&mut c)
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let today = chrono::DateTime::from_timestamp(now, 0)
        .ok_or("the clock is out of range")?
        .date_naive();
    let first = today - chrono::Days::new(days as u64);
    let last = today - chrono::Days::new(1);
    let start = first
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp();
    let end = start + days as i64 * 86_400;
    let (n, k_max, d_max) = (loadmasters - 1, days * 288 - 1, days - 1);
    // Each engine's way to count: a recursive CTE on SQLite, generate_series on PostgreSQL.
    let sqlite = database_url.starts_with("sqlite:");
    let counters: fn(&str, usize) -> String = if sqlite {
        |what, upto| {
            format!(
                "(WITH RECURSIVE c(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM c WHERE v < {upto}) \
                 SELECT v AS {what} FROM c)"
            )
        }
    } else {
        |what, upto| format!("(SELECT generate_series(0, {upto}) AS {what})")
    };
    let (name, day) = if sqlite {
        (
            "printf('bench-lm-%05d', i)".to_string(),
            format!("date('{first}', '+' || j || ' days')"),
        )
    } else {
        (
            "'bench-lm-' || lpad(i::text, 5, '0')".to_string(),
            format!("to_char(date '{first}' + j, 'YYYY-MM-DD')"),
        )
    };
    // LoadMaster by LoadMaster (the outer counter), each one's samples in time order: the
    // primary key's order, so it only ever grows at its end. The secondary indexes (by time)
    // are dropped for the insert and made again after it from their own definitions: built
    // once by sorting, not grown by eight million random inserts.
    let samples = format!(
        "INSERT INTO usage_samples (license_id, sampled_at, tenant_id, bytes_in_per_second, \
         bytes_out_per_second, ssl_tps) SELECT {name}, {start} + k * 300, '{tenant}', \
         1000 + (i * 7919 + k * 31) % 5000000, 3000 + (i * 104729 + k * 17) % 15000000, \
         (i + k) % 900 FROM {} lm CROSS JOIN {} t",
        counters("i", n),
        counters("k", k_max)
    );
    let peaks = format!(
        "INSERT INTO metered_daily (tenant_id, license_id, day, peak_bytes_per_second, \
         peak_at, peak_ssl_tps, samples) SELECT '{tenant}', {name}, {day}, \
         20000000 + (i * 7919) % 5000000, {start} + j * 86400 + 43200, 100 + i % 800, 288 \
         FROM {} lm CROSS JOIN {} d",
        counters("i", n),
        counters("j", d_max)
    );
    let indexes: Vec<(String, String)> = sqlx::query_as(if sqlite {
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_samples' \
         AND sql IS NOT NULL"
    } else {
        "SELECT CAST(indexname AS TEXT), CAST(indexdef AS TEXT) FROM pg_indexes WHERE tablename = 'usage_samples' \
         AND indexname NOT LIKE '%pkey'"
    })
    .fetch_all(&mut c)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut c)
            .await?;
    }
    if sqlite {
        sqlx::query("PRAGMA cache_size = -1000000")
            .execute(&mut c)
            .await?;
    }
    sqlx::query(&samples).execute(&mut c).await?;
    for (_, definition) in &indexes {
        sqlx::query(definition).execute(&mut c).await?;
    }
    sqlx::query(&peaks).execute(&mut c).await?;
    Ok((
        tenant,
        first.format("%Y-%m-%d").to_string(),
        last.format("%Y-%m-%d").to_string(),
        start,
        end,
    ))
}

/// The database's own CSV dump of the rows: their count per second.
async fn dump_rate(database_url: &str, query: &str, rows: usize) -> Result<f64> {
    let started = Instant::now();
    let status = if let Some(path) = database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        tokio::process::Command::new("sqlite3")
            .args(["-csv", "-readonly", path, query])
            .stdout(std::process::Stdio::null())
            .status()
            .await?
    } else {
        tokio::process::Command::new("psql")
            .args([
                database_url,
                "-q",
                "-c",
                &format!("\\copy ({query}) TO STDOUT CSV"),
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .await?
    };
    if !status.success() {
        return Err(format!("the database's own dump failed: {status}").into());
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// GET `path`: the answer's lines and bytes, read as they arrive (never held).
async fn download(client: &reqwest::Client, url: &str) -> Result<(usize, usize, f64)> {
    let started = Instant::now();
    let answer = client.get(url).send().await?.error_for_status()?;
    let mut body = answer.bytes_stream();
    let (mut lines, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        bytes += chunk.len();
    }
    Ok((lines, bytes, started.elapsed().as_secs_f64()))
}

pub async fn measure(
    portal: &Portal,
    database_url: &str,
    seeded: &(String, String, String, i64, i64),
    scale: &Scale,
    rows: &mut [Row],
) -> Result<()> {
    let (tenant, from, to, start, end) = seeded;
    let expected = scale.report_loadmasters * scale.report_days * 288;
    let client = portal.signed_in().await?;
    let query = format!("from={from}&to={to}");
    let dump = dump_query(tenant, *start, *end);
    for _ in 0..scale.runs {
        portal.reset_peak()?;
        let (_, at_rest_kb) = portal.memory_kb()?;
        let full_url = portal.at(&format!("/api/v1/metered/report/download?{query}"));
        let (lines, full_bytes, seconds) = download(&client, &full_url).await?;
        let (_, peak_kb) = portal.memory_kb()?;
        let samples = lines.saturating_sub(1);
        if samples != expected {
            return Err(format!("the full download had {samples} rows, not {expected}").into());
        }
        rows[0].runs.push(peak_kb as f64 * 1024.0 / 1e6);
        rows[0].baseline.push(at_rest_kb as f64 * 1024.0 / 1e6);
        rows[1].runs.push(samples as f64 / seconds);
        rows[1]
            .baseline
            .push(dump_rate(database_url, &dump, expected).await?);

        portal.reset_peak()?;
        let (_, at_rest_kb) = portal.memory_kb()?;
        let summary_url = portal.at(&format!(
            "/api/v1/metered/report/download?{query}&summary=on"
        ));
        let (_, zip_bytes, _) = download(&client, &summary_url).await?;
        let (_, peak_kb) = portal.memory_kb()?;
        rows[2].runs.push(zip_bytes as f64 / 1e3);
        rows[2].baseline.push(full_bytes as f64 / 1e3);
        rows[3].runs.push(peak_kb as f64 * 1024.0 / 1e6);
        rows[3].baseline.push(at_rest_kb as f64 * 1024.0 / 1e6);
    }
    Ok(())
}
