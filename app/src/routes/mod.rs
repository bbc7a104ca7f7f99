//! One module per page.

pub mod license_repository;
pub mod not_found;
