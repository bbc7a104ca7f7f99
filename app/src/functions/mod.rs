//! Server functions: what the pages read from the server. Each runs for the tenant of the
//! request (see `state::AppState::tenant_id`) and answers with the portal's error codes.

pub mod allocation;
pub mod licenses;
pub mod pool;
