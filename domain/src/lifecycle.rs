//! The license lifecycle: what kind of license a LoadMaster holds (pooled from the tenant's
//! pool, permanent from one of the vendor's orders, a 30-day temporary or trial license, or
//! metered), when its term ends, its subscriptions (support and the features that come
//! with it, each with its own expiration date), the vendor's orders, and the rules of the
//! LoadMaster licensing guide for which kind a LoadMaster may take.
//!
//! Every kind that is not metered takes its bandwidth from the pool like a pooled license
//! (one accounting for the License Repository and the allocation charts); a permanent
//! license is in addition limited by its order's quantity of that license type.

use crate::error::Refusal;
use crate::AppError;
use serde::{Deserialize, Serialize};

/// How long a temporary or trial license lasts.
pub const TERM_DAYS: i64 = 30;

/// The license type a trial gives: the largest Virtual LoadMaster.
pub const TRIAL_LICENSE_TYPE: &str = "vlm-max";

/// Days before a subscription expires on which its Owners are told (once each).
pub const SUBSCRIPTION_WARNINGS: [i64; 2] = [30, 7];

/// The most lines an order may have.
pub const MAX_ORDER_LINES: usize = 50;

/// The kind of a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LicenseKind {
    /// Taken from the tenant's pool, without a term (the License Repository's licenses).
    Pooled,
    /// Bought on an order; it lasts as long as the order's line says (usually for ever).
    Permanent,
    /// Thirty days of the license type asked for with Enterprise Plus support; no Order ID.
    Temporary,
    /// Thirty days of a VLM-MAX with Enterprise Plus support.
    Trial,
    /// Billed for what it uses (the tenant's metered contract).
    Metered,
}

stored_as_key!(LicenseKind, "license kind");

impl LicenseKind {
    pub const ALL: [LicenseKind; 5] = [
        LicenseKind::Pooled,
        LicenseKind::Permanent,
        LicenseKind::Temporary,
        LicenseKind::Trial,
        LicenseKind::Metered,
    ];

    pub fn key(self) -> &'static str {
        match self {
            LicenseKind::Pooled => "pooled",
            LicenseKind::Permanent => "permanent",
            LicenseKind::Temporary => "temporary",
            LicenseKind::Trial => "trial",
            LicenseKind::Metered => "metered",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LicenseKind::Pooled => "Pooled",
            LicenseKind::Permanent => "Permanent",
            LicenseKind::Temporary => "Temporary",
            LicenseKind::Trial => "Trial",
            LicenseKind::Metered => "Metered",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Temporary and trial licenses: thirty days, and never one on top of another.
    pub fn is_temporary(self) -> bool {
        matches!(self, LicenseKind::Temporary | LicenseKind::Trial)
    }
}

/// A support tier an order buys: the support subscription and the feature subscriptions that
/// come with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SupportTier {
    Standard,
    Enterprise,
    EnterprisePlus,
}

stored_as_key!(SupportTier, "support tier");

impl SupportTier {
    pub const ALL: [SupportTier; 3] = [
        SupportTier::Standard,
        SupportTier::Enterprise,
        SupportTier::EnterprisePlus,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SupportTier::Standard => "standard",
            SupportTier::Enterprise => "enterprise",
            SupportTier::EnterprisePlus => "enterprise_plus",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SupportTier::Standard => "Standard",
            SupportTier::Enterprise => "Enterprise",
            SupportTier::EnterprisePlus => "Enterprise Plus",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The subscriptions a license with this support holds: the support first, then its
    /// features (the names the Licenses table shows).
    pub fn subscriptions(self) -> &'static [&'static str] {
        match self {
            SupportTier::Standard => &["Standard"],
            SupportTier::Enterprise => &["Enterprise", "ESP Subscription", "GEO Blacklist IP"],
            SupportTier::EnterprisePlus => &[
                "Enterprise Plus",
                "ESP Subscription",
                "GEO Blacklist IP",
                "ModSecurity",
                "WAF Subscription",
                "SDN Subscription",
                "TCP Multiplexing",
            ],
        }
    }
}

/// One subscription of a license and when it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// `Enterprise Plus`, `WAF Subscription`, ...
    pub name: String,
    /// Unix seconds UTC.
    pub expires_at: i64,
}

/// An order as the operator records it (page, command line, REST, or the entitlements
/// upstream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderInput {
    /// The vendor's Order ID (`ORD-2026-0042`): letters, digits and `-_./`.
    pub order_id: String,
    pub support_tier: SupportTier,
    /// The last day of support (`YYYY-MM-DD`, UTC); its subscriptions end at the end of it.
    pub support_ends_on: String,
    pub lines: Vec<OrderLineInput>,
    /// A Service Provider License Agreement: its licenses can never be transferred.
    #[serde(default)]
    pub spla: bool,
}

/// One license type on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLineInput {
    /// `vlm-5000`.
    pub license_type_id: String,
    pub quantity: i64,
    /// The last day of the licenses' term (`YYYY-MM-DD`); absent: they do not end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_ends_on: Option<String>,
}

impl OrderLineInput {
    /// A line as the command line writes it: `vlm-500=3`, or `vlm-500=3@2027-12-31` for
    /// licenses whose term ends; a refusal names `lines[i]`.
    pub fn parse(i: usize, text: &str) -> Result<OrderLineInput, AppError> {
        let bad = || {
            AppError::invalid(
                format!("lines[{i}]"),
                "must be <license type>=<quantity>[@YYYY-MM-DD], e.g. vlm-500=3",
            )
        };
        let (license_type_id, rest) = text.split_once('=').ok_or_else(bad)?;
        let (quantity, ends) = match rest.split_once('@') {
            Some((q, d)) => (q, Some(d.trim().to_string())),
            None => (rest, None),
        };
        Ok(OrderLineInput {
            license_type_id: license_type_id.trim().to_string(),
            quantity: quantity.trim().parse().map_err(|_| bad())?,
            license_ends_on: ends,
        })
    }
}

/// An order, checked: its dates as the instants they end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrder {
    pub order_id: String,
    pub support_tier: SupportTier,
    pub support_ends_at: i64,
    pub spla: bool,
    /// (license type, quantity, the end of the licenses' term)
    pub lines: Vec<(String, i64, Option<i64>)>,
}

/// The end of a UTC day given as `YYYY-MM-DD`: the first second of the next day.
fn end_of_day(parameter: &str, day: &str) -> Result<i64, AppError> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(parameter, "must be a date as YYYY-MM-DD"))?;
    date.succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| AppError::invalid(parameter, "must be a date as YYYY-MM-DD"))
}

/// Whether `id` is a plausible Order ID; a refusal names `parameter`.
pub fn check_order_id(parameter: &str, id: &str) -> Result<String, AppError> {
    let id = id.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if id.is_empty() || id.len() > 64 || !id.chars().all(allowed) {
        return Err(AppError::invalid(
            parameter,
            "must be 1 to 64 letters, digits or - _ . /",
        ));
    }
    Ok(id.to_string())
}

impl OrderInput {
    /// An order as the operator's form sends it: the support tier by its key and the lines
    /// one per line of text (`vlm-500=3`, `vlm-2000=1@2027-12-31`).
    pub fn from_form(
        order_id: String,
        support_tier: &str,
        support_ends_on: String,
        lines: &str,
        spla: bool,
    ) -> Result<OrderInput, AppError> {
        let support_tier = SupportTier::from_key(support_tier).ok_or_else(|| {
            AppError::invalid(
                "support_tier",
                "must be standard, enterprise or enterprise_plus",
            )
        })?;
        let lines = lines
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| OrderLineInput::parse(i, l))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OrderInput {
            order_id,
            support_tier,
            support_ends_on,
            lines,
            spla,
        })
    }

    /// The order checked field by field; a refusal names the field (`lines[2].quantity`).
    pub fn checked(&self) -> Result<CheckedOrder, AppError> {
        let order_id = check_order_id("order_id", &self.order_id)?;
        let support_ends_at = end_of_day("support_ends_on", &self.support_ends_on)?;
        if self.lines.is_empty() || self.lines.len() > MAX_ORDER_LINES {
            return Err(AppError::invalid(
                "lines",
                format!("must name 1 to {MAX_ORDER_LINES} license types"),
            ));
        }
        let mut lines: Vec<(String, i64, Option<i64>)> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            let type_id = line.license_type_id.trim().to_lowercase();
            if type_id.is_empty() || type_id.len() > 64 {
                return Err(AppError::invalid(
                    format!("lines[{i}].license_type_id"),
                    "must name a license type such as vlm-5000",
                ));
            }
            if lines.iter().any(|(t, _, _)| *t == type_id) {
                return Err(AppError::invalid(
                    format!("lines[{i}].license_type_id"),
                    "names a license type an earlier line already has",
                ));
            }
            if !(1..=100_000).contains(&line.quantity) {
                return Err(AppError::invalid(
                    format!("lines[{i}].quantity"),
                    "must be 1 to 100000",
                ));
            }
            let ends = line
                .license_ends_on
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .map(|d| end_of_day(&format!("lines[{i}].license_ends_on"), d))
                .transpose()?;
            lines.push((type_id, line.quantity, ends));
        }
        Ok(CheckedOrder {
            order_id,
            support_tier: self.support_tier,
            support_ends_at,
            spla: self.spla,
            lines,
        })
    }
}

/// An order as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Order {
    pub order_id: String,
    pub support_tier: SupportTier,
    /// Unix seconds UTC: the end of the last day of support.
    pub support_ends_at: i64,
    /// A Service Provider License Agreement (its licenses never transfer).
    pub spla: bool,
    pub created_at: i64,
    pub lines: Vec<OrderLine>,
}

/// One license type of an order and how much of it is in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub license_type_id: String,
    pub license_name: String,
    pub quantity: i64,
    /// Permanent licenses of this line held now (Active or Grace Period).
    pub in_use: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_ends_at: Option<i64>,
}

/// The order an activation draws on, as the store found it under the pool's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The order's row id (what the license records).
    pub id: String,
    pub order_id: String,
    pub support_tier: SupportTier,
    pub support_ends_at: i64,
    /// The line for the license type asked for: (quantity, in use, end of term).
    pub line: Option<(i64, i64, Option<i64>)>,
}

/// What the kind rules look at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KindFacts {
    /// The kind of license the LoadMaster holds now (Active or Grace Period), if any.
    pub held: Option<LicenseKind>,
    /// The order named by the activation, or else the order of the LoadMaster's last
    /// permanent license (a LoadMaster's later permanent licenses need no Order ID).
    pub order: Option<OrderFacts>,
    /// The activation named an Order ID.
    pub order_named: bool,
    /// The instance is Pay As You Go in a cloud marketplace.
    pub payg: bool,
}

/// The license an activation grants, beyond its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub kind: LicenseKind,
    /// When the license's term ends (temporary and trial licenses, and orders with an end).
    pub expires_at: Option<i64>,
    /// The order's row id, for a permanent license from an order.
    pub order: Option<String>,
    pub subscriptions: Vec<Subscription>,
}

fn refused(refusal: Refusal, detail: impl Into<String>) -> AppError {
    AppError::Refused {
        refusal,
        detail: detail.into(),
    }
}

fn subscriptions(tier: SupportTier, until: i64) -> Vec<Subscription> {
    tier.subscriptions()
        .iter()
        .map(|name| Subscription {
            name: (*name).to_string(),
            expires_at: until,
        })
        .collect()
}

/// The terms of a license of kind `asked` (`license_name` for the messages) granted at `now`,
/// or the rule of the licensing guide that refuses it. A metered tenant's licenses are
/// metered whatever was asked; a Pay As You Go instance's are permanent.
pub fn decide_terms(
    asked: LicenseKind,
    metered: bool,
    facts: &KindFacts,
    license_name: &str,
    now: i64,
) -> Result<Terms, AppError> {
    let term_end = now + TERM_DAYS * 86_400;
    if metered {
        return Ok(Terms {
            kind: LicenseKind::Metered,
            expires_at: None,
            order: None,
            subscriptions: Vec::new(),
        });
    }
    if asked.is_temporary() && facts.held.is_some_and(LicenseKind::is_temporary) {
        return Err(refused(
            Refusal::TemporaryOnTemporary,
            "Replace it with a permanent license (an Order ID) instead, or wait until it ends.",
        ));
    }
    if facts.payg {
        return Ok(Terms {
            kind: LicenseKind::Permanent,
            expires_at: None,
            order: None,
            subscriptions: Vec::new(),
        });
    }
    match asked {
        LicenseKind::Pooled => Ok(Terms {
            kind: LicenseKind::Pooled,
            expires_at: None,
            order: None,
            subscriptions: Vec::new(),
        }),
        LicenseKind::Metered => Err(AppError::invalid(
            "kind",
            "metered licenses come from the tenant's metered contract; ask for pooled, permanent, temporary or trial",
        )),
        LicenseKind::Temporary | LicenseKind::Trial => Ok(Terms {
            kind: asked,
            expires_at: Some(term_end),
            order: None,
            subscriptions: subscriptions(SupportTier::EnterprisePlus, term_end),
        }),
        LicenseKind::Permanent => {
            let Some(order) = &facts.order else {
                return Err(if facts.order_named {
                    refused(
                        Refusal::OrderNotFound,
                        "Check the Order ID your vendor gave you; the portal has no such order for this tenant.",
                    )
                } else {
                    refused(
                        Refusal::OrderIdRequired,
                        "This LoadMaster has never held a permanent license: give the Order ID your vendor gave you.",
                    )
                });
            };
            let Some((quantity, in_use, ends)) = order.line else {
                return Err(refused(
                    Refusal::OrderLicenseUnavailable,
                    format!(
                        "Order {} has no {license_name} licenses; choose a license type the order has.",
                        order.order_id
                    ),
                ));
            };
            if in_use >= quantity {
                return Err(refused(
                    Refusal::OrderLicenseUnavailable,
                    format!(
                        "All {quantity} {license_name} licenses of order {} are in use; kill one that is not needed to move it here.",
                        order.order_id
                    ),
                ));
            }
            if ends.is_some_and(|end| end <= now) {
                return Err(refused(
                    Refusal::OrderLicenseUnavailable,
                    format!(
                        "The {license_name} licenses of order {} have ended; ask your vendor to renew them.",
                        order.order_id
                    ),
                ));
            }
            Ok(Terms {
                kind: LicenseKind::Permanent,
                expires_at: ends,
                order: Some(order.id.clone()),
                subscriptions: subscriptions(order.support_tier, order.support_ends_at),
            })
        }
    }
}

/// The history's note for a license granted on these terms (the connector is added after).
pub fn granted_note(terms: &Terms, order: Option<&OrderFacts>) -> String {
    let until = |t: Option<i64>| t.map(crate::format::format_date).unwrap_or_default();
    match terms.kind {
        LicenseKind::Pooled | LicenseKind::Metered => "Licensed from the pool".to_string(),
        LicenseKind::Permanent => match order.filter(|_| terms.order.is_some()) {
            Some(order) => format!("Permanent license from order {}", order.order_id),
            None => "Permanent license (Pay As You Go)".to_string(),
        },
        LicenseKind::Temporary => {
            format!("Temporary license until {}", until(terms.expires_at))
        }
        LicenseKind::Trial => format!(
            "Trial license (VLM-MAX, Enterprise Plus) until {}",
            until(terms.expires_at)
        ),
    }
}

/// Which warning (30 or 7 days) is due for a subscription expiring at `expires_at`, given the
/// last one sent (`warned`); none once it has expired or when the last due one was sent.
pub fn warning_due(expires_at: i64, warned: Option<i64>, now: i64) -> Option<i64> {
    if expires_at <= now {
        return None;
    }
    let days_left = (expires_at - now + 86_399) / 86_400;
    SUBSCRIPTION_WARNINGS
        .into_iter()
        .filter(|days| days_left <= *days)
        .min()
        .filter(|due| warned.is_none_or(|sent| sent > *due))
}

/// POST /api/v1/connector/transfers (the agent's `POST /v1/transfer`): Kill License on a
/// LoadMaster to move its permanent license to another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransferRequest {
    pub idempotency_key: String,
    pub license_id: String,
    pub serial_no: String,
    /// The LoadMaster's firmware (`7.2.54.0.20345.RELEASE`): transfers need 7.2.50 or later.
    pub firmware_version: String,
}

/// A license released for transfer: killed here, its order's license free for another
/// LoadMaster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Transfer {
    pub license_id: String,
    pub status: crate::license::LicenseStatus,
    /// The order to license the next LoadMaster from, and the type it holds.
    pub order_id: String,
    pub license_type_id: String,
    pub message: String,
}

/// The oldest firmware that can transfer its license.
pub const TRANSFER_FIRMWARE: (u32, u32, u32) = (7, 2, 50);

/// Whether a firmware version (`7.2.54.0.20345.RELEASE`) is `TRANSFER_FIRMWARE` or later; one
/// that does not read as numbers is not.
pub fn firmware_can_transfer(version: &str) -> bool {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    ) {
        (Some(a), Some(b), Some(c)) => (a, b, c) >= TRANSFER_FIRMWARE,
        _ => false,
    }
}

/// What a transfer looks at: the license's kind, whether it came from an order (and an SPLA
/// one), when its support ends, and the LoadMaster's firmware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFacts<'a> {
    pub kind: LicenseKind,
    pub from_order: bool,
    pub spla: bool,
    /// The support subscription's end (none: no support).
    pub support_ends_at: Option<i64>,
    pub firmware_version: &'a str,
}

/// The licensing guide's transfer prerequisites, in the order a person would read them: only
/// a permanent license (not SPLA, MELA, pooled or PAYG) under active support, from firmware
/// 7.2.50 on.
pub fn check_transfer(facts: &TransferFacts<'_>, now: i64) -> Result<(), AppError> {
    let refuse = |refusal: Refusal, detail: &str| Err(refused(refusal, detail));
    match facts.kind {
        LicenseKind::Metered => {
            return refuse(
                Refusal::TransferMetered,
                "Metered licenses stay with the tenant's contract; deactivate it and activate the other LoadMaster instead.",
            )
        }
        LicenseKind::Pooled => {
            return refuse(
                Refusal::TransferPooled,
                "Kill it and license the other LoadMaster from the pool instead.",
            )
        }
        LicenseKind::Temporary | LicenseKind::Trial => {
            return refuse(
                Refusal::TransferTemporary,
                "License the other LoadMaster with its own temporary or trial license.",
            )
        }
        LicenseKind::Permanent => {}
    }
    if !facts.from_order {
        return refuse(
            Refusal::TransferPayg,
            "A Pay As You Go instance is licensed by its cloud marketplace.",
        );
    }
    if facts.spla {
        return refuse(
            Refusal::TransferSpla,
            "Licenses of a Service Provider License Agreement stay where they are.",
        );
    }
    if facts.support_ends_at.is_none_or(|end| end <= now) {
        return refuse(
            Refusal::TransferSupportExpired,
            "Renew the support subscription with your vendor (then Update License), and transfer after.",
        );
    }
    if !firmware_can_transfer(facts.firmware_version) {
        return refuse(
            Refusal::TransferFirmwareTooOld,
            "Upgrade this LoadMaster's firmware to 7.2.50 or later first.",
        );
    }
    Ok(())
}

/// POST /api/v1/connector/owner-changes (the agent's `POST /v1/owner`): Update License/Owner
/// with another owner's credentials. The LoadMaster, now behind a connector of the new owner's
/// tenant, names the license it holds (its id and serial number prove it holds it); the
/// license moves to that tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnerChangeRequest {
    pub idempotency_key: String,
    pub license_id: String,
    pub serial_no: String,
    pub device_name: String,
    pub ip_address: String,
}

/// The license under its new owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnerChange {
    pub license: crate::connector::Activation,
    pub message: String,
}

/// The licensing guide's words when a LoadMaster's license was updated.
pub const UPDATE_APPLIED: &str = "An updated license has been applied. A system reboot is recommended to ensure all features are licensed appropriately.";

/// POST /api/v1/connector/updates (the agent's `POST /v1/update`): Update License/Owner from
/// the LoadMaster. With nothing else it renews the license from its order (renewed support,
/// a renewed term); `license_type_id` changes the type; `kind: permanent` with an `order_id`
/// upgrades a trial or temporary license (or moves a license to another order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseUpdateRequest {
    pub idempotency_key: String,
    pub license_id: String,
    pub serial_no: String,
    /// The license type to change to; absent: the license's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type_id: Option<String>,
    #[serde(flatten)]
    pub ask: crate::connector::LicenseAsk,
}

/// The answer to Update License/Owner: the license as it is now, what changed, and the
/// message for the LoadMaster's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseUpdate {
    pub license: crate::connector::Activation,
    /// What changed, in words; empty when the license was already up to date.
    pub changes: Vec<String>,
    /// `UPDATE_APPLIED` when something changed.
    pub message: String,
}

/// The kind a license of kind `current` becomes when `asked` (and maybe an order) is named:
/// a metered license is its contract's; a temporary or trial license named an order becomes
/// permanent; no license becomes temporary or trial by an update.
pub fn update_kind(
    current: LicenseKind,
    asked: Option<LicenseKind>,
    order_named: bool,
) -> Result<LicenseKind, AppError> {
    if current == LicenseKind::Metered {
        return Err(AppError::invalid(
            "license_id",
            "a metered license changes with the tenant's metered contract, not by Update License",
        ));
    }
    let target = match asked {
        Some(kind) => kind,
        None if order_named => LicenseKind::Permanent,
        None => current,
    };
    match target {
        LicenseKind::Metered => Err(AppError::invalid(
            "kind",
            "metered licenses come from the tenant's metered contract",
        )),
        // Renewing what it is: a temporary or trial license keeps its term.
        kind if kind == current => Ok(kind),
        LicenseKind::Temporary | LicenseKind::Trial if current.is_temporary() => Err(refused(
            Refusal::TemporaryOnTemporary,
            "Upgrade it to a permanent license with an Order ID instead.",
        )),
        LicenseKind::Temporary | LicenseKind::Trial => Err(AppError::invalid(
            "kind",
            "a pooled or permanent license is not replaced by a temporary or trial one",
        )),
        kind => Ok(kind),
    }
}

/// POST /api/v1/connector/availability (the agent's `POST /v1/licenses`): which licenses a
/// LoadMaster may take, before it picks one ("a list of available licenses for that order
/// ID ... Continue").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AvailabilityRequest {
    pub serial_no: String,
    /// The licensing identifier of the LoadMaster's image (`VLM-SPLA`).
    pub sku: String,
    /// The order to list; absent: the tenant's pool for the SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// One license a LoadMaster may take, and how many of it remain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AvailableLicense {
    /// What to send as `license_type_id` (with `kind` and `order_id`) to take it.
    pub license_type_id: String,
    pub license_name: String,
    pub kind: LicenseKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// How many more can be taken now: what the order has left, and what the pool's
    /// capacity and LoadMaster limit still allow.
    pub remaining: i64,
    pub bandwidth_mbps: i64,
    pub ssl_tps: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_tier: Option<SupportTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_ends_at: Option<i64>,
}

/// The licenses available to a LoadMaster, largest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Availability {
    pub licenses: Vec<AvailableLicense>,
}

/// How many licenses of `bandwidth_mbps` the pool still has room for: capacity left and
/// LoadMaster slots left, whichever is fewer (never below zero). A metered tenant is
/// limited by its contract's activations instead (`metered_left`).
pub fn pool_room(
    max_capacity_mbps: i64,
    allocated_mbps: i64,
    loadmaster_limit: i64,
    holding: i64,
    bandwidth_mbps: i64,
    metered_left: Option<i64>,
) -> i64 {
    if let Some(left) = metered_left {
        return left.max(0);
    }
    let by_capacity = (max_capacity_mbps - allocated_mbps).max(0) / bandwidth_mbps.max(1);
    by_capacity.min((loadmaster_limit - holding).max(0))
}

/// A licensed LoadMaster as the Licenses table starts from: its license and subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicensedLoadMaster {
    pub license_id: String,
    pub ip_address: Option<String>,
    /// The device name.
    pub nickname: Option<String>,
    pub license_name: String,
    pub kind: LicenseKind,
    /// When the license's term ends (none: it does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub subscriptions: Vec<Subscription>,
}

impl LicensedLoadMaster {
    /// The soonest date of the license or a subscription (what "Expiration Date" sorts by).
    fn soonest(&self) -> Option<i64> {
        self.subscriptions
            .iter()
            .map(|s| s.expires_at)
            .chain(self.expires_at)
            .min()
    }
}

/// The Licenses table's sort columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LicensesSort {
    #[default]
    IpAddress,
    ExpirationDate,
}

impl LicensesSort {
    pub fn key(self) -> &'static str {
        match self {
            LicensesSort::IpAddress => "ip_address",
            LicensesSort::ExpirationDate => "expiration_date",
        }
    }

    /// The sort and order named by URL or query parameters (both optional); a refusal names
    /// the parameter.
    pub fn parse(
        sort: Option<&str>,
        order: Option<&str>,
    ) -> Result<(LicensesSort, crate::license::SortOrder), AppError> {
        use crate::license::SortOrder;
        let sort = match sort.filter(|s| !s.is_empty()) {
            None | Some("ip_address") => LicensesSort::IpAddress,
            Some("expiration_date") => LicensesSort::ExpirationDate,
            Some(_) => {
                return Err(AppError::invalid(
                    "sort",
                    "must be ip_address or expiration_date",
                ))
            }
        };
        let order = match order.filter(|o| !o.is_empty()) {
            None | Some("asc") => SortOrder::Asc,
            Some("desc") => SortOrder::Desc,
            Some(_) => return Err(AppError::invalid("order", "must be asc or desc")),
        };
        Ok((sort, order))
    }
}

/// One line of the Licenses table: a license (its type), or one of its subscriptions
/// indented below it; "Classic" below a license without subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicensesTableRow {
    pub license_id: String,
    pub ip_address: Option<String>,
    pub nickname: Option<String>,
    /// The license type (`VLM-5000`), a subscription (`WAF Subscription`) or `Classic`.
    pub license_or_subscription: String,
    /// A subscription (or Classic) line, shown indented under its license.
    pub subscription: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<i64>,
    /// Its date has passed (shown in red).
    pub expired: bool,
}

/// The Licenses table: licensed LoadMasters sorted by IP address (as addresses, not text) or
/// by their soonest expiration (none last), each license followed by its subscriptions.
pub fn licenses_table(
    mut loadmasters: Vec<LicensedLoadMaster>,
    sort: LicensesSort,
    order: crate::license::SortOrder,
    now: i64,
) -> Vec<LicensesTableRow> {
    use std::cmp::Ordering;
    let address = |l: &LicensedLoadMaster| {
        l.ip_address
            .as_deref()
            .and_then(|a| a.parse::<std::net::IpAddr>().ok())
    };
    // Absent values sort last whichever the order.
    fn last<T: Ord>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) if desc => b.cmp(&a),
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let desc = order == crate::license::SortOrder::Desc;
    loadmasters.sort_by(|a, b| {
        let first = match sort {
            LicensesSort::IpAddress => last(address(a), address(b), desc),
            LicensesSort::ExpirationDate => last(a.soonest(), b.soonest(), desc)
                .then_with(|| last(address(a), address(b), false)),
        };
        first.then_with(|| a.license_id.cmp(&b.license_id))
    });
    let mut rows = Vec::new();
    for l in loadmasters {
        let row = |name: String, subscription: bool, at: Option<i64>| LicensesTableRow {
            license_id: l.license_id.clone(),
            ip_address: l.ip_address.clone(),
            nickname: l.nickname.clone(),
            license_or_subscription: name,
            subscription,
            expiration_date: at,
            expired: at.is_some_and(|at| at <= now),
        };
        rows.push(row(l.license_name.clone(), false, l.expires_at));
        if l.subscriptions.is_empty() {
            rows.push(row("Classic".to_string(), true, None));
        }
        for s in &l.subscriptions {
            rows.push(row(s.name.clone(), true, Some(s.expires_at)));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn order(line: Option<(i64, i64, Option<i64>)>) -> OrderFacts {
        OrderFacts {
            id: "row".into(),
            order_id: "ORD-1".into(),
            support_tier: SupportTier::Enterprise,
            support_ends_at: NOW + 400 * 86_400,
            line,
        }
    }

    fn code(result: Result<Terms, AppError>) -> String {
        match result {
            Err(AppError::Refused { refusal, .. }) => refusal.code().to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn temporary_and_trial_last_thirty_days_with_enterprise_plus() {
        for kind in [LicenseKind::Temporary, LicenseKind::Trial] {
            let terms = decide_terms(kind, false, &KindFacts::default(), "VLM-MAX", NOW).unwrap();
            assert_eq!(terms.kind, kind);
            assert_eq!(terms.expires_at, Some(NOW + 30 * 86_400));
            assert_eq!(terms.subscriptions[0].name, "Enterprise Plus");
            assert!(terms
                .subscriptions
                .iter()
                .any(|s| s.name == "WAF Subscription"));
        }
    }

    #[test]
    fn no_temporary_license_on_top_of_a_temporary_one() {
        let facts = KindFacts {
            held: Some(LicenseKind::Trial),
            ..KindFacts::default()
        };
        assert_eq!(
            code(decide_terms(
                LicenseKind::Temporary,
                false,
                &facts,
                "VLM-500",
                NOW
            )),
            "temporary_license_in_place"
        );
        // A permanent license may replace it.
        let facts = KindFacts {
            held: Some(LicenseKind::Temporary),
            order: Some(order(Some((1, 0, None)))),
            order_named: true,
            payg: false,
        };
        assert!(decide_terms(LicenseKind::Permanent, false, &facts, "VLM-500", NOW).is_ok());
    }

    #[test]
    fn a_first_permanent_license_needs_an_order() {
        assert_eq!(
            code(decide_terms(
                LicenseKind::Permanent,
                false,
                &KindFacts::default(),
                "VLM-500",
                NOW
            )),
            "order_id_required"
        );
        let named = KindFacts {
            order_named: true,
            ..KindFacts::default()
        };
        assert_eq!(
            code(decide_terms(
                LicenseKind::Permanent,
                false,
                &named,
                "VLM-500",
                NOW
            )),
            "order_not_found"
        );
    }

    #[test]
    fn an_order_gives_what_it_has_left() {
        let with = |line| KindFacts {
            order: Some(order(line)),
            order_named: true,
            ..KindFacts::default()
        };
        let terms = decide_terms(
            LicenseKind::Permanent,
            false,
            &with(Some((2, 1, None))),
            "VLM-500",
            NOW,
        )
        .unwrap();
        assert_eq!(terms.order.as_deref(), Some("row"));
        assert_eq!(terms.expires_at, None);
        assert_eq!(terms.subscriptions.len(), 3);
        assert_eq!(terms.subscriptions[0].expires_at, NOW + 400 * 86_400);
        for line in [None, Some((2, 2, None)), Some((2, 0, Some(NOW)))] {
            assert_eq!(
                code(decide_terms(
                    LicenseKind::Permanent,
                    false,
                    &with(line),
                    "VLM-500",
                    NOW
                )),
                "order_license_unavailable"
            );
        }
    }

    #[test]
    fn payg_instances_are_permanent_and_metered_tenants_metered() {
        let payg = KindFacts {
            payg: true,
            ..KindFacts::default()
        };
        let terms = decide_terms(LicenseKind::Pooled, false, &payg, "VLM-500", NOW).unwrap();
        assert_eq!(
            (terms.kind, terms.expires_at),
            (LicenseKind::Permanent, None)
        );
        let terms = decide_terms(
            LicenseKind::Trial,
            true,
            &KindFacts::default(),
            "VLM-500",
            NOW,
        )
        .unwrap();
        assert_eq!(terms.kind, LicenseKind::Metered);
    }

    #[test]
    fn orders_are_checked_field_by_field() {
        let mut input = OrderInput {
            order_id: "ORD-2026-0042".into(),
            support_tier: SupportTier::EnterprisePlus,
            support_ends_on: "2027-06-30".into(),
            lines: vec![OrderLineInput {
                license_type_id: "VLM-500".into(),
                quantity: 3,
                license_ends_on: None,
            }],
            spla: false,
        };
        let checked = input.checked().unwrap();
        assert_eq!(checked.lines, vec![("vlm-500".to_string(), 3, None)]);
        assert_eq!(
            checked.support_ends_at,
            chrono::NaiveDate::from_ymd_opt(2027, 7, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp()
        );
        input.lines.push(input.lines[0].clone());
        let refusal = input.checked().unwrap_err();
        assert!(
            matches!(refusal, AppError::InvalidParameter { ref parameter, .. } if parameter == "lines[1].license_type_id")
        );
        input.lines.truncate(1);
        input.lines[0].quantity = 0;
        assert!(input.checked().is_err());
        input.lines[0].quantity = 1;
        input.order_id = "bad id".into();
        assert!(input.checked().is_err());
    }

    #[test]
    fn the_licenses_table_sorts_addresses_as_addresses_and_indents_subscriptions() {
        let lm = |id: &str, ip: &str, subscriptions: Vec<Subscription>| LicensedLoadMaster {
            license_id: id.into(),
            ip_address: Some(ip.into()),
            nickname: None,
            license_name: "VLM-500".into(),
            kind: LicenseKind::Permanent,
            expires_at: None,
            subscriptions,
        };
        let sub = |name: &str, at: i64| Subscription {
            name: name.into(),
            expires_at: at,
        };
        let all = vec![
            lm("a", "10.0.0.10", vec![sub("Standard", NOW + 5)]),
            lm("b", "10.0.0.9", vec![]),
            lm(
                "c",
                "10.0.0.200",
                vec![
                    sub("Enterprise", NOW - 5),
                    sub("ESP Subscription", NOW + 50),
                ],
            ),
        ];
        use crate::license::SortOrder::{Asc, Desc};
        let rows = licenses_table(all.clone(), LicensesSort::IpAddress, Asc, NOW);
        let shown: Vec<(&str, &str, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.ip_address.as_deref().unwrap(),
                    r.license_or_subscription.as_str(),
                    r.expired,
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("10.0.0.9", "VLM-500", false),
                ("10.0.0.9", "Classic", false),
                ("10.0.0.10", "VLM-500", false),
                ("10.0.0.10", "Standard", false),
                ("10.0.0.200", "VLM-500", false),
                ("10.0.0.200", "Enterprise", true),
                ("10.0.0.200", "ESP Subscription", false),
            ]
        );
        assert!(rows[1].subscription && !rows[0].subscription);
        let by_date = licenses_table(all.clone(), LicensesSort::ExpirationDate, Asc, NOW);
        let order: Vec<&str> = by_date
            .iter()
            .filter(|r| !r.subscription)
            .map(|r| r.license_id.as_str())
            .collect();
        assert_eq!(order, vec!["c", "a", "b"]);
        let by_date = licenses_table(all, LicensesSort::ExpirationDate, Desc, NOW);
        let order: Vec<&str> = by_date
            .iter()
            .filter(|r| !r.subscription)
            .map(|r| r.license_id.as_str())
            .collect();
        assert_eq!(order, vec!["a", "c", "b"]);
        assert!(LicensesSort::parse(Some("name"), None).is_err());
    }

    #[test]
    fn updates_upgrade_temporary_licenses_and_never_make_new_ones() {
        use LicenseKind::*;
        assert_eq!(update_kind(Trial, None, true).unwrap(), Permanent);
        assert_eq!(
            update_kind(Temporary, Some(Permanent), true).unwrap(),
            Permanent
        );
        assert_eq!(update_kind(Permanent, None, false).unwrap(), Permanent);
        assert_eq!(update_kind(Trial, None, false).unwrap(), Trial);
        assert_eq!(
            update_kind(Pooled, Some(Permanent), true).unwrap(),
            Permanent
        );
        let code = |r: Result<LicenseKind, AppError>| match r {
            Err(AppError::Refused { refusal, .. }) => refusal.code().to_string(),
            Err(AppError::InvalidParameter { parameter, .. }) => parameter,
            Ok(kind) => kind.key().to_string(),
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(
            code(update_kind(Temporary, Some(Trial), false)),
            "temporary_license_in_place"
        );
        assert_eq!(code(update_kind(Permanent, Some(Temporary), false)), "kind");
        assert_eq!(code(update_kind(Metered, None, false)), "license_id");
    }

    #[test]
    fn only_supported_permanent_licenses_from_an_order_on_new_firmware_transfer() {
        let ok = TransferFacts {
            kind: LicenseKind::Permanent,
            from_order: true,
            spla: false,
            support_ends_at: Some(NOW + 1),
            firmware_version: "7.2.50.0.12345.RELEASE",
        };
        assert!(check_transfer(&ok, NOW).is_ok());
        let code = |facts: TransferFacts<'_>| match check_transfer(&facts, NOW) {
            Err(AppError::Refused { refusal, .. }) => refusal.code(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(TransferFacts {
                kind: LicenseKind::Metered,
                ..ok.clone()
            }),
            "metered_license_not_transferable"
        );
        assert_eq!(
            code(TransferFacts {
                kind: LicenseKind::Pooled,
                ..ok.clone()
            }),
            "pooled_license_not_transferable"
        );
        assert_eq!(
            code(TransferFacts {
                kind: LicenseKind::Trial,
                ..ok.clone()
            }),
            "temporary_license_not_transferable"
        );
        assert_eq!(
            code(TransferFacts {
                from_order: false,
                ..ok.clone()
            }),
            "payg_license_not_transferable"
        );
        assert_eq!(
            code(TransferFacts {
                spla: true,
                ..ok.clone()
            }),
            "spla_license_not_transferable"
        );
        assert_eq!(
            code(TransferFacts {
                support_ends_at: Some(NOW),
                ..ok.clone()
            }),
            "transfer_support_expired"
        );
        assert_eq!(
            code(TransferFacts {
                support_ends_at: None,
                ..ok.clone()
            }),
            "transfer_support_expired"
        );
        assert_eq!(
            code(TransferFacts {
                firmware_version: "7.2.49.1",
                ..ok.clone()
            }),
            "transfer_firmware_too_old"
        );
        assert_eq!(
            code(TransferFacts {
                firmware_version: "latest",
                ..ok.clone()
            }),
            "transfer_firmware_too_old"
        );
        assert!(
            firmware_can_transfer("7.10.0")
                && firmware_can_transfer("8.0.0")
                && !firmware_can_transfer("6.9.99")
        );
    }

    #[test]
    fn room_is_the_fewer_of_capacity_and_slots() {
        assert_eq!(pool_room(10_000, 8_000, 10, 2, 500, None), 4);
        assert_eq!(pool_room(10_000, 8_000, 10, 8, 500, None), 2);
        assert_eq!(pool_room(10_000, 12_000, 10, 2, 500, None), 0);
        assert_eq!(pool_room(0, 0, 0, 0, 500, Some(3)), 3);
    }

    #[test]
    fn warnings_come_at_thirty_and_seven_days_once_each() {
        let day = 86_400;
        let expires = NOW + 40 * day;
        assert_eq!(warning_due(expires, None, NOW), None);
        assert_eq!(warning_due(expires, None, NOW + 10 * day), Some(30));
        assert_eq!(warning_due(expires, Some(30), NOW + 11 * day), None);
        assert_eq!(warning_due(expires, Some(30), NOW + 33 * day), Some(7));
        assert_eq!(warning_due(expires, Some(7), NOW + 34 * day), None);
        // First seen with five days left: only the seven-day warning.
        assert_eq!(warning_due(expires, None, NOW + 35 * day), Some(7));
        assert_eq!(warning_due(expires, None, expires), None);
    }
}
