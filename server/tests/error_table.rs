//! The local-licensing error table, entry by entry, each produced through the connector API
//! on both databases: its stable code, its status, and the table's message word for word at
//! the head of the answer.

mod common;

use bandpool_domain::error::Refusal;
use bandpool_domain::metered::Tier;
use bandpool_services::metered::Contract;
use common::{assert_refused_saying, Seed, TestApp};
use serde_json::{json, Value};

/// A LoadMaster's activation request; `metered` adds who it is.
fn activation(key: &str, serial: u32, ip: &str, license_type: &str, mac: Option<&str>) -> Value {
    let mut request = json!({
        "idempotency_key": key,
        "serial_no": serial.to_string(),
        "device_name": format!("lm-{serial}"),
        "ip_address": ip,
        "sku": "VLM-SPLA",
        "license_type_id": license_type,
    });
    if let Some(mac) = mac {
        request["appliance"] = json!({
            "mac_address": mac,
            "firmware_version": "7.2.59.0.22007.RELEASE",
            "booted_at": 1_700_000_000,
            "hypervisor": "vmware",
        });
    }
    request
}

async fn contract(app: &TestApp, max_activations: i64, trial_ends_at: Option<i64>) {
    bandpool_services::metered::set_contract(
        &app.state,
        app.tenant_id.as_deref().unwrap(),
        &Contract {
            contract_id: "MELA-TABLE".into(),
            max_activations,
            trial_ends_at,
        },
        vec![Tier {
            name: "All".into(),
            from_mbps: 0,
        }],
    )
    .await
    .unwrap();
}

fn refused(answer: &(u16, Value), refusal: Refusal) {
    assert_refused_saying(
        answer,
        refusal.status().as_u16(),
        refusal.code(),
        refusal.message(),
    );
}

app_test!(
    every_entry_of_the_error_table,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let connector = app.connector(&app.register_connector("dc-table").await);
        let activate = |request: Value| {
            let (app, connector) = (&app, &connector);
            async move {
                app.post_json(connector, "/api/v1/connector/activations", &request)
                    .await
            }
        };
        let now = app.clock.now_ts();

        // Pooled: the pool has 50,000 Mb/s and room for 20 LoadMasters.
        for i in 0..5 {
            let (status, body) = activate(activation(
                &format!("table-fill-{i}"),
                8_000_000 + i,
                &format!("10.8.0.{}", i + 1),
                "vlm-10g",
                None,
            ))
            .await;
            assert_eq!(status, 201, "{body}");
        }
        // "No Local license found."
        refused(
            &activate(activation(
                "table-capacity",
                8_000_100,
                "10.8.1.1",
                "vlm-200",
                None,
            ))
            .await,
            Refusal::PoolCapacityExceeded,
        );
        // "Invalid License Type ID provided."
        refused(
            &activate(activation(
                "table-type",
                8_000_101,
                "10.8.1.2",
                "vlm-nonesuch",
                None,
            ))
            .await,
            Refusal::InvalidLicenseType,
        );
        // "No License configured for LM SKU."
        let mut other_sku = activation("table-sku", 8_000_102, "10.8.1.3", "vlm-200", None);
        other_sku["sku"] = json!("VLM-OTHER");
        refused(&activate(other_sku).await, Refusal::NoLicenseForSku);
        // "Device with same IP Address already exist."
        refused(
            &activate(activation(
                "table-ip", 8_000_103, "10.8.0.1", "vlm-200", None,
            ))
            .await,
            Refusal::DeviceIpExists,
        );
        // "Can't verify check.": this connector's license, checked with another serial.
        let (_, granted) = activate(activation(
            "table-fill-0",
            8_000_000,
            "10.8.0.1",
            "vlm-10g",
            None,
        ))
        .await;
        let license = granted["license_id"].as_str().unwrap().to_string();
        let (status, answer) = app
            .post_json(
                &connector,
                "/api/v1/connector/checks",
                &json!({
                    "idempotency_key": "table-check-1",
                    "checks": [{ "license_id": license, "serial_no": "1", "checked_at": now }]
                }),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            answer["results"][0]["refused"],
            Refusal::CheckUnverifiable.code()
        );
        // "Unable to generate license UUID.": a replay whose key the portal no longer remembers
        // makes the same license id, and nothing is granted twice.
        app.db
            .execute(
                "DELETE FROM connector_messages WHERE idempotency_key = 'table-fill-1'",
                vec![],
            )
            .await
            .unwrap();
        app.db
            .execute(
                "UPDATE licenses SET status = 'killed' WHERE serial_no = '8000001'",
                vec![],
            )
            .await
            .unwrap();
        refused(
            &activate(activation(
                "table-fill-1",
                8_000_001,
                "10.8.0.2",
                "vlm-10g",
                None,
            ))
            .await,
            Refusal::LicenseIdUnavailable,
        );

        // "Bandpool is unlicensed for this tenant.": the subscription is suspended.
        let tenant = app.tenant_id.clone().unwrap();
        app.db
            .execute(
                "UPDATE entitlements SET status = 'suspended' WHERE tenant_id = $1",
                vec![tenant.clone().into()],
            )
            .await
            .unwrap();
        refused(
            &activate(activation(
                "table-unlicensed",
                8_000_104,
                "10.8.1.4",
                "vlm-200",
                None,
            ))
            .await,
            Refusal::TenantUnlicensed,
        );
        app.db
            .execute(
                "UPDATE entitlements SET status = 'active' WHERE tenant_id = $1",
                vec![tenant.clone().into()],
            )
            .await
            .unwrap();

        // Metered: a trial that has ended. "Trial has Expired."
        contract(&app, 50, Some(now - 1)).await;
        refused(
            &activate(activation(
                "table-trial-over",
                8_000_200,
                "10.8.2.1",
                "vlm-200",
                Some("005056000001"),
            ))
            .await,
            Refusal::TenantExpired,
        );
        // A running trial does not take over a LoadMaster licensed elsewhere.
        contract(&app, 50, Some(now + 86_400)).await;
        let mut elsewhere = activation(
            "table-elsewhere",
            8_000_201,
            "10.8.2.2",
            "vlm-200",
            Some("005056000002"),
        );
        elsewhere["appliance"]["licensed_elsewhere"] = json!(true);
        refused(&activate(elsewhere).await, Refusal::TrialLicensedElsewhere);
        // "Invalid local license initialization.": a metered LoadMaster that does not say who it is.
        refused(
            &activate(activation(
                "table-init",
                8_000_202,
                "10.8.2.3",
                "vlm-200",
                None,
            ))
            .await,
            Refusal::InvalidInitialization,
        );
        // A copy of a running LoadMaster (the same MAC address).
        let (status, body) = activate(activation(
            "table-mac-1",
            8_000_203,
            "10.8.2.4",
            "vlm-200",
            Some("00:50:56:00:00:03"),
        ))
        .await;
        assert_eq!(status, 201, "{body}");
        refused(
            &activate(activation(
                "table-mac-2",
                8_000_204,
                "10.8.2.5",
                "vlm-200",
                Some("00-50-56-00-00-03"),
            ))
            .await,
            Refusal::MacAddressInUse,
        );
        // "Local license instance limit reached.": a contract of two, both in use.
        contract(&app, 2, None).await;
        let (status, body) = activate(activation(
            "table-limit-1",
            8_000_205,
            "10.8.2.6",
            "vlm-200",
            Some("005056000005"),
        ))
        .await;
        assert_eq!(status, 201, "{body}");
        refused(
            &activate(activation(
                "table-limit-2",
                8_000_206,
                "10.8.2.7",
                "vlm-200",
                Some("005056000006"),
            ))
            .await,
            Refusal::InstanceLimitReached,
        );
        // "This LoadMaster cannot be licensed against this portal at this time.": its address
        // was blocked after an activation its connector never confirmed.
        app.db
        .execute(
            "INSERT INTO metered_blocked_addresses (tenant_id, ip_address, license_id, blocked_at) \
             VALUES ($1, '10.8.2.8', 'x', 0)",
            vec![tenant.clone().into()],
        )
        .await
        .unwrap();
        contract(&app, 50, None).await;
        refused(
            &activate(activation(
                "table-blocked",
                8_000_207,
                "10.8.2.8",
                "vlm-200",
                Some("005056000007"),
            ))
            .await,
            Refusal::ApplianceBlocked,
        );

        // No usage report reached the vendor within the reporting grace: metered licensing
        // stopped.
        app.db
            .execute(
                "INSERT INTO metered_reporting (tenant_id, grace_from, lapsed_at, updated_at) \
                 VALUES ($1, 0, 0, 0)",
                vec![tenant.clone().into()],
            )
            .await
            .unwrap();
        refused(
            &activate(activation(
                "table-lapsed",
                8_000_208,
                "10.8.2.9",
                "vlm-200",
                Some("005056000008"),
            ))
            .await,
            Refusal::ReportingLapsed,
        );

        // Every entry of the table has been produced above; the licensing guide's four rules
        // for license kinds (temporary on temporary, the Order ID, an unknown order, an order
        // without that license) and its seven transfer prerequisites are produced in
        // `lifecycle.rs`; offline licensing's access code that does not match in `offline.rs`.
        assert_eq!(Refusal::ALL.len(), 14 + 4 + 7 + 1);
    }
);
