//! The MELA report over HTTP, on both databases: three metered LoadMasters activate, report
//! usage over three days, one is killed and the daily instance check runs; the report's
//! figures, its page, the summary zip (its files, columns and rows) and the full sample CSV
//! all tell the same story, cells are formula-safe, bad ranges are clear refusals, and
//! another tenant sees none of it.

mod common;

use bandpool_domain::metered::{day_and_month, Tier};
use bandpool_services::metered::Contract;
use common::{assert_refused, Seed, TestApp, OUTSIDER, REVIEWER};
use serde_json::{json, Value};
use std::io::Read;

async fn metered_contract(app: &TestApp) {
    let contract = Contract {
        contract_id: "MELA-0815".into(),
        max_activations: 10,
        trial_ends_at: None,
    };
    let tiers = vec![Tier {
        name: "Tier 1".into(),
        from_mbps: 0,
    }];
    let tenant = app.tenant_id.as_deref().unwrap();
    bandpool_services::metered::set_contract(&app.state, tenant, &contract, tiers)
        .await
        .unwrap();
}

fn activation(i: u32, device_name: &str) -> Value {
    json!({
        "idempotency_key": format!("report-activation-{i}"),
        "serial_no": format!("{}", 7_300_000 + i),
        "device_name": device_name,
        "ip_address": format!("10.5.0.{i}"),
        "sku": "VLM-SPLA",
        "license_type_id": "vlm-200",
        "appliance": {
            "mac_address": format!("00:50:56:00:02:{i:02x}"),
            "firmware_version": "7.2.59.0.22007.RELEASE",
            "booted_at": 1_790_000_000,
            "hypervisor": "VMware",
        },
    })
}

/// Unzip a download: each file's name and text, in the archive's order.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip file");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().to_string(), text)
        })
        .collect()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

app_test!(
    the_mela_report_shows_and_downloads_what_the_loadmasters_reported,
    Seed::EmptyPool,
    |app: TestApp| async move {
        // At noon UTC, so each day's samples fall on one day whatever time the test runs.
        let now = app.clock.now_ts();
        app.clock.advance(chrono::Duration::seconds(
            (43_200 - now.rem_euclid(86_400)).rem_euclid(86_400),
        ));
        metered_contract(&app).await;
        let connector = app.connector(&app.register_connector("dc-report").await);
        let names = ["=HYPERLINK(\"x\")", "vlm-report-2", "vlm-report-3"];
        let mut licenses = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (status, granted) = app
                .post_json(
                    &connector,
                    "/api/v1/connector/activations",
                    &activation(i as u32 + 1, name),
                )
                .await;
            assert_eq!(status, 201, "{granted}");
            licenses.push(granted["license_id"].as_str().unwrap().to_string());
        }
        // Three days of samples, two a day per LoadMaster: LoadMaster n peaks at n * 100 SSL
        // TPS and n Gb/s (less on the other sample), so the tops rank 3, 2, 1.
        let now = app.clock.now_ts();
        let mut samples = Vec::new();
        for (n, license) in licenses.iter().enumerate() {
            let n = n as i64 + 1;
            for day in 0..3 {
                for (k, share) in [(0, 1), (1, 2)] {
                    let at = now - 120 - day * 86_400 - k * 300;
                    let bytes = n * 125_000_000 / share;
                    samples.push(json!({
                        "license_id": license,
                        "serial_no": format!("{}", 7_300_000 + n),
                        "sampled_at": at,
                        "bytes_in_per_second": bytes / 2,
                        "bytes_out_per_second": bytes - bytes / 2,
                        "ssl_tps": n * 100 / share,
                        "virtual_services": [{ "name": "10.0.0.1:443", "bytes": 1_000 * n }]
                    }));
                }
            }
        }
        let (status, answer) = app
            .post_json(
                &connector,
                "/api/v1/connector/usage",
                &json!({ "idempotency_key": "report-usage-1", "samples": samples }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["recorded"], 18);

        // The first LoadMaster is killed: a deactivation, two instances left.
        let (status, killed) = app
            .post_json(
                &app.client,
                &format!("/api/v1/licenses/{}/kill", licenses[0]),
                &json!({ "confirm": "KILL" }),
            )
            .await;
        assert_eq!(status, 200, "{killed}");
        bandpool_services::metered::daily_instance_check(&app.state)
            .await
            .unwrap();

        let (first_day, _) = day_and_month(now - 120 - 2 * 86_400 - 300);
        let (today, _) = day_and_month(app.clock.now_ts());
        let range = format!("from={first_day}&to={today}");
        let reviewer = app.client_as(REVIEWER).await;
        let (status, report) =
            common::answer(reviewer.get(app.url(&format!("/api/v1/metered/report?{range}")))).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["contract_id"], "MELA-0815");
        assert_eq!(report["max_instances"], 3);
        assert_eq!(
            report["instances"].as_array().unwrap().last().unwrap()["value"],
            3
        );
        let tops = |key: &str| -> Vec<(String, i64)> {
            report[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["license_id"].as_str().unwrap().to_string(),
                        t["peak"].as_i64().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(
            tops("top_ssl_tps"),
            [
                (licenses[2].clone(), 300),
                (licenses[1].clone(), 200),
                (licenses[0].clone(), 100)
            ]
        );
        assert_eq!(
            tops("top_throughput"),
            [
                (licenses[2].clone(), 375_000_000),
                (licenses[1].clone(), 250_000_000),
                (licenses[0].clone(), 125_000_000)
            ]
        );
        assert_eq!(
            report["top_ssl_tps"][0]["daily"].as_array().unwrap().len(),
            3
        );
        // Each day with samples sums the three peaks: 6 Gb/s.
        let aggregate: Vec<i64> = report["aggregate_throughput"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["value"].as_i64().unwrap())
            .filter(|v| *v > 0)
            .collect();
        assert_eq!(aggregate, [750_000_000; 3]);
        // Newest first: the sync, the kill, then the three activations counting up.
        let events: Vec<(String, i64)> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_string(),
                    e["instances"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, i64)> = [
            ("sync_no_discrepancy", 2),
            ("deactivation", 2),
            ("activation", 3),
            ("activation", 2),
            ("activation", 1),
        ]
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
        assert_eq!(events, expected);
        assert_eq!(report["events"][4]["sku"], "VLM-SPLA");

        // The page shows the same, without JavaScript.
        let page =
            common::text_of(reviewer.get(app.url(&format!("/metered/report?{range}")))).await;
        for shown in [
            "Maximum active instances: 3",
            "Activation - License: ",
            ", LM SKU: VLM-SPLA",
            "Sync (No Discrepancy)",
            "vlm-report-3 — peak 300 SSL TPS",
            "Download summary",
            "<svg",
        ] {
            assert!(page.contains(shown), "the page lacks {shown:?}");
        }

        // The summary: five files with their columns.
        let response = reviewer
            .get(app.url(&format!(
                "/api/v1/metered/report/download?{range}&summary=on"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/zip");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disposition.contains(&format!(
            "MELA_report_{}_{}.zip",
            first_day.replace('-', ""),
            today.replace('-', "")
        )));
        let files = unzip(&response.bytes().await.unwrap());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "asl.csv",
                "devices.csv",
                "ssl_tps.csv",
                "throughput.csv",
                "vs_bytes.csv"
            ]
        );
        let file = |name: &str| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let asl = file("asl.csv");
        assert_eq!(lines(&asl)[0], "Event Time (UTC),Event Type,Instances");
        assert_eq!(lines(&asl).len(), 6);
        assert!(
            lines(&asl)[1].ends_with(",\"Activation - License: VLM-200, LM SKU: VLM-SPLA\",1"),
            "{asl}"
        );
        assert!(
            lines(&asl)[5].ends_with(",Sync (No Discrepancy),2"),
            "{asl}"
        );
        let devices = file("devices.csv");
        assert_eq!(
            lines(&devices)[0],
            "ID,Name,IP Address,License,Activated (UTC)"
        );
        assert_eq!(
            lines(&devices).len(),
            3,
            "the killed one is no longer active: {devices}"
        );
        let ssl = file("ssl_tps.csv");
        assert_eq!(lines(&ssl)[0], "Day,ID,Name,Peak SSL TPS");
        assert_eq!(lines(&ssl).len(), 1 + 9);
        assert!(
            ssl.contains(&format!("{},vlm-report-3,300", licenses[2])),
            "{ssl}"
        );
        let throughput = file("throughput.csv");
        assert_eq!(lines(&throughput)[0], "Day,ID,Name,Peak Bytes per Second");
        assert!(throughput.contains(&format!("{},vlm-report-2,250000000", licenses[1])));
        let vs = file("vs_bytes.csv");
        assert_eq!(lines(&vs)[0], "Day,ID,Virtual Service,Bytes");
        assert_eq!(lines(&vs).len(), 1 + 9);
        assert!(
            vs.contains(&format!("{},10.0.0.1:443,6000", licenses[2])),
            "two samples a day: {vs}"
        );

        // Formula-safe: the first LoadMaster's name was a formula. It was killed (its name
        // removed), so make a fourth with one that stays.
        let (status, _) = app
            .post_json(
                &connector,
                "/api/v1/connector/activations",
                &activation(9, "+cmd|' /C calc'!A0"),
            )
            .await;
        assert_eq!(status, 201);
        let response = reviewer
            .get(app.url(&format!(
                "/api/v1/metered/report/download?{range}&summary=1"
            )))
            .send()
            .await
            .unwrap();
        let files = unzip(&response.bytes().await.unwrap());
        let devices = &files[1].1;
        assert!(devices.contains(",'+cmd|' /C calc'!A0,"), "{devices}");

        // The PDF: every page headed with the tenant, contract and range, the figures on the
        // first, the tops on the next two, the events after.
        let response = reviewer
            .get(app.url(&format!("/api/v1/metered/report/pdf?{range}&summary=on")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let pdf = lopdf::Document::load_mem(&response.bytes().await.unwrap()).expect("a PDF");
        let pages = pdf.get_pages();
        assert_eq!(pages.len(), 4, "figures, two tops, one page of events");
        let text = |n: u32| pdf.extract_text(&[n]).unwrap();
        for n in 1..=4 {
            let page = text(n);
            assert!(page.contains("Contract MELA-0815"), "page {n}: {page}");
            assert!(
                page.contains(&format!("{first_day} to {today} (UTC)")),
                "page {n}: {page}"
            );
            assert!(page.contains(&format!("Page {n} of 4")), "page {n}: {page}");
        }
        assert!(text(1).contains("Maximum active metered instances: 3"));
        assert!(
            text(2).contains("1. vlm-report-3 - peak 300 SSL TPS"),
            "{}",
            text(2)
        );
        assert!(
            text(3).contains("1. vlm-report-3 - peak 3,000 Mb/s"),
            "{}",
            text(3)
        );
        assert!(
            text(4).contains("Activation - License: VLM-200, LM SKU: VLM-SPLA"),
            "{}",
            text(4)
        );
        assert!(text(4).contains("Sync (No Discrepancy)"));

        // Unchecked: every stored sample, oldest first.
        let csv = common::text_of(
            reviewer.get(app.url(&format!("/api/v1/metered/report/download?{range}"))),
        )
        .await;
        let rows = lines(&csv);
        assert_eq!(
            rows[0],
            "Sampled At (UTC),ID,Bytes In per Second,Bytes Out per Second,SSL TPS"
        );
        assert_eq!(rows.len(), 1 + 18);
        assert!(rows[1] <= rows[18], "oldest first");

        // Bad input: clear refusals.
        for (query, parameter) in [
            (format!("from={today}&to={first_day}"), "from"),
            ("from=2026-02-30".to_string(), "from"),
            ("to=yesterday".to_string(), "to"),
            ("from=2020-01-01&to=2026-01-01".to_string(), "from"),
        ] {
            let answer =
                common::answer(reviewer.get(app.url(&format!("/api/v1/metered/report?{query}"))))
                    .await;
            assert_refused(&answer, 400, "invalid_parameter");
            assert_eq!(answer.1["parameter"], parameter, "{query}");
        }
        let answer = common::answer(reviewer.get(app.url(&format!(
            "/api/v1/metered/report/download?{range}&summary=maybe"
        ))))
        .await;
        assert_refused(&answer, 400, "invalid_parameter");
        let answer = common::answer(
            reviewer.get(app.url(&format!("/api/v1/metered/report?{range}&month=1"))),
        )
        .await;
        assert_eq!(
            answer.0, 400,
            "an unknown parameter is refused: {}",
            answer.1
        );

        // Another tenant's report is empty, and its downloads hold none of this tenant's rows.
        let outsider = app.client_as(OUTSIDER).await;
        let (status, theirs) =
            common::answer(outsider.get(app.url(&format!("/api/v1/metered/report?{range}")))).await;
        assert_eq!(status, 200, "{theirs}");
        assert_eq!(theirs["max_instances"], 0);
        assert_eq!(theirs["events"].as_array().unwrap().len(), 0);
        assert_eq!(theirs["top_ssl_tps"].as_array().unwrap().len(), 0);
        let csv = common::text_of(
            outsider.get(app.url(&format!("/api/v1/metered/report/download?{range}"))),
        )
        .await;
        assert_eq!(lines(&csv).len(), 1, "{csv}");
        let response = outsider
            .get(app.url(&format!(
                "/api/v1/metered/report/download?{range}&summary=on"
            )))
            .send()
            .await
            .unwrap();
        let files = unzip(&response.bytes().await.unwrap());
        assert!(
            files.iter().all(|(_, text)| lines(text).len() == 1),
            "{files:?}"
        );
    }
);
