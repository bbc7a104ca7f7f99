//! The REST API, served by the real application on SQLite and on PostgreSQL.

mod common;

use bandpool_server::api::routes;
use common::{Seed, TestApp};

fn assert_error(status: u16, body: &serde_json::Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"]
            .as_str()
            .map(|m| !m.is_empty())
            .unwrap_or(false),
        "{body}"
    );
}

app_test!(
    pool_and_allocation,
    Seed::Demo(200),
    |app: TestApp| async move {
        let pool = app.get_json_ok("/api/v1/pool").await;
        let allocated = pool["allocated_mbps"].as_i64().unwrap();
        let capacity = pool["max_capacity_mbps"].as_i64().unwrap();
        assert_eq!(
            pool["available_mbps"].as_i64().unwrap(),
            capacity - allocated
        );
        let sum: i64 = pool["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["allocated_mbps"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, allocated);
        assert!(pool["last_refreshed_at"].as_i64().is_some());

        let monthly = app.get_json_ok("/api/v1/pool/allocation/monthly").await;
        let months = monthly["months"].as_array().unwrap();
        assert_eq!(months.len(), 12);
        assert_eq!(months[11]["month"], "2026-11");
        assert_eq!(months.iter().filter(|m| m["level"] == "over").count(), 1);

        let daily = app
            .get_json_ok("/api/v1/pool/allocation/daily?month=2026-10")
            .await;
        assert_eq!(daily["days"].as_array().unwrap().len(), 31);

        let (status, body) = app.get_json("/api/v1/pool/allocation/daily").await;
        assert_error(status, &body, 400, "invalid_parameter");
        assert!(body["message"].as_str().unwrap().contains("month"));
        let (status, body) = app
            .get_json("/api/v1/pool/allocation/daily?month=2026-13")
            .await;
        assert_error(status, &body, 400, "invalid_parameter");
        let (status, body) = app.get_json("/api/v1/pool?verbose=1").await;
        assert_error(status, &body, 400, "invalid_parameter");
        assert!(body["message"].as_str().unwrap().contains("verbose"));
    }
);

app_test!(
    licenses_page_filter_search_sort,
    Seed::Demo(200),
    |app: TestApp| async move {
        let page = app.get_json_ok("/api/v1/licenses").await;
        assert_eq!(page["licenses"].as_array().unwrap().len(), 10);
        assert_eq!(page["total"], 200);
        assert_eq!(page["pages"], 20);

        let (_, killed) = app
            .get_json("/api/v1/licenses?status=killed&per_page=500")
            .await;
        let n = killed["status_counts"]["killed"].as_u64().unwrap();
        assert_eq!(killed["total"].as_u64().unwrap(), n);
        assert!(killed["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "killed" && l["device_name"].is_null()));

        let (_, sorted) = app
            .get_json("/api/v1/licenses?sort=bandwidth&order=desc&per_page=5")
            .await;
        assert_eq!(sorted["licenses"][0]["bandwidth_mbps"], 10_000);

        let (_, search) = app.get_json("/api/v1/licenses?q=lm-sfo&per_page=500").await;
        assert!(search["total"].as_u64().unwrap() > 0);
        assert!(search["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["device_name"].as_str().unwrap().starts_with("lm-sfo")));

        let (_, last) = app.get_json("/api/v1/licenses?page=20").await;
        assert_eq!(last["licenses"].as_array().unwrap().len(), 10);
        let (_, past) = app.get_json("/api/v1/licenses?page=21").await;
        assert_eq!(past["licenses"].as_array().unwrap().len(), 0);

        for (query, parameter) in [
            ("status=deleted", "status"),
            ("sort=colour", "sort"),
            ("order=sideways", "order"),
            ("page=0", "page"),
            ("page=abc", "page"),
            ("per_page=100000", "per_page"),
            ("colour=blue", "colour"),
            ("page=1&page=2", "page"),
        ] {
            let (status, body) = app.get_json(&format!("/api/v1/licenses?{query}")).await;
            assert_error(status, &body, 400, "invalid_parameter");
            assert!(
                body["message"].as_str().unwrap().contains(parameter),
                "{query}: {body}"
            );
            assert_eq!(body["parameter"], parameter, "{query}: {body}");
        }
    }
);

app_test!(license_history, Seed::Demo(80), |app: TestApp| async move {
    let (_, page) = app
        .get_json("/api/v1/licenses?status=active&per_page=500")
        .await;
    let mut saw_more_than_one = false;
    for license in page["licenses"].as_array().unwrap() {
        let id = license["id"].as_str().unwrap();
        let history = app
            .get_json_ok(&format!("/api/v1/licenses/{id}/history"))
            .await;
        assert_eq!(history["license"]["id"], id);
        let entries = history["entries"].as_array().unwrap();
        assert!(!entries.is_empty());
        assert_eq!(entries[0]["to_status"], "active");
        saw_more_than_one |= entries.len() > 1;
    }
    assert!(saw_more_than_one);
    let (status, body) = app
        .get_json(&format!(
            "/api/v1/licenses/{}/history",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app.get_json("/api/v1/licenses/not-a-uuid/history").await;
    assert_error(status, &body, 400, "invalid_parameter");
    // The path's ids are checked before any handler runs, each named with what it should name.
    assert_eq!(body["parameter"], "id", "{body}");
    assert_eq!(
        body["reason"], "is not the id of a license (a UUID)",
        "{body}"
    );
    let (status, body) = common::answer(app.client.put(app.url(&format!(
        "/api/v1/applications/{}/virtual-services/nope",
        uuid::Uuid::new_v4()
    ))))
    .await;
    assert_error(status, &body, 400, "invalid_parameter");
    assert_eq!(body["parameter"], "vs", "{body}");
    assert_eq!(
        body["reason"], "is not the id of a Virtual Service (a UUID)",
        "{body}"
    );
    let (status, body) = app.get_json("/api/v1/no/such/thing").await;
    assert_error(status, &body, 404, "not_found");
});

app_test!(
    an_empty_pool_exports_its_header,
    Seed::EmptyPool,
    |app: TestApp| async move {
        // The row stream ends at the first read; the writer once polled it again and
        // panicked, and the file came without its header.
        let body = app.get_text_ok("/api/v1/licenses/export.csv").await;
        assert!(body.starts_with("Device Name,IP Address,"), "{body:?}");
        assert_eq!(body.lines().count(), 1);
    }
);

app_test!(csv_export, Seed::Demo(150), |app: TestApp| async move {
    let response = app.get("/api/v1/licenses/export.csv").await;
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        "attachment; filename=\"Pool_usage_20261123.csv\""
    );
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "Device Name",
            "IP Address",
            "Serial no.",
            "License Name",
            "Status",
            "Bandwidth",
            "SSL TPS",
            "Grace Period",
            "Activation Date",
            "Recovery Date"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 150);
    assert!(
        rows.iter().all(|r| r[5].parse::<i64>().is_ok()),
        "Bandwidth is a plain number"
    );
    assert!(rows.iter().any(|r| &r[4] == "Killed" && r[0].is_empty()));
});

app_test!(
    openapi_describes_the_api,
    Seed::Demo(20),
    |app: TestApp| async move {
        let doc = app.get_json_ok("/api/v1/openapi.json").await;
        // A metered contract, so the metered routes answer too (a tenant without one has no
        // Activations table: 404).
        bandpool_services::metered::set_contract(
            &app.state,
            app.tenant_id.as_deref().unwrap(),
            &bandpool_services::metered::Contract {
                contract_id: "MELA-DOC".into(),
                max_activations: 5,
                trial_ends_at: Some(app.clock.now_ts() + 86_400),
            },
            vec![bandpool_domain::metered::Tier {
                name: "All".into(),
                from_mbps: 0,
            }],
        )
        .await
        .unwrap();
        let (_, page) = app.get_json("/api/v1/licenses").await;
        let id = page["licenses"][0]["id"].as_str().unwrap().to_string();
        let mut checked = 0;
        for (method, path) in routes() {
            assert!(
                doc["paths"][&path][method].is_object(),
                "{path} undocumented"
            );
            // Each readable route answers the signed-in Owner (the connector API takes a
            // connector credential; a sync run's id is not a license's; the operator's routes
            // are the operator's).
            if method != "get"
                || path.starts_with("/api/v1/connector/")
                || path.contains("/sync/")
                || path.starts_with("/api/v1/tenants/")
            {
                continue;
            }
            let url = path.replace("{id}", &id)
                + if path.ends_with("/daily") {
                    "?month=2026-11"
                } else {
                    ""
                };
            let response = app.get(&url).await;
            assert_eq!(response.status().as_u16(), 200, "GET {url}");
            // A JSON answer is what the document says it is.
            let content = &doc["paths"][&path][method]["responses"]["200"]["content"];
            if let Some(schema) = content["application/json"]["schema"].as_object() {
                let body: serde_json::Value = response.json().await.unwrap();
                let mut schema = serde_json::Value::Object(schema.clone());
                schema["components"] = doc["components"].clone();
                let validator = jsonschema::draft202012::new(&schema).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&body)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "GET {url} answers off its schema: {errors:?}"
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 15,
            "only {checked} answers were checked against the document"
        );
    }
);

app_test!(
    health_and_request_ids,
    Seed::Demo(10),
    |app: TestApp| async move {
        let response = app
            .client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", "trace-me-1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["x-request-id"], "trace-me-1");
        let generated = app.get("/healthz").await;
        assert_eq!(
            generated.headers()["x-request-id"].to_str().unwrap().len(),
            36
        );
    }
);

app_test!(
    nobody_signed_in_is_a_clear_error,
    Seed::Nothing,
    |app: TestApp| async move {
        let (status, body) = app.get_json("/api/v1/pool").await;
        assert_error(status, &body, 401, "unauthenticated");
        let (status, _) = app.get_text("/license-repository").await;
        assert_eq!(status, 303, "a visitor is sent to the sign-in page");
    }
);

app_test!(
    database_down_is_503_without_internal_text,
    Seed::Demo(10),
    |app: TestApp| async move {
        app.db.pool.close().await;
        let (status, body) = app.get_json("/api/v1/licenses").await;
        assert_error(status, &body, 503, "database_unavailable");
        let text = body.to_string().to_lowercase();
        assert!(!text.contains("sqlx") && !text.contains("pool"), "{text}");
        let (status, _) = app.get_json("/healthz").await;
        assert_eq!(status, 503);
    }
);

app_test!(
    metrics_in_the_prometheus_format,
    Seed::Demo(10),
    |app: TestApp| async move {
        app.get_json_ok("/api/v1/pool").await;
        app.get_text_ok("/license-repository").await;
        // Read from this machine, as `metrics_allow` allows by default; no sign-in needed.
        let response = app.get_as(&app.anonymous(), "/metrics").await;
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = response.text().await.unwrap();
        for series in [
            // Counted under the route's pattern, never the raw path.
            r#"bandpool_http_requests_total{method="GET",route="/api/v1/pool",status="200"}"#,
            r#"bandpool_http_requests_total{method="GET",route="/license-repository",status="200"}"#,
            "bandpool_http_request_duration_seconds",
            "bandpool_db_write_gate_wait_seconds",
            "bandpool_db_transaction_seconds",
            r#"bandpool_connectors{status="up"}"#,
            r#"bandpool_connectors{status="down"}"#,
            "bandpool_connector_commands_queued",
            r#"bandpool_email_outbox{status="pending"}"#,
            r#"bandpool_webhook_outbox{status="failed"}"#,
        ] {
            assert!(text.contains(series), "{series} missing from\n{text}");
        }
    }
);

app_test!(
    metrics_are_not_found_by_addresses_not_allowed,
    Seed::EmptyPool,
    settings =
        |s: &mut bandpool_server::settings::Settings| s.metrics.metrics_allow = "10.0.0.0/8".into(),
    |app: TestApp| async move {
        let response = app.get_as(&app.anonymous(), "/metrics").await;
        assert_eq!(response.status().as_u16(), 404);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
);
