//! Usage and billing: what an asset is, a tenant's entitlements (plan, base assets,
//! add-ons, the pool's capacity and LoadMaster limit), applications of up to 15 Virtual
//! Services, the green/amber/red usage levels, the limits whose crossing is notified, and
//! the Usage and billing CSV.

mod applications;
mod assets;
mod channels;
mod entitlement;
mod export;
mod overview;

pub use applications::*;
pub use assets::*;
pub use channels::*;
pub use entitlement::*;
pub use export::*;
pub use overview::*;

pub use crate::names::MAX_CAPACITY_MBPS;

/// An application groups at most this many Virtual Services (004: "An application includes a
/// maximum of 15 Virtual Services").
pub const VIRTUAL_SERVICE_LIMIT: i64 = 15;

/// Where the consumption models are described (the Usage and billing guide's link).
pub const CONSUMPTION_MODELS_URL: &str = "https://kemptechnologies.com/pricing";
/// Where add-ons are described.
pub const ADD_ONS_URL: &str = "https://kemptechnologies.com/loadmaster-360";

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
