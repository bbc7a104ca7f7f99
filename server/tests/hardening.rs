//! Hostile input, one defect at a time, on both databases: NUL characters in text, malformed
//! server-function arguments, idempotency keys reused with other messages or at the same
//! moment, bodies that never arrive, headers that never end, too many connections, an
//! origin of another scheme, paths longer than a file name, and command-line output a
//! script captures. (`fuzz.rs` generates thousands more of the same kind.)

mod common;

use std::time::{Duration, Instant};

use common::{logs, Seed, TestApp};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn refused_naming(answer: &(u16, Value), field: &str) {
    assert_eq!(answer.0, 400, "{answer:?}");
    assert_eq!(answer.1["code"], "invalid_parameter", "{answer:?}");
    assert_eq!(answer.1["parameter"], field, "{answer:?}");
}

/// A registered connector of the seeded tenant: its client.
async fn connector(app: &TestApp, name: &str) -> reqwest::Client {
    app.connector(&app.register_connector(name).await)
}

fn activation(key: &str, i: u32) -> Value {
    json!({
        "idempotency_key": key,
        "serial_no": format!("{:07}", 6_100_000 + i),
        "device_name": format!("hard-lm-{i}"),
        "ip_address": format!("10.61.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": "vlm-200",
    })
}

async fn post(client: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    status_and_body(client.post(url).json(body).send().await.unwrap()).await
}

async fn pool(app: &TestApp) -> Value {
    app.get_json("/api/v1/pool").await.1
}

app_test!(
    a_nul_character_is_refused_naming_its_field,
    Seed::Demo(20),
    |app: TestApp| async move {
        let before = pool(&app).await;
        let anonymous = app.anonymous();
        for path in ["/auth/sign-in", "/auth/forgot-password"] {
            let answer = status_and_body(
                anonymous
                    .post(app.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("email=a%00b%40x.test&password=whatever+it+is")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            refused_naming(&answer, "email");
        }
        refused_naming(&app.get_json("/api/v1/licenses?q=a%00b").await, "q");
        refused_naming(&app.get_json("/api/v1/events?actor=%00").await, "actor");
        let page = app.get("/license-repository?q=%00").await;
        assert_eq!(page.status(), 400);
        refused_naming(
            &post(
                &app.client,
                app.url("/api/v1/connectors"),
                &json!({ "name": "a\u{0}b" }),
            )
            .await,
            "name",
        );
        let connector = connector(&app, "nul").await;
        refused_naming(
            &post(
                &connector,
                app.url("/api/v1/connector/deactivations"),
                &json!({ "idempotency_key": "nul-deactivation", "license_id": "x", "serial_no": "\u{0}" }),
            )
            .await,
            "serial_no",
        );
        refused_naming(
            &post(
                &connector,
                app.url("/api/v1/connector/checks"),
                &json!({ "idempotency_key": "nul-checks-1", "checks": [
                    { "license_id": "a", "serial_no": "b", "checked_at": 1 },
                    { "license_id": "a\u{0}", "serial_no": "b", "checked_at": 1 }
                ] }),
            )
            .await,
            "checks[1].license_id",
        );
        let answer = app
            .call(&app.client, "create_connector", &[("name", "a\0b")])
            .await;
        refused_naming(&answer, "name");
        refused_naming(
            &app.get_json("/api/v1/licenses/a%00b/history").await,
            "path",
        );
        assert_eq!(pool(&app).await, before);
    }
);

/// Expect a refusal with this status and code.
async fn expect(request: reqwest::RequestBuilder, status: u16, code: &str) -> Value {
    let (got, body) = status_and_body(request.send().await.unwrap()).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    body
}

app_test!(
    server_functions_answer_malformed_arguments_with_the_rest_apis_codes,
    Seed::Demo(10),
    |app: TestApp| async move {
        let function = |client: &reqwest::Client, endpoint: &str, body: Vec<u8>| {
            client
                .post(app.url(&format!("/_server/{endpoint}")))
                .header("accept", "application/json")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        };
        // A missing field, anonymously: the caller's mistake, in the caller's words.
        let body = expect(
            function(&app.anonymous(), "get_invitation", vec![]),
            400,
            "invalid_parameter",
        )
        .await;
        assert!(
            !body["message"].as_str().unwrap().contains("results"),
            "{body}"
        );
        for (endpoint, fields) in [
            // A repeated key, a word or an overflow where a number belongs.
            ("list_applications", &b"page=1&page=2&per_page=10"[..]),
            ("list_applications", b"page=one&per_page=10"),
            ("list_applications", b"page=1&per_page=99999999999999999999"),
            // Text that is not UTF-8.
            ("create_connector", b"name=caf\xe9"),
        ] {
            expect(
                function(&app.client, endpoint, fields.to_vec()),
                400,
                "invalid_parameter",
            )
            .await;
        }
        let huge = format!("name={}", "a".repeat(3 * 1024 * 1024)).into_bytes();
        expect(
            function(&app.client, "create_connector", huge),
            413,
            "payload_too_large",
        )
        .await;
        // A refused role keeps its own status over HTTP.
        let reviewer = app.client_as(common::REVIEWER).await;
        expect(
            function(&reviewer, "create_connector", b"name=x".to_vec()),
            403,
            "forbidden",
        )
        .await;
        // The REST API says the same of the same mistakes.
        let connectors = app.url("/api/v1/connectors");
        let json = |body: Vec<u8>| {
            app.client
                .post(&connectors)
                .header("content-type", "application/json")
                .body(body)
        };
        expect(json(vec![b'"'; 3 * 1024 * 1024]), 413, "payload_too_large").await;
        expect(json(b"{\"name\": ".to_vec()), 400, "invalid_parameter").await;
        let plain = app
            .client
            .post(&connectors)
            .header("content-type", "text/plain")
            .body("name=x");
        expect(plain, 415, "unsupported_media_type").await;
        expect(app.client.patch(&connectors), 405, "method_not_allowed").await;
        let not_utf8 = app.client.get(app.url("/api/v1/licenses/%FF%FE/history"));
        expect(not_utf8, 400, "invalid_parameter").await;
    }
);

app_test!(
    an_idempotency_key_names_one_message_of_one_kind,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let connector = connector(&app, "keys").await;
        let activations = app.url("/api/v1/connector/activations");
        // A check report's key, then an activation with it: another kind, another message.
        let (status, _) = post(
            &connector,
            app.url("/api/v1/connector/checks"),
            &json!({ "idempotency_key": "shared-key-1", "checks": [] }),
        )
        .await;
        assert_eq!(status, 200);
        let (status, first) = post(
            &connector,
            activations.clone(),
            &activation("shared-key-1", 1),
        )
        .await;
        assert_eq!(status, 201, "{first}");
        // The same message again: the same answer, nothing counted twice.
        let (status, again) = post(
            &connector,
            activations.clone(),
            &activation("shared-key-1", 1),
        )
        .await;
        assert_eq!((status, &again["license_id"]), (200, &first["license_id"]));
        // Another LoadMaster under the same key: refused, not given the first one's license.
        let before = pool(&app).await;
        let (status, refused) = post(
            &connector,
            activations.clone(),
            &activation("shared-key-1", 2),
        )
        .await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (422, Some("idempotency_key_reused")),
            "{refused}"
        );
        assert_eq!(pool(&app).await, before);
        assert_eq!(before["loadmasters"], 1);
        // A deactivation under the activation's key is a deactivation.
        let (status, gone) = post(
            &connector,
            app.url("/api/v1/connector/deactivations"),
            &json!({ "idempotency_key": "shared-key-1", "license_id": first["license_id"],
                     "serial_no": activation("x", 1)["serial_no"] }),
        )
        .await;
        assert_eq!(
            (status, gone["status"].as_str()),
            (200, Some("killed")),
            "{gone}"
        );
        assert_eq!(pool(&app).await["loadmasters"], 0);
        // A check report under a used key with other checks: refused.
        let (status, refused) = post(
            &connector,
            app.url("/api/v1/connector/checks"),
            &json!({ "idempotency_key": "shared-key-1", "checks": [
                { "license_id": first["license_id"], "serial_no": "6100001", "checked_at": 1 }
            ] }),
        )
        .await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (422, Some("idempotency_key_reused")),
            "{refused}"
        );
    }
);

app_test!(
    a_replay_sent_at_the_same_moment_gets_the_first_ones_answer,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let connector = connector(&app, "bursts").await;
        let (_, granted) = post(
            &connector,
            app.url("/api/v1/connector/activations"),
            &activation("burst-grant", 1),
        )
        .await;
        let license = granted["license_id"].as_str().unwrap().to_string();
        for round in 0..5 {
            let report = json!({ "idempotency_key": format!("burst-checks-{round}"), "checks": [
                { "license_id": license, "serial_no": "6100001", "checked_at": 100 + round }
            ] });
            let sends =
                (0..20).map(|_| post(&connector, app.url("/api/v1/connector/checks"), &report));
            for (status, body) in futures::future::join_all(sends).await {
                assert_eq!(status, 200, "{body}");
                assert_eq!(body["results"][0]["status"], "active", "{body}");
            }
        }
        let history = bandpool_store::licenses::list(
            &app.db,
            app.tenant_id.as_deref().unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(history.licenses.len(), 1);
        use sqlx::Row;
        let counted: i64 = app
            .db
            .fetch_one(
                "SELECT check_count FROM licenses WHERE id = $1",
                vec![bandpool_store::db::Value::Text(license.clone())],
            )
            .await
            .unwrap()
            .try_get("check_count")
            .unwrap();
        assert_eq!(counted, 5, "each report counted once");
        // Activations too: one license, every answer the same.
        let body = activation("burst-activation", 2);
        let sends =
            (0..10).map(|_| post(&connector, app.url("/api/v1/connector/activations"), &body));
        let answers = futures::future::join_all(sends).await;
        let ids: std::collections::BTreeSet<String> = answers
            .iter()
            .map(|(status, body)| {
                assert!(*status == 200 || *status == 201, "{body}");
                body["license_id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids.len(), 1, "{answers:?}");
        assert_eq!(pool(&app).await["loadmasters"], 2);
    }
);

/// The portal with short limits, for the tests that wait on them.
async fn spawn_impatient(db: &bandpool_store::testing::TestDb, max_connections: usize) -> TestApp {
    TestApp::spawn_with(db, Seed::EmptyPool, |settings| {
        settings.http.http_body_timeout_seconds = 1;
        settings.http.http_header_timeout_seconds = 2;
        settings.http.http_max_connections = max_connections;
    })
    .await
}

/// Read what the server sends until it closes the connection (or `patience` passes).
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    patience: Duration,
) -> Option<String> {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + patience;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buffer[..n]),
        }
    }
}

fn host_of(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_answered_408_and_a_long_poll_still_waits() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let app = spawn_impatient(&db, 64).await;
    for path in ["/auth/sign-in", "/api/v1/connector/register"] {
        let mut stream = tokio::net::TcpStream::connect(host_of(&app)).await.unwrap();
        let started = Instant::now();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{\"",
                    host_of(&app)
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream, Duration::from_secs(10))
            .await
            .expect("the server answers and closes within the body timeout");
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // The connector's long-poll has no body: it waits as long as it asks to.
    let connector = connector(&app, "patient").await;
    let started = Instant::now();
    let response = app
        .get_as(&connector, "/api/v1/connector/commands?wait=3")
        .await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_secs(3));
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_end_and_idle_connections_are_closed() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let app = spawn_impatient(&db, 64).await;
    let mut slow = tokio::net::TcpStream::connect(host_of(&app)).await.unwrap();
    slow.write_all(b"POST /auth/sign-in HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(host_of(&app)).await.unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut slow, Duration::from_secs(10))
        .await
        .is_some());
    assert!(read_until_closed(&mut idle, Duration::from_secs(10))
        .await
        .is_some());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let app = spawn_impatient(&db, 2).await;
    let holders = [
        tokio::net::TcpStream::connect(host_of(&app)).await.unwrap(),
        tokio::net::TcpStream::connect(host_of(&app)).await.unwrap(),
    ];
    // Both slots taken: a third connection is not served while they are held.
    let third = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_millis(800))
        .send()
        .await;
    assert!(third.is_err(), "served beyond the cap: {third:?}");
    drop(holders);
    let fourth = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(fourth.status(), 200);
    db.finish().await;
}

app_test!(
    an_origin_of_another_scheme_is_another_site,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let https = app.base.replace("http://", "https://");
        let (status, body) = status_and_body(
            app.client
                .post(app.url("/api/v1/connectors"))
                .header("origin", https)
                .json(&json!({ "name": "cross" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("cross_site_request"))
        );
        let (status, _) = status_and_body(
            app.client
                .post(app.url("/api/v1/connectors"))
                .header("origin", &app.base)
                .json(&json!({ "name": "same" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_too_long_for_a_file_name_is_a_quiet_404() {
    logs::capture();
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let app = TestApp::spawn(&db, Seed::EmptyPool).await;
    let segment = "z".repeat(20_000);
    let mark = logs::mark();
    for path in [
        format!("/{segment}"),
        format!("/pkg/{segment}"),
        format!("/api/v1/{segment}"),
    ] {
        let response = app.anonymous().get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{}", &path[..20]);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
    let lines = logs::since(mark);
    assert!(
        lines
            .iter()
            .all(|l| l.level > tracing::Level::WARN || !l.text.contains("zzzz")),
        "logged above debug: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.text.contains(&"z".repeat(200))),
        "a path logged whole"
    );
    db.finish().await;
}

/// `server create-connector` prints the token and nothing else on standard output, on both
/// databases (PostgreSQL's migrator notice used to come first).
async fn create_connector_prints_only_the_token(test_db: &bandpool_store::testing::TestDb) {
    let app = TestApp::spawn(test_db, Seed::EmptyPool).await;
    let dir = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["create-connector", "--name", &format!("scripted-{run}")])
            .env("DATABASE_URL", &test_db.url)
            .env("BANDPOOL_LOG", "debug")
            .current_dir(dir.path())
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "stdout: {stdout:?}");
        assert!(lines[0].starts_with("bpr_"), "stdout: {stdout:?}");
        // The token works.
        let (status, body) = post(
            &app.anonymous(),
            app.url("/api/v1/connector/register"),
            &json!({ "registration_token": lines[0], "version": "cli" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
}

db_test!(
    create_connector_prints_only_the_token,
    create_connector_prints_only_the_token
);
