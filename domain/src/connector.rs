//! The connector protocol: what a connector agent and the portal say to each other under
//! `/api/v1/connector/`, and what a LoadMaster says to its connector on the customer's
//! network. The agent (`connector/`), the appliance simulator (`simulator/`) and the portal
//! (`server/src/api/connector.rs`) all speak through these types, so none can drift.
//!
//! The connector only ever dials out. It registers once with a one-time registration token
//! and gets its own credential (`Authorization: Connector <credential>`); then it sends
//! heartbeats, relays check reports (many LoadMasters per request), activations and
//! deactivations, and long-polls for commands (kill, sync), which it acknowledges. Every
//! message that changes something carries an idempotency key: a retry or a replay changes
//! nothing twice.

use crate::license::LicenseStatus;
use crate::names::is_plain_text;
use serde::{Deserialize, Serialize};

/// A connector credential starts with this (a registration token with `REGISTRATION_PREFIX`).
pub const CREDENTIAL_PREFIX: &str = "bpc_";
pub const REGISTRATION_PREFIX: &str = "bpr_";
/// The HTTP auth scheme a connector sends its credential with.
pub const AUTH_SCHEME: &str = "Connector";
/// At most this many LoadMaster checks in one report.
pub const MAX_CHECKS_PER_REPORT: usize = 1_000;
/// A registration token works for this long after the portal shows it.
pub const REGISTRATION_HOURS: i64 = 24;
/// The longest a command long-poll waits before answering with no commands.
pub const MAX_WAIT_SECONDS: u64 = 30;
/// Idempotency keys: 8 to 100 characters of letters, digits, `-`, `_`, `.` or `:`.
pub const MAX_KEY_LEN: usize = 100;

/// Whether an idempotency key is well formed (UUIDs and `agent-123:456` both are).
pub fn valid_key(key: &str) -> bool {
    (8..=MAX_KEY_LEN).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Up or Down: a connector that has been silent longer than the portal's setting is Down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ConnectorStatus {
    /// Created in the portal; no agent has registered with its token yet.
    Pending,
    Up,
    Down,
}

stored_as_key!(ConnectorStatus, "connector status");

impl ConnectorStatus {
    pub fn key(self) -> &'static str {
        match self {
            ConnectorStatus::Pending => "pending",
            ConnectorStatus::Up => "up",
            ConnectorStatus::Down => "down",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [
            ConnectorStatus::Pending,
            ConnectorStatus::Up,
            ConnectorStatus::Down,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectorStatus::Pending => "Waiting for its agent",
            ConnectorStatus::Up => "Up",
            ConnectorStatus::Down => "Down",
        }
    }
}

/// POST /api/v1/connector/register (no credential yet: the body carries the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    pub registration_token: String,
    /// The agent's version, for the Connectors page.
    pub version: String,
    /// The address LoadMasters reach the agent at (`http://10.0.0.5:8470`).
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    pub connector_id: String,
    pub name: String,
    /// Shown once; the portal keeps only its hash.
    pub credential: String,
}

/// POST /api/v1/connector/heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    pub version: String,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub connector_id: String,
    pub status: ConnectorStatus,
    /// The portal's clock (Unix seconds), so an agent can tell its own clock's drift.
    pub server_time: i64,
    /// An Owner or Admin asked for the connector's diagnostics: run them and send the results
    /// (`POST /api/v1/connector/diagnostics`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_diagnostics: bool,
}

/// What a connector's diagnostics try: the licensing guide's troubleshooting checks, run by
/// the agent from the customer's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticTarget {
    DefaultGateway,
    DnsServer,
    /// The portal: the licensing server the connector relays to.
    Portal,
}

impl DiagnosticTarget {
    pub fn key(self) -> &'static str {
        match self {
            DiagnosticTarget::DefaultGateway => "default_gateway",
            DiagnosticTarget::DnsServer => "dns_server",
            DiagnosticTarget::Portal => "portal",
        }
    }

    /// The guide's words for the check.
    pub fn label(self) -> &'static str {
        match self {
            DiagnosticTarget::DefaultGateway => "Ping Default Gateway",
            DiagnosticTarget::DnsServer => "Ping DNS Servers",
            DiagnosticTarget::Portal => "Ping Licensing Server",
        }
    }
}

/// How one check was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticMethod {
    /// An ICMP echo request (ping).
    Icmp,
    /// A TCP connection (DNS on port 53, the portal on its port), where the agent may not
    /// send ICMP.
    Tcp,
    /// Nothing could be tried (no default route, no DNS server configured).
    None,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiagnosticCheck {
    pub target: DiagnosticTarget,
    /// The address tried (`10.0.0.1`, or the portal's `host:port`).
    pub address: String,
    pub method: DiagnosticMethod,
    pub ok: bool,
    /// The round trip, in microseconds, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_micros: Option<u64>,
    /// What happened, for a person.
    pub message: String,
}

/// The most checks one report may carry (a gateway, a few DNS servers, the portal).
pub const MAX_DIAGNOSTIC_CHECKS: usize = 16;

/// POST /api/v1/connector/diagnostics: the agent's results, after the portal asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiagnosticsReport {
    pub checks: Vec<DiagnosticCheck>,
}

/// A connector's diagnostics as the Connectors page shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectorDiagnostics {
    /// When they were last asked for (Unix seconds UTC); the agent runs them at its next
    /// heartbeat.
    pub requested_at: Option<i64>,
    /// When the last results arrived.
    pub ran_at: Option<i64>,
    pub checks: Vec<DiagnosticCheck>,
}

impl ConnectorDiagnostics {
    /// Asked for and not answered yet.
    pub fn waiting(&self) -> bool {
        match (self.requested_at, self.ran_at) {
            (Some(asked), Some(ran)) => ran < asked,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

impl DiagnosticCheck {
    /// One line for a person: "Ping DNS Servers 10.0.0.2: answered in 0.4 ms (ICMP)".
    pub fn line(&self) -> String {
        format!("{} {}: {}", self.target.label(), self.address, self.message)
    }
}

/// POST /api/v1/connector/checks: the periodic license checks of many LoadMasters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckReport {
    pub idempotency_key: String,
    pub checks: Vec<LicenseCheck>,
}

/// One LoadMaster's periodic check, as the connector received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseCheck {
    pub license_id: String,
    pub serial_no: String,
    /// When the LoadMaster checked (Unix seconds); a queued check arrives later.
    pub checked_at: i64,
    /// Its HA partner and GEO partners, as the LoadMaster names them (absent: not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<Partners>,
}

/// A LoadMaster's partners by serial number: the other unit of its HA pair, and the
/// LoadMasters it shares GEO with. An HA pair counts as one asset; GEO partners count apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Partners {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha_partner_serial: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geo_partner_serials: Vec<String>,
}

/// The most GEO partners a LoadMaster may name.
pub const MAX_GEO_PARTNERS: usize = 16;

impl Partners {
    /// The partners checked for the LoadMaster with serial `own`: serial numbers of 1 to 64
    /// characters, not its own, at most `MAX_GEO_PARTNERS` GEO partners (repeats dropped);
    /// a refusal names the field.
    pub fn checked(&self, own: &str) -> Result<Partners, crate::AppError> {
        let serial = |field: &str, s: &str| -> Result<String, crate::AppError> {
            let s = s.trim();
            if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
                return Err(crate::AppError::invalid(
                    field,
                    "must be a serial number of 1 to 64 characters",
                ));
            }
            if s == own.trim() {
                return Err(crate::AppError::invalid(
                    field,
                    "must be another LoadMaster's serial number, not its own",
                ));
            }
            Ok(s.to_string())
        };
        let ha_partner_serial = self
            .ha_partner_serial
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| serial("ha_partner_serial", s))
            .transpose()?;
        if self.geo_partner_serials.len() > MAX_GEO_PARTNERS {
            return Err(crate::AppError::invalid(
                "geo_partner_serials",
                format!("at most {MAX_GEO_PARTNERS} GEO partners"),
            ));
        }
        let mut geo_partner_serials = Vec::new();
        for (i, s) in self.geo_partner_serials.iter().enumerate() {
            if s.trim().is_empty() {
                continue;
            }
            let s = serial(&format!("geo_partner_serials[{i}]"), s)?;
            if !geo_partner_serials.contains(&s) {
                geo_partner_serials.push(s);
            }
        }
        Ok(Partners {
            ha_partner_serial,
            geo_partner_serials,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckReportResponse {
    pub results: Vec<CheckResult>,
}

/// The portal's answer for one check, in the order of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub license_id: String,
    /// `None`: not a license this connector issued (unknown, another tenant's, another
    /// connector's); `refused` holds the code that applies.
    pub status: Option<LicenseStatus>,
    pub grace_period_end: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refused: Option<String>,
}

/// POST /api/v1/connector/activations: a LoadMaster asks for a license from the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivationRequest {
    pub idempotency_key: String,
    pub serial_no: String,
    pub device_name: String,
    pub ip_address: String,
    /// The licensing identifier of the LoadMaster's image (`VLM-SPLA`).
    pub sku: String,
    /// The license type asked for (`vlm-5000`).
    pub license_type_id: String,
    /// Who a metered LoadMaster is; absent from pooled LoadMasters and older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appliance: Option<ApplianceIdentity>,
    /// What kind of license it asks for (absent: one from the pool, as before).
    #[serde(flatten)]
    pub ask: LicenseAsk,
}

/// The kind of license a LoadMaster asks for, and the order it draws on: part of the
/// activation (the agent passes it on as the LoadMaster sent it). Every field may be left
/// out: a pooled license.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseAsk {
    /// `pooled` (the default), `permanent` (from an order), `temporary` (30 days) or `trial`
    /// (30 days of VLM-MAX with Enterprise Plus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::lifecycle::LicenseKind>,
    /// The vendor's Order ID: needed the first time a LoadMaster takes a permanent license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// A Pay As You Go instance from a cloud marketplace: its licenses are permanent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub payg: bool,
}

/// What a metered LoadMaster says about itself when it activates (the Activations table
/// shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplianceIdentity {
    /// Twelve hexadecimal digits, with or without `:` or `-` between the pairs.
    pub mac_address: String,
    /// The firmware version (`7.2.40.0.15619.RELEASE`).
    pub firmware_version: String,
    /// When it booted (Unix seconds UTC).
    pub booted_at: i64,
    /// The hypervisor it runs on (`VMWARE`, `HYPERV`, `KVM`, ...).
    pub hypervisor: String,
    /// It holds a license from another licensing server (a metered trial refuses it).
    #[serde(default)]
    pub licensed_elsewhere: bool,
}

impl ApplianceIdentity {
    /// The identity checked against the portal's clock `now`, its MAC address as twelve
    /// lower-case digits and its hypervisor in capitals; a refusal names the field.
    pub fn checked(&self, now: i64) -> Result<ApplianceIdentity, crate::AppError> {
        use crate::AppError;
        let digits: String = self
            .mac_address
            .trim()
            .chars()
            .filter(|c| !matches!(c, ':' | '-'))
            .collect();
        if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AppError::invalid(
                "appliance.mac_address",
                "must be twelve hexadecimal digits (00:50:56:84:7d:ab or 005056847dab)",
            ));
        }
        let text = |field: &str, value: &str, max: usize| {
            if value.trim().is_empty() || !is_plain_text(value, max) {
                Err(AppError::invalid(
                    field,
                    format!("must be 1 to {max} plain characters"),
                ))
            } else {
                Ok(value.trim().to_string())
            }
        };
        let firmware_version = text("appliance.firmware_version", &self.firmware_version, 40)?;
        let hypervisor = text("appliance.hypervisor", &self.hypervisor, 40)?.to_uppercase();
        if self.booted_at < 0 || self.booted_at > now + crate::metered::MAX_CLOCK_AHEAD_SECONDS {
            return Err(AppError::invalid(
                "appliance.booted_at",
                "must be a Unix time no later than the portal's clock",
            ));
        }
        Ok(ApplianceIdentity {
            mac_address: digits.to_lowercase(),
            firmware_version,
            booted_at: self.booted_at,
            hypervisor,
            licensed_elsewhere: self.licensed_elsewhere,
        })
    }
}

/// A granted license (the activation's answer, the same for a replay of the same key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Activation {
    pub license_id: String,
    pub license_name: String,
    pub bandwidth_mbps: i64,
    pub ssl_tps: i64,
    pub status: LicenseStatus,
    pub activated_at: i64,
    /// Absent from the answers of portals before license kinds (read as pooled).
    #[serde(default = "pooled")]
    pub kind: crate::lifecycle::LicenseKind,
    /// When a temporary or trial license (or an order's term) ends: the LoadMaster stops then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Support and feature subscriptions, each with its expiration date (none: Classic).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<crate::lifecycle::Subscription>,
}

fn pooled() -> crate::lifecycle::LicenseKind {
    crate::lifecycle::LicenseKind::Pooled
}

/// POST /api/v1/connector/deactivations: a LoadMaster gives its license back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeactivationRequest {
    pub idempotency_key: String,
    pub license_id: String,
    pub serial_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Deactivation {
    pub license_id: String,
    pub status: LicenseStatus,
}

/// GET /api/v1/connector/commands?wait=N: what the portal asks of the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CommandBatch {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Command {
    /// Also the command's idempotency key: acknowledging it twice is harmless.
    pub id: String,
    pub issued_at: i64,
    #[serde(flatten)]
    pub kind: CommandKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum CommandKind {
    /// Disable the LoadMaster holding this license: the license was killed in the portal.
    Kill {
        license_id: String,
        serial_no: String,
    },
    /// Report the current state of every LoadMaster this connector serves.
    Sync { run_id: String },
}

/// POST /api/v1/connector/commands/{id}/ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum CommandAck {
    /// The command was carried out (a kill: the LoadMaster will be told at its next check).
    Done,
    /// A sync's answer: every LoadMaster the connector knows.
    Sync { appliances: Vec<ApplianceState> },
    /// The command could not be carried out.
    Failed { reason: String },
}

/// A LoadMaster as its connector sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplianceState {
    pub license_id: String,
    pub serial_no: String,
    pub state: ApplianceLicense,
    /// When it last checked (Unix seconds).
    pub last_check_at: Option<i64>,
    /// Its Virtual Services, as it last reported them; absent when it never did (an
    /// absent list leaves the portal's record as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_services: Option<Vec<ReportedVirtualService>>,
}

/// A Virtual Service as a LoadMaster reports it: its name and `address:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportedVirtualService {
    pub name: String,
    pub address: String,
}

impl ReportedVirtualService {
    /// At most this many per LoadMaster are taken from a report.
    pub const MAX_PER_LOADMASTER: usize = 1000;

    pub fn is_valid(&self) -> bool {
        let text = |s: &str, max: usize| !s.trim().is_empty() && is_plain_text(s, max);
        text(&self.name, 100) && text(&self.address, 64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ApplianceLicense {
    /// Licensed and running.
    Licensed,
    /// Disabled by a kill.
    Killed,
}

/// A connector as the Connectors page shows it.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectorView {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ConnectorStatus,
    /// The address its LoadMasters reach it at, as its agent last reported.
    #[cfg_attr(feature = "ssr", sqlx(rename = "ip_address"))]
    pub address: Option<String>,
    pub version: Option<String>,
    /// When its agent last called, as Unix seconds UTC.
    pub last_seen_at: Option<i64>,
    /// When it went Down, as Unix seconds UTC.
    pub down_since: Option<i64>,
    pub created_at: i64,
    /// Until when its registration token works (while it is Pending).
    pub registration_expires_at: Option<i64>,
    /// LoadMasters holding a license (Active or Grace Period) through it.
    #[cfg_attr(feature = "ssr", sqlx(rename = "licensed", try_from = "i64"))]
    pub licensed_loadmasters: u64,
    /// Its network diagnostics: when last asked for, and the last results.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub diagnostics: ConnectorDiagnostics,
}

/// A LoadMaster of the device inventory.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    pub name: String,
    pub ip_address: String,
    pub serial_no: String,
    /// Blocked LoadMasters cannot take a license from the pool.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::Flag"))]
    pub blocked: bool,
    /// The connector it was licensed through.
    pub connector: Option<String>,
    /// The license it holds from the pool (Active or Grace Period), if any: it cannot be
    /// removed from the inventory before that license is killed.
    #[cfg_attr(feature = "ssr", sqlx(rename = "pooled"))]
    pub pooled_license_id: Option<String>,
    /// The serial number of its HA partner, if it has one in the inventory.
    pub ha_partner_serial: Option<String>,
    /// The serial numbers of its GEO partners in the inventory.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub geo_partner_serials: Vec<String>,
}

/// One page of the device inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePage {
    pub devices: Vec<Device>,
    pub page: u32,
    pub has_more: bool,
}

/// A connector just created: its registration token is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedConnector {
    pub connector: ConnectorView,
    pub registration_token: String,
}

/// Kill License's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KillOutcome {
    pub license: crate::license::License,
    /// It was killed before: nothing changed.
    pub already_killed: bool,
    /// The kill waits for the license's connector, which will disable the LoadMaster.
    pub relayed_to: Option<String>,
}

/// One Sync licenses run: which connectors were asked, which answered, what differed.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub id: String,
    pub started_at: i64,
    pub deadline_at: i64,
    /// Unset while it runs.
    pub finished_at: Option<i64>,
    /// Read on their own (a row each).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub connectors: Vec<SyncConnector>,
    /// Read on their own (a row each).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub drift: Vec<Drift>,
}

impl SyncRun {
    pub fn running(&self) -> bool {
        self.finished_at.is_none()
    }

    /// Connectors asked that did not answer (in time, once it finished).
    pub fn silent(&self) -> Vec<&str> {
        self.connectors
            .iter()
            .filter(|c| c.answered_at.is_none())
            .map(|c| c.name.as_str())
            .collect()
    }
}

#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncConnector {
    pub connector_id: String,
    pub name: String,
    pub answered_at: Option<i64>,
}

/// A difference between the portal and a connector that a sync found.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Drift {
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: DriftKind,
    /// The connector's name.
    #[cfg_attr(feature = "ssr", sqlx(rename = "name"))]
    pub connector: Option<String>,
    pub license_id: Option<String>,
    pub serial_no: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DriftKind {
    /// Killed here but still licensed there: the kill was sent again.
    KillResent,
    /// Licensed there but unknown here: the user should look.
    UnknownHere,
    /// Both know it, with different statuses.
    StatusMismatch,
}

stored_as_key!(DriftKind, "drift kind");

impl DriftKind {
    pub fn key(self) -> &'static str {
        match self {
            DriftKind::KillResent => "kill_resent",
            DriftKind::UnknownHere => "unknown_here",
            DriftKind::StatusMismatch => "status_mismatch",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [
            DriftKind::KillResent,
            DriftKind::UnknownHere,
            DriftKind::StatusMismatch,
        ]
        .into_iter()
        .find(|k| k.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            DriftKind::KillResent => "Killed here, still licensed there: kill sent again",
            DriftKind::UnknownHere => "Licensed there, unknown here",
            DriftKind::StatusMismatch => "Status differs",
        }
    }
}

/// The local API a connector agent offers the LoadMasters of its network.
pub mod appliance {
    use crate::license::LicenseStatus;
    use serde::{Deserialize, Serialize};

    /// POST /v1/activate on the agent.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ActivateRequest {
        pub serial_no: String,
        pub device_name: String,
        pub ip_address: String,
        pub sku: String,
        pub license_type_id: String,
        /// Who a metered LoadMaster is (passed on to the portal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub appliance: Option<super::ApplianceIdentity>,
        /// The kind of license and the order (passed on to the portal).
        #[serde(flatten)]
        pub ask: super::LicenseAsk,
    }

    /// POST /v1/check on the agent: a LoadMaster's periodic check.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CheckRequest {
        pub license_id: String,
        pub serial_no: String,
        /// Its HA partner and GEO partners (passed on to the portal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub partners: Option<super::Partners>,
        /// The LoadMaster's Virtual Services (the connector passes them on when the portal
        /// asks for a sync).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub virtual_services: Option<Vec<super::ReportedVirtualService>>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CheckResponse {
        pub license_id: String,
        /// What the connector last heard from the portal; `Killed`: disable yourself.
        pub status: LicenseStatus,
        pub grace_period_end: Option<i64>,
        /// Where the LoadMaster should send its next check (the connector's address
        /// changed: the LoadMaster's Host setting follows it).
        pub connector_url: String,
    }

    /// POST /v1/deactivate on the agent.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct DeactivateRequest {
        pub license_id: String,
        pub serial_no: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(valid_key("0b6f9c1e-5c2d-4d0e-9a43-3f8f3f0e7e11"));
        assert!(valid_key("agent-1:42"));
        assert!(!valid_key("short"));
        assert!(!valid_key("has space in it"));
        assert!(!valid_key(&"x".repeat(101)));
    }

    #[test]
    fn commands_travel_as_tagged_json() {
        let command = Command {
            id: "c1".into(),
            issued_at: 5,
            kind: CommandKind::Kill {
                license_id: "l1".into(),
                serial_no: "1000001".into(),
            },
        };
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["type"], "kill");
        assert_eq!(json["license_id"], "l1");
        let back: Command = serde_json::from_value(json).unwrap();
        assert_eq!(back, command);
        let ack = serde_json::to_value(CommandAck::Sync { appliances: vec![] }).unwrap();
        assert_eq!(ack["result"], "sync");
    }
}
