//! Plain forms. Every form outside an island posts as HTML to a server function (or to a
//! portal endpoint) and the browser follows a redirect: back to the page it came from, or to
//! the `_next` page the form names, or where the server function sent it (a sync's
//! progress). What the change said travels in the session as a flash and shows once, at the
//! top of that page. A refused form returns to its own page with the reason, for a person,
//! never a code.

use std::collections::HashSet;
use std::sync::Arc;

use app::functions::session::Flash;
use app::serve::FormOutcome;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bandpool_domain::error::ErrorBody;
use tower_sessions::Session;

/// Where the flash waits in the session between the post and the page.
const FLASH_KEY: &str = "flash";

/// How long a flash waits for its page: the browser follows the redirect at once.
const FLASH_WAITS: std::time::Duration = std::time::Duration::from_secs(60);

/// A flash in the session, for the page the form's redirect leads to. Another page of the
/// same session rendered meanwhile (another tab) leaves it there, and another form's flash
/// waits beside it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Waiting {
    flash: Flash,
    /// The address (path and query) of the page that shows it.
    page: String,
    /// Unix milliseconds after which it is dropped unseen.
    until_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The largest error body read back from a refused server function (they are a few hundred
/// bytes).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub async fn plain_forms(request: Request, next: Next) -> Response {
    if is_plain_form_post(&request) {
        return answer_form(request, next).await;
    }
    let mut request = request;
    if is_page(&request) {
        if let Some(session) = request.extensions().get::<Session>().cloned() {
            let page = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            if let Some(flash) = take_for(&session, &page).await {
                request.extensions_mut().insert(flash);
            }
        }
    }
    next.run(request).await
}

/// The flash waiting for the page at `page`, taken out of the session. Flashes past their
/// time are dropped; ones for other pages stay, so two tabs that post forms at the same time
/// each find their own.
async fn take_for(session: &Session, page: &str) -> Option<Flash> {
    let waiting = session.get::<Vec<Waiting>>(FLASH_KEY).await.ok()??;
    let now = now_ms();
    let before = waiting.len();
    let mut waiting: Vec<Waiting> = waiting.into_iter().filter(|w| w.until_ms >= now).collect();
    let taken = waiting
        .iter()
        .position(|w| w.page == page)
        .map(|at| waiting.remove(at).flash);
    if taken.is_some() || waiting.len() != before {
        let kept = if waiting.is_empty() {
            session.remove::<Vec<Waiting>>(FLASH_KEY).await.map(|_| ())
        } else {
            session.insert(FLASH_KEY, waiting).await
        };
        if let Err(error) = kept {
            tracing::warn!(%error, "could not update the waiting form messages");
        }
    }
    taken
}

/// At most this many flashes wait in one session (the oldest goes first); a person has a
/// few tabs, not dozens.
const FLASHES_WAITING: usize = 8;

/// Leave `flash` for the page at `to` (a path and query of this portal), where the browser
/// goes next (the /auth endpoints use it too).
pub async fn leave(session: &Session, flash: Flash, to: &str) {
    let now = now_ms();
    let mut waiting: Vec<Waiting> = session
        .get::<Vec<Waiting>>(FLASH_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    waiting.retain(|w| w.until_ms >= now);
    if waiting.len() >= FLASHES_WAITING {
        waiting.remove(0);
    }
    waiting.push(Waiting {
        flash,
        page: to.split('#').next().unwrap_or("/").to_string(),
        until_ms: now + FLASH_WAITS.as_millis() as i64,
    });
    if let Err(error) = session.insert(FLASH_KEY, waiting).await {
        tracing::warn!(%error, "could not keep a form's message for its page");
    }
}

/// A browser's form post to a server function: it asks for HTML, not JSON.
fn is_plain_form_post(request: &Request) -> bool {
    request.method() == Method::POST
        && request.uri().path().starts_with("/_server/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

fn is_page(request: &Request) -> bool {
    if request.method() != Method::GET {
        return false;
    }
    let path = request.uri().path();
    request
        .extensions()
        .get::<Arc<HashSet<String>>>()
        .is_some_and(|pages| {
            pages.contains(path)
                || pages
                    .iter()
                    .any(|page| crate::auth::guard::matches_page(page, path))
        })
}

async fn answer_form(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // The edge has already read the body whole under the size limit.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let asked_next = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "_next")
        .map(|(_, value)| value.into_owned())
        .filter(|path| is_local(path));
    let back = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(local_part);
    let session = parts.extensions.get::<Session>().cloned();
    let outcome = FormOutcome::default();
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(outcome.clone());
    let response = next.run(request).await;

    let status = response.status();
    let reply = outcome.take();
    let (flash, target) = if status.is_client_error() || status.is_server_error() {
        let body = axum::body::to_bytes(response.into_body(), ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        let text = serde_json::from_slice::<ErrorBody>(&body)
            .map(|error| error.for_person())
            .unwrap_or_else(|_| "That did not work; nothing was changed. Try again.".into());
        (Some(Flash::error(text)), back)
    } else {
        (reply.flash, reply.next.or(asked_next).or(back))
    };
    let target = target.unwrap_or_else(|| "/".to_string());
    if let (Some(session), Some(flash)) = (session, flash) {
        leave(&session, flash, &target).await;
    }
    Redirect::to(&target).into_response()
}

/// A path on this portal (never `//elsewhere` or a full address).
fn is_local(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

/// The path and query of a Referer, when it is a page of this portal's own origin. The
/// same-origin guard has already refused cross-site posts, so the host is ours.
fn local_part(referer: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    let mut local = url.path().to_string();
    if let Some(query) = url.query() {
        local.push('?');
        local.push_str(query);
    }
    is_local(&local).then_some(local)
}

/// POST /license-repository/columns: the Columns menu without JavaScript. The ticked columns
/// (`show`) are remembered in the cookie the License overview renders from (the menu's island
/// writes the same cookie in the browser), then back to the page (`_next`).
pub async fn choose_columns(axum::Form(fields): axum::Form<Vec<(String, String)>>) -> Response {
    use bandpool_domain::license::Column;
    let shown: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "show")
        .map(|(_, value)| value.as_str())
        .collect();
    let hidden: Vec<&str> = Column::ALL
        .iter()
        .map(|c| c.key())
        .filter(|key| !shown.contains(key))
        .collect();
    let next = fields
        .iter()
        .find(|(name, _)| name == "_next")
        .map(|(_, value)| value.clone())
        .filter(|path| is_local(path))
        .unwrap_or_else(|| app::url::PAGE_PATH.to_string());
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        app::components::license_overview::COLUMNS_COOKIE,
        hidden.join(".")
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local("/license-repository?q=a"));
        assert!(!is_local("//evil.test/x"));
        assert!(!is_local("https://evil.test/"));
        assert!(!is_local("/\\evil.test"));
        assert_eq!(
            local_part("http://127.0.0.1:3000/users?x=1").as_deref(),
            Some("/users?x=1")
        );
        assert_eq!(local_part("not a url"), None);
    }
}
