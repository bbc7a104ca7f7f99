//! Bandpool's domain vocabulary, shared by the server and the browser bundle.
//!
//! Nothing here touches a database or the network: the types that cross the wire
//! (licenses, pools, allocation series), the arithmetic the product is defined by
//! (allocation, daily and monthly peaks, usage levels), the chart geometry both the
//! server renderer and the hydrated overlay draw from, the CSV rules, and the one
//! error type with its stable codes.

pub mod accounts;
pub mod activation;
pub mod allocation;
pub mod auth;
pub mod billing;
pub mod chart;
pub mod connector;
pub mod csv_rules;
pub mod error;
pub mod events;
pub mod format;
pub mod ids;
pub mod license;
pub mod names;
pub mod pool;

pub use error::AppError;
