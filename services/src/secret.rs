//! Secrets from settings (database and SMTP URLs with their passwords, the sign-in client
//! secret, the licensing service's token): `Debug` never shows them, so neither a log line
//! nor a printed settings value can leak one; `expose` is called only where one is used.

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Empty or only spaces (an unset variable left blank).
    pub fn is_blank(&self) -> bool {
        self.expose().trim().is_empty()
    }
}

/// An Ed25519 signing key from its 32-byte seed in hex, as the setting `name` holds it (the
/// deployment's keys for usage reports and for offline license texts).
pub fn ed25519_from_seed(name: &str, seed_hex: &str) -> Result<ed25519_dalek::SigningKey, String> {
    let seed: [u8; 32] = hex::decode(seed_hex.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("{name} must be 64 hex digits (a 32-byte seed)"))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Serialized only to seed the settings' layers with their defaults (figment reads the
/// defaults through serde); nothing writes settings out.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::from("postgres://bp:hunter2@db/bandpool");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some([redacted])");
        assert_eq!(secret.expose(), "postgres://bp:hunter2@db/bandpool");
    }
}
