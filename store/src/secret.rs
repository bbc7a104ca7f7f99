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
