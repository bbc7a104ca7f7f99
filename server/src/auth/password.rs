//! Local passwords: Argon2id (the argon2 crate's default parameters, 19 MiB, 2 passes),
//! hashed and checked on the blocking pool so a sign-in never stalls the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use bandpool_domain::AppError;

pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Whether `password` matches `stored`. With no stored hash (unknown email, or a
/// single-sign-on-only account) a dummy hash is checked anyway, so timing does not tell
/// which addresses have accounts.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY.to_string());
        let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
    .map_err(AppError::internal)?
}

/// A hash of a random string nobody knows, with the default parameters.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y6a4R7r1Vf3Q0cIFMS2qSlV1oNBWTXiX4Vq5YxH4sYw";

/// A generated password: 20 characters from an alphabet without look-alikes.
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = super::hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            super::verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
        assert!(!super::verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn generated_passwords_differ() {
        let a = super::generate();
        assert_eq!(a.len(), 20);
        assert_ne!(a, super::generate());
    }
}
