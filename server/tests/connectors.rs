//! The connector API and the actions on licenses over HTTP, on both databases: registration,
//! credentials that work only there, activation and its refusal codes, replays, checks,
//! Kill License (typed confirmation, roles, idempotence, relayed over the command channel),
//! the long-poll waking on a kill, Sync licenses with drift and a silent connector, and
//! connector health with its emails through a real SMTP server.

mod common;

use bandpool_domain::auth::Scope;
use bandpool_server::sweeps::health_pass;
use common::mail::MailServer;
use common::{Seed, TestApp, OWNER, REVIEWER};
use serde_json::{json, Value};

/// A registered connector of the seeded tenant: (credential, client).
async fn register(app: &TestApp, name: &str) -> (String, reqwest::Client) {
    let token = app.new_connector(&app.client, name).await;
    let body = json!({ "registration_token": token, "version": "test", "address": "http://10.0.0.5:8470" });
    let response = app
        .anonymous()
        .post(app.url("/api/v1/connector/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    // The token worked once.
    let again = app
        .anonymous()
        .post(app.url("/api/v1/connector/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "invalid_registration_token"
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

async fn post(client: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
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
        let (status, beat) = post(
            &connector,
            app.url("/api/v1/connector/heartbeat"),
            &json!({ "version": "test", "address": "http://10.0.0.5:8470" }),
        )
        .await;
        assert_eq!((status, beat["status"].as_str()), (200, Some("up")));

        // Granted, then the same message again: the same license, no second one.
        let (status, granted) = post(
            &connector,
            app.url("/api/v1/connector/activations"),
            &activation(1, "vlm-500"),
        )
        .await;
        assert_eq!(status, 201, "{granted}");
        let (status, replay) = post(
            &connector,
            app.url("/api/v1/connector/activations"),
            &activation(1, "vlm-500"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(replay["license_id"], granted["license_id"]);
        let license_id = granted["license_id"].as_str().unwrap().to_string();

        // Refusals carry their codes and the error table's messages.
        let mut bad = activation(2, "vlm-nope");
        let (status, body) = post(&connector, app.url("/api/v1/connector/activations"), &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_license_type"))
        );
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid License Type ID provided."));
        bad = activation(3, "vlm-500");
        bad["ip_address"] = json!("10.2.0.1");
        let (status, body) = post(&connector, app.url("/api/v1/connector/activations"), &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("device_ip_exists"))
        );
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Device with same IP Address already exist."));
        bad = activation(4, "vlm-500");
        bad["sku"] = json!("VLM-XYZ");
        let (status, body) = post(&connector, app.url("/api/v1/connector/activations"), &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("no_license_for_sku"))
        );
        // Malformed messages are clear 400s.
        let (status, body) = post(
            &connector,
            app.url("/api/v1/connector/activations"),
            &json!({ "serial_no": 5 }),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_parameter"))
        );
        bad = activation(5, "vlm-500");
        bad["ip_address"] = json!("not an address");
        let (status, body) = post(&connector, app.url("/api/v1/connector/activations"), &bad).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some("ip_address"))
        );

        // A periodic check of many LoadMasters in one report.
        let (status, answer) = post(
            &connector,
            app.url("/api/v1/connector/checks"),
            &json!({ "idempotency_key": "checks-key-0001", "checks": [
                { "license_id": license_id, "serial_no": "7000001", "checked_at": app.clock.now_ts() },
                { "license_id": "00000000-0000-0000-0000-000000000000", "serial_no": "1", "checked_at": app.clock.now_ts() }
            ] }),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(answer["results"][0]["status"], "active");
        assert_eq!(answer["results"][1]["status"], Value::Null);
        assert_eq!(answer["results"][1]["refused"], "unknown_license");

        // The credential works only on the connector API; user tokens never work there.
        let (status, _) = app_get(&app, &connector, "/api/v1/licenses").await;
        assert_eq!(status, 401);
        let token = app.token_for(OWNER, Scope::ReadWrite).await;
        let response = app
            .bearer(&token)
            .get(app.url("/api/v1/connector/commands"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let response = app
            .client
            .get(app.url("/api/v1/connector/commands"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let wrong = app.connector(&format!("{credential}x"));
        let response = wrong
            .get(app.url("/api/v1/connector/commands"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "invalid_connector_credential"
        );

        // Nothing waiting: the long-poll answers empty once its wait is over.
        assert!(commands(&app, &connector, 0).await.is_empty());

        // Kill License: the typed word must be KILL; Reviewers cannot kill.
        let kill_url = app.url(&format!("/api/v1/licenses/{license_id}/kill"));
        let (status, body) =
            post(&app.client, kill_url.clone(), &json!({ "confirm": "kill" })).await;
        assert_eq!((status, body["parameter"].as_str()), (400, Some("confirm")));
        let reviewer = app.client_as(REVIEWER).await;
        let (status, _) = post(&reviewer, kill_url.clone(), &json!({ "confirm": "KILL" })).await;
        assert_eq!(status, 403);
        let read_token = app.token_for(OWNER, Scope::Read).await;
        let (status, _) = post(
            &app.bearer(&read_token),
            kill_url.clone(),
            &json!({ "confirm": "KILL" }),
        )
        .await;
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
        let (status, killed) =
            post(&app.client, kill_url.clone(), &json!({ "confirm": "KILL" })).await;
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
        let (status, again) = post(&app.client, kill_url, &json!({ "confirm": "KILL" })).await;
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
        let (status, second) = post(
            &connector,
            app.url("/api/v1/connector/activations"),
            &activation(6, "vlm-200"),
        )
        .await;
        assert_eq!(status, 201);
        let (_, devices) = app.get_json("/api/v1/devices").await;
        let device = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial_no"] == "7000006")
            .unwrap()
            .clone();
        let response = app
            .client
            .delete(app.url(&format!(
                "/api/v1/devices/{}",
                device["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409);
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "device_has_pooled_license"
        );

        // The LoadMaster gives its license back through its connector.
        let (status, gone) = post(
            &connector,
            app.url("/api/v1/connector/deactivations"),
            &json!({ "idempotency_key": "deactivation-0006", "license_id": second["license_id"], "serial_no": "7000006" }),
        )
        .await;
        assert_eq!((status, gone["status"].as_str()), (200, Some("killed")));
    }
);

async fn app_get(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

app_test!(
    sync_licenses_reconciles_and_names_silent_connectors,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let (_, east) = register(&app, "dc-east").await;
        let (_, _west) = register(&app, "dc-west").await;
        let (_, a) = post(
            &east,
            app.url("/api/v1/connector/activations"),
            &activation(1, "vlm-200"),
        )
        .await;
        let (_, before) = app.get_json("/api/v1/pool").await;

        let (status, run) = post(&app.client, app.url("/api/v1/licenses/sync"), &json!({})).await;
        assert_eq!(status, 202, "{run}");
        assert_eq!(run["connectors"].as_array().unwrap().len(), 2);
        let run_id = run["id"].as_str().unwrap().to_string();
        // A second click joins the running sync.
        let (_, joined) = post(&app.client, app.url("/api/v1/licenses/sync"), &json!({})).await;
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
        let kinds: Vec<&str> = done["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
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
    let (_, granted) = post(
        &connector,
        app.url("/api/v1/connector/activations"),
        &activation(1, "vlm-2000"),
    )
    .await;
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
    let (status, _) = post(
        &connector,
        app.url("/api/v1/connector/heartbeat"),
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
    let (_, second) = post(
        &connector,
        app.url("/api/v1/connector/activations"),
        &activation(2, "vlm-200"),
    )
    .await;
    let second = second["license_id"].as_str().unwrap().to_string();
    let (status, _) = post(
        &app.client,
        app.url(&format!("/api/v1/licenses/{second}/kill")),
        &json!({ "confirm": "KILL" }),
    )
    .await;
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
