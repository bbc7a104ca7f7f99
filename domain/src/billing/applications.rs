//! Applications: up to 15 Virtual Services grouped for billing, and their pages.

use super::*;
use serde::{Deserialize, Serialize};

/// A Virtual Service on one of the tenant's LoadMasters.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VirtualService {
    pub id: String,
    pub name: String,
    /// `10.0.0.5:443`
    pub address: String,
    pub device_name: String,
    pub application: Option<String>,
}

/// An application's use of its Virtual Service quota (a row of Mapped application usage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationUsage {
    pub id: String,
    pub name: String,
    pub virtual_services: i64,
    pub quota: i64,
    pub usage: Usage,
}

impl ApplicationUsage {
    pub fn new(id: String, name: String, virtual_services: i64, quota: i64) -> Self {
        ApplicationUsage {
            usage: Usage::new(virtual_services, quota),
            id,
            name,
            virtual_services,
            quota,
        }
    }

    pub fn remaining(&self) -> i64 {
        (self.quota - self.virtual_services).max(0)
    }
}

/// One page of Mapped application usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationPage {
    pub applications: Vec<ApplicationUsage>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The items-per-page choices of the Mapped application usage table.
pub const PER_PAGE_CHOICES: [u32; 3] = [10, 20, 50];
