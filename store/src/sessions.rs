//! Session records (tower-sessions keeps its data here as JSON). `user_id` is copied out of
//! the data so that "sign out everywhere" and a password reset can end a person's sessions.

use sqlx::Row;

use crate::args;
use crate::db::{Db, WriteTx};
use crate::Result;

async fn write(
    db: &Db,
    on_conflict: &str,
    id: &str,
    user_id: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<u64> {
    db.execute(
        &format!("INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) {on_conflict}"),
        args![id, user_id.map(str::to_string), data, expires_at],
    )
    .await
}

/// Insert or replace a session record.
pub async fn save(
    db: &Db,
    id: &str,
    user_id: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<()> {
    write(
        db,
        "DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at",
        id,
        user_id,
        data,
        expires_at,
    )
    .await?;
    Ok(())
}

/// Insert only if the id is new (false: taken).
pub async fn insert_new(
    db: &Db,
    id: &str,
    user_id: Option<&str>,
    data: &str,
    expires_at: i64,
) -> Result<bool> {
    Ok(write(db, "DO NOTHING", id, user_id, data, expires_at).await? == 1)
}

/// A live session's data and expiry.
pub async fn load(db: &Db, id: &str, now: i64) -> Result<Option<(String, i64)>> {
    crate::db::optional_as(
        db,
        "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        args![id, now],
    )
    .await
}

pub async fn delete(db: &Db, id: &str) -> Result<()> {
    db.execute("DELETE FROM sessions WHERE id = $1", args![id])
        .await?;
    Ok(())
}

/// End every session of a person, in the transaction that records why; returns how many
/// there were.
pub async fn delete_for_user(tx: &mut WriteTx, user_id: &str) -> Result<u64> {
    tx.execute("DELETE FROM sessions WHERE user_id = $1", args![user_id])
        .await
}

/// The sweep: drop expired records (harmless to run twice, or on two instances at once).
pub async fn delete_expired(db: &Db, now: i64) -> Result<u64> {
    db.execute("DELETE FROM sessions WHERE expires_at <= $1", args![now])
        .await
}

pub async fn count_for_user(db: &Db, user_id: &str, now: i64) -> Result<i64> {
    let row = db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1 AND expires_at > $2",
            args![user_id, now],
        )
        .await?;
    Ok(row.map(|r| r.try_get("n")).transpose()?.unwrap_or(0))
}
