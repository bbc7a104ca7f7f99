//! Bandpool's server. `main.rs` is the command line; this library builds the application
//! so the integration tests can spawn exactly what production runs.
//!
//! - `settings`: typed settings from defaults, an optional file and BANDPOOL_* variables.
//! - `state`: what every request is handed (the service layer and the Leptos options).
//! - `assets`: the browser bundle's hashed names, precompressed copies and cache headers;
//!   compression of pages and JSON.
//! - `web`: the axum router: Leptos pages and server functions, the REST API, middleware.
//! - `auth/`: sign-in (local and single sign-on), sessions, the principal of each request,
//!   cross-site refusal, security headers, rate limits.
//! - `api/`: the REST API under /api/v1, one file per resource, and its OpenAPI document.
//! - `sweeps`: background work: connector health (silence → Down → grace → Expired),
//!   overdue syncs, old idempotency keys.
//! - `edge`: what every request meets first (body size and time limits, no NUL in text,
//!   paths the file system can take, refusals with stable codes) and the listener (header
//!   read timeout, connection cap).
//! - `metrics`: `/metrics` for Prometheus, and request counting.
//! - `telemetry`: logging and request ids.

// Leptos page types (the License Repository) need more than the default 128.
#![recursion_limit = "256"]

pub mod accounts;
pub mod api;
pub mod assets;
pub mod auth;
pub mod edge;
pub mod forms;
pub mod live;
pub mod metrics;
pub mod settings;
pub mod state;
pub mod sweeps;
pub mod telemetry;
pub mod web;
