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
