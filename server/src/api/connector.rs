//! The connector API under /api/v1/connector/: what connector agents call (they only ever
//! dial out). Registration exchanges a one-time token for a credential; every other call
//! carries `Authorization: Connector <credential>`, which names the connector and its
//! tenant and works nowhere else (user sessions and API tokens do not work here either).
//! Every message that changes something carries an idempotency key (`store::idempotency`).
//! The handlers are HTTP only: each authenticates and calls its `bandpool_services::relay`
//! function.

use super::PathId;
use crate::auth::{client_ip, client_ip_of, AuthContext};
use crate::state::AppState;
use axum::extract::{FromRequest as _, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bandpool_domain::connector::{
    Activation, ActivationRequest, CheckReport, CheckReportResponse, CheckResult, CommandAck,
    CommandBatch, Deactivation, DeactivationRequest, Heartbeat, HeartbeatResponse, RegisterRequest,
    RegisterResponse, AUTH_SCHEME,
};
use bandpool_domain::error::ErrorBody;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::metered::{UsageReport, UsageReportResponse};
use bandpool_domain::AppError;
use bandpool_services::relay::{self, ConnectorIdentity};
use serde::Deserialize;
use std::sync::Arc;

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
            relay::authenticate(state, credential).await?
        };
        match found {
            Some(identity) => Ok(Connector(identity)),
            None => {
                if let Some(auth) = auth {
                    auth.count_bad_guess("connector", &client_ip_of(&parts.extensions))?;
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

/// A connector agent exchanges its one-time registration token for its credential.
#[utoipa::path(
    post, path = "/connector/register", tag = "connector", operation_id = "registerConnector",
    request_body = RegisterRequest,
    responses((status = 201, description = "Registered", body = RegisterResponse))
)]
pub async fn register(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let ip = client_ip(&request);
    let Body(body) = Body::<RegisterRequest>::from_request(request, &()).await?;
    let (identity, credential) = match relay::register(&state, &body).await {
        Ok(found) => found,
        Err(AppError::InvalidRegistrationToken) => {
            auth.count_bad_guess("registration", &ip)?;
            return Err(AppError::InvalidRegistrationToken);
        }
        Err(other) => return Err(other),
    };
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

/// The connector is alive (and where its LoadMasters reach it).
#[utoipa::path(
    post, path = "/connector/heartbeat", tag = "connector", operation_id = "connectorHeartbeat",
    request_body = Heartbeat,
    responses((status = 200, description = "OK", body = HeartbeatResponse))
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(body): Body<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, AppError> {
    Ok(Json(relay::heartbeat(&state, &connector, &body).await?))
}

/// The connector's network diagnostics (pinging its default gateway, its DNS servers and the
/// portal), sent after a heartbeat answered `run_diagnostics`. They replace the last ones.
#[utoipa::path(
    post, path = "/connector/diagnostics", tag = "connector", operation_id = "connectorDiagnostics",
    request_body = bandpool_domain::connector::DiagnosticsReport,
    responses(
        (status = 204, description = "Kept"),
        (status = 400, description = "invalid_parameter: too many checks, or a field too long", body = ErrorBody),
    )
)]
pub async fn diagnostics(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(report): Body<bandpool_domain::connector::DiagnosticsReport>,
) -> Result<axum::http::StatusCode, AppError> {
    relay::diagnostics(&state, &connector, &report).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Periodic license checks of many LoadMasters (at most 1,000).
///
/// A replayed report is answered, not counted again.
#[utoipa::path(
    post, path = "/connector/checks", tag = "connector", operation_id = "connectorChecks",
    request_body = CheckReport,
    responses((status = 200, description = "OK", body = CheckReportResponse))
)]
pub async fn checks(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(report): Body<CheckReport>,
) -> Result<Json<CheckReportResponse>, AppError> {
    Ok(Json(relay::checks(&state, &connector, &report).await?))
}

/// Usage samples of metered LoadMasters (at most 5,000), as the agent queued them.
///
/// A replayed report, or a sample the portal has already, is counted once.
#[utoipa::path(
    post, path = "/connector/usage", tag = "connector", operation_id = "connectorUsage",
    request_body = UsageReport,
    responses((status = 200, description = "OK", body = UsageReportResponse))
)]
pub async fn usage(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(report): Body<UsageReport>,
) -> Result<Json<UsageReportResponse>, AppError> {
    Ok(Json(relay::usage(&state, &connector, &report).await?))
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

/// POST /api/v1/connector/baseline/usage (only with `benchmark_baseline`): what a usage
/// report costs without metering: the same extractor parses the same JSON and every sample
/// is answered recorded, with no credential lookup and no database. The benchmark measures
/// `usage` against it (`bench/src/metered.rs`).
pub async fn baseline_usage(Body(report): Body<UsageReport>) -> Json<UsageReportResponse> {
    Json(UsageReportResponse {
        recorded: report.samples.len(),
        duplicates: 0,
        refused: Vec::new(),
    })
}

/// A LoadMaster asks for a license of a type: from the pool (the default), permanent from an
/// order (`kind: permanent`, `order_id`), temporary or trial (30 days).
///
/// 201 for a new license; 200 for a replay or a license it already holds. Every kind but
/// metered takes its bandwidth from the pool; a permanent license also one of its order's.
#[utoipa::path(
    post, path = "/connector/activations", tag = "connector", operation_id = "connectorActivate",
    request_body = ActivationRequest,
    responses(
        (status = 201, description = "Activated", body = Activation),
        (status = 200, description = "Held already, or a replay", body = Activation),
        (status = 400, description = "Refused: invalid_license_type, order_id_required (a first permanent license), or invalid_parameter", body = ErrorBody),
        (status = 403, description = "Refused: appliance_blocked, tenant_unlicensed or tenant_expired", body = ErrorBody),
        (status = 404, description = "Refused: order_not_found", body = ErrorBody),
        (status = 409, description = "Refused: instance_limit_reached, pool_capacity_exceeded, no_license_for_sku, device_ip_exists, temporary_license_in_place or order_license_unavailable", body = ErrorBody),
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<ActivationRequest>,
) -> Result<Response, AppError> {
    let (activation, again) = relay::activate(&state, &connector, &request).await?;
    let status = if again {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(activation)).into_response())
}

/// Which licenses a LoadMaster may take: with `order_id`, that order's license types (as
/// permanent licenses); without, the pool's license types for its SKU (pooled, or metered
/// under a metered contract). Each says how many remain: what the order has left and what
/// the pool's capacity and LoadMaster limit (or the metered contract) still allow. The
/// LoadMaster then activates the one it picked.
#[utoipa::path(
    post, path = "/connector/availability", tag = "connector", operation_id = "connectorAvailability",
    request_body = bandpool_domain::lifecycle::AvailabilityRequest,
    responses(
        (status = 200, description = "OK", body = bandpool_domain::lifecycle::Availability),
        (status = 403, description = "Refused: tenant_unlicensed", body = ErrorBody),
        (status = 404, description = "Refused: order_not_found", body = ErrorBody),
    )
)]
pub async fn availability(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<bandpool_domain::lifecycle::AvailabilityRequest>,
) -> Result<Json<bandpool_domain::lifecycle::Availability>, AppError> {
    Ok(Json(
        relay::availability(&state, &connector, &request).await?,
    ))
}

/// Update License/Owner from a LoadMaster: with nothing else, the license is renewed from its
/// order (renewed support or term); `license_type_id` changes its type (a larger one needs
/// the difference free in the pool); `kind: permanent` with `order_id` upgrades a trial or
/// temporary license. One transaction keeps the pool and the order right; the answer says what
/// changed and carries the licensing guide's message that a reboot is recommended.
#[utoipa::path(
    post, path = "/connector/updates", tag = "connector", operation_id = "connectorUpdate",
    request_body = bandpool_domain::lifecycle::LicenseUpdateRequest,
    responses(
        (status = 200, description = "Updated (or already up to date), or a replay", body = bandpool_domain::lifecycle::LicenseUpdate),
        (status = 400, description = "Refused: invalid_license_type, order_id_required or invalid_parameter", body = ErrorBody),
        (status = 404, description = "Refused: order_not_found, or not a license of this connector", body = ErrorBody),
        (status = 409, description = "Refused: pool_capacity_exceeded, temporary_license_in_place or order_license_unavailable", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<bandpool_domain::lifecycle::LicenseUpdateRequest>,
) -> Result<Json<bandpool_domain::lifecycle::LicenseUpdate>, AppError> {
    Ok(Json(relay::update(&state, &connector, &request).await?))
}

/// Kill License on a LoadMaster to transfer its permanent license to another: only a permanent
/// license from an order (not SPLA, metered, pooled or Pay As You Go) under active support,
/// from firmware 7.2.50 on. The license is killed and the order's license is free; the
/// tenant's Owners are emailed. Then license the other LoadMaster with the Order ID.
#[utoipa::path(
    post, path = "/connector/transfers", tag = "connector", operation_id = "connectorTransfer",
    request_body = bandpool_domain::lifecycle::TransferRequest,
    responses(
        (status = 200, description = "Killed for transfer, or a replay", body = bandpool_domain::lifecycle::Transfer),
        (status = 404, description = "Not a license of this connector", body = ErrorBody),
        (status = 409, description = "Refused: spla_license_not_transferable, metered_license_not_transferable, pooled_license_not_transferable, payg_license_not_transferable, temporary_license_not_transferable, transfer_support_expired or transfer_firmware_too_old", body = ErrorBody),
    )
)]
pub async fn transfer(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<bandpool_domain::lifecycle::TransferRequest>,
) -> Result<Json<bandpool_domain::lifecycle::Transfer>, AppError> {
    Ok(Json(relay::transfer(&state, &connector, &request).await?))
}

/// Change of owner (Update License/Owner with the new owner's credentials): a LoadMaster now
/// behind this connector names the license it holds under another tenant (its id and serial
/// number); the license moves to this connector's tenant, with its kind, term and
/// subscriptions, if this tenant's pool has room. Both pools change in one transaction; both
/// tenants' Owners and the vendor's address are emailed.
#[utoipa::path(
    post, path = "/connector/owner-changes", tag = "connector", operation_id = "connectorOwnerChange",
    request_body = bandpool_domain::lifecycle::OwnerChangeRequest,
    responses(
        (status = 200, description = "Moved, or a replay", body = bandpool_domain::lifecycle::OwnerChange),
        (status = 400, description = "invalid_parameter: already this tenant's, or a metered license", body = ErrorBody),
        (status = 404, description = "No license with that id held by that serial number", body = ErrorBody),
        (status = 409, description = "Refused: instance_limit_reached or pool_capacity_exceeded in this tenant's pool", body = ErrorBody),
    )
)]
pub async fn change_owner(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<bandpool_domain::lifecycle::OwnerChangeRequest>,
) -> Result<Json<bandpool_domain::lifecycle::OwnerChange>, AppError> {
    Ok(Json(
        relay::change_owner(&state, &connector, &request).await?,
    ))
}

/// A LoadMaster gives its license back.
#[utoipa::path(
    post, path = "/connector/deactivations", tag = "connector", operation_id = "connectorDeactivate",
    request_body = DeactivationRequest,
    responses((status = 200, description = "OK", body = Deactivation))
)]
pub async fn deactivate(
    State(state): State<AppState>,
    Connector(connector): Connector,
    Body(request): Body<DeactivationRequest>,
) -> Result<Json<Deactivation>, AppError> {
    Ok(Json(relay::deactivate(&state, &connector, &request).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    wait: Option<u64>,
}

/// The command channel (long-poll): kill and sync commands not yet acknowledged.
///
/// Waits up to `wait` seconds for one.
#[utoipa::path(
    get, path = "/connector/commands", tag = "connector", operation_id = "connectorCommands",
    params(
        ("wait" = Option<u64>, Query, minimum = 0, maximum = 30, description = "Seconds to wait for a command, 0 to 30"),
    ),
    responses((status = 200, description = "OK", body = CommandBatch))
)]
pub async fn commands(
    State(state): State<AppState>,
    Connector(connector): Connector,
    query: Result<Query<Wait>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CommandBatch>, AppError> {
    let Query(Wait { wait }) = query.map_err(|e| AppError::invalid("query", e.body_text()))?;
    Ok(Json(
        relay::commands(&state, &connector, wait.unwrap_or(0)).await?,
    ))
}

/// Acknowledge a command: done, failed, or a sync's report; twice is harmless.
#[utoipa::path(
    post, path = "/connector/commands/{id}/ack", tag = "connector", operation_id = "connectorAck",
    request_body = CommandAck,
    params(("id" = uuid::Uuid, Path, description = "The command")),
    responses((status = 204, description = "Acknowledged"))
)]
pub async fn ack(
    State(state): State<AppState>,
    Connector(connector): Connector,
    PathId(id): PathId,
    Body(result): Body<CommandAck>,
) -> Result<StatusCode, AppError> {
    relay::ack(&state, &connector, &id, &result).await?;
    Ok(StatusCode::NO_CONTENT)
}
