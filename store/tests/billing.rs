//! Usage and billing in the data layer, on both databases: entitlements applied with what
//! changed (a capacity below the allocation is applied as a number, no license killed),
//! Sync entitlements runs, Virtual Services reported by a connector's sync answer and
//! mapped to applications (15 at most, one application each, quick mapping, a LoadMaster
//! leaving takes its services out), the used-asset arithmetic from the database, limit
//! crossings told once, and the webhook outbox's retries.

use bandpool_domain::billing::{
    Entitlement, EntitlementChange, EntitlementSourceKind, EntitlementSync, LimitKind,
    SubscriptionStatus, VIRTUAL_SERVICE_LIMIT,
};
use bandpool_domain::connector::{
    ActivationRequest, ApplianceLicense, ApplianceState, CommandAck, CommandKind,
    ReportedVirtualService,
};
use bandpool_domain::AppError;
use bandpool_store::args;
use bandpool_store::db::{self, Value};
use bandpool_store::events::Actor;
use bandpool_store::{
    billing, commands, connectors, db_test, licenses, licensing, notifications, sync, tenants, Db,
};

const NOW: i64 = 1_795_428_000;

/// A webhook message queued to the test receiver's address, in a transaction of its own.
async fn queue_webhook(db: &Db, tenant_id: &str, now: i64) -> String {
    let mut tx = db.begin_write().await.unwrap();
    let id = notifications::enqueue_webhook(
        &mut tx,
        tenant_id,
        "asset_limit_reached",
        "https://hooks.acme.test/x",
        "{}",
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn tenant(db: &Db, capacity: i64, limit: i64) -> String {
    let mut tx = db.begin_write().await.unwrap();
    tenants::ensure_license_types(&mut tx).await.unwrap();
    let id = tenants::create_tenant(&mut tx, "Acme", capacity, limit, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A tenant with a registered connector.
async fn tenant_with_connector(
    db: &Db,
    capacity: i64,
    limit: i64,
) -> (String, connectors::ConnectorIdentity) {
    let t = tenant(db, capacity, limit).await;
    let mut tx = db.begin_write().await.unwrap();
    let (_, token) = connectors::create(&mut tx, &t, "dc", NOW).await.unwrap();
    tx.commit().await.unwrap();
    let (c, _) = connectors::register(db, &token, "test", None, NOW)
        .await
        .unwrap();
    (t, c)
}

fn activation(i: usize) -> ActivationRequest {
    ActivationRequest {
        idempotency_key: format!("a-{i}-{}", uuid::Uuid::new_v4()),
        serial_no: format!("{:07}", 6_000_000 + i),
        device_name: format!("lm-{i}"),
        ip_address: format!("10.9.0.{}", i + 1),
        sku: "VLM-SPLA".into(),
        license_type_id: "vlm-2000".into(),
        appliance: None,
        ask: Default::default(),
    }
}

/// Licenses LoadMasters 0..n through the connector; returns their license ids.
async fn activate_all(db: &Db, c: &connectors::ConnectorIdentity, n: usize) -> Vec<String> {
    let mut ids = vec![];
    for i in 0..n {
        let (a, _) = licensing::activate(db, c, &activation(i), NOW)
            .await
            .unwrap();
        ids.push(a.license_id);
    }
    ids
}

/// Applies an entitlement in a transaction of its own; what changed.
async fn apply(db: &Db, t: &str, e: &Entitlement) -> Vec<EntitlementChange> {
    let mut tx = db.begin_write().await.unwrap();
    let changes = billing::apply_entitlement(&mut tx, t, e, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    changes
}

/// Starts (or joins) an upstream Sync entitlements run at `now`; the run and whether it is new.
async fn start_sync(db: &Db, t: &str, now: i64) -> (EntitlementSync, bool) {
    let mut tx = db.begin_write().await.unwrap();
    let started = billing::start_sync(&mut tx, t, EntitlementSourceKind::Upstream, now, 60)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    started
}

/// Saves the notification channels in a transaction of their own; the new webhook secret.
async fn set_channels(
    db: &Db,
    t: &str,
    recipients: &[String],
    webhook_url: Option<&str>,
    rotate_secret: bool,
    now: i64,
) -> Option<String> {
    let mut tx = db.begin_write().await.unwrap();
    let secret = notifications::set_channels(
        &mut tx,
        t,
        recipients,
        webhook_url,
        rotate_secret,
        false,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    secret
}

/// The refusal of a read or change of what is not there (or not the tenant's).
#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, AppError>) {
    assert!(
        matches!(result, Err(AppError::NotFound { .. })),
        "expected not found, got {result:?}"
    );
}

fn services(ip: &str, n: usize) -> Vec<ReportedVirtualService> {
    (0..n)
        .map(|k| ReportedVirtualService {
            name: format!("vs-{k}"),
            address: format!("{ip}:{}", 8000 + k),
        })
        .collect()
}

/// Licenses `n` LoadMasters through a connector and has each report `per_device` Virtual
/// Services in a sync answer. Returns the license ids.
/// Answer a sync command as the connector API does: acknowledge it and record the answer.
async fn answer_sync(
    db: &Db,
    t: &str,
    c: &connectors::ConnectorIdentity,
    appliances: Vec<ApplianceState>,
    now: i64,
) {
    let command = commands::pending(db, t, &c.id)
        .await
        .unwrap()
        .into_iter()
        .find(|cmd| matches!(cmd.kind, CommandKind::Sync { .. }))
        .unwrap();
    let CommandKind::Sync { run_id } = &command.kind else {
        unreachable!()
    };
    let mut tx = db.begin_write().await.unwrap();
    let ack = CommandAck::Sync {
        appliances: appliances.clone(),
    };
    commands::ack(&mut tx, t, &c.id, &command.id, &ack, now)
        .await
        .unwrap();
    sync::record_answer(&mut tx, c, run_id, &appliances, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn licensed_with_services(
    db: &Db,
    t: &str,
    c: &connectors::ConnectorIdentity,
    n: usize,
    per_device: usize,
) -> Vec<String> {
    let ids = activate_all(db, c, n).await;
    sync::start(db, t, &Actor::system("test"), NOW + 1, 30)
        .await
        .unwrap();
    let appliances = ids
        .iter()
        .enumerate()
        .map(|(i, id)| ApplianceState {
            license_id: id.clone(),
            serial_no: activation(i).serial_no,
            state: ApplianceLicense::Licensed,
            last_check_at: Some(NOW),
            virtual_services: Some(services(&format!("10.9.0.{}", i + 1), per_device)),
        })
        .collect();
    answer_sync(db, t, c, appliances, NOW + 2).await;
    ids
}

db_test!(
    an_entitlement_applies_with_what_changed_and_never_kills_licenses,
    |db: Db| async move {
        let (t, c) = tenant_with_connector(&db, 10_000, 10).await;
        activate_all(&db, &c, 3).await;
        let mut e = billing::entitlement(&db, &t).await.unwrap();
        assert_eq!(e.plan, "LoadMaster 360 Pooled");
        assert!(e.pooled);
        assert_eq!(e.virtual_service_limit, VIRTUAL_SERVICE_LIMIT);
        assert_eq!((e.max_capacity_mbps, e.loadmaster_limit), (10_000, 10));
        e.base_assets = 20;
        e.max_capacity_mbps = 4_000; // below the 6,000 allocated
        e.add_ons.push(bandpool_domain::billing::AddOn {
            description: "Extra".into(),
            quantity: 5,
            status: SubscriptionStatus::Active,
            activated_at: Some(NOW),
            bill_at: None,
        });
        let changes = apply(&db, &t, &e).await;
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Base Assets",
                "Total Assets",
                "Maximum capacity (Mb/s)",
                "Add Ons"
            ]
        );
        assert_eq!(billing::entitlement(&db, &t).await.unwrap(), e);
        let overview = billing::overview(&db, &t, EntitlementSourceKind::Operator)
            .await
            .unwrap();
        assert!(overview.over_allocated());
        assert_eq!(overview.total_assets, 25);
        assert_eq!(overview.capacity.used, 6_000);
        let active = licenses::list(&db, &t, &Default::default()).await.unwrap();
        assert_eq!(active.status_counts.active, 3, "no license was killed");
        // Applying the same again changes nothing; a bad one changes nothing either.
        assert!(apply(&db, &t, &e).await.is_empty());
        let mut bad = e.clone();
        bad.loadmaster_limit = -1;
        let mut tx = db.begin_write().await.unwrap();
        assert!(matches!(
            billing::apply_entitlement(&mut tx, &t, &bad, NOW).await,
            Err(AppError::InvalidParameter { .. })
        ));
        drop(tx);
        assert_eq!(billing::entitlement(&db, &t).await.unwrap(), e);
    }
);

db_test!(
    sync_runs_start_once_finish_once_and_go_stale,
    |db: Db| async move {
        let t = tenant(&db, 1_000, 5).await;
        let (run, new) = start_sync(&db, &t, NOW).await;
        assert!(new);
        let (again, new) = start_sync(&db, &t, NOW + 5).await;
        assert!(!new);
        assert_eq!(again.id, run.id);
        // Finished once; a second finish changes nothing.
        let mut tx = db.begin_write().await.unwrap();
        billing::finish_sync(&mut tx, &t, &run.id, Ok(&[]), NOW + 6)
            .await
            .unwrap();
        let failure = AppError::EntitlementSourceFailed {
            reason: "late".into(),
        };
        billing::finish_sync(&mut tx, &t, &run.id, Err(&failure), NOW + 7)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let done = billing::sync(&db, &t, &run.id).await.unwrap();
        assert_eq!(
            (done.status.as_str(), done.finished_at),
            ("done", Some(NOW + 6))
        );
        let overview = billing::overview(&db, &t, EntitlementSourceKind::Upstream)
            .await
            .unwrap();
        assert_eq!(overview.last_refreshed_at, Some(NOW + 6));
        // A run left running past its time (its instance stopped) fails when the next starts.
        let (stuck, _) = start_sync(&db, &t, NOW + 10).await;
        let (next, new) = start_sync(&db, &t, NOW + 100).await;
        assert!(new);
        assert_ne!(next.id, stuck.id);
        let stuck = billing::sync(&db, &t, &stuck.id).await.unwrap();
        assert_eq!(stuck.status, "failed");
        assert_eq!(
            stuck.error_code.as_deref(),
            Some("entitlement_source_failed")
        );
        // Another tenant cannot read this tenant's run.
        let other = tenant(&db, 1_000, 5).await;
        assert_not_found(billing::sync(&db, &other, &next.id).await);
    }
);

db_test!(
    virtual_services_come_from_sync_and_applications_hold_fifteen,
    |db: Db| async move {
        let (t, c) = tenant_with_connector(&db, 100_000, 50).await;
        let ids = licensed_with_services(&db, &t, &c, 2, 10).await;
        let all = billing::virtual_services(&db, &t, 1000).await.unwrap();
        assert_eq!(all.len(), 20);
        assert!(all.iter().all(|v| v.application.is_none()));
        let vs: Vec<String> = all.iter().map(|v| v.id.clone()).collect();

        // Manual mapping: 15 fit, the 16th is refused, and the refusal changes nothing.
        let mut tx = db.begin_write().await.unwrap();
        let app = billing::create_application(&mut tx, &t, "Exchange", &vs[..15], NOW)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let full = billing::map_virtual_service(&mut tx, &t, &app, &vs[15]).await;
        assert_eq!(full, Err(AppError::ApplicationFull { limit: 15 }));
        drop(tx);
        // One application per Virtual Service.
        let mut tx = db.begin_write().await.unwrap();
        let other = billing::create_application(&mut tx, &t, "SharePoint", &[], NOW)
            .await
            .unwrap();
        let taken = billing::map_virtual_service(&mut tx, &t, &other, &vs[0]).await;
        assert_eq!(
            taken,
            Err(AppError::VirtualServiceMapped {
                application: "Exchange".into()
            })
        );
        drop(tx);
        // Duplicate names are refused; an empty name too.
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            billing::create_application(&mut tx, &t, "Exchange", &[], NOW)
                .await
                .is_err()
        );
        assert!(billing::create_application(&mut tx, &t, "  ", &[], NOW)
            .await
            .is_err());
        drop(tx);

        // Quick mapping: the five left become five applications.
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(billing::quick_map(&mut tx, &t, NOW).await.unwrap(), 5);
        tx.commit().await.unwrap();
        let page = billing::applications(&db, &t, 1, 10).await.unwrap();
        // Exchange + five quick ones (SharePoint was rolled back with its transaction).
        assert_eq!(page.total, 6);
        let exchange = page
            .applications
            .iter()
            .find(|a| a.name == "Exchange")
            .unwrap();
        assert_eq!(
            (exchange.virtual_services, exchange.usage.percent),
            (15, 100)
        );
        assert!(matches!(
            billing::applications(&db, &t, 1, 15).await,
            Err(AppError::InvalidParameter { .. })
        ));

        // Used assets (pooled): the applications.
        let overview = billing::overview(&db, &t, EntitlementSourceKind::Operator)
            .await
            .unwrap();
        assert_eq!((overview.assets.used, overview.mapped_applications), (6, 6));
        assert_eq!(overview.inventory_loadmasters, 2);

        // A LoadMaster's next report drops a service: it leaves its application.
        sync::start(&db, &t, &Actor::system("test"), NOW + 50, 30)
            .await
            .unwrap();
        let mut fewer = services("10.9.0.1", 10);
        fewer.remove(0);
        let appliances = vec![ApplianceState {
            license_id: ids[0].clone(),
            serial_no: activation(0).serial_no,
            state: ApplianceLicense::Licensed,
            last_check_at: Some(NOW),
            virtual_services: Some(fewer),
        }];
        answer_sync(&db, &t, &c, appliances, NOW + 51).await;
        assert_eq!(
            billing::virtual_services(&db, &t, 1000)
                .await
                .unwrap()
                .len(),
            19
        );

        // Kill License takes the LoadMaster, and so its services, out of the applications.
        licensing::kill(&db, &t, &ids[1], &Actor::system("test"), NOW + 60)
            .await
            .unwrap();
        let left = billing::virtual_services(&db, &t, 1000).await.unwrap();
        assert_eq!(left.len(), 9);
        assert!(left.iter().all(|v| v.device_name == "lm-0"));
        // Unmap and delete.
        let mut tx = db.begin_write().await.unwrap();
        // Asked of the wrong application, nothing moves; of its own, it leaves.
        assert_not_found(
            billing::unmap_virtual_service(&mut tx, &t, Some("another"), &left[0].id).await,
        );
        let from = billing::unmap_virtual_service(&mut tx, &t, Some(&app), &left[0].id)
            .await
            .unwrap();
        assert_eq!(from, "Exchange");
        let name = billing::delete_application(&mut tx, &t, &app)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(name, "Exchange");
        // Another tenant sees none of it.
        let stranger = tenant(&db, 1_000, 5).await;
        assert!(billing::virtual_services(&db, &stranger, 1000)
            .await
            .unwrap()
            .is_empty());
        let mut tx = db.begin_write().await.unwrap();
        assert_not_found(
            billing::delete_application(&mut tx, &stranger, &page.applications[0].id).await,
        );
    }
);

db_test!(
    without_pooled_licensing_loadmasters_count_and_an_ha_pair_once,
    |db: Db| async move {
        let (t, c) = tenant_with_connector(&db, 100_000, 50).await;
        activate_all(&db, &c, 3).await;
        let sql = "SELECT id FROM devices WHERE tenant_id = $1 ORDER BY name";
        let devices: Vec<String> = db::column(&db, sql, args![&t]).await.unwrap();
        let id = |k: usize| devices[k].clone();
        // lm-0 and lm-1 are an HA pair; lm-2 is lm-0's GEO partner (a separate asset).
        for (a, ha, geo) in [
            (0, Some(1), Some(2)),
            (1, Some(0), None),
            (2, None, Some(0)),
        ] {
            db.execute(
                "UPDATE devices SET ha_partner_id = $2, geo_partner_id = $3 WHERE id = $1",
                vec![
                    Value::Text(id(a)),
                    Value::OptText(ha.map(id)),
                    Value::OptText(geo.map(id)),
                ],
            )
            .await
            .unwrap();
        }
        let mut e = billing::entitlement(&db, &t).await.unwrap();
        e.pooled = false;
        e.base_assets = 3;
        apply(&db, &t, &e).await;
        let mut tx = db.begin_write().await.unwrap();
        billing::create_application(&mut tx, &t, "Web", &[], NOW)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let overview = billing::overview(&db, &t, EntitlementSourceKind::Operator)
            .await
            .unwrap();
        // The pair once, the GEO partner once, the application once.
        assert_eq!(overview.assets.used, 3);
        assert!(overview.assets.reached());
        assert_eq!(overview.assets.level, bandpool_domain::billing::Level::Red);
        assert_eq!(overview.remaining_assets(), 0);
    }
);

async fn crossed(db: &Db, t: &str, kind: LimitKind, reached: bool) -> Option<bool> {
    let mut tx = db.begin_write().await.unwrap();
    tx.lock_pool(t).await.unwrap();
    let answer = notifications::limit_crossed(&mut tx, t, kind, reached, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    answer
}

db_test!(
    a_limit_crossing_is_told_once_until_it_clears,
    |db: Db| async move {
        let t = tenant(&db, 1_000, 5).await;
        let kind = LimitKind::LicenseCapacity;
        // First look, not reached: nothing to tell.
        assert_eq!(crossed(&db, &t, kind, false).await, None);
        assert_eq!(crossed(&db, &t, kind, true).await, Some(true));
        // Still reached: nothing more.
        assert_eq!(crossed(&db, &t, kind, true).await, None);
        assert_eq!(crossed(&db, &t, kind, false).await, Some(false));
        assert_eq!(crossed(&db, &t, kind, true).await, Some(true));
        // Other limits and tenants are their own.
        assert_eq!(crossed(&db, &t, LimitKind::Assets, true).await, Some(true));
        let other = tenant(&db, 1_000, 5).await;
        assert_eq!(crossed(&db, &other, kind, false).await, None);
        // Many racing lookers: exactly one sees the crossing.
        assert_eq!(crossed(&db, &t, kind, false).await, Some(false));
        let racers = (0..8).map(|_| {
            let (db, t) = (db.clone(), t.clone());
            tokio::spawn(async move { crossed(&db, &t, kind, true).await })
        });
        let mut told = 0;
        for r in racers {
            if r.await.unwrap() == Some(true) {
                told += 1;
            }
        }
        assert_eq!(told, 1);
    }
);

db_test!(
    webhook_deliveries_back_off_then_give_up,
    |db: Db| async move {
        let t = tenant(&db, 1_000, 5).await;
        let recipients = notifications::parse_recipients("ops@acme.test").unwrap();
        let hook = Some("https://hooks.acme.test/x");
        let secret = set_channels(&db, &t, &recipients, hook, false, NOW).await;
        assert!(secret.is_some());
        // Saving the same URL keeps the secret; rotating makes a new one.
        let same = set_channels(&db, &t, &recipients, hook, false, NOW).await;
        let rotated = set_channels(&db, &t, &recipients, hook, true, NOW).await;
        assert_eq!(same, None);
        assert!(rotated.is_some() && rotated != secret);
        let targets = notifications::targets(&db, &t).await.unwrap();
        assert_eq!(targets.email_recipients, ["ops@acme.test"]);
        assert_eq!(targets.webhook.clone().unwrap().1, rotated.clone().unwrap());

        let id = queue_webhook(&db, &t, NOW).await;
        let mut now = NOW;
        for attempt in 1..=notifications::MAX_ATTEMPTS {
            let due = notifications::due_webhooks(&db, now, 10).await.unwrap();
            assert_eq!(due.len(), 1, "attempt {attempt}");
            assert_eq!(due[0].secret, rotated);
            notifications::record_attempt(&db, &id, Err("HTTP 502".into()), now)
                .await
                .unwrap();
            // Not due again before its backoff.
            assert!(notifications::due_webhooks(&db, now + 1, 10)
                .await
                .unwrap()
                .is_empty());
            now += notifications::backoff_secs(attempt);
        }
        let list = notifications::deliveries(&db, &t, 10).await.unwrap();
        assert_eq!(list[0].status, "failed");
        assert_eq!(list[0].attempts, notifications::MAX_ATTEMPTS);
        assert_eq!(list[0].last_error.as_deref(), Some("HTTP 502"));
        assert!(notifications::due_webhooks(&db, now + 100_000, 10)
            .await
            .unwrap()
            .is_empty());
        // A message queued for an address the webhook has since left is not signed for it.
        let moved = queue_webhook(&db, &t, now).await;
        let elsewhere = Some("https://elsewhere.acme.test/y");
        set_channels(&db, &t, &recipients, elsewhere, false, now).await;
        let due = notifications::due_webhooks(&db, now, 10).await.unwrap();
        assert_eq!(
            (due.len(), due[0].id.as_str(), due[0].secret.as_deref()),
            (1, moved.as_str(), None)
        );
        // Claimed: a second sweep does not get it while the first sends.
        assert!(notifications::due_webhooks(&db, now, 10)
            .await
            .unwrap()
            .is_empty());
        // Turning the webhook off forgets its secret.
        set_channels(&db, &t, &[], None, false, NOW).await;
        assert_eq!(
            notifications::targets(&db, &t).await.unwrap(),
            Default::default()
        );
        // Another tenant's deliveries are not listed here.
        let other = tenant(&db, 1_000, 5).await;
        assert!(notifications::deliveries(&db, &other, 10)
            .await
            .unwrap()
            .is_empty());
    }
);

db_test!(
    an_expired_or_suspended_subscription_licenses_no_loadmaster,
    |db: Db| async move {
        use bandpool_domain::error::Refusal;
        let (t, c) = tenant_with_connector(&db, 10_000, 10).await;
        for (status, refusal) in [
            (SubscriptionStatus::Expired, Some(Refusal::TenantExpired)),
            (
                SubscriptionStatus::Suspended,
                Some(Refusal::TenantUnlicensed),
            ),
            (SubscriptionStatus::Trial, None),
        ] {
            let mut e = billing::entitlement(&db, &t).await.unwrap();
            e.status = status;
            apply(&db, &t, &e).await;
            let answer = licensing::activate(&db, &c, &activation(1), NOW).await;
            match refusal {
                Some(expected) => assert!(
                    matches!(&answer, Err(AppError::Refused { refusal, .. }) if *refusal == expected),
                    "{status:?}: {answer:?}"
                ),
                None => assert!(answer.is_ok(), "{status:?}: {answer:?}"),
            }
        }
    }
);
