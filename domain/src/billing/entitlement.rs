//! A tenant's entitlement (plan, base assets, add-ons, the pool's capacity and LoadMaster
//! limit), the operator's form for it, what changed, and Sync entitlements runs.

use super::*;
use crate::format::format_datetime;
use serde::{Deserialize, Serialize};

/// A tenant's subscription status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SubscriptionStatus {
    Active,
    Trial,
    Suspended,
    Expired,
}

stored_as_key!(SubscriptionStatus, "subscription status");

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

/// An add-on to the subscription (the guide's columns: Description, Quantity, Status, Activation Date, Bill
/// Date). An Active add-on's quantity adds to the total assets.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AddOn {
    pub description: String,
    pub quantity: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: SubscriptionStatus,
    pub activated_at: Option<i64>,
    pub bill_at: Option<i64>,
}

/// What the tenant is entitled to: its subscription, add-ons, and the pool's limits. Also the
/// JSON an upstream licensing service answers to `GET <entitlements_url>/v1/entitlements/<Progress ID>`.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Entitlement {
    /// The tenant owner's name and Progress ID.
    pub owner_name: String,
    pub progress_id: String,
    pub order_id: String,
    pub plan: String,
    /// Pooled licensing: only applications count as used assets.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::Flag"))]
    pub pooled: bool,
    pub base_assets: i64,
    /// Read on their own (a row each).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub add_ons: Vec<AddOn>,
    pub virtual_service_limit: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
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
            if !crate::names::is_plain_text(value, max) {
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
        let count = |name: &str, value: i64| crate::names::count(name, value).map(drop);
        count("base_assets", self.base_assets)?;
        crate::names::capacity("max_capacity_mbps", self.max_capacity_mbps)?;
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
        // Each field as the page names and shows it, in the page's order; both sides are read
        // the same way, so a field is compared as the person sees it.
        type Shown = fn(&Entitlement) -> String;
        let fields: [(&str, Shown); 15] = [
            ("Name", |e| e.owner_name.clone()),
            ("Progress ID", |e| e.progress_id.clone()),
            ("Order ID", |e| e.order_id.clone()),
            ("Plan", |e| e.plan.clone()),
            ("Pooled licensing", |e| yes_no(e.pooled)),
            ("Base Assets", |e| e.base_assets.to_string()),
            ("Total Assets", |e| e.total_assets().to_string()),
            ("Virtual Service Limit", |e| {
                e.virtual_service_limit.to_string()
            }),
            ("Status", |e| e.status.label().to_string()),
            ("Activation Date", |e| date_and_time(e.activated_at)),
            ("Bill Date", |e| date_and_time(e.bill_at)),
            ("Next bill date", |e| date_and_time(e.next_bill_at)),
            ("Maximum capacity (Mb/s)", |e| {
                e.max_capacity_mbps.to_string()
            }),
            ("LoadMaster limit", |e| e.loadmaster_limit.to_string()),
            ("Add Ons", |e| {
                e.add_ons
                    .iter()
                    .map(|a| format!("{} × {} ({})", a.description, a.quantity, a.status.label()))
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        ];
        fields
            .into_iter()
            .filter_map(|(field, shown)| {
                let (from, to) = (shown(before), shown(self));
                (from != to).then(|| EntitlementChange {
                    field: field.to_string(),
                    from,
                    to,
                })
            })
            .collect()
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

pub(crate) fn parse_day(field: &str, value: &str) -> Result<Option<i64>, crate::AppError> {
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

pub(crate) fn parse_count(field: &str, value: &str) -> Result<i64, crate::AppError> {
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

/// A time as the page shows it; blank when there is none.
fn date_and_time(t: Option<i64>) -> String {
    t.map(format_datetime).unwrap_or_default()
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EntitlementChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Where a tenant's entitlements come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EntitlementSourceKind {
    /// The portal operator's own records (the default).
    Operator,
    /// An upstream licensing service over HTTPS.
    Upstream,
}

/// Sync entitlements: one pull from the entitlement source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
