//! Offline licensing over HTTP, on both databases: license text generated for each action
//! (a new LoadMaster, an update, a trial, a trial upgraded to permanent, the owner changed),
//! counted in the pool like an online license, checked against the deployment's published key
//! by the simulator's offline mode and by `server check-license`, and a tampered or misbound
//! text refused; each bad request refused with its stable code.

mod common;

use common::{assert_refused, Seed, TestApp, OPERATOR, OWNER, REVIEWER};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

/// A request for the LoadMaster with `serial`, its access code derived from it.
fn offline(action: &str, serial: &str, extra: Value) -> Value {
    let mut request = json!({
        "idempotency_key": format!("offline-{action}-{serial}"),
        "platform": "virtual",
        "action": action,
        "hypervisor": "VMware",
        "serial_no": serial,
        "access_code": code(serial),
        "firmware_version": "7.2.60.0",
        "license_type_id": "vlm-500",
        "ip_address": format!("10.6.0.{}", &serial[serial.len() - 1..]),
    });
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

fn code(serial: &str) -> String {
    bandpool_simulator::offline::access_code(serial)
}

async fn generate(app: &TestApp, client: &reqwest::Client, request: &Value) -> (u16, Value) {
    app.post_json(client, "/api/v1/offline-licenses", request)
        .await
}

/// The simulated LoadMaster applies `text` (checked against `key`); what it says.
fn apply(serial: &str, access_code: &str, text: &str, key: &str) -> Result<String, String> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    bandpool_simulator::offline::apply(
        serial,
        Some(access_code.to_string()),
        file.path().to_str().unwrap(),
        None,
        Some(key.to_string()),
    )
}

/// The same text with one character of its signed body changed.
fn tampered(text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let line = &mut lines[1];
    let swapped = if line.starts_with('e') { "f" } else { "e" };
    line.replace_range(0..1, swapped);
    lines.join("\n")
}

async fn round_trip(db: &bandpool_store::testing::TestDb) {
    let mail = common::mail::MailServer::start();
    let smtp = mail.smtp_url.clone();
    let app = TestApp::spawn_with(db, Seed::EmptyPool, move |s| {
        s.mail.smtp_url = Some(smtp.into());
    })
    .await;
    let owner = app.client_as(OWNER).await;

    // The key is published to anyone, and stays the same (it is kept in the database).
    let (status, published) =
        common::answer(app.anonymous().get(app.url("/api/v1/licensing-key"))).await;
    assert_eq!(status, 200, "{published}");
    let key = published["public_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 64);
    assert_eq!(published["algorithm"], "ed25519");

    // License a new LoadMaster: a pooled VLM-500, in the pool like any other license.
    let (status, issued) =
        generate(&app, &owner, &offline("new-license", "6000001", json!({}))).await;
    assert_eq!(status, 200, "{issued}");
    let text = issued["license_text"].as_str().unwrap().to_string();
    assert!(text.starts_with(bandpool_domain::offline::BEGIN), "{text}");
    assert_eq!(issued["grant"]["serial_no"], "6000001");
    assert_eq!(issued["grant"]["license"]["license_name"], "VLM-500");
    assert_eq!(issued["grant"]["license"]["kind"], "pooled");
    let license_id = issued["grant"]["license"]["license_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get_json_ok("/api/v1/pool").await["allocated_mbps"], 500);
    let listed = app.get_json_ok("/api/v1/licenses?q=6000001").await;
    assert_eq!(listed["licenses"][0]["ip_address"], "10.6.0.1", "{listed}");
    let (_, history) = app
        .get_json(&format!("/api/v1/licenses/{license_id}/history"))
        .await;
    assert!(
        history
            .to_string()
            .contains("by offline licensing (owner@demo.test"),
        "{history}"
    );

    // The LoadMaster (the simulator's offline mode) applies it; tampered, or on another unit,
    // it refuses it.
    let applied = apply("6000001", &code("6000001"), &text, &key).unwrap();
    assert!(
        applied.starts_with("license applied: VLM-500 (Pooled), 500 Mb/s"),
        "{applied}"
    );
    let refused = apply("6000001", &code("6000001"), &tampered(&text), &key).unwrap_err();
    assert!(refused.contains("altered"), "{refused}");
    let refused = apply("6000009", &code("6000009"), &text, &key).unwrap_err();
    assert!(refused.contains("serial number 6000001"), "{refused}");
    let refused = apply("6000001", "LM-00000000-00000000", &text, &key).unwrap_err();
    assert!(refused.contains("another access code"), "{refused}");

    // `server check-license` checks a text against the deployment's key.
    let dir = tempfile::tempdir().unwrap();
    let check = |text: String, unit: &[&str]| {
        let path = dir.path().join("license.txt");
        std::fs::write(&path, text).unwrap();
        let mut args = vec!["check-license".to_string(), path.display().to_string()];
        args.extend(unit.iter().map(|s| s.to_string()));
        let url = db.url.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
                .args(args)
                .env("DATABASE_URL", url)
                .output()
                .await
                .unwrap()
        }
    };
    let code_1 = code("6000001");
    let output = check(
        text.clone(),
        &["--serial", "6000001", "--access-code", &code_1],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let checked: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(checked["license"]["license_id"], license_id.as_str());
    let output = check(tampered(&text), &[]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("license text refused"));

    // Asked again (the form posted twice, or the text lost): the same license, nothing more
    // taken from the pool. Another unit claiming that serial number is refused.
    let again = offline(
        "new-license",
        "6000001",
        json!({ "idempotency_key": "offline-again-1" }),
    );
    let (status, repeated) = generate(&app, &owner, &again).await;
    assert_eq!(status, 200, "{repeated}");
    assert_eq!(
        repeated["grant"]["license"]["license_id"],
        license_id.as_str()
    );
    assert_eq!(app.get_json_ok("/api/v1/pool").await["allocated_mbps"], 500);
    let imposter = offline(
        "new-license",
        "6000001",
        json!({ "idempotency_key": "offline-imposter", "access_code": "LM-12345678-12345678" }),
    );
    assert_refused(
        &generate(&app, &owner, &imposter).await,
        403,
        "access_code_mismatch",
    );

    // Update a license: renewed, the reboot message, the same license.
    let (status, updated) = generate(&app, &owner, &offline("update", "6000001", json!({}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["grant"]["license"]["license_id"],
        license_id.as_str()
    );
    assert!(updated["message"]
        .as_str()
        .unwrap()
        .contains("Apply License"));
    assert!(apply(
        "6000001",
        &code("6000001"),
        updated["license_text"].as_str().unwrap(),
        &key
    )
    .is_ok());

    // Get a trial license: 30 days of VLM-MAX with Enterprise Plus; then upgrade it to a
    // permanent license from an order (the operator records it).
    let now = app.clock.now_ts();
    let (status, trial) = generate(&app, &owner, &offline("trial", "6000002", json!({}))).await;
    assert_eq!(status, 200, "{trial}");
    assert_eq!(trial["grant"]["license"]["kind"], "trial");
    assert_eq!(trial["grant"]["license"]["license_name"], "VLM-MAX");
    assert_eq!(
        trial["grant"]["license"]["expires_at"].as_i64(),
        Some(now + 30 * DAY)
    );
    assert_refused(
        &generate(
            &app,
            &owner,
            &offline(
                "trial",
                "6000002",
                json!({ "idempotency_key": "offline-trial-twice" }),
            ),
        )
        .await,
        409,
        "temporary_license_in_place",
    );
    let operator = app.client_as(OPERATOR).await;
    let tenant = app.tenant_id.clone().unwrap();
    let support_ends = bandpool_domain::format::format_date(now + 400 * DAY);
    let (status, _) = app
        .call(
            &operator,
            "record_order",
            &[
                ("tenant_id", tenant.as_str()),
                ("order_id", "ORD-OFF-1"),
                ("support_tier", "enterprise"),
                ("support_ends_on", support_ends.as_str()),
                ("lines", "vlm-2000=1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    // Upgrading a trial takes a license from an order: the Order ID is needed.
    let (status, refused) = generate(
        &app,
        &owner,
        &offline("upgrade-trial", "6000002", json!({})),
    )
    .await;
    assert_eq!(
        (status, refused["parameter"].as_str()),
        (400, Some("order_id")),
        "{refused}"
    );
    let upgrade = offline(
        "upgrade-trial",
        "6000002",
        json!({ "order_id": "ORD-OFF-1", "license_type_id": "vlm-2000" }),
    );
    let (status, upgraded) = generate(&app, &owner, &upgrade).await;
    assert_eq!(status, 200, "{upgraded}");
    assert_eq!(upgraded["grant"]["license"]["kind"], "permanent");
    assert_eq!(upgraded["grant"]["license"]["license_name"], "VLM-2000");
    assert_eq!(
        app.get_json_ok("/api/v1/pool").await["allocated_mbps"],
        2_500
    );

    // Update License Owner: Other Corp's Owner moves the VLM-500 to their tenant with the
    // serial number and access code; both pools are right, the Owners are told.
    let other = app.client_as(common::OUTSIDER).await;
    let move_it = |access_code: &str| {
        json!({
            "idempotency_key": "offline-move-6000001", "platform": "virtual", "action": "change-owner",
            "serial_no": "6000001", "access_code": access_code, "ip_address": "10.9.0.1",
        })
    };
    let (status, wrong) = generate(&app, &other, &move_it("LM-12345678-12345678")).await;
    assert_eq!(
        (status, wrong["code"].as_str()),
        (404, Some("not_found")),
        "{wrong}"
    );
    let (status, moved) = generate(&app, &other, &move_it(&code("6000001"))).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["grant"]["license"]["license_id"], license_id.as_str());
    assert_eq!(
        app.get_json_ok("/api/v1/pool").await["allocated_mbps"],
        2_000
    );
    let (_, theirs) = common::answer(other.get(app.url("/api/v1/pool"))).await;
    assert_eq!(theirs["allocated_mbps"], 500);
    mail.wait_for_subject(OWNER, "License moved to another owner: serial 6000001", 1)
        .await;
    mail.wait_for_subject(common::OUTSIDER, "License moved to you: serial 6000001", 1)
        .await;

    // Bad requests: a field the action needs, a platform, a Reviewer.
    let (status, missing) = generate(
        &app,
        &owner,
        &offline("update", "6000003", json!({ "serial_no": " " })),
    )
    .await;
    assert_eq!(
        (status, missing["parameter"].as_str()),
        (400, Some("serial_no")),
        "{missing}"
    );
    let (status, _) = generate(
        &app,
        &owner,
        &offline("new-license", "6000004", json!({ "platform": "mainframe" })),
    )
    .await;
    assert_eq!(status, 400);
    let reviewer = app.client_as(REVIEWER).await;
    let (status, _) = generate(
        &app,
        &reviewer,
        &offline("new-license", "6000005", json!({})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = generate(
        &app,
        &app.anonymous(),
        &offline("new-license", "6000005", json!({})),
    )
    .await;
    assert_eq!(status, 401);
}

db_test!(offline_license_round_trip, round_trip);

/// The page's form posts to its server function and shows the text once, to copy; opened from
/// a LoadMaster's link, the form is filled in.
async fn page_and_form(db: &bandpool_store::testing::TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let owner = app.client_as(OWNER).await;
    let link = bandpool_simulator::offline::link(
        "",
        &[
            ("action", "trial"),
            ("serial_no", "6100001"),
            ("access_code", &code("6100001")),
            ("ip_address", "10.61.0.1"),
        ],
    );
    let page = common::text_of(owner.get(app.url(&link))).await;
    assert!(page.contains("Generate license"), "{page}");
    assert!(
        page.contains("value=\"6100001\""),
        "the link fills the serial number in"
    );
    assert!(
        page.contains("<option value=\"trial\" selected"),
        "the link chooses the action"
    );
    let access_code = code("6100001");
    let (status, text) = app
        .call(
            &owner,
            "generate_offline_license",
            &[
                ("request[idempotency_key]", "offline-form-6100001"),
                ("request[platform]", "virtual"),
                ("request[action]", "trial"),
                ("request[hypervisor]", "KVM"),
                ("request[serial_no]", "6100001"),
                ("request[access_code]", access_code.as_str()),
                ("request[firmware_version]", "7.2.61"),
                ("request[ip_address]", "10.61.0.1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text
        .as_str()
        .unwrap()
        .starts_with(bandpool_domain::offline::BEGIN));
    // A Reviewer sees no such page.
    let reviewer = app.client_as(REVIEWER).await;
    let status = reviewer
        .get(app.url("/offline-licensing"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
}

db_test!(offline_licensing_page, page_and_form);
