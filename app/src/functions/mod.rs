//! Server functions: what the pages read and change on the server. Each asks
//! `state::authorize` for its permission first and runs for the tenant of the request's
//! principal; errors carry the portal's stable codes.

pub mod allocation;
pub mod connectors;
pub mod events;
pub mod licenses;
pub mod lifecycle;
pub mod metered;
pub mod pool;
pub mod session;
pub mod tenants;
pub mod tokens;
pub mod usage;
pub mod users;
