//! Middleware around every request: cross-site refusal for state changes, security headers,
//! and the page gate that sends anonymous visitors to the sign-in page.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bandpool_domain::auth::Principal;
use bandpool_domain::AppError;

/// Refuse a state-changing request (anything but GET, HEAD, OPTIONS) unless the browser
/// says it came from this site: `Sec-Fetch-Site: same-origin` (or `none`, typed by the
/// user), or an `Origin` equal to the portal's own. A request with neither is refused too,
/// except an API call with a bearer token, which a browser never sends by itself.
pub async fn same_origin(
    axum::Extension(allowed): axum::Extension<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let bearer = request.uri().path().starts_with("/api/")
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
    // Connectors send no cookies: their credential cannot ride on a cross-site request.
    let connector = request
        .uri()
        .path()
        .starts_with(super::principal::CONNECTOR_API);
    if !bearer && !connector && !allowed.accepts(&request) {
        tracing::warn!(
            path = %crate::edge::short_path(request.uri().path()),
            origin = ?headers.get(header::ORIGIN),
            fetch_site = ?headers.get("sec-fetch-site"),
            "cross-site request refused"
        );
        return AppError::CrossSite.into_response();
    }
    next.run(request).await
}

/// The origins state changes may come from: the configured public URL's, and the one the
/// request's own Host header names under the public URL's scheme (a browser cannot forge
/// Host, and an `https://` origin is another site than the `http://` one of the same host).
/// Origins are compared whole: scheme, host and port.
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    pub public_origin: String,
    scheme: String,
}

impl AllowedOrigins {
    pub fn new(public_url: &str) -> Self {
        let parsed = url::Url::parse(public_url).ok();
        AllowedOrigins {
            public_origin: parsed
                .as_ref()
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
            scheme: parsed
                .map(|u| u.scheme().to_string())
                .unwrap_or_else(|| "http".into()),
        }
    }

    fn accepts(&self, request: &Request) -> bool {
        let headers = request.headers();
        if let Some(site) = headers.get("sec-fetch-site") {
            return matches!(site.to_str(), Ok("same-origin") | Ok("none"));
        }
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Ok(origin) = url::Url::parse(origin) else {
            return false;
        };
        let origin = origin.origin().ascii_serialization();
        if origin == self.public_origin {
            return true;
        }
        // The origin this request's Host names, as the browser would write it (the scheme's
        // default port left out).
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        url::Url::parse(&format!("{}://{host}", self.scheme))
            .map(|own| own.origin().ascii_serialization() == origin)
            .unwrap_or(false)
    }
}

/// The nonce of one response: made here, handed to Leptos (which puts it on the page's
/// scripts), and named in the page's Content-Security-Policy. One source for both, so they
/// always agree.
#[derive(Debug, Clone)]
pub struct PageNonce(pub Arc<str>);

/// The Content Security Policy of a page: scripts only from this site and the response's
/// nonce (Leptos puts it on its hydration and resource scripts), WebAssembly allowed to
/// compile, style sheets only from this site; inline `style` attributes are allowed because
/// the charts position their overlays with them. No framing, no plugins, forms post only here.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-elem 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Headers on every response. An HTML page gets the page policy with this response's nonce
/// (unless it set a stricter one of its own); anything else a policy that allows nothing.
/// Whatever did not say how long it may be kept (pages, the API, redirects, refusals: all
/// but the site's files, see `assets`) is never stored by a browser or a cache.
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        PageNonce(Arc::from(hex::encode(bytes)))
    };
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) && html {
        if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce.0)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(crate::assets::DYNAMIC),
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    response
}

/// The portal's pages that need no sign-in.
pub const PUBLIC_PAGES: &[&str] = &[
    "/sign-in",
    "/forgot-password",
    "/reset-password",
    "/invitation",
];

/// Anonymous GETs of a page other than the public ones go to the sign-in page, which comes
/// back here afterwards.
pub async fn page_gate(
    axum::Extension(pages): axum::Extension<Arc<HashSet<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let gated = request.method() == Method::GET
        && (pages.contains(path) || pages.iter().any(|page| matches_page(page, path)))
        && !PUBLIC_PAGES.contains(&path)
        && request.extensions().get::<Principal>().is_none();
    if gated {
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next_param: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let mut response = Redirect::to(&format!("/sign-in?next={next_param}")).into_response();
        *response.status_mut() = StatusCode::SEE_OTHER;
        return response;
    }
    next.run(request).await
}

/// Whether `path` is a page with parameters (`/tenants/{id}/entitlement`).
pub fn matches_page(pattern: &str, path: &str) -> bool {
    if !pattern.contains('{') && !pattern.contains(':') {
        return false;
    }
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') || a.starts_with(':') => {
                if b.is_empty() {
                    return false;
                }
            }
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A `next` address to return to after signing in: a path on this site, or the default.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/license-repository".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_with_parameters_are_gated_too() {
        assert!(matches_page(
            "/tenants/{id}/entitlement",
            "/tenants/abc/entitlement"
        ));
        assert!(!matches_page(
            "/tenants/{id}/entitlement",
            "/tenants//entitlement"
        ));
        assert!(!matches_page("/tenants/{id}/entitlement", "/tenants/abc"));
        assert!(!matches_page("/tenants", "/tenants"));
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method("POST").uri("/auth/sign-out");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_this_sites_origin_may_change_state() {
        let allowed = AllowedOrigins::new("https://licenses.example.com");
        assert!(allowed.accepts(&request(&[("sec-fetch-site", "same-origin")])));
        assert!(!allowed.accepts(&request(&[("sec-fetch-site", "cross-site")])));
        assert!(!allowed.accepts(&request(&[("sec-fetch-site", "same-site")])));
        assert!(allowed.accepts(&request(&[("origin", "https://licenses.example.com")])));
        // The Host the request came to, under the public URL's scheme.
        assert!(allowed.accepts(&request(&[
            ("origin", "https://127.0.0.1:3100"),
            ("host", "127.0.0.1:3100")
        ])));
        assert!(!allowed.accepts(&request(&[
            ("origin", "http://127.0.0.1:3100"),
            ("host", "127.0.0.1:3100")
        ])));
        assert!(!allowed.accepts(&request(&[
            ("origin", "http://evil.test"),
            ("host", "127.0.0.1:3100")
        ])));
        assert!(!allowed.accepts(&request(&[("origin", "null"), ("host", "127.0.0.1:3100")])));
        assert!(!allowed.accepts(&request(&[])));
        // The public origin is matched whole: scheme, host and port.
        assert!(!allowed.accepts(&request(&[("origin", "http://licenses.example.com")])));
        assert!(!allowed.accepts(&request(&[("origin", "https://licenses.example.com:8443")])));
    }

    #[test]
    fn another_scheme_is_another_site() {
        let allowed = AllowedOrigins::new("http://127.0.0.1:3100");
        let from = |origin: &str| request(&[("origin", origin), ("host", "127.0.0.1:3100")]);
        assert!(allowed.accepts(&from("http://127.0.0.1:3100")));
        assert!(!allowed.accepts(&from("https://127.0.0.1:3100")));
        let served_elsewhere = AllowedOrigins::new("http://127.0.0.1:3000");
        assert!(served_elsewhere.accepts(&from("http://127.0.0.1:3100")));
        assert!(!served_elsewhere.accepts(&from("https://127.0.0.1:3100")));
        let tls = AllowedOrigins::new("https://licenses.example.com");
        let behind =
            |origin: &str| request(&[("origin", origin), ("host", "licenses.example.com")]);
        assert!(tls.accepts(&behind("https://licenses.example.com")));
        assert!(!tls.accepts(&behind("http://licenses.example.com")));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/event-log?page=2")), "/event-log?page=2");
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "javascript:x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/license-repository");
        }
        assert_eq!(safe_next(None), "/license-repository");
    }
}
