//! The HTTP API the connector offers the LoadMasters of its network (the types are
//! `bandpool_domain::connector::appliance`):
//!
//! - `POST /v1/activate`: forwarded to the portal at once (the LoadMaster waits for its
//!   license); retried with the same idempotency key if the portal does not answer; the
//!   portal's answer — grant or refusal — is passed through as it came. `503
//!   portal_unreachable` when the portal cannot be reached.
//! - `POST /v1/check`: answered at once from the local license state (the last status the
//!   portal gave), with the address to check at next time; the check is queued for the
//!   portal. `404 unknown_license` for a license the connector does not serve to that
//!   LoadMaster.
//! - `POST /v1/usage`: a metered LoadMaster's usage sample (every five minutes), queued for
//!   the portal in batches; `202`. `400 invalid_parameter` naming the field for a malformed
//!   sample, `404 unknown_license` as for a check.
//! - `POST /v1/deactivate`: queued durably for the portal; `202`.
//! - `POST /v1/diagnostics`: ping the default gateway, the DNS servers and the portal from
//!   here, and answer the results (what the portal's "Run diagnostics" asks for).
//! - `GET /healthz`: the agent is up (and what it has queued).

use crate::backoff::Backoff;
use crate::Shared;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bandpool_domain::connector::appliance::{
    ActivateRequest, CheckRequest, CheckResponse, DeactivateRequest,
};
use bandpool_domain::connector::{
    Activation, ActivationRequest, DeactivationRequest, LicenseCheck,
};
use bandpool_domain::error::ErrorBody;
use bandpool_domain::metered::UsageSample;
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Attempts at forwarding one activation before answering `portal_unreachable`.
const ACTIVATION_ATTEMPTS: u32 = 4;
/// How long one forwarding attempt may take.
const ACTIVATION_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/activate", post(activate))
        .route("/v1/licenses", post(available))
        .route("/v1/update", post(update))
        .route("/v1/transfer", post(transfer))
        .route("/v1/owner", post(change_owner))
        .route("/v1/check", post(check))
        .route("/v1/usage", post(usage))
        .route("/v1/deactivate", post(deactivate))
        .route("/v1/diagnostics", post(diagnostics))
        .route("/healthz", get(healthz))
        .with_state(shared)
}

/// Serves until `stopped` turns true, then lets in-flight requests finish.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!("the local API stopped: {e}");
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

/// A LoadMaster's JSON request; one that does not parse is the 400 `invalid_parameter`
/// with the parser's reason, whatever went wrong (the body, or its content type).
struct Asked<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Asked<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(asked)) => Ok(Asked(asked)),
            Err(rejection) => Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                rejection.body_text(),
            )),
        }
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

async fn activate(
    State(shared): State<Arc<Shared>>,
    Asked(asked): Asked<ActivateRequest>,
) -> Response {
    let request = ActivationRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        serial_no: asked.serial_no,
        device_name: asked.device_name,
        ip_address: asked.ip_address,
        sku: asked.sku,
        license_type_id: asked.license_type_id,
        appliance: asked.appliance,
        ask: asked.ask,
    };
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
    let mut attempt = 1;
    let last_failure = loop {
        match shared.portal.activate(&request, ACTIVATION_TIMEOUT).await {
            Ok(answer) if !retryable_status(answer.status) || attempt == ACTIVATION_ATTEMPTS => {
                return pass_through(&shared, &request, answer).await;
            }
            Ok(answer) => tracing::debug!(
                "activation for serial {}: portal answered {}; retrying",
                request.serial_no,
                answer.status
            ),
            Err(e) if attempt == ACTIVATION_ATTEMPTS => break e,
            Err(e) => tracing::debug!("activation for serial {}: {e}; retrying", request.serial_no),
        }
        attempt += 1;
        tokio::time::sleep(backoff.next_delay()).await;
    };
    tracing::warn!(
        "activation for LoadMaster '{}' (serial {}) failed: {last_failure}",
        request.device_name,
        request.serial_no
    );
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "portal_unreachable",
        "The connector cannot reach the licensing portal right now; try again shortly",
    )
}

/// The portal's answer to an activation, as the LoadMaster gets it; a grant is recorded
/// in the local state (on disk) first.
async fn pass_through(
    shared: &Shared,
    request: &ActivationRequest,
    answer: crate::portal::RawAnswer,
) -> Response {
    if answer.status == StatusCode::UNAUTHORIZED {
        tracing::error!(
            "the portal refused this connector's credential; LoadMaster activations fail until it is fixed"
        );
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "connector_not_authorized",
            "The licensing portal does not accept this connector's credential",
        );
    }
    if answer.status.is_success() {
        match serde_json::from_slice::<Activation>(&answer.body) {
            Ok(activation) => {
                shared
                    .licenses
                    .record_activation(&request.serial_no, &activation);
                if let Err(e) = shared.licenses.save().await {
                    tracing::error!("could not save the local license state: {e}");
                }
                tracing::info!(
                    "LoadMaster '{}' (serial {}) activated license {} ({})",
                    request.device_name,
                    request.serial_no,
                    activation.license_id,
                    activation.license_name
                );
            }
            Err(e) => tracing::warn!(
                "the portal's activation answer for serial {} is not understood: {e}",
                request.serial_no
            ),
        }
    } else {
        let refusal = crate::portal::refusal(answer.status, &answer.body);
        tracing::info!(
            "activation for LoadMaster '{}' (serial {}) refused: {}",
            request.device_name,
            request.serial_no,
            refusal
        );
    }
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response()
}

/// A LoadMaster's request relayed to the portal at `path`, and the portal's answer passed back
/// as it came. A success is first handed to `keep` (parsed as `T`), which records in the local
/// state what the LoadMaster now holds; the state is then saved. A refused credential or an
/// unreachable portal is answered as the agent's own error.
async fn relay<T: DeserializeOwned>(
    shared: &Shared,
    path: &str,
    request: &impl serde::Serialize,
    serial_no: &str,
    keep: impl FnOnce(&crate::state::Licenses, T),
) -> Response {
    let answer = match shared.portal.relay(path, request, ACTIVATION_TIMEOUT).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!("{path} for serial {serial_no}: {e}");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "portal_unreachable",
                "The connector cannot reach the licensing portal right now; try again shortly",
            );
        }
    };
    if answer.status == StatusCode::UNAUTHORIZED {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "connector_not_authorized",
            "The licensing portal does not accept this connector's credential",
        );
    }
    if answer.status.is_success() {
        match serde_json::from_slice::<T>(&answer.body) {
            Ok(parsed) => {
                keep(&shared.licenses, parsed);
                if let Err(e) = shared.licenses.save().await {
                    tracing::error!("could not save the local license state: {e}");
                }
            }
            Err(e) => tracing::warn!(
                "the portal's {path} answer for serial {serial_no} is not understood: {e}"
            ),
        }
    }
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response()
}

/// Which licenses the LoadMaster may take (an order's, or the pool's for its SKU), passed
/// through from the portal; it then activates the one it picked.
async fn available(
    State(shared): State<Arc<Shared>>,
    Asked(asked): Asked<bandpool_domain::lifecycle::AvailabilityRequest>,
) -> Response {
    relay(
        &shared,
        "availability",
        &asked,
        &asked.serial_no,
        |_, _: serde_json::Value| {},
    )
    .await
}

/// What a LoadMaster sends for Update License/Owner (the agent adds the idempotency key).
#[derive(serde::Deserialize)]
struct UpdateAsked {
    license_id: String,
    serial_no: String,
    #[serde(default)]
    license_type_id: Option<String>,
    #[serde(flatten)]
    ask: bandpool_domain::connector::LicenseAsk,
}

/// Update License/Owner: the updated license is kept in the local state so the LoadMaster's
/// checks are answered with it.
async fn update(State(shared): State<Arc<Shared>>, Asked(asked): Asked<UpdateAsked>) -> Response {
    let request = bandpool_domain::lifecycle::LicenseUpdateRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        license_id: asked.license_id,
        serial_no: asked.serial_no,
        license_type_id: asked.license_type_id,
        ask: asked.ask,
    };
    let serial = request.serial_no.clone();
    relay(
        &shared,
        "updates",
        &request,
        &serial,
        |licenses, updated: bandpool_domain::lifecycle::LicenseUpdate| {
            licenses.record_activation(&serial, &updated.license)
        },
    )
    .await
}

/// What a LoadMaster sends to kill its license for a transfer (the agent adds the key).
#[derive(serde::Deserialize)]
struct TransferAsked {
    license_id: String,
    serial_no: String,
    firmware_version: String,
}

/// Kill License for a transfer: once it is killed in the portal, the local state says so, so
/// the LoadMaster's next check disables it.
async fn transfer(
    State(shared): State<Arc<Shared>>,
    Asked(asked): Asked<TransferAsked>,
) -> Response {
    let request = bandpool_domain::lifecycle::TransferRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        license_id: asked.license_id,
        serial_no: asked.serial_no,
        firmware_version: asked.firmware_version,
    };
    let (license, serial) = (request.license_id.clone(), request.serial_no.clone());
    relay(
        &shared,
        "transfers",
        &request,
        &serial,
        |licenses, _: serde_json::Value| {
            licenses.kill(&license, &serial);
        },
    )
    .await
}

/// What a LoadMaster sends to change its license's owner to this connector's tenant.
#[derive(serde::Deserialize)]
struct OwnerAsked {
    license_id: String,
    serial_no: String,
    device_name: String,
    ip_address: String,
}

/// Change of owner: the license, now served by this connector, is kept in the local state so
/// the LoadMaster's checks are answered here.
async fn change_owner(
    State(shared): State<Arc<Shared>>,
    Asked(asked): Asked<OwnerAsked>,
) -> Response {
    let request = bandpool_domain::lifecycle::OwnerChangeRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        license_id: asked.license_id,
        serial_no: asked.serial_no,
        device_name: asked.device_name,
        ip_address: asked.ip_address,
    };
    let serial = request.serial_no.clone();
    relay(
        &shared,
        "owner-changes",
        &request,
        &serial,
        |licenses, moved: bandpool_domain::lifecycle::OwnerChange| {
            licenses.record_activation(&serial, &moved.license)
        },
    )
    .await
}

async fn check(State(shared): State<Arc<Shared>>, Asked(asked): Asked<CheckRequest>) -> Response {
    // Partners that cannot be right (its own serial, too many) are refused here, at the
    // LoadMaster that sent them, before they travel with other LoadMasters' checks.
    let partners = match asked.partners.as_ref().map(|p| p.checked(&asked.serial_no)) {
        Some(Err(refused)) => {
            let body = refused.body();
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        Some(Ok(partners)) => Some(partners),
        None => None,
    };
    let now = crate::unix_now();
    let answer = shared
        .licenses
        .check(&asked.license_id, &asked.serial_no, now);
    if let (Some(_), Some(services)) = (&answer, asked.virtual_services) {
        shared.licenses.note_services(&asked.license_id, services);
    }
    // Queued either way: the portal is the judge, and its answer teaches a connector that
    // lost its state the licenses it serves.
    shared.queue.push_check(LicenseCheck {
        license_id: asked.license_id.clone(),
        serial_no: asked.serial_no.clone(),
        checked_at: now,
        partners,
    });
    shared
        .counters
        .checks_received
        .fetch_add(1, Ordering::Relaxed);
    match answer {
        Some((status, grace_period_end)) => Json(CheckResponse {
            license_id: asked.license_id,
            status,
            grace_period_end,
            connector_url: shared.advertise_url(),
        })
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "unknown_license",
            format!(
                "This connector does not serve license {} to serial {}",
                asked.license_id, asked.serial_no
            ),
        ),
    }
}

async fn usage(State(shared): State<Arc<Shared>>, Asked(sample): Asked<UsageSample>) -> Response {
    // Checked here as the portal checks it, so a malformed sample is the LoadMaster's to
    // fix now rather than a batch the portal refuses whole later.
    if let Err(refusal) = sample.check(crate::unix_now()) {
        let body = ErrorBody::from(refusal);
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    if !shared
        .licenses
        .serves(&sample.license_id, &sample.serial_no)
    {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_license",
            format!(
                "This connector does not serve license {} to serial {}",
                sample.license_id, sample.serial_no
            ),
        );
    }
    shared.queue.push_sample(sample);
    StatusCode::ACCEPTED.into_response()
}

async fn deactivate(
    State(shared): State<Arc<Shared>>,
    Asked(asked): Asked<DeactivateRequest>,
) -> Response {
    let request = DeactivationRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        license_id: asked.license_id.clone(),
        serial_no: asked.serial_no.clone(),
    };
    let queued = {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || shared.queue.push_deactivation(&request))
            .await
            .map_err(std::io::Error::other)
            .and_then(|written| written)
    };
    if let Err(e) = queued {
        tracing::error!("could not queue a deactivation: {e}");
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "queue_unavailable",
            "The connector could not record the deactivation; try again",
        );
    }
    shared.licenses.release(&asked.license_id);
    shared.flush_now.notify_one();
    tracing::info!(
        "LoadMaster (serial {}) gave back license {}; queued for the portal",
        asked.serial_no,
        asked.license_id
    );
    StatusCode::ACCEPTED.into_response()
}

async fn diagnostics(State(shared): State<Arc<Shared>>) -> Response {
    Json(crate::diagnostics::run(&shared.settings.portal_url).await).into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "version": crate::portal::VERSION,
        "connector_id": shared.connector_id.read().unwrap_or_else(|p| p.into_inner()).clone(),
        "licenses": shared.licenses.len(),
        "queued_batches": shared.queue.len(),
        "queued_checks": shared.queue.queued_checks() + shared.queue.buffered_checks(),
        "buffered_samples": shared.queue.buffered_samples(),
    }))
    .into_response()
}
