//! Typed settings: defaults, then an optional TOML file, then BANDPOOL_* environment
//! variables (BANDPOOL_LOG, BANDPOOL_DB_MAX_CONNECTIONS, ...), then DATABASE_URL.
//! The address and site root come from the usual LEPTOS_* variables.

use bandpool_services::Secret;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Every setting, grouped by subject. Each group is flattened: the file's keys and the
/// environment variables stay flat (`smtp_url` in the file, `BANDPOOL_SMTP_URL` in the
/// environment), as README's table lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub database: DatabaseSettings,
    /// A tracing filter, e.g. `info` or `bandpool_server=debug,info`.
    pub log: String,
    #[serde(flatten)]
    pub portal: PortalSettings,
    #[serde(flatten)]
    pub sign_in: SignInSettings,
    #[serde(flatten)]
    pub mail: MailSettings,
    #[serde(flatten)]
    pub connectors: ConnectorSettings,
    #[serde(flatten)]
    pub entitlements: EntitlementSettings,
    #[serde(flatten)]
    pub webhooks: WebhookSettings,
    #[serde(flatten)]
    pub metered_reports: MeteredReportSettings,
    #[serde(flatten)]
    pub http: HttpSettings,
    #[serde(flatten)]
    pub metrics: MetricsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: DatabaseSettings {
                database_url: Secret::from("sqlite://data/bandpool.db"),
                db_max_connections: 10,
                seed_demo_if_empty: false,
            },
            log: "info".into(),
            portal: PortalSettings {
                public_url: "http://127.0.0.1:3000".into(),
                session_idle_minutes: 8 * 60,
                offline_signing_key: None,
            },
            sign_in: SignInSettings {
                oidc_issuer: None,
                oidc_client_id: None,
                oidc_client_secret: None,
                local_accounts: None,
                rate_sign_in_per_15_minutes: 10,
                rate_password_resets_per_hour: 5,
                rate_token_requests_per_minute: 600,
                rate_bad_tokens_per_minute: 30,
            },
            mail: MailSettings {
                smtp_url: None,
                mail_from: "Bandpool <bandpool@localhost>".into(),
                vendor_email: None,
            },
            connectors: ConnectorSettings {
                connector_silence_seconds: 24 * 3600,
                sync_timeout_seconds: 30,
                health_sweep_seconds: 60,
                usage_sample_retention_days: 35,
            },
            entitlements: EntitlementSettings {
                entitlements_url: None,
                entitlements_token: None,
                entitlements_timeout_seconds: 15,
            },
            metered_reports: MeteredReportSettings {
                metered_reports_url: None,
                metered_reports_token: None,
                metered_reports_signing_key: None,
                metered_reports_timeout_seconds: 30,
                metered_report_email_max_bytes: 10 * 1024 * 1024,
            },
            webhooks: WebhookSettings {
                extra_ca_file: None,
                webhook_allow_private_receivers: false,
                webhook_sweep_seconds: 10,
            },
            http: HttpSettings {
                http_max_body_bytes: 2 * 1024 * 1024,
                http_body_timeout_seconds: 30,
                http_header_timeout_seconds: 10,
                http_max_connections: 4096,
                benchmark_baseline: false,
            },
            metrics: MetricsSettings {
                metrics_allow: "127.0.0.1, ::1".into(),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://data/bandpool.db` (the embedded default) or `postgres://...` (DATABASE_URL).
    pub database_url: Secret,
    pub db_max_connections: u32,
    /// Seed the demo tenant when serving an empty database.
    pub seed_demo_if_empty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSettings {
    /// The address people reach the portal at; emailed links start with it, and a
    /// state-changing request must come from its origin. `https://...` makes cookies Secure.
    pub public_url: String,
    /// Minutes of inactivity after which a session ends.
    pub session_idle_minutes: i64,
    /// The seed (64 hex digits) of the Ed25519 key that signs offline license texts. Unset:
    /// the deployment makes one on first use and keeps it in its database, shared by every
    /// instance; its public half is at `GET /api/v1/licensing-key`.
    pub offline_signing_key: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInSettings {
    /// Single sign-on: the OpenID Connect issuer URL (discovery at
    /// `<issuer>/.well-known/openid-configuration`), client id and client secret.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Secret>,
    /// Email + password accounts. Unset: on exactly when no provider is configured.
    pub local_accounts: Option<bool>,
    pub rate_sign_in_per_15_minutes: u32,
    pub rate_password_resets_per_hour: u32,
    pub rate_token_requests_per_minute: u32,
    pub rate_bad_tokens_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailSettings {
    /// `smtp://host:port` (or `smtps://user:pass@host`); unset: emails go to the log.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// The vendor's address, told of every change of a license's owner (unset: nobody but the
    /// two tenants' Owners).
    pub vendor_email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorSettings {
    /// A connector silent this long is Down and its licenses enter their 30-day grace
    /// period (default a day).
    pub connector_silence_seconds: i64,
    /// How long Sync licenses waits for connectors to answer.
    pub sync_timeout_seconds: i64,
    /// How often the connector-health sweep runs (silence, grace deadlines, overdue syncs).
    pub health_sweep_seconds: u64,
    /// How long raw usage samples of metered LoadMasters are kept (their daily peaks stay).
    pub usage_sample_retention_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntitlementSettings {
    /// Sync entitlements from an upstream licensing service: its base URL (`https://...`;
    /// the portal asks `GET <url>/v1/entitlements/<Progress ID>`) and bearer token. Unset:
    /// the operator's own records are the source.
    pub entitlements_url: Option<String>,
    pub entitlements_token: Option<Secret>,
    /// How long Sync entitlements waits for the licensing service.
    pub entitlements_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeteredReportSettings {
    /// The vendor's reporting service (`https://...`): metered usage reports are uploaded to
    /// `POST <url>/v1/usage-reports` with the bearer token, signed with the signing key (the
    /// `server reporting-key` command makes one and prints the public half to register with
    /// the vendor). Unset: no uploads, and no reporting grace counts down. The service's
    /// certificate may come from `extra_ca_file`'s private CA.
    pub metered_reports_url: Option<String>,
    pub metered_reports_token: Option<Secret>,
    /// The Ed25519 signing key's 32-byte seed, 64 hex digits.
    pub metered_reports_signing_key: Option<Secret>,
    /// How long one upload may take.
    pub metered_reports_timeout_seconds: u64,
    /// The largest monthly usage report (zip and PDF together) emailed as attachments; a
    /// larger one is emailed as links to the downloads instead.
    pub metered_report_email_max_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookSettings {
    /// PEM certificates to trust for outbound HTTPS besides the public roots (a private CA
    /// for the licensing service or webhook receivers).
    pub extra_ca_file: Option<std::path::PathBuf>,
    /// Allow webhooks to this machine and private networks (an on-premises receiver, tests),
    /// and `http://` to 127.0.0.1/localhost. Off: only `https://` to public hosts.
    pub webhook_allow_private_receivers: bool,
    /// How often due webhook deliveries are attempted.
    pub webhook_sweep_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpSettings {
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
    /// Serve `POST /api/v1/connector/baseline/checks`: the benchmark's bare handler, which
    /// parses a check report and answers it without the database (`scripts/bench`). Off in
    /// a real deployment.
    pub benchmark_baseline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsSettings {
    /// Who may read `/metrics` (Prometheus text): client addresses or networks,
    /// comma-separated (`127.0.0.1, 10.0.0.0/8`). Default: this machine only.
    pub metrics_allow: String,
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
            max_body_bytes: self.http.http_max_body_bytes.max(1024),
            body_timeout: std::time::Duration::from_secs(
                self.http.http_body_timeout_seconds.max(1),
            ),
            header_timeout: std::time::Duration::from_secs(
                self.http.http_header_timeout_seconds.max(1),
            ),
            max_connections: self.http.http_max_connections.max(1),
        }
    }

    /// Whether single sign-on is configured (all three of issuer, client id and secret).
    pub fn oidc(&self) -> Option<(String, String, Secret)> {
        let sign_in = &self.sign_in;
        match (
            &sign_in.oidc_issuer,
            &sign_in.oidc_client_id,
            &sign_in.oidc_client_secret,
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
        let settings = &self.entitlements;
        match settings.entitlements_url.as_deref().map(str::trim) {
            None | Some("") => Ok(bandpool_services::entitlements::EntitlementSource::Operator),
            Some(url) => {
                if !url.starts_with("https://") {
                    return Err(format!(
                        "entitlements_url must be an https:// address, not {url}"
                    ));
                }
                let token = settings
                    .entitlements_token
                    .clone()
                    .filter(|t| !t.is_blank())
                    .ok_or("entitlements_url is set but entitlements_token is not")?;
                Ok(
                    bandpool_services::entitlements::EntitlementSource::Upstream {
                        url: url.to_string(),
                        token,
                        timeout: std::time::Duration::from_secs(
                            settings.entitlements_timeout_seconds.max(1),
                        ),
                    },
                )
            }
        }
    }

    /// Where metered usage reports are uploaded (none: nowhere).
    pub fn reporting_service(
        &self,
    ) -> Result<Option<bandpool_services::metered_reporting::ReportingService>, String> {
        let settings = &self.metered_reports;
        let url = match settings.metered_reports_url.as_deref().map(str::trim) {
            None | Some("") => return Ok(None),
            Some(url) => url,
        };
        if !url.starts_with("https://") {
            return Err(format!(
                "metered_reports_url must be an https:// address, not {url}"
            ));
        }
        let token = settings
            .metered_reports_token
            .clone()
            .filter(|t| !t.is_blank())
            .ok_or("metered_reports_url is set but metered_reports_token is not")?;
        let key = settings
            .metered_reports_signing_key
            .as_ref()
            .filter(|k| !k.is_blank())
            .ok_or("metered_reports_url is set but metered_reports_signing_key is not (make one with `server reporting-key`)")?;
        Ok(Some(
            bandpool_services::metered_reporting::ReportingService {
                url: url.trim_end_matches('/').to_string(),
                token,
                signing_key: std::sync::Arc::new(
                    bandpool_services::metered_reporting::signing_key(key.expose())?,
                ),
                timeout: std::time::Duration::from_secs(
                    settings.metered_reports_timeout_seconds.max(1),
                ),
            },
        ))
    }

    /// The outbound HTTPS client (with the extra CA, when set).
    pub fn outbound(&self) -> Result<bandpool_services::notifications::Outbound, String> {
        let pem = match &self.webhooks.extra_ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| format!("extra_ca_file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        bandpool_services::notifications::Outbound::new(
            pem.as_deref(),
            self.webhooks.webhook_allow_private_receivers,
        )
    }

    /// The service layer on `db` and `clock`, as these settings configure it: production,
    /// the command line and the tests all build it here.
    pub fn services(
        &self,
        db: bandpool_services::Db,
        clock: bandpool_services::Clock,
    ) -> Result<bandpool_services::Services, String> {
        use bandpool_services::{Portal, Services, Wakeups};
        Ok(Services {
            db,
            clock,
            mailer: bandpool_services::mail::Mailer::new(
                self.mail.smtp_url.as_ref(),
                &self.mail.mail_from,
            )?,
            outbox: Default::default(),
            portal: Portal {
                public_url: self.portal.public_url.trim_end_matches('/').to_string(),
                sso: self.oidc().is_some(),
                local_accounts: self.local_accounts(),
            },
            connectors: bandpool_services::ConnectorSettings {
                silence_secs: self.connectors.connector_silence_seconds.max(1),
                sync_timeout_secs: self.connectors.sync_timeout_seconds.max(1),
                sample_retention_secs: self.connectors.usage_sample_retention_days.max(1) * 86_400,
            },
            wakeups: Wakeups::default(),
            entitlements: self.entitlement_source()?,
            outbound: self.outbound()?,
            reporting: self.reporting_service()?,
            report_email_max_bytes: self.metered_reports.metered_report_email_max_bytes,
            vendor_email: self
                .mail
                .vendor_email
                .clone()
                .filter(|e| !e.trim().is_empty()),
            offline_signing_key: match &self.portal.offline_signing_key {
                Some(seed) if !seed.is_blank() => {
                    bandpool_services::offline::key_from_seed(seed.expose())?;
                    Some(seed.clone())
                }
                _ => None,
            },
            licensing_key: Default::default(),
        })
    }

    pub fn local_accounts(&self) -> bool {
        self.sign_in.local_accounts.unwrap_or(self.oidc().is_none())
    }

    /// The database URL without its password, for logs.
    pub fn redacted_database_url(&self) -> String {
        let url = self.database.database_url.expose();
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let creds = &url[scheme + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
            }
            _ => url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        let mut s = Settings::default();
        s.database.database_url = Secret::from("postgres://bp:dbpass@db:5432/bandpool");
        s.mail.smtp_url = Some(Secret::from("smtps://bp:mailpass@mail.example.com"));
        assert_eq!(s.redacted_database_url(), "postgres://bp@db:5432/bandpool");
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("dbpass") && !printed.contains("mailpass"),
            "{printed}"
        );
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
            assert_eq!(s.database.db_max_connections, 7);
            assert_eq!(s.database.database_url.expose(), "postgres://x@y/z");
            assert_eq!(s.connectors.sync_timeout_seconds, 30);
            Ok(())
        });
    }
}
