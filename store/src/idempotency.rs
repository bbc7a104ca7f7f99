//! Connector messages by idempotency key: delivery is at least once, so every message that
//! changes something is remembered, with its answer, in the transaction that makes the
//! change. A replay finds the key and gets the same answer; nothing changes twice.
//!
//! A key names one message: it is scoped by the connector and the kind of message (an
//! activation's key and a check report's key never meet), and it remembers a fingerprint
//! of the request it came with. The same key with a different request is refused
//! (`idempotency_key_reused`), as the IETF Idempotency-Key draft asks, instead of being
//! answered with the first request's answer.
//!
//! The key is claimed first, by an insert that waits for any other transaction holding the
//! same key: a replay sent while the original is still being handled waits for it and gets
//! its answer (on PostgreSQL two such requests used to race to the primary key).

use crate::args;
use crate::db::{Value, WriteTx};
use crate::Result;
use bandpool_domain::connector::valid_key;
use bandpool_domain::AppError;
use sha2::{Digest, Sha256};

/// The kinds of connector message that carry an idempotency key; each is its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Activation,
    Deactivation,
    Checks,
    Usage,
    Update,
    Transfer,
    OwnerChange,
}

impl MessageKind {
    pub fn key(self) -> &'static str {
        match self {
            MessageKind::Activation => "activation",
            MessageKind::Deactivation => "deactivation",
            MessageKind::Checks => "checks",
            MessageKind::Usage => "usage",
            MessageKind::Update => "update",
            MessageKind::Transfer => "transfer",
            MessageKind::OwnerChange => "owner_change",
        }
    }
}

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

/// The fingerprint of a request: SHA-256 of its canonical JSON (the fields the portal read,
/// in their declared order), so a resent message matches whatever its whitespace.
fn fingerprint<T: serde::Serialize>(request: &T) -> Result<String> {
    let canonical = serde_json::to_vec(request).map_err(AppError::internal)?;
    Ok(hex::encode(Sha256::digest(&canonical)))
}

/// A connector message's key as it is claimed and answered: the kind of message (its key
/// space), the key, and the fingerprint of the request it came with (taken before the
/// transaction begins, so no writer waits while a large report is hashed).
#[derive(Debug, Clone)]
pub struct MessageKey<'a> {
    kind: MessageKind,
    key: &'a str,
    request_hash: String,
}

impl<'a> MessageKey<'a> {
    pub fn new<T: serde::Serialize>(
        kind: MessageKind,
        key: &'a str,
        request: &T,
    ) -> Result<MessageKey<'a>> {
        Ok(MessageKey {
            kind,
            key,
            request_hash: fingerprint(request)?,
        })
    }

    /// The values that name this message's row: connector, kind and key, as `$1..$3`.
    fn row(&self, connector_id: &str) -> Vec<Value> {
        args![connector_id, self.kind.key(), self.key]
    }
}

/// What a claimed key says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: act on it, then `answer` it in the same transaction.
    Fresh,
    /// Seen before with the same request: its stored answer.
    Replay(String),
}

/// Claim the message's key for this connector, in the transaction that will act on it.
/// Another transaction holding the same key makes this one wait for its outcome: its commit
/// makes this a replay, its rollback leaves the key to this one.
pub async fn claim(
    tx: &mut WriteTx,
    connector_id: &str,
    message: &MessageKey<'_>,
    now: i64,
) -> Result<Claim> {
    let mut values = message.row(connector_id);
    values.extend(args![&message.request_hash, now]);
    let inserted = tx
        .execute(
            "INSERT INTO connector_messages \
             (connector_id, kind, idempotency_key, request_hash, received_at, response) \
             VALUES ($1, $2, $3, $4, $5, '') \
             ON CONFLICT (connector_id, kind, idempotency_key) DO NOTHING",
            values,
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    /// What the first message with this key left.
    #[derive(sqlx::FromRow)]
    struct Remembered {
        request_hash: String,
        response: String,
    }
    let row = tx
        .fetch_one(
            "SELECT request_hash, response FROM connector_messages \
             WHERE connector_id = $1 AND kind = $2 AND idempotency_key = $3",
            message.row(connector_id),
        )
        .await?;
    let remembered: Remembered = crate::db::row_as(&row)?;
    // Keys remembered before fingerprints were kept have none: their answer stands.
    let hash = &remembered.request_hash;
    if !hash.is_empty() && *hash != message.request_hash {
        return Err(AppError::IdempotencyKeyReused {
            kind: message.kind.key().to_string(),
        });
    }
    Ok(Claim::Replay(remembered.response))
}

/// Store the answer of a message claimed `Fresh`, in the transaction that acted on it.
pub async fn answer(
    tx: &mut WriteTx,
    connector_id: &str,
    message: &MessageKey<'_>,
    response: &str,
) -> Result<()> {
    let mut values = message.row(connector_id);
    values.push(response.into());
    tx.execute(
        "UPDATE connector_messages SET response = $4 \
         WHERE connector_id = $1 AND kind = $2 AND idempotency_key = $3",
        values,
    )
    .await?;
    Ok(())
}
