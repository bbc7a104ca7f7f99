//! The Usage and billing overview, and the limits whose crossing the tenant is told of.

use super::*;
use serde::{Deserialize, Serialize};

/// The page's figures: the subscription, the two pool bars and the assets bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageOverview {
    pub tenant_name: String,
    pub entitlement: Entitlement,
    pub source: EntitlementSourceKind,
    pub total_assets: i64,
    pub assets: Usage,
    pub capacity: Usage,
    pub loadmasters: Usage,
    pub mapped_applications: i64,
    /// LoadMasters in the inventory.
    pub inventory_loadmasters: i64,
    pub last_refreshed_at: Option<i64>,
    pub latest_sync: Option<EntitlementSync>,
}

impl UsageOverview {
    /// The capacity was lowered below what is allocated: shown as an alert, never applied by
    /// killing licenses.
    pub fn over_allocated(&self) -> bool {
        self.capacity.used > self.capacity.total
    }

    pub fn remaining_assets(&self) -> i64 {
        (self.total_assets - self.assets.used).max(0)
    }
}

/// Limits whose crossing sends a message on the tenant's channels (the guide's limit emails).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    LicenseCapacity,
    LoadMasters,
    Assets,
}

impl LimitKind {
    pub const ALL: [LimitKind; 3] = [
        LimitKind::LicenseCapacity,
        LimitKind::LoadMasters,
        LimitKind::Assets,
    ];

    pub fn key(self) -> &'static str {
        match self {
            LimitKind::LicenseCapacity => "license_capacity",
            LimitKind::LoadMasters => "loadmaster_limit",
            LimitKind::Assets => "asset_limit",
        }
    }

    pub fn from_key(key: &str) -> Option<LimitKind> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The webhook event and email subject.
    pub fn event(self) -> &'static str {
        match self {
            LimitKind::LicenseCapacity => "license_capacity_limit_reached",
            LimitKind::LoadMasters => "loadmaster_limit_reached",
            LimitKind::Assets => "asset_limit_reached",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            LimitKind::LicenseCapacity => "License capacity limit reached",
            LimitKind::LoadMasters => "LoadMaster limit reached",
            LimitKind::Assets => "Asset limit reached",
        }
    }
}
