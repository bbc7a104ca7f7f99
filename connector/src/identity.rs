//! Who this connector is to the portal: its credential, from the settings, from
//! `data_dir/credential` (written owner-only after registration), or — on the very first
//! start — obtained by registering with the one-time registration token the portal showed
//! when the connector was created. The connector's id and name are kept beside it in
//! `data_dir/connector.json`, for log lines.

use crate::backoff::Backoff;
use crate::fsutil::write_atomic;
use crate::portal::{self, PortalError, VERSION};
use crate::settings::Settings;
use crate::AgentError;
use bandpool_domain::connector::RegisterRequest;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The connector's credential and, when known, its id in the portal.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub credential: String,
    pub connector_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ConnectorFile {
    connector_id: String,
    name: String,
}

/// Fails early (before the agent listens) when the connector has no credential and no
/// registration token to get one with.
pub(crate) fn ensure_possible(settings: &Settings) -> Result<(), AgentError> {
    let credential_path = settings.data_dir.join("credential");
    let stored = std::fs::metadata(&credential_path).is_ok_and(|m| m.len() > 0);
    if settings.credential.is_none() && !stored && settings.registration_token.is_none() {
        return Err(AgentError::NotRegistered {
            credential_path: credential_path.display().to_string(),
        });
    }
    Ok(())
}

/// Finds the credential, registering first if there is none. Retries while the portal is
/// unreachable (forever: the operator started the agent to connect); a refused
/// registration token is fatal.
pub(crate) async fn establish(
    settings: &Settings,
    http: &reqwest::Client,
    address: &str,
) -> Result<Identity, AgentError> {
    let credential_path = settings.data_dir.join("credential");
    let known = read_connector_file(&settings.data_dir);
    if let Some(credential) = &settings.credential {
        return Ok(Identity {
            credential: credential.trim().to_string(),
            connector_id: known.map(|c| c.connector_id),
        });
    }
    match std::fs::read_to_string(&credential_path) {
        Ok(text) if !text.trim().is_empty() => {
            if let Some(c) = &known {
                tracing::info!("starting as connector '{}' (id {})", c.name, c.connector_id);
            }
            return Ok(Identity {
                credential: text.trim().to_string(),
                connector_id: known.map(|c| c.connector_id),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(AgentError::DataDir {
                path: credential_path,
                source,
            })
        }
    }
    let Some(token) = settings.registration_token.as_deref() else {
        return Err(AgentError::NotRegistered {
            credential_path: credential_path.display().to_string(),
        });
    };
    let request = RegisterRequest {
        registration_token: token.trim().to_string(),
        version: VERSION.to_string(),
        address: Some(address.to_string()),
    };
    let mut backoff = Backoff::default();
    let registered = loop {
        match portal::register(http, settings.portal_base(), &request).await {
            Ok(registered) => break registered,
            Err(e) if e.retryable() && !e.unauthorized() => {
                let wait = backoff.next_delay();
                tracing::warn!(
                    "could not register yet: {e}; retrying in {:.1} s",
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
            }
            Err(PortalError::Refused { code, message, .. }) => {
                return Err(AgentError::RegistrationRefused { code, message })
            }
            Err(e) => {
                return Err(AgentError::RegistrationRefused {
                    code: "unexpected_answer".into(),
                    message: e.to_string(),
                })
            }
        }
    };
    save(
        &settings.data_dir,
        &registered.credential,
        &registered.connector_id,
        &registered.name,
    )?;
    tracing::info!(
        "registered as connector '{}' (id {}); credential saved to {}",
        registered.name,
        registered.connector_id,
        credential_path.display()
    );
    Ok(Identity {
        credential: registered.credential,
        connector_id: Some(registered.connector_id),
    })
}

fn save(
    data_dir: &Path,
    credential: &str,
    connector_id: &str,
    name: &str,
) -> Result<(), AgentError> {
    let credential_path = data_dir.join("credential");
    write_atomic(&credential_path, format!("{credential}\n").as_bytes(), true).map_err(|source| {
        // The token is spent; without the credential the connector needs a new one.
        tracing::error!(
            "registered, but could not save the credential to {}: create a new registration token in the portal",
            credential_path.display()
        );
        AgentError::DataDir {
            path: credential_path.clone(),
            source,
        }
    })?;
    let info = serde_json::to_vec_pretty(&ConnectorFile {
        connector_id: connector_id.to_string(),
        name: name.to_string(),
    })
    .unwrap_or_default();
    let path = data_dir.join("connector.json");
    if let Err(e) = write_atomic(&path, &info, false) {
        tracing::warn!("could not write {}: {e}", path.display());
    }
    Ok(())
}

fn read_connector_file(data_dir: &Path) -> Option<ConnectorFile> {
    let bytes = std::fs::read(data_dir.join("connector.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}
