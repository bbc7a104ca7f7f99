//! The event log: appended in the same transaction as the change it records, read with
//! filters and paging, streamed for CSV. There is no update or delete here, by design.

use bandpool_domain::error::REQUEST_ID;
use bandpool_domain::events::{Event, EventPage, EventQuery};
use futures::stream::BoxStream;
use sqlx::Row;

use crate::args;
use crate::db::{like_pattern, Db, Value, WriteTx};
use crate::Result;

/// Who did it: a user (by id, for "my events") and how the log names them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
}

impl Actor {
    pub fn user(user_id: &str, label: &str) -> Actor {
        Actor {
            user_id: Some(user_id.to_string()),
            label: label.to_string(),
        }
    }

    /// Someone not (yet) known: a failed sign-in names the address that was tried.
    pub fn anonymous(label: &str) -> Actor {
        Actor {
            user_id: None,
            label: label.to_string(),
        }
    }

    /// The command line or a background task.
    pub fn system(label: &str) -> Actor {
        Actor::anonymous(label)
    }
}

/// The one way a signed-in person becomes the actor of what they change.
impl From<&bandpool_domain::auth::Principal> for Actor {
    fn from(principal: &bandpool_domain::auth::Principal) -> Actor {
        Actor::user(&principal.user_id, &principal.actor_label())
    }
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub tenant_id: Option<&'a str>,
    pub at_ms: i64,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

fn values(event: &NewEvent<'_>) -> Vec<Value> {
    let request_id = REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "-".to_string());
    args![
        uuid::Uuid::new_v4().to_string(),
        event.tenant_id.map(str::to_string),
        event.at_ms,
        event.actor.user_id.clone(),
        event.actor.label.clone(),
        event.action.to_string(),
        event.target.to_string(),
        request_id,
        event.detail.to_string()
    ]
}

const INSERT: &str = "INSERT INTO events (id, tenant_id, at_ms, actor_id, actor, action, target, request_id, detail) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Record inside the transaction that makes the change.
pub async fn record(tx: &mut WriteTx, event: NewEvent<'_>) -> Result<()> {
    tx.execute(INSERT, values(&event)).await?;
    Ok(())
}

/// Who changes one tenant's data, and when: what the events of one change share. The data
/// layer's own transactions (a connector's message, a sweep, a kill, a sync) record with it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub tenant_id: &'a str,
    pub at_ms: i64,
    pub actor: &'a Actor,
}

impl<'a> Change<'a> {
    /// A change `actor` makes to `tenant_id`'s data at `now` (Unix seconds).
    pub fn at(tenant_id: &'a str, now: i64, actor: &'a Actor) -> Change<'a> {
        Change {
            tenant_id,
            at_ms: now * 1000,
            actor,
        }
    }

    /// Record one of its events, inside the transaction that makes the change.
    pub async fn record(
        &self,
        tx: &mut WriteTx,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<()> {
        let event = NewEvent {
            tenant_id: Some(self.tenant_id),
            at_ms: self.at_ms,
            actor: self.actor,
            action,
            target,
            detail,
        };
        record(tx, event).await
    }
}

fn filter(tenant_id: &str, query: &EventQuery) -> (String, Vec<Value>) {
    let mut sql = String::from(" FROM events WHERE tenant_id = $1");
    let mut values = args![tenant_id.to_string()];
    let mut add = |clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(actor) = &query.actor {
        add(
            " AND LOWER(actor) LIKE ? ESCAPE '\\'",
            Value::Text(like_pattern(actor)),
        );
    }
    if let Some(action) = &query.action {
        add(" AND action = ?", Value::Text(action.clone()));
    }
    if let Some(target) = &query.target {
        add(
            " AND LOWER(target) LIKE ? ESCAPE '\\'",
            Value::Text(like_pattern(target)),
        );
    }
    if let Some(from) = query.from {
        let ms = from
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis();
        add(" AND at_ms >= ?", Value::Int(ms));
    }
    if let Some(to) = query.to {
        let ms = to
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
            + 86_400_000;
        add(" AND at_ms < ?", Value::Int(ms));
    }
    (sql, values)
}

const COLUMNS: &str = "SELECT id, at_ms, actor, action, target, request_id, detail";

/// One page of a tenant's log, newest first.
pub async fn list(db: &Db, tenant_id: &str, query: &EventQuery) -> Result<EventPage> {
    let (from, values) = filter(tenant_id, query);
    let total: i64 = db
        .fetch_optional(&format!("SELECT COUNT(*) AS n{from}"), values.clone())
        .await?
        .map(|row| row.try_get("n"))
        .transpose()?
        .unwrap_or(0);
    let per_page = query.per_page.max(1);
    let page = query.page.max(1);
    let offset = (page as i64 - 1) * per_page as i64;
    let rows = db
        .fetch_all(
            &format!(
                "{COLUMNS}{from} ORDER BY at_ms DESC, id DESC LIMIT {per_page} OFFSET {offset}"
            ),
            values,
        )
        .await?;
    Ok(EventPage {
        events: rows.iter().map(crate::db::row_as).collect::<Result<_>>()?,
        total,
        page,
        per_page,
    })
}

/// Every matching event, newest first, without holding them all in memory.
pub fn stream(db: &Db, tenant_id: &str, query: &EventQuery) -> BoxStream<'static, Result<Event>> {
    let (from, values) = filter(tenant_id, query);
    let sql = format!("{COLUMNS}{from} ORDER BY at_ms DESC, id DESC");
    crate::db::stream_rows(db, sql, values, crate::db::row_as)
}

/// Where a tenant's event log stands: its newest time and how many events carry it. Live
/// pages compare it between looks: any recorded change (an activation, a kill, a connector
/// going down and its licenses into grace, an expiry, a sync) moves it. Both reads use the
/// tenant-and-time index and touch only the newest rows.
pub async fn mark(db: &Db, tenant_id: &str) -> Result<(i64, i64)> {
    let row = db
        .fetch_one(
            "SELECT COALESCE(MAX(at_ms), 0) AS newest FROM events WHERE tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?;
    let newest: i64 = row.try_get("newest")?;
    let row = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM events WHERE tenant_id = $1 AND at_ms >= $2",
            args![tenant_id.to_string(), newest],
        )
        .await?;
    Ok((newest, row.try_get("n")?))
}
