//! A stand-in for the portal's connector API (`/api/v1/connector/...`), in memory, for
//! testing the connector agent and the simulator together without a database. It follows
//! the protocol in `bandpool_domain::connector` — idempotency keys replay, refusals carry
//! codes, commands stay pending until acknowledged — and can be taken down (every call
//! answers 503) or stopped outright (connections refused) and started again on its port.

#![allow(dead_code)]

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bandpool_domain::connector::*;
use bandpool_domain::license::LicenseStatus;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

pub const GOOD_TOKEN: &str = "bpr_good-token";
pub const CREDENTIAL: &str = "bpc_the-credential";
pub const CONNECTOR_ID: &str = "conn-1";

#[derive(Debug, Clone)]
pub struct License {
    pub serial_no: String,
    pub status: LicenseStatus,
    pub grace_period_end: Option<i64>,
}

#[derive(Default)]
pub struct Portal {
    /// Every call answers 503 (a portal restarting behind its proxy).
    pub down: bool,
    pub registrations: u32,
    pub token_used: bool,
    pub last_address: Option<String>,
    pub heartbeats: u32,
    /// Check reports taken, by idempotency key (a replay answers the same).
    pub reports: HashMap<String, CheckReportResponse>,
    /// Checks taken (each report counted once).
    pub checks_taken: usize,
    pub licenses: BTreeMap<String, License>,
    pub activations: HashMap<String, Activation>,
    /// LoadMasters allowed at once (0: no limit).
    pub instance_limit: usize,
    pub deactivated: Vec<String>,
    pub pending_commands: Vec<Command>,
    pub acks: Vec<(String, CommandAck)>,
}

pub struct StandIn {
    pub portal: Arc<Mutex<Portal>>,
    commands_added: Arc<Notify>,
    addr: SocketAddr,
    server: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

#[derive(Clone)]
struct App {
    portal: Arc<Mutex<Portal>>,
    commands_added: Arc<Notify>,
}

fn refuse(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": code, "message": format!("refused: {code}")})),
    )
        .into_response()
}

impl StandIn {
    pub async fn start() -> StandIn {
        let mut stand_in = StandIn {
            portal: Arc::default(),
            commands_added: Arc::default(),
            addr: "127.0.0.1:0".parse().unwrap(),
            server: None,
        };
        stand_in.serve().await;
        stand_in
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops listening: connections are refused until `serve` again.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Listens (again, on the same port after `stop`).
    pub async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("bind");
        self.addr = listener.local_addr().unwrap();
        let app = App {
            portal: self.portal.clone(),
            commands_added: self.commands_added.clone(),
        };
        let router = Router::new()
            .route("/api/v1/connector/register", post(register))
            .route("/api/v1/connector/heartbeat", post(heartbeat))
            .route("/api/v1/connector/checks", post(checks))
            .route("/api/v1/connector/activations", post(activations))
            .route("/api/v1/connector/deactivations", post(deactivations))
            .route("/api/v1/connector/commands", get(commands))
            .route("/api/v1/connector/commands/{id}/ack", post(ack))
            .with_state(app);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        self.server = Some((stop, task));
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Portal) -> T) -> T {
        f(&mut self.portal.lock().unwrap())
    }

    pub fn command(&self, kind: CommandKind) -> String {
        let id = format!("cmd-{}", uuid::Uuid::new_v4().simple());
        self.with(|p| {
            p.pending_commands.push(Command {
                id: id.clone(),
                issued_at: 0,
                kind,
            })
        });
        self.commands_added.notify_waiters();
        id
    }
}

fn authorised(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let portal = app.portal.lock().unwrap();
    if portal.down {
        return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    }
    let expected = format!("{AUTH_SCHEME} {CREDENTIAL}");
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v == expected => Ok(()),
        _ => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_connector_credential",
        )),
    }
}

async fn register(State(app): State<App>, Json(req): Json<RegisterRequest>) -> Response {
    let mut p = app.portal.lock().unwrap();
    if p.down {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    }
    if req.registration_token != GOOD_TOKEN || p.token_used {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_registration_token");
    }
    p.token_used = true;
    p.registrations += 1;
    p.last_address = req.address;
    (
        StatusCode::CREATED,
        Json(RegisterResponse {
            connector_id: CONNECTOR_ID.into(),
            name: "dc-east".into(),
            credential: CREDENTIAL.into(),
        }),
    )
        .into_response()
}

async fn heartbeat(State(app): State<App>, headers: HeaderMap, Json(beat): Json<Heartbeat>) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    let mut p = app.portal.lock().unwrap();
    p.heartbeats += 1;
    p.last_address = beat.address;
    Json(HeartbeatResponse {
        connector_id: CONNECTOR_ID.into(),
        status: ConnectorStatus::Up,
        server_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    })
    .into_response()
}

async fn checks(State(app): State<App>, headers: HeaderMap, Json(report): Json<CheckReport>) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    if !valid_key(&report.idempotency_key) || report.checks.len() > MAX_CHECKS_PER_REPORT {
        return refuse(StatusCode::BAD_REQUEST, "invalid_parameter");
    }
    let mut p = app.portal.lock().unwrap();
    if let Some(answer) = p.reports.get(&report.idempotency_key) {
        return Json(answer.clone()).into_response();
    }
    let results = report
        .checks
        .iter()
        .map(|c| match p.licenses.get(&c.license_id) {
            Some(l) if l.serial_no == c.serial_no => CheckResult {
                license_id: c.license_id.clone(),
                status: Some(l.status),
                grace_period_end: l.grace_period_end,
                refused: None,
            },
            _ => CheckResult {
                license_id: c.license_id.clone(),
                status: None,
                grace_period_end: None,
                refused: Some("unknown_license".into()),
            },
        })
        .collect();
    let answer = CheckReportResponse { results };
    p.checks_taken += report.checks.len();
    p.reports.insert(report.idempotency_key, answer.clone());
    Json(answer).into_response()
}

async fn activations(
    State(app): State<App>,
    headers: HeaderMap,
    Json(req): Json<ActivationRequest>,
) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    let mut p = app.portal.lock().unwrap();
    if let Some(done) = p.activations.get(&req.idempotency_key) {
        return (StatusCode::OK, Json(done.clone())).into_response();
    }
    if req.license_type_id != "vlm-200" {
        return refuse(StatusCode::BAD_REQUEST, "invalid_license_type");
    }
    let in_use = p
        .licenses
        .values()
        .filter(|l| l.status.holds_capacity())
        .count();
    if p.instance_limit > 0 && in_use >= p.instance_limit {
        return refuse(StatusCode::CONFLICT, "instance_limit_reached");
    }
    let license_id = format!("lic-{}", req.serial_no);
    p.licenses.insert(
        license_id.clone(),
        License {
            serial_no: req.serial_no.clone(),
            status: LicenseStatus::Active,
            grace_period_end: None,
        },
    );
    let activation = Activation {
        license_id,
        license_name: "VLM-200".into(),
        bandwidth_mbps: 200,
        ssl_tps: 500,
        status: LicenseStatus::Active,
        activated_at: 1_700_000_000,
    };
    p.activations
        .insert(req.idempotency_key, activation.clone());
    (StatusCode::CREATED, Json(activation)).into_response()
}

async fn deactivations(
    State(app): State<App>,
    headers: HeaderMap,
    Json(req): Json<DeactivationRequest>,
) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    let mut p = app.portal.lock().unwrap();
    p.licenses.remove(&req.license_id);
    p.deactivated.push(req.license_id.clone());
    Json(Deactivation {
        license_id: req.license_id,
        status: LicenseStatus::Killed,
    })
    .into_response()
}

#[derive(serde::Deserialize)]
struct Wait {
    wait: Option<u64>,
}

async fn commands(State(app): State<App>, headers: HeaderMap, Query(q): Query<Wait>) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let added = app.commands_added.notified();
        let pending = app.portal.lock().unwrap().pending_commands.clone();
        if !pending.is_empty() || tokio::time::Instant::now() >= deadline {
            return Json(CommandBatch { commands: pending }).into_response();
        }
        let _ = tokio::time::timeout_at(deadline, added).await;
    }
}

async fn ack(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(ack): Json<CommandAck>,
) -> Response {
    if let Err(r) = authorised(&app, &headers) {
        return r;
    }
    let mut p = app.portal.lock().unwrap();
    let before = p.pending_commands.len();
    p.pending_commands.retain(|c| c.id != id);
    if p.pending_commands.len() < before {
        p.acks.push((id, ack));
    }
    StatusCode::NO_CONTENT.into_response()
}
