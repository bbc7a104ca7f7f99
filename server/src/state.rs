//! What the router hands every request: the service layer and the Leptos options. REST
//! handlers extract it as axum state; pages and server functions find the services in their
//! context (`web::page_context` puts them there).

use axum::extract::FromRef;
use bandpool_services::{Db, Services};
use leptos::prelude::LeptosOptions;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
}

/// Handlers read `state.db`, `state.clock`, ... and pass `&state` where the services are
/// wanted: the state is the services plus what only pages need.
impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.services.db.clone()
    }
}
