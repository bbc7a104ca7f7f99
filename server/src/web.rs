//! The application: Leptos pages and server functions, the REST API, health, static files,
//! and the middleware around them.

use crate::settings::Settings;
use crate::{api, telemetry};
use app::state::AppState;
use app::{shell, App};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use bandpool_store::{Clock, Db};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/", get(|| async { Redirect::to("/license-repository") }))
        .route("/healthz", get(health))
        .nest("/api/v1", api::router())
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(telemetry::request_id))
        .with_state(state)
}

/// GET /healthz: 200 when the database answers, 503 otherwise.
async fn health(State(db): State<Db>) -> Response {
    match db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn serve(
    settings: Settings,
    db: Db,
    clock: Clock,
) -> Result<(), Box<dyn std::error::Error>> {
    let conf = get_configuration(None)?;
    let leptos_options = conf.leptos_options;
    let addr = leptos_options.site_addr;
    let state = AppState {
        leptos_options,
        db,
        clock,
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(database = %settings.redacted_database_url(), "Bandpool listening on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
