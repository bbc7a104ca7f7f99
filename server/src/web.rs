//! The application: Leptos pages and server functions, the REST API, health, static files,
//! and the middleware around them.

use std::collections::HashSet;
use std::sync::Arc;

use crate::auth::guard::{self, AllowedOrigins};
use crate::auth::oidc::{Provider, ProviderSettings};
use crate::auth::{
    handlers, principal, rate_limit::RateLimiter, session_store, AuthContext, Limits,
};
use crate::settings::Settings;
use crate::state::AppState;
use crate::{api, edge, telemetry};
use app::{shell, App};
use axum::extract::State;
use axum::handler::Handler;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Json, Router};
use bandpool_store::{Clock, Db};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Everything a running portal is made of, from settings: the shared state, the mailer,
/// single sign-on, limits. Production (`serve`) and the tests build it the same way.
pub fn build(
    settings: &Settings,
    db: Db,
    clock: Clock,
    leptos_options: LeptosOptions,
) -> Result<Router, String> {
    build_with_state(settings, db, clock, leptos_options).map(|(router, _)| router)
}

/// `build`, also handing back the shared state (the background sweeps run on it).
pub fn build_with_state(
    settings: &Settings,
    db: Db,
    clock: Clock,
    leptos_options: LeptosOptions,
) -> Result<(Router, AppState), String> {
    let public_url = settings.portal.public_url.trim_end_matches('/').to_string();
    let oidc = settings
        .oidc()
        .map(|(issuer, client_id, client_secret)| {
            Provider::new(ProviderSettings {
                issuer,
                client_id,
                client_secret,
                redirect_url: format!("{public_url}/auth/oidc/callback"),
            })
        })
        .transpose()?;
    // With file hashing on, the build's hash file must be there (pages name the files in it).
    let bundle = crate::assets::Bundle::of(&leptos_options)?;
    let state = AppState {
        leptos_options,
        services: settings.services(db, clock)?,
    };
    // Installed before the first request, so every figure is recorded from the start.
    crate::metrics::handle();
    // Every instance sends the mail it queues (its requests never wait on SMTP); the sender
    // starts with the router, so the tests' portals send mail as production does.
    tokio::spawn(crate::sweeps::emails(
        state.services.clone(),
        std::time::Duration::from_secs(settings.webhooks.webhook_sweep_seconds.max(1)),
    ));
    let auth = AuthContext {
        oidc,
        local_accounts: settings.local_accounts(),
        limits: Limits {
            sign_in_per_15_minutes: settings.sign_in.rate_sign_in_per_15_minutes,
            password_resets_per_hour: settings.sign_in.rate_password_resets_per_hour,
            token_requests_per_minute: settings.sign_in.rate_token_requests_per_minute,
            bad_tokens_per_minute: settings.sign_in.rate_bad_tokens_per_minute,
        },
        limiter: RateLimiter::default(),
    };
    Ok((
        router(
            state.clone(),
            auth,
            crate::metrics::Readers::parse(&settings.metrics.metrics_allow)?,
            settings.portal.session_idle_minutes,
            settings.http.benchmark_baseline,
            settings.http_limits(),
            bundle,
        ),
        state,
    ))
}

/// The routes outside the pages, the server functions and the REST API: the way in, health,
/// metrics and the /auth endpoints. The router mounts exactly these; the authorization
/// matrix reads them (`routes`).
pub fn endpoints() -> Vec<api::Endpoint> {
    vec![
        on_get("/", || async { Redirect::to("/license-repository") }),
        on_get("/healthz", health),
        on_get("/metrics", crate::metrics::serve),
        on_post("/auth/sign-in", handlers::sign_in),
        on_get("/auth/sso", handlers::sso_start),
        on_get("/auth/oidc/callback", handlers::sso_callback),
        on_post("/auth/sign-out", handlers::sign_out),
        on_post("/auth/sign-out-everywhere", handlers::sign_out_everywhere),
        on_post("/auth/forgot-password", handlers::forgot_password),
        on_post("/auth/reset-password", handlers::reset_password),
        on_post("/auth/invitation", handlers::accept_invitation),
        on_post("/auth/tenant", handlers::switch_tenant),
        on_get("/live", crate::live::stream),
        on_post("/license-repository/columns", crate::forms::choose_columns),
    ]
}

// The method is named once: the route list's name and the router's method come from it.
fn on_get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> api::Endpoint {
    ("get", path, get(handler))
}

fn on_post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> api::Endpoint {
    ("post", path, post(handler))
}

/// Every route the portal serves, as `(method, path)`: pages, server functions, the REST
/// API and `endpoints`. The authorization matrix must list each.
pub fn routes() -> Vec<(String, String)> {
    let pages = page_routes()
        .into_iter()
        .map(|page| ("get".to_string(), page.path().to_string()));
    let functions = server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.as_str().to_lowercase(), path.to_string()));
    let rest = api::routes()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path));
    let others = endpoints()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()));
    pages.chain(functions).chain(rest).chain(others).collect()
}

fn router(
    state: AppState,
    auth: AuthContext,
    readers: crate::metrics::Readers,
    session_idle_minutes: i64,
    benchmark_baseline: bool,
    limits: edge::Limits,
    bundle: Option<crate::assets::Bundle>,
) -> Router {
    let routes = page_routes();
    let pages: HashSet<String> = routes.iter().map(|r| r.path().to_string()).collect();
    let options = state.leptos_options.clone();
    // The browser bundle (content-hashed, precompressed, cached for a year) under /pkg; the
    // site's other files and the not-found page through Leptos's handler (`assets`).
    let bundle_path = format!("/{}", options.site_pkg_dir);
    let bundle_files = crate::assets::bundle_files(&options, bundle.as_ref());
    let site_files = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        page_context(state.clone()),
        shell,
    );
    let secure = state.portal.public_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(session_store::DbSessionStore::new(state.db.clone()))
        .with_name("bandpool_session")
        .with_http_only(true)
        // Lax: the cookie comes back with the identity provider's top-level redirect to
        // the callback, and with nothing cross-site that changes state.
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            session_idle_minutes.max(1),
        )));
    let allowed = AllowedOrigins::new(&state.portal.public_url);
    endpoints()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
        .nest(api::PREFIX, api::router(benchmark_baseline))
        .leptos_routes_with_context(&state, routes, page_context(state.clone()), move || {
            shell(options.clone())
        })
        // Matched routes only, so each request is counted under its route's pattern.
        .route_layer(middleware::from_fn(crate::metrics::count_requests))
        .nest_service(&bundle_path, bundle_files)
        .fallback(
            move |uri: Uri, state: State<AppState>, request: axum::extract::Request| {
                let site_files = site_files.clone();
                async move { crate::assets::site_file(site_files(uri, state, request).await) }
            },
        )
        .layer(middleware::from_fn(guard::page_gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            principal::resolve,
        ))
        // Inside the sessions (the flash lives there), behind the same-origin guard.
        .layer(middleware::from_fn(crate::forms::plain_forms))
        .layer(middleware::from_fn(guard::same_origin))
        .layer(sessions)
        .layer(middleware::from_fn(edge::guard_input))
        .layer(Extension(Arc::new(auth)))
        .layer(Extension(Arc::new(allowed)))
        .layer(Extension(Arc::new(pages)))
        .layer(Extension(Arc::new(readers)))
        // `edge::guard_input` has read every body whole under `http_max_body_bytes`; the
        // extractors need no limit of their own.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn(edge::stable_refusals))
        .layer(Extension(Arc::new(limits)))
        // Outside `stable_refusals`, which reads some bodies; pages, JSON and CSV only.
        .layer(crate::assets::compression())
        .layer(middleware::from_fn(guard::security_headers))
        .layer(middleware::from_fn(telemetry::request_id))
        .with_state(state)
}

/// The portal's page routes, generated once per process. Generating them renders the app
/// with resource loading switched off process-wide (leptos-rs/leptos#4773): a page render
/// that started loading data in another task at that moment would wait forever. Built once,
/// before the first router exists, no render can ever overlap it; every router (and the
/// tests' authorization matrix) reads this list.
pub fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// What every page render finds in its context: the services, and this response's nonce (made
/// by `guard::security_headers`, which names it in the page's Content-Security-Policy).
fn page_context(state: AppState) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(state.services.clone());
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<guard::PageNonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    }
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
    let mut leptos_options = conf.leptos_options;
    // The release build's content-hashed file names, from its hash file beside this binary.
    crate::assets::settle(&mut leptos_options);
    crate::assets::report(&leptos_options);
    let addr = leptos_options.site_addr;
    let (app, state) = build_with_state(&settings, db.clone(), clock.clone(), leptos_options)?;
    // Every ten minutes: an expired session is refused when loaded anyway; deleting them
    // only keeps the table small.
    tokio::spawn(crate::sweeps::expired_sessions(
        db,
        std::time::Duration::from_secs(600),
    ));
    tokio::spawn(crate::sweeps::webhook_deliveries(
        state.services.clone(),
        std::time::Duration::from_secs(settings.webhooks.webhook_sweep_seconds.max(1)),
    ));
    // Hourly: samples expire by the day, so a finer sweep would find nothing new.
    tokio::spawn(crate::sweeps::expired_samples(
        state.services.clone(),
        std::time::Duration::from_secs(3600),
    ));
    tokio::spawn(crate::sweeps::connector_health(
        state.services,
        std::time::Duration::from_secs(settings.connectors.health_sweep_seconds.max(1)),
    ));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        database = %settings.redacted_database_url(),
        public_url = %settings.portal.public_url,
        single_sign_on = settings.oidc().is_some(),
        local_accounts = settings.local_accounts(),
        "Bandpool listening on http://{addr}"
    );
    edge::serve(listener, app, &settings.http_limits(), shutdown_signal()).await?;
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
