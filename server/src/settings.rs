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
    /// The address people reach the portal at; emailed links start with it, and a
    /// state-changing request must come from its origin. `https://...` makes cookies Secure.
    pub public_url: String,
    /// Single sign-on: the OpenID Connect issuer URL (discovery at
    /// `<issuer>/.well-known/openid-configuration`), client id and client secret.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    /// Email + password accounts. Unset: on exactly when no provider is configured.
    pub local_accounts: Option<bool>,
    /// Minutes of inactivity after which a session ends.
    pub session_idle_minutes: i64,
    /// `smtp://host:port` (or `smtps://user:pass@host`); unset: emails go to the log.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub rate_sign_in_per_15_minutes: u32,
    pub rate_password_resets_per_hour: u32,
    pub rate_token_requests_per_minute: u32,
    pub rate_bad_tokens_per_minute: u32,
    /// A connector silent this long is Down and its licenses enter their 30-day grace
    /// period (default a day).
    pub connector_silence_seconds: i64,
    /// How long Sync licenses waits for connectors to answer.
    pub sync_timeout_seconds: i64,
    /// How often the connector-health sweep runs (silence, grace deadlines, overdue syncs).
    pub health_sweep_seconds: u64,
    /// Sync entitlements from an upstream licensing service: its base URL (`https://...`;
    /// the portal asks `GET <url>/v1/entitlements/<Progress ID>`) and bearer token. Unset:
    /// the operator's own records are the source.
    pub entitlements_url: Option<String>,
    pub entitlements_token: Option<String>,
    /// How long Sync entitlements waits for the licensing service.
    pub entitlements_timeout_seconds: u64,
    /// PEM certificates to trust for outbound HTTPS besides the public roots (a private CA
    /// for the licensing service or webhook receivers).
    pub extra_ca_file: Option<std::path::PathBuf>,
    /// Allow webhooks to this machine and private networks (an on-premises receiver, tests),
    /// and `http://` to 127.0.0.1/localhost. Off: only `https://` to public hosts.
    pub webhook_allow_private_receivers: bool,
    /// How often due webhook deliveries are attempted.
    pub webhook_sweep_seconds: u64,
    /// Serve `POST /api/v1/connector/baseline/checks`: the benchmark's bare handler, which
    /// parses a check report and answers it without the database (`scripts/bench`). Off in
    /// a real deployment.
    pub benchmark_baseline: bool,
    /// The largest request body taken, in bytes (a larger one is refused 413).
    pub http_max_body_bytes: usize,
    /// Seconds a request's body may take to arrive once its headers have (then 408).
    pub http_body_timeout_seconds: u64,
    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    pub http_header_timeout_seconds: u64,
    /// Connections served at once; more wait in the listener's backlog. Each connector
    /// holds one open for its command long-poll.
    pub http_max_connections: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://data/bandpool.db".into(),
            db_max_connections: 10,
            log: "info".into(),
            seed_demo_if_empty: false,
            public_url: "http://127.0.0.1:3000".into(),
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            local_accounts: None,
            session_idle_minutes: 8 * 60,
            smtp_url: None,
            mail_from: "Bandpool <bandpool@localhost>".into(),
            rate_sign_in_per_15_minutes: 10,
            rate_password_resets_per_hour: 5,
            rate_token_requests_per_minute: 600,
            rate_bad_tokens_per_minute: 30,
            connector_silence_seconds: 24 * 3600,
            sync_timeout_seconds: 30,
            health_sweep_seconds: 60,
            entitlements_url: None,
            entitlements_token: None,
            entitlements_timeout_seconds: 15,
            extra_ca_file: None,
            webhook_allow_private_receivers: false,
            webhook_sweep_seconds: 10,
            benchmark_baseline: false,
            http_max_body_bytes: 2 * 1024 * 1024,
            http_body_timeout_seconds: 30,
            http_header_timeout_seconds: 10,
            http_max_connections: 4096,
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

    /// The limits every request and connection is held to (`edge`).
    pub fn http_limits(&self) -> crate::edge::Limits {
        crate::edge::Limits {
            max_body_bytes: self.http_max_body_bytes.max(1024),
            body_timeout: std::time::Duration::from_secs(self.http_body_timeout_seconds.max(1)),
            header_timeout: std::time::Duration::from_secs(self.http_header_timeout_seconds.max(1)),
            max_connections: self.http_max_connections.max(1),
        }
    }

    /// Whether single sign-on is configured (all three of issuer, client id and secret).
    pub fn oidc(&self) -> Option<(String, String, String)> {
        match (
            &self.oidc_issuer,
            &self.oidc_client_id,
            &self.oidc_client_secret,
        ) {
            (Some(i), Some(c), Some(s)) if !i.is_empty() && !c.is_empty() => {
                Some((i.clone(), c.clone(), s.clone()))
            }
            _ => None,
        }
    }

    /// Where Sync entitlements pulls from.
    pub fn entitlement_source(
        &self,
    ) -> Result<bandpool_services::entitlements::EntitlementSource, String> {
        match self.entitlements_url.as_deref().map(str::trim) {
            None | Some("") => Ok(bandpool_services::entitlements::EntitlementSource::Operator),
            Some(url) => {
                if !url.starts_with("https://") {
                    return Err(format!(
                        "entitlements_url must be an https:// address, not {url}"
                    ));
                }
                let token = self
                    .entitlements_token
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .ok_or("entitlements_url is set but entitlements_token is not")?;
                Ok(
                    bandpool_services::entitlements::EntitlementSource::Upstream {
                        url: url.to_string(),
                        token,
                        timeout: std::time::Duration::from_secs(
                            self.entitlements_timeout_seconds.max(1),
                        ),
                    },
                )
            }
        }
    }

    /// The outbound HTTPS client (with the extra CA, when set).
    pub fn outbound(&self) -> Result<bandpool_services::notifications::Outbound, String> {
        let pem = match &self.extra_ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| format!("extra_ca_file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        bandpool_services::notifications::Outbound::new(
            pem.as_deref(),
            self.webhook_allow_private_receivers,
        )
    }

    /// The service layer on `db` and `clock`, as these settings configure it: production,
    /// the command line and the tests all build it here.
    pub fn services(
        &self,
        db: bandpool_services::Db,
        clock: bandpool_services::Clock,
    ) -> Result<bandpool_services::Services, String> {
        use bandpool_services::{ConnectorSettings, Portal, Services, Wakeups};
        Ok(Services {
            db,
            clock,
            mailer: bandpool_services::mail::Mailer::new(
                self.smtp_url.as_deref(),
                &self.mail_from,
            )?,
            portal: Portal {
                public_url: self.public_url.trim_end_matches('/').to_string(),
                sso: self.oidc().is_some(),
                local_accounts: self.local_accounts(),
            },
            connectors: ConnectorSettings {
                silence_secs: self.connector_silence_seconds.max(1),
                sync_timeout_secs: self.sync_timeout_seconds.max(1),
            },
            wakeups: Wakeups::default(),
            entitlements: self.entitlement_source()?,
            outbound: self.outbound()?,
        })
    }

    pub fn local_accounts(&self) -> bool {
        self.local_accounts.unwrap_or(self.oidc().is_none())
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
