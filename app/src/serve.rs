//! Server only: how a server function reaches the service layer. Every server function is
//! one call to `tenant` (`tenant_read` for a plain read), `operator` or `anyone`: they find
//! the services and the principal in the request's context, authorize, run the body and give
//! the answer its status, so a server function cannot forget either step.

use bandpool_domain::auth::{Permission, Principal};
use bandpool_domain::AppError;
use bandpool_services::change::Caller;
use bandpool_services::{Db, Services};
use leptos::prelude::*;

/// The services, from a server function's context (the server's page context puts them
/// there).
fn services() -> Result<Services, AppError> {
    use_context::<Services>()
        .ok_or_else(|| AppError::internal("Services missing from the server function context"))
}

/// Who is asking: the server's authentication middleware put it in the request.
pub fn principal() -> Result<Principal, AppError> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or(AppError::Unauthenticated)
}

/// A server function acting in the caller's tenant with `permission`; every query the body
/// runs is scoped by the caller's tenant id.
pub async fn tenant<T>(
    permission: Permission,
    body: impl AsyncFnOnce(&Services, &Caller) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let result = async {
        let caller = Caller::authorize(&principal()?, permission)?;
        body(&services()?, &caller).await
    }
    .await;
    answer(result)
}

/// A server function that only reads the caller's tenant with `permission`: `read` gets the
/// database and the tenant id, as the REST API's `Ask::reads` gives its handlers.
pub async fn tenant_read<T>(
    permission: Permission,
    read: impl AsyncFnOnce(&Db, &str) -> Result<T, AppError>,
) -> Result<T, AppError> {
    tenant(permission, async |services, caller| {
        read(&services.db, caller.tenant_id()).await
    })
    .await
}

/// A server function for operators only (the Tenants pages).
pub async fn operator<T>(
    body: impl AsyncFnOnce(&Services, &Principal) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let result = async {
        let principal = principal()?;
        principal.require_operator()?;
        body(&services()?, &principal).await
    }
    .await;
    answer(result)
}

/// A server function anyone may call (the sign-in pages, the session header).
pub async fn anyone<T>(
    body: impl AsyncFnOnce(&Services) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let result = async { body(&services()?).await }.await;
    answer(result)
}

/// Over HTTP (`/_server/...`), an error's status follows the error (400 for a bad
/// parameter, 401, 403, 404, 503, 500) instead of a blanket 500. Called during a page's
/// server render, the page shows the error in place; its status stays 200 except for 401
/// and 403, so a page refused to a role is refused in its status too.
fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
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

/// What a server function posted by a plain form (every form outside an island) leaves for
/// the page it returns to. The server's form middleware puts an empty one in the request,
/// then moves the flash into the session and sends the browser to `next` (or back where the
/// form was). Over `fetch` there is none: the answer's body says it all.
#[derive(Clone, Default)]
pub struct FormOutcome(pub std::sync::Arc<std::sync::Mutex<FormReply>>);

#[derive(Debug, Default)]
pub struct FormReply {
    pub flash: Option<crate::functions::session::Flash>,
    /// Where to go instead of back (a sync's progress).
    pub next: Option<String>,
}

impl FormOutcome {
    pub fn take(&self) -> FormReply {
        self.0
            .lock()
            .map(|mut reply| std::mem::take(&mut *reply))
            .unwrap_or_default()
    }
}

fn reply(change: impl FnOnce(&mut FormReply)) {
    let slot = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<FormOutcome>().cloned());
    if let Some(slot) = slot {
        if let Ok(mut reply) = slot.0.lock() {
            change(&mut reply);
        }
    }
}

/// Tell the person, on the page a plain form returns to, what the change did.
pub fn notice(text: impl Into<String>) {
    let flash = crate::functions::session::Flash::notice(text);
    reply(|r| r.flash = Some(flash));
}

/// `notice`, with a secret shown that once (and a line on how to use it).
pub fn secret_once(text: impl Into<String>, secret: String, hint: impl Into<String>) {
    let flash = crate::functions::session::Flash {
        secret: Some(secret),
        hint: Some(hint.into()),
        ..crate::functions::session::Flash::notice(text)
    };
    reply(|r| r.flash = Some(flash));
}

/// `notice`, with a longer text shown that once to copy (a license text).
pub fn text_once(text: impl Into<String>, body: String) {
    let flash = crate::functions::session::Flash {
        secret: Some(body),
        ..crate::functions::session::Flash::notice(text)
    };
    reply(|r| r.flash = Some(flash));
}

/// After a plain form, go to `path` (a page of this portal) instead of back.
pub fn go_to(path: String) {
    reply(|r| r.next = Some(path));
}

/// The flash the page's request carries (the form middleware took it from the session).
pub fn flash() -> Option<crate::functions::session::Flash> {
    use_context::<axum::http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<crate::functions::session::Flash>()
            .cloned()
    })
}
