//! The connector API under /api/v1/connector/: what connector agents call (they only ever
//! dial out). Registration exchanges a one-time token for a credential; every other call
//! carries `Authorization: Connector <credential>`, which names the connector and its
//! tenant and works nowhere else (user sessions and API tokens do not work here either).
//! Every message that changes something carries an idempotency key (`store::idempotency`).

use crate::auth::{client_ip, client_ip_of, AuthContext};
use crate::state::AppState;
use axum::extract::{FromRequest as _, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bandpool_domain::connector::{
    Activation, ActivationRequest, CheckReport, CheckReportResponse, CheckResult, CommandAck,
    CommandBatch, CommandKind, Deactivation, DeactivationRequest, Heartbeat, HeartbeatResponse,
    RegisterRequest, RegisterResponse, AUTH_SCHEME, MAX_WAIT_SECONDS,
};
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::AppError;
use bandpool_store::connectors::{self, ConnectorIdentity, Seen};
use bandpool_store::{commands, licensing, sync};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The calling connector, from its credential.
pub struct Connector(pub ConnectorIdentity);

impl FromRequestParts<AppState> for Connector {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let credential = header
            .strip_prefix(AUTH_SCHEME)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(str::trim)
            .unwrap_or("");
        let auth = parts.extensions.get::<Arc<AuthContext>>().cloned();
        let found = if credential.is_empty() {
            None
        } else {
            connectors::authenticate(&state.db, credential).await?
        };
        match found {
            Some(identity) => Ok(Connector(identity)),
            None => {
                // Guessing is limited per address, like bad API tokens.
                if let Some(auth) = auth {
                    let ip = client_ip_of(&parts.extensions);
                    auth.limiter.attempt(
                        &format!("bad-connector:{ip}"),
                        auth.limits.bad_tokens_per_minute,
                        Duration::from_secs(60),
                    )?;
                }
                Err(AppError::InvalidConnectorCredential)
            }
        }
    }
}

/// A JSON body, with a clear 400 (`invalid_parameter`, naming the body) when it does not
/// parse, and a 415 (`unsupported_media_type`) when it is not sent as JSON.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Err(AppError::UnsupportedMediaType {
                    expected: "JSON (Content-Type: application/json)".into(),
                })
            }
            Err(rejection) => Err(AppError::invalid("body", rejection.body_text())),
        }
    }
}

/// The connector spoke: mark it seen, and send the emails its coming back calls for.
async fn seen(
    state: &AppState,
    connector: &ConnectorIdentity,
    address: Option<&str>,
    version: Option<&str>,
) -> Result<(), AppError> {
    let now = state.clock.now_ts();
    let Seen { came_back, .. } =
        connectors::seen(&state.db, connector, now, address, version).await?;
    if let Some(restored) = came_back {
        tracing::info!(connector = %connector.name, restored, "connector back online");
        let state = state.clone();
        let tenant = connector.tenant_id.clone();
        let name = connector.name.clone();
        tokio::spawn(async move {
            bandpool_services::connectors::came_back(&state, &tenant, &name, restored).await;
        });
    }
    Ok(())
}

fn check_address(address: Option<&str>) -> Result<(), AppError> {
    if let Some(address) = address {
        let ok = address.len() <= 200
            && url::Url::parse(address)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .unwrap_or(false);
        if !ok {
            return Err(AppError::invalid(
                "address",
                "must be the http(s) URL LoadMasters reach the connector at",
            ));
        }
    }
    Ok(())
}

fn check_version(version: &str) -> Result<(), AppError> {
    if version.trim().is_empty() || version.len() > 40 || version.chars().any(char::is_control) {
        return Err(AppError::invalid("version", "must be 1 to 40 characters"));
    }
    Ok(())
}

/// POST /api/v1/connector/register
pub async fn register(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let ip = client_ip(&request);
    let Body(body) = Body::<RegisterRequest>::from_request(request, &()).await?;
    check_version(&body.version)?;
    check_address(body.address.as_deref())?;
    let result = connectors::register(
        &state.db,
        body.registration_token.trim(),
        &body.version,
        body.address.as_deref(),
        state.clock.now_ts(),
    )
    .await;
    let (identity, credential) = match result {
        Ok(found) => found,
        Err(AppError::InvalidRegistrationToken) => {
            auth.limiter.attempt(
                &format!("bad-registration:{ip}"),
                auth.limits.bad_tokens_per_minute,
                Duration::from_secs(60),
            )?;
            return Err(AppError::InvalidRegistrationToken);
        }
        Err(other) => return Err(other),
    };
    tracing::info!(connector = %identity.name, tenant = %identity.tenant_id, "connector registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            connector_id: identity.id,
            name: identity.name,
            credential,
        }),
    )
        .into_response())
}

/// POST /api/v1/connector/heartbeat
pub async fn heartbeat(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(body): Body<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, AppError> {
    check_version(&body.version)?;
    check_address(body.address.as_deref())?;
    seen(
        &state,
        &connector,
        body.address.as_deref(),
        Some(&body.version),
    )
    .await?;
    Ok(Json(HeartbeatResponse {
        connector_id: connector.id,
        status: bandpool_domain::connector::ConnectorStatus::Up,
        server_time: state.clock.now_ts(),
    }))
}

/// POST /api/v1/connector/checks
pub async fn checks(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(report): Body<CheckReport>,
) -> Result<Json<CheckReportResponse>, AppError> {
    // Seen first: a connector back from Down has its licenses Active again before they
    // are answered.
    seen(&state, &connector, None, None).await?;
    let now = state.clock.now_ts();
    Ok(Json(
        licensing::record_checks(&state.db, &connector, &report, now).await?,
    ))
}

/// POST /api/v1/connector/baseline/checks (only with `benchmark_baseline`): what a check
/// report costs without licensing: the same extractor parses the same JSON, and every check
/// is answered Active, with no credential lookup and no database. The benchmark measures
/// `checks` against it (`bench/src/checks.rs`).
pub async fn baseline_checks(Body(report): Body<CheckReport>) -> Json<CheckReportResponse> {
    Json(CheckReportResponse {
        results: report
            .checks
            .into_iter()
            .map(|check| CheckResult {
                license_id: check.license_id,
                status: Some(LicenseStatus::Active),
                grace_period_end: None,
                refused: None,
            })
            .collect(),
    })
}

/// POST /api/v1/connector/activations
pub async fn activate(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<ActivationRequest>,
) -> Result<Response, AppError> {
    seen(&state, &connector, None, None).await?;
    let (activation, again): (Activation, bool) =
        licensing::activate(&state.db, &connector, &request, state.clock.now_ts()).await?;
    if !again {
        limits_after_change(&state, &connector.tenant_id);
    }
    let status = if again {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(activation)).into_response())
}

/// POST /api/v1/connector/deactivations
pub async fn deactivate(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<DeactivationRequest>,
) -> Result<Json<Deactivation>, AppError> {
    seen(&state, &connector, None, None).await?;
    let answer =
        licensing::deactivate(&state.db, &connector, &request, state.clock.now_ts()).await?;
    limits_after_change(&state, &connector.tenant_id);
    Ok(Json(answer))
}

/// The pool changed: see whether a limit was reached or cleared (after the answer; the
/// crossing is recorded once whichever instance sees it first).
fn limits_after_change(state: &AppState, tenant_id: &str) {
    let (state, tenant_id) = (state.clone(), tenant_id.to_string());
    tokio::spawn(async move {
        bandpool_services::notifications::check_limits(&state, &tenant_id).await
    });
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    wait: Option<u64>,
}

/// GET /api/v1/connector/commands?wait=N: the connector's channel for the portal's
/// commands. Answers at once when commands are pending, else waits up to N seconds (woken
/// by a command queued on this instance; other instances' commands are found by looking
/// again every two seconds).
pub async fn commands(
    State(state): State<AppState>,
    Connector(connector): Connector,
    query: Result<Query<Wait>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CommandBatch>, AppError> {
    let Query(Wait { wait }) = query.map_err(|e| AppError::invalid("query", e.body_text()))?;
    let wait = wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(AppError::invalid(
            "wait",
            format!("must be 0 to {MAX_WAIT_SECONDS} seconds"),
        ));
    }
    seen(&state, &connector, None, None).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let bell = state.wakeups.bell(&connector.id);
    loop {
        let rung = bell.notified();
        let pending = commands::pending(&state.db, &connector.tenant_id, &connector.id).await?;
        let now = tokio::time::Instant::now();
        if !pending.is_empty() || now >= deadline {
            return Ok(Json(CommandBatch { commands: pending }));
        }
        let next_look = (now + Duration::from_secs(2)).min(deadline);
        tokio::select! {
            _ = rung => {}
            _ = tokio::time::sleep_until(next_look) => {}
        }
    }
}

/// POST /api/v1/connector/commands/{id}/ack
pub async fn ack(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Path(id): Path<String>,
    Body(result): Body<CommandAck>,
) -> Result<StatusCode, AppError> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(AppError::invalid("id", "is not a command id (a UUID)"));
    }
    let now = state.clock.now_ts();
    let mut tx = state.db.begin_write().await?;
    tx.lock_pool(&connector.tenant_id).await?;
    let first = commands::ack(
        &mut tx,
        &connector.tenant_id,
        &connector.id,
        &id,
        &result,
        now,
    )
    .await?;
    if let Some(command) = first {
        match (&command.kind, &result) {
            (CommandKind::Sync { run_id }, CommandAck::Sync { appliances }) => {
                sync::record_answer(&mut tx, &connector, run_id, appliances, now).await?;
            }
            (CommandKind::Kill { serial_no, .. }, CommandAck::Failed { reason }) => {
                tracing::warn!(connector = %connector.name, %serial_no, %reason, "connector could not carry out a kill");
            }
            _ => {}
        }
    }
    tx.commit().await?;
    seen(&state, &connector, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
