//! Licenses as the License overview shows them, and the query that pages,
//! searches and sorts them (parsed from a URL or REST query string).

use crate::AppError;
use serde::{Deserialize, Serialize};

/// A license's status. Active and Grace Period hold pool capacity; Expired and Killed do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LicenseStatus {
    Active,
    GracePeriod,
    Expired,
    Killed,
}

stored_as_key!(LicenseStatus, "license status");

impl LicenseStatus {
    pub const ALL: [LicenseStatus; 4] = [
        LicenseStatus::Active,
        LicenseStatus::GracePeriod,
        LicenseStatus::Expired,
        LicenseStatus::Killed,
    ];

    /// The key stored in the database and used in URLs.
    pub fn key(self) -> &'static str {
        match self {
            LicenseStatus::Active => "active",
            LicenseStatus::GracePeriod => "grace_period",
            LicenseStatus::Expired => "expired",
            LicenseStatus::Killed => "killed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LicenseStatus::Active => "Active",
            LicenseStatus::GracePeriod => "Grace Period",
            LicenseStatus::Expired => "Expired",
            LicenseStatus::Killed => "Killed",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether a license in this status counts against the pool's capacity.
    pub fn holds_capacity(self) -> bool {
        matches!(self, LicenseStatus::Active | LicenseStatus::GracePeriod)
    }
}

/// The ten columns of the License overview, in their display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Column {
    DeviceName,
    IpAddress,
    SerialNo,
    LicenseName,
    Status,
    Bandwidth,
    SslTps,
    GracePeriod,
    ActivationDate,
    RecoveryDate,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::DeviceName,
        Column::IpAddress,
        Column::SerialNo,
        Column::LicenseName,
        Column::Status,
        Column::Bandwidth,
        Column::SslTps,
        Column::GracePeriod,
        Column::ActivationDate,
        Column::RecoveryDate,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Column::DeviceName => "device_name",
            Column::IpAddress => "ip_address",
            Column::SerialNo => "serial_no",
            Column::LicenseName => "license_name",
            Column::Status => "status",
            Column::Bandwidth => "bandwidth",
            Column::SslTps => "ssl_tps",
            Column::GracePeriod => "grace_period",
            Column::ActivationDate => "activation_date",
            Column::RecoveryDate => "recovery_date",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Column::DeviceName => "Device Name",
            Column::IpAddress => "IP Address",
            Column::SerialNo => "Serial no.",
            Column::LicenseName => "License Name",
            Column::Status => "Status",
            Column::Bandwidth => "Bandwidth",
            Column::SslTps => "SSL TPS",
            Column::GracePeriod => "Grace Period",
            Column::ActivationDate => "Activation Date",
            Column::RecoveryDate => "Recovery Date",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    pub fn key(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    pub fn flipped(self) -> Self {
        match self {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        }
    }
}

/// One license row of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
pub struct License {
    pub id: String,
    /// Removed when the license is killed.
    pub device_name: Option<String>,
    /// Removed when the license is killed.
    pub ip_address: Option<String>,
    pub serial_no: String,
    pub license_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: LicenseStatus,
    pub bandwidth_mbps: i64,
    pub ssl_tps: i64,
    /// When the grace period ends (or ended), as Unix seconds UTC.
    pub grace_period_end: Option<i64>,
    pub activated_at: i64,
    /// When the license was recovered (killed) and its capacity returned to the pool.
    pub recovered_at: Option<i64>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::Flag"))]
    pub issued_through_portal: bool,
    pub connector_id: Option<String>,
}

impl License {
    /// The overview shows the history arrow only on an Active license (the License
    /// Repository's rule: Grace Period, Expired and Killed rows have none).
    pub fn has_history_arrow(&self) -> bool {
        self.status == LicenseStatus::Active
    }
}

/// How many licenses the pool has in each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    pub active: u64,
    pub grace_period: u64,
    pub expired: u64,
    pub killed: u64,
}

impl StatusCounts {
    pub fn get(&self, status: LicenseStatus) -> u64 {
        match status {
            LicenseStatus::Active => self.active,
            LicenseStatus::GracePeriod => self.grace_period,
            LicenseStatus::Expired => self.expired,
            LicenseStatus::Killed => self.killed,
        }
    }

    pub fn set(&mut self, status: LicenseStatus, count: u64) {
        match status {
            LicenseStatus::Active => self.active = count,
            LicenseStatus::GracePeriod => self.grace_period = count,
            LicenseStatus::Expired => self.expired = count,
            LicenseStatus::Killed => self.killed = count,
        }
    }

    pub fn total(&self) -> u64 {
        self.active + self.grace_period + self.expired + self.killed
    }
}

/// One page of the License overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicensePage {
    pub licenses: Vec<License>,
    /// Licenses matching the status filter and search, over all pages.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub pages: u32,
    /// Counts over the whole pool, whatever the filter.
    pub status_counts: StatusCounts,
}

/// One record of a license's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub at: i64,
    pub from_status: Option<LicenseStatus>,
    pub to_status: LicenseStatus,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseHistory {
    pub license: License,
    /// Oldest first.
    pub entries: Vec<HistoryEntry>,
}

impl LicenseHistory {
    /// A license with only its first record has "No historical data available".
    pub fn has_historical_data(&self) -> bool {
        self.entries.len() > 1
    }
}

pub const DEFAULT_PER_PAGE: u32 = 10;
pub const MAX_PER_PAGE: u32 = 500;
/// The choices of the page-size drop-down.
pub const PAGE_SIZES: [u32; 4] = [10, 25, 50, 100];
pub const MAX_SEARCH_LEN: usize = 200;

/// A validated License overview query: filter, search, sort and page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenseQuery {
    pub status: Option<LicenseStatus>,
    pub q: Option<String>,
    pub sort: Column,
    pub order: SortOrder,
    pub page: u32,
    pub per_page: u32,
}

impl Default for LicenseQuery {
    fn default() -> Self {
        LicenseQuery {
            status: None,
            q: None,
            sort: Column::DeviceName,
            order: SortOrder::Asc,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// The raw parameters of a License overview query, as strings from a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenseQueryParams {
    pub status: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl LicenseQueryParams {
    pub const NAMES: [&'static str; 6] = ["status", "q", "sort", "order", "page", "per_page"];

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        LicenseQueryParams {
            status: get("status"),
            q: get("q"),
            sort: get("sort"),
            order: get("order"),
            page: get("page"),
            per_page: get("per_page"),
        }
    }

    /// The parameters among `(name, value)` pairs, such as a query's `to_params` (the first
    /// pair of a name counts).
    pub fn from_pairs<V: AsRef<str>>(pairs: &[(&str, V)]) -> Self {
        Self::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_ref().to_string())
        })
    }

    /// Validate: every problem names the parameter and says what is expected.
    pub fn parse(&self) -> Result<LicenseQuery, AppError> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut query = LicenseQuery::default();
        if let Some(status) = blank(&self.status) {
            query.status = Some(LicenseStatus::from_key(&status).ok_or_else(|| {
                AppError::invalid(
                    "status",
                    "must be one of active, grace_period, expired, killed",
                )
            })?);
        }
        if let Some(q) = blank(&self.q) {
            if q.chars().count() > MAX_SEARCH_LEN {
                return Err(AppError::invalid(
                    "q",
                    format!("must be at most {MAX_SEARCH_LEN} characters"),
                ));
            }
            query.q = Some(q);
        }
        if let Some(sort) = blank(&self.sort) {
            query.sort = Column::from_key(&sort).ok_or_else(|| {
                let keys: Vec<_> = Column::ALL.iter().map(|c| c.key()).collect();
                AppError::invalid("sort", format!("must be one of {}", keys.join(", ")))
            })?;
        }
        if let Some(order) = blank(&self.order) {
            query.order = match order.as_str() {
                "asc" => SortOrder::Asc,
                "desc" => SortOrder::Desc,
                _ => return Err(AppError::invalid("order", "must be asc or desc")),
            };
        }
        if let Some(page) = blank(&self.page) {
            query.page = page
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| AppError::invalid("page", "must be a whole number, 1 or more"))?;
        }
        if let Some(per_page) = blank(&self.per_page) {
            query.per_page = per_page
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                .ok_or_else(|| {
                    AppError::invalid(
                        "per_page",
                        format!("must be a whole number between 1 and {MAX_PER_PAGE}"),
                    )
                })?;
        }
        Ok(query)
    }
}

impl LicenseQuery {
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    /// The number of pages `total` rows fill (at least one, so "page 1 of 1" for an empty result).
    pub fn pages_for(&self, total: u64) -> u32 {
        let pages = total.div_ceil(u64::from(self.per_page)).max(1);
        u32::try_from(pages).unwrap_or(u32::MAX)
    }

    /// The query as URL parameters, leaving out defaults so links stay short.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let defaults = LicenseQuery::default();
        let mut out = Vec::new();
        if let Some(status) = self.status {
            out.push(("status", status.key().to_string()));
        }
        if let Some(q) = &self.q {
            out.push(("q", q.clone()));
        }
        if self.sort != defaults.sort {
            out.push(("sort", self.sort.key().to_string()));
        }
        if self.order != defaults.order {
            out.push(("order", self.order.key().to_string()));
        }
        if self.page != defaults.page {
            out.push(("page", self.page.to_string()));
        }
        if self.per_page != defaults.per_page {
            out.push(("per_page", self.per_page.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> LicenseQueryParams {
        LicenseQueryParams::from_pairs(pairs)
    }

    #[test]
    fn defaults_sort_by_device_name_ten_per_page() {
        let q = params(&[]).parse().unwrap();
        assert_eq!(q, LicenseQuery::default());
        assert_eq!(q.sort, Column::DeviceName);
        assert_eq!(q.per_page, 10);
        assert!(q.to_params().is_empty());
    }

    #[test]
    fn parses_every_parameter_and_round_trips() {
        let q = params(&[
            ("status", "grace_period"),
            ("q", " lm-1 "),
            ("sort", "bandwidth"),
            ("order", "desc"),
            ("page", "3"),
            ("per_page", "25"),
        ])
        .parse()
        .unwrap();
        assert_eq!(q.status, Some(LicenseStatus::GracePeriod));
        assert_eq!(q.q.as_deref(), Some("lm-1"));
        assert_eq!(q.offset(), 50);
        let again = LicenseQueryParams::from_pairs(&q.to_params())
            .parse()
            .unwrap();
        assert_eq!(again, q);
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (name, value) in [
            ("status", "gone"),
            ("sort", "colour"),
            ("order", "up"),
            ("page", "0"),
            ("page", "-1"),
            ("page", "x"),
            ("per_page", "0"),
            ("per_page", "501"),
        ] {
            match params(&[(name, value)]).parse() {
                Err(AppError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, name),
                other => panic!("{name}={value} gave {other:?}"),
            }
        }
        let long = "x".repeat(MAX_SEARCH_LEN + 1);
        assert!(params(&[("q", &long)]).parse().is_err());
    }

    #[test]
    fn page_count_never_zero() {
        let q = LicenseQuery::default();
        assert_eq!(q.pages_for(0), 1);
        assert_eq!(q.pages_for(10), 1);
        assert_eq!(q.pages_for(11), 2);
    }

    #[test]
    fn only_capacity_holding_statuses_count() {
        assert!(LicenseStatus::Active.holds_capacity());
        assert!(LicenseStatus::GracePeriod.holds_capacity());
        assert!(!LicenseStatus::Expired.holds_capacity());
        assert!(!LicenseStatus::Killed.holds_capacity());
    }
}
