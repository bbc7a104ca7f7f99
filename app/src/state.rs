//! What the server hands every request: the database, the clock and the Leptos options.
//! Server functions find it in their context; REST handlers extract it as axum state.

use axum::extract::FromRef;
use bandpool_domain::AppError;
use bandpool_store::{Clock, Db};
use leptos::prelude::*;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub clock: Clock,
}

/// The state, from a server function's context.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the server function context"))
}

impl AppState {
    /// The tenant whose data this request may see. Until sign-in exists, the portal serves
    /// the deployment's first tenant; this is the one place that changes when it does.
    pub async fn tenant_id(&self) -> Result<String, AppError> {
        bandpool_store::tenants::portal_tenant_id(&self.db).await
    }
}

/// Finish a server function. Over HTTP (`/_server/...`), an error's status follows the error
/// (400 for a bad parameter, 404, 503, 500) instead of a blanket 500. Called during a page's
/// server render, it changes nothing: the page shows the error in place and stays a 200.
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let over_http = use_context::<axum::http::request::Parts>()
            .map(|parts| parts.uri.path().starts_with("/_server/"))
            .unwrap_or(false);
        if over_http {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(error.status());
            }
        }
    }
    result
}
