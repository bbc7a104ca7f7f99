//! tower-sessions' store on Bandpool's own database (SQLite or PostgreSQL, through the same
//! portable queries as everything else), so sessions survive restarts and are shared by
//! several portal instances.

use async_trait::async_trait;
use bandpool_store::{sessions, Db};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

use bandpool_domain::AppError;

/// Session keys: who is signed in, and the tenant they act in.
pub const USER_ID: &str = "user_id";
pub const TENANT_ID: &str = "tenant_id";

/// A session error as the portal answers it: 503 when the database is away, else internal.
pub(crate) fn session_error(error: impl std::fmt::Display) -> AppError {
    let text = error.to_string();
    if text.contains(DATABASE_UNAVAILABLE) {
        return AppError::DatabaseUnavailable;
    }
    AppError::internal(format!("session: {text}"))
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }
}

/// The store's errors travel through tower-sessions as text; an unavailable database keeps
/// its stable code so the request can still answer 503 rather than 500.
pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";

fn backend(error: bandpool_domain::AppError) -> Error {
    match error {
        bandpool_domain::AppError::DatabaseUnavailable => {
            Error::Backend(DATABASE_UNAVAILABLE.into())
        }
        other => Error::Backend(other.to_string()),
    }
}

fn parts(record: &Record) -> Result<(String, Option<String>, String, i64)> {
    let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    let user_id = record
        .data
        .get(USER_ID)
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok((
        record.id.to_string(),
        user_id,
        data,
        record.expiry_date.unix_timestamp(),
    ))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let (id, user_id, data, expires_at) = parts(record)?;
            if sessions::insert_new(&self.db, &id, user_id.as_deref(), &data, expires_at)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (id, user_id, data, expires_at) = parts(record)?;
        sessions::save(&self.db, &id, user_id.as_deref(), &data, expires_at)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let Some((data, expires_at)) = sessions::load(&self.db, &id.to_string(), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sessions::delete(&self.db, &id.to_string())
            .await
            .map_err(backend)
    }
}
