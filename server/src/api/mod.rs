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
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use bandpool_domain::auth::{Permission, Principal};
use bandpool_domain::AppError;
use std::collections::HashMap;

/// One route: method, path under /api/v1, handler.
pub type Endpoint = (&'static str, &'static str, MethodRouter<AppState>);

/// Every route of the API. The router mounts exactly these; the OpenAPI test and the
/// authorization matrix read them (`routes`), so a route cannot be served without being
/// described and covered.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        ("get", "/pool", get(pool::summary)),
        ("get", "/pool/allocation/monthly", get(pool::monthly)),
        ("get", "/pool/allocation/daily", get(pool::daily)),
        ("get", "/licenses", get(licenses::list)),
        ("get", "/licenses/{id}/history", get(licenses::history)),
        ("get", "/licenses/export.csv", get(export::export_csv)),
        ("post", "/licenses/{id}/kill", post(connectors::kill)),
        ("post", "/licenses/sync", post(connectors::sync)),
        ("get", "/licenses/sync/{id}", get(connectors::sync_run)),
        ("get", "/connectors", get(connectors::list)),
        ("post", "/connectors", post(connectors::create)),
        ("get", "/devices", get(connectors::devices)),
        ("delete", "/devices/{id}", delete(connectors::remove_device)),
        (
            "post",
            "/devices/{id}/block",
            post(connectors::block_device),
        ),
        (
            "post",
            "/devices/{id}/unblock",
            post(connectors::unblock_device),
        ),
        // The connector protocol (`connector.rs`): its own credential, no session, no token.
        ("post", "/connector/register", post(connector::register)),
        ("post", "/connector/heartbeat", post(connector::heartbeat)),
        ("post", "/connector/checks", post(connector::checks)),
        ("post", "/connector/activations", post(connector::activate)),
        (
            "post",
            "/connector/deactivations",
            post(connector::deactivate),
        ),
        ("get", "/connector/commands", get(connector::commands)),
        ("post", "/connector/commands/{id}/ack", post(connector::ack)),
        ("get", "/usage", get(usage::overview)),
        ("get", "/usage/export.csv", get(usage::export_csv)),
        ("get", "/entitlements", get(usage::entitlement)),
        ("post", "/entitlements/sync", post(usage::sync)),
        ("get", "/entitlements/sync/{id}", get(usage::sync_run)),
        ("get", "/applications", get(usage::applications)),
        ("post", "/applications", post(usage::create_application)),
        ("post", "/applications/quick-map", post(usage::quick_map)),
        (
            "delete",
            "/applications/{id}",
            delete(usage::delete_application),
        ),
        (
            "put",
            "/applications/{id}/virtual-services/{vs}",
            put(usage::map),
        ),
        (
            "delete",
            "/applications/{id}/virtual-services/{vs}",
            delete(usage::unmap),
        ),
        ("get", "/virtual-services", get(usage::virtual_services)),
        ("get", "/notifications/channels", get(usage::channels)),
        ("put", "/notifications/channels", put(usage::set_channels)),
        (
            "get",
            "/notifications/webhook-deliveries",
            get(usage::deliveries),
        ),
        (
            "get",
            "/notifications/email-deliveries",
            get(usage::email_deliveries),
        ),
        ("get", "/events", get(events::list)),
        ("get", "/events/export.csv", get(export::export_events)),
        ("get", "/openapi.json", get(openapi::document)),
    ]
}

/// Every route of the API as `(method, full path)`.
pub fn routes() -> Vec<(&'static str, String)> {
    endpoints()
        .into_iter()
        .map(|(method, path, _)| (method, format!("/api/v1{path}")))
        .collect()
}

/// The API's routes; `benchmark_baseline` adds the benchmark's bare check handler
/// (`connector::baseline_checks`), never listed in `endpoints` or the OpenAPI document.
pub fn router(benchmark_baseline: bool) -> Router<AppState> {
    let mut router = Router::new();
    if benchmark_baseline {
        router = router.route(
            "/connector/baseline/checks",
            post(connector::baseline_checks),
        );
    }
    endpoints()
        .into_iter()
        .fold(router, |router, (_, path, handler)| {
            router.route(path, handler)
        })
        .fallback(|| async { AppError::not_found("This API endpoint") })
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
