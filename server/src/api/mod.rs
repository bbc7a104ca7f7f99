//! The REST API under /api/v1: JSON, errors as `{code, message}`, described by the OpenAPI
//! document at /api/v1/openapi.json. Every handler reads the tenant from the request's
//! principal (`Caller`), never from the URL.

pub mod connector;
pub mod connectors;
pub mod events;
pub mod export;
pub mod licenses;
pub mod lifecycle;
pub mod metered;
pub mod openapi;
pub mod pool;
pub mod usage;

use crate::state::AppState;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{post, MethodRouter};
use axum::{Json, Router};
use bandpool_domain::auth::{Permission, Principal};
use bandpool_domain::ids::Id;
use bandpool_domain::AppError;
use std::collections::HashMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where the API is mounted.
pub const PREFIX: &str = "/api/v1";

/// One route outside the API (`web::endpoints`): method, path, handler.
pub type Endpoint = (&'static str, &'static str, MethodRouter<AppState>);

/// Every route of the API, each handler with its `#[utoipa::path]` description. The router
/// mounts exactly these and the OpenAPI document is generated from the same list, which the
/// authorization matrix reads too (`routes`): a route cannot be served without being
/// described and covered.
pub fn mounted() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(pool::summary))
        .routes(routes!(pool::monthly))
        .routes(routes!(pool::daily))
        .routes(routes!(licenses::list))
        .routes(routes!(licenses::history))
        .routes(routes!(lifecycle::orders))
        .routes(routes!(lifecycle::subscriptions))
        .routes(routes!(lifecycle::offline_license))
        .routes(routes!(lifecycle::licensing_key))
        .routes(routes!(
            lifecycle::tenant_orders,
            lifecycle::record_tenant_order
        ))
        .routes(routes!(export::export_csv))
        .routes(routes!(connectors::kill))
        .routes(routes!(connectors::sync))
        .routes(routes!(connectors::sync_run))
        .routes(routes!(connectors::list, connectors::create))
        .routes(routes!(connectors::devices))
        .routes(routes!(connectors::remove_device))
        .routes(routes!(connectors::block_device))
        .routes(routes!(connectors::unblock_device))
        .routes(routes!(connectors::set_partners))
        .routes(routes!(connectors::request_diagnostics))
        // The connector protocol (`connector.rs`): its own credential, no session, no token.
        .routes(routes!(connector::register))
        .routes(routes!(connector::heartbeat))
        .routes(routes!(connector::diagnostics))
        .routes(routes!(connector::checks))
        .routes(routes!(connector::usage))
        .routes(routes!(connector::activate))
        .routes(routes!(connector::availability))
        .routes(routes!(connector::update))
        .routes(routes!(connector::transfer))
        .routes(routes!(connector::change_owner))
        .routes(routes!(connector::deactivate))
        .routes(routes!(connector::commands))
        .routes(routes!(connector::ack))
        .routes(routes!(usage::overview))
        .routes(routes!(metered::usage))
        .routes(routes!(metered::months))
        .routes(routes!(metered::loadmasters))
        .routes(routes!(metered::daily))
        .routes(routes!(metered::activations))
        .routes(routes!(metered::export_activations))
        .routes(routes!(metered::unblock))
        .routes(routes!(metered::set_settings))
        .routes(routes!(metered::report))
        .routes(routes!(metered::download_report))
        .routes(routes!(metered::report_pdf))
        .routes(routes!(metered::reporting, metered::set_reporting))
        .routes(routes!(metered::upload_report))
        .routes(routes!(metered::retry_uploads))
        .routes(routes!(usage::export_csv))
        .routes(routes!(usage::entitlement))
        .routes(routes!(usage::sync))
        .routes(routes!(usage::sync_run))
        .routes(routes!(usage::applications, usage::create_application))
        .routes(routes!(usage::quick_map))
        .routes(routes!(usage::delete_application))
        .routes(routes!(usage::map, usage::unmap))
        .routes(routes!(usage::virtual_services))
        .routes(routes!(usage::channels, usage::set_channels))
        .routes(routes!(usage::deliveries))
        .routes(routes!(usage::email_deliveries))
        .routes(routes!(events::list))
        .routes(routes!(export::export_events))
        .routes(routes!(openapi::document))
}

/// Every route of the API as `(method, full path)`, read off the generated document.
pub fn routes() -> Vec<(&'static str, String)> {
    openapi::spec()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [
                ("get", item.get.is_some()),
                ("put", item.put.is_some()),
                ("post", item.post.is_some()),
                ("delete", item.delete.is_some()),
                ("patch", item.patch.is_some()),
            ]
            .into_iter()
            .filter(|(_, present)| *present)
            .map(move |(method, _)| (method, path.clone()))
        })
        .collect()
}

/// The API's routes; `benchmark_baseline` adds the benchmark's bare check and usage handlers
/// (`connector::baseline_checks`, `connector::baseline_usage`), never described or listed.
pub fn router(benchmark_baseline: bool) -> Router<AppState> {
    let (mut router, _) = mounted().split_for_parts();
    if benchmark_baseline {
        router = router
            .route(
                "/connector/baseline/checks",
                post(connector::baseline_checks),
            )
            .route("/connector/baseline/usage", post(connector::baseline_usage));
    }
    router.fallback(|| async { AppError::not_found("This API endpoint") })
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

/// An operator, signed in (operators act above tenants and never with an API token): the
/// first extractor of an operator's route, so anyone else is refused before the body is read.
pub struct Operator(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        principal.require_operator()?;
        Ok(Operator(principal))
    }
}

/// What a REST handler about the caller's own tenant starts from: the portal's state, who is
/// calling, and the query (checked by `reads`; a handler that takes no query never looks).
pub struct Ask {
    pub state: AppState,
    pub caller: Caller,
    query: Result<Params, AppError>,
}

impl FromRequestParts<AppState> for Ask {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let query = Params::from_request_parts(parts, state).await;
        Ok(Ask {
            state: state.clone(),
            caller,
            query,
        })
    }
}

impl std::ops::Deref for Ask {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl Ask {
    /// The tenant to read, if the caller may `permission`; any query parameter is refused.
    pub fn reads(&self, permission: Permission) -> Result<String, AppError> {
        Ok(self.reads_with(&[], permission)?.0)
    }

    /// The tenant and the query, if the query holds only `allowed` parameters and the caller
    /// may `permission`.
    pub fn reads_with(
        &self,
        allowed: &[&str],
        permission: Permission,
    ) -> Result<(String, &Params), AppError> {
        let params = self.query(allowed)?;
        Ok((self.caller.tenant(permission)?, params))
    }

    /// The query, if it holds only `allowed` parameters.
    pub fn query(&self, allowed: &[&str]) -> Result<&Params, AppError> {
        self.query.as_ref().map_err(Clone::clone)?.only(allowed)
    }

    /// The caller as the service layer takes it, if they may do `permission`.
    pub fn authorize(
        &self,
        permission: Permission,
    ) -> Result<bandpool_services::change::Caller, AppError> {
        self.caller.authorize(permission)
    }
}

/// A sync's answer: 202 while it runs, 200 once it has finished.
pub fn sync_answer<T>(running: bool, run: T) -> (StatusCode, Json<T>) {
    let status = if running {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    (status, Json(run))
}

/// The id in a route's path (`{id}`), checked to be a UUID before the handler runs: a
/// malformed one is the 400 `invalid_parameter` that names it and what it should name.
pub struct PathId(pub Id);

/// The two ids in a route's path (`{id}` and `{vs}`), checked like `PathId`.
pub struct PathIds(pub Id, pub Id);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match <[Id; 1]>::try_from(path_ids(parts, state).await?) {
            Ok([id]) => Ok(PathId(id)),
            Err(_) => Err(AppError::internal("a PathId route must have one id")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match <[Id; 2]>::try_from(path_ids(parts, state).await?) {
            Ok([first, second]) => Ok(PathIds(first, second)),
            Err(_) => Err(AppError::internal("a PathIds route must have two ids")),
        }
    }
}

/// Every id in the request's path, in the route's order, each checked.
async fn path_ids<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Vec<Id>, AppError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|rejection| AppError::invalid("path", rejection.body_text()))?;
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_default();
    params
        .iter()
        .map(|(name, value)| Id::parse(name, named(&route, name), value))
        .collect()
}

/// What an id in a route's path names, for the refusal ("is not the id of a license").
fn named(route: &str, parameter: &str) -> &'static str {
    const NAMES: [(&str, &str); 8] = [
        ("/licenses/sync/", "a sync run"),
        ("/entitlements/sync/", "a Sync entitlements run"),
        ("/licenses/", "a license"),
        ("/devices/", "a LoadMaster"),
        ("/connectors/", "a connector"),
        ("/tenants/", "a tenant"),
        ("/applications/", "an application"),
        ("/commands/", "a command"),
    ];
    if parameter == "vs" {
        return "a Virtual Service";
    }
    NAMES
        .into_iter()
        .find(|(part, _)| route.contains(part))
        .map_or("a record", |(_, what)| what)
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

    /// The number `name`, or `default` when it is not given; one that does not parse or is
    /// not `valid` is refused with `refusal`.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        valid: impl Fn(&T) -> bool,
        refusal: &str,
    ) -> Result<T, AppError> {
        match self.0.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .ok()
                .filter(valid)
                .ok_or_else(|| AppError::invalid(name, refusal)),
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        self.0.clone()
    }
}
