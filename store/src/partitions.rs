//! Where raw usage samples live on PostgreSQL: one partition per UTC day of `usage_samples`
//! and of `usage_sample_virtual_services`, so that expiring a day is dropping a table, not
//! deleting millions of rows (each a dead tuple for VACUUM and a record in the write-ahead
//! log). At 10,000 metered LoadMasters a day is 2.9 million samples.
//!
//! The portable migrations create both tables plain; on PostgreSQL `prepare` (run after the
//! migrations) turns them into partitioned tables once, moving any rows across, and then
//! keeps partitions ready for today and the next two days (the hourly expiry sweep calls
//! `ensure` too). A sample for a day without a partition (one relayed late from before the
//! partitions began, or a test's clock far from today's) lands in the default partition,
//! which expiry empties row by row; a day's partition created later takes that day's rows
//! out of the default partition first. SQLite has no partitions; there expiry deletes rows.

use crate::db::{Db, DbKind, WriteTx};
use crate::{args, Result};

/// The partitioned tables, each with its columns and primary key (which must hold the
/// partition key, `sampled_at`).
const TABLES: [(&str, &str, &str); 2] = [
    (
        "usage_samples",
        "license_id TEXT NOT NULL, sampled_at BIGINT NOT NULL, \
         tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, \
         bytes_in_per_second BIGINT NOT NULL, bytes_out_per_second BIGINT NOT NULL, \
         ssl_tps BIGINT NOT NULL",
        "license_id, sampled_at",
    ),
    (
        "usage_sample_virtual_services",
        "license_id TEXT NOT NULL, sampled_at BIGINT NOT NULL, name TEXT NOT NULL, \
         bytes BIGINT NOT NULL",
        "license_id, sampled_at, name",
    ),
];

/// Serializes partition changes between portal instances sharing the database.
const LOCK: i64 = 0x0053_4550_5041_5254; // any fixed number, the same in every instance

const DAY: i64 = 86_400;

/// The name of `table`'s partition for the UTC day starting at `day_start`.
fn partition(table: &str, day_start: i64) -> String {
    let day = chrono::DateTime::from_timestamp(day_start, 0)
        .map(|t| t.format("%Y%m%d").to_string())
        .unwrap_or_default();
    format!("{table}_p{day}")
}

/// The day a partition holds (its first second), from its name.
fn day_of(table: &str, name: &str) -> Option<i64> {
    let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
    let day = chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

async fn lock(tx: &mut WriteTx) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", args![LOCK])
        .await
        .map(drop)
}

async fn is_partitioned(tx: &mut WriteTx, table: &str) -> Result<bool> {
    let kind: Option<(String,)> = crate::db::optional_as(
        &mut *tx,
        "SELECT CAST(c.relkind AS TEXT) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = $1 AND n.nspname = current_schema()",
        args![table],
    )
    .await?;
    Ok(kind.is_some_and(|(k,)| k == "p"))
}

/// After the migrations, on PostgreSQL: make the sample tables partitioned (once) and have
/// partitions for the days around `now`. Nothing on SQLite.
pub async fn prepare(db: &Db, now: i64) -> Result<()> {
    if db.kind != DbKind::Postgres {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    lock(&mut tx).await?;
    for (table, columns, key) in TABLES {
        if is_partitioned(&mut tx, table).await? {
            continue;
        }
        // Built beside the plain table, filled from it, then put in its place.
        let new = format!("{table}_partitioned");
        tx.execute(
            &format!(
                "CREATE TABLE {new} ({columns}, CONSTRAINT {new}_pkey PRIMARY KEY ({key})) \
                 PARTITION BY RANGE (sampled_at)"
            ),
            vec![],
        )
        .await?;
        tx.execute(
            &format!("CREATE TABLE {table}_default PARTITION OF {new} DEFAULT"),
            vec![],
        )
        .await?;
        tx.execute(&format!("INSERT INTO {new} SELECT * FROM {table}"), vec![])
            .await?;
        tx.execute(&format!("DROP TABLE {table}"), vec![]).await?;
        tx.execute(&format!("ALTER TABLE {new} RENAME TO {table}"), vec![])
            .await?;
        tx.execute(
            &format!("ALTER INDEX {new}_pkey RENAME TO {table}_pkey"),
            vec![],
        )
        .await?;
        if table == "usage_samples" {
            // The tenant's samples in time order (reports read them so); the per-day
            // partitions make the plain `sampled_at` index unneeded.
            tx.execute(
                "CREATE INDEX usage_samples_tenant ON usage_samples (tenant_id, sampled_at)",
                vec![],
            )
            .await?;
        }
    }
    tx.commit().await?;
    ensure(db, now).await
}

/// Partitions for the day before `now`'s, its day and the two after, where missing (the
/// hourly expiry sweep keeps them ahead of the clock). Nothing on SQLite.
pub async fn ensure(db: &Db, now: i64) -> Result<()> {
    if db.kind != DbKind::Postgres {
        return Ok(());
    }
    let today = now.div_euclid(DAY) * DAY;
    let mut tx = db.begin_write().await?;
    lock(&mut tx).await?;
    for (table, _, _) in TABLES {
        let existing = partitions(&mut tx, table).await?;
        for day in (-1..=2).map(|d| today + d * DAY) {
            if !existing.contains(&day) {
                add(&mut tx, table, day).await?;
            }
        }
    }
    tx.commit().await
}

/// The days `table` has partitions for.
async fn partitions(tx: &mut WriteTx, table: &str) -> Result<Vec<i64>> {
    let names: Vec<String> = crate::db::column(
        &mut *tx,
        "SELECT CAST(c.relname AS TEXT) FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
         JOIN pg_namespace n ON n.oid = p.relnamespace \
         WHERE p.relname = $1 AND n.nspname = current_schema()",
        args![table],
    )
    .await?;
    Ok(names.iter().filter_map(|n| day_of(table, n)).collect())
}

/// Add `table`'s partition for `day`, taking that day's rows out of the default partition
/// first (PostgreSQL refuses a partition whose rows the default partition holds).
async fn add(tx: &mut WriteTx, table: &str, day: i64) -> Result<()> {
    let name = partition(table, day);
    let (from, to) = (day, day + DAY);
    let stray: bool = crate::db::value(
        &mut *tx,
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {table}_default WHERE sampled_at >= $1 AND sampled_at < $2)"
        ),
        args![from, to],
    )
    .await?;
    if !stray {
        tx.execute(
            &format!("CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({from}) TO ({to})"),
            vec![],
        )
        .await?;
        return Ok(());
    }
    tx.execute(
        &format!("CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
        vec![],
    )
    .await?;
    tx.execute(
        &format!(
            "WITH moved AS (DELETE FROM {table}_default WHERE sampled_at >= $1 AND sampled_at < $2 \
             RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        args![from, to],
    )
    .await?;
    tx.execute(
        &format!("ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"),
        vec![],
    )
    .await?;
    Ok(())
}

/// Drop the partitions of days that ended by `before`: the samples they held (counted
/// first, for the sweep's log). Nothing on SQLite.
pub async fn drop_expired(db: &Db, before: i64) -> Result<u64> {
    if db.kind != DbKind::Postgres {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    lock(&mut tx).await?;
    let mut samples = 0u64;
    for (table, _, _) in TABLES {
        for day in partitions(&mut tx, table).await? {
            if day + DAY > before {
                continue;
            }
            let name = partition(table, day);
            if table == "usage_samples" {
                let n: i64 =
                    crate::db::value(&mut tx, &format!("SELECT COUNT(*) FROM {name}"), vec![])
                        .await?;
                samples += n as u64;
            }
            tx.execute(&format!("DROP TABLE {name}"), vec![]).await?;
        }
    }
    tx.commit().await?;
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_carry_their_day() {
        let day = 1_796_601_600; // 2026-12-07
        assert_eq!(partition("usage_samples", day), "usage_samples_p20261207");
        assert_eq!(
            day_of("usage_samples", "usage_samples_p20261207"),
            Some(day)
        );
        assert_eq!(day_of("usage_samples", "usage_samples_default"), None);
        // The other table's partitions are not this one's.
        assert_eq!(
            day_of("usage_samples", "usage_sample_virtual_services_p20261207"),
            None
        );
    }
}
