//! Usage and billing against the real application, on SQLite and PostgreSQL: the overview and
//! its page, the CSV, applications through the REST API, Sync entitlements from an upstream
//! licensing service over HTTPS (answering, failing, too slow), and limit notifications by
//! real email (an SMTP server process) and by signed webhook (an HTTPS receiver that checks
//! the signature), retried after a failure.

mod common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::mail::MailServer;
use common::{answer, assert_refused, field_of_each, Seed, TestApp, OWNER};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sync entitlements, as the Owner clicks it: the run started (or joined).
async fn start_sync(app: &TestApp) -> (u16, Value) {
    answer(app.client.post(app.url("/api/v1/entitlements/sync"))).await
}

app_test!(
    the_overview_page_and_csv_agree_with_the_entitlement,
    Seed::Demo(60),
    |app: TestApp| async move {
        let usage = app.get_json_ok("/api/v1/usage").await;
        let e = &usage["entitlement"];
        assert_eq!(e["plan"], "LoadMaster 360 Pooled");
        assert_eq!(e["pooled"], true);
        // Base 25 plus the Active 10-pack; the Trial 5-pack does not count.
        assert_eq!(usage["total_assets"], 35);
        // Pooled: only applications are used assets.
        let apps = usage["mapped_applications"].as_i64().unwrap();
        assert!(apps > 0);
        assert_eq!(usage["assets"]["used"], apps);
        let (_, pool) = app.get_json("/api/v1/pool").await;
        assert_eq!(usage["capacity"]["used"], pool["allocated_mbps"]);
        assert_eq!(usage["capacity"]["total"], pool["max_capacity_mbps"]);
        assert_eq!(usage["loadmasters"]["used"], pool["loadmasters"]);

        // The page, rendered on the server (no JavaScript needed to read it).
        let html = app.get_text_ok("/usage-and-billing").await;
        for part in [
            "Subscription details",
            "Subscription add-ons",
            "Additional assets (10-pack)",
            "Pooled License Overview",
            "Assets overview",
            "Mapped application usage",
            "ORD-2026-0042",
            "data-bar=\"capacity\"",
            "data-bar=\"loadmasters\"",
            "data-bar=\"assets\"",
        ] {
            assert!(html.contains(part), "the page lacks {part}");
        }
        let level = usage["assets"]["level"].as_str().unwrap();
        assert!(html.contains(&format!("data-bar=\"assets\" data-level=\"{level}\"")));

        // The CSV: the Usage and billing guide's fields in order, then add-ons, then assets.
        let response = app.get("/api/v1/usage/export.csv").await;
        assert_eq!(response.status(), 200);
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disposition.contains("Usage_and_billing_"), "{disposition}");
        let text = response.text().await.unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "Name,Progress ID,Order ID,Plan,Base Assets,Total Assets,Used Assets,Remaining Assets,Virtual Service Limit,Status,Activation Date,Bill Date"
        );
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            &values[..6],
            [
                "Dana Whitfield",
                "PRG-104233",
                "ORD-2026-0042",
                "LoadMaster 360 Pooled",
                "25",
                "35"
            ]
        );
        assert_eq!(values[6], apps.to_string());
        assert_eq!(values[7], (35 - apps).to_string());
        assert_eq!(values[8], "15");
        assert!(text.contains("Add Ons\nDescription,Quantity,Status,Activation Date,Bill Date\nAdditional assets (10-pack),10,Active,"));
        assert!(
            text.contains("Assets\nApplication,Used Virtual Services,Remaining Virtual Services\n")
        );
        let asset_rows = text
            .split("Remaining Virtual Services\n")
            .nth(1)
            .unwrap()
            .lines()
            .count();
        assert_eq!(asset_rows as i64, apps);

        // A Reviewer reads it too; bad paging is a clear 400.
        let reviewer = app.client_as(common::REVIEWER).await;
        let (status, _) = answer(reviewer.get(app.url("/api/v1/usage"))).await;
        assert_eq!(status, 200);
        let paged = app.get_json("/api/v1/applications?per_page=15").await;
        assert_refused(&paged, 400, "invalid_parameter");
    }
);

app_test!(
    applications_hold_at_most_15_virtual_services_and_quick_map_makes_one_each,
    Seed::Demo(60),
    |app: TestApp| async move {
        let (_, services) = app.get_json("/api/v1/virtual-services").await;
        let services = services.as_array().unwrap().clone();
        let unmapped: Vec<String> = services
            .iter()
            .filter(|v| v["application"].is_null())
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert!(
            !unmapped.is_empty(),
            "the demo leaves some Virtual Services unmapped"
        );
        let mapped = services
            .iter()
            .find(|v| !v["application"].is_null())
            .unwrap();

        // Manual mapping with one unmapped service.
        let manual = json!({ "name": "Manual app", "virtual_service_ids": [unmapped[0]] });
        let (status, body) = app
            .post_json(&app.client, "/api/v1/applications", &manual)
            .await;
        assert_eq!(status, 201, "{body}");
        // A service of another application is refused with its own code.
        let thief = json!({ "name": "Thief", "virtual_service_ids": [mapped["id"]] });
        let refused = app
            .post_json(&app.client, "/api/v1/applications", &thief)
            .await;
        assert_refused(&refused, 409, "virtual_service_mapped");
        // The refused creation left nothing behind.
        let (_, page) = app.get_json("/api/v1/applications?per_page=50").await;
        let names = field_of_each(&page["applications"], "name");
        assert!(names.contains(&"Manual app") && !names.contains(&"Thief"));

        // A full application (the demo has 15-service ones) refuses a 16th.
        let full = page["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["virtual_services"] == 15)
            .cloned()
            .expect("the demo has an application with 15 Virtual Services");
        {
            assert_eq!(full["usage"]["level"], "red");
            assert_eq!(full["usage"]["percent"], 100);
            let refused = answer(app.client.put(app.url(&format!(
                "/api/v1/applications/{}/virtual-services/{}",
                full["id"].as_str().unwrap(),
                unmapped[1]
            ))))
            .await;
            assert_refused(&refused, 409, "application_full");
        }

        // Quick map: every remaining unmapped service becomes an application.
        let before = page["total"].as_i64().unwrap();
        let (status, body) =
            answer(app.client.post(app.url("/api/v1/applications/quick-map"))).await;
        assert_eq!(status, 200, "{body}");
        let (_, after) = app
            .get_json("/api/v1/applications?per_page=10&page=1")
            .await;
        assert_eq!(
            after["total"].as_i64().unwrap(),
            before + unmapped.len() as i64 - 1
        );
        assert_eq!(after["applications"].as_array().unwrap().len(), 10);
        let (_, usage) = app.get_json("/api/v1/usage").await;
        assert_eq!(usage["assets"]["used"], after["total"]);
        // The bar's percentage and level follow the new count.
        let used = usage["assets"]["used"].as_i64().unwrap();
        let percent = usage["assets"]["percent"].as_i64().unwrap();
        assert_eq!(percent, (used * 200 + 35) / 70);
        assert_eq!(
            usage["assets"]["level"],
            bandpool_domain::billing::Level::of_percent(percent).key()
        );
        // Nothing unmapped is left.
        let (_, services) = app.get_json("/api/v1/virtual-services").await;
        assert!(services
            .as_array()
            .unwrap()
            .iter()
            .all(|v| !v["application"].is_null()));

        // Delete unmaps; a Reviewer may not change applications.
        let id = after["applications"][0]["id"].as_str().unwrap().to_string();
        let reviewer = app.client_as(common::REVIEWER).await;
        let (status, _) =
            answer(reviewer.delete(app.url(&format!("/api/v1/applications/{id}")))).await;
        assert_eq!(status, 403);
        let (status, _) = answer(
            app.client
                .delete(app.url(&format!("/api/v1/applications/{id}"))),
        )
        .await;
        assert_eq!(status, 200);
        let (_, services) = app.get_json("/api/v1/virtual-services").await;
        assert!(services
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["application"].is_null()));
    }
);

/// The upstream licensing service of the tests: answers by Progress ID, checks its token.
#[derive(Clone)]
struct Upstream {
    entitlement: Arc<Mutex<Value>>,
}

async fn upstream_entitlement(
    State(upstream): State<Upstream>,
    headers: HeaderMap,
    Path(progress_id): Path<String>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer upstream-secret")
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "token" })));
    }
    match progress_id.as_str() {
        "PRG-FAIL" => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "down" })),
        ),
        "PRG-SLOW" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (
                StatusCode::OK,
                Json(upstream.entitlement.lock().unwrap().clone()),
            )
        }
        "PRG-BAD" => (StatusCode::OK, Json(json!({ "plan": "x" }))),
        _ => (
            StatusCode::OK,
            Json(upstream.entitlement.lock().unwrap().clone()),
        ),
    }
}

/// An HTTPS peer serving `router`, and the portal (the demo tenant) that trusts the peer's
/// CA as a deployment with a private CA would, its settings changed by `configure`, which is
/// given the peer's address.
async fn spawn_with_peer(
    db: &bandpool_store::testing::TestDb,
    router: Router,
    configure: impl FnOnce(&mut bandpool_server::settings::Settings, String),
) -> (TestApp, common::tls::TlsServer) {
    let peer = common::tls::serve(router).await;
    let ca = peer.ca_file.path().to_path_buf();
    let base = peer.base.clone();
    let app = TestApp::spawn_with(db, Seed::Demo(40), move |s| {
        s.webhooks.extra_ca_file = Some(ca);
        configure(s, base);
    })
    .await;
    (app, peer)
}

async fn wait_for_sync(app: &TestApp, id: &str) -> Value {
    for _ in 0..100 {
        let (_, run) = app
            .get_json(&format!("/api/v1/entitlements/sync/{id}"))
            .await;
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sync did not finish");
}

async fn set_progress_id(app: &TestApp, progress_id: &str) {
    let tenant = app.tenant_id.clone().unwrap();
    let mut e = bandpool_store::billing::entitlement(&app.db, &tenant)
        .await
        .unwrap();
    e.progress_id = progress_id.to_string();
    let mut tx = app.db.begin_write().await.unwrap();
    bandpool_store::billing::apply_entitlement(&mut tx, &tenant, &e, app.clock.now_ts())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn upstream_sync(db: &bandpool_store::testing::TestDb) {
    let upstream = Upstream {
        entitlement: Arc::new(Mutex::new(Value::Null)),
    };
    let router = Router::new()
        .route("/v1/entitlements/{progress_id}", get(upstream_entitlement))
        .with_state(upstream.clone());
    let (app, _upstream_server) = spawn_with_peer(db, router, |s, base| {
        s.entitlements.entitlements_url = Some(base);
        s.entitlements.entitlements_token = Some("upstream-secret".into());
        s.entitlements.entitlements_timeout_seconds = 1;
    })
    .await;
    let tenant = app.tenant_id.clone().unwrap();
    let (_, before) = app.get_json("/api/v1/usage").await;
    let (_, licenses_before) = app.get_json("/api/v1/licenses?status=active").await;
    let allocated = before["capacity"]["used"].as_i64().unwrap();

    // The service lowers the capacity below the allocation and adds an add-on.
    let mut next = before["entitlement"].clone();
    next["progress_id"] = json!("PRG-104233");
    next["max_capacity_mbps"] = json!(allocated / 2);
    next["add_ons"] = json!([{ "description": "Additional assets (20-pack)", "quantity": 20, "status": "active", "activated_at": 1_790_000_000, "bill_at": null }]);
    // It carries the tenant's orders too: recorded with the entitlement.
    next["orders"] = json!([{ "order_id": "ORD-UP-1", "support_tier": "enterprise", "support_ends_on": "2028-01-31", "lines": [{ "license_type_id": "vlm-500", "quantity": 2 }] }]);
    *upstream.entitlement.lock().unwrap() = next;

    let (status, started) = start_sync(&app).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running");
    assert_eq!(started["source"], "upstream");
    let done = wait_for_sync(&app, started["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    let fields = field_of_each(&done["changes"], "field");
    assert!(
        fields.contains(&"Maximum capacity (Mb/s)")
            && fields.contains(&"Add Ons")
            && fields.contains(&"Total Assets"),
        "{fields:?}"
    );
    let (_, after) = app.get_json("/api/v1/usage").await;
    assert_eq!(after["capacity"]["total"], allocated / 2);
    assert_eq!(after["total_assets"], 45);
    assert_eq!(after["last_refreshed_at"], done["finished_at"]);
    // Shown as an alert on both pages; never applied by killing licenses.
    let (_, licenses_after) = app.get_json("/api/v1/licenses?status=active").await;
    assert_eq!(licenses_after["total"], licenses_before["total"]);
    assert_eq!(after["capacity"]["used"], allocated);
    let (_, html) = app.get_text("/usage-and-billing").await;
    assert!(html.contains("data-alert=\"over-allocated\""));
    let (_, html) = app.get_text("/license-repository").await;
    assert!(html.contains("over-allocated"));
    // The event log says what changed.
    let (_, events) = app
        .get_json("/api/v1/events?action=entitlements_synced")
        .await;
    assert!(events["events"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Maximum capacity"));
    assert!(events["events"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("orders recorded: ORD-UP-1"));
    let (_, orders) = app.get_json("/api/v1/orders").await;
    assert_eq!(orders[0]["order_id"], "ORD-UP-1", "{orders}");
    assert_eq!(orders[0]["lines"][0]["quantity"], 2, "{orders}");

    // A failing service: the run fails with a clear reason and nothing changes.
    for (progress_id, says) in [
        ("PRG-FAIL", "answered HTTP 503"),
        ("PRG-SLOW", "did not answer within 1 s"),
        ("PRG-BAD", "not an entitlement"),
    ] {
        set_progress_id(&app, progress_id).await;
        let (_, before) = app.get_json("/api/v1/entitlements").await;
        let (status, started) = start_sync(&app).await;
        assert_eq!(status, 202);
        if progress_id == "PRG-SLOW" {
            // A second click while it waits joins the running sync.
            let (_, again) = start_sync(&app).await;
            assert_eq!(again["id"], started["id"]);
        }
        let failed = wait_for_sync(&app, started["id"].as_str().unwrap()).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert_eq!(failed["error_code"], "entitlement_source_failed");
        assert!(
            failed["error_message"].as_str().unwrap().contains(says),
            "{failed}"
        );
        let (_, unchanged) = app.get_json("/api/v1/entitlements").await;
        assert_eq!(unchanged, before);
        let (_, usage) = app.get_json("/api/v1/usage").await;
        assert_eq!(
            usage["last_refreshed_at"], done["finished_at"],
            "a failed sync does not move Last refreshed"
        );
        assert_eq!(usage["latest_sync"]["status"], "failed");
    }
    // Without a Progress ID there is nothing to look up: a clear failure too.
    set_progress_id(&app, "").await;
    let (_, started) = start_sync(&app).await;
    let failed = wait_for_sync(&app, started["id"].as_str().unwrap()).await;
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains("no Progress ID"),
        "{failed}"
    );
    let _ = tenant;
}

db_test!(sync_entitlements_from_an_upstream_service, upstream_sync);

/// The webhook receiver of the tests: checks each signature with the secret the portal
/// gave, and fails the first `fail_first` deliveries.
#[derive(Clone, Default)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    received: Arc<Mutex<Vec<Value>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    use hmac::{Hmac, Mac};
    {
        let mut fail = receiver.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let signature = headers
        .get("x-bandpool-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (t, v1) = match signature.split_once(',') {
        Some((t, v1)) => (t.trim_start_matches("t="), v1.trim_start_matches("v1=")),
        None => return StatusCode::UNAUTHORIZED,
    };
    let secret = receiver.secret.lock().unwrap().clone();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if expected != v1 {
        return StatusCode::UNAUTHORIZED;
    }
    let mut value: Value = serde_json::from_str(&body).unwrap();
    value["x-bandpool-event"] = json!(headers["x-bandpool-event"].to_str().unwrap());
    receiver.received.lock().unwrap().push(value);
    StatusCode::NO_CONTENT
}

async fn set_capacity(app: &TestApp, mbps: i64) {
    let tenant = app.tenant_id.clone().unwrap();
    let mut e = bandpool_store::billing::entitlement(&app.db, &tenant)
        .await
        .unwrap();
    e.max_capacity_mbps = mbps;
    bandpool_services::entitlements::set(
        &app.state,
        &bandpool_store::events::Actor::system("test"),
        &tenant,
        &e,
    )
    .await
    .unwrap();
}

async fn notifications(db: &bandpool_store::testing::TestDb) {
    let mail = MailServer::start();
    let receiver = Receiver::default();
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let smtp = mail.smtp_url.clone();
    let (app, server) = spawn_with_peer(db, router, move |s, _| {
        s.mail.smtp_url = Some(smtp.into());
        // The receiver is on this machine.
        s.webhooks.webhook_allow_private_receivers = true;
    })
    .await;
    // An http:// webhook to another machine is refused (https only).
    let set_channels = |channels: Value| {
        answer(
            app.client
                .put(app.url("/api/v1/notifications/channels"))
                .json(&channels),
        )
    };
    let refused = set_channels(
        json!({ "email_recipients": [OWNER], "webhook_url": "http://hooks.example.com/hook" }),
    )
    .await;
    assert_refused(&refused, 400, "invalid_parameter");
    let (status, saved) = set_channels(
        json!({ "email_recipients": [OWNER, "billing@demo.test"], "webhook_url": format!("{}/hook", server.base) }),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let secret = saved["webhook_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    *receiver.secret.lock().unwrap() = secret;
    assert_eq!(saved["channels"]["webhook_secret_set"], true);

    let (_, usage) = app.get_json("/api/v1/usage").await;
    let allocated = usage["capacity"]["used"].as_i64().unwrap();
    // Below the limit: no message (the first look records "not reached").
    bandpool_services::notifications::check_limits(&app.state, app.tenant_id.as_deref().unwrap())
        .await;
    // The capacity lowered to the allocation: the limit is reached; one message.
    set_capacity(&app, allocated).await;
    bandpool_services::notifications::check_limits(&app.state, app.tenant_id.as_deref().unwrap())
        .await;
    bandpool_services::notifications::check_limits(&app.state, app.tenant_id.as_deref().unwrap())
        .await;
    let subjects = |messages: Vec<Value>| -> Vec<String> {
        messages
            .iter()
            .map(|m| m["subject"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let reached = "License capacity limit reached for Demo Networks";
    let count = |list: &[String]| list.iter().filter(|s| *s == reached).count();
    let owner = subjects(mail.wait_for_subject(OWNER, reached, 1).await);
    assert_eq!(count(&owner), 1, "{owner:?}");
    assert_eq!(
        count(&subjects(
            mail.wait_for_subject("billing@demo.test", reached, 1).await
        )),
        1
    );

    // The webhook: the receiver fails the first attempt; it is retried after the backoff.
    *receiver.fail_first.lock().unwrap() = 1;
    assert_eq!(
        bandpool_services::notifications::deliver_webhooks(&app.state)
            .await
            .unwrap(),
        1
    );
    let (_, deliveries) = app
        .get_json("/api/v1/notifications/webhook-deliveries")
        .await;
    let d = &deliveries[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(1)),
        "{deliveries}"
    );
    assert!(d["last_error"].as_str().unwrap().contains("HTTP 500"));
    // Not due before its backoff; due after.
    assert_eq!(
        bandpool_services::notifications::deliver_webhooks(&app.state)
            .await
            .unwrap(),
        0
    );
    app.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(
        bandpool_services::notifications::deliver_webhooks(&app.state)
            .await
            .unwrap(),
        1
    );
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["event"], "license_capacity_limit_reached");
    assert_eq!(
        received[0]["x-bandpool-event"],
        "license_capacity_limit_reached"
    );
    assert_eq!(received[0]["data"]["used"], allocated);
    let (_, deliveries) = app
        .get_json("/api/v1/notifications/webhook-deliveries")
        .await;
    assert_eq!(deliveries[0]["status"], "delivered");
    // The failure was visible in the portal while it lasted.
    let (_, html) = app.get_text("/notifications").await;
    assert!(html.contains("license_capacity_limit_reached"));

    // Below again (capacity raised): no message; reached again: a second message.
    set_capacity(&app, allocated * 2).await;
    set_capacity(&app, allocated).await;
    let owner = subjects(mail.wait_for_subject(OWNER, reached, 2).await);
    assert_eq!(count(&owner), 2, "{owner:?}");
    bandpool_services::notifications::deliver_webhooks(&app.state)
        .await
        .unwrap();
    assert_eq!(receiver.received.lock().unwrap().len(), 2);
    // The crossings are in the event log.
    let (_, events) = app.get_json("/api/v1/events?action=limit_reached").await;
    assert_eq!(events["total"], 2);

    // A receiver that keeps failing is given up after the last attempt, visibly.
    *receiver.fail_first.lock().unwrap() = 100;
    app.clock.advance(chrono::Duration::seconds(1));
    set_capacity(&app, allocated * 2).await;
    set_capacity(&app, allocated).await;
    for _ in 0..bandpool_store::notifications::MAX_ATTEMPTS {
        bandpool_services::notifications::deliver_webhooks(&app.state)
            .await
            .unwrap();
        app.clock.advance(chrono::Duration::seconds(3600));
    }
    let (_, deliveries) = app
        .get_json("/api/v1/notifications/webhook-deliveries")
        .await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries}");
    assert_eq!(
        deliveries[0]["attempts"],
        bandpool_store::notifications::MAX_ATTEMPTS
    );
}

db_test!(limit_messages_by_email_and_signed_webhook, notifications);
