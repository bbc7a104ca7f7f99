//! What every request meets before anything reads it, and how connections are served:
//!
//! - a deadline and a size limit for the request's body, read whole here (a client that
//!   announces a large body and sends two bytes is answered 408 when the deadline passes,
//!   instead of holding a task and a connection for minutes);
//! - text both databases can store: PostgreSQL refuses the NUL character in text, so a NUL
//!   in the path, a query parameter, a form field or a JSON string is refused here, once for
//!   every route, with a 400 `invalid_parameter` that names the field;
//! - paths the file system can look up: a segment longer than a file name can be is a 404
//!   at debug level (the static-file fallback would fail on it and log the whole path);
//! - refusals that always carry a stable code: a server function's error gets the status its
//!   code has (the server-function layer answers every error 500), and the few refusals the
//!   framework writes as plain text (a malformed path parameter, a wrong method, a wrong
//!   content type) become the portal's `{code, message}` body;
//! - the listener: a header read timeout and a cap on open connections (`serve`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bandpool_domain::error::ErrorBody;
use bandpool_domain::AppError;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

/// Request limits (settings `http_*`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body taken, in bytes.
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive, once its headers have.
    pub body_timeout: Duration,
    /// How long a client may take to send a request's headers (also how long an idle
    /// keep-alive connection is kept).
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the listener's backlog.
    pub max_connections: usize,
}

/// The longest path segment looked up (a file name's limit on Linux file systems).
const MAX_SEGMENT_BYTES: usize = 255;
/// The longest path taken at all.
const MAX_PATH_BYTES: usize = 2048;
/// How much of a path a log line shows.
const LOGGED_PATH_CHARS: usize = 120;

/// A path as a log line shows it: cut short, so nobody can fill the log with one request.
pub fn short_path(path: &str) -> String {
    if path.chars().count() <= LOGGED_PATH_CHARS {
        return path.to_string();
    }
    let cut: String = path.chars().take(LOGGED_PATH_CHARS).collect();
    format!("{cut}… ({} bytes)", path.len())
}

/// The input checks, and the body read whole under the limits. Layered outside the
/// sessions and the principal, so nothing reads a request these refuse.
pub async fn guard_input(
    axum::Extension(limits): axum::Extension<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    match checked(&limits, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// A refused body is still read (and dropped) up to this many times the limit, so a client
/// that is still sending can read the 413 instead of meeting a connection reset.
const LINGER_FACTOR: usize = 4;

async fn checked(limits: &Limits, request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    // The body first, even of a request refused for its address: a client still sending it
    // would otherwise meet a closed connection instead of the refusal.
    let bytes = if http_body::Body::is_end_stream(&body) {
        None
    } else {
        Some(whole_body(&parts, body, limits).await?)
    };
    check_path(parts.uri.path()).map_err(IntoResponse::into_response)?;
    if let Some(query) = parts.uri.query() {
        if let Some(field) = nul_in_form(query.as_bytes()) {
            return Err(nul_refusal(field).into_response());
        }
    }
    let Some(bytes) = bytes else {
        return Ok(Request::from_parts(parts, Body::empty()));
    };
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let nul = if json {
        nul_in_json(&bytes)
    } else {
        nul_in_form(&bytes)
    };
    if let Some(field) = nul {
        return Err(nul_refusal(field).into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The body read whole, or the refusal that says why it could not be.
async fn whole_body(
    parts: &axum::http::request::Parts,
    body: Body,
    limits: &Limits,
) -> Result<Bytes, Response> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match read_body(body, declared, limits).await {
        Ok(bytes) => Ok(bytes),
        Err(BodyRead::TooLarge) => {
            let mut refused = AppError::PayloadTooLarge {
                limit_bytes: limits.max_body_bytes as u64,
            }
            .into_response();
            refused.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            Err(refused)
        }
        Err(BodyRead::TimedOut) => {
            tracing::debug!(path = %short_path(parts.uri.path()), "request body timed out");
            Err(AppError::RequestTimeout.into_response())
        }
        Err(BodyRead::Broken(error)) => {
            tracing::debug!(%error, "request body could not be read");
            Err(AppError::invalid("body", "could not be read to its end").into_response())
        }
    }
}

enum BodyRead {
    TooLarge,
    TimedOut,
    Broken(axum::Error),
}

/// The whole body, within the size limit and the body timeout. Past the limit the rest is
/// read and dropped (up to `LINGER_FACTOR` times the limit) before the refusal.
async fn read_body(
    mut body: Body,
    declared: Option<u64>,
    limits: &Limits,
) -> Result<Bytes, BodyRead> {
    let limit = limits.max_body_bytes;
    let linger = limit.saturating_mul(LINGER_FACTOR);
    if declared.is_some_and(|n| n > linger as u64) {
        return Err(BodyRead::TooLarge);
    }
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let mut kept = bytes::BytesMut::new();
    let mut over = declared.is_some_and(|n| n > limit as u64);
    let mut dropped = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) if over => return Err(BodyRead::TooLarge),
            Err(_) => return Err(BodyRead::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(_))) if over => return Err(BodyRead::TooLarge),
            Ok(Some(Err(error))) => return Err(BodyRead::Broken(error)),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if !over && kept.len() + data.len() > limit {
            over = true;
            dropped = kept.len();
            kept = bytes::BytesMut::new();
        }
        if over {
            dropped += data.len();
            if dropped > linger {
                break;
            }
        } else {
            kept.extend_from_slice(&data);
        }
    }
    if over {
        Err(BodyRead::TooLarge)
    } else {
        Ok(kept.freeze())
    }
}

fn nul_refusal(field: String) -> AppError {
    AppError::invalid(field, "must not contain the NUL character")
}

fn check_path(path: &str) -> Result<(), AppError> {
    let too_long = path.len() > MAX_PATH_BYTES
        || path
            .split('/')
            .any(|segment| segment.len() > MAX_SEGMENT_BYTES);
    if too_long {
        tracing::debug!(path = %short_path(path), "path too long for any page or file");
        return Err(AppError::not_found("This address"));
    }
    if contains(path.as_bytes(), b"%00") {
        return Err(nul_refusal("path".into()));
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// The name of the first form field (or query parameter) whose name or value holds a NUL.
/// Fields are decoded as servers decode them (`+` is a space, `%00` a NUL).
fn nul_in_form(raw: &[u8]) -> Option<String> {
    if !contains(raw, b"%00") && !raw.contains(&0) {
        return None;
    }
    url::form_urlencoded::parse(raw)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| printable(&name))
}

/// The path (`checks[2].serial_no`) of the first JSON string or member name holding a NUL.
/// JSON can carry a NUL only as the escape `\u0000`, so bodies without one are not parsed.
fn nul_in_json(raw: &[u8]) -> Option<String> {
    if !contains(raw, b"\\u0000") {
        return None;
    }
    // A body that does not parse is left to its endpoint, which refuses it with its reason.
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    find_nul(&value, "")
}

fn find_nul(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => Some(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(members) => members.iter().find_map(|(name, item)| {
            let here = if at.is_empty() {
                printable(name)
            } else {
                format!("{at}.{}", printable(name))
            };
            if name.contains('\0') {
                Some(here)
            } else {
                find_nul(item, &here)
            }
        }),
        _ => None,
    }
}

/// A field name fit to show back: control characters escaped.
fn printable(name: &str) -> String {
    let shown: String = name
        .chars()
        .take(100)
        .flat_map(char::escape_default)
        .collect();
    if shown.is_empty() {
        "(unnamed)".into()
    } else {
        shown
    }
}

/// The server-function marker header: its error answers carry it (always with status 500).
const SERVER_FN_ERROR: &str = "serverfnerror";
/// The most of a framework refusal's text carried into the error body.
const REFUSAL_TEXT: usize = 300;

/// Every refusal answers the portal's `{code, message}` with the status its code has.
/// Layered outermost, so it sees what every other layer and handler answered.
pub async fn stable_refusals(
    axum::Extension(limits): axum::Extension<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if response.headers().contains_key(SERVER_FN_ERROR)
        && status == StatusCode::INTERNAL_SERVER_ERROR
    {
        return with_status_of_its_code(response).await;
    }
    if content_type.contains("json") || content_type.contains("html") {
        return response;
    }
    // Plain text from the framework (extractor rejections, routing): keep its words.
    let (parts, body) = response.into_parts();
    let text = match Limited::new(body, 64 * 1024).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_string(),
        Err(_) => String::new(),
    };
    let text: String = text.chars().take(REFUSAL_TEXT).collect();
    let error = match parts.status {
        StatusCode::NOT_FOUND => AppError::not_found("This address"),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType {
            expected: if text.is_empty() {
                "in the format this endpoint reads".into()
            } else {
                text
            },
        },
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit_bytes: limits.max_body_bytes as u64,
        },
        StatusCode::REQUEST_TIMEOUT => AppError::RequestTimeout,
        s if s.is_client_error() => AppError::invalid(
            "request",
            if text.is_empty() {
                s.canonical_reason().unwrap_or("was refused").to_string()
            } else {
                text
            },
        ),
        // A 5xx written as text by a layer below: say nothing of it but the request id.
        _ => AppError::internal(format!("{} {}", parts.status, text)),
    };
    let mut rewritten = error.into_response();
    for (name, value) in parts.headers.iter() {
        if name == header::ALLOW || name == "x-request-id" {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// A server function's error, answered 500 by the server-function layer whatever it was:
/// the status its code has instead (a bad argument is a 400, a refused role a 403).
async fn with_status_of_its_code(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = Limited::new(body, 256 * 1024).collect().await else {
        return AppError::internal("a server function's error answer could not be read")
            .into_response();
    };
    let bytes: Bytes = collected.to_bytes();
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&bytes) {
        parts.status = AppError::from(error).status();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Serve `app` on `listener` until `shutdown` resolves: HTTP/1 and HTTP/2, at most
/// `max_connections` at once, each request knowing its peer's address (`ConnectInfo`).
/// A client gets `header_timeout` to send a request's headers (hyper's timer), and a
/// connection with no request under way and nothing received for as long is closed: a new
/// one that never speaks, and a keep-alive one left idle. A request under way (a long-poll,
/// a page still streaming) keeps its connection open however quiet it is. Production and
/// the tests serve through this one function.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use hyper_util::server::conn::auto::Builder;

    let max = limits.max_connections.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let idle_after = limits.header_timeout;
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let service = {
            let (app, activity) = (app.clone(), activity.clone());
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (app, activity) = (app.clone(), activity.clone());
                async move {
                    let busy = activity.busy();
                    let mut request = request.map(Body::new);
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    let response = tower::ServiceExt::oneshot(app, request)
                        .await
                        .unwrap_or_else(|never| match never {});
                    // The connection counts as busy until the answer's last byte is sent.
                    Ok::<_, Infallible>(response.map(|body| {
                        Body::new(Tracked {
                            inner: body,
                            _busy: busy,
                        })
                    }))
                }
            })
        };
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(Watched {
                inner: stream,
                activity: activity.clone(),
            });
            let connection = builder.serve_connection(io, service);
            tokio::pin!(connection);
            let check = (idle_after / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    _ = tokio::time::sleep(check), if !closing => {
                        if activity.idle_for() >= idle_after {
                            closing = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                    _ = stopping.changed(), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Requests in flight get a moment to finish; long-polls are cut short.
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(max as u32)).await;
    Ok(())
}

/// One connection's activity: requests whose answer is not yet sent, and when it last
/// received bytes or finished an answer.
#[derive(Clone)]
struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    started: std::time::Instant,
    busy: std::sync::atomic::AtomicUsize,
    /// Milliseconds after `started`.
    last: std::sync::atomic::AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity(Arc::new(ActivityInner {
            started: std::time::Instant::now(),
            busy: 0.into(),
            last: 0.into(),
        }))
    }

    fn touch(&self) {
        let now = self.0.started.elapsed().as_millis() as u64;
        self.0.last.store(now, std::sync::atomic::Ordering::Relaxed);
    }

    fn busy(&self) -> Busy {
        self.0
            .busy
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Busy(self.clone())
    }

    /// How long the connection has had nothing under way and received nothing.
    fn idle_for(&self) -> Duration {
        if self.0.busy.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        let last = self.0.last.load(std::sync::atomic::Ordering::Relaxed);
        self.0
            .started
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
    }
}

/// A request under way on its connection; dropped with the answer's body.
struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0
             .0
            .busy
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An answer's body that keeps its connection busy until it is sent (or dropped).
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's socket, noting when bytes arrive.
struct Watched {
    inner: tokio::net::TcpStream,
    activity: Activity,
}

impl tokio::io::AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_a_form_names_its_field() {
        assert_eq!(
            nul_in_form(b"email=a%00b%40x.test&password=x"),
            Some("email".into())
        );
        assert_eq!(nul_in_form(b"q=plain&page=2"), None);
        assert_eq!(nul_in_form(b"a%00b=1"), Some("a\\u{0}b".into()));
        assert_eq!(nul_in_form(b"raw=\x00"), Some("raw".into()));
        // "%2500" is a percent sign followed by "00", not a NUL.
        assert_eq!(nul_in_form(b"q=100%2500"), None);
    }

    #[test]
    fn a_nul_in_json_names_its_path() {
        assert_eq!(nul_in_json(br#"{"name":"a\u0000b"}"#), Some("name".into()));
        assert_eq!(
            nul_in_json(
                br#"{"idempotency_key":"k","checks":[{"license_id":"x"},{"serial_no":"\u0000"}]}"#
            ),
            Some("checks[1].serial_no".into())
        );
        assert_eq!(nul_in_json(br#"["ok","\u0000"]"#), Some("[1]".into()));
        assert_eq!(nul_in_json(br#""\u0000""#), Some("body".into()));
        assert_eq!(nul_in_json(br#"{"a\u0000":1}"#), Some("a\\u{0}".into()));
        // An escaped backslash followed by "u0000" is text, not a NUL.
        assert_eq!(nul_in_json(br#"{"name":"\\u0000"}"#), None);
        assert_eq!(nul_in_json(br#"{"name":"plain"}"#), None);
    }

    #[test]
    fn paths_too_long_for_a_file_name_are_not_found() {
        assert!(check_path("/license-repository").is_ok());
        let long = format!("/pkg/{}", "a".repeat(300));
        assert_eq!(check_path(&long).unwrap_err().code(), "not_found");
        assert_eq!(
            check_path("/api/v1/licenses/a%00b").unwrap_err().code(),
            "invalid_parameter"
        );
    }

    #[test]
    fn logged_paths_are_cut_short() {
        assert_eq!(short_path("/event-log"), "/event-log");
        let shown = short_path(&format!("/{}", "x".repeat(20_000)));
        assert!(shown.chars().count() < 150, "{shown}");
        assert!(shown.ends_with("(20001 bytes)"));
    }
}
