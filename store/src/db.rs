//! The database handle: which engine, the pool, migrations, and write transactions that
//! serialize writers to one pool (SQLite `BEGIN IMMEDIATE`; PostgreSQL row locks).

use crate::Result;
use bandpool_domain::AppError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(DbKind::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(DbKind::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
    /// SQLite: this process's write transactions queue here, first come first served, for
    /// the one write lock SQLite has. Without it they wait in SQLite's busy handler, which
    /// sleeps in growing steps: with 8 writers at once a check report waited up to 0.6 s
    /// (BENCHMARKS.md, (a)). Other processes still meet `busy_timeout`.
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// A value bound to a portable query.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::OptInt(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::OptText(v)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::OptText(v.map(str::to_string))
    }
}

/// A statement's arguments, in `$1, $2, ...` order: `args![tenant_id, id, now]`, each
/// anything that becomes a `Value` (text, a number, an option of either).
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Value::from($value)),*]
    };
}

pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

pub fn bind(query: AnyQuery<'_>, value: Value) -> AnyQuery<'_> {
    match value {
        Value::Int(v) => query.bind(v),
        Value::OptInt(v) => query.bind(v),
        Value::Text(v) => query.bind(v),
        Value::OptText(v) => query.bind(v),
    }
}

/// Text holding the NUL character is refused before any statement runs, on both engines
/// alike: PostgreSQL cannot store it (SQLite can). The server refuses it at its edge, naming
/// the field; this is the floor under every other way text reaches a query (a page's
/// parameters, decoded twice by the router, say), so it is a clear 400 and never a 500.
fn storable(values: &[Value]) -> Result<()> {
    let nul = values.iter().any(|v| match v {
        Value::Text(t) | Value::OptText(Some(t)) => t.contains('\0'),
        _ => false,
    });
    if nul {
        return Err(AppError::invalid(
            "text",
            "must not contain the NUL character",
        ));
    }
    Ok(())
}

/// `%term%` for a case-blind search, `LOWER(column) LIKE $n ESCAPE '\'`: the term lower-cased
/// and its own wildcards escaped, so a `%` or `_` typed in a search matches only itself.
pub fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A statement with its values bound, once they are known to be storable.
fn statement(sql: &str, values: Vec<Value>) -> Result<AnyQuery<'_>> {
    storable(&values)?;
    Ok(values.into_iter().fold(sqlx::query(sql), bind))
}

impl Db {
    /// Connect to `sqlite:...` or `postgres://...`. An SQLite file and its folder are created.
    pub async fn connect(url: &str) -> Result<Db> {
        Self::connect_with(url, 10).await
    }

    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url).ok_or_else(|| {
            AppError::invalid("DATABASE_URL", "must start with sqlite: or postgres://")
        })?;
        let mut url = url.to_string();
        if kind == DbKind::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string();
            if !path.is_empty() && path != ":memory:" {
                if let Some(parent) = std::path::Path::new(&path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(AppError::internal)?;
                    }
                }
            }
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // Sorts of a large pool's page stay in memory instead of temp files.
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let write_gate = (kind == DbKind::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Db {
            pool,
            kind,
            write_gate,
        })
    }

    /// Apply the migrations in `migrations/`: one portable set for both engines. What only
    /// PostgreSQL has (the usage samples' daily partitions) follows them in
    /// `partitions::prepare`.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("../migrations").run(&self.pool).await?;
        // The wall clock, like the sweep leases: which days have partitions is storage, not
        // the product's (injectable) time; a sample on any other day still lands safely.
        crate::partitions::prepare(self, chrono::Utc::now().timestamp()).await?;
        Ok(())
    }

    /// Refresh the planner's statistics (after bulk loads): with them, SQLite scans the table
    /// for a search instead of walking an index that matches every row.
    /// On SQLite it also moves the bulk load from the write-ahead log into the database file,
    /// where reads find pages directly instead of through the log's index.
    pub async fn analyze(&self) -> Result<()> {
        // PostgreSQL: VACUUM too, so the visibility map lets counts read indexes alone.
        let analyze = match self.kind {
            DbKind::Postgres => "VACUUM ANALYZE",
            DbKind::Sqlite => "ANALYZE",
        };
        sqlx::query(analyze).execute(&self.pool).await?;
        if self.kind == DbKind::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Whether the database answers (for /healthz).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Start a write transaction. On SQLite it takes the write lock up front, so no other
    /// writer can interleave between a check and the write that depends on it.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        // The gate before a connection: writers waiting their turn hold no connection.
        let waited = std::time::Instant::now();
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        metrics::histogram!("bandpool_db_write_gate_wait_seconds")
            .record(waited.elapsed().as_secs_f64());
        let conn = self.pool.acquire().await?;
        let begin = match self.kind {
            DbKind::Sqlite => "BEGIN IMMEDIATE",
            DbKind::Postgres => "BEGIN",
        };
        // Held by the WriteTx before BEGIN runs: if this future is dropped while BEGIN
        // waits (a client gone away during a busy moment), the WriteTx's drop closes the
        // connection instead of returning it to the pool inside an open transaction.
        let mut tx = WriteTx {
            conn: Some(conn),
            kind: self.kind,
            _gate: gate,
            began: std::time::Instant::now(),
        };
        tx.conn().execute(begin).await?;
        Ok(tx)
    }

    pub async fn fetch_all(&self, sql: &str, values: Vec<Value>) -> Result<Vec<AnyRow>> {
        let query = statement(sql, values)?;
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Rows read straight into a type that derives `sqlx::FromRow` (its fields named as the
    /// columns): no column is read by hand.
    pub async fn fetch_all_as<T>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        rows_as(&self.fetch_all(sql, values).await?)
    }

    /// One write outside a transaction; returns the rows affected. On SQLite it waits its
    /// turn at the same gate as write transactions: this process's writers queue here
    /// instead of spinning on SQLite's busy timeout, and there is no way to write around it.
    pub async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let query = statement(sql, values)?;
        let waited = std::time::Instant::now();
        let _turn = match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        metrics::histogram!("bandpool_db_write_gate_wait_seconds")
            .record(waited.elapsed().as_secs_f64());
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    pub async fn fetch_optional(&self, sql: &str, values: Vec<Value>) -> Result<Option<AnyRow>> {
        let query = statement(sql, values)?;
        Ok(query.fetch_optional(&self.pool).await?)
    }

    /// A query that always answers one row (a count, say).
    pub async fn fetch_one(&self, sql: &str, values: Vec<Value>) -> Result<AnyRow> {
        let query = statement(sql, values)?;
        Ok(query.fetch_one(&self.pool).await?)
    }
}

/// Stream a query's rows, mapped, from a task of their own: memory stays flat however many
/// rows match, and the stream is `'static` so a response body can own it.
pub fn stream_rows<T: Send + 'static>(
    db: &Db,
    sql: String,
    values: Vec<Value>,
    map: fn(&AnyRow) -> Result<T>,
) -> futures::stream::BoxStream<'static, Result<T>> {
    use futures::StreamExt;
    if let Err(refused) = storable(&values) {
        return futures::stream::once(async move { Err(refused) }).boxed();
    }
    let pool = db.pool.clone();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<T>>(256);
    tokio::spawn(async move {
        let query = values.into_iter().fold(sqlx::query(&sql), bind);
        let mut rows = query.fetch(&pool);
        while let Some(row) = rows.next().await {
            let item = row.map_err(Into::into).and_then(|r| map(&r));
            let failed = item.is_err();
            if sender.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

/// A row read into a type that derives `sqlx::FromRow` (fields named as the columns).
pub fn row_as<T>(row: &AnyRow) -> Result<T>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    T::from_row(row).map_err(Into::into)
}

/// Rows read into a type that derives `sqlx::FromRow` (fields named as the columns).
pub fn rows_as<T>(rows: &[AnyRow]) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    rows.iter()
        .map(|row| T::from_row(row).map_err(Into::into))
        .collect()
}

/// The first column of the one row a query answers (a count, an id), read as `T`; no row
/// is the same error `fetch_one` gives.
pub async fn value<T>(on: impl Read, sql: &str, values: Vec<Value>) -> Result<T>
where
    (T,): for<'r> sqlx::FromRow<'r, AnyRow>,
{
    let (value,) = optional_as::<(T,)>(on, sql, values)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(value)
}

/// The first column of every row a query finds (a list of ids, say), read as `T`.
pub async fn column<T>(mut on: impl Read, sql: &str, values: Vec<Value>) -> Result<Vec<T>>
where
    (T,): for<'r> sqlx::FromRow<'r, AnyRow>,
{
    let rows = on.fetch_all(sql, values).await?;
    Ok(rows_as::<(T,)>(&rows)?
        .into_iter()
        .map(|(value,)| value)
        .collect())
}

/// The row a query finds, if any, read into `T`.
pub async fn optional_as<T>(mut on: impl Read, sql: &str, values: Vec<Value>) -> Result<Option<T>>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    on.fetch_optional(sql, values)
        .await?
        .map(|row| row_as(&row))
        .transpose()
}

/// The one row a query finds, read into `T`; no row is `not_found(what)`.
pub async fn find_as<T>(
    on: impl Read,
    what: &'static str,
    sql: &str,
    values: Vec<Value>,
) -> Result<T>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    optional_as(on, sql, values)
        .await?
        .ok_or_else(|| AppError::not_found(what))
}

/// Where a read runs: on the pool (`&Db`) or inside a write transaction (`&mut WriteTx`),
/// so a query needed in both places is written once, as `fn q(mut on: impl Read, ..)`.
pub trait Read: Send {
    fn fetch_all(
        &mut self,
        sql: &str,
        values: Vec<Value>,
    ) -> impl std::future::Future<Output = Result<Vec<AnyRow>>> + Send;
    fn fetch_optional(
        &mut self,
        sql: &str,
        values: Vec<Value>,
    ) -> impl std::future::Future<Output = Result<Option<AnyRow>>> + Send;
}

/// A reader lent for one query, kept for the next.
impl<R: Read> Read for &mut R {
    async fn fetch_all(&mut self, sql: &str, values: Vec<Value>) -> Result<Vec<AnyRow>> {
        (**self).fetch_all(sql, values).await
    }
    async fn fetch_optional(&mut self, sql: &str, values: Vec<Value>) -> Result<Option<AnyRow>> {
        (**self).fetch_optional(sql, values).await
    }
}

impl Read for &Db {
    async fn fetch_all(&mut self, sql: &str, values: Vec<Value>) -> Result<Vec<AnyRow>> {
        Db::fetch_all(self, sql, values).await
    }
    async fn fetch_optional(&mut self, sql: &str, values: Vec<Value>) -> Result<Option<AnyRow>> {
        Db::fetch_optional(self, sql, values).await
    }
}

impl Read for &mut WriteTx {
    async fn fetch_all(&mut self, sql: &str, values: Vec<Value>) -> Result<Vec<AnyRow>> {
        WriteTx::fetch_all(self, sql, values).await
    }
    async fn fetch_optional(&mut self, sql: &str, values: Vec<Value>) -> Result<Option<AnyRow>> {
        WriteTx::fetch_optional(self, sql, values).await
    }
}

/// A write transaction. Dropped without `commit`, its connection is closed rather than
/// returned to the pool, which rolls the transaction back.
pub struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    kind: DbKind,
    /// This process's SQLite write turn, given back when the transaction ends.
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// For `bandpool_db_transaction_seconds`: how long writers hold the write lock.
    began: std::time::Instant,
}

impl WriteTx {
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
            .as_mut()
            .expect("a WriteTx holds its connection until commit")
    }

    /// Lock the tenant's pool row against concurrent writers (PostgreSQL; SQLite already
    /// holds the database write lock from `BEGIN IMMEDIATE`).
    pub async fn lock_pool(&mut self, tenant_id: &str) -> Result<()> {
        if self.kind == DbKind::Postgres {
            sqlx::query("SELECT tenant_id FROM pools WHERE tenant_id = $1 FOR UPDATE")
                .bind(tenant_id.to_string())
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn execute(&mut self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let query = statement(sql, values)?;
        Ok(query.execute(self.conn()).await?.rows_affected())
    }

    /// Insert a row under a new random id, bound as `$1` ahead of `values`; returns the id.
    pub async fn insert_with_new_id(&mut self, sql: &str, values: Vec<Value>) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut all = vec![Value::Text(id.clone())];
        all.extend(values);
        self.execute(sql, all).await?;
        Ok(id)
    }

    pub async fn fetch_optional(
        &mut self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Option<AnyRow>> {
        let query = statement(sql, values)?;
        Ok(query.fetch_optional(self.conn()).await?)
    }

    pub async fn fetch_all(&mut self, sql: &str, values: Vec<Value>) -> Result<Vec<AnyRow>> {
        let query = statement(sql, values)?;
        Ok(query.fetch_all(self.conn()).await?)
    }

    pub async fn fetch_one(&mut self, sql: &str, values: Vec<Value>) -> Result<AnyRow> {
        let query = statement(sql, values)?;
        Ok(query.fetch_one(self.conn()).await?)
    }

    pub async fn commit(mut self) -> Result<()> {
        // COMMIT runs while the WriteTx still holds the connection: dropped half-way, it
        // closes the connection rather than pooling one inside a transaction.
        self.conn().execute("COMMIT").await?;
        // Committed: back to the pool.
        drop(self.conn.take());
        metrics::histogram!("bandpool_db_transaction_seconds", "outcome" => "commit")
            .record(self.began.elapsed().as_secs_f64());
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not committed: detach and drop the raw connection so the server rolls back.
            drop(conn.detach());
            metrics::histogram!("bandpool_db_transaction_seconds", "outcome" => "rollback")
                .record(self.began.elapsed().as_secs_f64());
        }
    }
}

/// Many ids as `IN (...)` lists, a chunk of 500 at a time: each chunk's placeholders,
/// numbered after the `fixed` parameters the statement has first, and its parameters (the
/// fixed ones, then the chunk's ids). The two engines share no array parameter, and a few
/// hundred per statement keeps SQLite's parameter lookup cheap.
pub fn in_lists<'a, S: AsRef<str>>(
    fixed: Vec<Value>,
    ids: &'a [S],
) -> impl Iterator<Item = (String, Vec<Value>)> + 'a {
    ids.chunks(500).map(move |chunk| {
        let placeholders = (0..chunk.len())
            .map(|i| format!("${}", fixed.len() + i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let mut values = fixed.clone();
        values.extend(chunk.iter().map(|id| Value::Text(id.as_ref().to_string())));
        (placeholders, values)
    })
}

/// Insert many rows in as few statements as the engines allow.
pub async fn insert_rows(
    tx: &mut WriteTx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    insert_rows_then(tx, table, columns, rows, "").await
}

/// `insert_rows` with a clause after each statement's values (`ON CONFLICT ...`).
pub async fn insert_rows_then(
    tx: &mut WriteTx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    then: &str,
) -> Result<()> {
    // Small statements: SQLite resolves `$N` parameters by name, which grows with the square of
    // their number; about 1,000 per statement keeps that negligible on both engines.
    const MAX_PARAMS: usize = 1_000;
    let per_stmt = (MAX_PARAMS / columns.len()).clamp(1, 1000);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_stmt).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        if !then.is_empty() {
            sql.push(' ');
            sql.push_str(then);
        }
        tx.execute(&sql, chunk.into_iter().flatten().collect())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn search_terms_cannot_inject_wildcards() {
        assert_eq!(like_pattern("LM_1%"), "%lm\\_1\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
