//! The connector's settings: a TOML file (`--config PATH`, or `bandpool-connector.toml` in
//! the working folder when there is one), then `BANDPOOL_CONNECTOR_*` environment variables
//! (`BANDPOOL_CONNECTOR_PORTAL_URL`, `BANDPOOL_CONNECTOR_REGISTRATION_TOKEN`, ...), which
//! win. Only `portal_url` is required; everything else has a default.

use bandpool_domain::connector::MAX_WAIT_SECONDS;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The settings file read when `--config` is not given (if it exists).
pub const DEFAULT_FILE: &str = "bandpool-connector.toml";
/// The prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "BANDPOOL_CONNECTOR_";

/// Everything the agent needs to know to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the portal is, e.g. `https://bandpool.example.com`.
    pub portal_url: String,
    /// The one-time token the portal showed when the connector was created. Used on the
    /// first start only, when no credential is stored yet.
    #[serde(default)]
    pub registration_token: Option<String>,
    /// The connector's credential (`bpc_...`). Usually left unset: the agent stores the one
    /// it got at registration in `data_dir/credential`.
    #[serde(default)]
    pub credential: Option<String>,
    /// Where the agent listens for its LoadMasters.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The address LoadMasters reach the agent at (reported to the portal and told to the
    /// LoadMasters at each check). Default: `http://<listen>` with the port actually bound.
    #[serde(default)]
    pub advertise_url: Option<String>,
    /// Where the credential, the local license state and the queue live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Seconds between heartbeats.
    #[serde(default = "default_heartbeat_seconds")]
    pub heartbeat_seconds: u64,
    /// Milliseconds between cutting the checks received into a batch file and sending it.
    #[serde(default = "default_flush_millis")]
    pub flush_millis: u64,
    /// How long one command long-poll waits at the portal (at most 30 seconds).
    #[serde(default = "default_command_wait_seconds")]
    pub command_wait_seconds: u64,
    /// A tracing filter: `info`, `debug`, `bandpool_connector=debug,info`, ...
    #[serde(default = "default_log")]
    pub log: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8470))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./connector-data")
}
fn default_heartbeat_seconds() -> u64 {
    60
}
fn default_flush_millis() -> u64 {
    1_000
}
fn default_command_wait_seconds() -> u64 {
    25
}
fn default_log() -> String {
    "info".into()
}

/// Settings that cannot be used, with a message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// Settings with every default, for the portal at `portal_url` (tests and embedding).
    pub fn new(portal_url: impl Into<String>) -> Settings {
        Settings {
            portal_url: portal_url.into(),
            registration_token: None,
            credential: None,
            listen: default_listen(),
            advertise_url: None,
            data_dir: default_data_dir(),
            heartbeat_seconds: default_heartbeat_seconds(),
            flush_millis: default_flush_millis(),
            command_wait_seconds: default_command_wait_seconds(),
            log: default_log(),
        }
    }

    /// Reads the file (`file`, or `bandpool-connector.toml` if present), then the
    /// environment, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let mut figment = Figment::new();
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(SettingsError(format!(
                        "settings file {} not found",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        let settings: Settings = figment
            .merge(Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]))
            .extract()
            .map_err(|e| SettingsError(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: URLs, ranges, the log filter.
    pub fn validate(&self) -> Result<(), SettingsError> {
        check_url("portal_url", &self.portal_url)?;
        if let Some(url) = &self.advertise_url {
            check_url("advertise_url", url)?;
            if url.len() > 200 {
                return Err(SettingsError(
                    "advertise_url: at most 200 characters".into(),
                ));
            }
        }
        if self.heartbeat_seconds == 0 {
            return Err(SettingsError("heartbeat_seconds must be at least 1".into()));
        }
        if !(10..=60_000).contains(&self.flush_millis) {
            return Err(SettingsError(
                "flush_millis must be between 10 and 60000".into(),
            ));
        }
        if !(1..=MAX_WAIT_SECONDS).contains(&self.command_wait_seconds) {
            return Err(SettingsError(format!(
                "command_wait_seconds must be between 1 and {MAX_WAIT_SECONDS}"
            )));
        }
        if let Some(token) = &self.registration_token {
            if token.trim().is_empty() {
                return Err(SettingsError("registration_token is empty".into()));
            }
        }
        if let Some(credential) = &self.credential {
            if credential.trim().is_empty() {
                return Err(SettingsError("credential is empty".into()));
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(SettingsError("data_dir is empty".into()));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| SettingsError(format!("log: `{}` is not a log filter: {e}", self.log)))?;
        Ok(())
    }

    /// The portal's address without a trailing slash.
    pub fn portal_base(&self) -> &str {
        self.portal_url.trim_end_matches('/')
    }
}

fn check_url(name: &str, value: &str) -> Result<(), SettingsError> {
    let url = reqwest::Url::parse(value)
        .map_err(|e| SettingsError(format!("{name}: `{value}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SettingsError(format!(
            "{name}: `{value}` must be an http:// or https:// address"
        )));
    }
    Ok(())
}

/// Turns figment's error into a sentence naming the setting and the variable to set.
fn describe(error: figment::Error) -> String {
    use figment::error::Kind;
    let mut lines = Vec::new();
    for e in error {
        let line = match &e.kind {
            Kind::MissingField(field) => format!(
                "{field} is required: set it in the settings file or as {ENV_PREFIX}{}",
                field.to_uppercase()
            ),
            Kind::UnknownField(field, _) => format!("unknown setting `{field}`"),
            _ => match e.path.last() {
                Some(key) => format!("{key}: {}", e.kind),
                None => e.kind.to_string(),
            },
        };
        lines.push(line);
    }
    lines.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::result_large_err)] // figment's Jail API fixes the closure's error type.
    fn load_in_jail(
        file: Option<(&str, &str)>,
        env: &[(&str, &str)],
    ) -> Result<Settings, SettingsError> {
        let mut out = None;
        figment::Jail::expect_with(|jail| {
            if let Some((name, text)) = file {
                jail.create_file(name, text)?;
            }
            for (k, v) in env {
                jail.set_env(k, v);
            }
            out = Some(Settings::load(file.map(|(name, _)| Path::new(name))));
            Ok(())
        });
        out.expect("ran")
    }

    #[test]
    fn defaults_apply_and_the_environment_wins_over_the_file() {
        let s = load_in_jail(
            Some((
                "c.toml",
                "portal_url = \"https://portal.example\"\nheartbeat_seconds = 30\nlisten = \"127.0.0.1:9000\"",
            )),
            &[("BANDPOOL_CONNECTOR_HEARTBEAT_SECONDS", "5")],
        )
        .expect("valid");
        assert_eq!(s.portal_url, "https://portal.example");
        assert_eq!(s.heartbeat_seconds, 5);
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.flush_millis, 1000);
        assert_eq!(s.command_wait_seconds, 25);
        assert_eq!(s.data_dir, PathBuf::from("./connector-data"));
        assert_eq!(s.advertise_url, None);
    }

    #[test]
    fn the_environment_alone_is_enough() {
        let s = load_in_jail(
            None,
            &[
                ("BANDPOOL_CONNECTOR_PORTAL_URL", "http://127.0.0.1:3000/"),
                ("BANDPOOL_CONNECTOR_REGISTRATION_TOKEN", "bpr_abc"),
                ("BANDPOOL_CONNECTOR_LISTEN", "127.0.0.1:0"),
            ],
        )
        .expect("valid");
        assert_eq!(s.portal_base(), "http://127.0.0.1:3000");
        assert_eq!(s.registration_token.as_deref(), Some("bpr_abc"));
        assert_eq!(s.listen.port(), 0);
    }

    #[test]
    fn a_missing_portal_url_says_how_to_set_it() {
        let e = load_in_jail(None, &[]).unwrap_err();
        assert!(e.0.contains("portal_url is required"), "{e}");
        assert!(e.0.contains("BANDPOOL_CONNECTOR_PORTAL_URL"), "{e}");
    }

    #[test]
    fn invalid_values_are_named() {
        let cases: &[(&str, &str)] = &[
            ("portal_url = \"not a url\"", "portal_url"),
            ("portal_url = \"ftp://x\"", "portal_url"),
            (
                "portal_url = \"http://x\"\ncommand_wait_seconds = 31",
                "command_wait_seconds",
            ),
            (
                "portal_url = \"http://x\"\nheartbeat_seconds = 0",
                "heartbeat_seconds",
            ),
            ("portal_url = \"http://x\"\nlisten = \"nowhere\"", "listen"),
            (
                "portal_url = \"http://x\"\nflush_millis = \"soon\"",
                "flush_millis",
            ),
            ("portal_url = \"http://x\"\nportal = 1", "unknown setting"),
            (
                "portal_url = \"http://x\"\nadvertise_url = \"10.0.0.5:8470\"",
                "advertise_url",
            ),
            ("portal_url = \"http://x\"\nlog = \"a=b=c\"", "log"),
        ];
        for (text, expected) in cases {
            let e = load_in_jail(Some(("c.toml", text)), &[]).unwrap_err();
            assert!(e.0.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn a_named_file_must_exist() {
        let e = Settings::load(Some(Path::new("/nonexistent/c.toml"))).unwrap_err();
        assert!(e.0.contains("not found"), "{e}");
    }
}
