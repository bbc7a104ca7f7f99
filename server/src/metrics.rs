//! `/metrics` in the Prometheus text format, for the people who run the portal: requests
//! and their latency per route, page renders that failed, the SQLite write gate's wait and
//! write transactions' time (recorded by the data layer), email and webhook backlogs and
//! failures, connectors by state and their queued commands. The `metrics` crate's macros
//! record wherever the work happens; this module installs the exporter, counts requests, and
//! reads the fleet's figures from the database when scraped. Served only to the addresses
//! `metrics_allow` names (this machine by default): to everyone else it does not exist.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// The process's recorder, installed once (the tests run several portals in one process).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("the Prometheus recorder is installed once per process")
        })
        .clone()
}

/// Who may read `/metrics`: addresses or networks (`10.0.0.0/8`), from `metrics_allow`.
#[derive(Debug, Clone)]
pub struct Readers(Vec<(IpAddr, u8)>);

impl Readers {
    pub fn parse(list: &str) -> Result<Readers, String> {
        list.split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let (addr, bits) = match entry.split_once('/') {
                    Some((addr, bits)) => (
                        addr,
                        Some(bits.parse::<u8>().map_err(|_| {
                            format!("metrics_allow: {entry} is not an address or network")
                        })?),
                    ),
                    None => (entry, None),
                };
                let addr: IpAddr = addr
                    .parse()
                    .map_err(|_| format!("metrics_allow: {entry} is not an address or network"))?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let bits = bits.unwrap_or(max);
                if bits > max {
                    return Err(format!("metrics_allow: {entry} has too long a prefix"));
                }
                Ok((addr, bits))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Readers)
    }

    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| match (net, peer) {
            (IpAddr::V4(net), IpAddr::V4(peer)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*net) & mask == u32::from(peer) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(peer)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*net) & mask == u128::from(peer) & mask
            }
            _ => false,
        })
    }
}

/// Count every request by route (the router's pattern, never the raw path, so ids do not
/// multiply the series), method and status, with its latency; a page GET answered 5xx is a
/// failed page render.
pub async fn count_requests(
    Extension(pages): Extension<Arc<HashSet<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!("bandpool_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(seconds);
    if status.is_server_error() && method == "GET" && pages.contains(&route) {
        metrics::counter!("bandpool_page_renders_failed_total", "route" => route.clone())
            .increment(1);
    }
    metrics::counter!("bandpool_http_requests_total", "method" => method, "route" => route, "status" => status.as_u16().to_string())
        .increment(1);
    response
}

/// GET /metrics
pub async fn serve(
    State(state): State<AppState>,
    Extension(readers): Extension<Arc<Readers>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !readers.allows(peer.ip()) {
        return bandpool_domain::AppError::not_found("This page").into_response();
    }
    if let Err(error) = fleet_figures(&state).await {
        tracing::warn!(%error, "the fleet's figures were not read for /metrics");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

/// Figures that live in the database, read at scrape time (any instance sees them all).
async fn fleet_figures(state: &AppState) -> Result<(), bandpool_domain::AppError> {
    let (connectors, queued) = bandpool_store::connectors::fleet(&state.db).await?;
    for status in ["pending", "up", "down"] {
        let n = connectors
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("bandpool_connectors", "status" => status).set(n as f64);
    }
    metrics::gauge!("bandpool_connector_commands_queued").set(queued as f64);
    let (pending, failed) = bandpool_store::outbox::backlog(&state.db).await?;
    metrics::gauge!("bandpool_email_outbox", "status" => "pending").set(pending as f64);
    metrics::gauge!("bandpool_email_outbox", "status" => "failed").set(failed as f64);
    let (pending, failed) = bandpool_store::notifications::webhook_backlog(&state.db).await?;
    metrics::gauge!("bandpool_webhook_outbox", "status" => "pending").set(pending as f64);
    metrics::gauge!("bandpool_webhook_outbox", "status" => "failed").set(failed as f64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_addresses_and_networks() {
        let readers = Readers::parse("127.0.0.1, ::1, 10.0.0.0/8").unwrap();
        for ok in ["127.0.0.1", "::1", "10.1.2.3", "::ffff:10.9.9.9"] {
            assert!(readers.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "192.168.1.1", "::2"] {
            assert!(!readers.allows(no.parse().unwrap()), "{no}");
        }
        assert!(Readers::parse("").unwrap().0.is_empty());
        assert!(Readers::parse("10.0.0.0/33").is_err());
        assert!(Readers::parse("example.com").is_err());
    }
}
