//! The daily allocation peaks behind the Maximum allocation chart. Each change of a
//! license's status updates the day's row in the same transaction, from the sum of the
//! licenses themselves; the charts read at most a year of daily rows, never the licenses.

use crate::args;
use crate::db::{Db, WriteTx};
use crate::Result;
use bandpool_domain::allocation::{
    fill_days, first_of_month, monthly_peaks, months_back, parse_month, DailyAllocation, DayRow,
    MonthlyAllocation,
};
use bandpool_domain::AppError;
use chrono::{DateTime, Months, NaiveDate};
use sqlx::Row;

fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The tenant's allocation now: the bandwidth of its pooled Active and Grace Period licenses
/// (metered licenses are limited by their contract and billed by usage: they take nothing
/// from the pool).
pub async fn current_allocation(tx: &mut WriteTx, tenant_id: &str) -> Result<i64> {
    let row = tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(bandwidth_mbps), 0) AS BIGINT) AS mbps FROM licenses \
             WHERE tenant_id = $1 AND status IN ('active', 'grace_period') AND metered = 0",
            args![tenant_id.to_string()],
        )
        .await?;
    Ok(row.try_get("mbps")?)
}

/// Bring today's row up to date after a change: the closing value is the allocation now,
/// the peak the highest the day has seen (a day's first change starts from the closing
/// allocation of the last day that had one).
pub async fn record_allocation(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<i64> {
    let allocation = current_allocation(tx, tenant_id).await?;
    let day = DateTime::from_timestamp(now, 0)
        .ok_or_else(|| AppError::internal(format!("time {now} out of range")))?
        .date_naive();
    let day = day_key(day);
    let today = tx
        .fetch_optional(
            "SELECT peak_mbps FROM allocation_daily WHERE tenant_id = $1 AND day = $2",
            args![tenant_id.to_string(), day.clone()],
        )
        .await?;
    match today {
        Some(row) => {
            let peak: i64 = row.try_get("peak_mbps")?;
            let raised = allocation > peak;
            tx.execute(
                "UPDATE allocation_daily SET closing_mbps = $3, peak_mbps = $4, \
                 peak_at = CASE WHEN $5 = 1 THEN $6 ELSE peak_at END \
                 WHERE tenant_id = $1 AND day = $2",
                args![
                    tenant_id.to_string(),
                    day,
                    allocation,
                    peak.max(allocation),
                    i64::from(raised),
                    now
                ],
            )
            .await?;
        }
        None => {
            let carry: i64 = tx
                .fetch_optional(
                    "SELECT closing_mbps FROM allocation_daily WHERE tenant_id = $1 AND day < $2 \
                     ORDER BY day DESC LIMIT 1",
                    args![tenant_id.to_string(), day.clone()],
                )
                .await?
                .map(|r| r.try_get("closing_mbps"))
                .transpose()?
                .unwrap_or(0);
            tx.execute(
                "INSERT INTO allocation_daily (tenant_id, day, peak_mbps, peak_at, closing_mbps) \
                 VALUES ($1, $2, $3, $4, $5)",
                args![
                    tenant_id.to_string(),
                    day,
                    carry.max(allocation),
                    now,
                    allocation
                ],
            )
            .await?;
        }
    }
    Ok(allocation)
}

/// A day's row as stored (the day as `YYYY-MM-DD` text).
#[derive(sqlx::FromRow)]
struct StoredDay {
    day: String,
    peak_mbps: i64,
    closing_mbps: i64,
}

fn day_row(row: StoredDay) -> Result<DayRow> {
    let day = row.day;
    Ok(DayRow {
        day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| AppError::internal(format!("bad day {day:?}: {e}")))?,
        peak_mbps: row.peak_mbps,
        closing_mbps: row.closing_mbps,
    })
}

async fn capacity(db: &Db, tenant_id: &str) -> Result<i64> {
    let row = db
        .fetch_optional(
            "SELECT max_capacity_mbps FROM pools WHERE tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?
        .ok_or_else(|| AppError::not_found("The pool"))?;
    Ok(row.try_get("max_capacity_mbps")?)
}

/// The rows of `from..=to` and the closing allocation carried in from before `from`.
async fn days_between(
    db: &Db,
    tenant_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<DayRow>, i64, bool)> {
    let rows = db
        .fetch_all_as::<StoredDay>(
            "SELECT day, peak_mbps, closing_mbps FROM allocation_daily \
             WHERE tenant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
            args![tenant_id.to_string(), day_key(from), day_key(to)],
        )
        .await?;
    let rows = rows.into_iter().map(day_row).collect::<Result<Vec<_>>>()?;
    let before = db
        .fetch_optional(
            "SELECT closing_mbps FROM allocation_daily WHERE tenant_id = $1 AND day < $2 \
             ORDER BY day DESC LIMIT 1",
            args![tenant_id.to_string(), day_key(from)],
        )
        .await?;
    let has_before = before.is_some();
    let carry = before
        .map(|r| r.try_get("closing_mbps"))
        .transpose()?
        .unwrap_or(0);
    let has_history = has_before || !rows.is_empty();
    Ok((rows, carry, has_history))
}

/// Twelve months ending with `today`'s: each month's peak and the day it happened.
pub async fn monthly(db: &Db, tenant_id: &str, today: NaiveDate) -> Result<MonthlyAllocation> {
    let capacity = capacity(db, tenant_id).await?;
    let from = months_back(today, 11);
    let (rows, carry, has_history) = days_between(db, tenant_id, from, today).await?;
    let days = fill_days(&rows, carry, from, today, capacity);
    let mut months = monthly_peaks(&days, capacity);
    for month in &mut months {
        if month.peak_mbps == 0 {
            month.peak_day = None;
        }
    }
    Ok(MonthlyAllocation {
        capacity_mbps: capacity,
        months,
        has_history,
    })
}

/// Each day of `month` (YYYY-MM) up to `today`, with its peak.
pub async fn daily(
    db: &Db,
    tenant_id: &str,
    month: &str,
    today: NaiveDate,
) -> Result<DailyAllocation> {
    let first = parse_month(month)
        .ok_or_else(|| AppError::invalid("month", "must be a month as YYYY-MM"))?;
    let capacity = capacity(db, tenant_id).await?;
    let last = (first + Months::new(1)).pred_opt().unwrap_or(first);
    let to = last.min(today);
    if first > first_of_month(today) {
        return Ok(DailyAllocation {
            capacity_mbps: capacity,
            month: month.to_string(),
            days: vec![],
            has_history: false,
        });
    }
    let (rows, carry, has_history) = days_between(db, tenant_id, first, to).await?;
    Ok(DailyAllocation {
        capacity_mbps: capacity,
        month: month.to_string(),
        days: fill_days(&rows, carry, first, to, capacity),
        has_history,
    })
}
