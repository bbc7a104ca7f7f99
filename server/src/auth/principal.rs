//! Who is asking, decided once per request before any handler runs: an API token
//! (`Authorization: Bearer`, REST only) or the session cookie. The result, a `Principal`,
//! goes into the request's extensions, where REST handlers (`api::Caller`), server
//! functions (`app::serve`) and the page gate find it.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bandpool_domain::auth::{Credential, Principal, TenantAccess};
use bandpool_domain::AppError;
use bandpool_store::{accounts, tokens};
use tower_sessions::Session;

use super::{client_ip, AuthContext};

/// Where connectors call; their credential is checked by the connector API itself.
pub const CONNECTOR_API: &str = "/api/v1/connector/";

use super::session_store::{session_error, TENANT_ID, USER_ID};

const SEEN_AT: &str = "seen_at";

/// A session is written back at most this often just to keep it alive, so a busy page
/// does not write its session on every request.
const TOUCH_EVERY_SECS: i64 = 60;

pub async fn resolve(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<Arc<AuthContext>>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    // The connector API authenticates connectors itself (`api::connector::Connector`):
    // no session and no API token ever act there.
    if request.uri().path().starts_with(CONNECTOR_API) {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("").to_string());
    let principal = match bearer {
        Some(header) if request.uri().path().starts_with("/api/") => {
            match from_token(&state, &auth, &header, &client_ip(&request)).await {
                Ok(principal) => Some(principal),
                Err(error) => {
                    let mut response = error.into_response();
                    response.headers_mut().insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"bandpool\""),
                    );
                    return response;
                }
            }
        }
        _ => match from_session(&state, &session).await {
            Ok(principal) => principal,
            Err(error) => return error.into_response(),
        },
    };
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    next.run(request).await
}

async fn from_token(
    state: &AppState,
    auth: &AuthContext,
    header: &str,
    ip: &str,
) -> Result<Principal, AppError> {
    let secret = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .ok_or(AppError::InvalidToken)?;
    let now = state.clock.now_ts();
    let Some(grant) = tokens::authenticate(&state.db, secret, now).await? else {
        auth.count_bad_guess("token", ip)?;
        return Err(AppError::InvalidToken);
    };
    auth.limiter.attempt(
        &format!("token:{}", grant.token_id),
        auth.limits.token_requests_per_minute,
        Duration::from_secs(60),
    )?;
    if grant
        .last_used_at
        .is_none_or(|at| now - at >= TOUCH_EVERY_SECS)
    {
        tokens::touch(&state.db, &grant.token_id, now).await?;
    }
    Ok(Principal {
        user_id: grant.user_id,
        email: grant.email,
        operator: false,
        tenant: Some(TenantAccess {
            tenant_id: grant.tenant_id,
            tenant_name: grant.tenant_name,
            role: grant.role,
        }),
        credential: Credential::Token {
            token_id: grant.token_id,
            scope: grant.scope,
        },
    })
}

async fn from_session(state: &AppState, session: &Session) -> Result<Option<Principal>, AppError> {
    let Some(user_id) = session
        .get::<String>(USER_ID)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    let Some(user) = accounts::user_by_id(&state.db, &user_id).await? else {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    };
    let chosen = session
        .get::<String>(TENANT_ID)
        .await
        .map_err(session_error)?;
    let mut tenant = match &chosen {
        Some(tenant_id) => accounts::access_to(&state.db, &user.id, tenant_id).await?,
        None => None,
    };
    if tenant.is_none() {
        // Removed from the chosen tenant (or none chosen yet): fall back to the first.
        tenant = accounts::tenants_of(&state.db, &user.id)
            .await?
            .into_iter()
            .next();
        if let Some(t) = &tenant {
            session
                .insert(TENANT_ID, &t.tenant_id)
                .await
                .map_err(session_error)?;
        }
    }
    let now = state.clock.now_ts();
    let seen: Option<i64> = session.get(SEEN_AT).await.map_err(session_error)?;
    if seen.is_none_or(|at| now - at >= TOUCH_EVERY_SECS) {
        session.insert(SEEN_AT, now).await.map_err(session_error)?;
    }
    Ok(Some(Principal {
        user_id: user.id,
        email: user.email,
        operator: user.operator,
        tenant,
        credential: Credential::Session,
    }))
}

/// Start a signed-in session: a fresh session id (so one planted before sign-in is
/// worthless), the user, and the tenant to show first.
pub async fn start_session(
    session: &Session,
    user_id: &str,
    tenant_id: Option<&str>,
) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session.clear().await;
    session
        .insert(USER_ID, user_id)
        .await
        .map_err(session_error)?;
    if let Some(tenant_id) = tenant_id {
        session
            .insert(TENANT_ID, tenant_id)
            .await
            .map_err(session_error)?;
    }
    Ok(())
}
