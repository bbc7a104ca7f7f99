//! Bandpool's use cases, one function each, between the data layer (`bandpool-store`) and
//! the ways in: the portal's server functions (`app`), the REST API, the command line and
//! the background sweeps (`server`). Each entry point authorizes its caller, then calls the
//! same function here, so a rule lives in one place.
//!
//! - `change`: the skeleton of a request that changes something (write transaction, the
//!   change, its event, commit) and the one way to record an event.
//! - `licenses`: Kill License, Sync licenses.
//! - `connectors`: creating connectors, the LoadMaster inventory, connector health messages.
//! - `relay`: connector messages (registration, heartbeats, checks, activations,
//!   deactivations, commands and their acknowledgements).
//! - `tenants`: creating a tenant and inviting its Owner; invitations.
//! - `entitlements`: Sync entitlements (operator records or the upstream licensing
//!   service), an operator setting an entitlement.
//! - `applications`: mapping Virtual Services to applications.
//! - `notifications`: the tenant's channels, limit-crossing checks, messages by email and
//!   webhook, webhook delivery.
//! - `tokens`: API tokens.
//! - `people`: a person asking for a password reset.
//! - `mail`: outgoing email, through the outbox.
//! - `metered_report`: the MELA report, its graphs and its downloads; `metered_report_pdf`
//!   the same as a PDF.
//! - `metered_reporting`: automatic reporting to the vendor and the reporting grace.
//! - `charts`: chart geometry drawn to SVG.
//! - `secret`: secrets from settings, never shown by `Debug`.
//! - `reads`: what the pages and the REST API read, re-exported from the data layer so the
//!   entry points need no other crate.

pub mod applications;
pub mod change;
pub mod charts;
pub mod connectors;
pub mod entitlements;
pub mod licenses;
pub mod lifecycle;
pub mod mail;
pub mod metered;
pub mod metered_report;
pub mod metered_report_pdf;
pub mod metered_reporting;
pub mod notifications;
pub mod offline;
pub mod people;
pub mod reads;
pub mod relay;
pub mod secret;
pub mod tenants;
pub mod tokens;

pub use bandpool_store::events::Actor;
pub use bandpool_store::{Clock, Db, WriteTx};
pub use change::Event;
pub use secret::Secret;

use mail::Mailer;

/// What every use case runs on: the database, the clock, outgoing mail and HTTPS, and the
/// deployment's settings. Made once at start-up; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub clock: Clock,
    pub mailer: Mailer,
    /// Wakes this instance's mail sender.
    pub outbox: mail::Outbox,
    pub portal: Portal,
    pub connectors: ConnectorSettings,
    pub wakeups: Wakeups,
    /// Where Sync entitlements pulls from.
    pub entitlements: entitlements::EntitlementSource,
    /// Outbound HTTPS: the upstream licensing service and webhooks.
    pub outbound: notifications::Outbound,
    /// Where metered usage reports are uploaded (none: no vendor reporting service, so no
    /// uploads and no reporting grace).
    pub reporting: Option<metered_reporting::ReportingService>,
    /// The largest monthly usage report emailed as attachments; a larger one is emailed as
    /// links to the downloads (mail providers silently drop large messages).
    pub report_email_max_bytes: usize,
    /// The vendor's address, told of every change of a license's owner.
    pub vendor_email: Option<String>,
    /// The seed of the key that signs offline license texts, when a setting gives one
    /// (otherwise the deployment makes its own on first use and keeps it in the database).
    pub offline_signing_key: Option<Secret>,
    /// That key, once read (`offline::signing_key`).
    pub licensing_key:
        std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<ed25519_dalek::SigningKey>>>,
}

impl Services {
    pub fn now(&self) -> i64 {
        self.clock.now_ts()
    }
}

/// How the portal treats connectors (from settings).
#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    /// A connector silent this long is Down (its licenses enter their grace period).
    pub silence_secs: i64,
    /// How long Sync licenses waits for connectors to answer.
    pub sync_timeout_secs: i64,
    /// Raw usage samples older than this are refused and expired.
    pub sample_retention_secs: i64,
}

/// Wakes a connector's waiting command long-poll when a command is queued for it on this
/// instance (other instances' commands are found by the long-poll's own periodic look).
#[derive(Clone, Debug, Default)]
pub struct Wakeups(
    std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Notify>>>,
    >,
);

impl Wakeups {
    /// The connector's bell, made on first use.
    pub fn bell(&self, connector_id: &str) -> std::sync::Arc<tokio::sync::Notify> {
        let mut bells = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bells
            .entry(connector_id.to_string())
            .or_insert_with(|| std::sync::Arc::new(tokio::sync::Notify::new()))
            .clone()
    }

    pub fn ring(&self, connector_id: &str) {
        self.bell(connector_id).notify_waiters();
    }
}

/// How this deployment is reached and how people sign in to it.
#[derive(Clone, Debug)]
pub struct Portal {
    /// The address people use, without a trailing slash (`https://licenses.example.com`);
    /// emailed links start with it.
    pub public_url: String,
    /// Single sign-on is configured.
    pub sso: bool,
    /// Email + password accounts are on.
    pub local_accounts: bool,
}

impl Portal {
    pub fn link(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.public_url.trim_end_matches('/'),
            path_and_query
        )
    }
}
