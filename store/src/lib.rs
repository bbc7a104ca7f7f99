//! Bandpool's data layer.
//!
//! One set of queries, written in portable SQL with `$N` placeholders, runs on SQLite (the
//! embedded default) and on PostgreSQL (several portal instances) through sqlx's `Any`
//! driver. Times are stored as Unix seconds UTC and days as `YYYY-MM-DD` text, which both
//! databases compare and sort the same way. Every read of tenant data takes the tenant id
//! as its first argument; callers get it from the authenticated principal.

pub mod accounts;
pub mod allocation;
pub mod billing;
pub mod clock;
pub mod commands;
pub mod connectors;
pub mod db;
pub mod devices;
pub mod events;
pub mod idempotency;
pub mod leases;
pub mod licenses;
pub mod licensing;
pub mod lifecycle;
pub mod metered;
pub mod metered_report;
pub mod metered_reporting;
pub mod notifications;
pub mod outbox;
pub mod partitions;
pub mod pool;
pub mod secret;
pub mod seed;
pub mod sessions;
pub mod sync;
pub mod tenants;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;

pub use clock::Clock;
pub use db::{Db, DbKind, Read, WriteTx};

/// Results of this crate carry the portal's one error type.
pub type Result<T, E = bandpool_domain::AppError> = std::result::Result<T, E>;
