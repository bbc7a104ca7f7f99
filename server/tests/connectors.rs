//! The connector API and the actions on licenses over HTTP, on both databases: registration,
//! credentials that work only there, activation and its refusal codes, replays, checks,
//! Kill License (typed confirmation, roles, idempotence, relayed over the command channel),
//! the long-poll waking on a kill, Sync licenses with drift and a silent connector, and
//! connector health with its emails through a real SMTP server.

mod common;

use bandpool_domain::auth::Scope;
use bandpool_server::sweeps::health_pass;
use common::mail::MailServer;
use common::{
    assert_refused, assert_refused_saying, field_of_each, Seed, TestApp, OWNER, REVIEWER,
};
use serde_json::{json, Value};

/// A registered connector of the seeded tenant: (credential, client).
async fn register(app: &TestApp, name: &str) -> (String, reqwest::Client) {
    let token = app.new_connector(&app.client, name).await;
    let body = json!({ "registration_token": token, "version": "test", "address": "http://10.0.0.5:8470" });
    let send_registration = || async {
        app.post_json(&app.anonymous(), "/api/v1/connector/register", &body)
            .await
    };
    let (status, registered) = send_registration().await;
    assert_eq!(status, 201, "{registered}");
    // The token worked once.
    assert_refused(
        &send_registration().await,
        401,
        "invalid_registration_token",
    );
    let credential = registered["credential"].as_str().unwrap().to_string();
    let client = app.connector(&credential);
    (credential, client)
}

fn activation(i: u32, license_type: &str) -> Value {
    json!({
        "idempotency_key": format!("activation-key-{i}"),
        "serial_no": format!("{:07}", 7_000_000 + i),
        "device_name": format!("lm-{i}"),
        "ip_address": format!("10.2.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": license_type,
    })
}

/// A LoadMaster's activation request, relayed by `connector`.
async fn activate(app: &TestApp, connector: &reqwest::Client, request: &Value) -> (u16, Value) {
    app.post_json(connector, "/api/v1/connector/activations", request)
        .await
}

/// Kill License on `license` as `client`, with the typed confirmation `word`.
async fn kill(app: &TestApp, client: &reqwest::Client, license: &str, word: &str) -> (u16, Value) {
    let path = format!("/api/v1/licenses/{license}/kill");
    app.post_json(client, &path, &json!({ "confirm": word }))
        .await
}

async fn commands(app: &TestApp, connector: &reqwest::Client, wait: u64) -> Vec<Value> {
    let response = connector
        .get(app.url(&format!("/api/v1/connector/commands?wait={wait}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["commands"]
        .as_array()
        .unwrap()
        .clone()
}

app_test!(
    connectors_license_loadmasters_over_http,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let (credential, connector) = register(&app, "dc-east").await;
        let (status, beat) = app
            .post_json(
                &connector,
                "/api/v1/connector/heartbeat",
                &json!({ "version": "test", "address": "http://10.0.0.5:8470" }),
            )
            .await;
        assert_eq!((status, beat["status"].as_str()), (200, Some("up")));

        // Granted, then the same message again: the same license, no second one.
        let (status, granted) = activate(&app, &connector, &activation(1, "vlm-500")).await;
        assert_eq!(status, 201, "{granted}");
        let (status, replay) = activate(&app, &connector, &activation(1, "vlm-500")).await;
        assert_eq!(status, 200);
        assert_eq!(replay["license_id"], granted["license_id"]);
        let license_id = granted["license_id"].as_str().unwrap().to_string();

        // Refusals carry their codes and the error table's messages.
        let mut same_ip = activation(3, "vlm-500");
        same_ip["ip_address"] = json!("10.2.0.1");
        for (request, status, code, message) in [
            (
                activation(2, "vlm-nope"),
                400,
                "invalid_license_type",
                "Invalid License Type ID provided.",
            ),
            (
                same_ip,
                409,
                "device_ip_exists",
                "Device with same IP Address already exist.",
            ),
        ] {
            let answer = activate(&app, &connector, &request).await;
            assert_refused_saying(&answer, status, code, message);
        }
        let mut bad = activation(4, "vlm-500");
        bad["sku"] = json!("VLM-XYZ");
        let answer = activate(&app, &connector, &bad).await;
        assert_refused(&answer, 409, "no_license_for_sku");
        // Malformed messages are clear 400s.
        let answer = activate(&app, &connector, &json!({ "serial_no": 5 })).await;
        assert_refused(&answer, 400, "invalid_parameter");
        bad = activation(5, "vlm-500");
        bad["ip_address"] = json!("not an address");
        let (status, body) = activate(&app, &connector, &bad).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some("ip_address"))
        );

        // A periodic check of many LoadMasters in one report.
        let report = json!({ "idempotency_key": "checks-key-0001", "checks": [
            { "license_id": license_id, "serial_no": "7000001", "checked_at": app.clock.now_ts() },
            { "license_id": "00000000-0000-0000-0000-000000000000", "serial_no": "1", "checked_at": app.clock.now_ts() }
        ] });
        let (status, answer) = app
            .post_json(&connector, "/api/v1/connector/checks", &report)
            .await;
        assert_eq!(status, 200);
        assert_eq!(answer["results"][0]["status"], "active");
        assert_eq!(answer["results"][1]["status"], Value::Null);
        assert_eq!(answer["results"][1]["refused"], "unknown_license");

        // The credential works only on the connector API; user tokens never work there.
        let licenses = app.get_as(&connector, "/api/v1/licenses").await;
        assert_eq!(licenses.status(), 401);
        let token = app.token_for(OWNER, Scope::ReadWrite).await;
        for user in [app.bearer(&token), app.client.clone()] {
            let response = app.get_as(&user, "/api/v1/connector/commands").await;
            assert_eq!(response.status(), 401);
        }
        let wrong = app.connector(&format!("{credential}x"));
        let response = app.get_as(&wrong, "/api/v1/connector/commands").await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "invalid_connector_credential"
        );

        // Nothing waiting: the long-poll answers empty once its wait is over.
        assert!(commands(&app, &connector, 0).await.is_empty());

        // Kill License: the typed word must be KILL; Reviewers cannot kill.
        let (status, body) = kill(&app, &app.client, &license_id, "kill").await;
        assert_eq!((status, body["parameter"].as_str()), (400, Some("confirm")));
        let reviewer = app.client_as(REVIEWER).await;
        let (status, _) = kill(&app, &reviewer, &license_id, "KILL").await;
        assert_eq!(status, 403);
        let read_token = app.token_for(OWNER, Scope::Read).await;
        let (status, _) = kill(&app, &app.bearer(&read_token), &license_id, "KILL").await;
        assert_eq!(status, 403);

        // A long-poll waiting when the kill happens is woken with it.
        let waiting = {
            let connector = connector.clone();
            let url = app.url("/api/v1/connector/commands?wait=20");
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let body: Value = connector
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (started.elapsed(), body)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (status, killed) = kill(&app, &app.client, &license_id, "KILL").await;
        assert_eq!(status, 200, "{killed}");
        assert_eq!(killed["license"]["status"], "killed");
        assert_eq!(killed["license"]["device_name"], Value::Null);
        assert_eq!(killed["relayed_to"], "dc-east");
        let (elapsed, polled) = waiting.await.unwrap();
        assert!(
            elapsed.as_secs() < 10,
            "the long-poll was not woken ({elapsed:?})"
        );
        let command = &polled["commands"][0];
        assert_eq!(command["type"], "kill");
        assert_eq!(command["license_id"], license_id.as_str());
        // Killing twice is harmless.
        let (status, again) = kill(&app, &app.client, &license_id, "KILL").await;
        assert_eq!(
            (status, again["already_killed"].as_bool()),
            (200, Some(true))
        );
        // Acknowledged (twice: harmless), it is no longer pending.
        let ack = app.url(&format!(
            "/api/v1/connector/commands/{}/ack",
            command["id"].as_str().unwrap()
        ));
        for _ in 0..2 {
            let response = connector
                .post(&ack)
                .json(&json!({ "result": "done" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 204);
        }
        assert!(commands(&app, &connector, 0).await.is_empty());
        // The capacity is back, and the pool shows it.
        let (_, pool) = app.get_json("/api/v1/pool").await;
        assert_eq!(pool["allocated_mbps"], 0);

        // A pooled LoadMaster cannot leave the inventory before its license is killed.
        let (status, second) = activate(&app, &connector, &activation(6, "vlm-200")).await;
        assert_eq!(status, 201);
        let (_, devices) = app.get_json("/api/v1/devices").await;
        let device = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial_no"] == "7000006")
            .unwrap()
            .clone();
        let device = app.url(&format!(
            "/api/v1/devices/{}",
            device["id"].as_str().unwrap()
        ));
        let refused = common::answer(app.client.delete(device)).await;
        assert_refused(&refused, 409, "device_has_pooled_license");

        // The LoadMaster gives its license back through its connector.
        let deactivation = json!({ "idempotency_key": "deactivation-0006", "license_id": second["license_id"], "serial_no": "7000006" });
        let (status, gone) = app
            .post_json(&connector, "/api/v1/connector/deactivations", &deactivation)
            .await;
        assert_eq!((status, gone["status"].as_str()), (200, Some("killed")));
    }
);

app_test!(
    sync_licenses_reconciles_and_names_silent_connectors,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let (_, east) = register(&app, "dc-east").await;
        let (_, _west) = register(&app, "dc-west").await;
        let (_, a) = activate(&app, &east, &activation(1, "vlm-200")).await;
        let (_, before) = app.get_json("/api/v1/pool").await;

        let (status, run) = app
            .post_json(&app.client, "/api/v1/licenses/sync", &json!({}))
            .await;
        assert_eq!(status, 202, "{run}");
        assert_eq!(run["connectors"].as_array().unwrap().len(), 2);
        let run_id = run["id"].as_str().unwrap().to_string();
        // A second click joins the running sync.
        let (_, joined) = app
            .post_json(&app.client, "/api/v1/licenses/sync", &json!({}))
            .await;
        assert_eq!(joined["id"], run_id.as_str());

        let pending = commands(&app, &east, 5).await;
        let sync = pending.iter().find(|c| c["type"] == "sync").unwrap();
        assert_eq!(sync["run_id"], run_id.as_str());
        // dc-east reports its LoadMaster killed there, and one the portal never licensed.
        let report = json!({ "result": "sync", "appliances": [
            { "license_id": a["license_id"], "serial_no": "7000001", "state": "killed", "last_check_at": null },
            { "license_id": "5f0e5d2c-1111-4a5a-9c9c-000000000001", "serial_no": "8888888", "state": "licensed", "last_check_at": null }
        ] });
        let response = east
            .post(app.url(&format!(
                "/api/v1/connector/commands/{}/ack",
                sync["id"].as_str().unwrap()
            )))
            .json(&report)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        let (_, still) = app
            .get_json(&format!("/api/v1/licenses/sync/{run_id}"))
            .await;
        assert_eq!(
            still["finished_at"],
            Value::Null,
            "dc-west has not answered yet"
        );

        // dc-west never answers: past the deadline the run finishes and names it.
        app.clock.advance(chrono::Duration::seconds(31));
        let (status, done) = app
            .get_json(&format!("/api/v1/licenses/sync/{run_id}"))
            .await;
        assert_eq!(status, 200);
        assert!(done["finished_at"].is_number(), "{done}");
        let silent: Vec<&str> = done["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["answered_at"].is_null())
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(silent, vec!["dc-west"]);
        let kinds = field_of_each(&done["drift"], "kind");
        assert!(kinds.contains(&"status_mismatch"), "{kinds:?}");
        assert!(kinds.contains(&"unknown_here"), "{kinds:?}");
        let (_, after) = app.get_json("/api/v1/pool").await;
        assert_ne!(after["last_refreshed_at"], before["last_refreshed_at"]);
        assert_eq!(after["last_refreshed_at"], done["finished_at"]);
    }
);

/// Connector health with real email: Down after the silence (grace, an email on the tenant's
/// communication channel),
/// back online (Active, an email), and expiry after the 30-day grace period.
async fn health(db: &bandpool_store::testing::TestDb) {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(db, Seed::EmptyPool, |s| {
        s.mail.smtp_url = Some(mail.smtp_url.as_str().into());
        s.connectors.connector_silence_seconds = 60;
    })
    .await;
    // Connector messages go to the tenant's communication channel.
    let saved = app
        .client
        .put(app.url("/api/v1/notifications/channels"))
        .json(&json!({ "email_recipients": [OWNER] }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let (_, connector) = register(&app, "dc-east").await;
    let (_, granted) = activate(&app, &connector, &activation(1, "vlm-2000")).await;
    let license = granted["license_id"].as_str().unwrap().to_string();
    let status_of = |body: &Value| body["license"]["status"].as_str().unwrap_or("").to_string();

    app.clock.advance(chrono::Duration::seconds(59));
    assert_eq!(health_pass(&app.state).await.unwrap().connectors_down, 0);
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(health_pass(&app.state).await.unwrap().connectors_down, 1);
    let (_, history) = app
        .get_json(&format!("/api/v1/licenses/{license}/history"))
        .await;
    assert_eq!(status_of(&history), "grace_period");
    let subjects = |messages: Vec<Value>| -> Vec<String> {
        messages
            .iter()
            .map(|m| m["subject"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(subjects(
        mail.wait_for_subject(OWNER, "Connector dc-east is down", 1)
            .await
    )
    .iter()
    .any(|s| s == "Connector dc-east is down"));
    let (_, connectors) = app.get_json("/api/v1/connectors").await;
    assert_eq!(connectors[0]["status"], "down");

    // It speaks again: Up, the license Active, and an email says so.
    let (status, _) = app
        .post_json(
            &connector,
            "/api/v1/connector/heartbeat",
            &json!({ "version": "test" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, history) = app
        .get_json(&format!("/api/v1/licenses/{license}/history"))
        .await;
    assert_eq!(status_of(&history), "active");
    mail.wait_for_subject(OWNER, "Connector dc-east is back online", 1)
        .await;

    // Kill License emails the Owners too (a second license, so the first can expire below).
    let (_, second) = activate(&app, &connector, &activation(2, "vlm-200")).await;
    let second = second["license_id"].as_str().unwrap().to_string();
    let (status, _) = kill(&app, &app.client, &second, "KILL").await;
    assert_eq!(status, 200);
    let killed = mail
        .wait_for_subject(OWNER, "License killed: lm-2 (10.2.0.2)", 1)
        .await
        .into_iter()
        .find(|m| m["subject"] == "License killed: lm-2 (10.2.0.2)");
    let text = killed.expect("an email about the kill")["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        text.contains("serial 7000002") && text.contains("200 Mb/s are back in the pool"),
        "{text}"
    );

    // Silent again, for good: 30 days later the license expires and the capacity returns.
    app.clock.advance(chrono::Duration::seconds(61));
    health_pass(&app.state).await.unwrap();
    app.clock.advance(chrono::Duration::days(30));
    let pass = health_pass(&app.state).await.unwrap();
    assert_eq!(pass.licenses_expired, 1);
    let (_, history) = app
        .get_json(&format!("/api/v1/licenses/{license}/history"))
        .await;
    assert_eq!(status_of(&history), "expired");
    let (_, pool) = app.get_json("/api/v1/pool").await;
    assert_eq!(pool["allocated_mbps"], 0);
    let (_, events) = app.get_json("/api/v1/events?action=connector_down").await;
    assert_eq!(events["total"], 2);
}

db_test!(connector_health, health);
