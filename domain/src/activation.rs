//! Whether a LoadMaster may take a license from the pool: the product's rules for an
//! activation, decided from facts the data layer gathers in one query inside the pool's lock.
//! The rules are checked in the order a person would fix them: the pool and its
//! subscription (or the metered trial), the LoadMaster being blocked, the SKU and license
//! type, a license it holds already, its IP address (and a metered LoadMaster's MAC
//! address), the LoadMaster limit, and last the capacity.
//!
//! A tenant with a metered contract is billed for usage, not capacity: its activations are
//! limited by the contract's maximum number of metered activations (five on a trial), not
//! by the pool's capacity or LoadMaster limit, and each must say who the LoadMaster is.

use crate::error::Refusal;
use crate::AppError;

/// The license type a LoadMaster asked for, as the pool knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseTypeFacts {
    pub id: String,
    pub name: String,
    pub sku: String,
    pub bandwidth_mbps: i64,
    pub ssl_tps: i64,
}

/// The pool's side of an activation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PoolFacts {
    pub max_capacity_mbps: i64,
    pub loadmaster_limit: i64,
    /// When the pool's subscription ended, if it has an end.
    pub expires_at: Option<i64>,
    /// The entitlement's status (`active`, `expired`, `suspended`), if it has one.
    pub subscription: Option<String>,
    /// Licenses held now (Active or Grace Period) and the bandwidth they take.
    pub holding: i64,
    #[cfg_attr(feature = "ssr", sqlx(rename = "allocated"))]
    pub allocated_mbps: i64,
}

/// A metered trial allows this many activations at most.
pub const TRIAL_ACTIVATIONS: i64 = 5;

/// The tenant's metered contract, for an activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteredFacts {
    pub max_activations: i64,
    /// A trial: activations are refused from this time on.
    pub trial_ends_at: Option<i64>,
    /// Metered licenses held now (Active or Grace Period).
    pub active: i64,
    /// The LoadMaster's address was blocked after an unconfirmed activation.
    pub address_blocked: bool,
    /// Another LoadMaster holding a metered license has the same MAC address.
    pub mac_in_use: bool,
    /// Metered licensing stopped at this time: no usage report reached the vendor within the
    /// reporting grace. It runs again once an upload succeeds.
    pub reporting_lapsed_at: Option<i64>,
}

impl MeteredFacts {
    /// The most metered licenses the contract allows at once.
    pub fn limit(&self) -> i64 {
        match self.trial_ends_at {
            Some(_) => self.max_activations.min(TRIAL_ACTIVATIONS),
            None => self.max_activations,
        }
    }
}

/// Everything the decision looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationFacts {
    /// None: the tenant has no pool.
    pub pool: Option<PoolFacts>,
    /// The LoadMaster (by serial) is blocked in the portal.
    pub blocked: bool,
    /// Some license type of the pool is for the LoadMaster's SKU.
    pub sku_known: bool,
    /// The license type asked for, if it exists.
    pub license_type: Option<LicenseTypeFacts>,
    /// The LoadMaster holds a license already (Active or Grace Period).
    pub held: bool,
    /// Another licensed LoadMaster has the same IP address.
    pub ip_taken: bool,
    /// The tenant's metered contract, if it has one.
    pub metered: Option<MeteredFacts>,
}

/// What the LoadMaster asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub sku: &'a str,
    pub license_type_id: &'a str,
    pub ip_address: &'a str,
    /// Who the LoadMaster says it is (a metered one must say).
    pub appliance: Option<&'a crate::connector::ApplianceIdentity>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It holds a license already: answer with it again.
    AlreadyHeld,
    /// Grant a new license of this type.
    Grant(LicenseTypeFacts),
}

fn refused(refusal: Refusal, detail: impl Into<String>) -> AppError {
    AppError::Refused {
        refusal,
        detail: detail.into(),
    }
}

/// Decide an activation at `now`; a refusal carries the local-licensing error table's code
/// and a sentence that says what to do.
pub fn decide(ask: Ask<'_>, facts: ActivationFacts, now: i64) -> Result<Decision, AppError> {
    let pool = facts.pool.ok_or_else(|| {
        refused(
            Refusal::TenantUnlicensed,
            "The tenant has no license pool; ask your vendor to issue one.",
        )
    })?;
    match pool.subscription.as_deref() {
        Some("expired") => {
            return Err(refused(
                Refusal::TenantExpired,
                "The subscription's status is Expired (Usage and billing); renew it to license LoadMasters.",
            ))
        }
        Some("suspended") => {
            return Err(refused(
                Refusal::TenantUnlicensed,
                "The subscription is suspended (Usage and billing); ask your vendor to resume it.",
            ))
        }
        _ => {}
    }
    if pool.expires_at.is_some_and(|ended| ended <= now) {
        return Err(refused(
            Refusal::TenantExpired,
            "The pool's subscription has ended; renew it to license LoadMasters.",
        ));
    }
    if let Some(metered) = &facts.metered {
        if let Some(ended) = metered.trial_ends_at.filter(|ended| *ended <= now) {
            return Err(refused(
                Refusal::TenantExpired,
                format!(
                    "The metered trial ended on {}; ask your vendor for a metered contract.",
                    crate::format::format_date(ended)
                ),
            ));
        }
        if let Some(lapsed) = metered.reporting_lapsed_at {
            return Err(refused(
                Refusal::ReportingLapsed,
                format!(
                    "Metered licensing stopped on {}: no usage report reached the vendor for {} days. Upload a usage report on the MELA report page to start it again.",
                    crate::format::format_date(lapsed),
                    crate::metered_reporting::GRACE_DAYS
                ),
            ));
        }
    }
    if facts.blocked {
        return Err(refused(
            Refusal::ApplianceBlocked,
            "The LoadMaster is blocked in the portal; unblock it first.",
        ));
    }
    if facts.metered.as_ref().is_some_and(|m| m.address_blocked) {
        return Err(refused(
            Refusal::ApplianceBlocked,
            format!(
                "Address {} was blocked after an activation its connector never confirmed; unblock it on the Activations page first.",
                ask.ip_address
            ),
        ));
    }
    if !facts.sku_known {
        return Err(refused(
            Refusal::NoLicenseForSku,
            format!("No license type of the pool is for SKU '{}'.", ask.sku),
        ));
    }
    let license_type = facts.license_type.ok_or_else(|| {
        refused(
            Refusal::InvalidLicenseType,
            format!("There is no license type '{}'.", ask.license_type_id),
        )
    })?;
    if license_type.sku != ask.sku {
        return Err(refused(
            Refusal::InvalidLicenseType,
            format!(
                "License type '{}' is for SKU '{}', not '{}'.",
                ask.license_type_id, license_type.sku, ask.sku
            ),
        ));
    }
    // A LoadMaster pointed at a new connector keeps its license.
    if facts.held {
        return Ok(Decision::AlreadyHeld);
    }
    if facts.ip_taken {
        return Err(refused(
            Refusal::DeviceIpExists,
            format!(
                "Another licensed LoadMaster has IP address {}; kill its license or change this LoadMaster's address.",
                ask.ip_address
            ),
        ));
    }
    if let Some(metered) = &facts.metered {
        let appliance = ask.appliance.ok_or_else(|| {
            refused(
                Refusal::InvalidInitialization,
                "A metered LoadMaster must say its MAC address, firmware version, boot time and hypervisor; use a metered (SPLA) image and a current connector.",
            )
        })?;
        if metered.mac_in_use {
            return Err(refused(
                Refusal::MacAddressInUse,
                format!(
                    "Another licensed LoadMaster is up with MAC address {}; a copy of a running LoadMaster cannot take a license.",
                    appliance.mac_address
                ),
            ));
        }
        if metered.trial_ends_at.is_some() && appliance.licensed_elsewhere {
            return Err(refused(
                Refusal::TrialLicensedElsewhere,
                "The LoadMaster holds a license from another licensing server and a metered trial does not take it over; license it there, or ask for a metered contract.",
            ));
        }
        if metered.active >= metered.limit() {
            return Err(refused(
                Refusal::InstanceLimitReached,
                format!(
                    "The metered {} allows {} activations and all of them are in use; deactivate a LoadMaster that is not needed.",
                    if metered.trial_ends_at.is_some() { "trial" } else { "contract" },
                    metered.limit()
                ),
            ));
        }
        return Ok(Decision::Grant(license_type));
    }
    if pool.holding >= pool.loadmaster_limit {
        return Err(refused(
            Refusal::InstanceLimitReached,
            format!(
                "The pool allows {} LoadMasters and all of them hold a license; kill one that is not needed or raise the limit.",
                pool.loadmaster_limit
            ),
        ));
    }
    if pool.allocated_mbps + license_type.bandwidth_mbps > pool.max_capacity_mbps {
        return Err(refused(
            Refusal::PoolCapacityExceeded,
            format!(
                "The pool has {} Mb/s available and a {} license needs {} Mb/s.",
                (pool.max_capacity_mbps - pool.allocated_mbps).max(0),
                license_type.name,
                license_type.bandwidth_mbps
            ),
        ));
    }
    Ok(Decision::Grant(license_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn vlm200() -> LicenseTypeFacts {
        LicenseTypeFacts {
            id: "vlm-200".into(),
            name: "VLM-200".into(),
            sku: "VLM-SPLA".into(),
            bandwidth_mbps: 200,
            ssl_tps: 200,
        }
    }

    /// A pool with room: 1,000 Mb/s, 3 LoadMasters, 1 holding 200 Mb/s.
    fn room() -> ActivationFacts {
        ActivationFacts {
            pool: Some(PoolFacts {
                max_capacity_mbps: 1_000,
                loadmaster_limit: 3,
                expires_at: None,
                subscription: Some("active".into()),
                holding: 1,
                allocated_mbps: 200,
            }),
            blocked: false,
            sku_known: true,
            license_type: Some(vlm200()),
            held: false,
            ip_taken: false,
            metered: None,
        }
    }

    const ASK: Ask<'static> = Ask {
        sku: "VLM-SPLA",
        license_type_id: "vlm-200",
        ip_address: "10.0.0.9",
        appliance: None,
    };

    static VLM: crate::connector::ApplianceIdentity = crate::connector::ApplianceIdentity {
        mac_address: String::new(),
        firmware_version: String::new(),
        booted_at: 0,
        hypervisor: String::new(),
        licensed_elsewhere: false,
    };

    static VLM_LICENSED_ELSEWHERE: crate::connector::ApplianceIdentity =
        crate::connector::ApplianceIdentity {
            mac_address: String::new(),
            firmware_version: String::new(),
            booted_at: 0,
            hypervisor: String::new(),
            licensed_elsewhere: true,
        };

    /// A metered tenant with room: a contract of 3 activations, 1 in use, a full pool (which
    /// a metered activation does not look at).
    fn metered() -> (ActivationFacts, Ask<'static>) {
        let mut facts = room();
        let pool = facts.pool.as_mut().unwrap();
        pool.holding = 3;
        pool.allocated_mbps = 1_000;
        facts.metered = Some(MeteredFacts {
            max_activations: 3,
            trial_ends_at: None,
            active: 1,
            address_blocked: false,
            mac_in_use: false,
            reporting_lapsed_at: None,
        });
        (
            facts,
            Ask {
                appliance: Some(&VLM),
                ..ASK
            },
        )
    }

    fn m(f: &mut ActivationFacts) -> &mut MeteredFacts {
        f.metered.as_mut().unwrap()
    }

    #[test]
    fn metered_activations_follow_the_contract() {
        type Change = fn(&mut ActivationFacts, &mut Ask<'static>);
        let table: &[(&str, Change, Option<Refusal>)] = &[
            ("room in the contract, pool full", |_, _| {}, None),
            (
                "no identity",
                |_, a| a.appliance = None,
                Some(Refusal::InvalidInitialization),
            ),
            (
                "contract full",
                |f, _| m(f).active = 3,
                Some(Refusal::InstanceLimitReached),
            ),
            (
                "address blocked",
                |f, _| m(f).address_blocked = true,
                Some(Refusal::ApplianceBlocked),
            ),
            (
                "MAC in use",
                |f, _| m(f).mac_in_use = true,
                Some(Refusal::MacAddressInUse),
            ),
            (
                "trial, licensed elsewhere",
                |f, a| {
                    m(f).trial_ends_at = Some(NOW + 1);
                    a.appliance = Some(&VLM_LICENSED_ELSEWHERE);
                },
                Some(Refusal::TrialLicensedElsewhere),
            ),
            (
                "not a trial, licensed elsewhere",
                |_, a| a.appliance = Some(&VLM_LICENSED_ELSEWHERE),
                None,
            ),
            (
                "trial ended",
                |f, _| m(f).trial_ends_at = Some(NOW),
                Some(Refusal::TenantExpired),
            ),
            (
                "trial running",
                |f, _| m(f).trial_ends_at = Some(NOW + 1),
                None,
            ),
            (
                "trial: five at most",
                |f, _| {
                    m(f).max_activations = 50;
                    m(f).trial_ends_at = Some(NOW + 1);
                    m(f).active = 5;
                },
                Some(Refusal::InstanceLimitReached),
            ),
            (
                "trial: the fifth",
                |f, _| {
                    m(f).max_activations = 50;
                    m(f).trial_ends_at = Some(NOW + 1);
                    m(f).active = 4;
                },
                None,
            ),
        ];
        for (case, change, want) in table {
            let (mut facts, mut ask) = metered();
            change(&mut facts, &mut ask);
            let got = decide(ask, facts, NOW);
            assert_eq!(refusal(got.clone()), *want, "{case}: {got:?}");
        }
    }

    fn refusal(result: Result<Decision, AppError>) -> Option<Refusal> {
        match result {
            Err(AppError::Refused { refusal, .. }) => Some(refusal),
            _ => None,
        }
    }

    #[test]
    fn each_rule_refuses_with_its_code_in_order() {
        type Change = fn(&mut ActivationFacts, &mut Ask<'static>);
        let table: &[(&str, Change, Option<Refusal>)] = &[
            ("room left", |_, _| {}, None),
            (
                "no pool",
                |f, _| f.pool = None,
                Some(Refusal::TenantUnlicensed),
            ),
            (
                "subscription expired",
                |f, _| f.pool.as_mut().unwrap().subscription = Some("expired".into()),
                Some(Refusal::TenantExpired),
            ),
            (
                "subscription suspended",
                |f, _| f.pool.as_mut().unwrap().subscription = Some("suspended".into()),
                Some(Refusal::TenantUnlicensed),
            ),
            (
                "pool ended now",
                |f, _| f.pool.as_mut().unwrap().expires_at = Some(NOW),
                Some(Refusal::TenantExpired),
            ),
            (
                "pool ends later",
                |f, _| f.pool.as_mut().unwrap().expires_at = Some(NOW + 1),
                None,
            ),
            (
                "blocked",
                |f, _| f.blocked = true,
                Some(Refusal::ApplianceBlocked),
            ),
            (
                "unknown SKU",
                |f, _| f.sku_known = false,
                Some(Refusal::NoLicenseForSku),
            ),
            (
                "unknown type",
                |f, _| f.license_type = None,
                Some(Refusal::InvalidLicenseType),
            ),
            (
                "type for another SKU",
                |_, a| a.sku = "VLM-MAAS",
                Some(Refusal::InvalidLicenseType),
            ),
            (
                "IP taken",
                |f, _| f.ip_taken = true,
                Some(Refusal::DeviceIpExists),
            ),
            (
                "limit reached",
                |f, _| f.pool.as_mut().unwrap().holding = 3,
                Some(Refusal::InstanceLimitReached),
            ),
            (
                "capacity exactly enough",
                |f, _| f.pool.as_mut().unwrap().allocated_mbps = 800,
                None,
            ),
            (
                "capacity one short",
                |f, _| f.pool.as_mut().unwrap().allocated_mbps = 801,
                Some(Refusal::PoolCapacityExceeded),
            ),
            // Earlier rules win: a blocked LoadMaster of an expired pool hears of the pool.
            (
                "expired and blocked",
                |f, _| {
                    f.pool.as_mut().unwrap().subscription = Some("expired".into());
                    f.blocked = true;
                },
                Some(Refusal::TenantExpired),
            ),
            // A license held already is answered again, even with the limit and pool full.
            (
                "held, pool full",
                |f, _| {
                    f.held = true;
                    f.ip_taken = true;
                    let pool = f.pool.as_mut().unwrap();
                    pool.holding = 3;
                    pool.allocated_mbps = 1_000;
                },
                None,
            ),
        ];
        for (case, change, want) in table {
            let mut facts = room();
            let mut ask = ASK;
            change(&mut facts, &mut ask);
            let got = decide(ask, facts, NOW);
            assert_eq!(refusal(got.clone()), *want, "{case}: {got:?}");
        }
    }

    #[test]
    fn a_grant_names_the_type_and_a_held_license_is_answered_again() {
        assert_eq!(decide(ASK, room(), NOW).unwrap(), Decision::Grant(vlm200()));
        let mut held = room();
        held.held = true;
        assert_eq!(decide(ASK, held, NOW).unwrap(), Decision::AlreadyHeld);
    }

    #[test]
    fn the_capacity_refusal_says_what_is_left() {
        let mut facts = room();
        facts.pool.as_mut().unwrap().allocated_mbps = 900;
        match decide(ASK, facts, NOW) {
            Err(AppError::Refused { detail, .. }) => assert_eq!(
                detail,
                "The pool has 100 Mb/s available and a VLM-200 license needs 200 Mb/s."
            ),
            other => panic!("{other:?}"),
        }
    }
}
