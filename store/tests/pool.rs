//! The data layer on both databases: seeding, paging/search/sort, history, status changes
//! with their daily peaks, the export stream, and tenant scoping.

use bandpool_domain::allocation::UsageLevel;
use bandpool_domain::license::{
    Column, LicensePage, LicenseQuery, LicenseQueryParams, LicenseStatus, SortOrder,
};
use bandpool_domain::AppError;
use bandpool_store::seed::{seed_demo, SeedOptions};
use bandpool_store::{allocation, db_test, licenses, pool, tenants, Db};
use chrono::{DateTime, Utc};
use futures::StreamExt;

fn now() -> DateTime<Utc> {
    bandpool_store::testing::test_now()
}

async fn seeded(db: &Db, n: usize) -> String {
    bandpool_store::testing::seed_demo(db, n).await
}

/// One page of the tenant's License overview, for these query parameters.
async fn page(db: &Db, t: &str, pairs: &[(&str, &str)]) -> LicensePage {
    licenses::list(db, t, &query(pairs)).await.unwrap()
}

fn query(pairs: &[(&str, &str)]) -> LicenseQuery {
    LicenseQueryParams::from_lookup(|k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .parse()
    .unwrap()
}

db_test!(seed_builds_a_believable_pool, |db: Db| async move {
    let report = seed_demo(&db, now(), &SeedOptions::default(), &|_, _| {})
        .await
        .unwrap();
    let t = report.tenant_id.clone();
    assert_eq!(report.licenses, 300);
    let counts = licenses::status_counts(&db, &t).await.unwrap();
    for status in LicenseStatus::ALL {
        assert!(counts.get(status) > 0, "no {status:?} licenses");
    }
    assert_eq!(counts.total(), 300);

    let summary = pool::summary(&db, &t).await.unwrap();
    assert_eq!(summary.max_capacity_mbps, report.max_capacity_mbps);
    assert!(
        summary.sections.len() >= 4,
        "license types: {:?}",
        summary.sections
    );
    assert_eq!(
        summary.allocated_mbps,
        summary
            .sections
            .iter()
            .map(|s| s.allocated_mbps)
            .sum::<i64>()
    );
    assert_eq!(summary.loadmasters, counts.active + counts.grace_period);

    let monthly = allocation::monthly(&db, &t, now().date_naive())
        .await
        .unwrap();
    assert_eq!(monthly.months.len(), 12);
    assert_eq!(monthly.months.last().unwrap().month, "2026-11");
    let over = monthly
        .months
        .iter()
        .filter(|m| m.level == UsageLevel::Over)
        .count();
    let warning = monthly
        .months
        .iter()
        .filter(|m| m.level == UsageLevel::Warning)
        .count();
    assert_eq!(over, 1, "{:?}", monthly.months);
    assert!(warning >= 1, "{:?}", monthly.months);
    // The current month's last day equals the live allocation (the charts agree with the table).
    let daily = allocation::daily(&db, &t, "2026-11", now().date_naive())
        .await
        .unwrap();
    assert_eq!(daily.days.len(), 23);
    assert!(daily.days.last().unwrap().peak_mbps >= summary.allocated_mbps);
});

db_test!(
    paging_search_and_sort_run_in_the_database,
    |db: Db| async move {
        let t = seeded(&db, 300).await;
        let first = licenses::list(&db, &t, &LicenseQuery::default())
            .await
            .unwrap();
        assert_eq!(first.licenses.len(), 10);
        assert_eq!(first.total, 300);
        assert_eq!(first.pages, 30);
        let names: Vec<_> = first
            .licenses
            .iter()
            .map(|l| l.device_name.clone().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "sorted by device name");

        // Killed licenses have no device name: they sort last, whichever the order.
        let last = page(&db, &t, &[("page", "30")]).await;
        assert!(last.licenses.iter().all(|l| l.device_name.is_none()));
        let last_desc = page(&db, &t, &[("page", "30"), ("order", "desc")]).await;
        assert!(last_desc.licenses.iter().all(|l| l.device_name.is_none()));

        // Pages never overlap.
        let mut seen = std::collections::HashSet::new();
        for number in 1..=6 {
            let p = page(
                &db,
                &t,
                &[("page", &number.to_string()), ("per_page", "50")],
            )
            .await;
            for l in p.licenses {
                assert!(seen.insert(l.id), "license on two pages");
            }
        }
        assert_eq!(seen.len(), 300);

        let by_bw = page(&db, &t, &[("sort", "bandwidth"), ("order", "desc")]).await;
        assert_eq!(by_bw.licenses[0].bandwidth_mbps, 10_000);
        assert_eq!(query(&[("sort", "bandwidth")]).sort, Column::Bandwidth);

        let ams = page(&db, &t, &[("q", "LM-AMS"), ("per_page", "500")]).await;
        assert!(ams.total > 0);
        assert!(ams.licenses.iter().all(|l| l
            .device_name
            .as_deref()
            .unwrap()
            .starts_with("lm-ams")));

        let none = page(&db, &t, &[("q", "no such device")]).await;
        assert_eq!(none.total, 0);
        assert_eq!(none.pages, 1);
        let wildcard = page(&db, &t, &[("q", "%")]).await;
        assert_eq!(wildcard.total, 0, "a % in the search is a literal");

        let killed = page(&db, &t, &[("status", "killed"), ("per_page", "500")]).await;
        assert_eq!(killed.total, killed.status_counts.killed);
        assert!(killed
            .licenses
            .iter()
            .all(|l| l.status == LicenseStatus::Killed && l.ip_address.is_none()));
        assert_eq!(query(&[("order", "desc")]).order, SortOrder::Desc);
    }
);

db_test!(
    history_and_status_changes_are_written_together,
    |db: Db| async move {
        let t = seeded(&db, 120).await;
        let all = page(&db, &t, &[("status", "active"), ("per_page", "500")]).await;
        let mut with_history = 0;
        let mut without = 0;
        for l in &all.licenses {
            let h = licenses::history(&db, &t, &l.id).await.unwrap();
            if h.has_historical_data() {
                with_history += 1
            } else {
                without += 1
            }
            assert_eq!(h.entries[0].to_status, LicenseStatus::Active);
        }
        assert!(
            with_history > 0 && without > 0,
            "{with_history} with, {without} without history"
        );

        let target = &all.licenses[0];
        let before = pool::summary(&db, &t).await.unwrap().allocated_mbps;
        let at = now().timestamp() + 3600;
        let mut tx = db.begin_write().await.unwrap();
        let killed = licenses::set_status(
            &mut tx,
            &t,
            &target.id,
            LicenseStatus::Killed,
            "test kill",
            at,
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(killed.status, LicenseStatus::Killed);
        assert_eq!(killed.recovered_at, Some(at));
        assert!(killed.device_name.is_none() && killed.ip_address.is_none());
        let after = pool::summary(&db, &t).await.unwrap().allocated_mbps;
        assert_eq!(after, before - target.bandwidth_mbps);
        let h = licenses::history(&db, &t, &target.id).await.unwrap();
        assert_eq!(h.entries.last().unwrap().to_status, LicenseStatus::Killed);
        assert_eq!(h.entries.last().unwrap().note, "test kill");
        // Today's peak keeps the day's high; the series closes at the new allocation.
        let daily = allocation::daily(&db, &t, "2026-11", now().date_naive())
            .await
            .unwrap();
        assert!(daily.days.last().unwrap().peak_mbps >= before);

        // A change that is rolled back leaves nothing behind.
        let other = &all.licenses[1];
        {
            let mut tx = db.begin_write().await.unwrap();
            licenses::set_status(
                &mut tx,
                &t,
                &other.id,
                LicenseStatus::Killed,
                "dropped",
                at,
                None,
            )
            .await
            .unwrap();
            drop(tx);
        }
        assert_eq!(
            licenses::get(&db, &t, &other.id).await.unwrap().status,
            LicenseStatus::Active
        );
        assert_eq!(pool::summary(&db, &t).await.unwrap().allocated_mbps, after);
    }
);

db_test!(export_streams_every_license, |db: Db| async move {
    let t = seeded(&db, 150).await;
    let rows: Vec<_> = licenses::stream_all(&db, t.clone(), Column::ActivationDate, SortOrder::Asc)
        .collect()
        .await;
    assert_eq!(rows.len(), 150);
    assert!(rows.iter().all(|r| r.is_ok()));
    // The export's order is the overview's, empty device names (killed licenses) last.
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let exported: Vec<String> = licenses::stream_all(&db, t.clone(), Column::DeviceName, order)
            .map(|r| r.unwrap().id)
            .collect()
            .await;
        let query = LicenseQuery {
            sort: Column::DeviceName,
            order,
            per_page: 200,
            ..LicenseQuery::default()
        };
        let listed: Vec<String> = licenses::list(&db, &t, &query)
            .await
            .unwrap()
            .licenses
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(exported, listed, "{order:?}");
    }
});

db_test!(tenants_see_only_their_own_licenses, |db: Db| async move {
    let a = seeded(&db, 40).await;
    let mut tx = db.begin_write().await.unwrap();
    let b = tenants::create_tenant(&mut tx, "Other Corp", 10_000, 10, now().timestamp() + 60)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let b_page = licenses::list(&db, &b, &LicenseQuery::default())
        .await
        .unwrap();
    assert_eq!(b_page.total, 0);
    let a_license = licenses::list(&db, &a, &LicenseQuery::default())
        .await
        .unwrap()
        .licenses[0]
        .id
        .clone();
    assert!(matches!(
        licenses::history(&db, &b, &a_license).await,
        Err(AppError::NotFound { .. })
    ));
    let b_pool = pool::summary(&db, &b).await.unwrap();
    assert_eq!(b_pool.allocated_mbps, 0);
    assert!(b_pool.sections.is_empty());
    let monthly = allocation::monthly(&db, &b, now().date_naive())
        .await
        .unwrap();
    assert!(!monthly.has_history);
    assert!(monthly
        .months
        .iter()
        .all(|m| m.peak_mbps == 0 && m.peak_day.is_none()));
});

db_test!(daily_allocation_validates_its_month, |db: Db| async move {
    let t = seeded(&db, 20).await;
    assert!(matches!(
        allocation::daily(&db, &t, "2026-13", now().date_naive()).await,
        Err(AppError::InvalidParameter { .. })
    ));
    let future = allocation::daily(&db, &t, "2027-01", now().date_naive())
        .await
        .unwrap();
    assert!(future.days.is_empty());
    let october = allocation::daily(&db, &t, "2026-10", now().date_naive())
        .await
        .unwrap();
    assert_eq!(october.days.len(), 31);
});

db_test!(
    every_page_of_every_order_is_the_one_sorted_list,
    |db: Db| async move {
        // The overview reads a page from the front or the back of the non-empty and the empty
        // values of its column; read page by page, every view must be the list one query
        // sorting the whole pool gives (empty values last either way, ties on id).
        let t = seeded(&db, 120).await;
        let columns = [
            ("device_name", "device_name"),
            ("ip_address", "ip_address"),
            ("serial_no", "serial_no"),
            ("license_name", "license_name"),
            (
                "status",
                "CASE status WHEN 'active' THEN 0 WHEN 'grace_period' THEN 1 WHEN 'expired' THEN 2 ELSE 3 END",
            ),
            ("bandwidth", "bandwidth_mbps"),
            ("ssl_tps", "ssl_tps"),
            ("grace_period", "grace_period_end"),
            ("activation_date", "activated_at"),
            ("recovery_date", "recovered_at"),
        ];
        use bandpool_store::db::Value;
        use sqlx::Row;
        for (key, expr) in columns {
            for dir in ["asc", "desc"] {
                for (status, q) in [(None, None), (Some("active"), None), (None, Some("ams"))] {
                    let mut filter = String::from("tenant_id = $1");
                    let mut values = vec![Value::Text(t.clone())];
                    if let Some(status) = status {
                        filter.push_str(" AND status = $2");
                        values.push(Value::Text(status.into()));
                    }
                    if let Some(q) = q {
                        filter.push_str(
                            " AND (LOWER(COALESCE(device_name, '')) LIKE $2 \
                             OR LOWER(COALESCE(ip_address, '')) LIKE $2 \
                             OR LOWER(serial_no) LIKE $2 OR LOWER(license_name) LIKE $2)",
                        );
                        values.push(Value::Text(format!("%{q}%")));
                    }
                    let expected: Vec<String> = db
                        .fetch_all(
                            &format!(
                                "SELECT id FROM licenses WHERE {filter} \
                                 ORDER BY ({expr}) IS NULL, {expr} {dir}, id {dir}"
                            ),
                            values,
                        )
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.try_get("id").unwrap())
                        .collect();
                    let mut params = vec![("sort", key), ("order", dir), ("per_page", "7")];
                    if let Some(status) = status {
                        params.push(("status", status));
                    }
                    if let Some(q) = q {
                        params.push(("q", q));
                    }
                    let first = licenses::list(&db, &t, &query(&params)).await.unwrap();
                    assert_eq!(
                        first.total as usize,
                        expected.len(),
                        "{key} {dir} {status:?} {q:?}"
                    );
                    let mut got = Vec::new();
                    for page in 1..=first.pages {
                        let page = page.to_string();
                        let mut paged = params.clone();
                        paged.push(("page", &page));
                        let answer = licenses::list(&db, &t, &query(&paged)).await.unwrap();
                        got.extend(answer.licenses.into_iter().map(|l| l.id));
                    }
                    assert_eq!(got, expected, "{key} {dir} {status:?} {q:?}");
                }
            }
        }
    }
);

db_test!(
    text_holding_nul_is_a_clear_refusal_on_both_engines,
    |db: Db| async move {
        let tenant = seeded(&db, 5).await;
        let search = LicenseQuery {
            q: Some("a\0b".into()),
            ..LicenseQuery::default()
        };
        let refused = licenses::list(&db, &tenant, &search).await.unwrap_err();
        assert_eq!(refused.code(), "invalid_parameter", "{refused:?}");
        let mut tx = db.begin_write().await.unwrap();
        let refused = tx
            .execute(
                "UPDATE licenses SET device_name = $2 WHERE tenant_id = $1",
                vec![
                    bandpool_store::db::Value::Text(tenant.clone()),
                    bandpool_store::db::Value::Text("\0".into()),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "invalid_parameter");
        drop(tx);
        let mut rows = bandpool_store::db::stream_rows(
            &db,
            "SELECT id FROM licenses WHERE tenant_id = $1".into(),
            vec![bandpool_store::db::Value::Text(format!("{tenant}\0"))],
            |_| Ok(()),
        );
        let first = rows.next().await.unwrap().unwrap_err();
        assert_eq!(first.code(), "invalid_parameter");
        assert!(rows.next().await.is_none());
    }
);
