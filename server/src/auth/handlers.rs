//! The /auth/* endpoints. They are HTML form targets (the sign-in, reset and invitation
//! pages post here, with or without JavaScript) and answer with a redirect; a refusal is
//! its error's status (401, 410, 429 with Retry-After, ...) with a short page for a
//! browser or the `{code, message}` body for anything else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{ACCEPT, CONTENT_SECURITY_POLICY, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use bandpool_domain::auth::{check_new_password, normalize_email, Principal};
use bandpool_domain::AppError;
use bandpool_services::{Actor, Event};
use bandpool_store::{accounts, sessions};
use tower_sessions::Session;

use super::guard::safe_next;
use super::oidc::PendingSignIn;
use super::principal::start_session;
use super::session_store::{session_error, TENANT_ID};
use super::{password, AuthContext};

type Fields = Form<HashMap<String, String>>;

const PENDING_SSO: &str = "pending_sso";

/// The client's address, for rate limits.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(super::client_ip_of(&parts.extensions)))
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A refusal: the error's status; a short page for browsers, the JSON body otherwise.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

fn refuse(headers: &HeaderMap, error: AppError) -> Response {
    if !wants_html(headers) {
        return error.into_response();
    }
    // Back to the form that was sent (its link, token and `next` kept), when it was this site's.
    let form = same_site_referer(headers);
    let (back, label) = match (&error, form) {
        (AppError::LinkExpired, _) => ("/forgot-password".to_string(), "Ask for a new link"),
        (AppError::SignInFailed { .. }, _) => ("/sign-in".to_string(), "Back to sign-in"),
        (AppError::InvalidCredentials | AppError::RateLimited { .. }, form) => (
            form.unwrap_or_else(|| "/sign-in".to_string()),
            "Back to sign-in",
        ),
        (_, Some(form)) => (form, "Back to the form"),
        (_, None) => ("/sign-in".to_string(), "Back to sign-in"),
    };
    let back = html_escape(&back);
    let message = html_escape(&error.to_string());
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bandpool: {code}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">\
         <link rel=\"stylesheet\" href=\"/pkg/bandpool.css\"></head><body><main class=\"auth-page\">\
         <h1>That did not work</h1><p class=\"error-note\" role=\"alert\" data-code=\"{code}\">{message}</p>\
         <p><a href=\"{back}\">{label}</a></p></main></body></html>",
        code = error.code(),
    );
    let mut response = (error.status(), Html(page)).into_response();
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    if let AppError::RateLimited { retry_after } = error {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}

/// The path and query of the page that sent this request, when that page is on this site.
fn same_site_referer(headers: &HeaderMap) -> Option<String> {
    let referer = url::Url::parse(headers.get(axum::http::header::REFERER)?.to_str().ok()?).ok()?;
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let referer_host = match referer.port() {
        Some(port) => format!("{}:{port}", referer.host_str()?),
        None => referer.host_str()?.to_string(),
    };
    if !referer_host.eq_ignore_ascii_case(host) {
        return None;
    }
    let mut back = referer.path().to_string();
    if let Some(query) = referer.query() {
        back.push('?');
        back.push_str(query);
    }
    Some(super::guard::safe_next(Some(&back)))
}

/// A form's answer: a 303 to where it leads, or the refusal.
fn answer(headers: &HeaderMap, result: Result<String, AppError>) -> Response {
    match result {
        Ok(to) => see_other(&to),
        Err(error) => refuse(headers, error),
    }
}

/// A form's answer when it leads to one page.
fn answer_to(headers: &HeaderMap, result: Result<(), AppError>, to: &str) -> Response {
    answer(headers, result.map(|()| to.to_string()))
}

/// Who is signed in, for the forms that need someone.
fn signed_in(principal: Option<Extension<Principal>>) -> Result<Principal, AppError> {
    principal
        .map(|Extension(p)| p)
        .ok_or(AppError::Unauthenticated)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Sign a known user in: fresh session id, first tenant, last sign-in time, event.
async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    user_id: &str,
    email: &str,
    tenant_id: Option<&str>,
    how: &str,
) -> Result<(), AppError> {
    let tenant = match tenant_id {
        Some(t) => Some(t.to_string()),
        None => accounts::tenants_of(&state.db, user_id)
            .await?
            .into_iter()
            .next()
            .map(|t| t.tenant_id),
    };
    start_session(session, user_id, tenant.as_deref()).await?;
    let now = state.clock.now_ts();
    state
        .change_for_person(Some(user_id), &Actor::user(user_id, email), async |tx| {
            accounts::mark_signed_in(tx, user_id, now).await?;
            Ok(((), Event::new("sign_in", email, how)))
        })
        .await
}

/// POST /auth/sign-in: email + password (local accounts).
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let result = async {
        auth.local_accounts_for("Sign-in with a password")?;
        let email =
            normalize_email(field(&form, "email")).map_err(|_| AppError::InvalidCredentials)?;
        let limit = auth.limits.sign_in_per_15_minutes;
        auth.count_attempt("sign-in", &ip, &email, limit, Duration::from_secs(15 * 60))?;
        let user = accounts::user_by_email(&state.db, &email).await?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_text = field(&form, "password")
            .chars()
            .take(256)
            .collect::<String>();
        if !password::verify(password_text, stored).await? {
            let event = Event::new("sign_in_failed", email.clone(), "wrong email or password");
            state
                .change_for_person(
                    user.as_ref().map(|u| u.id.as_str()),
                    &Actor::anonymous(&email),
                    async |_| Ok(((), event)),
                )
                .await?;
            return Err(AppError::InvalidCredentials);
        }
        let user = user.expect("verified against a stored hash");
        complete_sign_in(&state, &session, &user.id, &user.email, None, "password").await?;
        Ok(safe_next(form.get("next").map(String::as_str)))
    }
    .await;
    match result {
        // A browser goes back to the sign-in form it came from, told why, its email kept.
        Err(error @ (AppError::InvalidCredentials | AppError::RateLimited { .. }))
            if wants_html(&headers) && same_site_referer(&headers).is_some() =>
        {
            let mut flash = app::functions::session::Flash::error(error.to_string());
            flash.kept = Some(field(&form, "email").chars().take(254).collect());
            let back = same_site_referer(&headers).unwrap_or_else(|| "/sign-in".to_string());
            crate::forms::leave(&session, flash, &back).await;
            see_other(&back)
        }
        result => answer(&headers, result),
    }
}

/// GET /auth/sso?next=...&invitation=...: leave for the identity provider.
pub async fn sso_start(
    Extension(auth): Extension<Arc<AuthContext>>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let provider = auth.single_sign_on()?;
        let next = safe_next(query.get("next").map(String::as_str));
        let invitation = query.get("invitation").filter(|v| !v.is_empty()).cloned();
        let (url, pending) = provider.start(next, invitation).await?;
        session
            .insert(PENDING_SSO, &pending)
            .await
            .map_err(session_error)?;
        Ok(url)
    }
    .await;
    answer(&headers, result)
}

/// GET /auth/oidc/callback?code=...&state=...: the provider sends the browser back.
pub async fn sso_callback(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let provider = auth.single_sign_on()?;
        let pending: PendingSignIn = session
            .remove(PENDING_SSO)
            .await
            .map_err(session_error)?
            .ok_or_else(|| {
                AppError::sign_in_failed("this browser did not start a sign-in, or it was already used")
            })?;
        if let Some(error) = query.get("error") {
            let description = query.get("error_description").cloned().unwrap_or_default();
            return Err(AppError::sign_in_failed(format!("the identity provider said {error}: {description}")));
        }
        let code = query.get("code").ok_or_else(|| AppError::sign_in_failed("no code came back"))?;
        let returned_state = query.get("state").map(String::as_str).unwrap_or("");
        let identity = provider.finish(&pending, code, returned_state).await?;
        let now = state.clock.now_ts();
        let verified_email = identity.email.clone().filter(|_| identity.email_verified);

        // An invitation being accepted through single sign-on: the verified email must be
        // the invited one.
        if let Some(link) = &pending.invitation {
            let invitation = accounts::open_invitation(&state.db, link, now).await?;
            if verified_email.as_deref() != Some(invitation.email.as_str()) {
                return Err(AppError::sign_in_failed(format!(
                    "the invitation is for {}, and the provider signed you in with a different or unverified address",
                    invitation.email
                )));
            }
            let mut tx = state.db.begin_write().await?;
            let user_id = accounts::ensure_user(&mut tx, &invitation.email, now).await?;
            accounts::link_subject(&mut tx, &user_id, &identity.issuer, &identity.subject).await?;
            accounts::accept_invitation(&mut tx, &invitation, &user_id, now).await?;
            record_accepted(&mut tx, &state, &invitation, &user_id).await?;
            tx.commit().await?;
            complete_sign_in(&state, &session, &user_id, &invitation.email, Some(&invitation.tenant_id), "single sign-on").await?;
            return Ok(pending.next);
        }

        let mut user = accounts::user_by_subject(&state.db, &identity.issuer, &identity.subject).await?;
        if user.is_none() {
            if let Some(email) = &verified_email {
                if let Some(found) = accounts::user_by_email(&state.db, email).await? {
                    if found.oidc_subject.is_none() {
                        let mut tx = state.db.begin_write().await?;
                        accounts::link_subject(&mut tx, &found.id, &identity.issuer, &identity.subject).await?;
                        tx.commit().await?;
                        user = Some(found);
                    }
                }
            }
        }
        let Some(user) = user else {
            let label = identity.email.clone().unwrap_or_else(|| identity.subject.clone());
            let event = Event::new("sign_in_failed", label.clone(), "single sign-on: no matching account");
            state.change_for_person(None, &Actor::anonymous(&label), async |_| Ok(((), event))).await?;
            return Err(AppError::sign_in_failed(format!(
                "there is no Bandpool account for {label}{}; ask a tenant Owner for an invitation",
                if identity.email.is_some() && !identity.email_verified { " (the provider has not verified that address)" } else { "" }
            )));
        };
        complete_sign_in(&state, &session, &user.id, &user.email, None, "single sign-on").await?;
        Ok(pending.next)
    }
    .await;
    answer(&headers, result)
}

async fn record_accepted(
    tx: &mut bandpool_store::WriteTx,
    state: &AppState,
    invitation: &accounts::OpenInvitation,
    user_id: &str,
) -> Result<(), AppError> {
    let scope = bandpool_services::change::Scope {
        actor: &Actor::user(user_id, &invitation.email),
        tenant_id: Some(&invitation.tenant_id),
    };
    let detail = format!("joined as {}", invitation.role.label());
    let event = Event::new("invitation_accepted", invitation.email.clone(), detail);
    state.record(tx, &scope, &event).await
}

/// POST /auth/sign-out: end this session.
pub async fn sign_out(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if let Some(Extension(p)) = &principal {
            let event = Event::new("sign_out", p.email.clone(), "");
            state
                .change_for_person(
                    Some(&p.user_id),
                    &Actor::user(&p.user_id, &p.email),
                    async |_| Ok(((), event)),
                )
                .await?;
        }
        session.flush().await.map_err(session_error)?;
        Ok(())
    }
    .await;
    answer_to(&headers, result, "/sign-in?signed_out=1")
}

/// POST /auth/sign-out-everywhere: end every session of this person, on every device.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let p = signed_in(principal)?;
        state
            .change_for_person(
                Some(&p.user_id),
                &Actor::user(&p.user_id, &p.email),
                async |tx| {
                    let ended = sessions::delete_for_user(tx, &p.user_id).await?;
                    let event = Event::new(
                        "sign_out_everywhere",
                        p.email.clone(),
                        format!("{ended} sessions ended"),
                    );
                    Ok(((), event))
                },
            )
            .await?;
        session.flush().await.map_err(session_error)
    }
    .await;
    answer_to(&headers, result, "/sign-in?signed_out=everywhere")
}

/// POST /auth/forgot-password: email a single-use link, if the address has a password.
/// The answer is the same whether or not it does.
pub async fn forgot_password(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let result = async {
        auth.local_accounts_for("Password reset")?;
        let email = normalize_email(field(&form, "email"))?;
        let limit = auth.limits.password_resets_per_hour;
        auth.count_attempt("reset", &ip, &email, limit, Duration::from_secs(3600))?;
        bandpool_services::people::request_password_reset(&state, &email).await
    }
    .await;
    answer_to(&headers, result, "/forgot-password?sent=1")
}

/// POST /auth/reset-password: token + new password. Ends every session of the person.
pub async fn reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let result = async {
        let new_password = field(&form, "password");
        check_new_password(new_password)?;
        if new_password != field(&form, "confirm") {
            return Err(AppError::invalid("confirm", "does not match the password"));
        }
        let hash = password::hash(new_password.to_string()).await?;
        let now = state.clock.now_ts();
        let token = field(&form, "token");
        // Who the link belongs to is known only inside the transaction that uses it, so
        // the event (its actor included) is recorded there too.
        let mut tx = state.db.begin_write().await?;
        let user_id = accounts::use_password_reset(&mut tx, token, now).await?;
        accounts::set_password_hash(&mut tx, &user_id, &hash).await?;
        sessions::delete_for_user(&mut tx, &user_id).await?;
        let email = accounts::user_by_id(&mut tx, &user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let actor = Actor::user(&user_id, &email);
        let event = Event::new("password_reset", email.clone(), "every session ended");
        state
            .record_for_person(&mut tx, Some(&user_id), &actor, &event)
            .await?;
        tx.commit().await
    }
    .await;
    answer_to(&headers, result, "/sign-in?reset=1")
}

/// POST /auth/invitation: accept an invitation with a password (local accounts). A new
/// person chooses a password; someone with an account proves it with theirs.
pub async fn accept_invitation(
    State(state): State<AppState>,
    Extension(auth): Extension<Arc<AuthContext>>,
    session: Session,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let result = async {
        auth.local_accounts_for("Accepting with a password")?;
        let now = state.clock.now_ts();
        let invitation = accounts::open_invitation(&state.db, field(&form, "token"), now).await?;
        let password_text = field(&form, "password").to_string();
        let existing = accounts::user_by_email(&state.db, &invitation.email).await?;
        let new_hash = match existing.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(stored) => {
                auth.limiter.attempt(
                    &format!("sign-in:email:{}", invitation.email),
                    auth.limits.sign_in_per_15_minutes,
                    Duration::from_secs(15 * 60),
                )?;
                if !password::verify(password_text, Some(stored)).await? {
                    return Err(AppError::InvalidCredentials);
                }
                None
            }
            None => {
                check_new_password(&password_text)?;
                if password_text != field(&form, "confirm") {
                    return Err(AppError::invalid("confirm", "does not match the password"));
                }
                Some(password::hash(password_text).await?)
            }
        };
        let mut tx = state.db.begin_write().await?;
        let user_id = accounts::ensure_user(&mut tx, &invitation.email, now).await?;
        if let Some(hash) = &new_hash {
            accounts::set_password_hash(&mut tx, &user_id, hash).await?;
        }
        accounts::accept_invitation(&mut tx, &invitation, &user_id, now).await?;
        record_accepted(&mut tx, &state, &invitation, &user_id).await?;
        tx.commit().await?;
        complete_sign_in(
            &state,
            &session,
            &user_id,
            &invitation.email,
            Some(&invitation.tenant_id),
            "invitation",
        )
        .await
    }
    .await;
    answer_to(&headers, result, "/license-repository")
}

/// POST /auth/tenant: show another of my tenants.
pub async fn switch_tenant(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    session: Session,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let result = async {
        let p = signed_in(principal)?;
        let tenant_id = field(&form, "tenant_id");
        accounts::access_to(&state.db, &p.user_id, tenant_id)
            .await?
            .ok_or_else(|| AppError::not_found("The tenant"))?;
        session
            .insert(TENANT_ID, tenant_id)
            .await
            .map_err(session_error)
    }
    .await;
    answer_to(&headers, result, "/license-repository")
}
