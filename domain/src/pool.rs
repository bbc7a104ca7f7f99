//! A tenant's license pool: its capacity and what is allocated from it, per license type.

use serde::{Deserialize, Serialize};

/// A kind of LoadMaster license and the capacity one license of it takes from a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseType {
    pub id: String,
    pub name: String,
    pub bandwidth_mbps: i64,
    pub ssl_tps: i64,
}

/// The allocation of one license type: a section of the cylinder chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TypeSection {
    pub license_type: String,
    pub allocated_mbps: i64,
    pub active_licenses: u64,
    pub grace_period_licenses: u64,
}

/// Current allocation vs maximum capacity of a tenant's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PoolSummary {
    pub tenant_name: String,
    pub max_capacity_mbps: i64,
    pub loadmaster_limit: i64,
    /// Sum of the bandwidth of pooled Active and Grace Period licenses (metered licenses take
    /// nothing from the pool: their contract limits them and their usage is billed).
    pub allocated_mbps: i64,
    /// Maximum capacity minus allocation; negative when the pool is over-allocated.
    pub available_mbps: i64,
    /// LoadMasters holding a pooled license (Active or Grace Period).
    pub loadmasters: u64,
    /// Largest section first.
    pub sections: Vec<TypeSection>,
    /// "Last refreshed", as Unix seconds UTC (none before the first refresh).
    pub last_refreshed_at: Option<i64>,
}

impl PoolSummary {
    pub fn new(
        tenant_name: String,
        max_capacity_mbps: i64,
        loadmaster_limit: i64,
        mut sections: Vec<TypeSection>,
        last_refreshed_at: Option<i64>,
    ) -> Self {
        sections.sort_by(|a, b| {
            b.allocated_mbps
                .cmp(&a.allocated_mbps)
                .then_with(|| a.license_type.cmp(&b.license_type))
        });
        let allocated_mbps = sections.iter().map(|s| s.allocated_mbps).sum();
        let loadmasters = sections
            .iter()
            .map(|s| s.active_licenses + s.grace_period_licenses)
            .sum();
        PoolSummary {
            tenant_name,
            max_capacity_mbps,
            loadmaster_limit,
            allocated_mbps,
            available_mbps: max_capacity_mbps - allocated_mbps,
            loadmasters,
            sections,
            last_refreshed_at,
        }
    }

    pub fn is_over_allocated(&self) -> bool {
        self.allocated_mbps > self.max_capacity_mbps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, mbps: i64, active: u64, grace: u64) -> TypeSection {
        TypeSection {
            license_type: name.into(),
            allocated_mbps: mbps,
            active_licenses: active,
            grace_period_licenses: grace,
        }
    }

    #[test]
    fn allocation_is_the_sum_of_sections_and_available_may_go_negative() {
        let pool = PoolSummary::new(
            "t".into(),
            20_000,
            10,
            vec![
                section("VLM-5000", 5_000, 1, 0),
                section("VLM-10G", 20_000, 1, 1),
            ],
            None,
        );
        assert_eq!(pool.allocated_mbps, 25_000);
        assert_eq!(pool.available_mbps, -5_000);
        assert!(pool.is_over_allocated());
        assert_eq!(pool.loadmasters, 3);
        assert_eq!(pool.sections[0].license_type, "VLM-10G");
    }
}
