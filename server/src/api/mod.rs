//! The REST API under /api/v1: JSON, errors as `{code, message}`, described by the OpenAPI
//! document at /api/v1/openapi.json. Every handler reads the tenant from the request's
//! principal (`Caller`), never from the URL.

pub mod connector;
pub mod connectors;
pub mod events;
pub mod export;
pub mod licenses;
pub mod openapi;
pub mod pool;
pub mod usage;

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put};
use axum::Router;
use bandpool_domain::auth::{Permission, Principal};
use bandpool_domain::AppError;
use std::collections::HashMap;

/// Every route of the API, as `(method, path)`; the OpenAPI document must describe each.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/pool"),
    ("get", "/api/v1/pool/allocation/monthly"),
    ("get", "/api/v1/pool/allocation/daily"),
    ("get", "/api/v1/licenses"),
    ("get", "/api/v1/licenses/{id}/history"),
    ("get", "/api/v1/licenses/export.csv"),
    ("post", "/api/v1/licenses/{id}/kill"),
    ("post", "/api/v1/licenses/sync"),
    ("get", "/api/v1/licenses/sync/{id}"),
    ("get", "/api/v1/connectors"),
    ("post", "/api/v1/connectors"),
    ("get", "/api/v1/devices"),
    ("delete", "/api/v1/devices/{id}"),
    ("post", "/api/v1/devices/{id}/block"),
    ("post", "/api/v1/devices/{id}/unblock"),
    ("post", "/api/v1/connector/register"),
    ("post", "/api/v1/connector/heartbeat"),
    ("post", "/api/v1/connector/checks"),
    ("post", "/api/v1/connector/activations"),
    ("post", "/api/v1/connector/deactivations"),
    ("get", "/api/v1/connector/commands"),
    ("post", "/api/v1/connector/commands/{id}/ack"),
    ("get", "/api/v1/usage"),
    ("get", "/api/v1/usage/export.csv"),
    ("get", "/api/v1/entitlements"),
    ("post", "/api/v1/entitlements/sync"),
    ("get", "/api/v1/entitlements/sync/{id}"),
    ("get", "/api/v1/applications"),
    ("post", "/api/v1/applications"),
    ("post", "/api/v1/applications/quick-map"),
    ("delete", "/api/v1/applications/{id}"),
    ("put", "/api/v1/applications/{id}/virtual-services/{vs}"),
    ("delete", "/api/v1/applications/{id}/virtual-services/{vs}"),
    ("get", "/api/v1/virtual-services"),
    ("get", "/api/v1/notifications/channels"),
    ("put", "/api/v1/notifications/channels"),
    ("get", "/api/v1/notifications/webhook-deliveries"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/events/export.csv"),
    ("get", "/api/v1/openapi.json"),
];

/// The API's routes; `benchmark_baseline` adds the benchmark's bare check handler
/// (`connector::baseline_checks`), never listed in `ROUTES` or the OpenAPI document.
pub fn router(benchmark_baseline: bool) -> Router<AppState> {
    Router::new()
        .route("/pool", get(pool::summary))
        .route("/pool/allocation/monthly", get(pool::monthly))
        .route("/pool/allocation/daily", get(pool::daily))
        .route("/licenses", get(licenses::list))
        .route("/licenses/export.csv", get(export::export_csv))
        .route("/licenses/{id}/history", get(licenses::history))
        .route("/licenses/{id}/kill", post(connectors::kill))
        .route("/licenses/sync", post(connectors::sync))
        .route("/licenses/sync/{id}", get(connectors::sync_run))
        .route(
            "/connectors",
            get(connectors::list).post(connectors::create),
        )
        .route("/devices", get(connectors::devices))
        .route("/devices/{id}", delete(connectors::remove_device))
        .route("/devices/{id}/block", post(connectors::block_device))
        .route("/devices/{id}/unblock", post(connectors::unblock_device))
        .route("/usage", get(usage::overview))
        .route("/usage/export.csv", get(usage::export_csv))
        .route("/entitlements", get(usage::entitlement))
        .route("/entitlements/sync", post(usage::sync))
        .route("/entitlements/sync/{id}", get(usage::sync_run))
        .route(
            "/applications",
            get(usage::applications).post(usage::create_application),
        )
        .route("/applications/quick-map", post(usage::quick_map))
        .route("/applications/{id}", delete(usage::delete_application))
        .route(
            "/applications/{id}/virtual-services/{vs}",
            put(usage::map).delete(usage::unmap),
        )
        .route("/virtual-services", get(usage::virtual_services))
        .route(
            "/notifications/channels",
            get(usage::channels).put(usage::set_channels),
        )
        .route("/notifications/webhook-deliveries", get(usage::deliveries))
        .nest("/connector", connector_router(benchmark_baseline))
        .route("/events", get(events::list))
        .route("/events/export.csv", get(export::export_events))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { AppError::not_found("This API endpoint") })
}

/// The connector protocol (`connector.rs`): its own credential, no session, no API token.
fn connector_router(benchmark_baseline: bool) -> Router<AppState> {
    let router = if benchmark_baseline {
        Router::new().route("/baseline/checks", post(connector::baseline_checks))
    } else {
        Router::new()
    };
    router
        .route("/register", post(connector::register))
        .route("/heartbeat", post(connector::heartbeat))
        .route("/checks", post(connector::checks))
        .route("/activations", post(connector::activate))
        .route("/deactivations", post(connector::deactivate))
        .route("/commands", get(connector::commands))
        .route("/commands/{id}/ack", post(connector::ack))
}

/// Who is calling: the principal the authentication middleware resolved from a session
/// cookie or an `Authorization: Bearer` token. Missing, the call is unauthenticated (401).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The tenant id to scope the call by, if the caller may do `permission`.
    pub fn tenant(&self, permission: Permission) -> Result<String, AppError> {
        Ok(self.0.require(permission)?.tenant_id.clone())
    }

    /// The caller as the service layer takes it, if they may do `permission`.
    pub fn authorize(
        &self,
        permission: Permission,
    ) -> Result<bandpool_services::change::Caller, AppError> {
        bandpool_services::change::Caller::authorize(&self.0, permission)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(AppError::Unauthenticated)
    }
}

/// A request's query parameters, checked against what the endpoint accepts: an unknown
/// or repeated parameter is a 400 that names it.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map(|q| q.0)
                .map_err(|_| {
                    AppError::invalid("query", format!("could not be decoded: {query:?}"))
                })?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(AppError::invalid(k, "is given more than once"));
            }
        }
        Ok(Params(map))
    }
}

impl Params {
    /// Fail on any parameter not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<&Self, AppError> {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        for name in names {
            if !allowed.contains(&name.as_str()) {
                let expected = if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(AppError::invalid(
                    name.clone(),
                    format!("is not a parameter of this endpoint (expected: {expected})"),
                ));
            }
        }
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        self.0.clone()
    }
}
