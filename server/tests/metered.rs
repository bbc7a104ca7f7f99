//! Metered usage over HTTP, on both databases: a connector relays usage samples of a metered
//! LoadMaster (a replay counted once, a malformed sample a clear 400), and the tenant's
//! people read the month's usage and tier through /api/v1/metered/usage; another tenant
//! sees none of it. Unconfirmed activations are blocked after each setting's period (the
//! Owners and Admins emailed, the event logged, the address refused), listed with their
//! status in the Activations table and its CSV, and unblocked.

mod common;

use bandpool_domain::metered::{day_and_month, Tier};
use bandpool_server::sweeps::health_pass;
use bandpool_services::metered::Contract;
use common::{assert_refused, text_of, Seed, TestApp, OUTSIDER, REVIEWER};
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
                    "appliance": {
                        "mac_address": "005056ab0001",
                        "firmware_version": "7.2.59.0.22007.RELEASE",
                        "booted_at": 1_790_000_000,
                        "hypervisor": "KVM",
                    },
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

        // The same figures per LoadMaster, per day, and over the last months.
        let (status, peaks) =
            common::answer(reviewer.get(app.url("/api/v1/metered/loadmasters"))).await;
        assert_eq!(status, 200, "{peaks}");
        assert_eq!(
            (peaks["month"].as_str(), peaks["total"].as_u64()),
            (Some(month.as_str()), Some(1))
        );
        let row = &peaks["loadmasters"][0];
        assert_eq!(row["peak_bytes_per_second"].as_i64(), Some(gbps(2.5)));
        assert_eq!(
            (row["device_name"].as_str(), row["metered"].as_bool()),
            (Some("vlm-metered-1"), Some(true))
        );
        let (_, none) = common::answer(
            reviewer.get(app.url("/api/v1/metered/loadmasters?search=nothing-like-it")),
        )
        .await;
        assert_eq!(none["total"].as_u64(), Some(0));
        let answer =
            common::answer(reviewer.get(app.url("/api/v1/metered/loadmasters?sort=size"))).await;
        assert_refused(&answer, 400, "invalid_parameter");
        let (status, days) = common::answer(reviewer.get(app.url(&format!(
            "/api/v1/metered/loadmasters/{license}/daily?month={month}"
        ))))
        .await;
        assert_eq!(status, 200, "{days}");
        let days = days.as_array().unwrap().clone();
        assert_eq!(
            days.iter()
                .map(|d| d["samples"].as_i64().unwrap())
                .sum::<i64>(),
            2,
            "{days:?}"
        );
        let (_, history) = common::answer(reviewer.get(app.url("/api/v1/metered/months"))).await;
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 13);
        assert_eq!(history[12]["month"], month);
        assert_eq!(
            (
                history[12]["usage_mbps"].as_i64(),
                history[0]["usage_mbps"].as_i64()
            ),
            (Some(2_500), Some(0))
        );
        assert_eq!(
            (
                history[12]["so_far"].as_bool(),
                history[11]["so_far"].as_bool()
            ),
            (Some(true), Some(false))
        );

        // The Metered usage page shows the same, without JavaScript: the month so far, the
        // months, the LoadMaster's row and its daily peaks.
        let page = common::text_of(reviewer.get(app.url("/metered/usage"))).await;
        for text in [
            "Usage so far: 2,500 Mb/s",
            "Tier: Tier 2",
            "vlm-metered-1",
            "Daily peaks",
            "So far",
            "Final",
        ] {
            assert!(page.contains(text), "{text} missing from the page");
        }
        let drill =
            common::text_of(reviewer.get(app.url(&format!("/metered/usage?license={license}"))))
                .await;
        assert!(
            drill.contains("data-section=\"metered-daily\"")
                && drill.contains("Back to all LoadMasters")
        );
        let refused = common::text_of(reviewer.get(app.url("/metered/usage?sort=size"))).await;
        assert!(refused.contains("sort"), "a bad sort is said, not a crash");

        // Another tenant sees nothing of it.
        let outsider = app.client_as(OUTSIDER).await;
        let (_, theirs) = common::answer(
            outsider.get(app.url(&format!("/api/v1/metered/loadmasters/{license}/daily"))),
        )
        .await;
        assert_eq!(theirs.as_array().map(Vec::len), Some(0));
        let (_, theirs) =
            common::answer(outsider.get(app.url(&format!("/api/v1/metered/usage?month={month}"))))
                .await;
        assert_eq!(
            (theirs["usage_mbps"].as_i64(), theirs["tier"].is_null()),
            (Some(0), true)
        );
    }
);

fn metered_activation(i: u32) -> Value {
    json!({
        "idempotency_key": format!("metered-block-{i}"),
        "serial_no": format!("{}", 7_200_000 + i),
        "device_name": format!("vlm-{i}"),
        "ip_address": format!("10.4.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": "vlm-200",
        "appliance": {
            "mac_address": format!("00:50:56:00:01:{i:02x}"),
            "firmware_version": "7.2.40.0.15619.RELEASE",
            "booted_at": 1_790_000_000,
            "hypervisor": "VMware",
        },
    })
}

app_test!(
    unconfirmed_activations_are_blocked_and_can_be_unblocked,
    Seed::EmptyPool,
    |app: TestApp| async move {
        metered_contract(&app).await;
        let connector = app.connector(&app.register_connector("dc-block").await);
        let mut licenses = Vec::new();
        for i in 1..=3 {
            let (status, granted) = app
                .post_json(
                    &connector,
                    "/api/v1/connector/activations",
                    &metered_activation(i),
                )
                .await;
            assert_eq!(status, 201, "{granted}");
            licenses.push(granted["license_id"].as_str().unwrap().to_string());
        }
        // The first one's connector collects from it: confirmed.
        let now = app.clock.now_ts();
        let mut first = sample(&licenses[0], now, 1_000);
        first["serial_no"] = json!("7200001");
        let (status, _) = app
            .post_json(
                &connector,
                "/api/v1/connector/usage",
                &json!({ "idempotency_key": "usage-confirm-1", "samples": [first] }),
            )
            .await;
        assert_eq!(status, 200);

        // Three days (the default) less a second: nothing yet; then the two unconfirmed go.
        app.clock.advance(chrono::Duration::seconds(3 * 86_400 - 1));
        assert_eq!(
            health_pass(&app.state).await.unwrap().activations_blocked,
            0
        );
        app.clock.advance(chrono::Duration::seconds(1));
        assert_eq!(
            health_pass(&app.state).await.unwrap().activations_blocked,
            2
        );
        assert_eq!(
            health_pass(&app.state).await.unwrap().activations_blocked,
            0,
            "twice is harmless"
        );
        // Each activation and deactivation is recorded with the number of active instances then.
        let counts: Vec<(String, i64)> = app
            .db
            .fetch_all_as(
                "SELECT kind, instances FROM metered_instance_events \
                 WHERE kind IN ('activation', 'deactivation') ORDER BY kind, instances",
                vec![],
            )
            .await
            .unwrap();
        let counts: Vec<(&str, i64)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(
            counts,
            [
                ("activation", 1),
                ("activation", 2),
                ("activation", 3),
                ("deactivation", 1),
                ("deactivation", 2)
            ]
        );

        let reviewer = app.client_as(REVIEWER).await;
        let (status, table) =
            common::answer(reviewer.get(app.url("/api/v1/metered/activations"))).await;
        assert_eq!(status, 200, "{table}");
        assert_eq!(
            (
                table["max_activations"].as_i64(),
                table["current_activations"].as_i64()
            ),
            (Some(10), Some(1))
        );
        let statuses: Vec<(&str, &str)> = table["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ip_address"].as_str().unwrap(),
                    r["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(statuses.len(), 3);
        assert!(statuses.contains(&("10.4.0.1", "active")), "{statuses:?}");
        assert!(statuses.contains(&("10.4.0.2", "blocked")), "{statuses:?}");
        assert!(statuses.contains(&("10.4.0.3", "blocked")), "{statuses:?}");
        let row = &table["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ip_address"] == "10.4.0.2")
            .unwrap();
        assert_eq!(
            (row["mac_address"].as_str(), row["vlm_name"].as_str()),
            (Some("005056000102"), Some("VMWARE"))
        );
        assert!(row["last_kill_at"].as_i64().is_some());
        let (_, blocked) =
            common::answer(reviewer.get(app.url("/api/v1/metered/activations?status=blocked")))
                .await;
        assert_eq!(blocked["rows"].as_array().unwrap().len(), 2);
        let answer =
            common::answer(reviewer.get(app.url("/api/v1/metered/activations?status=sleeping")))
                .await;
        assert_refused(&answer, 400, "invalid_parameter");
        let csv = app
            .get_text_ok("/api/v1/metered/activations.csv?status=blocked")
            .await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "MAC Address,LoadMaster Version,Status,Activation Date,Boot Date,Last Kill Date,License Type,VLM Name,IP Address");
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains(",BLOCKED,"), "{}", lines[1]);
        // The MAC address as people read it.
        assert!(lines[1].starts_with("00:50:56:00:01:"), "{}", lines[1]);

        // Owners and Admins are emailed, the event log has it, and the address is refused.
        let emails: i64 = bandpool_store::db::value(
            &app.db,
            "SELECT COUNT(*) FROM email_outbox WHERE subject LIKE '%blocked%'",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(emails, 2 * 2, "two blocks, each to the Owner and the Admin");
        let (_, events) = app
            .get_json("/api/v1/events?action=metered_activation_blocked")
            .await;
        assert_eq!(
            events["events"].as_array().map(Vec::len),
            Some(2),
            "{events}"
        );
        let mut again = metered_activation(2);
        again["idempotency_key"] = json!("metered-block-again-2");
        let answer = app
            .post_json(&connector, "/api/v1/connector/activations", &again)
            .await;
        assert_refused(&answer, 403, "appliance_blocked");

        // Unblock Selected: Owners and Admins only; then it licenses again.
        let body = json!({ "license_ids": [licenses[1], licenses[0]] });
        let answer = common::answer(
            reviewer
                .post(app.url("/api/v1/metered/activations/unblock"))
                .json(&body),
        )
        .await;
        assert_eq!(answer.0, 403);
        let (status, unblocked) = app
            .post_json(&app.client, "/api/v1/metered/activations/unblock", &body)
            .await;
        assert_eq!(
            (status, unblocked["unblocked"].as_i64()),
            (200, Some(1)),
            "{unblocked}"
        );
        again["idempotency_key"] = json!("metered-block-again-3");
        let (status, granted) = app
            .post_json(&connector, "/api/v1/connector/activations", &again)
            .await;
        assert_eq!(status, 201, "{granted}");
    }
);

app_test!(
    each_block_setting_is_kept_to_the_second,
    Seed::EmptyPool,
    |app: TestApp| async move {
        metered_contract(&app).await;
        let connector = app.connector(&app.register_connector("dc-settings").await);
        let answer = common::answer(
            app.client
                .put(app.url("/api/v1/metered/settings"))
                .json(&json!({ "block_unconfirmed_after_seconds": 5 })),
        )
        .await;
        assert_refused(&answer, 400, "invalid_parameter");
        for (i, (seconds, _)) in bandpool_domain::metered::BLOCK_AFTER_CHOICES
            .iter()
            .enumerate()
        {
            let (status, _) = common::answer(
                app.client
                    .put(app.url("/api/v1/metered/settings"))
                    .json(&json!({ "block_unconfirmed_after_seconds": seconds })),
            )
            .await;
            assert_eq!(status, 200);
            let (status, granted) = app
                .post_json(
                    &connector,
                    "/api/v1/connector/activations",
                    &metered_activation(10 + i as u32),
                )
                .await;
            assert_eq!(status, 201, "{granted}");
            app.clock.advance(chrono::Duration::seconds(seconds - 1));
            assert_eq!(
                health_pass(&app.state).await.unwrap().activations_blocked,
                0,
                "{seconds} s"
            );
            app.clock.advance(chrono::Duration::seconds(1));
            assert_eq!(
                health_pass(&app.state).await.unwrap().activations_blocked,
                1,
                "{seconds} s"
            );
        }
    }
);

app_test!(
    the_activations_page_works_without_javascript,
    Seed::EmptyPool,
    |app: TestApp| async move {
        // A tenant without a metered contract is told so.
        let page = app.get_text_ok("/metered/activations").await;
        assert!(page.contains("data-note=\"no-contract\""), "{page}");

        metered_contract(&app).await;
        let connector = app.connector(&app.register_connector("dc-page").await);
        for i in 1..=2 {
            let (status, granted) = app
                .post_json(
                    &connector,
                    "/api/v1/connector/activations",
                    &metered_activation(30 + i),
                )
                .await;
            assert_eq!(status, 201, "{granted}");
        }
        app.clock.advance(chrono::Duration::seconds(3 * 86_400));
        assert_eq!(
            health_pass(&app.state).await.unwrap().activations_blocked,
            2
        );

        let page = app.get_text_ok("/metered/activations").await;
        for text in [
            "Max Activations Available: 10",
            "Current Number of Activations: 0",
            "00:50:56:00:01:20",
            "7.2.40.0.15619.RELEASE",
            "BLOCKED",
            "VMWARE",
            "Unblock Selected",
            "Block unconfirmed activations after",
            // The check boxes belong to the Unblock Selected form by its id.
            "form=\"unblock-form\"",
            "id=\"unblock-form\"",
        ] {
            assert!(page.contains(text), "{text} missing");
        }
        // The filter narrows the table; a Reviewer sees it without the Unblock column's boxes.
        let active = app.get_text_ok("/metered/activations?status=active").await;
        assert!(!active.contains("data-status=\"blocked\""));
        let reviewer = app.client_as(REVIEWER).await;
        let seen = common::text_of(reviewer.get(app.url("/metered/activations"))).await;
        assert!(seen.contains("BLOCKED") && !seen.contains("Unblock Selected"));

        // Unblock Selected posts as a plain form and comes back saying what it did.
        let (_, table) = app
            .get_json("/api/v1/metered/activations?status=blocked")
            .await;
        let ids: Vec<String> = table["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["license_id"].as_str().unwrap().to_string())
            .collect();
        let plain_form = |endpoint: &'static str, body: String| {
            app.client
                .post(app.url(&format!("/_server/{endpoint}")))
                .header("accept", "text/html")
                .header("referer", app.url("/metered/activations"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let response = plain_form(
            "unblock_activations",
            format!("license_ids[]={}&license_ids[]={}", ids[0], ids[1]),
        )
        .await
        .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let page = app.get_text_ok("/metered/activations").await;
        assert!(page.contains("2 activations are unblocked"), "{page}");
        assert!(!page.contains("data-status=\"blocked\""));

        // The setting, as a plain form too.
        let response = plain_form("set_block_after", "seconds=3600".into())
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        let page = app.get_text_ok("/metered/activations").await;
        assert!(page.contains("blocked after 1 hour"), "{page}");
        assert!(
            page.contains("<option value=\"3600\" selected"),
            "the setting shows its value"
        );
    }
);

app_test!(
    the_daily_instance_check_finds_a_discrepancy,
    Seed::EmptyPool,
    |app: TestApp| async move {
        metered_contract(&app).await;
        let connector = app.connector(&app.register_connector("dc-count").await);
        for i in 1..=2 {
            let (status, granted) = app
                .post_json(
                    &connector,
                    "/api/v1/connector/activations",
                    &metered_activation(40 + i),
                )
                .await;
            assert_eq!(status, 201, "{granted}");
        }
        // The test clock stands at 10:00 UTC: yesterday's noon check is due (none was made yet).
        assert_eq!(health_pass(&app.state).await.unwrap().instance_checks, 1);
        assert_eq!(
            health_pass(&app.state).await.unwrap().instance_checks,
            0,
            "once per noon"
        );
        let (_, checked) = app
            .get_json("/api/v1/events?action=metered_instances_checked")
            .await;
        assert_eq!(checked["events"][0]["detail"], "2 active metered instances");

        // A license changed behind the records' back: the next noon's check says so.
        app.db
            .execute(
                "UPDATE licenses SET status = 'killed' WHERE serial_no = '7200041'",
                vec![],
            )
            .await
            .unwrap();
        app.clock.advance(chrono::Duration::hours(1));
        assert_eq!(
            health_pass(&app.state).await.unwrap().instance_checks,
            0,
            "not noon yet"
        );
        app.clock.advance(chrono::Duration::hours(1));
        assert_eq!(health_pass(&app.state).await.unwrap().instance_checks, 1);
        let (_, found) = app
            .get_json("/api/v1/events?action=metered_instances_discrepancy")
            .await;
        assert_eq!(found["total"], 1, "{found}");
        assert!(found["events"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("was 2, the actual number is 1"));
        let last: Vec<(String, i64, Option<i64>)> = app
        .db
        .fetch_all_as(
            "SELECT kind, instances, previous_instances FROM metered_instance_events ORDER BY seq DESC LIMIT 1",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(last, [("sync_discrepancy".to_string(), 1, Some(2))]);
    }
);

app_test!(
    an_operator_sets_a_metered_contract_on_the_tenants_page,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let tenant = app.tenant_id.clone().unwrap();
        let operator = app.client_as(common::OPERATOR).await;
        // The form shows a tenant without a contract as such.
        let page = text_of(operator.get(app.url(&format!("/tenants/{tenant}/entitlement")))).await;
        assert!(page.contains("Metered contract (MELA)"), "{page}");
        assert!(page.contains("has no metered contract"), "{page}");
        let form = |max: &'static str, tiers: &'static str, trial: &'static str| {
            vec![
                ("tenant_id", tenant.clone()),
                ("contract_id", "MELA-2026-0042".to_string()),
                ("max_activations", max.to_string()),
                ("trial_ends_on", trial.to_string()),
                ("tiers", tiers.to_string()),
            ]
        };
        let send = |fields: Vec<(&'static str, String)>| {
            let request = operator
                .post(app.url("/_server/set_metered_contract"))
                .header("accept", "application/json")
                .form(&fields);
            common::answer(request)
        };
        // A bad field is named, and nothing is saved.
        assert_refused(
            &send(form("lots", "0=Tier 1", "")).await,
            400,
            "invalid_parameter",
        );
        assert_refused(
            &send(form("25", "5000=Tier 2", "")).await,
            400,
            "invalid_parameter",
        );
        assert_eq!(app.get_json("/api/v1/metered/activations").await.0, 404);
        let (status, _) = send(form("25", "0=Small\n5000=Large", "")).await;
        assert_eq!(status, 200);
        // The tenant's people see it on the Activations page; the form shows it back.
        let activations = app.get_json_ok("/api/v1/metered/activations").await;
        assert_eq!(activations["max_activations"], 25, "{activations}");
        let page = text_of(operator.get(app.url(&format!("/tenants/{tenant}/entitlement")))).await;
        assert!(
            page.contains("MELA-2026-0042") && page.contains("5000=Large"),
            "{page}"
        );
        // Made a trial: five activations at most until its end.
        let (status, _) = send(form("25", "0=Small", "2027-01-31")).await;
        assert_eq!(status, 200);
        let activations = app.get_json_ok("/api/v1/metered/activations").await;
        assert_eq!(activations["max_activations"], 5, "{activations}");
        let page = text_of(operator.get(app.url(&format!("/tenants/{tenant}/entitlement")))).await;
        assert!(page.contains("2027-01-31"), "{page}");
        // Tenants' own people cannot set it.
        let owner = send_as(&app, &app.client, &tenant).await;
        assert_eq!(owner, 403);
        // A tenant that does not exist is a clear 404.
        let (status, body) = send(vec![
            ("tenant_id", "no-such-tenant".to_string()),
            ("contract_id", "MELA-X".to_string()),
            ("max_activations", "1".to_string()),
            ("trial_ends_on", String::new()),
            ("tiers", "0=Tier 1".to_string()),
        ])
        .await;
        assert_eq!(status, 404, "{body}");
    }
);

async fn send_as(app: &TestApp, client: &reqwest::Client, tenant: &str) -> u16 {
    let (status, _) = app
        .call(
            client,
            "set_metered_contract",
            &[
                ("tenant_id", tenant),
                ("contract_id", "MELA-OWN"),
                ("max_activations", "999"),
                ("trial_ends_on", ""),
                ("tiers", "0=Tier 1"),
            ],
        )
        .await;
    status
}
