//! The license lifecycle over HTTP, on both databases: orders recorded by an operator (page
//! form) and read by members (REST and the Licenses page); license kinds through the
//! connector API with each rule of the licensing guide and its refusal code; a 30-day
//! temporary license expiring on the fake clock (capacity back, history, event log, the
//! LoadMaster told at its next check, the Owners emailed through a real SMTP server);
//! subscription warnings 30 and 7 days ahead; the Licenses table.

mod common;

use common::{assert_refused, Seed, TestApp, OPERATOR, OWNER};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

/// A LoadMaster's activation request; `ask` adds the kind and the order.
fn activation(i: u32, license_type: &str, ask: Value) -> Value {
    let mut request = json!({
        // One key per LoadMaster and ask, so each differing request is a new message.
        "idempotency_key": format!("lifecycle-{i}-{}", ask.to_string().replace(|c: char| !c.is_ascii_alphanumeric(), "")),
        "serial_no": format!("{:07}", 5_000_000 + i),
        "device_name": format!("lm-{i}"),
        "ip_address": format!("10.4.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": license_type,
    });
    for (k, v) in ask.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

async fn activate(app: &TestApp, connector: &reqwest::Client, request: &Value) -> (u16, Value) {
    app.post_json(connector, "/api/v1/connector/activations", request)
        .await
}

/// An operator records `order` for the seeded tenant through the Entitlement page's form.
async fn record(app: &TestApp, order_id: &str, support_ends_on: &str, lines: &str) -> (u16, Value) {
    let operator = app.client_as(OPERATOR).await;
    let tenant = app.tenant_id.clone().unwrap();
    app.call(
        &operator,
        "record_order",
        &[
            ("tenant_id", tenant.as_str()),
            ("order_id", order_id),
            ("support_tier", "enterprise"),
            ("support_ends_on", support_ends_on),
            ("lines", lines),
        ],
    )
    .await
}

/// The connector speaks, so it stays Up however far the clock moves.
async fn heartbeat(app: &TestApp, connector: &reqwest::Client) {
    let (status, _) = app
        .post_json(
            connector,
            "/api/v1/connector/heartbeat",
            &json!({ "version": "test" }),
        )
        .await;
    assert_eq!(status, 200);
}

fn date(ts: i64) -> String {
    bandpool_domain::format::format_date(ts)
}

app_test!(
    kinds_follow_the_licensing_guide,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        let now = app.clock.now_ts();
        let support_ends = date(now + 400 * DAY);
        assert_eq!(
            record(&app, "ORD-1", &support_ends, "vlm-500=1\nvlm-2000=2")
                .await
                .0,
            200
        );

        // Before it picks, a LoadMaster may ask what it can take: the pool's types for its SKU
        // (capacity 50,000 Mb/s and 20 LoadMasters: the limit binds the small ones), or an
        // order's.
        let available = |body: Value| {
            let (app, connector) = (&app, &connector);
            async move {
                app.post_json(connector, "/api/v1/connector/availability", &body)
                    .await
            }
        };
        let (status, pool) = available(json!({ "serial_no": "5000001", "sku": "VLM-SPLA" })).await;
        assert_eq!(status, 200, "{pool}");
        let remaining = |list: &Value, type_id: &str| {
            list["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["license_type_id"] == type_id)
                .map(|l| {
                    (
                        l["kind"].as_str().unwrap().to_string(),
                        l["remaining"].as_i64().unwrap(),
                    )
                })
        };
        assert_eq!(remaining(&pool, "vlm-500"), Some(("pooled".into(), 20)));
        assert_eq!(remaining(&pool, "vlm-max"), Some(("pooled".into(), 5)));
        let (_, listed) =
            available(json!({ "serial_no": "5000001", "sku": "VLM-SPLA", "order_id": "ORD-1" }))
                .await;
        assert_eq!(
            remaining(&listed, "vlm-2000"),
            Some(("permanent".into(), 2))
        );
        assert_eq!(remaining(&listed, "vlm-200"), None);
        assert_refused(
            &available(json!({ "serial_no": "5000001", "sku": "VLM-SPLA", "order_id": "ORD-9" }))
                .await,
            404,
            "order_not_found",
        );
        assert_refused(
            &available(json!({ "serial_no": "", "sku": "VLM-SPLA" })).await,
            400,
            "invalid_parameter",
        );

        // A first permanent license needs an Order ID, one the tenant has, with the type on it.
        let permanent = json!({ "kind": "permanent" });
        assert_refused(
            &activate(
                &app,
                &connector,
                &activation(1, "vlm-500", permanent.clone()),
            )
            .await,
            400,
            "order_id_required",
        );
        let unknown = json!({ "kind": "permanent", "order_id": "ORD-404" });
        assert_refused(
            &activate(&app, &connector, &activation(1, "vlm-500", unknown)).await,
            404,
            "order_not_found",
        );
        let order = json!({ "kind": "permanent", "order_id": "ORD-1" });
        assert_refused(
            &activate(&app, &connector, &activation(1, "vlm-200", order.clone())).await,
            409,
            "order_license_unavailable",
        );
        let bad = json!({ "kind": "permanent", "order_id": "ORD 1; drop" });
        assert_refused(
            &activate(&app, &connector, &activation(1, "vlm-500", bad)).await,
            400,
            "invalid_parameter",
        );

        let (status, granted) =
            activate(&app, &connector, &activation(1, "vlm-500", order.clone())).await;
        assert_eq!(status, 201, "{granted}");
        assert_eq!(granted["kind"], "permanent");
        assert_eq!(granted["expires_at"], Value::Null);
        let names: Vec<&str> = granted["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["Enterprise", "ESP Subscription", "GEO Blacklist IP"]
        );
        // The order had one VLM-500: a second LoadMaster is refused, and the list says so.
        let (_, listed) =
            available(json!({ "serial_no": "5000002", "sku": "VLM-SPLA", "order_id": "ORD-1" }))
                .await;
        assert_eq!(remaining(&listed, "vlm-500"), Some(("permanent".into(), 0)));
        assert_refused(
            &activate(&app, &connector, &activation(2, "vlm-500", order.clone())).await,
            409,
            "order_license_unavailable",
        );
        let orders = app.get_json_ok("/api/v1/orders").await;
        let vlm500 = orders[0]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["license_type_id"] == "vlm-500")
            .unwrap()
            .clone();
        assert_eq!(
            (vlm500["quantity"].as_i64(), vlm500["in_use"].as_i64()),
            (Some(1), Some(1))
        );
        // An order may not shrink below what is in use.
        let (status, body) = record(&app, "ORD-1", &support_ends, "vlm-2000=2").await;
        assert_eq!(status, 400, "{body}");

        // Temporary: thirty days of the type asked for with Enterprise Plus; never on top of a
        // temporary or trial license.
        let temporary = json!({ "kind": "temporary" });
        let (status, temp) = activate(
            &app,
            &connector,
            &activation(3, "vlm-200", temporary.clone()),
        )
        .await;
        assert_eq!(status, 201, "{temp}");
        assert_eq!(
            (temp["kind"].as_str(), temp["license_name"].as_str()),
            (Some("temporary"), Some("VLM-200"))
        );
        assert_eq!(temp["expires_at"].as_i64(), Some(now + 30 * DAY));
        assert_eq!(temp["subscriptions"][0]["name"], "Enterprise Plus");
        let mut again = activation(3, "vlm-200", temporary.clone());
        again["idempotency_key"] = json!("temporary-again");
        assert_refused(
            &activate(&app, &connector, &again).await,
            409,
            "temporary_license_in_place",
        );
        let mut trial_on_temporary = activation(3, "vlm-200", json!({ "kind": "trial" }));
        trial_on_temporary["idempotency_key"] = json!("trial-on-temporary");
        assert_refused(
            &activate(&app, &connector, &trial_on_temporary).await,
            409,
            "temporary_license_in_place",
        );

        // Trial: a VLM-MAX whatever was asked, thirty days, Enterprise Plus with WAF and GEO.
        let (status, trial) = activate(
            &app,
            &connector,
            &activation(4, "vlm-200", json!({ "kind": "trial" })),
        )
        .await;
        assert_eq!(status, 201, "{trial}");
        assert_eq!(
            (trial["kind"].as_str(), trial["license_name"].as_str()),
            (Some("trial"), Some("VLM-MAX"))
        );
        let names: Vec<&str> = trial["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"WAF Subscription") && names.contains(&"GEO Blacklist IP"),
            "{names:?}"
        );

        // Pay As You Go instances get permanent licenses without an Order ID.
        let (status, payg) = activate(
            &app,
            &connector,
            &activation(5, "vlm-200", json!({ "payg": true })),
        )
        .await;
        assert_eq!(status, 201, "{payg}");
        assert_eq!(
            (payg["kind"].as_str(), payg["expires_at"].as_i64()),
            (Some("permanent"), None)
        );
        // No kind at all: a pooled license, as before.
        let (_, pooled) = activate(&app, &connector, &activation(6, "vlm-200", json!({}))).await;
        assert_eq!(pooled["kind"], "pooled");
        assert_refused(
            &activate(
                &app,
                &connector,
                &activation(7, "vlm-200", json!({ "kind": "metered" })),
            )
            .await,
            400,
            "invalid_parameter",
        );

        // Every kind that is not metered holds pool capacity like a pooled license.
        let pool = app.get_json_ok("/api/v1/pool").await;
        assert_eq!(
            pool["allocated_mbps"].as_i64(),
            Some(500 + 200 + 10_000 + 200 + 200),
            "{pool}"
        );

        // The history says which kind and where from.
        let history = app
            .get_json_ok(&format!(
                "/api/v1/licenses/{}/history",
                granted["license_id"].as_str().unwrap()
            ))
            .await;
        assert!(
            history["entries"][0]["note"]
                .as_str()
                .unwrap()
                .starts_with("Permanent license from order ORD-1"),
            "{history}"
        );

        // The Licenses table: by IP address, each license then its subscriptions or Classic.
        let table = app.get_json_ok("/api/v1/subscriptions").await;
        let rows = table.as_array().unwrap();
        let firsts: Vec<&str> = rows
            .iter()
            .filter(|r| r["subscription"] == false)
            .map(|r| r["ip_address"].as_str().unwrap())
            .collect();
        assert_eq!(
            firsts,
            ["10.4.0.1", "10.4.0.3", "10.4.0.4", "10.4.0.5", "10.4.0.6"]
        );
        let pooled_rows: Vec<&str> = rows
            .iter()
            .filter(|r| r["ip_address"] == "10.4.0.6")
            .map(|r| r["license_or_subscription"].as_str().unwrap())
            .collect();
        assert_eq!(pooled_rows, ["VLM-200", "Classic"]);
        let by_date = app
            .get_json_ok("/api/v1/subscriptions?sort=expiration_date&order=asc")
            .await;
        assert_eq!(by_date[0]["ip_address"], "10.4.0.3");
        let (status, _) = app.get_json("/api/v1/subscriptions?sort=nickname").await;
        assert_eq!(status, 400);
        let page = app.get_text_ok("/licenses").await;
        assert!(
            page.contains("License or Subscription")
                && page.contains("ORD-1")
                && page.contains("Classic"),
            "the Licenses page"
        );

        // Another tenant sees none of it.
        let other = app.client_as("owner@other.test").await;
        let (_, theirs) = common::answer(other.get(app.url("/api/v1/orders"))).await;
        assert_eq!(theirs, json!([]));
        let (_, theirs) = common::answer(other.get(app.url("/api/v1/subscriptions"))).await;
        assert_eq!(theirs, json!([]));
    }
);

app_test!(
    a_temporary_license_expires_after_thirty_days,
    Seed::EmptyPool,
    mail,
    |app: TestApp, mail: common::mail::MailServer| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        let (_, temp) = activate(
            &app,
            &connector,
            &activation(1, "vlm-2000", json!({ "kind": "temporary" })),
        )
        .await;
        let license = temp["license_id"].as_str().unwrap().to_string();
        let allocated = |pool: Value| pool["allocated_mbps"].as_i64();
        assert_eq!(
            allocated(app.get_json_ok("/api/v1/pool").await),
            Some(2_000)
        );

        app.clock.advance(chrono::Duration::seconds(30 * DAY - 1));
        // The connector stays alive across the month, so only the term can end the license.
        heartbeat(&app, &connector).await;
        let pass = bandpool_server::sweeps::health_pass(&app.state)
            .await
            .unwrap();
        assert_eq!(pass.lifecycle.terms_ended, 0);
        app.clock.advance(chrono::Duration::seconds(1));
        let pass = bandpool_server::sweeps::health_pass(&app.state)
            .await
            .unwrap();
        assert_eq!(pass.lifecycle.terms_ended, 1);
        assert_eq!(
            bandpool_server::sweeps::health_pass(&app.state)
                .await
                .unwrap()
                .lifecycle
                .terms_ended,
            0
        );

        // Expired, its capacity back, the history and the event log say so.
        let history = app
            .get_json_ok(&format!("/api/v1/licenses/{license}/history"))
            .await;
        assert_eq!(history["license"]["status"], "expired");
        let last = history["entries"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["note"].as_str().unwrap().contains("term ended"),
            "{last}"
        );
        assert_eq!(allocated(app.get_json_ok("/api/v1/pool").await), Some(0));
        let events = app
            .get_json_ok("/api/v1/events?action=license_term_ended")
            .await;
        assert_eq!(events["events"][0]["target"], "lm-1");

        // The LoadMaster learns it at its next check and stops.
        let report = json!({ "idempotency_key": "after-term", "checks": [
        { "license_id": license, "serial_no": "5000001", "checked_at": app.clock.now_ts() }
    ] });
        let (status, answer) = app
            .post_json(&connector, "/api/v1/connector/checks", &report)
            .await;
        assert_eq!(status, 200);
        assert_eq!(answer["results"][0]["status"], "expired");

        // The Owners are emailed through the outbox.
        let text = mail.text_of(OWNER, "License expired: lm-1").await;
        assert!(
            text.contains("VLM-2000 temporary license")
                && text.contains("2000 Mb/s back in the pool"),
            "{text}"
        );
        // A new temporary license is allowed once the old one has ended.
        let mut again = activation(1, "vlm-2000", json!({ "kind": "temporary" }));
        again["idempotency_key"] = json!("second-temporary");
        assert_eq!(activate(&app, &connector, &again).await.0, 201);
    }
);

app_test!(
    subscriptions_are_warned_of_at_thirty_and_seven_days,
    Seed::EmptyPool,
    mail,
    |app: TestApp, mail: common::mail::MailServer| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        let now = app.clock.now_ts();
        // Support ends at the end of the day 40 days from now.
        record(&app, "ORD-7", &date(now + 40 * DAY), "vlm-500=1").await;
        let (status, granted) = activate(
            &app,
            &connector,
            &activation(
                1,
                "vlm-500",
                json!({ "kind": "permanent", "order_id": "ORD-7" }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{granted}");
        let ends = granted["subscriptions"][0]["expires_at"].as_i64().unwrap();
        let warnings = |app: &TestApp| {
            let state = app.state.clone();
            async move {
                bandpool_server::sweeps::health_pass(&state)
                    .await
                    .unwrap()
                    .lifecycle
                    .subscription_warnings
            }
        };

        app.clock
            .advance(chrono::Duration::seconds(ends - 31 * DAY - now));
        heartbeat(&app, &connector).await;
        assert_eq!(warnings(&app).await, 0);
        app.clock.advance(chrono::Duration::seconds(DAY));
        heartbeat(&app, &connector).await;
        // Enterprise: the support and two feature subscriptions, each warned once.
        assert_eq!(warnings(&app).await, 3);
        assert_eq!(warnings(&app).await, 0);
        mail.wait_for_subject(OWNER, "3 subscription(s) expire within 30 days", 1)
            .await;
        app.clock.advance(chrono::Duration::seconds(23 * DAY));
        heartbeat(&app, &connector).await;
        assert_eq!(warnings(&app).await, 3);
        let text = mail
            .text_of(OWNER, "3 subscription(s) expire within 7 days")
            .await;
        assert!(text.contains("ESP Subscription on lm-1"), "{text}");
        // The Licenses table shows the dates; once passed, they are marked expired.
        app.clock.advance(chrono::Duration::seconds(8 * DAY));
        let table = app.get_json_ok("/api/v1/subscriptions").await;
        let esp = table
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["license_or_subscription"] == "ESP Subscription")
            .unwrap()
            .clone();
        assert_eq!(
            (esp["expiration_date"].as_i64(), esp["expired"].as_bool()),
            (Some(ends), Some(true))
        );
        // Renewing the order's support reaches the LoadMaster when it updates its license
        // (Update License/Owner); until then the table shows what it holds.
        let renewal = date(app.clock.now_ts() + 365 * DAY);
        assert_eq!(record(&app, "ORD-7", &renewal, "vlm-500=1").await.0, 200);
        let expired = |table: &Value| {
            table
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["expired"] == true)
        };
        assert!(expired(&app.get_json_ok("/api/v1/subscriptions").await));
        let body = json!({ "idempotency_key": "renew-after-order", "license_id": granted["license_id"], "serial_no": "5000001" });
        let (status, renewed) = app
            .post_json(&connector, "/api/v1/connector/updates", &body)
            .await;
        assert_eq!(status, 200, "{renewed}");
        assert_eq!(
            renewed["changes"],
            json!([format!("Enterprise support until {renewal}")])
        );
        assert!(!expired(&app.get_json_ok("/api/v1/subscriptions").await));
    }
);

app_test!(
    orders_are_checked_and_only_operators_record_them,
    Seed::EmptyPool,
    |app: TestApp| async move {
        for (lines, ends, parameter) in [
            ("", "2099-01-01", "lines"),
            ("vlm-500", "2099-01-01", "lines[0]"),
            ("vlm-500=0", "2099-01-01", "lines[0].quantity"),
            (
                "vlm-500=1\nvlm-500=2",
                "2099-01-01",
                "lines[1].license_type_id",
            ),
            ("vlm-9=1", "2099-01-01", "lines[0].license_type_id"),
            ("vlm-500=1", "next year", "support_ends_on"),
        ] {
            let (status, body) = record(&app, "ORD-BAD", ends, lines).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("invalid_parameter")),
                "{lines}: {body}"
            );
            assert_eq!(body["parameter"], parameter, "{lines}");
        }
        let tenant = app.tenant_id.clone().unwrap();
        let fields = [
            ("tenant_id", tenant.as_str()),
            ("order_id", "ORD-2"),
            ("support_tier", "standard"),
            ("support_ends_on", "2099-01-01"),
            ("lines", "vlm-500=1"),
        ];
        let (status, _) = app.call(&app.client, "record_order", &fields).await;
        assert_eq!(status, 403);
        // An operator naming a tenant that does not exist is told so (never a 500).
        let operator = app.client_as(OPERATOR).await;
        let mut unknown = fields;
        unknown[0] = ("tenant_id", "00000000-0000-0000-0000-000000000000");
        let (status, body) = app.call(&operator, "record_order", &unknown).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
        let (status, orders) = app
            .call(
                &operator,
                "get_tenant_orders",
                &[("tenant_id", "no-such-tenant")],
            )
            .await;
        // Reading an unknown tenant's orders says so, as recording them does.
        assert_eq!(
            (status, orders["code"].as_str()),
            (404, Some("not_found")),
            "{orders}"
        );
        assert_eq!(app.get_json_ok("/api/v1/orders").await, json!([]));
    }
);

/// Update License/Owner through the connector API.
async fn update(
    app: &TestApp,
    connector: &reqwest::Client,
    key: &str,
    license: &str,
    serial: &str,
    more: Value,
) -> (u16, Value) {
    let mut body = json!({ "idempotency_key": key, "license_id": license, "serial_no": serial });
    for (k, v) in more.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post_json(connector, "/api/v1/connector/updates", &body)
        .await
}

app_test!(
    update_license_from_the_loadmaster,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        let now = app.clock.now_ts();
        record(
            &app,
            "ORD-U",
            &date(now + 400 * DAY),
            "vlm-500=1\nvlm-2000=1",
        )
        .await;
        let allocated = |pool: Value| pool["allocated_mbps"].as_i64().unwrap();
        let in_use = |orders: Value, type_id: &str| {
            orders[0]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["license_type_id"] == type_id)
                .unwrap()["in_use"]
                .as_i64()
                .unwrap()
        };

        // A trial upgraded to a permanent VLM-500 from the order: one change, the pool and the
        // order right, the licensing guide's message.
        let (_, trial) = activate(
            &app,
            &connector,
            &activation(1, "vlm-200", json!({ "kind": "trial" })),
        )
        .await;
        let license = trial["license_id"].as_str().unwrap().to_string();
        assert_eq!(allocated(app.get_json_ok("/api/v1/pool").await), 10_000);
        let upgrade =
            json!({ "kind": "permanent", "order_id": "ORD-U", "license_type_id": "vlm-500" });
        let (status, updated) = update(
            &app,
            &connector,
            "update-1",
            &license,
            "5000001",
            upgrade.clone(),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(
            updated["message"],
            bandpool_domain::lifecycle::UPDATE_APPLIED
        );
        let changes: Vec<&str> = updated["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            &changes[..4],
            [
                "VLM-MAX → VLM-500",
                "Trial → Permanent",
                "order ORD-U",
                "no end of term"
            ],
            "{changes:?}"
        );
        assert!(
            changes[4].starts_with("Enterprise support until"),
            "{changes:?}"
        );
        assert_eq!(
            (
                updated["license"]["kind"].as_str(),
                updated["license"]["license_id"].as_str()
            ),
            (Some("permanent"), Some(license.as_str()))
        );
        assert_eq!(allocated(app.get_json_ok("/api/v1/pool").await), 500);
        assert_eq!(
            in_use(app.get_json_ok("/api/v1/orders").await, "vlm-500"),
            1
        );
        let history = app
            .get_json_ok(&format!("/api/v1/licenses/{license}/history"))
            .await;
        let entries = history["entries"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e["note"].as_str().unwrap().starts_with(
                    "Updated by the LoadMaster through connector dc-east: VLM-MAX → VLM-500"
                )),
            "{history}"
        );
        assert_eq!(history["license"]["status"], "active");
        // The same message again is answered, not applied twice.
        assert_eq!(
            update(&app, &connector, "update-1", &license, "5000001", upgrade)
                .await
                .1,
            updated
        );
        // Nothing new: nothing changes.
        let (_, same) = update(&app, &connector, "update-2", &license, "5000001", json!({})).await;
        assert_eq!(same["changes"], json!([]));

        // Renewed support: the order's new end reaches the license at its next update.
        record(
            &app,
            "ORD-U",
            &date(now + 800 * DAY),
            "vlm-500=1\nvlm-2000=1",
        )
        .await;
        let (_, renewed) =
            update(&app, &connector, "update-3", &license, "5000001", json!({})).await;
        assert_eq!(
            renewed["changes"],
            json!([format!(
                "Enterprise support until {}",
                date(now + 800 * DAY)
            )])
        );

        // A changed license type, within the same order: VLM-2000 now, the VLM-500 free again.
        let (_, bigger) = update(
            &app,
            &connector,
            "update-4",
            &license,
            "5000001",
            json!({ "license_type_id": "vlm-2000" }),
        )
        .await;
        assert_eq!(bigger["changes"], json!(["VLM-500 → VLM-2000"]));
        assert_eq!(allocated(app.get_json_ok("/api/v1/pool").await), 2_000);
        let orders = app.get_json_ok("/api/v1/orders").await;
        assert_eq!(
            (
                in_use(orders.clone(), "vlm-2000"),
                in_use(orders, "vlm-500")
            ),
            (1, 0)
        );
        // Refusals: a type the order lacks, a type that does not exist, another's license.
        assert_refused(
            &update(
                &app,
                &connector,
                "update-5",
                &license,
                "5000001",
                json!({ "license_type_id": "vlm-10g" }),
            )
            .await,
            409,
            "order_license_unavailable",
        );
        assert_refused(
            &update(
                &app,
                &connector,
                "update-6",
                &license,
                "5000001",
                json!({ "license_type_id": "vlm-9" }),
            )
            .await,
            400,
            "invalid_license_type",
        );
        assert_refused(
            &update(&app, &connector, "update-7", &license, "5000002", json!({})).await,
            404,
            "not_found",
        );

        // A pooled license growing past the pool's capacity is refused and nothing changes.
        for i in 10..14 {
            activate(&app, &connector, &activation(i, "vlm-10g", json!({}))).await;
        }
        let (_, pooled) = activate(&app, &connector, &activation(2, "vlm-200", json!({}))).await;
        let pooled_id = pooled["license_id"].as_str().unwrap().to_string();
        let before = allocated(app.get_json_ok("/api/v1/pool").await);
        assert_eq!(before, 2_000 + 40_000 + 200);
        assert_refused(
            &update(
                &app,
                &connector,
                "update-8",
                &pooled_id,
                "5000002",
                json!({ "license_type_id": "vlm-10g" }),
            )
            .await,
            409,
            "pool_capacity_exceeded",
        );
        assert_eq!(allocated(app.get_json_ok("/api/v1/pool").await), before);

        // A temporary license cannot become a trial; a permanent one cannot become temporary.
        let (_, temp) = activate(
            &app,
            &connector,
            &activation(3, "vlm-200", json!({ "kind": "temporary" })),
        )
        .await;
        let temp_id = temp["license_id"].as_str().unwrap().to_string();
        assert_refused(
            &update(
                &app,
                &connector,
                "update-9",
                &temp_id,
                "5000003",
                json!({ "kind": "trial" }),
            )
            .await,
            409,
            "temporary_license_in_place",
        );
        assert_refused(
            &update(
                &app,
                &connector,
                "update-10",
                &license,
                "5000001",
                json!({ "kind": "temporary" }),
            )
            .await,
            400,
            "invalid_parameter",
        );
    }
);

/// Kill License for a transfer through the connector API.
async fn transfer(
    app: &TestApp,
    connector: &reqwest::Client,
    key: &str,
    license: &Value,
    serial: &str,
    firmware: &str,
) -> (u16, Value) {
    let body = json!({ "idempotency_key": key, "license_id": license["license_id"], "serial_no": serial, "firmware_version": firmware });
    app.post_json(connector, "/api/v1/connector/transfers", &body)
        .await
}

app_test!(
    transfers_move_permanent_licenses_only,
    Seed::EmptyPool,
    mail,
    |app: TestApp, mail: common::mail::MailServer| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        let now = app.clock.now_ts();
        let operator = app.client_as(OPERATOR).await;
        let tenant = app.tenant_id.clone().unwrap();
        record(&app, "ORD-T", &date(now + 400 * DAY), "vlm-500=1").await;
        record(&app, "ORD-E", &date(now - 2 * DAY), "vlm-500=1").await;
        let (status, body) = app
            .call(
                &operator,
                "record_order",
                &[
                    ("tenant_id", tenant.as_str()),
                    ("order_id", "ORD-S"),
                    ("support_tier", "enterprise"),
                    ("support_ends_on", &date(now + 400 * DAY)),
                    ("lines", "vlm-500=1"),
                    ("spla", "yes"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            app.get_json_ok("/api/v1/orders")
                .await
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["spla"] == true)
                .count(),
            1
        );
        let permanent = |order: &str| json!({ "kind": "permanent", "order_id": order });
        let (_, moving) = activate(
            &app,
            &connector,
            &activation(1, "vlm-500", permanent("ORD-T")),
        )
        .await;
        const NEW: &str = "7.2.54.0.20345.RELEASE";

        // Each kind that cannot move says why, with its own code.
        let (_, pooled) = activate(&app, &connector, &activation(3, "vlm-200", json!({}))).await;
        let (_, temporary) = activate(
            &app,
            &connector,
            &activation(4, "vlm-200", json!({ "kind": "temporary" })),
        )
        .await;
        let (_, payg) = activate(
            &app,
            &connector,
            &activation(5, "vlm-200", json!({ "payg": true })),
        )
        .await;
        let (_, spla) = activate(
            &app,
            &connector,
            &activation(6, "vlm-500", permanent("ORD-S")),
        )
        .await;
        let (_, lapsed) = activate(
            &app,
            &connector,
            &activation(7, "vlm-500", permanent("ORD-E")),
        )
        .await;
        for (license, serial, code) in [
            (&pooled, "5000003", "pooled_license_not_transferable"),
            (&temporary, "5000004", "temporary_license_not_transferable"),
            (&payg, "5000005", "payg_license_not_transferable"),
            (&spla, "5000006", "spla_license_not_transferable"),
            (&lapsed, "5000007", "transfer_support_expired"),
        ] {
            assert_refused(
                &transfer(
                    &app,
                    &connector,
                    &format!("transfer-{serial}"),
                    license,
                    serial,
                    NEW,
                )
                .await,
                409,
                code,
            );
        }
        assert_refused(
            &transfer(
                &app,
                &connector,
                "transfer-old-firmware",
                &moving,
                "5000001",
                "7.2.49.0.19000.RELEASE",
            )
            .await,
            409,
            "transfer_firmware_too_old",
        );

        // The permanent license under support on 7.2.54 moves: killed here, the order's license
        // free, the Owners told; another LoadMaster takes it with the Order ID.
        let (status, moved) =
            transfer(&app, &connector, "transfer-1", &moving, "5000001", NEW).await;
        assert_eq!(status, 200, "{moved}");
        assert_eq!(
            (
                moved["status"].as_str(),
                moved["order_id"].as_str(),
                moved["license_type_id"].as_str()
            ),
            (Some("killed"), Some("ORD-T"), Some("vlm-500"))
        );
        assert_eq!(
            transfer(&app, &connector, "transfer-1", &moving, "5000001", NEW)
                .await
                .1,
            moved
        );
        let history = app
            .get_json_ok(&format!(
                "/api/v1/licenses/{}/history",
                moving["license_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(history["license"]["status"], "killed");
        let (status, taken) = activate(
            &app,
            &connector,
            &activation(2, "vlm-500", permanent("ORD-T")),
        )
        .await;
        assert_eq!(status, 201, "{taken}");
        mail.wait_for_subject(OWNER, "License killed for transfer: serial 5000001", 1)
            .await;
        let events = app
            .get_json_ok("/api/v1/events?action=license_transferred")
            .await;
        assert_eq!(events["events"][0]["target"], "serial 5000001");

        // A metered license never moves.
        bandpool_services::metered::set_contract(
            &app.state,
            &tenant,
            &bandpool_services::metered::Contract {
                contract_id: "MELA-T".into(),
                max_activations: 5,
                trial_ends_at: None,
            },
            vec![bandpool_domain::metered::Tier {
                name: "All".into(),
                from_mbps: 0,
            }],
        )
        .await
        .unwrap();
        let mut request = activation(8, "vlm-200", json!({}));
        request["appliance"] = json!({ "mac_address": "005056000008", "firmware_version": NEW, "booted_at": now - DAY, "hypervisor": "vmware" });
        let (status, metered) = activate(&app, &connector, &request).await;
        assert_eq!(
            (status, metered["kind"].as_str()),
            (201, Some("metered")),
            "{metered}"
        );
        assert_refused(
            &transfer(
                &app,
                &connector,
                "transfer-metered",
                &metered,
                "5000008",
                NEW,
            )
            .await,
            409,
            "metered_license_not_transferable",
        );
    }
);

app_test!(
    ha_and_geo_partners_come_from_the_appliances,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let credential = app.register_connector("dc-east").await;
        let connector = app.connector(&credential);
        // A tenant that is not pooled: LoadMasters are assets, an HA pair counts once.
        let tenant = app.tenant_id.clone().unwrap();
        let actor = bandpool_services::Actor::system("test");
        bandpool_services::entitlements::edit(&app.state, &actor, &tenant, |f| f.pooled = false)
            .await
            .unwrap();
        let mut licenses = Vec::new();
        for i in 1..=4 {
            let (status, granted) =
                activate(&app, &connector, &activation(i, "vlm-200", json!({}))).await;
            assert_eq!(status, 201, "{granted}");
            licenses.push(granted["license_id"].as_str().unwrap().to_string());
        }
        let used = |usage: Value| usage["assets"]["used"].as_i64().unwrap();
        assert_eq!(used(app.get_json_ok("/api/v1/usage").await), 4);

        // LoadMasters 1 and 2 are an HA pair; 3 names 4 as a GEO partner. Their checks say so.
        let check = |i: usize, partners: Value| json!({ "license_id": licenses[i - 1], "serial_no": format!("{:07}", 5_000_000 + i), "checked_at": app.clock.now_ts(), "partners": partners });
        let report = json!({ "idempotency_key": "partners-1", "checks": [
        check(1, json!({ "ha_partner_serial": "5000002" })),
        check(2, json!({ "ha_partner_serial": "5000001" })),
        check(3, json!({ "geo_partner_serials": ["5000004", "5000004", "5009999"] })),
    ] });
        let (status, answer) = app
            .post_json(&connector, "/api/v1/connector/checks", &report)
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(used(app.get_json_ok("/api/v1/usage").await), 3);
        let csv = app.get_text_ok("/api/v1/usage/export.csv").await;
        let values: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(values[6], "3", "{csv}");
        let devices = app.get_json_ok("/api/v1/devices").await;
        let device = |serial: &str| {
            devices
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["serial_no"] == serial)
                .unwrap()
                .clone()
        };
        assert_eq!(device("5000001")["ha_partner_serial"], "5000002");
        // A partner not in the inventory is left out; a repeat counts once.
        assert_eq!(device("5000003")["geo_partner_serials"], json!(["5000004"]));
        // A check naming itself as its partner keeps its count and its answer; the impossible
        // partners are left out (one LoadMaster's mistake never costs the others their checks).
        let bad = json!({ "idempotency_key": "partners-2", "checks": [check(1, json!({ "ha_partner_serial": "5000001" })), check(4, json!({}))] });
        let (status, answer) = app
            .post_json(&connector, "/api/v1/connector/checks", &bad)
            .await;
        assert_eq!(
            (status, answer["results"][1]["status"].as_str()),
            (200, Some("active")),
            "{answer}"
        );
        let devices = app.get_json_ok("/api/v1/devices").await;
        let first = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial_no"] == "5000001")
            .unwrap()
            .clone();
        assert_eq!(first["ha_partner_serial"], "5000002");

        // Owners and Admins correct them on the device: 3 and 4 are an HA pair too.
        let id = device("5000003")["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/devices/{id}/partners");
        let put = |body: Value| {
            let (app, path) = (&app, path.clone());
            async move { common::answer(app.client.put(app.url(&path)).json(&body)).await }
        };
        let (status, corrected) =
            put(json!({ "ha_partner_serial": "5000004", "geo_partner_serials": [] })).await;
        assert_eq!(status, 200, "{corrected}");
        assert_eq!(corrected["ha_partner_serial"], "5000004");
        assert_eq!(used(app.get_json_ok("/api/v1/usage").await), 2);
        assert_refused(
            &put(json!({ "ha_partner_serial": "5009999" })).await,
            400,
            "invalid_parameter",
        );
        let reviewer = app.client_as(common::REVIEWER).await;
        let (status, _) = common::answer(reviewer.put(app.url(&path)).json(&json!({}))).await;
        assert_eq!(status, 403);
        let events = app
            .get_json_ok("/api/v1/events?action=device_partners_changed")
            .await;
        assert_eq!(events["total"], 1);
        let page = app.get_text_ok("/connectors").await;
        assert!(
            page.contains("HA / GEO partners") && page.contains("value=\"5000004\""),
            "the Connectors page shows the partners"
        );
    }
);

/// Change of owner: a LoadMaster behind the other tenant's connector takes its license there;
/// both pools stay right; the old Owners, the new Owners and the vendor are emailed through a
/// real SMTP server.
async fn change_of_owner(db: &bandpool_store::testing::TestDb) {
    let mail = common::mail::MailServer::start();
    let smtp = mail.smtp_url.clone();
    let app = TestApp::spawn_with(db, Seed::EmptyPool, move |s| {
        s.mail.smtp_url = Some(smtp.into());
        s.mail.vendor_email = Some("licensing@vendor.test".into());
    })
    .await;
    let old = app.connector(&app.register_connector("dc-east").await);
    let (_, moving) = activate(
        &app,
        &old,
        &activation(1, "vlm-500", json!({ "kind": "temporary" })),
    )
    .await;
    let (_, staying) = activate(&app, &old, &activation(2, "vlm-2000", json!({}))).await;
    let license = moving["license_id"].as_str().unwrap().to_string();
    // Other Corp (1,000 Mb/s, 5 LoadMasters) and its own connector.
    let other = app.client_as(common::OUTSIDER).await;
    let token = app.new_connector(&other, "other-dc").await;
    let body = json!({ "registration_token": token, "version": "test", "address": "http://10.8.0.1:8470" });
    let (_, registered) = app
        .post_json(&app.anonymous(), "/api/v1/connector/register", &body)
        .await;
    let new = app.connector(registered["credential"].as_str().unwrap());
    let change = |key: &str, license: &Value, serial: &str| json!({ "idempotency_key": key, "license_id": license, "serial_no": serial, "device_name": "lm-moved", "ip_address": "10.8.0.9" });

    let (status, moved) = app
        .post_json(
            &new,
            "/api/v1/connector/owner-changes",
            &change("owner-change-1", &moving["license_id"], "5000001"),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["message"], bandpool_domain::lifecycle::UPDATE_APPLIED);
    // The temporary license keeps its kind and term under its new owner.
    assert_eq!(
        (
            moved["license"]["kind"].as_str(),
            moved["license"]["expires_at"].as_i64()
        ),
        (Some("temporary"), moving["expires_at"].as_i64())
    );
    assert_eq!(
        app.post_json(
            &new,
            "/api/v1/connector/owner-changes",
            &change("owner-change-1", &moving["license_id"], "5000001")
        )
        .await
        .1,
        moved
    );
    // Both pools are right, and each tenant sees only what is its own.
    assert_eq!(
        app.get_json_ok("/api/v1/pool").await["allocated_mbps"],
        2_000
    );
    let (_, theirs) = common::answer(other.get(app.url("/api/v1/pool"))).await;
    assert_eq!(theirs["allocated_mbps"], 500);
    let (_, history) =
        common::answer(other.get(app.url(&format!("/api/v1/licenses/{license}/history")))).await;
    assert!(
        history["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["note"].as_str().unwrap().starts_with("Owner changed")),
        "{history}"
    );
    let (status, _) = app
        .get_json(&format!("/api/v1/licenses/{license}/history"))
        .await;
    assert_eq!(status, 404);
    // The new connector serves it now; the old one no longer does.
    let report = |key: &str| json!({ "idempotency_key": key, "checks": [{ "license_id": license, "serial_no": "5000001", "checked_at": app.clock.now_ts() }] });
    assert_eq!(
        app.post_json(&new, "/api/v1/connector/checks", &report("owner-check-new"))
            .await
            .1["results"][0]["status"],
        "active"
    );
    assert_eq!(
        app.post_json(&old, "/api/v1/connector/checks", &report("owner-check-old"))
            .await
            .1["results"][0]["refused"],
        "unknown_license"
    );
    // Three emails: the old Owners, the new Owners, the vendor.
    mail.wait_for_subject(OWNER, "License moved to another owner: serial 5000001", 1)
        .await;
    mail.wait_for_subject(common::OUTSIDER, "License moved to you: serial 5000001", 1)
        .await;
    let text = mail
        .text_of("licensing@vendor.test", "Change of owner: serial 5000001")
        .await;
    assert!(text.contains("from Empty Corp to Other Corp"), "{text}");

    // Refusals: no room in the new pool (nothing moves), a serial that does not hold it, a
    // license already this tenant's.
    assert_refused(
        &app.post_json(
            &new,
            "/api/v1/connector/owner-changes",
            &change("owner-change-2", &staying["license_id"], "5000002"),
        )
        .await,
        409,
        "pool_capacity_exceeded",
    );
    assert_eq!(
        app.get_json_ok("/api/v1/pool").await["allocated_mbps"],
        2_000
    );
    assert_refused(
        &app.post_json(
            &new,
            "/api/v1/connector/owner-changes",
            &change("owner-change-3", &staying["license_id"], "5000001"),
        )
        .await,
        404,
        "not_found",
    );
    assert_refused(
        &app.post_json(
            &new,
            "/api/v1/connector/owner-changes",
            &change("owner-change-4", &moving["license_id"], "5000001"),
        )
        .await,
        400,
        "invalid_parameter",
    );
}

db_test!(change_of_owner, change_of_owner);

/// An operator records and reads a tenant's orders over REST (signed in; never with a
/// tenant's API token), with the same checks as the page's form.
async fn operator_orders_over_rest(db: &bandpool_store::testing::TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let operator = app.client_as(OPERATOR).await;
    let tenant = app.tenant_id.clone().unwrap();
    let path = format!("/api/v1/tenants/{tenant}/orders");
    let order = json!({
        "order_id": "ORD-REST-1", "support_tier": "enterprise_plus", "support_ends_on": "2028-06-30",
        "lines": [{ "license_type_id": "vlm-2000", "quantity": 3 }, { "license_type_id": "vlm-500", "quantity": 1, "license_ends_on": "2027-12-31" }],
    });
    let (status, recorded) = app.post_json(&operator, &path, &order).await;
    assert_eq!(status, 200, "{recorded}");
    assert_eq!(recorded, json!({ "order_id": "ORD-REST-1", "new": true }));
    let (status, again) = app.post_json(&operator, &path, &order).await;
    assert_eq!((status, again["new"].as_bool()), (200, Some(false)));
    let (status, listed) = common::answer(operator.get(app.url(&path))).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["order_id"], "ORD-REST-1");
    assert_eq!(listed[0]["support_tier"], "enterprise_plus");
    // Members read them as their own.
    let (_, own) = app.get_json("/api/v1/orders").await;
    assert_eq!(own, listed);
    // A bad line is named; an unknown tenant is a 404; a tenant's Owner may not.
    let mut bad = order.clone();
    bad["lines"][1]["quantity"] = json!(0);
    let (status, refused) = app.post_json(&operator, &path, &bad).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{refused}"
    );
    assert!(
        refused["parameter"].as_str().unwrap().starts_with("lines"),
        "{refused}"
    );
    let missing = "/api/v1/tenants/00000000-0000-0000-0000-000000000000/orders";
    assert_eq!(app.post_json(&operator, missing, &order).await.0, 404);
    assert_eq!(common::answer(operator.get(app.url(missing))).await.0, 404);
    assert_eq!(app.post_json(&app.client, &path, &order).await.0, 403);
    let token = app
        .token_for(OWNER, bandpool_domain::auth::Scope::ReadWrite)
        .await;
    assert_eq!(
        app.post_json(&app.bearer(&token), &path, &order).await.0,
        403
    );
}

db_test!(operator_orders_over_rest, operator_orders_over_rest);
