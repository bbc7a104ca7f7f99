//! One module per page.

pub mod api_tokens;
pub mod connectors;
pub mod event_log;
pub mod license_repository;
pub mod not_found;
pub mod sign_in;
pub mod tenants;
pub mod users;
