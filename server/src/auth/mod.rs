//! Sign-in and who-may-do-what, on the server side.
//!
//! - `handlers`: the /auth/* form endpoints (local sign-in, single sign-on, sign-out,
//!   password reset, invitation acceptance, tenant switch).
//! - `principal`: the middleware that turns a session or a bearer token into a `Principal`.
//! - `guard`: cross-site refusal, security headers, the page gate.
//! - `oidc`: OpenID Connect with PKCE through the oauth2 crate.
//! - `password`: Argon2id. `rate_limit`: attempt counters. `session_store`: sessions in the DB.
//!
//! The policy itself (which role may do what) is `bandpool_domain::auth`.

pub mod guard;
pub mod handlers;
pub mod oidc;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod session_store;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use bandpool_domain::AppError;

/// Attempt limits (settings `rate_*`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sign-in attempts per email address, and per client address, per 15 minutes.
    pub sign_in_per_15_minutes: u32,
    /// Password-reset requests per client address per hour.
    pub password_resets_per_hour: u32,
    /// Requests per API token per minute.
    pub token_requests_per_minute: u32,
    /// Requests with an unknown token per client address per minute.
    pub bad_tokens_per_minute: u32,
}

/// What the auth handlers and middleware share.
pub struct AuthContext {
    pub oidc: Option<oidc::Provider>,
    pub local_accounts: bool,
    pub limits: Limits,
    pub limiter: rate_limit::RateLimiter,
}

impl AuthContext {
    /// Refused as not found (`what`) when this portal has no email + password accounts.
    pub fn local_accounts_for(&self, what: &str) -> Result<(), AppError> {
        if self.local_accounts {
            Ok(())
        } else {
            Err(AppError::not_found(what))
        }
    }

    /// The identity provider; refused as not found when single sign-on is not configured.
    pub fn single_sign_on(&self) -> Result<&oidc::Provider, AppError> {
        self.oidc
            .as_ref()
            .ok_or_else(|| AppError::not_found("Single sign-on"))
    }

    /// Count a wrong secret from `ip` (an unknown API token, connector credential or
    /// registration token, named by `what`): guessing is limited per address.
    pub fn count_bad_guess(&self, what: &str, ip: &str) -> Result<(), AppError> {
        self.limiter.attempt(
            &format!("bad-{what}:{ip}"),
            self.limits.bad_tokens_per_minute,
            Duration::from_secs(60),
        )
    }

    /// Count an attempt at `action` for `email` from `ip`, each with its own counter: the
    /// client address may make three times `limit`, the email address `limit`.
    pub fn count_attempt(
        &self,
        action: &str,
        ip: &str,
        email: &str,
        limit: u32,
        window: Duration,
    ) -> Result<(), AppError> {
        self.limiter.attempt(
            &format!("{action}:ip:{ip}"),
            limit.saturating_mul(3),
            window,
        )?;
        self.limiter
            .attempt(&format!("{action}:email:{email}"), limit, window)
    }
}

/// The client's address (the TCP peer; a proxy in front should be the only peer).
pub fn client_ip(request: &Request) -> String {
    client_ip_of(request.extensions())
}

/// The same, from a request's extensions (extractors see only its parts).
pub fn client_ip_of(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
