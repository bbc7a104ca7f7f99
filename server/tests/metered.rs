//! Metered usage over HTTP, on both databases: a connector relays usage samples of a metered
//! LoadMaster (a replay counted once, a malformed sample a clear 400), and the tenant's
//! people read the month's usage and tier through /api/v1/metered/usage; another tenant
//! sees none of it.

mod common;

use bandpool_domain::metered::{day_and_month, Tier};
use bandpool_services::metered::Contract;
use common::{assert_refused, Seed, TestApp, OUTSIDER, REVIEWER};
use serde_json::{json, Value};

/// Gigabits per second as bytes per second.
fn gbps(g: f64) -> i64 {
    (g * 1e9 / 8.0).round() as i64
}

async fn metered_contract(app: &TestApp) {
    let tiers = vec![
        Tier {
            name: "Tier 1".into(),
            from_mbps: 0,
        },
        Tier {
            name: "Tier 2".into(),
            from_mbps: 2_000,
        },
    ];
    let contract = Contract {
        contract_id: "MELA-4711".into(),
        max_activations: 10,
        trial_ends_at: None,
    };
    let tenant = app.tenant_id.as_deref().unwrap();
    bandpool_services::metered::set_contract(&app.state, tenant, &contract, tiers)
        .await
        .unwrap();
}

fn sample(license_id: &str, at: i64, bytes_per_second: i64) -> Value {
    json!({
        "license_id": license_id,
        "serial_no": "7100001",
        "sampled_at": at,
        "bytes_in_per_second": bytes_per_second / 4,
        "bytes_out_per_second": bytes_per_second - bytes_per_second / 4,
        "ssl_tps": 40,
        "virtual_services": [{ "name": "10.0.0.1:443", "bytes": 1_000_000 }]
    })
}

app_test!(
    a_connector_reports_usage_and_people_read_the_month,
    Seed::EmptyPool,
    |app: TestApp| async move {
        metered_contract(&app).await;
        let credential = app.register_connector("dc-metered").await;
        let connector = app.connector(&credential);
        let (status, granted) = app
            .post_json(
                &connector,
                "/api/v1/connector/activations",
                &json!({
                    "idempotency_key": "metered-activation-1",
                    "serial_no": "7100001",
                    "device_name": "vlm-metered-1",
                    "ip_address": "10.3.0.1",
                    "sku": "VLM-SPLA",
                    "license_type_id": "vlm-200",
                }),
            )
            .await;
        assert_eq!(status, 201, "{granted}");
        let license = granted["license_id"].as_str().unwrap();
        let now = app.clock.now_ts();
        let report = json!({ "idempotency_key": "usage-http-0001", "samples": [
        sample(license, now - 600, gbps(1.2)),
        sample(license, now - 300, gbps(2.5)),
        sample("00000000-0000-0000-0000-000000000000", now - 300, 1),
    ] });
        for _ in 0..2 {
            let (status, answer) = app
                .post_json(&connector, "/api/v1/connector/usage", &report)
                .await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["recorded"], 2);
            assert_eq!(answer["duplicates"], 0);
            assert_eq!(answer["refused"][0]["code"], "unknown_license");
        }
        // A malformed sample is refused whole, naming its field.
        let mut bad = report.clone();
        bad["idempotency_key"] = json!("usage-http-0002");
        bad["samples"][0]["ssl_tps"] = json!(-1);
        let answer = app
            .post_json(&connector, "/api/v1/connector/usage", &bad)
            .await;
        assert_refused(&answer, 400, "invalid_parameter");
        assert_eq!(answer.1["parameter"], "ssl_tps");

        // A Reviewer reads the month so far: 2.5 Gb/s, in Tier 2.
        let (_, month) = day_and_month(now);
        let reviewer = app.client_as(REVIEWER).await;
        let (status, usage) =
            common::answer(reviewer.get(app.url(&format!("/api/v1/metered/usage?month={month}"))))
                .await;
        assert_eq!(status, 200, "{usage}");
        assert_eq!(usage["usage_mbps"], 2_500);
        assert_eq!(usage["loadmasters"], 1);
        assert_eq!(usage["tier"]["name"], "Tier 2");
        assert_eq!(usage["so_far"], true);
        // The current month is the default; a closed month is final.
        let (_, current) = common::answer(reviewer.get(app.url("/api/v1/metered/usage"))).await;
        assert_eq!(current["month"], month);
        let (_, old) =
            common::answer(reviewer.get(app.url("/api/v1/metered/usage?month=2020-01"))).await;
        assert_eq!(
            (old["usage_mbps"].as_i64(), old["so_far"].as_bool()),
            (Some(0), Some(false))
        );
        let answer =
            common::answer(reviewer.get(app.url("/api/v1/metered/usage?month=2026-13"))).await;
        assert_refused(&answer, 400, "invalid_parameter");

        // Another tenant sees nothing of it.
        let outsider = app.client_as(OUTSIDER).await;
        let (_, theirs) =
            common::answer(outsider.get(app.url(&format!("/api/v1/metered/usage?month={month}"))))
                .await;
        assert_eq!(
            (theirs["usage_mbps"].as_i64(), theirs["tier"].is_null()),
            (Some(0), true)
        );
    }
);
