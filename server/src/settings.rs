//! Typed settings: defaults, then an optional TOML file, then BANDPOOL_* environment
//! variables (BANDPOOL_LOG, BANDPOOL_DB_MAX_CONNECTIONS, ...), then DATABASE_URL.
//! The address and site root come from the usual LEPTOS_* variables.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `sqlite://data/bandpool.db` (the embedded default) or `postgres://...`.
    pub database_url: String,
    pub db_max_connections: u32,
    /// A tracing filter, e.g. `info` or `bandpool_server=debug,info`.
    pub log: String,
    /// Seed the demo tenant when serving an empty database.
    pub seed_demo_if_empty: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://data/bandpool.db".into(),
            db_max_connections: 10,
            log: "info".into(),
            seed_demo_if_empty: false,
        }
    }
}

impl Settings {
    pub fn load(file: Option<&std::path::Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        figment = match file {
            Some(path) => figment.merge(Toml::file_exact(path)),
            None => figment.merge(Toml::file("bandpool.toml")),
        };
        figment
            .merge(Env::prefixed("BANDPOOL_").ignore(&[
                "CONFIG",
                "TEST_POSTGRES_URL",
                "DEMO_PASSWORD",
            ]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL without its password, for logs.
    pub fn redacted_database_url(&self) -> String {
        match (self.database_url.find("://"), self.database_url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let creds = &self.database_url[scheme + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!(
                    "{}{}@{}",
                    &self.database_url[..scheme + 3],
                    user,
                    &self.database_url[at + 1..]
                )
            }
            _ => self.database_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        let s = Settings {
            database_url: "postgres://bp:secret@db:5432/bandpool".into(),
            ..Settings::default()
        };
        assert_eq!(s.redacted_database_url(), "postgres://bp@db:5432/bandpool");
        assert_eq!(
            Settings::default().redacted_database_url(),
            "sqlite://data/bandpool.db"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the closure's error type.
    fn a_file_and_the_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bp.toml", "log = \"debug\"\ndb_max_connections = 3")?;
            jail.set_env("BANDPOOL_DB_MAX_CONNECTIONS", "7");
            jail.set_env("DATABASE_URL", "postgres://x@y/z");
            let s = Settings::load(Some(std::path::Path::new("bp.toml"))).expect("settings");
            assert_eq!(s.log, "debug");
            assert_eq!(s.db_max_connections, 7);
            assert_eq!(s.database_url, "postgres://x@y/z");
            Ok(())
        });
    }
}
