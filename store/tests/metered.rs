//! Metered usage in the data layer, on both databases: the documents' 1.5 + 2.7 + 5.3 =
//! 9.5 Gb/s example, samples counted once (a replayed report, the same sample in another
//! batch), a late sample for a closed day, day and month boundaries in UTC, LoadMasters
//! licensed without a metered contract never counting, refusals for another connector's
//! license and for samples older than the retention, and raw samples expiring while their
//! peaks stay.

use bandpool_domain::connector::{ActivationRequest, ApplianceIdentity};
use bandpool_domain::metered::{
    PeakQuery, Tier, Tiers, UsageReport, UsageSample, VirtualServiceBytes,
};
use bandpool_store::connectors::{self, ConnectorIdentity};
use bandpool_store::metered::{self, Contract};
use bandpool_store::{args, db, db_test, licensing, tenants, Db};

/// 2026-11-23 10:00 UTC.
const NOW: i64 = 1_795_428_000;
/// 2026-11-01 00:00 UTC.
const NOVEMBER: i64 = 1_793_491_200;
const DAY: i64 = 86_400;
const RETENTION: i64 = 35 * DAY;

/// Gigabits per second as bytes per second.
fn gbps(g: f64) -> i64 {
    (g * 1e9 / 8.0).round() as i64
}

async fn acme(db: &Db, metered_contract: bool) -> (String, ConnectorIdentity) {
    let mut tx = db.begin_write().await.unwrap();
    tenants::ensure_license_types(&mut tx).await.unwrap();
    let tenant = tenants::create_tenant(&mut tx, "Acme", 1_000_000, 100, NOW - 60 * DAY)
        .await
        .unwrap();
    if metered_contract {
        let tiers = Tiers::new(vec![
            Tier {
                name: "Up to 5 Gb/s".into(),
                from_mbps: 0,
            },
            Tier {
                name: "5 to 10 Gb/s".into(),
                from_mbps: 5_000,
            },
            Tier {
                name: "Over 10 Gb/s".into(),
                from_mbps: 10_000,
            },
        ])
        .unwrap();
        let contract = Contract {
            contract_id: "MELA-0001".into(),
            max_activations: 50,
            trial_ends_at: None,
        };
        metered::set_contract(&mut tx, &tenant, &contract, &tiers, NOW - 60 * DAY)
            .await
            .unwrap();
    }
    let (_, token) = connectors::create(&mut tx, &tenant, "dc-east", NOW - 60 * DAY)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (connector, _) = connectors::register(db, &token, "test", None, NOW - 60 * DAY)
        .await
        .unwrap();
    (tenant, connector)
}

/// LoadMaster `i` takes a license through the connector; answers (license id, serial).
async fn loadmaster(db: &Db, connector: &ConnectorIdentity, i: usize) -> (String, String) {
    let serial = format!("{:07}", 7_000_000 + i);
    let request = ActivationRequest {
        idempotency_key: format!("metered-activation-{i}-{}", connector.id),
        serial_no: serial.clone(),
        device_name: format!("vlm-{i}"),
        ip_address: format!("10.2.0.{}", i + 1),
        sku: "VLM-SPLA".into(),
        license_type_id: "vlm-200".into(),
        appliance: Some(ApplianceIdentity {
            mac_address: format!("00505600{:04x}", i),
            firmware_version: "7.2.59.0.22007.RELEASE".into(),
            booted_at: NOW - 40 * DAY,
            hypervisor: "VMWARE".into(),
            licensed_elsewhere: false,
        }),
        ask: Default::default(),
    };
    let (granted, _) = licensing::activate(db, connector, &request, NOW - 30 * DAY)
        .await
        .unwrap();
    (granted.license_id, serial)
}

fn sample(lm: &(String, String), at: i64, bytes_per_second: i64) -> UsageSample {
    UsageSample {
        license_id: lm.0.clone(),
        serial_no: lm.1.clone(),
        sampled_at: at,
        bytes_in_per_second: bytes_per_second / 2,
        bytes_out_per_second: bytes_per_second - bytes_per_second / 2,
        ssl_tps: bytes_per_second / 1_000_000,
        virtual_services: vec![VirtualServiceBytes {
            name: "10.0.0.1:443".into(),
            bytes: bytes_per_second * 300,
        }],
    }
}

fn report(key: &str, samples: Vec<UsageSample>) -> UsageReport {
    UsageReport {
        idempotency_key: key.into(),
        samples,
    }
}

async fn record(db: &Db, c: &ConnectorIdentity, r: &UsageReport) -> (usize, usize, Vec<String>) {
    let answer = metered::record_usage(db, c, r, NOW, RETENTION)
        .await
        .unwrap();
    let codes = answer.refused.iter().map(|r| r.code.clone()).collect();
    (answer.recorded, answer.duplicates, codes)
}

async fn november_mbps(db: &Db, tenant: &str) -> i64 {
    let usage = metered::month_usage(db, tenant, "2026-11").await.unwrap();
    bandpool_domain::metered::bytes_to_mbps(usage.usage_bytes_per_second)
}

db_test!(
    the_documents_example_sums_each_loadmasters_monthly_peak,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let mut lms = Vec::new();
        for i in 0..3 {
            lms.push(loadmaster(&db, &c, i).await);
        }
        // Each LoadMaster peaks on a different day; lower samples around the peaks do not count.
        let peaks = [1.5, 2.7, 5.3];
        let mut samples = Vec::new();
        for (i, (lm, peak)) in lms.iter().zip(peaks).enumerate() {
            let day = NOVEMBER + (i as i64 + 2) * DAY;
            samples.push(sample(lm, day + 3_600, gbps(peak * 0.4)));
            samples.push(sample(lm, day + 7_200, gbps(peak)));
            samples.push(sample(lm, day + DAY + 300, gbps(peak * 0.9)));
        }
        assert_eq!(
            record(&db, &c, &report("usage-example-1", samples)).await,
            (9, 0, vec![])
        );
        assert_eq!(november_mbps(&db, &tenant).await, 9_500);
        let usage = metered::month_usage(&db, &tenant, "2026-11").await.unwrap();
        assert_eq!(usage.loadmasters, 3);
        let tiers = metered::tiers(&db, &tenant).await.unwrap().unwrap();
        assert_eq!(tiers.tier_for(9_500).name, "5 to 10 Gb/s");
        // The first LoadMaster's days: its peak day and the day after.
        let days = metered::daily_peaks(&db, &tenant, &lms[0].0, "2026-11-01", "2026-11-30")
            .await
            .unwrap();
        let figures: Vec<(String, i64, i64)> = days
            .iter()
            .map(|d| (d.day.clone(), d.peak_bytes_per_second, d.samples))
            .collect();
        assert_eq!(
            figures,
            vec![
                ("2026-11-03".into(), gbps(1.5), 2),
                ("2026-11-04".into(), gbps(1.5 * 0.9), 1)
            ]
        );
        assert_eq!(days[0].peak_at, NOVEMBER + 2 * DAY + 7_200);
        // October has nothing.
        assert_eq!(
            metered::month_usage(&db, &tenant, "2026-10")
                .await
                .unwrap()
                .loadmasters,
            0
        );
    }
);

db_test!(
    samples_are_counted_once_however_often_they_arrive,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let lm = loadmaster(&db, &c, 0).await;
        let first = report(
            "usage-once-1",
            vec![
                sample(&lm, NOVEMBER + 600, gbps(1.0)),
                sample(&lm, NOVEMBER + 900, gbps(2.0)),
            ],
        );
        assert_eq!(record(&db, &c, &first).await, (2, 0, vec![]));
        // The same report again: the first answer, nothing counted.
        assert_eq!(record(&db, &c, &first).await, (2, 0, vec![]));
        // One of its samples again in a batch cut differently (a new key), with a new one.
        let recut = report(
            "usage-once-2",
            vec![
                sample(&lm, NOVEMBER + 900, gbps(2.0)),
                sample(&lm, NOVEMBER + 1_200, gbps(0.5)),
            ],
        );
        assert_eq!(record(&db, &c, &recut).await, (1, 1, vec![]));
        let days = metered::daily_peaks(&db, &tenant, &lm.0, "2026-11-01", "2026-11-01")
            .await
            .unwrap();
        assert_eq!(days[0].samples, 3);
        assert_eq!(days[0].peak_bytes_per_second, gbps(2.0));
        let stored: i64 = db::value(
            &db,
            "SELECT COUNT(*) FROM usage_samples WHERE license_id = $1",
            args![lm.0.clone()],
        )
        .await
        .unwrap();
        assert_eq!(stored, 3);
        let bytes: i64 = db::value(
            &db,
            "SELECT COUNT(*) FROM usage_sample_virtual_services WHERE license_id = $1",
            args![lm.0.clone()],
        )
        .await
        .unwrap();
        assert_eq!(bytes, 3);
        // The same key with other samples is refused rather than answered with the first.
        let reused = report("usage-once-1", vec![sample(&lm, NOVEMBER + 1_500, 1)]);
        let refused = metered::record_usage(&db, &c, &reused, NOW, RETENTION)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "idempotency_key_reused");
    }
);

db_test!(
    a_late_sample_raises_its_closed_day_and_month,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let lm = loadmaster(&db, &c, 0).await;
        let today = report(
            "usage-late-1",
            vec![sample(&lm, NOVEMBER + 20 * DAY, gbps(1.0))],
        );
        record(&db, &c, &today).await;
        assert_eq!(november_mbps(&db, &tenant).await, 1_000);
        // Queued on the agent through an outage: a sample from ten days before, higher.
        let late = report(
            "usage-late-2",
            vec![sample(&lm, NOVEMBER + 10 * DAY + 5, gbps(3.0))],
        );
        assert_eq!(record(&db, &c, &late).await, (1, 0, vec![]));
        let day = metered::daily_peaks(&db, &tenant, &lm.0, "2026-11-11", "2026-11-11")
            .await
            .unwrap();
        assert_eq!(day[0].peak_bytes_per_second, gbps(3.0));
        assert_eq!(november_mbps(&db, &tenant).await, 3_000);
        // A lower late sample changes no peak.
        let lower = report(
            "usage-late-3",
            vec![sample(&lm, NOVEMBER + 10 * DAY + 305, gbps(0.1))],
        );
        record(&db, &c, &lower).await;
        assert_eq!(november_mbps(&db, &tenant).await, 3_000);
    }
);

db_test!(days_and_months_turn_at_midnight_utc, |db: Db| async move {
    let (tenant, c) = acme(&db, true).await;
    let lm = loadmaster(&db, &c, 0).await;
    let samples = vec![
        sample(&lm, NOVEMBER - 1, gbps(4.0)),
        sample(&lm, NOVEMBER, gbps(1.0)),
    ];
    assert_eq!(
        record(&db, &c, &report("usage-boundary", samples)).await,
        (2, 0, vec![])
    );
    let october = metered::month_usage(&db, &tenant, "2026-10").await.unwrap();
    assert_eq!(october.usage_bytes_per_second, gbps(4.0));
    assert_eq!(november_mbps(&db, &tenant).await, 1_000);
    let days = metered::daily_peaks(&db, &tenant, &lm.0, "2026-10-31", "2026-11-01")
        .await
        .unwrap();
    let days: Vec<&str> = days.iter().map(|d| d.day.as_str()).collect();
    assert_eq!(days, ["2026-10-31", "2026-11-01"]);
});

db_test!(
    only_metered_licenses_count_and_only_the_issuing_connector_reports,
    |db: Db| async move {
        // Licensed before any metered contract: it may report but never counts.
        let (tenant, c) = acme(&db, false).await;
        let plain = loadmaster(&db, &c, 0).await;
        let mut tx = db.begin_write().await.unwrap();
        let tiers = Tiers::new(vec![Tier {
            name: "All".into(),
            from_mbps: 0,
        }])
        .unwrap();
        let contract = Contract {
            contract_id: "MELA-0002".into(),
            max_activations: 5,
            trial_ends_at: None,
        };
        metered::set_contract(&mut tx, &tenant, &contract, &tiers, NOW)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let counted = loadmaster(&db, &c, 1).await;
        let samples = vec![
            sample(&plain, NOVEMBER + 60, gbps(8.0)),
            sample(&counted, NOVEMBER + 60, gbps(2.0)),
        ];
        assert_eq!(
            record(&db, &c, &report("usage-metered-1", samples)).await,
            (2, 0, vec![])
        );
        assert_eq!(november_mbps(&db, &tenant).await, 2_000);

        // Another tenant's connector cannot report for these LoadMasters, nor a wrong serial,
        // and a sample older than the retention is refused.
        let (_, other) = acme(&db, true).await;
        let foreign = report(
            "usage-foreign-1",
            vec![sample(&counted, NOVEMBER + 120, gbps(9.0))],
        );
        assert_eq!(
            record(&db, &other, &foreign).await,
            (0, 0, vec!["unknown_license".to_string()])
        );
        let mut wrong_serial = sample(&counted, NOVEMBER + 180, gbps(9.0));
        wrong_serial.serial_no = "0000000".into();
        let old = sample(&counted, NOW - RETENTION - 1, gbps(9.0));
        assert_eq!(
            record(&db, &c, &report("usage-refused-1", vec![wrong_serial, old])).await,
            (
                0,
                0,
                vec!["unknown_license".to_string(), "sample_too_old".to_string()]
            )
        );
        assert_eq!(november_mbps(&db, &tenant).await, 2_000);
    }
);

db_test!(
    metered_licenses_take_nothing_from_the_pool,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        for i in 0..3 {
            loadmaster(&db, &c, i).await;
        }
        // Limited by the contract and billed by usage: the pool's capacity, its LoadMaster
        // limit and the limit notifications see none of them.
        let pool = bandpool_store::pool::summary(&db, &tenant).await.unwrap();
        assert_eq!((pool.allocated_mbps, pool.loadmasters), (0, 0));
        let mut tx = db.begin_write().await.unwrap();
        let figures = bandpool_store::billing::limit_figures(&mut tx, &tenant)
            .await
            .unwrap();
        assert_eq!((figures.capacity.used, figures.loadmasters.used), (0, 0));
        assert_eq!(
            bandpool_store::allocation::current_allocation(&mut tx, &tenant)
                .await
                .unwrap(),
            0
        );
        tx.commit().await.unwrap();
    }
);

/// Each stored month total against the sum of the monthly peaks it stands for.
async fn totals_agree(db: &Db, tenant: &str) {
    let rows = db
        .fetch_all(
            "SELECT m.month, \
             CAST(SUM(CASE WHEN m.metered = 1 THEN m.peak_bytes_per_second ELSE 0 END) AS BIGINT) AS summed, \
             CAST(SUM(m.metered) AS BIGINT) AS metered, CAST(COUNT(*) AS BIGINT) AS reporting, \
             MAX(t.usage_bytes_per_second) AS stored, MAX(t.metered_loadmasters) AS stored_metered, \
             MAX(t.reporting_loadmasters) AS stored_reporting \
             FROM metered_monthly m LEFT JOIN metered_month_totals t \
             ON t.tenant_id = m.tenant_id AND t.month = m.month \
             WHERE m.tenant_id = $1 GROUP BY m.month",
            args![tenant.to_string()],
        )
        .await
        .unwrap();
    #[derive(sqlx::FromRow, Debug)]
    struct Row {
        month: String,
        summed: i64,
        metered: i64,
        reporting: i64,
        stored: Option<i64>,
        stored_metered: Option<i64>,
        stored_reporting: Option<i64>,
    }
    for r in db::rows_as::<Row>(&rows).unwrap() {
        assert_eq!(
            (Some(r.summed), Some(r.metered), Some(r.reporting)),
            (r.stored, r.stored_metered, r.stored_reporting),
            "{}: {r:?}",
            r.month
        );
    }
}

db_test!(
    month_totals_equal_their_sums_under_random_concurrent_reports,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let mut lms = Vec::new();
        for i in 0..6 {
            lms.push(loadmaster(&db, &c, i).await);
        }
        // A LoadMaster licensed without the contract reports too, and never counts.
        {
            let mut tx = db.begin_write().await.unwrap();
            tx.execute(
                "UPDATE licenses SET metered = 0 WHERE id = $1",
                args![lms[5].0.clone()],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        // Random reports over two months (late ones for the closed month among them),
        // replayed ones and repeated samples, four at a time.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..6 {
            let mut reports = Vec::new();
            for k in 0..4 {
                let samples = (0..(1 + next() % 8))
                    .map(|_| {
                        let lm = &lms[(next() % lms.len() as u64) as usize];
                        let at = NOVEMBER - 20 * DAY
                            + (next() % 80) as i64 * DAY / 2
                            + (next() % 288) as i64 * 300;
                        sample(lm, at.min(NOW), gbps((next() % 90) as f64 / 10.0))
                    })
                    .collect();
                let key = if k == 3 && round > 0 {
                    format!("usage-random-{}-0", round - 1)
                } else {
                    format!("usage-random-{round}-{k}")
                };
                reports.push(report(&key, samples));
            }
            let tasks: Vec<_> = reports
                .into_iter()
                .map(|r| {
                    let (db, c) = (db.clone(), c.clone());
                    tokio::spawn(
                        async move { metered::record_usage(&db, &c, &r, NOW, RETENTION).await },
                    )
                })
                .collect();
            for task in tasks {
                // A replayed key with other samples is refused; the rest are recorded.
                let _ = task.await.unwrap();
            }
            totals_agree(&db, &tenant).await;
        }
        // The hourly check finds nothing to repair; a total changed behind its back is put
        // right and reported.
        assert!(metered::check_totals(&db, "2020-01")
            .await
            .unwrap()
            .is_empty());
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(
            "UPDATE metered_month_totals SET usage_bytes_per_second = usage_bytes_per_second + 1 \
             WHERE tenant_id = $1 AND month = '2026-11'",
            args![tenant.clone()],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let repaired = metered::check_totals(&db, "2020-01").await.unwrap();
        assert_eq!(repaired.len(), 1, "{repaired:?}");
        assert_eq!(repaired[0].month, "2026-11");
        totals_agree(&db, &tenant).await;
        assert!(metered::check_totals(&db, "2020-01")
            .await
            .unwrap()
            .is_empty());
    }
);

/// Whether `table` exists (PostgreSQL).
async fn table_exists(db: &Db, table: &str) -> bool {
    db::value::<bool>(
        db,
        "SELECT to_regclass($1) IS NOT NULL",
        args![table.to_string()],
    )
    .await
    .unwrap()
}

db_test!(
    raw_samples_expire_by_whole_days_and_their_peaks_stay,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let lm = loadmaster(&db, &c, 0).await;
        // The days' partitions, as the hourly sweep makes them ahead of the clock
        // (nothing on SQLite).
        for day in [NOVEMBER, NOVEMBER + DAY] {
            bandpool_store::partitions::ensure(&db, day).await.unwrap();
        }
        // Five samples late on 1 November, five early on 2 November.
        let second = NOVEMBER + DAY;
        let samples = (0..10)
            .map(|i| sample(&lm, second - 5 * 300 + i * 300, gbps(1.0 + i as f64 / 10.0)))
            .collect();
        record(&db, &c, &report("usage-expiry-1", samples)).await;
        // The retention ends inside 2 November: 1 November goes whole, 2 November stays
        // whole (even its samples before the cutoff), a few rows at a time.
        let mut gone = 0;
        loop {
            let batch = metered::expire_samples(&db, second + 3 * 300, 3)
                .await
                .unwrap();
            if batch == 0 {
                break;
            }
            gone += batch;
        }
        assert_eq!(gone, 5);
        let left: i64 = db::value(
            &db,
            "SELECT COUNT(*) FROM usage_samples WHERE license_id = $1",
            args![lm.0.clone()],
        )
        .await
        .unwrap();
        assert_eq!(left, 5);
        let vs_left: i64 = db::value(
            &db,
            "SELECT COUNT(*) FROM usage_sample_virtual_services WHERE license_id = $1",
            args![lm.0.clone()],
        )
        .await
        .unwrap();
        assert_eq!(vs_left, 5);
        if db.kind == bandpool_store::DbKind::Postgres {
            // The day went as a dropped table, not as deleted rows.
            assert!(!table_exists(&db, "usage_samples_p20261101").await);
            assert!(!table_exists(&db, "usage_sample_virtual_services_p20261101").await);
            assert!(table_exists(&db, "usage_samples_p20261102").await);
        }
        let day = metered::daily_peaks(&db, &tenant, &lm.0, "2026-11-01", "2026-11-01")
            .await
            .unwrap();
        assert_eq!(
            (day[0].samples, day[0].peak_bytes_per_second),
            (5, gbps(1.4))
        );
    }
);

db_test!(
    samples_for_a_day_without_a_partition_move_into_it_when_it_is_made,
    |db: Db| async move {
        let (_, c) = acme(&db, true).await;
        let lm = loadmaster(&db, &c, 0).await;
        let tenth = NOVEMBER + 9 * DAY;
        record(
            &db,
            &c,
            &report("usage-stray-1", vec![sample(&lm, tenth + 600, gbps(2.0))]),
        )
        .await;
        bandpool_store::partitions::ensure(&db, tenth)
            .await
            .unwrap();
        // Made again: nothing changes.
        bandpool_store::partitions::ensure(&db, tenth)
            .await
            .unwrap();
        let count = |table: &'static str| {
            let db = db.clone();
            async move {
                db::value::<i64>(&db, &format!("SELECT COUNT(*) FROM {table}"), vec![])
                    .await
                    .unwrap()
            }
        };
        assert_eq!(count("usage_samples").await, 1);
        assert_eq!(count("usage_sample_virtual_services").await, 1);
        if db.kind == bandpool_store::DbKind::Postgres {
            assert_eq!(count("usage_samples_p20261110").await, 1);
            assert_eq!(count("usage_samples_default").await, 0);
            assert_eq!(count("usage_sample_virtual_services_p20261110").await, 1);
        }
        // The sample is still counted once when the same report comes again.
        assert_eq!(
            record(
                &db,
                &c,
                &report("usage-stray-2", vec![sample(&lm, tenth + 600, gbps(2.0))]),
            )
            .await,
            (0, 1, vec![])
        );
    }
);

db_test!(
    the_loadmaster_table_sorts_searches_and_pages,
    |db: Db| async move {
        let (tenant, c) = acme(&db, true).await;
        let mut lms = Vec::new();
        for i in 0..3 {
            lms.push(loadmaster(&db, &c, i).await);
        }
        // Peaks 3, 1 and 2 Gb/s in November; the first one also in October.
        let samples = vec![
            sample(&lms[0], NOVEMBER + 60, gbps(3.0)),
            sample(&lms[1], NOVEMBER + 60, gbps(1.0)),
            sample(&lms[2], NOVEMBER + 60, gbps(2.0)),
            sample(&lms[0], NOVEMBER - DAY, gbps(0.5)),
        ];
        record(&db, &c, &report("usage-table-1", samples)).await;
        let serials = |rows: &[bandpool_domain::metered::LoadMasterPeak]| {
            rows.iter().map(|r| r.serial_no.clone()).collect::<Vec<_>>()
        };
        let query = |pairs: &[(&str, &str)]| PeakQuery::from_pairs(pairs.iter().copied()).unwrap();
        let (rows, total) = metered::loadmaster_peaks(&db, &tenant, "2026-11", &query(&[]))
            .await
            .unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            serials(&rows),
            ["7000000", "7000002", "7000001"],
            "highest peak first"
        );
        let (rows, _) =
            metered::loadmaster_peaks(&db, &tenant, "2026-11", &query(&[("sort", "name")]))
                .await
                .unwrap();
        assert_eq!(
            serials(&rows),
            ["7000000", "7000001", "7000002"],
            "by name, from A"
        );
        let (rows, total) =
            metered::loadmaster_peaks(&db, &tenant, "2026-11", &query(&[("search", "7000001")]))
                .await
                .unwrap();
        assert_eq!((serials(&rows), total), (vec!["7000001".to_string()], 1));
        let paged = query(&[("per_page", "2"), ("page", "2")]);
        let (rows, total) = metered::loadmaster_peaks(&db, &tenant, "2026-11", &paged)
            .await
            .unwrap();
        assert_eq!((serials(&rows), total), (vec!["7000001".to_string()], 3));
        let months = metered::months(&db, &tenant, "2026-10", "2026-11")
            .await
            .unwrap();
        let months: Vec<(String, i64, i64)> = months
            .into_iter()
            .map(|(m, u)| (m, u.usage_bytes_per_second, u.loadmasters))
            .collect();
        assert_eq!(
            months,
            [
                ("2026-10".to_string(), gbps(0.5), 1),
                ("2026-11".to_string(), gbps(6.0), 3)
            ]
        );
    }
);
