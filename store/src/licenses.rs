//! The License overview: paging, search and sort in the database; history; the export
//! stream; and status changes, each written with its history record and the day's
//! allocation peak in one transaction.

use crate::allocation::record_allocation;
use crate::args;
use crate::db::{like_pattern, Db, DbKind, Read, Value, WriteTx};
use crate::Result;
use bandpool_domain::license::{
    Column, HistoryEntry, License, LicenseHistory, LicensePage, LicenseQuery, LicenseStatus,
    SortOrder, StatusCounts,
};
use futures::stream::BoxStream;
use sqlx::Row;

pub const LICENSE_COLUMNS: &str =
    "id, device_name, ip_address, serial_no, license_name, status, bandwidth_mbps, \
     ssl_tps, grace_period_end, activated_at, recovered_at, issued_through_portal, connector_id";

fn sort_expr(column: Column) -> &'static str {
    match column {
        Column::DeviceName => "device_name",
        Column::IpAddress => "ip_address",
        Column::SerialNo => "serial_no",
        Column::LicenseName => "license_name",
        Column::Status => {
            "CASE status WHEN 'active' THEN 0 WHEN 'grace_period' THEN 1 WHEN 'expired' THEN 2 ELSE 3 END"
        }
        Column::Bandwidth => "bandwidth_mbps",
        Column::SslTps => "ssl_tps",
        Column::GracePeriod => "grace_period_end",
        Column::ActivationDate => "activated_at",
        Column::RecoveryDate => "recovered_at",
    }
}

/// The WHERE clause and its values for a query's filter and search.
fn filter(tenant_id: &str, query: &LicenseQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("tenant_id = $1");
    let mut values = args![tenant_id.to_string()];
    if let Some(status) = query.status {
        values.push(Value::Text(status.key().to_string()));
        sql.push_str(&format!(" AND status = ${}", values.len()));
    }
    if let Some(q) = &query.q {
        values.push(Value::Text(like_pattern(q)));
        let n = values.len();
        sql.push_str(&format!(
            " AND (LOWER(COALESCE(device_name, '')) LIKE ${n} ESCAPE '\\' \
             OR LOWER(COALESCE(ip_address, '')) LIKE ${n} ESCAPE '\\' \
             OR LOWER(serial_no) LIKE ${n} ESCAPE '\\' \
             OR LOWER(license_name) LIKE ${n} ESCAPE '\\')"
        ));
    }
    (sql, values)
}

pub async fn status_counts(db: &Db, tenant_id: &str) -> Result<StatusCounts> {
    counts_where(db, "tenant_id = $1", args![tenant_id.to_string()]).await
}

/// The count per status of the licenses `where_sql` selects.
async fn counts_where(db: &Db, where_sql: &str, values: Vec<Value>) -> Result<StatusCounts> {
    /// How many licenses hold one stored status.
    #[derive(sqlx::FromRow)]
    struct Counted {
        status: String,
        n: i64,
    }
    let rows: Vec<Counted> = db
        .fetch_all_as(
            &format!(
                "SELECT status, COUNT(*) AS n FROM licenses WHERE {where_sql} GROUP BY status"
            ),
            values,
        )
        .await?;
    let mut counts = StatusCounts::default();
    for row in rows {
        if let Some(status) = LicenseStatus::from_key(&row.status) {
            counts.set(status, row.n as u64);
        }
    }
    Ok(counts)
}

/// Whether a column can be empty (its empty values sort last either way).
fn nullable(column: Column) -> bool {
    matches!(
        column,
        Column::DeviceName | Column::IpAddress | Column::GracePeriod | Column::RecoveryDate
    )
}

/// The index holding a column's order within a tenant, ties on id (migration 0006).
fn index_of(column: Column) -> Option<&'static str> {
    Some(match column {
        Column::DeviceName => "licenses_tenant_device_name_id",
        Column::IpAddress => "licenses_tenant_ip_id",
        Column::SerialNo => "licenses_tenant_serial_id",
        Column::LicenseName => "licenses_tenant_license_name_id",
        Column::Bandwidth => "licenses_tenant_bandwidth_id",
        Column::SslTps => "licenses_tenant_ssl_tps_id",
        Column::GracePeriod => "licenses_tenant_grace_end_id",
        Column::ActivationDate => "licenses_tenant_activated_id",
        Column::RecoveryDate => "licenses_tenant_recovered_id",
        Column::Status => return None,
    })
}

/// A run of the overview's order: its extra condition, its order, and that order reversed.
struct Segment {
    condition: String,
    order: String,
    reversed: String,
}

/// One page of licenses; nulls sort last either way, ties break on id so pages never overlap.
///
/// Large pools stay cheap (the License Repository's speed goal at 100,000 licenses): the counts come from one `GROUP BY status` over an
/// index (and a `COUNT` only for a search); the rows are read in the order an index on
/// `(tenant_id, column, id)` already holds, the non-empty values and then the empty ones as
/// separate reads (an `IS NULL` term in the ORDER BY would defeat the index); and a page in
/// the back half is read from the end in the opposite order, so the last page costs what
/// the first does. SQLite is told which index to walk (`INDEXED BY`): with one tenant its
/// statistics make a full sort look cheaper than it is.
pub async fn list(db: &Db, tenant_id: &str, query: &LicenseQuery) -> Result<LicensePage> {
    let (where_sql, values) = filter(tenant_id, query);
    // The counts beside the status filters are those of the search, so "All" says how many
    // match (one scan, which the search's total needed anyway).
    let status_counts = match &query.q {
        None => status_counts(db, tenant_id).await?,
        Some(_) => {
            let searched = LicenseQuery {
                status: None,
                ..query.clone()
            };
            let (search_sql, search_values) = filter(tenant_id, &searched);
            counts_where(db, &search_sql, search_values).await?
        }
    };
    let total = match query.status {
        None => status_counts.total(),
        Some(status) => status_counts.get(status),
    };
    let indexed = match index_of(query.sort) {
        Some(index) if db.kind == DbKind::Sqlite && query.q.is_none() => {
            format!("INDEXED BY {index}")
        }
        _ => String::new(),
    };
    let expr = sort_expr(query.sort);
    let (dir, back) = match query.order {
        SortOrder::Asc => ("ASC", "DESC"),
        SortOrder::Desc => ("DESC", "ASC"),
    };
    let mut segments = vec![Segment {
        condition: if nullable(query.sort) {
            format!(" AND {expr} IS NOT NULL")
        } else {
            String::new()
        },
        order: format!("{expr} {dir}, id {dir}"),
        reversed: format!("{expr} {back}, id {back}"),
    }];
    if nullable(query.sort) {
        segments.push(Segment {
            condition: format!(" AND {expr} IS NULL"),
            order: format!("id {dir}"),
            reversed: format!("id {back}"),
        });
    }
    let from = query.offset().min(total);
    let to = (query.offset() + u64::from(query.per_page)).min(total);
    // The front half is read forwards, the back half backwards from the end.
    let backwards = total - to < from;
    let (mut skip, mut want) = (if backwards { total - to } else { from }, to - from);
    if backwards {
        segments.reverse();
    }
    let mut licenses = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if want == 0 {
            break;
        }
        let order = if backwards {
            &segment.reversed
        } else {
            &segment.order
        };
        let sql = format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses {indexed} WHERE {where_sql}{} \
             ORDER BY {order} LIMIT {want} OFFSET {skip}",
            segment.condition
        );
        let rows = db.fetch_all(&sql, values.clone()).await?;
        let got = rows.len() as u64;
        for row in &rows {
            licenses.push(crate::db::row_as(row)?);
        }
        want = want.saturating_sub(got);
        if want > 0 && i + 1 < segments.len() {
            // The page goes on in the next segment: from its start if this one ended inside
            // the page, else past what of it lies before the page (counted only then).
            skip = if got > 0 {
                0
            } else {
                skip.saturating_sub(
                    count(
                        db,
                        &indexed,
                        &format!("{where_sql}{}", segment.condition),
                        values.clone(),
                    )
                    .await?,
                )
            };
        }
    }
    if backwards {
        licenses.reverse();
    }
    Ok(LicensePage {
        licenses,
        total,
        page: query.page,
        per_page: query.per_page,
        pages: query.pages_for(total),
        status_counts,
    })
}

async fn count(db: &Db, indexed: &str, where_sql: &str, values: Vec<Value>) -> Result<u64> {
    let n: i64 = db
        .fetch_optional(
            &format!("SELECT COUNT(*) AS n FROM licenses {indexed} WHERE {where_sql}"),
            values,
        )
        .await?
        .map(|r| r.try_get("n"))
        .transpose()?
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}

/// A license of the tenant (on the pool, or inside the transaction about to change it).
pub async fn get(on: impl Read, tenant_id: &str, license_id: &str) -> Result<License> {
    crate::db::find_as(
        on,
        "The license",
        &format!("SELECT {LICENSE_COLUMNS} FROM licenses WHERE tenant_id = $1 AND id = $2"),
        args![tenant_id.to_string(), license_id.to_string()],
    )
    .await
}

/// A license_history row's columns, in the order rows are inserted.
pub const HISTORY_COLUMNS: [&str; 7] = [
    "id",
    "license_id",
    "tenant_id",
    "at",
    "from_status",
    "to_status",
    "note",
];

/// A license_history row as stored.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    at: i64,
    from_status: Option<String>,
    to_status: String,
    note: String,
}

pub async fn history(db: &Db, tenant_id: &str, license_id: &str) -> Result<LicenseHistory> {
    let license = get(db, tenant_id, license_id).await?;
    let rows = db
        .fetch_all(
            "SELECT at, from_status, to_status, note FROM license_history \
             WHERE tenant_id = $1 AND license_id = $2 ORDER BY at, id",
            args![tenant_id.to_string(), license_id.to_string()],
        )
        .await?;
    let entries = crate::db::rows_as::<HistoryRow>(&rows)?
        .into_iter()
        .map(|row| {
            Ok(HistoryEntry {
                at: row.at,
                from_status: row.from_status.map(LicenseStatus::try_from).transpose()?,
                to_status: LicenseStatus::try_from(row.to_status)?,
                note: row.note,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LicenseHistory { license, entries })
}

/// Every license of the tenant in the overview's order for `sort` and `order` (empty values
/// last, ties on id), as a stream: a task reads rows as the consumer takes them (a small
/// bounded channel between), so memory stays flat however large the pool. The non-empty
/// values and the empty ones are read one after the other, as the overview reads them, so
/// each read walks the column's index. Dropping the stream stops the read.
pub fn stream_all(
    db: &Db,
    tenant_id: String,
    sort: Column,
    order: SortOrder,
) -> BoxStream<'static, Result<License>> {
    use futures::StreamExt;
    let expr = sort_expr(sort);
    let dir = match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    let read = |condition: String, order: String| {
        let sql = format!(
            "SELECT {LICENSE_COLUMNS} FROM licenses WHERE tenant_id = $1{condition} ORDER BY {order}"
        );
        crate::db::stream_rows(
            db,
            sql,
            args![tenant_id.clone()],
            crate::db::row_as::<License>,
        )
    };
    if !nullable(sort) {
        return read(String::new(), format!("{expr} {dir}, id {dir}"));
    }
    let filled = read(
        format!(" AND {expr} IS NOT NULL"),
        format!("{expr} {dir}, id {dir}"),
    );
    let empty = read(format!(" AND {expr} IS NULL"), format!("id {dir}"));
    filled.chain(empty).boxed()
}

/// Change a license's status: the license, its history record and the day's allocation
/// peak are written in one transaction. Killing recovers the license: the recovery date is
/// set and the device name and IP address are removed from the row.
pub async fn set_status(
    tx: &mut WriteTx,
    tenant_id: &str,
    license_id: &str,
    to: LicenseStatus,
    note: &str,
    now: i64,
    grace_period_end: Option<i64>,
) -> Result<License> {
    tx.lock_pool(tenant_id).await?;
    let before = get(&mut *tx, tenant_id, license_id).await?;
    if before.status == to {
        return Ok(before);
    }
    let killed = to == LicenseStatus::Killed;
    tx.execute(
        "UPDATE licenses SET status = $3, grace_period_end = $4, \
         recovered_at = CASE WHEN $5 = 1 THEN $6 ELSE recovered_at END, \
         device_name = CASE WHEN $5 = 1 THEN NULL ELSE device_name END, \
         ip_address = CASE WHEN $5 = 1 THEN NULL ELSE ip_address END, \
         device_id = CASE WHEN $5 = 1 THEN NULL ELSE device_id END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            Value::Text(tenant_id.to_string()),
            Value::Text(license_id.to_string()),
            Value::Text(to.key().to_string()),
            // Back to Active, a grace period is over; other statuses keep its deadline.
            Value::OptInt(if to == LicenseStatus::Active {
                None
            } else {
                grace_period_end.or(before.grace_period_end)
            }),
            Value::Int(i64::from(killed)),
            Value::Int(now),
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO license_history (id, license_id, tenant_id, at, from_status, to_status, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![uuid::Uuid::new_v4().to_string(), license_id.to_string(), tenant_id.to_string(), now, Some(before.status.key().to_string()), to.key().to_string(), note.to_string()],
    )
    .await?;
    record_allocation(tx, tenant_id, now).await?;
    if before.status.holds_capacity() && !to.holds_capacity() {
        crate::metered::record_deactivations(tx, tenant_id, &[license_id.to_string()], now).await?;
    }
    get(&mut *tx, tenant_id, license_id).await
}

/// One status change applied to many licenses (`bulk_set_status`).
#[derive(Debug, Clone, Copy)]
pub struct StatusMove<'a> {
    pub from: LicenseStatus,
    pub to: LicenseStatus,
    /// The history record's note.
    pub note: &'a str,
    pub now: i64,
    /// Entering a grace period: when it ends.
    pub grace_period_end: Option<i64>,
}

/// Move many licenses of one tenant from `from` to `to` at once (a connector going down or
/// coming back, grace periods running out): the licenses, one history record each and the
/// day's allocation peak, in the caller's transaction. Returns the ids that moved (those
/// still in `from`). Expiring recovers the capacity: the recovery date is set.
pub async fn bulk_set_status(
    tx: &mut WriteTx,
    tenant_id: &str,
    ids: &[String],
    change: StatusMove<'_>,
) -> Result<Vec<String>> {
    let StatusMove {
        from,
        to,
        note,
        now,
        grace_period_end,
    } = change;
    tx.lock_pool(tenant_id).await?;
    let mut moved = Vec::new();
    for (placeholders, mut values) in
        crate::db::in_lists(args![tenant_id.to_string(), from.key().to_string()], ids)
    {
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT id FROM licenses WHERE tenant_id = $1 AND status = $2 \
                     AND id IN ({placeholders})"
                ),
                values.clone(),
            )
            .await?;
        let chunk_moved = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if chunk_moved.is_empty() {
            continue;
        }
        let n = values.len();
        values.push(Value::Text(to.key().to_string()));
        values.push(Value::OptInt(grace_period_end));
        values.push(Value::Int(now));
        let recovers = !to.holds_capacity();
        tx.execute(
            &format!(
                "UPDATE licenses SET status = ${a}, grace_period_end = {grace}, \
                 recovered_at = {recovered} \
                 WHERE tenant_id = $1 AND status = $2 AND id IN ({placeholders})",
                a = n + 1,
                grace = if to == LicenseStatus::Active {
                    "NULL".to_string()
                } else {
                    format!("COALESCE(${}, grace_period_end)", n + 2)
                },
                recovered = if recovers {
                    format!("${}", n + 3)
                } else {
                    "recovered_at".to_string()
                },
            ),
            if to == LicenseStatus::Active {
                values[..n + 1].to_vec()
            } else if recovers {
                values
            } else {
                values[..n + 2].to_vec()
            },
        )
        .await?;
        let history = chunk_moved
            .iter()
            .map(|id| {
                args![
                    uuid::Uuid::new_v4().to_string(),
                    id.clone(),
                    tenant_id.to_string(),
                    now,
                    Some(from.key().to_string()),
                    to.key().to_string(),
                    note.to_string()
                ]
            })
            .collect();
        crate::db::insert_rows(tx, "license_history", &HISTORY_COLUMNS, history).await?;
        moved.extend(chunk_moved);
    }
    if !moved.is_empty() {
        record_allocation(tx, tenant_id, now).await?;
        if from.holds_capacity() && !to.holds_capacity() {
            crate::metered::record_deactivations(tx, tenant_id, &moved, now).await?;
        }
    }
    Ok(moved)
}
