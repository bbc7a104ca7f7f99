//! Secrets the portal hands out (API tokens, invitation and reset links): 256 random bits,
//! shown once, stored only as their SHA-256. High-entropy secrets need no slow hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new secret: `prefix` followed by 64 hex characters.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// What is stored and looked up.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The deployment's own key called `name`: 32 random bytes (hex) made the first time any
/// instance asks, then the same for every instance sharing the database. Two instances asking
/// at once both get the one that was stored first.
pub async fn deployment_key(db: &crate::db::Db, name: &str, now: i64) -> crate::Result<String> {
    let mut tx = db.begin_write().await?;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    tx.execute(
        "INSERT INTO deployment_keys (name, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
        crate::args![name, hex::encode(seed), now],
    )
    .await?;
    let (secret,): (String,) = crate::db::optional_as(
        &mut tx,
        "SELECT secret FROM deployment_keys WHERE name = $1",
        crate::args![name],
    )
    .await?
    .ok_or_else(|| bandpool_domain::AppError::internal("a deployment key vanished"))?;
    tx.commit().await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_fresh_and_hash_stably() {
        let a = super::generate("bp_");
        let b = super::generate("bp_");
        assert_ne!(a, b);
        assert!(a.starts_with("bp_") && a.len() == 67);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
