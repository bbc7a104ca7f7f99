//! API tokens: made by Owners and Admins for automation, shown once, stored as a hash,
//! scoped (read, or read and write), optionally expiring, revocable, last use recorded.
//! A token acts with its creator's current role in the tenant: remove or demote the
//! creator and the token loses what they lost.

use bandpool_domain::accounts::{ApiToken, CreatedToken};
use bandpool_domain::auth::{Role, Scope};
use bandpool_domain::AppError;

use crate::args;
use crate::db::{Db, WriteTx};
use crate::{secret, Result};

/// Every secret starts so; a person (or a secret scanner) can tell what it is.
pub const TOKEN_PREFIX: &str = "bp_";

const COLUMNS: &str = "k.id, k.name, k.scope, k.prefix, u.email AS created_by, k.created_at, \
                       k.expires_at, k.revoked_at, k.last_used_at";

async fn get(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<ApiToken> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN users u ON u.id = k.created_by \
         WHERE k.tenant_id = $1 AND k.id = $2"
    );
    crate::db::find_as(&mut *tx, "The API token", &sql, args![tenant_id, id]).await
}

pub async fn create(
    tx: &mut WriteTx,
    tenant_id: &str,
    created_by: &str,
    name: &str,
    scope: Scope,
    expires_at: Option<i64>,
    now: i64,
) -> Result<CreatedToken> {
    let name = bandpool_domain::names::Name::parse("name", name)?;
    let name = name.as_str();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid("expires", "must be in the future"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let secret = secret::generate(TOKEN_PREFIX);
    tx.execute(
        "INSERT INTO api_tokens (id, tenant_id, created_by, name, scope, token_hash, prefix, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![id.clone(), tenant_id, created_by, name, scope.as_str(), secret::hash(&secret), secret[..TOKEN_PREFIX.len() + 6].to_string(), now, expires_at],
    )
    .await?;
    Ok(CreatedToken {
        token: get(tx, tenant_id, &id).await?,
        secret,
    })
}

/// A tenant's tokens, newest first.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<ApiToken>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN users u ON u.id = k.created_by \
         WHERE k.tenant_id = $1 ORDER BY k.created_at DESC, k.id"
    );
    db.fetch_all(&sql, args![tenant_id])
        .await?
        .iter()
        .map(crate::db::row_as)
        .collect()
}

/// Revoke (revoking twice is harmless); another tenant's token is "not found".
pub async fn revoke(tx: &mut WriteTx, tenant_id: &str, id: &str, now: i64) -> Result<ApiToken> {
    tx.execute(
        "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
        args![now, tenant_id, id],
    )
    .await?;
    get(tx, tenant_id, id).await
}

/// What a presented token may act as.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenGrant {
    #[sqlx(rename = "id")]
    pub token_id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    #[sqlx(try_from = "String")]
    pub scope: Scope,
    /// The token's creator, whose role it acts with.
    #[sqlx(rename = "created_by")]
    pub user_id: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub last_used_at: Option<i64>,
}

/// Look a presented secret up: unknown, revoked, expired, or a creator no longer in the
/// tenant all give `None`.
pub async fn authenticate(db: &Db, secret_text: &str, now: i64) -> Result<Option<TokenGrant>> {
    if !secret_text.starts_with(TOKEN_PREFIX) || secret_text.len() > 200 {
        return Ok(None);
    }
    let row = db
        .fetch_optional(
            "SELECT k.id, k.tenant_id, t.name AS tenant_name, k.scope, k.created_by, u.email, m.role, k.last_used_at \
             FROM api_tokens k JOIN users u ON u.id = k.created_by \
             JOIN memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.created_by \
             JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)",
            args![secret::hash(secret_text), now],
        )
        .await?;
    row.as_ref().map(crate::db::row_as).transpose()
}

/// Record a use (callers throttle this to about once a minute per token).
pub async fn touch(db: &Db, id: &str, now: i64) -> Result<()> {
    db.execute(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}
