//! Connector messages by idempotency key: delivery is at least once, so every message that
//! changes something is remembered, with its answer, in the transaction that makes the
//! change. A replay finds the key and gets the same answer; nothing changes twice.

use crate::db::{Value, WriteTx};
use crate::Result;
use bandpool_domain::connector::valid_key;
use bandpool_domain::AppError;
use sqlx::Row;

/// Check a key's shape (before any work).
pub fn check_key(key: &str) -> Result<()> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "idempotency_key",
            "must be 8 to 100 letters, digits, '-', '_', '.' or ':'",
        ))
    }
}

/// The answer a message with this key already got, if it was seen.
pub async fn replay(tx: &mut WriteTx, connector_id: &str, key: &str) -> Result<Option<String>> {
    Ok(tx
        .fetch_optional(
            "SELECT response FROM connector_messages WHERE connector_id = $1 AND idempotency_key = $2",
            vec![
                Value::Text(connector_id.to_string()),
                Value::Text(key.to_string()),
            ],
        )
        .await?
        .map(|row| row.try_get::<String, _>("response"))
        .transpose()?)
}

/// Remember a message's key and answer, in the transaction that acted on it.
pub async fn remember(
    tx: &mut WriteTx,
    connector_id: &str,
    key: &str,
    kind: &str,
    response: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO connector_messages (connector_id, idempotency_key, kind, received_at, response) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            Value::Text(connector_id.to_string()),
            Value::Text(key.to_string()),
            Value::Text(kind.to_string()),
            Value::Int(now),
            Value::Text(response.to_string()),
        ],
    )
    .await?;
    Ok(())
}
