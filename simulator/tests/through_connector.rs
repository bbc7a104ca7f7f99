//! The connector agent and the LoadMaster simulator together, against an in-memory
//! stand-in for the portal's connector API (`support`): registration, activation and its
//! refusals, checks answered locally and relayed in batches, grace and kill reaching the
//! LoadMasters, sync, a connector address change, and nothing lost while the portal is
//! down or the connector restarts.

mod support;

use bandpool_connector::{AgentError, RunningAgent, Settings};
use bandpool_domain::connector::{ApplianceLicense, CommandAck, CommandKind};
use bandpool_domain::license::LicenseStatus;
use bandpool_simulator::{ApplianceState, Fleet, FleetSettings, GraceReason};
use std::path::Path;
use std::time::Duration;
use support::StandIn;

const WAIT: Duration = Duration::from_secs(30);

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
}

fn connector_settings(portal: &StandIn, data_dir: &Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        registration_token: Some(support::GOOD_TOKEN.into()),
        heartbeat_seconds: 1,
        flush_millis: 50,
        command_wait_seconds: 1,
        ..Settings::new(portal.url())
    }
}

/// A fleet that only moves when told (`check_all_now`), so tests do not wait on timers.
fn fleet_settings(agent: &RunningAgent, count: usize) -> FleetSettings {
    FleetSettings {
        check_interval: Duration::from_secs(3600),
        refusal_retry: Duration::from_secs(3600),
        ..FleetSettings::new(format!("http://{}", agent.local_addr()), count)
    }
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_is_licensed_and_follows_grace_kill_sync_and_a_move() {
    init_logs();
    let portal = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = bandpool_connector::start(connector_settings(&portal, dir.path()))
        .await
        .expect("starts");
    assert_eq!(agent.connector_id().as_deref(), Some(support::CONNECTOR_ID));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("credential"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the credential is the owner's only");
    }

    let fleet = Fleet::start(fleet_settings(&agent, 20)).await.unwrap();
    let (snapshot, ok) = fleet.wait_until(WAIT, |s| s.licensed == 20).await;
    assert!(ok, "{snapshot:?}");
    assert_eq!(portal.with(|p| p.licenses.len()), 20);

    // Checks are answered locally and reach the portal in batches.
    fleet.check_all_now().await;
    assert_eq!(fleet.snapshot().checks_ok, 20);
    eventually("checks delivered", || portal.with(|p| p.checks_taken) >= 20).await;
    assert_eq!(agent.checks_received(), 20);

    // The portal puts one license in its grace period: the next report's answer tells the
    // connector, and the check after that tells the LoadMaster.
    let views = fleet.appliances();
    let graced = views[2].license_id.clone().unwrap();
    portal.with(|p| {
        let l = p.licenses.get_mut(&graced).unwrap();
        l.status = LicenseStatus::GracePeriod;
        l.grace_period_end = Some(1_900_000_000);
    });
    fleet.check_all_now().await;
    eventually("grace reaches the connector", || {
        agent.license_status(&graced) == Some(LicenseStatus::GracePeriod)
    })
    .await;
    fleet.check_all_now().await;
    assert_eq!(
        fleet.appliances()[2].state,
        ApplianceState::InGrace(GraceReason::Portal {
            until: Some(1_900_000_000)
        })
    );

    // A kill: the connector marks it, acknowledges, and the LoadMaster disables itself.
    let killed = views[5].license_id.clone().unwrap();
    let kill = portal.command(CommandKind::Kill {
        license_id: killed.clone(),
        serial_no: views[5].serial_no.clone(),
    });
    eventually("kill acknowledged", || {
        portal.with(|p| p.acks.iter().any(|(id, _)| *id == kill))
    })
    .await;
    assert_eq!(agent.license_status(&killed), Some(LicenseStatus::Killed));
    fleet.check_all_now().await;
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.killed, 1, "{snapshot:?}");
    assert_eq!(snapshot.in_grace, 1);
    assert_eq!(snapshot.licensed, 18);
    let checks_before = snapshot.checks_ok;
    fleet.check_all_now().await;
    assert_eq!(
        fleet.snapshot().checks_ok,
        checks_before + 19,
        "a disabled LoadMaster checks no more"
    );

    // A sync reports every LoadMaster, the killed one as killed.
    let sync = portal.command(CommandKind::Sync {
        run_id: "run-1".into(),
    });
    eventually("sync acknowledged", || {
        portal.with(|p| p.acks.iter().any(|(id, _)| *id == sync))
    })
    .await;
    let appliances = portal.with(|p| {
        p.acks
            .iter()
            .find_map(|(id, ack)| match ack {
                CommandAck::Sync { appliances } if *id == sync => Some(appliances.clone()),
                _ => None,
            })
            .unwrap()
    });
    assert_eq!(appliances.len(), 20);
    assert_eq!(
        appliances
            .iter()
            .filter(|a| a.state == ApplianceLicense::Killed)
            .map(|a| a.license_id.clone())
            .collect::<Vec<_>>(),
        vec![killed.clone()]
    );
    assert!(appliances.iter().all(|a| a.last_check_at.is_some()));

    // The connector's address changes: the portal hears it, the LoadMasters follow.
    let moved = format!("http://localhost:{}", agent.local_addr().port());
    agent.set_advertise_url(moved.clone());
    eventually("the portal hears the new address", || {
        portal.with(|p| p.last_address.as_deref() == Some(moved.as_str()))
    })
    .await;
    fleet.check_all_now().await;
    fleet.check_all_now().await;
    for view in fleet.appliances() {
        if view.state != ApplianceState::Killed {
            assert_eq!(view.connector_url, moved, "{view:?}");
        }
    }
    assert_eq!(fleet.snapshot().checks_failed, 0);

    // A LoadMaster gives its license back: queued, then the portal takes it.
    let client = reqwest::Client::new();
    let given_back = views[0].license_id.clone().unwrap();
    let response = client
        .post(format!("{moved}/v1/deactivate"))
        .json(&serde_json::json!({"license_id": given_back, "serial_no": views[0].serial_no}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    eventually("deactivation delivered", || {
        portal.with(|p| p.deactivated.contains(&given_back))
    })
    .await;
    assert_eq!(agent.license_status(&given_back), None);

    fleet.shutdown().await;
    let summary = agent.shutdown().await;
    assert_eq!(summary.queued_batches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_reach_the_loadmaster_and_unknown_licenses_are_404() {
    init_logs();
    let portal = StandIn::start().await;
    portal.with(|p| p.instance_limit = 3);
    let dir = tempfile::tempdir().unwrap();
    let agent = bandpool_connector::start(connector_settings(&portal, dir.path()))
        .await
        .unwrap();
    let fleet = Fleet::start(fleet_settings(&agent, 5)).await.unwrap();
    let (snapshot, ok) = fleet
        .wait_until(WAIT, |s| s.licensed == 3 && s.refused == 2)
        .await;
    assert!(ok, "{snapshot:?}");
    assert_eq!(snapshot.refusals.get("instance_limit_reached"), Some(&2));

    // Capacity comes back: the refused ones get theirs at their next attempt.
    portal.with(|p| p.instance_limit = 0);
    fleet.check_all_now().await;
    assert_eq!(fleet.snapshot().licensed, 5);

    let client = reqwest::Client::new();
    let base = format!("http://{}", agent.local_addr());
    let response = client
        .post(format!("{base}/v1/check"))
        .json(&serde_json::json!({"license_id": "lic-nope", "serial_no": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unknown_license");

    let response = client
        .post(format!("{base}/v1/activate"))
        .json(&serde_json::json!({"serial_no": "77", "device_name": "x", "ip_address": "10.0.0.1", "sku": "VLM-SPLA", "license_type_id": "vlm-999"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_license_type");

    let response = client
        .post(format!("{base}/v1/check"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The portal is unreachable: an activation says so, and the LoadMaster stays pending.
    portal.with(|p| p.down = true);
    let response = client
        .post(format!("{base}/v1/activate"))
        .json(&serde_json::json!({"serial_no": "78", "device_name": "y", "ip_address": "10.0.0.2", "sku": "VLM-SPLA", "license_type_id": "vlm-200"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);

    fleet.shutdown().await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_the_portal_is_down_or_the_connector_restarts() {
    init_logs();
    let mut portal = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = bandpool_connector::start(connector_settings(&portal, dir.path()))
        .await
        .unwrap();
    let mut settings = fleet_settings(&agent, 30);
    settings.unreachable_after = 2;
    let fleet = Fleet::start(settings).await.unwrap();
    assert!(fleet.wait_until(WAIT, |s| s.licensed == 30).await.1);

    // The portal answers 503, then stops listening altogether.
    portal.with(|p| p.down = true);
    fleet.check_all_now().await;
    fleet.check_all_now().await;
    portal.stop().await;
    fleet.check_all_now().await;
    assert_eq!(
        fleet.snapshot().licensed,
        30,
        "LoadMasters are answered from the connector's state"
    );
    eventually("batches on disk", || {
        agent.queued_checks() == 90 && agent.queued_batches() >= 1
    })
    .await;
    let received_before = agent.checks_received();

    // The connector restarts while the portal is away: its queue is kept.
    let summary = agent.shutdown().await;
    assert_eq!(summary.queued_checks, 90);
    let agent = bandpool_connector::start(connector_settings(&portal, dir.path()))
        .await
        .expect("starts with the stored credential");
    assert_eq!(agent.queued_checks(), 90);

    // The restarted connector listens on another port: the LoadMasters that knew the old
    // address lose it and, after two failed checks, go into grace.
    fleet.check_all_now().await;
    fleet.check_all_now().await;
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.in_grace, 30, "connector unreachable: {snapshot:?}");
    assert_eq!(snapshot.checks_failed, 60);
    fleet.shutdown().await;

    // The portal comes back: everything queued arrives exactly once.
    portal.with(|p| p.down = false);
    portal.serve().await;
    let fleet_again = Fleet::start(fleet_settings(&agent, 30)).await.unwrap();
    assert!(fleet_again.wait_until(WAIT, |s| s.licensed == 30).await.1);
    fleet_again.check_all_now().await;
    let total = received_before + agent.checks_received();
    eventually("all checks delivered", || {
        agent.queued_checks() == 0 && portal.with(|p| p.checks_taken) as u64 == total
    })
    .await;
    assert_eq!(portal.with(|p| p.registrations), 1, "registered once");
    fleet_again.shutdown().await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_needs_a_valid_token() {
    init_logs();
    let portal = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = connector_settings(&portal, dir.path());
    settings.registration_token = Some("bpr_wrong".into());
    let error = bandpool_connector::start(settings.clone())
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&error, AgentError::RegistrationRefused { code, .. } if code == "invalid_registration_token"),
        "{error}"
    );
    assert_eq!(error.exit_code(), 2);

    settings.registration_token = None;
    let error = bandpool_connector::start(settings).await.err().expect("no token");
    assert!(matches!(error, AgentError::NotRegistered { .. }), "{error}");
    assert!(error.to_string().contains("registration_token"));
}
