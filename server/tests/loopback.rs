//! The whole path on loopback: simulated LoadMasters (`bandpool-simulator`) → the connector
//! agent (`bandpool-connector`) → the real portal, on both databases. Activation and a
//! refusal code, the LoadMaster limit raced by a fleet, checks counted once, a kill relayed
//! and obeyed, capacity returned, Sync, the connector's address changing, connector down →
//! grace → back → Active and down → Expired on the test clock, the agent's disk queue
//! surviving a portal restart with no check lost, and another tenant's connector refused.

mod common;

use bandpool_connector::{RunningAgent, Settings as AgentSettings};
use bandpool_domain::license::LicenseStatus;
use bandpool_server::settings::Settings;
use bandpool_server::state::AppState;
use bandpool_server::sweeps::health_pass;
use bandpool_simulator::{ApplianceState, Fleet, FleetSettings};
use bandpool_store::testing::TestDb;
use bandpool_store::{Clock, Db};
use common::{Seed, TestApp, OUTSIDER};
use serde_json::{json, Value};
use sqlx::Row;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn agent_settings(portal: &str, token: Option<String>, dir: &Path) -> AgentSettings {
    AgentSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        registration_token: token,
        heartbeat_seconds: 1,
        flush_millis: 50,
        command_wait_seconds: 1,
        ..AgentSettings::new(portal)
    }
}

/// A fleet that moves only when told (`check_all_now`), so tests never wait on timers.
fn fleet(
    agent: &RunningAgent,
    count: usize,
    license_type: &str,
    serial_base: u64,
) -> FleetSettings {
    FleetSettings {
        check_interval: Duration::from_secs(3600),
        spread_first_check: false,
        refusal_retry: Duration::from_secs(3600),
        license_type_id: license_type.into(),
        serial_base,
        unreachable_after: 1,
        ..FleetSettings::new(format!("http://{}", agent.local_addr()), count)
    }
}

/// The agent of a connector created with the registration `token`, keeping its state in
/// `dir`, speaking to the portal at `portal`.
async fn start_agent(portal: &str, token: String, dir: &Path) -> RunningAgent {
    bandpool_connector::start(agent_settings(portal, Some(token), dir))
        .await
        .unwrap()
}

/// `count` LoadMasters behind `agent`, once every one of them holds a license.
async fn licensed_fleet(
    agent: &RunningAgent,
    count: usize,
    license_type: &str,
    serial_base: u64,
) -> Fleet {
    let fleet = Fleet::start(fleet(agent, count, license_type, serial_base))
        .await
        .unwrap();
    assert!(fleet.wait_until(WAIT, |s| s.licensed == count).await.1);
    fleet
}

async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the portal counted, over all licenses.
async fn checks_counted(db: &Db) -> i64 {
    db.fetch_optional(
        "SELECT CAST(COALESCE(SUM(check_count), 0) AS BIGINT) AS n FROM licenses",
        vec![],
    )
    .await
    .unwrap()
    .unwrap()
    .try_get("n")
    .unwrap()
}

async fn licensed_statuses(app: &TestApp) -> Vec<String> {
    let (_, page) = app.get_json("/api/v1/licenses?per_page=500").await;
    page["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap().to_string())
        .collect()
}

async fn licensing_through_the_connector(db: &TestDb) {
    // Empty Corp: 50,000 Mb/s and 20 LoadMasters.
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let token = app.new_connector(&app.client, "dc-east").await;
    let dir = tempfile::tempdir().unwrap();
    let agent = bandpool_connector::start(agent_settings(&app.base, Some(token), dir.path()))
        .await
        .expect("the agent registers");

    // 25 LoadMasters ask at once for a VLM-2000: exactly the 20 the limit allows get one.
    let fleet = Fleet::start(fleet(&agent, 25, "vlm-2000", 9_100_000))
        .await
        .unwrap();
    let (snapshot, ok) = fleet
        .wait_until(WAIT, |s| s.licensed + s.refused == 25)
        .await;
    assert!(ok, "{snapshot:?}");
    assert_eq!(snapshot.licensed, 20, "{snapshot:?}");
    assert_eq!(snapshot.refusals.get("instance_limit_reached"), Some(&5));
    let (_, pool) = app.get_json("/api/v1/pool").await;
    assert_eq!(pool["allocated_mbps"], 40_000);
    assert_eq!(pool["loadmasters"], 20);

    // Periodic checks are answered by the connector and counted by the portal, once each.
    fleet.check_all_now().await;
    fleet.check_all_now().await;
    eventually("40 checks counted", || async {
        checks_counted(&app.db).await == 40
    })
    .await;

    // A kill in the portal reaches the LoadMaster through the connector's channel.
    let victim = fleet
        .appliances()
        .into_iter()
        .find(|a| a.state == ApplianceState::Licensed)
        .unwrap();
    let license = victim.license_id.clone().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/licenses/{license}/kill")))
        .json(&json!({ "confirm": "KILL" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    eventually("the connector heard the kill", || async {
        agent.license_status(&license) == Some(LicenseStatus::Killed)
    })
    .await;
    // The capacity and the LoadMaster slot are back at once...
    let (_, pool) = app.get_json("/api/v1/pool").await;
    assert_eq!(pool["loadmasters"], 19);
    assert_eq!(pool["allocated_mbps"], 38_000);
    // ...the LoadMaster disables itself at its next check, and a refused one takes the slot.
    fleet.check_all_now().await;
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.killed, 1, "{snapshot:?}");
    assert_eq!(
        (snapshot.licensed, snapshot.refused),
        (20, 4),
        "{snapshot:?}"
    );

    // Sync licenses: the connector answers; nothing differs.
    let (status, run): (u16, Value) = {
        let r = app
            .client
            .post(app.url("/api/v1/licenses/sync"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    };
    assert_eq!(status, 202, "{run}");
    let run_id = run["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    let finished = loop {
        let (_, run) = app
            .get_json(&format!("/api/v1/licenses/sync/{run_id}"))
            .await;
        if run["finished_at"].is_number() {
            break run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sync did not finish: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["drift"], json!([]), "{finished}");
    assert!(finished["connectors"][0]["answered_at"].is_number());
    // The LoadMasters' Virtual Services came with the answer (each reported one to three on
    // its checks; the agent kept them): the portal has them, unmapped, on their LoadMasters.
    let (_, services) = app.get_json("/api/v1/virtual-services").await;
    let services = services.as_array().unwrap().clone();
    let devices: std::collections::BTreeSet<&str> = services
        .iter()
        .map(|v| v["device_name"].as_str().unwrap())
        .collect();
    assert!((19..=20).contains(&devices.len()), "{services:?}");
    assert!(services.iter().all(|v| v["application"].is_null()
        && ["web-443", "mail-25", "api-8443"].contains(&v["name"].as_str().unwrap())));

    // The connector's address changes: the portal records it, the LoadMasters follow it
    // and keep their licenses.
    let moved = format!("http://localhost:{}", agent.local_addr().port());
    agent.set_advertise_url(moved.clone());
    eventually("the portal knows the new address", || async {
        let (_, list) = app.get_json("/api/v1/connectors").await;
        list[0]["address"] == moved.as_str()
    })
    .await;
    fleet.check_all_now().await;
    fleet.check_all_now().await;
    for view in fleet.appliances() {
        if view.state == ApplianceState::Licensed {
            assert_eq!(view.connector_url, moved);
        }
    }
    assert_eq!(fleet.snapshot().licensed, 20);
    let (_, events) = app
        .get_json("/api/v1/events?action=connector_address_changed")
        .await;
    assert_eq!(events["total"], 1);

    // A LoadMaster the connector never licensed is unknown to it.
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/check", agent.local_addr()))
        .json(&json!({ "license_id": "00000000-0000-0000-0000-000000000000", "serial_no": "1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    fleet.shutdown().await;
    agent.shutdown().await;
}

db_test!(
    licensing_through_the_connector,
    licensing_through_the_connector
);

/// Choosing a license through the agent (`POST /v1/licenses`: an order's licenses with what
/// remains), then temporary licenses taken by simulated LoadMasters: thirty days later on the
/// test clock the term ends and each LoadMaster stops at its next check.
async fn license_kinds_through_the_connector(db: &TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let operator = app.client_as(common::OPERATOR).await;
    let tenant = app.tenant_id.clone().unwrap();
    let (status, body) = app
        .call(
            &operator,
            "record_order",
            &[
                ("tenant_id", tenant.as_str()),
                ("order_id", "ORD-LOOP"),
                ("support_tier", "enterprise_plus"),
                ("support_ends_on", "2099-12-31"),
                ("lines", "vlm-500=2\nvlm-2000=1"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = app.new_connector(&app.client, "dc-east").await;
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&app.base, token, dir.path()).await;
    let local = reqwest::Client::new();
    let ask = |body: Value| {
        local
            .post(format!("http://{}/v1/licenses", agent.local_addr()))
            .json(&body)
            .send()
    };
    let listed: Value =
        ask(json!({ "serial_no": "9300001", "sku": "VLM-SPLA", "order_id": "ORD-LOOP" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let offered: Vec<(&str, i64)> = listed["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["license_type_id"].as_str().unwrap(),
                l["remaining"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(offered, [("vlm-2000", 1), ("vlm-500", 2)], "{listed}");
    assert!(listed["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["kind"] == "permanent"));
    let missing = ask(json!({ "serial_no": "9300001", "sku": "VLM-SPLA", "order_id": "ORD-NONE" }))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "order_not_found");

    // Two LoadMasters take temporary licenses; the answer carries the term.
    let fleet = Fleet::start(FleetSettings {
        ask: bandpool_domain::connector::LicenseAsk {
            kind: Some(bandpool_domain::lifecycle::LicenseKind::Temporary),
            ..Default::default()
        },
        ..fleet(&agent, 2, "vlm-500", 9_300_000)
    })
    .await
    .unwrap();
    assert!(fleet.wait_until(WAIT, |s| s.licensed == 2).await.1);
    let licenses: Vec<String> = fleet
        .appliances()
        .into_iter()
        .filter_map(|a| a.license_id)
        .collect();
    let (_, list) = app.get_json("/api/v1/subscriptions").await;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["subscription"] == false)
            .count(),
        2
    );

    // Thirty days on: the term sweep expires both, the agent hears it on the next report,
    // and the LoadMasters stop.
    app.clock.advance(chrono::Duration::days(30));
    let pass = health_pass(&app.state).await.unwrap();
    assert_eq!(pass.lifecycle.terms_ended, 2);
    let (_, pool) = app.get_json("/api/v1/pool").await;
    assert_eq!(pool["allocated_mbps"], 0);
    fleet.check_all_now().await;
    eventually("the connector heard the terms end", || async {
        licenses
            .iter()
            .all(|l| agent.license_status(l) == Some(LicenseStatus::Expired))
    })
    .await;
    fleet.check_all_now().await;
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.expired, 2, "{snapshot:?}");
    fleet.shutdown().await;

    // Through the agent: a temporary license upgraded to a permanent one of the order
    // (Update License/Owner), then killed there to move it (a transfer); the agent's state
    // follows each answer.
    let post = |path: &'static str, body: Value| {
        local
            .post(format!("http://{}{path}", agent.local_addr()))
            .json(&body)
            .send()
    };
    let serial = "9300010";
    let granted: Value = post(
        "/v1/activate",
        json!({ "serial_no": serial, "device_name": "lm-upgrade", "ip_address": "10.30.0.10",
                "sku": "VLM-SPLA", "license_type_id": "vlm-200", "kind": "temporary" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let license = granted["license_id"].as_str().unwrap().to_string();
    let upgraded = post(
        "/v1/update",
        json!({ "license_id": license, "serial_no": serial, "kind": "permanent",
                "order_id": "ORD-LOOP", "license_type_id": "vlm-500" }),
    )
    .await
    .unwrap();
    assert_eq!(upgraded.status(), 200);
    let upgraded: Value = upgraded.json().await.unwrap();
    assert_eq!(upgraded["license"]["kind"], "permanent", "{upgraded}");
    assert_eq!(agent.license_status(&license), Some(LicenseStatus::Active));
    let moved = post(
        "/v1/transfer",
        json!({ "license_id": license, "serial_no": serial, "firmware_version": "7.2.54.0.20345.RELEASE" }),
    )
    .await
    .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(agent.license_status(&license), Some(LicenseStatus::Killed));
    let unknown = post(
        "/v1/owner",
        json!({ "license_id": license, "serial_no": "0000000", "device_name": "x", "ip_address": "10.30.0.11" }),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
    // A LoadMaster naming itself as its HA partner is refused at the agent, before its check
    // could travel with others'.
    let own = post(
        "/v1/check",
        json!({ "license_id": license, "serial_no": serial, "partners": { "ha_partner_serial": serial } }),
    )
    .await
    .unwrap();
    assert_eq!(own.status(), 400);
    let body: Value = own.json().await.unwrap();
    assert_eq!(body["parameter"], "ha_partner_serial", "{body}");
    agent.shutdown().await;
}

db_test!(
    license_kinds_through_the_connector,
    license_kinds_through_the_connector
);

/// Run diagnostics: an Owner asks through REST, the agent runs them at its next heartbeat and
/// sends them; the connector then shows each check (the portal answered; this machine's
/// gateway and DNS servers are listed, answering or not), and a Reviewer may not ask.
async fn diagnostics_through_the_connector(db: &TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let token = app.new_connector(&app.client, "dc-diag").await;
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&app.base, token, dir.path()).await;
    let connector = || async {
        let (_, list) = app.get_json("/api/v1/connectors").await;
        list.as_array().unwrap()[0].clone()
    };
    eventually("the agent registered", || async {
        connector().await["status"] == "up"
    })
    .await;
    let id = connector().await["id"].as_str().unwrap().to_string();
    assert!(connector().await["diagnostics"]["ran_at"].is_null());
    let path = format!("/api/v1/connectors/{id}/diagnostics");
    let reviewer = app.client_as(common::REVIEWER).await;
    let (status, _) = app.post_json(&reviewer, &path, &json!({})).await;
    assert_eq!(status, 403);
    let (status, asked) = app.post_json(&app.client, &path, &json!({})).await;
    assert_eq!(status, 202, "{asked}");
    assert!(asked["diagnostics"]["requested_at"].is_i64());
    eventually("the diagnostics arrived", || async {
        connector().await["diagnostics"]["ran_at"].is_i64()
    })
    .await;
    let shown = connector().await["diagnostics"].clone();
    let checks = shown["checks"].as_array().unwrap();
    let portal = checks.iter().find(|c| c["target"] == "portal").unwrap();
    assert_eq!(portal["ok"], true, "{shown}");
    assert!(
        portal["message"]
            .as_str()
            .unwrap()
            .starts_with("answered in"),
        "{shown}"
    );
    assert!(
        checks.iter().any(|c| c["target"] == "default_gateway"),
        "{shown}"
    );
    assert!(
        checks.iter().any(|c| c["target"] == "dns_server"),
        "{shown}"
    );
    // The event log says so, and the agent's local API runs them too.
    let (_, events) = app
        .get_json("/api/v1/events?action=connector_diagnostics")
        .await;
    assert!(
        events.to_string().contains("connector_diagnostics"),
        "{events}"
    );
    let local: Value = reqwest::Client::new()
        .post(format!("http://{}/v1/diagnostics", agent.local_addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(local["checks"].as_array().unwrap().len() >= 3, "{local}");
    agent.shutdown().await;
}

db_test!(
    diagnostics_through_the_connector,
    diagnostics_through_the_connector
);

/// Connector down → grace → back → Active; down again → Expired after 30 days.
async fn grace_through_the_connector(db: &TestDb) {
    let app = TestApp::spawn_with(db, Seed::EmptyPool, |s| {
        s.connectors.connector_silence_seconds = 60
    })
    .await;
    let token = app.new_connector(&app.client, "dc-east").await;
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&app.base, token, dir.path()).await;
    let listen = agent.local_addr();
    let fleet = licensed_fleet(&agent, 3, "vlm-500", 9_200_000).await;

    // The connector stops; its LoadMasters cannot check; the portal hears nothing.
    agent.shutdown().await;
    fleet.check_all_now().await;
    assert_eq!(fleet.snapshot().in_grace, 3, "the LoadMasters notice");
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(health_pass(&app.state).await.unwrap().connectors_down, 1);
    assert_eq!(licensed_statuses(&app).await, vec!["grace_period"; 3]);

    // It comes back (same address, its stored credential): Active again, everywhere.
    let mut settings = agent_settings(&app.base, None, dir.path());
    settings.listen = listen;
    let agent = bandpool_connector::start(settings).await.unwrap();
    eventually("the licenses are Active again", || async {
        licensed_statuses(&app).await == vec!["active"; 3]
    })
    .await;
    fleet.check_all_now().await;
    assert_eq!(fleet.snapshot().licensed, 3);

    // Gone for good: after 30 days of grace the licenses expire, capacity returns, and the
    // LoadMasters learn it when they can ask again.
    agent.shutdown().await;
    app.clock.advance(chrono::Duration::seconds(61));
    health_pass(&app.state).await.unwrap();
    app.clock.advance(chrono::Duration::days(30));
    assert_eq!(health_pass(&app.state).await.unwrap().licenses_expired, 3);
    let (_, pool) = app.get_json("/api/v1/pool").await;
    assert_eq!(pool["allocated_mbps"], 0);
    let mut settings = agent_settings(&app.base, None, dir.path());
    settings.listen = listen;
    let agent = bandpool_connector::start(settings).await.unwrap();
    fleet.check_all_now().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while fleet.snapshot().expired < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            fleet.snapshot()
        );
        fleet.check_all_now().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.shutdown().await;
    agent.shutdown().await;
}

db_test!(grace_through_the_connector, grace_through_the_connector);

/// A portal instance that can be stopped and started again on the same address.
struct Portal {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn serve_portal(db: Db, clock: Clock, addr: SocketAddr) -> (Portal, AppState) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let leptos_options = common::leptos_options(addr);
    let mut settings = Settings::default();
    settings.portal.public_url = format!("http://{addr}");
    let (router, state) =
        bandpool_server::web::build_with_state(&settings, db, clock, leptos_options).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = settings.http_limits();
    let task = tokio::spawn(async move {
        bandpool_server::edge::serve(listener, router, &limits, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (Portal { stop, task }, state)
}

impl Portal {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// The agent's queue survives a portal restart: every check answered while the portal was
/// away arrives once it is back, none lost and none counted twice.
async fn queue_survives_a_portal_restart(db: &TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    let token = app.new_connector(&app.client, "dc-east").await;
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (portal, _) = serve_portal(app.db.clone(), app.clock.clone(), addr).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&format!("http://{addr}"), token, dir.path()).await;
    let fleet = licensed_fleet(&agent, 20, "vlm-200", 9_300_000).await;

    // The portal goes away; the LoadMasters keep checking, answered by the connector.
    portal.stop().await;
    for _ in 0..3 {
        fleet.check_all_now().await;
    }
    assert_eq!(fleet.snapshot().licensed, 20);
    assert_eq!(fleet.snapshot().checks_failed, 0);
    eventually("60 checks queued on disk", || async {
        agent.queued_checks() == 60
    })
    .await;
    assert_eq!(checks_counted(&app.db).await, 0);

    // A new portal instance on the same address: the queue drains, exactly once.
    let (portal, _) = serve_portal(app.db.clone(), app.clock.clone(), addr).await;
    eventually("the queue drained", || async {
        agent.queued_batches() == 0
    })
    .await;
    eventually("all 60 checks counted", || async {
        checks_counted(&app.db).await == 60
    })
    .await;
    assert_eq!(agent.checks_received(), 60);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(checks_counted(&app.db).await, 60, "none counted twice");
    fleet.shutdown().await;
    agent.shutdown().await;
    portal.stop().await;
}

db_test!(
    queue_survives_a_portal_restart,
    queue_survives_a_portal_restart
);

/// Metered LoadMasters report usage through the real agent: the samples reach the portal
/// in batches and make the month's usage; the agent refuses a malformed sample and one for
/// a license it does not serve.
async fn metered_usage_through_the_connector(db: &TestDb) {
    let app = TestApp::spawn(db, Seed::EmptyPool).await;
    // The simulated LoadMasters stamp their samples with the wall clock, and the portal
    // refuses samples from its future: its clock moves up to now.
    let wall = chrono::Utc::now().timestamp();
    app.clock
        .advance(chrono::TimeDelta::seconds(wall - app.clock.now_ts()));
    let tenant = app.tenant_id.clone().unwrap();
    bandpool_services::metered::set_contract(
        &app.state,
        &tenant,
        &bandpool_services::metered::Contract {
            contract_id: "MELA-LOOP".into(),
            max_activations: 10,
            trial_ends_at: None,
        },
        vec![bandpool_domain::metered::Tier {
            name: "All".into(),
            from_mbps: 0,
        }],
    )
    .await
    .unwrap();
    let token = app.new_connector(&app.client, "dc-metered").await;
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(&app.base, token, dir.path()).await;
    let settings = FleetSettings {
        // Every check also sends a sample.
        usage_interval: Some(Duration::from_millis(1)),
        ..fleet(&agent, 3, "vlm-200", 9_500_000)
    };
    let fleet = Fleet::start(settings).await.unwrap();
    assert!(fleet.wait_until(WAIT, |s| s.licensed == 3).await.1);
    fleet.check_all_now().await;
    assert_eq!(fleet.snapshot().samples_sent, 3);
    let usage = || async {
        let (_, usage) = app.get_json("/api/v1/metered/usage").await;
        usage
    };
    eventually("three LoadMasters' samples in the month", || async {
        usage().await["loadmasters"] == 3
    })
    .await;
    let month = usage().await;
    assert_eq!(month["tier"]["name"], "All");
    assert!(
        month["usage_bytes_per_second"].as_i64().unwrap() > 0,
        "{month}"
    );

    let view = fleet.appliances().remove(0);
    let local = |body: Value| {
        reqwest::Client::new()
            .post(format!("http://{}/v1/usage", agent.local_addr()))
            .json(&body)
            .send()
    };
    let sample = |license: &str, serial: &str, tps: i64| {
        json!({ "license_id": license, "serial_no": serial, "sampled_at": app.clock.now_ts(),
                "bytes_in_per_second": 1, "bytes_out_per_second": 1, "ssl_tps": tps })
    };
    let license = view.license_id.clone().unwrap();
    let bad = local(sample(&license, &view.serial_no, -5)).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["parameter"], "ssl_tps");
    let unknown = local(sample(&license, "1", 5)).await.unwrap();
    assert_eq!(unknown.status(), 404);
    fleet.shutdown().await;
    agent.shutdown().await;
}

db_test!(
    metered_usage_through_the_connector,
    metered_usage_through_the_connector
);

/// Another tenant's connector cannot check, or get counted for, this tenant's LoadMaster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_connector_is_refused() {
    let db = TestDb::sqlite().await;
    let app = TestApp::spawn(&db, Seed::EmptyPool).await;
    let ours = app.new_connector(&app.client, "dc-east").await;
    let outsider = app.client_as(OUTSIDER).await;
    let theirs = app.new_connector(&outsider, "intruder").await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_agent(&app.base, ours, dir_a.path()).await;
    let b = start_agent(&app.base, theirs, dir_b.path()).await;
    let fleet = licensed_fleet(&a, 1, "vlm-200", 9_400_000).await;
    let view = fleet.appliances().remove(0);
    // The LoadMaster asks the other tenant's connector: unknown there, and the portal
    // refuses the relayed check, so nothing is counted and nothing changes.
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/check", b.local_addr()))
        .json(&json!({ "license_id": view.license_id, "serial_no": view.serial_no }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    eventually("b's report delivered", || async {
        b.queued_batches() == 0 && b.checks_delivered() >= 1
    })
    .await;
    assert_eq!(checks_counted(&app.db).await, 0);
    assert_eq!(b.license_status(view.license_id.as_deref().unwrap()), None);
    fleet.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    db.finish().await;
}
