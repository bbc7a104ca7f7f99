//! Automatic reporting against a reference receiver, on both databases. The receiver is a
//! real HTTPS server (its certificate from a private CA the portal is told to trust) that
//! checks the bearer token and each upload's Ed25519 signature against the deployment's
//! public key, keeps one report per idempotency key (tenant and period: a repeat replaces, it
//! never adds) and can be told to fail. Upload now, a failure with its reason, Retry upload,
//! the daily and monthly uploads of the sweep, and the whole 90-day reporting grace: the
//! warnings at 30, 7 and 1 days left, the removal of every metered LoadMaster at zero, the
//! refused activation, and the restart when an upload succeeds.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use bandpool_domain::metered::Tier;
use bandpool_server::sweeps::health_pass;
use bandpool_services::metered::Contract;
use common::{Seed, TestApp, REVIEWER};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "vendor-token-4711";
const SEED: [u8; 32] = [7; 32];

/// The vendor's side: what arrived, by idempotency key.
#[derive(Clone)]
struct Receiver {
    key: VerifyingKey,
    fail_next: Arc<AtomicUsize>,
    /// Every accepted upload, in order: (idempotency key, body).
    arrivals: Arc<Mutex<Vec<(String, Value)>>>,
    /// What the vendor bills from: one report per key.
    reports: Arc<Mutex<BTreeMap<String, Value>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if header("authorization") != format!("Bearer {TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "bad token" })),
        );
    }
    let signature = header("bandpool-signature");
    let verified = signature
        .strip_prefix("ed25519=")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| Signature::from_slice(&b).ok())
        .is_some_and(|s| receiver.key.verify(&body, &s).is_ok());
    if !verified {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "bad signature" })),
        );
    }
    if receiver
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "down for maintenance" })),
        );
    }
    let report: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "not JSON" })),
            )
        }
    };
    let key = header("idempotency-key");
    receiver
        .arrivals
        .lock()
        .unwrap()
        .push((key.clone(), report.clone()));
    let replaced = receiver
        .reports
        .lock()
        .unwrap()
        .insert(key, report)
        .is_some();
    (
        StatusCode::OK,
        Json(json!({ "accepted": true, "replaced": replaced })),
    )
}

async fn contract(app: &TestApp) {
    let contract = Contract {
        contract_id: "MELA-90".into(),
        max_activations: 10,
        trial_ends_at: None,
    };
    let tiers = vec![Tier {
        name: "Tier 1".into(),
        from_mbps: 0,
    }];
    bandpool_services::metered::set_contract(
        &app.state,
        app.tenant_id.as_deref().unwrap(),
        &contract,
        tiers,
    )
    .await
    .unwrap();
}

fn activation(i: u32) -> Value {
    json!({
        "idempotency_key": format!("reporting-activation-{i}"),
        "serial_no": format!("{}", 7_400_000 + i),
        "device_name": format!("vlm-reporting-{i}"),
        "ip_address": format!("10.6.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": "vlm-200",
        "appliance": {
            "mac_address": format!("00:50:56:00:03:{i:02x}"),
            "firmware_version": "7.2.59.0.22007.RELEASE",
            "booted_at": 1_790_000_000,
            "hypervisor": "VMware",
        },
    })
}

async fn events(app: &TestApp, action: &str) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .db
        .fetch_all_as(
            "SELECT detail FROM events WHERE tenant_id = $1 AND action = $2 ORDER BY at_ms",
            vec![app.tenant_id.clone().unwrap().into(), action.into()],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(d,)| d).collect()
}

async fn emails(app: &TestApp, subject_part: &str) -> Vec<String> {
    let rows: Vec<(String, String)> = app
        .db
        .fetch_all_as(
            "SELECT recipient, subject FROM email_outbox ORDER BY created_at",
            vec![],
        )
        .await
        .unwrap();
    rows.into_iter()
        .filter(|(_, s)| s.contains(subject_part))
        .map(|(r, _)| r)
        .collect()
}

async fn reporting(db: &bandpool_store::testing::TestDb) {
    let key = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
    let receiver = Receiver {
        key,
        fail_next: Arc::default(),
        arrivals: Arc::default(),
        reports: Arc::default(),
    };
    let router = Router::new()
        .route("/v1/usage-reports", post(receive))
        .with_state(receiver.clone());
    let peer = common::tls::serve(router).await;
    let (ca, base) = (peer.ca_file.path().to_path_buf(), peer.base.clone());
    let app = TestApp::spawn_with(db, Seed::EmptyPool, move |s| {
        s.webhooks.extra_ca_file = Some(ca);
        s.metered_reports.metered_reports_url = Some(base);
        s.metered_reports.metered_reports_token = Some(TOKEN.into());
        s.metered_reports.metered_reports_signing_key = Some(hex::encode(SEED).into());
        // The 90 days below must not end the LoadMaster's license by connector silence.
        s.connectors.connector_silence_seconds = 400 * 86_400;
    })
    .await;
    // At noon UTC, so the days counted below are whole days whatever time the test runs.
    let now = app.clock.now_ts();
    app.clock.advance(chrono::Duration::seconds(
        (43_200 - now.rem_euclid(86_400)).rem_euclid(86_400),
    ));
    contract(&app).await;
    let connector = app.connector(&app.register_connector("dc-reporting").await);
    let (status, granted) = app
        .post_json(&connector, "/api/v1/connector/activations", &activation(1))
        .await;
    assert_eq!(status, 201, "{granted}");
    let license = granted["license_id"].as_str().unwrap().to_string();
    let sample = json!({ "idempotency_key": "reporting-usage-1", "samples": [{
        "license_id": license, "serial_no": "7400001", "sampled_at": app.clock.now_ts() - 60,
        "bytes_in_per_second": 1_000_000, "bytes_out_per_second": 3_000_000, "ssl_tps": 50,
    }] });
    let (status, answer) = app
        .post_json(&connector, "/api/v1/connector/usage", &sample)
        .await;
    assert_eq!(status, 200, "{answer}");

    // Fresh: uploads on, nothing sent yet, the full grace left.
    let reviewer = app.client_as(REVIEWER).await;
    let (status, fresh) = common::answer(reviewer.get(app.url("/api/v1/metered/reporting"))).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(
        (
            fresh["upload"].as_bool(),
            fresh["email"].as_bool(),
            fresh["days_left"].as_i64()
        ),
        (Some(true), Some(false), Some(90))
    );
    assert!(fresh["last_success"].is_null());
    // A Reviewer may look but not upload.
    let (status, _) = app
        .post_json(&reviewer, "/api/v1/metered/reporting/upload", &json!({}))
        .await;
    assert_eq!(status, 403);

    // Upload now while the vendor is down: the reason is kept and shown, a retry is due.
    receiver.fail_next.store(1, Ordering::SeqCst);
    let (status, outcome) = app
        .post_json(&app.client, "/api/v1/metered/reporting/upload", &json!({}))
        .await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["delivered"], false);
    assert!(
        outcome["error"].as_str().unwrap().contains("503"),
        "{outcome}"
    );
    let month = outcome["period"].as_str().unwrap().to_string();
    let (_, standing) = common::answer(reviewer.get(app.url("/api/v1/metered/reporting"))).await;
    assert_eq!(standing["failing"]["period"], month.as_str());
    assert!(standing["failing"]["last_error"]
        .as_str()
        .unwrap()
        .contains("down for maintenance"));
    assert!(standing["failing"]["next_attempt_at"].as_i64().unwrap() > app.clock.now_ts());
    let page = common::text_of(reviewer.get(app.url("/metered/report"))).await;
    assert!(
        page.contains("No upload has succeeded yet"),
        "the page shows the standing"
    );
    assert!(page.contains(&format!("Upload of {month} failed")));
    assert_eq!(events(&app, "metered_report_upload_failed").await.len(), 1);

    // Retry upload: it goes through; the receiver checked the signature and the token.
    let (status, retried) = app
        .post_json(&app.client, "/api/v1/metered/reporting/retry", &json!({}))
        .await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(
        (retried["waiting"].as_u64(), retried["delivered"].as_u64()),
        (Some(1), Some(1))
    );
    let tenant = app.tenant_id.clone().unwrap();
    {
        let arrivals = receiver.arrivals.lock().unwrap();
        assert_eq!(arrivals.len(), 1);
        let (key, body) = &arrivals[0];
        assert_eq!(key, &format!("{tenant}:{month}"));
        assert_eq!(body["period"], month.as_str());
        assert_eq!(body["final"], false, "the month is still running");
        assert_eq!(body["report"]["max_instances"], 1);
        assert_eq!(body["report"]["contract_id"], "MELA-90");
        assert_eq!(body["daily_peaks"][0]["license_id"], license.as_str());
        assert_eq!(body["daily_peaks"][0]["peak_bytes_per_second"], 4_000_000);
    }
    let (_, standing) = common::answer(reviewer.get(app.url("/api/v1/metered/reporting"))).await;
    assert!(standing["failing"].is_null(), "{standing}");
    assert_eq!(standing["last_success"]["period"], month.as_str());
    let page = common::text_of(reviewer.get(app.url("/metered/report"))).await;
    assert!(
        page.contains("Last upload ") && page.contains(" - SUCCESS"),
        "the page says so"
    );

    // The same month again replaces what the vendor holds: never billed twice.
    let (_, outcome) = app
        .post_json(&app.client, "/api/v1/metered/reporting/upload", &json!({}))
        .await;
    assert_eq!(outcome["delivered"], true, "{outcome}");
    assert_eq!(receiver.arrivals.lock().unwrap().len(), 2);
    assert_eq!(receiver.reports.lock().unwrap().len(), 1);

    // Something altered on the way is refused by the receiver.
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(peer.ca_file.path()).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let (body, signature) = {
        let arrivals = receiver.arrivals.lock().unwrap();
        let mut tampered = arrivals[0].1.clone();
        tampered["report"]["max_instances"] = json!(0);
        (
            serde_json::to_vec(&tampered).unwrap(),
            "ed25519=".to_string() + &"00".repeat(64),
        )
    };
    let refused = client
        .post(format!("{}/v1/usage-reports", peer.base))
        .bearer_auth(TOKEN)
        .header("bandpool-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // The next day the sweep sends yesterday and last month on its own.
    app.clock.advance(chrono::Duration::days(1));
    let pass = health_pass(&app.state).await.unwrap();
    assert_eq!(pass.reporting.delivered, 2, "{pass:?}");
    let keys: Vec<String> = receiver.reports.lock().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys.iter().any(|k| k.len() == tenant.len() + 1 + 10),
        "a day: {keys:?}"
    );
    assert_eq!(
        health_pass(&app.state).await.unwrap().reporting.delivered,
        0,
        "each period once"
    );

    // Uploads turned off (Apply, recorded): now the grace runs down, one day at a time.
    let (status, applied) = common::answer(
        app.client
            .put(app.url("/api/v1/metered/reporting"))
            .json(&json!({ "upload": false, "email": true, "bcc": "Billing@Example.com" })),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(
        (applied["upload"].as_bool(), applied["bcc"].as_str()),
        (Some(false), Some("billing@example.com"))
    );
    assert_eq!(events(&app, "metered_reporting_changed").await.len(), 1);
    let (status, bad) = common::answer(
        app.client
            .put(app.url("/api/v1/metered/reporting"))
            .json(&json!({ "upload": true, "email": true, "bcc": "not an address" })),
    )
    .await;
    assert_eq!((status, bad["parameter"].as_str()), (400, Some("bcc")));

    let mut warned_at = Vec::new();
    let mut lapsed_on = None;
    for day in 1..=90 {
        app.clock.advance(chrono::Duration::days(1));
        let pass = health_pass(&app.state).await.unwrap();
        if pass.reporting.warned > 0 {
            warned_at.push(90 - day);
        }
        if pass.reporting.lapsed > 0 {
            assert_eq!(pass.reporting.removed, 1, "the metered LoadMaster goes");
            lapsed_on = Some(day);
        }
    }
    assert_eq!(warned_at, [30, 7, 1], "warned once at each threshold");
    assert_eq!(lapsed_on, Some(90));
    let warnings = emails(&app, "metered licensing stops in").await;
    assert_eq!(
        warnings.len(),
        3 * 2,
        "to the Owner and the Admin each time: {warnings:?}"
    );
    assert_eq!(emails(&app, "metered licensing stopped").await.len(), 2);
    assert_eq!(events(&app, "metered_licensing_stopped").await.len(), 1);
    let status: String = app
        .db
        .fetch_all_as::<(String,)>(
            "SELECT status FROM licenses WHERE id = $1",
            vec![license.clone().into()],
        )
        .await
        .unwrap()[0]
        .0
        .clone();
    assert_eq!(status, "killed");
    let (_, standing) = common::answer(reviewer.get(app.url("/api/v1/metered/reporting"))).await;
    assert_eq!(standing["days_left"], 0);
    assert!(standing["lapsed_at"].is_i64());
    let page = common::text_of(reviewer.get(app.url("/license-repository"))).await;
    assert!(
        page.contains("Metered licensing stopped on"),
        "the License Repository says so"
    );

    // New metered activations are refused until an upload succeeds.
    let answer = app
        .post_json(&connector, "/api/v1/connector/activations", &activation(2))
        .await;
    common::assert_refused(&answer, 403, "metered_reporting_lapsed");
    let (_, outcome) = app
        .post_json(&app.client, "/api/v1/metered/reporting/upload", &json!({}))
        .await;
    assert_eq!(outcome["delivered"], true, "{outcome}");
    let (_, standing) = common::answer(reviewer.get(app.url("/api/v1/metered/reporting"))).await;
    assert_eq!(
        (
            standing["days_left"].as_i64(),
            standing["lapsed_at"].is_null()
        ),
        (Some(90), true)
    );
    let (status, granted) = app
        .post_json(&connector, "/api/v1/connector/activations", &activation(3))
        .await;
    assert_eq!(status, 201, "metered licensing runs again: {granted}");
}

db_test!(
    uploads_retries_and_the_ninety_day_reporting_grace,
    reporting
);

/// Without a reporting service nothing is uploaded and no grace counts down.
async fn unconfigured(db: &bandpool_store::testing::TestDb) {
    let app = TestApp::spawn_with(db, Seed::EmptyPool, |_| {}).await;
    contract(&app).await;
    let (_, standing) = app.get_json("/api/v1/metered/reporting").await;
    assert_eq!(standing["service_configured"], false);
    assert!(standing["days_left"].is_null());
    let answer = app
        .post_json(&app.client, "/api/v1/metered/reporting/upload", &json!({}))
        .await;
    common::assert_refused(&answer, 409, "reporting_not_configured");
    app.clock.advance(chrono::Duration::days(120));
    let pass = health_pass(&app.state).await.unwrap();
    assert_eq!(pass.reporting, Default::default());
    // A stop left from when the deployment had a reporting service is lifted.
    app.db
        .execute(
            "UPDATE metered_reporting SET lapsed_at = 1 WHERE tenant_id = $1",
            vec![app.tenant_id.clone().unwrap().into()],
        )
        .await
        .unwrap();
    health_pass(&app.state).await.unwrap();
    let (_, standing) = app.get_json("/api/v1/metered/reporting").await;
    assert!(standing["lapsed_at"].is_null(), "{standing}");
}

db_test!(
    without_a_reporting_service_nothing_counts_down,
    unconfigured
);

/// Move the clock to noon on the first day of next month.
fn to_next_month(app: &TestApp) -> String {
    use chrono::Datelike;
    let now = app.clock.now();
    let first = now
        .date_naive()
        .with_day(1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let noon = first.and_hms_opt(12, 0, 0).unwrap().and_utc();
    app.clock.advance(noon - now);
    now.format("%Y-%m").to_string()
}

/// The monthly report by email, through the real SMTP server: the zip and the PDF attached,
/// a blind copy to the "Send bcc to" address, once per month; over the size limit, links.
async fn monthly_email(db: &bandpool_store::testing::TestDb, max_bytes: usize) {
    let mail = common::mail::MailServer::start();
    let smtp = mail.smtp_url.clone();
    let app = TestApp::spawn_with(db, Seed::EmptyPool, move |s| {
        s.mail.smtp_url = Some(smtp.into());
        s.metered_reports.metered_report_email_max_bytes = max_bytes;
    })
    .await;
    contract(&app).await;
    let connector = app.connector(&app.register_connector("dc-email").await);
    let (status, granted) = app
        .post_json(&connector, "/api/v1/connector/activations", &activation(1))
        .await;
    assert_eq!(status, 201, "{granted}");
    let (status, applied) = common::answer(
        app.client
            .put(app.url("/api/v1/metered/reporting"))
            .json(&json!({ "upload": true, "email": true, "bcc": "billing@example.com" })),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    let month = to_next_month(&app);
    let pass = health_pass(&app.state).await.unwrap();
    assert_eq!(pass.reporting.emailed, 1, "{pass:?}");
    assert_eq!(
        health_pass(&app.state).await.unwrap().reporting.emailed,
        0,
        "once a month"
    );
    let label = bandpool_domain::format::month_label(&month);
    let subject = format!("Bandpool: metered usage report for {label}");
    let owner = mail.wait_for_subject(common::OWNER, &subject, 1).await;
    let admin = mail.wait_for_subject(common::ADMIN, &subject, 1).await;
    let copy = mail
        .wait_for_subject("billing@example.com", &subject, 1)
        .await;
    assert_eq!(copy.len(), 1, "one blind copy");
    assert!(
        !owner.last().unwrap()["headers"]
            .to_string()
            .to_lowercase()
            .contains("billing@example.com"),
        "a blind copy is not named in the headers"
    );
    let message = owner
        .iter()
        .rev()
        .find(|m| m["subject"] == subject.as_str())
        .unwrap();
    let files: Vec<(String, String)> = message["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["filename"].as_str().unwrap().to_string(),
                a["contentType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let text = message["text"].as_str().unwrap();
    if max_bytes >= 1024 * 1024 {
        let stem = files[0].0.trim_end_matches(".zip").to_string();
        assert!(
            stem.starts_with(&format!("MELA_report_{}01_", month.replace('-', ""))),
            "{files:?}"
        );
        assert_eq!(
            files,
            [
                (format!("{stem}.zip"), "application/zip".to_string()),
                (format!("{stem}.pdf"), "application/pdf".to_string())
            ]
        );
        assert!(text.contains("is attached"), "{text}");
        let to_admin = admin
            .iter()
            .rev()
            .find(|m| m["subject"] == subject.as_str())
            .unwrap();
        assert_eq!(to_admin["attachments"].as_array().unwrap().len(), 2);
    } else {
        assert!(files.is_empty(), "too large to attach: {files:?}");
        assert!(
            text.contains("/api/v1/metered/report/download?from="),
            "{text}"
        );
        assert!(text.contains("&summary=on"), "{text}");
        assert!(text.contains("/api/v1/metered/report/pdf?from="), "{text}");
    }
    assert_eq!(events(&app, "metered_report_emailed").await.len(), 1);
    // Sent: the attachments are not kept (the sender records the delivery just after the
    // mail server took it).
    let mut kept = -1;
    for _ in 0..50 {
        kept = app
            .db
            .fetch_all_as::<(i64,)>("SELECT COUNT(*) FROM email_attachments", vec![])
            .await
            .unwrap()[0]
            .0;
        if kept == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kept, 0);
}

async fn monthly_email_attached(db: &bandpool_store::testing::TestDb) {
    monthly_email(db, 10 * 1024 * 1024).await;
}

async fn monthly_email_as_links(db: &bandpool_store::testing::TestDb) {
    monthly_email(db, 600).await;
}

db_test!(
    the_monthly_report_is_emailed_with_its_zip_and_pdf,
    monthly_email_attached
);
db_test!(
    a_monthly_report_over_the_size_limit_is_emailed_as_links,
    monthly_email_as_links
);
