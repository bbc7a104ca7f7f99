//! One module per page.

pub mod activations;
pub mod api_tokens;
pub mod applications;
pub mod connectors;
pub mod event_log;
pub mod license_repository;
pub mod licenses;
pub mod metered_report;
pub mod metered_usage;
pub mod not_found;
pub mod notifications;
pub mod offline_licensing;
pub mod sign_in;
pub mod tenant_entitlement;
pub mod tenants;
pub mod usage_and_billing;
pub mod users;
