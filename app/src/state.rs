//! What the server hands every request: the database, the clock and the Leptos options.
//! Server functions find it in their context; REST handlers extract it as axum state.

use axum::extract::FromRef;
use bandpool_domain::auth::{Permission, Principal, TenantAccess};
use bandpool_domain::AppError;
use bandpool_store::{Clock, Db};
use leptos::prelude::*;

use crate::mail::Mailer;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub clock: Clock,
    pub mailer: Mailer,
    pub portal: Portal,
    pub connectors: ConnectorSettings,
    pub wakeups: Wakeups,
    /// Where Sync entitlements pulls from.
    pub entitlements: crate::usage::EntitlementSource,
    /// Outbound HTTPS: the upstream licensing service and webhooks.
    pub outbound: crate::usage::Outbound,
}

/// How the portal treats connectors (from settings).
#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    /// A connector silent this long is Down (its licenses enter their grace period).
    pub silence_secs: i64,
    /// How long Sync licenses waits for connectors to answer.
    pub sync_timeout_secs: i64,
}

/// Wakes a connector's waiting command long-poll when a command is queued for it on this
/// instance (other instances' commands are found by the long-poll's own periodic look).
#[derive(Clone, Debug, Default)]
pub struct Wakeups(
    std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Notify>>>,
    >,
);

impl Wakeups {
    /// The connector's bell, made on first use.
    pub fn bell(&self, connector_id: &str) -> std::sync::Arc<tokio::sync::Notify> {
        let mut bells = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bells
            .entry(connector_id.to_string())
            .or_insert_with(|| std::sync::Arc::new(tokio::sync::Notify::new()))
            .clone()
    }

    pub fn ring(&self, connector_id: &str) {
        self.bell(connector_id).notify_waiters();
    }
}

/// How this deployment is reached and how people sign in to it.
#[derive(Clone, Debug)]
pub struct Portal {
    /// The address people use, without a trailing slash (`https://licenses.example.com`);
    /// emailed links start with it.
    pub public_url: String,
    /// Single sign-on is configured.
    pub sso: bool,
    /// Email + password accounts are on.
    pub local_accounts: bool,
}

impl Portal {
    pub fn link(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.public_url.trim_end_matches('/'),
            path_and_query
        )
    }
}

/// The state, from a server function's context.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the server function context"))
}

/// Who is asking: the server's authentication middleware put it in the request.
pub fn principal() -> Result<Principal, AppError> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or(AppError::Unauthenticated)
}

/// The tenant this request may act in for `permission`, or why not. Every server function
/// starts here; the tenant id it returns scopes every query that follows.
pub fn authorize(permission: Permission) -> Result<(Principal, TenantAccess), AppError> {
    let principal = principal()?;
    let tenant = principal.require(permission)?.clone();
    Ok((principal, tenant))
}

/// Finish a server function. Over HTTP (`/_server/...`), an error's status follows the error
/// (400 for a bad parameter, 401, 403, 404, 503, 500) instead of a blanket 500. Called during
/// a page's server render, the page shows the error in place; its status stays 200 except
/// for 401 and 403, so a page refused to a role is refused in its status too.
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let over_http = use_context::<axum::http::request::Parts>()
            .map(|parts| parts.uri.path().starts_with("/_server/"))
            .unwrap_or(false);
        let refusal = matches!(
            error,
            AppError::Unauthenticated | AppError::Forbidden { .. }
        );
        if over_http || refusal {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(error.status());
            }
        }
    }
    result
}

/// Record a change in the event log, inside the transaction that makes it.
pub async fn record_event(
    tx: &mut bandpool_store::WriteTx,
    principal: &Principal,
    tenant_id: Option<&str>,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), AppError> {
    let state = app_state()?;
    bandpool_store::events::record(
        tx,
        bandpool_store::events::NewEvent {
            tenant_id,
            at_ms: state.clock.now().timestamp_millis(),
            actor: &bandpool_store::events::Actor::user(
                &principal.user_id,
                &principal.actor_label(),
            ),
            action,
            target,
            detail,
        },
    )
    .await
}
