//! Usage and billing (004): what an asset is, a tenant's entitlements (plan, base assets,
//! add-ons, the pool's capacity and LoadMaster limit), applications of up to 15 Virtual
//! Services, the green/amber/red usage levels, the limits whose crossing is notified, and
//! the Usage and billing CSV.

use crate::csv_rules::inert;
use crate::format::format_datetime;
use serde::{Deserialize, Serialize};

/// The largest pool capacity an entitlement may give, in Mb/s (a million Tb/s).
pub const MAX_CAPACITY_MBPS: i64 = 1_000_000_000_000;

/// An application groups at most this many Virtual Services (004: "An application includes a
/// maximum of 15 Virtual Services").
pub const VIRTUAL_SERVICE_LIMIT: i64 = 15;

/// Where the consumption models are described (004's link).
pub const CONSUMPTION_MODELS_URL: &str = "https://kemptechnologies.com/pricing";
/// Where add-ons are described.
pub const ADD_ONS_URL: &str = "https://kemptechnologies.com/loadmaster-360";

/// How full a bar or percentage is: green under 50%, amber from 51 to 80%, red from 81%.
/// The level follows the whole percentage the page shows, so 50.4% (shown as 50%) is green
/// and 50.6% (shown as 51%) amber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Green,
    Amber,
    Red,
}

impl Level {
    pub fn key(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Amber => "amber",
            Level::Red => "red",
        }
    }

    /// Words for screen readers and the no-colour reading of a bar.
    pub fn label(self) -> &'static str {
        match self {
            Level::Green => "under half used",
            Level::Amber => "more than half used",
            Level::Red => "nearly or fully used",
        }
    }

    pub fn of_percent(percent: i64) -> Level {
        match percent {
            ..=50 => Level::Green,
            51..=80 => Level::Amber,
            _ => Level::Red,
        }
    }
}

/// `used` of `total` as the whole percentage the page shows (rounded half up). Anything used
/// of nothing is over 100%; nothing of nothing is 0%.
pub fn percent(used: i64, total: i64) -> i64 {
    let used = used.max(0);
    if total <= 0 {
        return if used > 0 { 101 } else { 0 };
    }
    ((used as i128 * 200 + total as i128) / (total as i128 * 2)) as i64
}

/// A usage figure as a bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: i64,
    pub total: i64,
    pub percent: i64,
    pub level: Level,
}

impl Usage {
    pub fn new(used: i64, total: i64) -> Usage {
        let percent = percent(used, total);
        Usage {
            used,
            total,
            percent,
            level: Level::of_percent(percent),
        }
    }

    /// The bar's width: the percentage, never beyond the bar.
    pub fn width_percent(&self) -> i64 {
        self.percent.clamp(0, 100)
    }

    /// The limit is reached (used at or beyond the total).
    pub fn reached(&self) -> bool {
        self.used >= self.total && (self.total > 0 || self.used > 0)
    }
}

/// One LoadMaster as asset counting needs it: itself and its HA and GEO partners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDevice {
    pub id: String,
    pub ha_partner_id: Option<String>,
    pub geo_partner_id: Option<String>,
}

/// How many assets LoadMasters make (004): a single LoadMaster is one; an HA pair is
/// counted once; GEO partners that are not an HA pair are separate assets (a GEO link
/// never merges two LoadMasters). A partner id that names no listed LoadMaster (removed,
/// or another tenant's) does not merge anything.
pub fn loadmaster_assets(devices: &[AssetDevice]) -> i64 {
    use std::collections::HashMap;
    // Union-find over HA links (recorded on either side or both), whatever the order.
    let index: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    let mut parent: Vec<usize> = (0..devices.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, d) in devices.iter().enumerate() {
        if let Some(&j) = d.ha_partner_id.as_deref().and_then(|p| index.get(p)) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            if a != b {
                parent[a] = b;
            }
        }
    }
    (0..devices.len())
        .filter(|&i| root(&mut parent, i) == i)
        .count() as i64
}

/// Used assets: for pooled licensing only applications count (004: "LoadMasters do not count
/// as a used asset for pooled licenses (just applications)"); otherwise LoadMasters (HA
/// pairs once) and applications.
pub fn used_assets(pooled: bool, devices: &[AssetDevice], applications: i64) -> i64 {
    if pooled {
        applications
    } else {
        loadmaster_assets(devices) + applications
    }
}

/// A tenant's subscription status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Trial,
    Suspended,
    Expired,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 4] = [
        SubscriptionStatus::Active,
        SubscriptionStatus::Trial,
        SubscriptionStatus::Suspended,
        SubscriptionStatus::Expired,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Trial => "trial",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "Active",
            SubscriptionStatus::Trial => "Trial",
            SubscriptionStatus::Suspended => "Suspended",
            SubscriptionStatus::Expired => "Expired",
        }
    }

    pub fn from_key(key: &str) -> Option<SubscriptionStatus> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// An add-on to the subscription (004: Description, Quantity, Status, Activation Date, Bill
/// Date). An Active add-on's quantity adds to the total assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOn {
    pub description: String,
    pub quantity: i64,
    pub status: SubscriptionStatus,
    pub activated_at: Option<i64>,
    pub bill_at: Option<i64>,
}

/// What the tenant is entitled to: its subscription, add-ons, and the pool's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    /// The tenant owner's name and Progress ID.
    pub owner_name: String,
    pub progress_id: String,
    pub order_id: String,
    pub plan: String,
    /// Pooled licensing: only applications count as used assets.
    pub pooled: bool,
    pub base_assets: i64,
    pub add_ons: Vec<AddOn>,
    pub virtual_service_limit: i64,
    pub status: SubscriptionStatus,
    pub activated_at: Option<i64>,
    pub bill_at: Option<i64>,
    pub next_bill_at: Option<i64>,
    pub max_capacity_mbps: i64,
    pub loadmaster_limit: i64,
}

impl Entitlement {
    /// Base assets plus the quantities of Active add-ons.
    pub fn total_assets(&self) -> i64 {
        self.base_assets
            + self
                .add_ons
                .iter()
                .filter(|a| a.status == SubscriptionStatus::Active)
                .map(|a| a.quantity.max(0))
                .sum::<i64>()
    }

    /// Check what an operator or an upstream service sends before it is applied.
    pub fn validate(&self) -> Result<(), crate::AppError> {
        use crate::AppError;
        let text = |name: &str, value: &str, max: usize| {
            if value.chars().count() > max || value.chars().any(char::is_control) {
                Err(AppError::invalid(
                    name,
                    format!("must be at most {max} characters of text"),
                ))
            } else {
                Ok(())
            }
        };
        text("owner_name", &self.owner_name, 200)?;
        text("progress_id", &self.progress_id, 100)?;
        text("order_id", &self.order_id, 100)?;
        text("plan", &self.plan, 100)?;
        if self.plan.trim().is_empty() {
            return Err(AppError::invalid("plan", "must not be empty"));
        }
        let count = |name: &str, value: i64| {
            if !(0..=1_000_000_000).contains(&value) {
                Err(AppError::invalid(
                    name,
                    "must be a whole number from 0 to 1,000,000,000",
                ))
            } else {
                Ok(())
            }
        };
        count("base_assets", self.base_assets)?;
        // Capacity is in Mb/s: a pool of a million licenses of 10 Gb/s each needs 10^10.
        if !(0..=MAX_CAPACITY_MBPS).contains(&self.max_capacity_mbps) {
            return Err(AppError::invalid(
                "max_capacity_mbps",
                "must be a whole number of Mb/s from 0 to 1,000,000,000,000",
            ));
        }
        count("loadmaster_limit", self.loadmaster_limit)?;
        if !(1..=VIRTUAL_SERVICE_LIMIT).contains(&self.virtual_service_limit) {
            return Err(AppError::invalid(
                "virtual_service_limit",
                format!("must be from 1 to {VIRTUAL_SERVICE_LIMIT}"),
            ));
        }
        if self.add_ons.len() > 100 {
            return Err(AppError::invalid("add_ons", "at most 100 add-ons"));
        }
        for add_on in &self.add_ons {
            text("add_ons.description", &add_on.description, 200)?;
            if add_on.description.trim().is_empty() {
                return Err(AppError::invalid(
                    "add_ons.description",
                    "must not be empty",
                ));
            }
            count("add_ons.quantity", add_on.quantity)?;
        }
        Ok(())
    }

    /// What differs from `before`, field by field, in words the page and the event log show.
    pub fn changes_from(&self, before: &Entitlement) -> Vec<EntitlementChange> {
        let mut changes = Vec::new();
        let mut field = |name: &str, from: String, to: String| {
            if from != to {
                changes.push(EntitlementChange {
                    field: name.to_string(),
                    from,
                    to,
                });
            }
        };
        let time = |t: Option<i64>| t.map(format_datetime).unwrap_or_default();
        field("Name", before.owner_name.clone(), self.owner_name.clone());
        field(
            "Progress ID",
            before.progress_id.clone(),
            self.progress_id.clone(),
        );
        field("Order ID", before.order_id.clone(), self.order_id.clone());
        field("Plan", before.plan.clone(), self.plan.clone());
        field(
            "Pooled licensing",
            yes_no(before.pooled),
            yes_no(self.pooled),
        );
        field(
            "Base Assets",
            before.base_assets.to_string(),
            self.base_assets.to_string(),
        );
        field(
            "Total Assets",
            before.total_assets().to_string(),
            self.total_assets().to_string(),
        );
        field(
            "Virtual Service Limit",
            before.virtual_service_limit.to_string(),
            self.virtual_service_limit.to_string(),
        );
        field(
            "Status",
            before.status.label().to_string(),
            self.status.label().to_string(),
        );
        field(
            "Activation Date",
            time(before.activated_at),
            time(self.activated_at),
        );
        field("Bill Date", time(before.bill_at), time(self.bill_at));
        field(
            "Next bill date",
            time(before.next_bill_at),
            time(self.next_bill_at),
        );
        field(
            "Maximum capacity (Mb/s)",
            before.max_capacity_mbps.to_string(),
            self.max_capacity_mbps.to_string(),
        );
        field(
            "LoadMaster limit",
            before.loadmaster_limit.to_string(),
            self.loadmaster_limit.to_string(),
        );
        let add_ons = |e: &Entitlement| {
            e.add_ons
                .iter()
                .map(|a| format!("{} × {} ({})", a.description, a.quantity, a.status.label()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        field("Add Ons", add_ons(before), add_ons(self));
        changes
    }
}

/// An entitlement as an operator types it (the operator page and the command line): numbers
/// and dates as text, add-ons one per line as
/// `description; quantity; status[; activation date[; bill date]]`, dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementForm {
    pub owner_name: String,
    pub progress_id: String,
    pub order_id: String,
    pub plan: String,
    pub pooled: bool,
    pub base_assets: String,
    pub status: String,
    pub activated_on: String,
    pub bill_on: String,
    pub next_bill_on: String,
    pub max_capacity_mbps: String,
    pub loadmaster_limit: String,
    pub add_ons: String,
}

fn parse_day(field: &str, value: &str) -> Result<Option<i64>, crate::AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc().timestamp()))
        .ok_or_else(|| crate::AppError::invalid(field, "must be a date as YYYY-MM-DD"))
}

fn parse_count(field: &str, value: &str) -> Result<i64, crate::AppError> {
    value
        .trim()
        .replace(',', "")
        .parse::<i64>()
        .map_err(|_| crate::AppError::invalid(field, "must be a whole number"))
}

fn parse_status(field: &str, value: &str) -> Result<SubscriptionStatus, crate::AppError> {
    SubscriptionStatus::from_key(&value.trim().to_lowercase()).ok_or_else(|| {
        crate::AppError::invalid(field, "must be active, trial, suspended or expired")
    })
}

impl EntitlementForm {
    /// The form as an entitlement (checked).
    pub fn parse(&self, virtual_service_limit: i64) -> Result<Entitlement, crate::AppError> {
        let mut add_ons = Vec::new();
        for line in self
            .add_ons
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let parts: Vec<&str> = line.split(';').map(str::trim).collect();
            if !(3..=5).contains(&parts.len()) {
                return Err(crate::AppError::invalid(
                    "add_ons",
                    format!("\"{line}\" is not description; quantity; status[; activation date[; bill date]]"),
                ));
            }
            add_ons.push(AddOn {
                description: parts[0].to_string(),
                quantity: parse_count("add_ons.quantity", parts[1])?,
                status: parse_status("add_ons.status", parts[2])?,
                activated_at: parse_day(
                    "add_ons.activation_date",
                    parts.get(3).copied().unwrap_or(""),
                )?,
                bill_at: parse_day("add_ons.bill_date", parts.get(4).copied().unwrap_or(""))?,
            });
        }
        let entitlement = Entitlement {
            owner_name: self.owner_name.trim().to_string(),
            progress_id: self.progress_id.trim().to_string(),
            order_id: self.order_id.trim().to_string(),
            plan: self.plan.trim().to_string(),
            pooled: self.pooled,
            base_assets: parse_count("base_assets", &self.base_assets)?,
            add_ons,
            virtual_service_limit,
            status: parse_status("status", &self.status)?,
            activated_at: parse_day("activated_on", &self.activated_on)?,
            bill_at: parse_day("bill_on", &self.bill_on)?,
            next_bill_at: parse_day("next_bill_on", &self.next_bill_on)?,
            max_capacity_mbps: parse_count("max_capacity_mbps", &self.max_capacity_mbps)?,
            loadmaster_limit: parse_count("loadmaster_limit", &self.loadmaster_limit)?,
        };
        entitlement.validate()?;
        Ok(entitlement)
    }

    /// The form filled with an entitlement (for editing it).
    pub fn of(e: &Entitlement) -> EntitlementForm {
        let day = |t: Option<i64>| t.map(crate::format::format_date).unwrap_or_default();
        EntitlementForm {
            owner_name: e.owner_name.clone(),
            progress_id: e.progress_id.clone(),
            order_id: e.order_id.clone(),
            plan: e.plan.clone(),
            pooled: e.pooled,
            base_assets: e.base_assets.to_string(),
            status: e.status.key().to_string(),
            activated_on: day(e.activated_at),
            bill_on: day(e.bill_at),
            next_bill_on: day(e.next_bill_at),
            max_capacity_mbps: e.max_capacity_mbps.to_string(),
            loadmaster_limit: e.loadmaster_limit.to_string(),
            add_ons: e
                .add_ons
                .iter()
                .map(|a| {
                    format!(
                        "{}; {}; {}; {}; {}",
                        a.description,
                        a.quantity,
                        a.status.key(),
                        day(a.activated_at),
                        day(a.bill_at)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

fn yes_no(value: bool) -> String {
    if value { "Yes" } else { "No" }.to_string()
}

/// What changed, in one line for the event log: `Field: from → to; ...` (at most 1,000
/// characters).
pub fn describe_changes(changes: &[EntitlementChange]) -> String {
    if changes.is_empty() {
        return "nothing changed".to_string();
    }
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
        .collect::<Vec<_>>()
        .join("; ")
        .chars()
        .take(1000)
        .collect()
}

/// One field an entitlement sync changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Where a tenant's entitlements come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementSourceKind {
    /// The portal operator's own records (the default).
    Operator,
    /// An upstream licensing service over HTTPS.
    Upstream,
}

/// Sync entitlements: one pull from the entitlement source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementSync {
    pub id: String,
    pub source: EntitlementSourceKind,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// running, done or failed.
    pub status: String,
    /// Why it failed (a stable code and a message), when it did.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub changes: Vec<EntitlementChange>,
}

impl EntitlementSync {
    pub fn finished(&self) -> bool {
        self.status != "running"
    }
}

/// A Virtual Service on one of the tenant's LoadMasters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ApplicationPage {
    pub applications: Vec<ApplicationUsage>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The items-per-page choices of the Mapped application usage table.
pub const PER_PAGE_CHOICES: [u32; 3] = [10, 20, 50];

/// The page's figures: the subscription, the two pool bars and the assets bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Limits whose crossing sends a message on the tenant's channels (004).
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

/// A tenant's communication channels: email recipients (the SMTP server is the
/// deployment's) and a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    pub email_recipients: Vec<String>,
    pub webhook_url: Option<String>,
    /// Whether a signing secret is set (the secret itself is shown once, when made).
    pub webhook_secret_set: bool,
}

/// A webhook delivery as the portal shows it (failures are visible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub event: String,
    pub created_at: i64,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// Whether a host names this machine or a private, link-local or otherwise internal network
/// (a webhook there could be used to probe the portal's own network).
pub fn is_internal_host(host: &str) -> bool {
    use std::net::IpAddr;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
    {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal_host(&v4.to_string()))
        }
        Err(_) => false,
    }
}

/// A webhook URL must be `https://` to a public host. A deployment that allows private
/// receivers (tests, an on-premises receiver) also takes internal hosts, and `http://` to
/// this machine.
pub fn check_webhook_url(url: &str, allow_private: bool) -> Result<(), crate::AppError> {
    let url = url.trim();
    let bad = |why: &str| crate::AppError::invalid("webhook_url", why.to_string());
    if url.len() > 500 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must be an https:// address of at most 500 characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must be an https:// address"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad(
            "must be an https:// address with a host (and no user name)",
        ));
    }
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
    } else {
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
    };
    if host.is_empty() {
        return Err(bad("must be an https:// address with a host"));
    }
    let internal = is_internal_host(host);
    match scheme.to_ascii_lowercase().as_str() {
        "https" if internal && !allow_private => Err(bad(
            "must not name this machine or a private network (this deployment does not allow private receivers)",
        )),
        "https" => Ok(()),
        "http" if allow_private && matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(()),
        _ => Err(bad("must be an https:// address")),
    }
}

/// The Usage and billing CSV: the tenant's fields in 004's order, then its add-ons, then its
/// applications with used and remaining Virtual Services. Every text cell is made inert.
pub fn usage_csv_rows(
    overview: &UsageOverview,
    applications: &[ApplicationUsage],
) -> Vec<Vec<String>> {
    let e = &overview.entitlement;
    let text = |s: &str| inert(s).into_owned();
    let time = |t: Option<i64>| t.map(format_datetime).unwrap_or_default();
    let mut rows = vec![
        [
            "Name",
            "Progress ID",
            "Order ID",
            "Plan",
            "Base Assets",
            "Total Assets",
            "Used Assets",
            "Remaining Assets",
            "Virtual Service Limit",
            "Status",
            "Activation Date",
            "Bill Date",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            text(&e.owner_name),
            text(&e.progress_id),
            text(&e.order_id),
            text(&e.plan),
            e.base_assets.to_string(),
            overview.total_assets.to_string(),
            overview.assets.used.to_string(),
            overview.remaining_assets().to_string(),
            e.virtual_service_limit.to_string(),
            e.status.label().to_string(),
            time(e.activated_at),
            time(e.bill_at),
        ],
        vec![],
        vec!["Add Ons".to_string()],
        [
            "Description",
            "Quantity",
            "Status",
            "Activation Date",
            "Bill Date",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in &e.add_ons {
        rows.push(vec![
            text(&a.description),
            a.quantity.to_string(),
            a.status.label().to_string(),
            time(a.activated_at),
            time(a.bill_at),
        ]);
    }
    rows.push(vec![]);
    rows.push(vec!["Assets".to_string()]);
    rows.push(
        [
            "Application",
            "Used Virtual Services",
            "Remaining Virtual Services",
        ]
        .map(String::from)
        .to_vec(),
    );
    for a in applications {
        rows.push(vec![
            text(&a.name),
            a.virtual_services.to_string(),
            a.remaining().to_string(),
        ]);
    }
    rows
}

/// `Usage_and_billing_YYYYMMDD.csv`.
pub fn usage_file_name(today: chrono::NaiveDate) -> String {
    format!("Usage_and_billing_{}.csv", today.format("%Y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lm(id: &str, ha: Option<&str>, geo: Option<&str>) -> AssetDevice {
        AssetDevice {
            id: id.into(),
            ha_partner_id: ha.map(Into::into),
            geo_partner_id: geo.map(Into::into),
        }
    }

    #[test]
    fn a_single_loadmaster_is_one_asset_and_an_ha_pair_counts_once() {
        assert_eq!(loadmaster_assets(&[lm("a", None, None)]), 1);
        let pair = [lm("a", Some("b"), None), lm("b", Some("a"), None)];
        assert_eq!(loadmaster_assets(&pair), 1);
        // A pair recorded on one side only is still one pair, in either order.
        let one_sided = [lm("a", Some("b"), None), lm("b", None, None)];
        assert_eq!(loadmaster_assets(&one_sided), 1);
        let reversed = [lm("b", None, None), lm("a", Some("b"), None)];
        assert_eq!(loadmaster_assets(&reversed), 1);
        let mixed = [
            lm("a", Some("b"), None),
            lm("b", Some("a"), None),
            lm("c", None, None),
        ];
        assert_eq!(loadmaster_assets(&mixed), 2);
    }

    #[test]
    fn geo_partners_that_are_not_an_ha_pair_are_separate_assets() {
        let geo = [lm("a", None, Some("b")), lm("b", None, Some("a"))];
        assert_eq!(loadmaster_assets(&geo), 2);
        // An HA pair whose members are also GEO partners of a third: the pair once, the
        // third on its own.
        let both = [
            lm("a", Some("b"), Some("c")),
            lm("b", Some("a"), None),
            lm("c", None, Some("a")),
        ];
        assert_eq!(loadmaster_assets(&both), 2);
        // A partner that is not in the inventory merges nothing.
        assert_eq!(loadmaster_assets(&[lm("a", Some("gone"), None)]), 1);
    }

    #[test]
    fn pooled_licensing_counts_only_applications() {
        let devices = [
            lm("a", Some("b"), None),
            lm("b", Some("a"), None),
            lm("c", None, Some("a")),
        ];
        assert_eq!(used_assets(true, &devices, 4), 4);
        assert_eq!(used_assets(true, &devices, 0), 0);
        assert_eq!(used_assets(false, &devices, 4), 6);
        assert_eq!(used_assets(false, &[], 0), 0);
    }

    #[test]
    fn thresholds_green_to_50_amber_51_to_80_red_from_81_and_beyond_100() {
        assert_eq!(Usage::new(0, 100).level, Level::Green);
        assert_eq!(Usage::new(50, 100).level, Level::Green);
        assert_eq!(Usage::new(51, 100).level, Level::Amber);
        assert_eq!(Usage::new(80, 100).level, Level::Amber);
        assert_eq!(Usage::new(81, 100).level, Level::Red);
        assert_eq!(Usage::new(100, 100).level, Level::Red);
        let beyond = Usage::new(130, 100);
        assert_eq!(
            (beyond.level, beyond.percent, beyond.width_percent()),
            (Level::Red, 130, 100)
        );
        // The level follows the percentage shown: 7 of 15 is 47% (green), 8 of 15 is 53%.
        assert_eq!(Usage::new(7, 15).percent, 47);
        assert_eq!(Usage::new(8, 15).level, Level::Amber);
        assert_eq!(Usage::new(12, 15).percent, 80);
        assert_eq!(Usage::new(12, 15).level, Level::Amber);
        assert_eq!(Usage::new(13, 15).level, Level::Red);
        // Rounded half up: 50.5% shows as 51%.
        assert_eq!(percent(101, 200), 51);
        assert_eq!(percent(1001, 2000), 50);
    }

    #[test]
    fn an_empty_limit_is_green_when_unused_and_red_when_used() {
        assert_eq!(Usage::new(0, 0).level, Level::Green);
        assert!(!Usage::new(0, 0).reached());
        assert_eq!(Usage::new(1, 0).level, Level::Red);
        assert!(Usage::new(1, 0).reached());
        assert!(Usage::new(10, 10).reached());
        assert!(!Usage::new(9, 10).reached());
    }

    fn entitlement() -> Entitlement {
        Entitlement {
            owner_name: "Ada Owner".into(),
            progress_id: "PRG-1".into(),
            order_id: "ORD-1".into(),
            plan: "LoadMaster 360 Pooled".into(),
            pooled: true,
            base_assets: 10,
            add_ons: vec![
                AddOn {
                    description: "Additional assets".into(),
                    quantity: 5,
                    status: SubscriptionStatus::Active,
                    activated_at: Some(0),
                    bill_at: None,
                },
                AddOn {
                    description: "Lapsed pack".into(),
                    quantity: 7,
                    status: SubscriptionStatus::Expired,
                    activated_at: None,
                    bill_at: None,
                },
            ],
            virtual_service_limit: 15,
            status: SubscriptionStatus::Active,
            activated_at: Some(1_700_000_000),
            bill_at: Some(1_700_000_000),
            next_bill_at: Some(1_702_592_000),
            max_capacity_mbps: 10_000,
            loadmaster_limit: 50,
        }
    }

    #[test]
    fn total_assets_are_base_plus_active_add_ons() {
        assert_eq!(entitlement().total_assets(), 15);
    }

    #[test]
    fn changes_name_each_field_that_moved() {
        let before = entitlement();
        let mut after = entitlement();
        after.max_capacity_mbps = 5_000;
        after.base_assets = 12;
        let changes = after.changes_from(&before);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["Base Assets", "Total Assets", "Maximum capacity (Mb/s)"]
        );
        assert_eq!(changes[2].from, "10000");
        assert!(before.changes_from(&before).is_empty());
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut e = entitlement();
        e.virtual_service_limit = 16;
        assert!(
            matches!(e.validate(), Err(crate::AppError::InvalidParameter { parameter, .. }) if parameter == "virtual_service_limit")
        );
        let mut e = entitlement();
        e.base_assets = -1;
        assert!(e.validate().is_err());
        assert!(entitlement().validate().is_ok());
    }

    #[test]
    fn capacity_goes_up_to_a_million_tb_per_second() {
        let with = |mbps| Entitlement {
            max_capacity_mbps: mbps,
            ..entitlement()
        };
        // A million licenses of 10 Gb/s each (the benchmark's export pool) fits.
        assert!(with(10_000_000_000).validate().is_ok());
        assert!(with(MAX_CAPACITY_MBPS).validate().is_ok());
        for bad in [MAX_CAPACITY_MBPS + 1, -1] {
            assert!(
                matches!(with(bad).validate(), Err(crate::AppError::InvalidParameter { parameter, .. }) if parameter == "max_capacity_mbps"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_operator_form_round_trips_and_names_bad_fields() {
        let e = entitlement();
        let form = EntitlementForm::of(&e);
        let back = form.parse(15).unwrap();
        // Dates are kept to the day.
        assert_eq!(back.base_assets, e.base_assets);
        assert_eq!(back.add_ons.len(), 2);
        assert_eq!(back.add_ons[1].status, SubscriptionStatus::Expired);
        assert_eq!(back.total_assets(), 15);
        let mut bad = form.clone();
        bad.add_ons = "Extra; many; active".into();
        assert!(
            matches!(bad.parse(15), Err(crate::AppError::InvalidParameter { parameter, .. }) if parameter == "add_ons.quantity")
        );
        let mut bad = form;
        bad.bill_on = "31/12/2026".into();
        assert!(
            matches!(bad.parse(15), Err(crate::AppError::InvalidParameter { parameter, .. }) if parameter == "bill_on")
        );
    }

    #[test]
    fn webhooks_are_https_to_public_hosts_unless_private_receivers_are_allowed() {
        assert!(check_webhook_url("https://hooks.example.com/bandpool", false).is_ok());
        assert!(check_webhook_url("https://hooks.example.com:8443/x?y=1", false).is_ok());
        assert!(check_webhook_url("http://hooks.example.com/", false).is_err());
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", false).is_err());
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_webhook_url("http://example.com/hook", true).is_err());
        assert!(check_webhook_url("https://", false).is_err());
        assert!(check_webhook_url("ftp://x", true).is_err());
        // Internal hosts only where the deployment allows them.
        for internal in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.5:8443/",
            "https://169.254.169.254/latest",
            "https://localhost/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
        ] {
            assert!(check_webhook_url(internal, false).is_err(), "{internal}");
            assert!(check_webhook_url(internal, true).is_ok(), "{internal}");
        }
        // A user name cannot smuggle another host in.
        assert!(check_webhook_url("http://127.0.0.1:1@evil.example/", true).is_err());
        assert!(check_webhook_url("https://user@hooks.example.com/", false).is_err());
    }

    #[test]
    fn the_csv_has_004s_fields_in_order_then_add_ons_then_assets_and_formulas_are_inert() {
        let mut e = entitlement();
        e.owner_name = "=HYPERLINK(\"x\")".into();
        let overview = UsageOverview {
            tenant_name: "T".into(),
            total_assets: e.total_assets(),
            assets: Usage::new(2, e.total_assets()),
            capacity: Usage::new(0, e.max_capacity_mbps),
            loadmasters: Usage::new(0, e.loadmaster_limit),
            entitlement: e,
            source: EntitlementSourceKind::Operator,
            mapped_applications: 2,
            inventory_loadmasters: 3,
            last_refreshed_at: None,
            latest_sync: None,
        };
        let apps = vec![
            ApplicationUsage::new("1".into(), "Exchange".into(), 6, 15),
            ApplicationUsage::new("2".into(), "+SharePoint".into(), 15, 15),
        ];
        let rows = usage_csv_rows(&overview, &apps);
        assert_eq!(rows[0][0], "Name");
        assert_eq!(rows[0][11], "Bill Date");
        assert_eq!(rows[1][0], "'=HYPERLINK(\"x\")");
        assert_eq!(&rows[1][4..8], ["10", "15", "2", "13"]);
        assert_eq!(rows[3], ["Add Ons"]);
        assert_eq!(rows[5][0], "Additional assets");
        let assets_at = rows.iter().position(|r| r == &["Assets"]).unwrap();
        assert_eq!(rows[assets_at + 2], ["Exchange", "6", "9"]);
        assert_eq!(rows[assets_at + 3], ["'+SharePoint", "15", "0"]);
    }
}
