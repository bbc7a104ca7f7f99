//! Logging, and the request id every response carries (x-request-id) and every log line
//! and internal error of a request names.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use bandpool_domain::error::REQUEST_ID;
use tracing::Instrument;

/// Logs go to standard error: standard output carries only a command's own output, so
/// `token="$(server create-connector ...)"` captures the token and nothing else.
pub fn init(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The filter from settings. PostgreSQL's notices (the migrator's "relation already exists,
/// skipping" on every start) are kept to warnings unless the filter names sqlx itself.
fn env_filter(filter: &str) -> tracing_subscriber::EnvFilter {
    let filter = if filter.contains("sqlx") {
        filter.to_string()
    } else {
        format!("{filter},sqlx::postgres::notice=warn")
    };
    tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"))
}

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Take the caller's x-request-id when it is sensible, or make one; scope the request in it.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let header = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert("x-request-id", header.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %crate::edge::short_path(request.uri().path())
    );
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id, next.run(request).instrument(span.clone()))
        .await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        );
    });
    response.headers_mut().insert("x-request-id", header);
    response
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_plain_request_ids_are_taken_from_callers() {
        assert!(acceptable("3f2a-bc_1.x"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable(&"x".repeat(65)));
    }
}
