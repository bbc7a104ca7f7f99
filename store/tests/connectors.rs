//! Connectors in the data layer, on both databases: registration and credentials,
//! activation from the pool (each refusal, and races for the last capacity and the last
//! LoadMaster slot), idempotent replays, checks counted once, connector silence → grace →
//! expiry and coming back, Kill License, the device inventory, and Sync reconciliation.

use bandpool_domain::connector::{
    Activation, ActivationRequest, ApplianceLicense, ApplianceState, CheckReport, CommandAck,
    CommandKind, DeactivationRequest, DriftKind, LicenseCheck,
};
use bandpool_domain::error::Refusal;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::AppError;
use bandpool_store::args;
use bandpool_store::connectors::{self, ConnectorIdentity};
use bandpool_store::db::{self, Value};
use bandpool_store::events::Actor;
use bandpool_store::{commands, db_test, devices, licenses, licensing, pool, sync, tenants, Db};

const NOW: i64 = 1_795_428_000;
const DAY: i64 = 86_400;

async fn tenant(db: &Db, name: &str, capacity: i64, limit: i64) -> String {
    let mut tx = db.begin_write().await.unwrap();
    tenants::ensure_license_types(&mut tx).await.unwrap();
    let id = tenants::create_tenant(&mut tx, name, capacity, limit, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn connector(db: &Db, tenant_id: &str, name: &str) -> ConnectorIdentity {
    let mut tx = db.begin_write().await.unwrap();
    let (_, token) = connectors::create(&mut tx, tenant_id, name, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (identity, credential) =
        connectors::register(db, &token, "test", Some("http://10.0.0.1:8470"), NOW)
            .await
            .unwrap();
    assert_eq!(
        connectors::authenticate(db, &credential).await.unwrap(),
        Some(identity.clone())
    );
    identity
}

/// The tenant Acme, with room for `capacity` Mb/s and `limit` LoadMasters, and its
/// registered connector dc-east.
async fn acme(db: &Db, capacity: i64, limit: i64) -> (String, ConnectorIdentity) {
    let t = tenant(db, "Acme", capacity, limit).await;
    let c = connector(db, &t, "dc-east").await;
    (t, c)
}

fn request(i: usize, license_type: &str) -> ActivationRequest {
    ActivationRequest {
        idempotency_key: format!("activation-{i}-{}", uuid::Uuid::new_v4()),
        serial_no: format!("{:07}", 5_000_000 + i),
        device_name: format!("lm-{i}"),
        ip_address: format!("10.1.{}.{}", i / 250, i % 250 + 1),
        sku: "VLM-SPLA".into(),
        license_type_id: license_type.into(),
        appliance: None,
        ask: Default::default(),
    }
}

fn refusal(result: Result<impl std::fmt::Debug, AppError>) -> Refusal {
    match result {
        Err(AppError::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Licenses appliance `i` through the connector (it must be granted).
async fn licensed(db: &Db, c: &ConnectorIdentity, i: usize, license_type: &str) -> Activation {
    let (granted, _) = licensing::activate(db, c, &request(i, license_type), NOW)
        .await
        .unwrap();
    granted
}

/// Why the connector's activation request is refused (it must be).
async fn refused(db: &Db, c: &ConnectorIdentity, request: &ActivationRequest) -> Refusal {
    refusal(licensing::activate(db, c, request, NOW).await)
}

db_test!(a_registration_token_works_once, |db: Db| async move {
    let t = tenant(&db, "Acme", 10_000, 10).await;
    let mut tx = db.begin_write().await.unwrap();
    let (_, token) = connectors::create(&mut tx, &t, "dc-east", NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (identity, credential) = connectors::register(&db, &token, "1.0", None, NOW)
        .await
        .unwrap();
    assert_eq!(identity.tenant_id, t);
    assert!(credential.starts_with("bpc_"));
    assert_eq!(
        connectors::register(&db, &token, "1.0", None, NOW).await,
        Err(AppError::InvalidRegistrationToken)
    );
    // An expired token does not work either.
    let mut tx = db.begin_write().await.unwrap();
    let (_, late) = connectors::create(&mut tx, &t, "dc-west", NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        connectors::register(&db, &late, "1.0", None, NOW + 25 * 3600).await,
        Err(AppError::InvalidRegistrationToken)
    );
    assert_eq!(
        connectors::authenticate(&db, "bpc_guess").await.unwrap(),
        None
    );
});

db_test!(
    activation_refusals_carry_the_error_tables_codes,
    |db: Db| async move {
        let (t, c) = acme(&db, 1_000, 2).await;
        let (ok, replayed) = licensing::activate(&db, &c, &request(1, "vlm-200"), NOW)
            .await
            .unwrap();
        assert_eq!(ok.status, LicenseStatus::Active);
        assert!(!replayed);

        let mut bad_type = request(2, "vlm-999");
        assert_eq!(
            refused(&db, &c, &bad_type).await,
            Refusal::InvalidLicenseType
        );
        bad_type.license_type_id = "vlm-200".into();
        bad_type.sku = "VLM-OTHER".into();
        assert_eq!(refused(&db, &c, &bad_type).await, Refusal::NoLicenseForSku);
        let mut same_ip = request(3, "vlm-200");
        same_ip.ip_address = request(1, "vlm-200").ip_address;
        assert_eq!(refused(&db, &c, &same_ip).await, Refusal::DeviceIpExists);
        assert_eq!(
            refused(&db, &c, &request(4, "vlm-2000")).await,
            Refusal::PoolCapacityExceeded
        );
        licensed(&db, &c, 5, "vlm-200").await;
        assert_eq!(
            refused(&db, &c, &request(6, "vlm-200")).await,
            Refusal::InstanceLimitReached
        );

        // Expired and unlicensed tenants.
        let expire = "UPDATE pools SET expires_at = $2 WHERE tenant_id = $1";
        db.execute(expire, args![&t, NOW - 1]).await.unwrap();
        assert_eq!(
            refused(&db, &c, &request(9, "vlm-200")).await,
            Refusal::TenantExpired
        );
        let unlicense = "DELETE FROM pools WHERE tenant_id = $1";
        db.execute(unlicense, args![&t]).await.unwrap();
        assert_eq!(
            refused(&db, &c, &request(10, "vlm-200")).await,
            Refusal::TenantUnlicensed
        );
    }
);

db_test!(
    a_blocked_loadmaster_cannot_take_a_license,
    |db: Db| async move {
        let (t, c) = acme(&db, 10_000, 10).await;
        let granted = licensed(&db, &c, 1, "vlm-200").await;
        let device = devices::list(&db, &t, 10, 0).await.unwrap().remove(0);
        // A pooled LoadMaster cannot leave the inventory before its license is killed.
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(
            devices::remove(&mut tx, &t, &device.id).await,
            Err(AppError::DeviceHasPooledLicense)
        );
        drop(tx);
        let mut tx = db.begin_write().await.unwrap();
        devices::set_blocked(&mut tx, &t, &device.id, true)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        licensing::kill(&db, &t, &granted.license_id, &Actor::system("test"), NOW)
            .await
            .unwrap();
        // Killing removed it from the inventory; a blocked device row stays blocked only while
        // it exists, so block a fresh one and try to license it.
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(
        "INSERT INTO devices (id, tenant_id, name, ip_address, serial_no, blocked, created_at) \
         VALUES ($1, $2, 'blocked-lm', '10.5.5.5', $3, 1, $4)",
        vec![
            Value::Text(uuid::Uuid::new_v4().to_string()),
            Value::Text(t.clone()),
            Value::Text(request(2, "").serial_no),
            Value::Int(NOW),
        ],
    )
    .await
    .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            refused(&db, &c, &request(2, "vlm-200")).await,
            Refusal::ApplianceBlocked
        );
    }
);

async fn race(
    db: &Db,
    c: &ConnectorIdentity,
    n: usize,
    license_type: &str,
) -> Vec<Result<(), Refusal>> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let db = db.clone();
        let c = c.clone();
        let req = request(100 + i, license_type);
        tasks.push(tokio::spawn(async move {
            match licensing::activate(&db, &c, &req, NOW).await {
                Ok(_) => Ok(()),
                Err(AppError::Refused { refusal, .. }) => Err(refusal),
                Err(other) => panic!("unexpected error in the race: {other:?}"),
            }
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

db_test!(
    racing_activations_never_exceed_the_capacity,
    |db: Db| async move {
        // 1,000 Mb/s: exactly five VLM-200 fit, however many ask at once.
        let (t, c) = acme(&db, 1_000, 1_000).await;
        let results = race(&db, &c, 40, "vlm-200").await;
        let granted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(granted, 5);
        assert!(results
            .iter()
            .filter_map(|r| r.err())
            .all(|r| r == Refusal::PoolCapacityExceeded));
        let summary = pool::summary(&db, &t).await.unwrap();
        assert_eq!(summary.allocated_mbps, 1_000);
        assert_eq!(summary.loadmasters, 5);
    }
);

db_test!(
    racing_activations_never_exceed_the_loadmaster_limit,
    |db: Db| async move {
        let (t, c) = acme(&db, 1_000_000, 3).await;
        let results = race(&db, &c, 30, "vlm-200").await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
        assert!(results
            .iter()
            .filter_map(|r| r.err())
            .all(|r| r == Refusal::InstanceLimitReached));
        assert_eq!(pool::summary(&db, &t).await.unwrap().loadmasters, 3);
    }
);

db_test!(
    replayed_messages_change_nothing_twice,
    |db: Db| async move {
        let (t, c) = acme(&db, 10_000, 10).await;
        let req = request(1, "vlm-500");
        let (first, _) = licensing::activate(&db, &c, &req, NOW).await.unwrap();
        let (again, replayed) = licensing::activate(&db, &c, &req, NOW + 5).await.unwrap();
        assert!(replayed);
        assert_eq!(first, again);
        assert_eq!(pool::summary(&db, &t).await.unwrap().loadmasters, 1);

        let report = CheckReport {
            idempotency_key: "checks-batch-0001".into(),
            checks: vec![
                LicenseCheck {
                    license_id: first.license_id.clone(),
                    serial_no: req.serial_no.clone(),
                    checked_at: NOW,
                    partners: None,
                },
                LicenseCheck {
                    license_id: first.license_id.clone(),
                    serial_no: req.serial_no.clone(),
                    checked_at: NOW + 1,
                    partners: None,
                },
            ],
        };
        let answer = licensing::record_checks(&db, &c, &report, NOW + 2)
            .await
            .unwrap();
        assert_eq!(answer.results[0].status, Some(LicenseStatus::Active));
        licensing::record_checks(&db, &c, &report, NOW + 3)
            .await
            .unwrap();
        let row = db
            .fetch_optional(
                "SELECT check_count, last_check_at FROM licenses WHERE id = $1",
                vec![Value::Text(first.license_id.clone())],
            )
            .await
            .unwrap()
            .unwrap();
        use sqlx::Row;
        assert_eq!(row.try_get::<i64, _>("check_count").unwrap(), 2);
        assert_eq!(row.try_get::<i64, _>("last_check_at").unwrap(), NOW + 1);

        let deactivation = DeactivationRequest {
            idempotency_key: "deactivate-0001".into(),
            license_id: first.license_id.clone(),
            serial_no: req.serial_no.clone(),
        };
        let gone = licensing::deactivate(&db, &c, &deactivation, NOW + 10)
            .await
            .unwrap();
        assert_eq!(gone.status, LicenseStatus::Killed);
        assert_eq!(
            licensing::deactivate(&db, &c, &deactivation, NOW + 11)
                .await
                .unwrap(),
            gone
        );
        let history = licenses::history(&db, &t, &first.license_id).await.unwrap();
        assert_eq!(history.entries.len(), 2, "activated, then killed once");
    }
);

db_test!(
    a_connector_speaks_only_for_its_own_licenses,
    |db: Db| async move {
        let t = tenant(&db, "Acme", 10_000, 10).await;
        let other_tenant = tenant(&db, "Other", 10_000, 10).await;
        let mine = connector(&db, &t, "dc-east").await;
        let sibling = connector(&db, &t, "dc-west").await;
        let foreign = connector(&db, &other_tenant, "intruder").await;
        let req = request(1, "vlm-200");
        let (granted, _) = licensing::activate(&db, &mine, &req, NOW).await.unwrap();
        let check = CheckReport {
            idempotency_key: "checks-foreign-01".into(),
            checks: vec![LicenseCheck {
                license_id: granted.license_id.clone(),
                serial_no: req.serial_no.clone(),
                checked_at: NOW,
                partners: None,
            }],
        };
        for outsider in [&sibling, &foreign] {
            let answer = licensing::record_checks(&db, outsider, &check, NOW)
                .await
                .unwrap();
            assert_eq!(answer.results[0].status, None);
            assert_eq!(
                answer.results[0].refused.as_deref(),
                Some("unknown_license")
            );
            let deactivation = DeactivationRequest {
                idempotency_key: format!("deactivate-{}", outsider.name),
                license_id: granted.license_id.clone(),
                serial_no: req.serial_no.clone(),
            };
            assert!(matches!(
                licensing::deactivate(&db, outsider, &deactivation, NOW).await,
                Err(AppError::NotFound { .. })
            ));
        }
        assert_eq!(
            licenses::get(&db, &t, &granted.license_id)
                .await
                .unwrap()
                .status,
            LicenseStatus::Active
        );
    }
);

db_test!(silence_grace_expiry_and_coming_back, |db: Db| async move {
    let (t, c) = acme(&db, 10_000, 10).await;
    let a = licensed(&db, &c, 1, "vlm-2000").await;
    let silence = DAY;
    // Not silent long enough yet.
    assert!(connectors::sweep_silent(&db, NOW + silence - 1, silence)
        .await
        .unwrap()
        .is_empty());
    let down = connectors::sweep_silent(&db, NOW + silence, silence)
        .await
        .unwrap();
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].licenses_in_grace, 1);
    assert!(
        connectors::sweep_silent(&db, NOW + silence + 1, silence)
            .await
            .unwrap()
            .is_empty(),
        "twice is harmless"
    );
    let license = licenses::get(&db, &t, &a.license_id).await.unwrap();
    assert_eq!(license.status, LicenseStatus::GracePeriod);
    assert_eq!(license.grace_period_end, Some(NOW + silence + 30 * DAY));
    // Grace still holds capacity.
    assert_eq!(pool::summary(&db, &t).await.unwrap().allocated_mbps, 2_000);

    // It comes back: Active again.
    let identity = connectors::by_id(&db, &c.id).await.unwrap();
    let seen = connectors::seen(&db, &identity, NOW + 2 * DAY, None, None)
        .await
        .unwrap();
    assert_eq!(seen.came_back, Some(1));
    let license = licenses::get(&db, &t, &a.license_id).await.unwrap();
    assert_eq!(license.status, LicenseStatus::Active);
    assert_eq!(license.grace_period_end, None);

    // Down again, and never back: after 30 days the license expires, capacity returns.
    let down_at = NOW + 4 * DAY;
    connectors::sweep_silent(&db, down_at, silence)
        .await
        .unwrap();
    assert!(connectors::sweep_grace(&db, down_at + 30 * DAY - 1)
        .await
        .unwrap()
        .is_empty());
    let expired = connectors::sweep_grace(&db, down_at + 30 * DAY)
        .await
        .unwrap();
    assert_eq!(expired, vec![(t.clone(), 1)]);
    let license = licenses::get(&db, &t, &a.license_id).await.unwrap();
    assert_eq!(license.status, LicenseStatus::Expired);
    assert_eq!(pool::summary(&db, &t).await.unwrap().allocated_mbps, 0);
    let history = licenses::history(&db, &t, &a.license_id).await.unwrap();
    let steps: Vec<LicenseStatus> = history.entries.iter().map(|e| e.to_status).collect();
    assert_eq!(
        steps,
        vec![
            LicenseStatus::Active,
            LicenseStatus::GracePeriod,
            LicenseStatus::Active,
            LicenseStatus::GracePeriod,
            LicenseStatus::Expired
        ]
    );
    let sql = "SELECT action FROM events WHERE tenant_id = $1 ORDER BY at_ms";
    let actions: Vec<String> = db::column(&db, sql, args![&t]).await.unwrap();
    for expected in ["connector_down", "connector_up", "licenses_expired"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
});

db_test!(
    kill_recovers_the_license_and_queues_the_kill,
    |db: Db| async move {
        let (t, c) = acme(&db, 10_000, 10).await;
        let a = licensed(&db, &c, 1, "vlm-5000").await;
        let actor = Actor::system("test");
        let outcome = licensing::kill(&db, &t, &a.license_id, &actor, NOW + 60)
            .await
            .unwrap();
        assert!(!outcome.already_killed);
        assert_eq!(outcome.relayed_to.as_deref(), Some("dc-east"));
        assert_eq!(outcome.license.status, LicenseStatus::Killed);
        assert_eq!(outcome.license.recovered_at, Some(NOW + 60));
        assert_eq!(outcome.license.device_name, None);
        assert_eq!(outcome.license.ip_address, None);
        assert!(
            devices::list(&db, &t, 10, 0).await.unwrap().is_empty(),
            "out of the inventory"
        );
        assert_eq!(pool::summary(&db, &t).await.unwrap().allocated_mbps, 0);
        let queued = commands::pending(&db, &t, &c.id).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert!(
            matches!(&queued[0].kind, CommandKind::Kill { license_id, .. } if *license_id == a.license_id)
        );
        // Twice: harmless, nothing queued again.
        let again = licensing::kill(&db, &t, &a.license_id, &actor, NOW + 61)
            .await
            .unwrap();
        assert!(again.already_killed);
        assert_eq!(commands::pending(&db, &t, &c.id).await.unwrap().len(), 1);
        // Acknowledged once; a second acknowledgement changes nothing.
        let mut tx = db.begin_write().await.unwrap();
        for (at, first) in [(NOW + 62, true), (NOW + 63, false)] {
            let acked = commands::ack(&mut tx, &t, &c.id, &queued[0].id, &CommandAck::Done, at)
                .await
                .unwrap();
            assert_eq!(acked.is_some(), first, "acknowledged at {at}");
        }
        tx.commit().await.unwrap();
        assert!(commands::pending(&db, &t, &c.id).await.unwrap().is_empty());

        // A license not issued through the portal says why it cannot be killed.
        let seeded = bandpool_store::testing::seed_demo(&db, 40).await;
        // One of its active licenses, marked as issued elsewhere (the seed mixes both).
        let row = db
            .fetch_optional(
                "SELECT id FROM licenses WHERE tenant_id = $1 AND status = 'active' LIMIT 1",
                vec![Value::Text(seeded.clone())],
            )
            .await
            .unwrap()
            .expect("the seed has active licenses");
        use sqlx::Row;
        let id: String = row.try_get("id").unwrap();
        db.execute(
            "UPDATE licenses SET issued_through_portal = 0 WHERE id = $1",
            vec![Value::Text(id.clone())],
        )
        .await
        .unwrap();
        assert!(matches!(
            licensing::kill(&db, &seeded, &id, &actor, NOW).await,
            Err(AppError::LicenseNotKillable { .. })
        ));
        assert_eq!(
            licenses::get(&db, &seeded, &id).await.unwrap().status,
            LicenseStatus::Active,
            "a refused kill changes nothing"
        );
        // Another tenant's license is not found.
        assert!(matches!(
            licensing::kill(&db, &seeded, &a.license_id, &actor, NOW).await,
            Err(AppError::NotFound { .. })
        ));
    }
);

db_test!(sync_records_each_kind_of_drift, |db: Db| async move {
    let (t, c) = acme(&db, 100_000, 100).await;
    let silent = connector(&db, &t, "dc-west").await;
    let killed = licensed(&db, &c, 1, "vlm-200").await;
    let active = licensed(&db, &c, 2, "vlm-200").await;
    let missing = licensed(&db, &c, 3, "vlm-200").await;
    licensing::kill(&db, &t, &killed.license_id, &Actor::system("test"), NOW)
        .await
        .unwrap();
    // The kill was never acknowledged there; the connector still has it licensed.
    let run_id = sync::start(&db, &t, &Actor::system("test"), NOW + 10, 30)
        .await
        .unwrap();
    let run = sync::get(&db, &t, &run_id).await.unwrap();
    assert!(run.running());
    assert_eq!(run.connectors.len(), 2);
    let sync_command = commands::pending(&db, &t, &c.id)
        .await
        .unwrap()
        .into_iter()
        .find(|cmd| matches!(cmd.kind, CommandKind::Sync { .. }))
        .unwrap();
    let appliances = vec![
        ApplianceState {
            license_id: killed.license_id.clone(),
            serial_no: request(1, "").serial_no,
            state: ApplianceLicense::Licensed,
            last_check_at: Some(NOW),
            virtual_services: None,
        },
        ApplianceState {
            license_id: active.license_id.clone(),
            serial_no: request(2, "").serial_no,
            state: ApplianceLicense::Killed,
            last_check_at: Some(NOW),
            virtual_services: None,
        },
        ApplianceState {
            license_id: uuid::Uuid::new_v4().to_string(),
            serial_no: "9999999".into(),
            state: ApplianceLicense::Licensed,
            last_check_at: Some(NOW),
            virtual_services: None,
        },
    ];
    let ack = CommandAck::Sync { appliances };
    let mut tx = db.begin_write().await.unwrap();
    commands::ack(&mut tx, &t, &c.id, &sync_command.id, &ack, NOW + 11)
        .await
        .unwrap();
    if let CommandKind::Sync { run_id } = &sync_command.kind {
        sync::record_answer(
            &mut tx,
            &c,
            run_id,
            match &ack {
                CommandAck::Sync { appliances } => appliances,
                _ => unreachable!(),
            },
            NOW + 11,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert!(
        sync::get(&db, &t, &run_id).await.unwrap().running(),
        "dc-west has not answered"
    );
    assert_eq!(sync::finish_overdue(&db, NOW + 39, None).await.unwrap(), 0);
    assert_eq!(
        sync::finish_overdue(&db, NOW + 40, Some(&t)).await.unwrap(),
        1
    );
    let run = sync::get(&db, &t, &run_id).await.unwrap();
    assert_eq!(run.finished_at, Some(NOW + 40));
    assert_eq!(run.silent(), vec![silent.name.as_str()]);
    let kinds = |k: DriftKind| run.drift.iter().filter(|d| d.kind == k).count();
    assert_eq!(kinds(DriftKind::KillResent), 1);
    assert_eq!(kinds(DriftKind::UnknownHere), 1);
    assert_eq!(
        kinds(DriftKind::StatusMismatch),
        2,
        "killed there; missing there: {:?}",
        run.drift
    );
    assert!(run
        .drift
        .iter()
        .any(|d| d.license_id.as_deref() == Some(missing.license_id.as_str())));
    // The kill went out again, and Last refreshed moved.
    let kills = commands::pending(&db, &t, &c.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|cmd| matches!(&cmd.kind, CommandKind::Kill { license_id, .. } if *license_id == killed.license_id))
        .count();
    assert_eq!(kills, 2);
    assert_eq!(
        pool::summary(&db, &t).await.unwrap().last_refreshed_at,
        Some(NOW + 40)
    );
});

db_test!(
    overlapping_check_reports_at_once_are_all_counted,
    |db: Db| async move {
        // One connector's reports over the same licenses, sent at once (a retry racing the
        // next batch): PostgreSQL once answered some with a deadlock (HTTP 500).
        let (t, c) = acme(&db, 1_000_000, 100).await;
        let mut checks = Vec::new();
        for i in 0..40 {
            let req = request(i, "vlm-500");
            let (granted, _) = licensing::activate(&db, &c, &req, NOW).await.unwrap();
            checks.push(LicenseCheck {
                license_id: granted.license_id,
                serial_no: req.serial_no,
                checked_at: NOW,
                partners: None,
            });
        }
        let reports: Vec<CheckReport> = (0..12)
            .map(|r| CheckReport {
                idempotency_key: format!("overlap-{r}"),
                // Each report starts elsewhere and counts some licenses twice, so the
                // UPDATE groups differ between reports.
                checks: (0..60)
                    .map(|k| checks[(r * 7 + k) % checks.len()].clone())
                    .collect(),
            })
            .collect();
        let answers = futures::future::join_all(
            reports
                .iter()
                .map(|report| licensing::record_checks(&db, &c, report, NOW + 1)),
        )
        .await;
        for answer in answers {
            let answer = answer.expect("every report is answered");
            assert!(answer
                .results
                .iter()
                .all(|r| r.status == Some(LicenseStatus::Active)));
        }
        let total: i64 = {
            use sqlx::Row;
            db.fetch_optional(
                "SELECT CAST(SUM(check_count) AS BIGINT) AS n FROM licenses WHERE tenant_id = $1",
                vec![Value::Text(t.clone())],
            )
            .await
            .unwrap()
            .unwrap()
            .try_get("n")
            .unwrap()
        };
        assert_eq!(total, 12 * 60, "every check counted once");
    }
);
