//! Server-only: Usage and billing's actions, shared by the server functions and the REST
//! API. Sync entitlements (from the operator's records or an upstream licensing service over
//! HTTPS), application mapping, the tenant's communication channels, and the messages they
//! carry: limit crossings and connector health, by email and by signed webhook.

use crate::state::AppState;
use bandpool_domain::billing::{
    Entitlement, EntitlementSourceKind, EntitlementSync, LimitKind, UsageOverview,
};
use bandpool_domain::AppError;
use bandpool_store::events::{Actor, NewEvent};
use std::time::Duration;

/// Where entitlements come from (settings).
#[derive(Clone, Debug)]
pub enum EntitlementSource {
    /// The operator's own records: what an operator sets is what applies.
    Operator,
    /// `GET {url}/v1/entitlements/{progress_id}` with `Authorization: Bearer {token}`.
    Upstream {
        url: String,
        token: String,
        timeout: Duration,
    },
}

impl EntitlementSource {
    pub fn kind(&self) -> EntitlementSourceKind {
        match self {
            EntitlementSource::Operator => EntitlementSourceKind::Operator,
            EntitlementSource::Upstream { .. } => EntitlementSourceKind::Upstream,
        }
    }
}

/// Outbound HTTPS (the upstream licensing service, webhooks).
#[derive(Clone, Debug)]
pub struct Outbound {
    pub client: reqwest::Client,
    /// Webhooks to this machine and private networks are allowed (tests, on-premises receivers).
    pub allow_private: bool,
}

impl Outbound {
    /// A client that also trusts the PEM certificates in `extra_ca_pem` (a private CA).
    pub fn new(extra_ca_pem: Option<&[u8]>, allow_private: bool) -> Result<Outbound, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("Bandpool/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = extra_ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("the extra CA file is not PEM certificates: {e}"))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Outbound {
            client: builder.build().map_err(|e| e.to_string())?,
            allow_private,
        })
    }
}

fn now(state: &AppState) -> i64 {
    state.clock.now_ts()
}

async fn event(
    state: &AppState,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    record(&mut tx, state, tenant_id, actor, action, target, detail).await?;
    tx.commit().await
}

/// Record an event in the transaction that makes the change it tells of.
async fn record(
    tx: &mut bandpool_store::WriteTx,
    state: &AppState,
    tenant_id: &str,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), AppError> {
    bandpool_store::events::record(
        tx,
        NewEvent {
            tenant_id: Some(tenant_id),
            at_ms: state.clock.now().timestamp_millis(),
            actor,
            action,
            target,
            detail,
        },
    )
    .await
}

/// The Usage and billing page's figures.
pub async fn overview(state: &AppState, tenant_id: &str) -> Result<UsageOverview, AppError> {
    bandpool_store::billing::fail_stale_syncs(&state.db, tenant_id, now(state), stale_after(state))
        .await?;
    bandpool_store::billing::overview(&state.db, tenant_id, state.entitlements.kind()).await
}

/// A Sync entitlements run as it stands (one its instance abandoned reads as failed).
pub async fn entitlement_sync(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> Result<EntitlementSync, AppError> {
    bandpool_store::billing::fail_stale_syncs(&state.db, tenant_id, now(state), stale_after(state))
        .await?;
    bandpool_store::billing::sync(&state.db, tenant_id, id).await
}

/// A run still "running" this long after it started was abandoned (its instance stopped).
fn stale_after(state: &AppState) -> i64 {
    match &state.entitlements {
        EntitlementSource::Operator => 60,
        EntitlementSource::Upstream { timeout, .. } => timeout.as_secs() as i64 + 60,
    }
}

// ---- Sync entitlements ----

/// Start Sync entitlements. From the operator's records it finishes at once; from an
/// upstream service it runs in the background and the page follows it. A sync already
/// running is answered instead of starting another.
pub async fn start_entitlement_sync(
    state: &AppState,
    actor: &Actor,
    tenant_id: &str,
) -> Result<EntitlementSync, AppError> {
    let stale_after = stale_after(state);
    let mut tx = state.db.begin_write().await?;
    let (run, new) = bandpool_store::billing::start_sync(
        &mut tx,
        tenant_id,
        state.entitlements.kind(),
        now(state),
        stale_after,
    )
    .await?;
    if new {
        let from = match state.entitlements.kind() {
            EntitlementSourceKind::Operator => "from the operator's records",
            EntitlementSourceKind::Upstream => "from the licensing service",
        };
        record(
            &mut tx,
            state,
            tenant_id,
            actor,
            "entitlements_sync_started",
            "entitlements",
            from,
        )
        .await?;
    }
    tx.commit().await?;
    if !new {
        return Ok(run);
    }
    match state.entitlements {
        EntitlementSource::Operator => {
            run_entitlement_sync(
                state.clone(),
                actor.clone(),
                tenant_id.to_string(),
                run.id.clone(),
            )
            .await;
            bandpool_store::billing::sync(&state.db, tenant_id, &run.id).await
        }
        EntitlementSource::Upstream { .. } => {
            tokio::spawn(run_entitlement_sync(
                state.clone(),
                actor.clone(),
                tenant_id.to_string(),
                run.id.clone(),
            ));
            Ok(run)
        }
    }
}

/// Pull, apply, record. Every outcome ends the run (done or failed); nothing is applied on
/// failure.
async fn run_entitlement_sync(state: AppState, actor: Actor, tenant_id: String, run_id: String) {
    let outcome = async {
        let next = fetch_entitlement(&state, &tenant_id).await?;
        let mut tx = state.db.begin_write().await?;
        let changes =
            bandpool_store::billing::apply_entitlement(&mut tx, &tenant_id, &next, now(&state))
                .await
                .map_err(|error| match error {
                    AppError::InvalidParameter { parameter, reason } => {
                        AppError::EntitlementSourceFailed {
                            reason: format!(
                                "its answer is not a valid entitlement ({parameter} {reason})"
                            ),
                        }
                    }
                    other => other,
                })?;
        bandpool_store::billing::finish_sync(
            &mut tx,
            &tenant_id,
            &run_id,
            Ok(&changes),
            now(&state),
        )
        .await?;
        let detail = bandpool_domain::billing::describe_changes(&changes);
        record(
            &mut tx,
            &state,
            &tenant_id,
            &actor,
            "entitlements_synced",
            "entitlements",
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(error) = outcome {
        tracing::warn!(%error, tenant_id, "entitlement sync failed");
        let failed = async {
            let mut tx = state.db.begin_write().await?;
            bandpool_store::billing::finish_sync(
                &mut tx,
                &tenant_id,
                &run_id,
                Err(&error),
                now(&state),
            )
            .await?;
            tx.commit().await?;
            event(
                &state,
                &tenant_id,
                &actor,
                "entitlements_sync_failed",
                "entitlements",
                &error.to_string(),
            )
            .await
        }
        .await;
        if let Err(e) = failed {
            tracing::error!(error = %e, tenant_id, "could not record a failed entitlement sync");
        }
    }
    check_limits(&state, &tenant_id).await;
}

/// The latest entitlement from the configured source.
async fn fetch_entitlement(state: &AppState, tenant_id: &str) -> Result<Entitlement, AppError> {
    let current = bandpool_store::billing::entitlement(&state.db, tenant_id).await?;
    let EntitlementSource::Upstream {
        url,
        token,
        timeout,
    } = &state.entitlements
    else {
        // The operator's records are what applies: a sync re-reads them.
        return Ok(current);
    };
    let failed = |reason: String| AppError::EntitlementSourceFailed { reason };
    if current.progress_id.trim().is_empty() {
        return Err(failed(
            "this tenant has no Progress ID to look up; an operator sets it on the tenant".into(),
        ));
    }
    let mut address =
        reqwest::Url::parse(url).map_err(|e| failed(format!("its address is not a URL ({e})")))?;
    address
        .path_segments_mut()
        .map_err(|_| failed("its address cannot take a path".into()))?
        .pop_if_empty()
        .extend(["v1", "entitlements", current.progress_id.trim()]);
    let response = state
        .outbound
        .client
        .get(address)
        .bearer_auth(token)
        .timeout(*timeout)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                failed(format!(
                    "the licensing service did not answer within {} s",
                    timeout.as_secs()
                ))
            } else {
                tracing::warn!(error = %e, "licensing service unreachable");
                failed("the licensing service could not be reached".into())
            }
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(failed(format!(
            "the licensing service does not know Progress ID {}",
            current.progress_id.trim()
        )));
    }
    if !status.is_success() {
        return Err(failed(format!(
            "the licensing service answered HTTP {}",
            status.as_u16()
        )));
    }
    let body = tokio::time::timeout(*timeout, response.bytes())
        .await
        .map_err(|_| {
            failed(format!(
                "the licensing service did not answer within {} s",
                timeout.as_secs()
            ))
        })?
        .map_err(|_| failed("the licensing service's answer was cut off".into()))?;
    if body.len() > 1_000_000 {
        return Err(failed("the licensing service's answer is too large".into()));
    }
    serde_json::from_slice::<Entitlement>(&body).map_err(|e| {
        failed(format!(
            "its answer is not an entitlement ({})",
            e.to_string().chars().take(200).collect::<String>()
        ))
    })
}

/// An operator sets a tenant's entitlement (the operator source's records). It applies at
/// once; the change is in the event log.
pub async fn set_entitlement(
    state: &AppState,
    actor: &Actor,
    tenant_id: &str,
    next: &Entitlement,
) -> Result<Vec<bandpool_domain::billing::EntitlementChange>, AppError> {
    let mut tx = state.db.begin_write().await?;
    let changes =
        bandpool_store::billing::apply_entitlement(&mut tx, tenant_id, next, now(state)).await?;
    if !changes.is_empty() {
        let detail = bandpool_domain::billing::describe_changes(&changes);
        record(
            &mut tx,
            state,
            tenant_id,
            actor,
            "entitlement_changed",
            "entitlements",
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    check_limits(state, tenant_id).await;
    Ok(changes)
}

// ---- applications ----

/// What a change to applications asks.
#[derive(Debug, Clone)]
pub enum ApplicationChange {
    Create {
        name: String,
        virtual_service_ids: Vec<String>,
    },
    Map {
        application_id: String,
        virtual_service_id: String,
    },
    /// `application_id`: only if it is in this application.
    Unmap {
        application_id: Option<String>,
        virtual_service_id: String,
    },
    Delete {
        application_id: String,
    },
    QuickMap,
}

/// Change the tenant's applications; returns a sentence saying what was done.
pub async fn change_applications(
    state: &AppState,
    actor: &Actor,
    tenant_id: &str,
    change: ApplicationChange,
) -> Result<String, AppError> {
    let ts = now(state);
    let mut tx = state.db.begin_write().await?;
    let (action, target, said) = match &change {
        ApplicationChange::Create {
            name,
            virtual_service_ids,
        } => {
            if virtual_service_ids.len() > 1000 {
                return Err(AppError::invalid("virtual_service_ids", "too many"));
            }
            bandpool_store::billing::create_application(
                &mut tx,
                tenant_id,
                name,
                virtual_service_ids,
                ts,
            )
            .await?;
            (
                "application_created",
                name.trim().to_string(),
                format!(
                    "Application {} created with {} Virtual Service(s).",
                    name.trim(),
                    virtual_service_ids.len()
                ),
            )
        }
        ApplicationChange::Map {
            application_id,
            virtual_service_id,
        } => {
            bandpool_store::billing::map_virtual_service(
                &mut tx,
                tenant_id,
                application_id,
                virtual_service_id,
            )
            .await?;
            (
                "application_changed",
                application_id.clone(),
                "The Virtual Service was mapped.".to_string(),
            )
        }
        ApplicationChange::Unmap {
            application_id,
            virtual_service_id,
        } => {
            let app = bandpool_store::billing::unmap_virtual_service(
                &mut tx,
                tenant_id,
                application_id.as_deref(),
                virtual_service_id,
            )
            .await?;
            (
                "application_changed",
                app,
                "The Virtual Service was unmapped.".to_string(),
            )
        }
        ApplicationChange::Delete { application_id } => {
            let name =
                bandpool_store::billing::delete_application(&mut tx, tenant_id, application_id)
                    .await?;
            (
                "application_deleted",
                name.clone(),
                format!("Application {name} deleted; its Virtual Services are unmapped."),
            )
        }
        ApplicationChange::QuickMap => {
            let n = bandpool_store::billing::quick_map(&mut tx, tenant_id, ts).await?;
            (
                "applications_quick_mapped",
                "applications".to_string(),
                format!("{n} application(s) created, one per unmapped Virtual Service."),
            )
        }
    };
    record(&mut tx, state, tenant_id, actor, action, &target, &said).await?;
    tx.commit().await?;
    check_limits(state, tenant_id).await;
    Ok(said)
}

// ---- channels and messages ----

/// Set the tenant's channels; returns the webhook's new signing secret when one was made
/// (shown once).
pub async fn set_channels(
    state: &AppState,
    actor: &Actor,
    tenant_id: &str,
    email_recipients: &str,
    webhook_url: Option<&str>,
    rotate_secret: bool,
) -> Result<Option<String>, AppError> {
    let recipients = bandpool_store::notifications::parse_recipients(email_recipients)?;
    let mut tx = state.db.begin_write().await?;
    let secret = bandpool_store::notifications::set_channels(
        &mut tx,
        tenant_id,
        &recipients,
        webhook_url,
        rotate_secret,
        state.outbound.allow_private,
        now(state),
    )
    .await?;
    let detail = format!(
        "{} email recipient(s); webhook {}",
        recipients.len(),
        webhook_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or("off")
    );
    record(
        &mut tx,
        state,
        tenant_id,
        actor,
        "channels_changed",
        "notifications",
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// A message to the tenant's channels.
pub struct Message {
    /// The webhook's `event` (`license_capacity_limit_reached`, `connector_down`, ...).
    pub event: &'static str,
    pub subject: String,
    pub text: String,
    /// The webhook's `data`.
    pub data: serde_json::Value,
}

/// Send a message on the tenant's channels: an email to each recipient, and a webhook
/// delivery queued (the delivery sweep sends it, retrying with backoff). Failures are
/// logged, never the error of what caused the message.
pub async fn send(state: &AppState, tenant_id: &str, message: Message) {
    let targets = match bandpool_store::notifications::targets(&state.db, tenant_id).await {
        Ok(t) => t,
        Err(error) => {
            tracing::warn!(%error, tenant_id, "could not read the tenant's channels");
            return;
        }
    };
    for to in &targets.email_recipients {
        if let Err(error) = state.mailer.send(to, &message.subject, &message.text).await {
            tracing::warn!(%error, %to, subject = %message.subject, "notification email not sent");
        }
    }
    if let Some((url, _)) = targets.webhook {
        let ts = now(state);
        let payload = serde_json::json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "event": message.event,
            "tenant_id": tenant_id,
            "occurred_at": ts,
            "summary": message.subject,
            "data": message.data,
        });
        if let Err(error) = bandpool_store::notifications::enqueue_webhook(
            &state.db,
            tenant_id,
            message.event,
            &url,
            &payload.to_string(),
            ts,
        )
        .await
        {
            tracing::warn!(%error, tenant_id, "webhook message not queued");
        }
    }
}

/// Compare usage with the limits and send one message per crossing: when a limit becomes
/// reached (not on every check while it stays reached), and again only after it dropped
/// below and was reached again.
pub async fn check_limits(state: &AppState, tenant_id: &str) {
    if let Err(error) = check_limits_now(state, tenant_id).await {
        tracing::warn!(%error, tenant_id, "limits not checked");
    }
}

async fn check_limits_now(state: &AppState, tenant_id: &str) -> Result<(), AppError> {
    // The pool lock is held while usage is read and the crossings recorded: no change to the
    // pool commits in between, and a reading never overwrites a newer one.
    let mut tx = state.db.begin_write().await?;
    tx.lock_pool(tenant_id).await?;
    // Read on the transaction's own connection: taking another from the pool while holding
    // the lock could wait forever behind requests that wait for the lock.
    let usage = bandpool_store::billing::limit_figures(&mut tx, tenant_id).await?;
    let ts = now(state);
    let system = Actor::system("portal");
    let mut messages = Vec::new();
    for kind in LimitKind::ALL {
        let (figure, words) = match kind {
            LimitKind::LicenseCapacity => (
                &usage.capacity,
                format!(
                    "{} of {} Mb/s of license capacity are allocated",
                    usage.capacity.used, usage.capacity.total
                ),
            ),
            LimitKind::LoadMasters => (
                &usage.loadmasters,
                format!(
                    "{} of {} LoadMasters are licensed",
                    usage.loadmasters.used, usage.loadmasters.total
                ),
            ),
            LimitKind::Assets => (
                &usage.assets,
                format!(
                    "{} of {} assets are used",
                    usage.assets.used, usage.assets.total
                ),
            ),
        };
        let crossed = bandpool_store::notifications::limit_crossed(
            &mut tx,
            tenant_id,
            kind,
            figure.reached(),
            ts,
        )
        .await?;
        let Some(reached) = crossed else {
            continue;
        };
        record(
            &mut tx,
            state,
            tenant_id,
            &system,
            if reached {
                "limit_reached"
            } else {
                "limit_cleared"
            },
            kind.key(),
            &words,
        )
        .await?;
        if reached {
            messages.push(Message {
                event: kind.event(),
                subject: format!("{} for {}", kind.title(), usage.tenant_name),
                text: format!(
                    "{}: {words} ({}%).\n\nSee Usage and billing: {}\n",
                    kind.title(),
                    figure.percent,
                    state.portal.link("/usage-and-billing"),
                ),
                data: serde_json::json!({
                    "limit": kind.key(),
                    "used": figure.used,
                    "total": figure.total,
                    "percent": figure.percent,
                }),
            });
        }
    }
    tx.commit().await?;
    // Recorded once, sent after: a crossing is never told twice.
    for message in messages {
        send(state, tenant_id, message).await;
    }
    Ok(())
}

/// The header value a webhook receiver checks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the tenant's secret>`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Attempt every due webhook delivery once; returns how many were attempted.
pub async fn deliver_webhooks(state: &AppState) -> Result<usize, AppError> {
    let due = bandpool_store::notifications::due_webhooks(&state.db, now(state), 100).await?;
    for delivery in &due {
        let outcome = match &delivery.secret {
            None => Err(
                "the webhook was turned off or moved to another address since; not sent"
                    .to_string(),
            ),
            Some(secret) => {
                let ts = now(state);
                let result = state
                    .outbound
                    .client
                    .post(&delivery.url)
                    .timeout(Duration::from_secs(10))
                    .header("content-type", "application/json")
                    .header("x-bandpool-event", &delivery.event)
                    .header("x-bandpool-delivery", &delivery.id)
                    .header(
                        "x-bandpool-signature",
                        webhook_signature(secret, ts, &delivery.payload),
                    )
                    .body(delivery.payload.clone())
                    .send()
                    .await;
                match result {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!(
                        "the receiver answered HTTP {}",
                        r.status().as_u16()
                    )),
                    Err(e) if e.is_timeout() => {
                        Err("the receiver did not answer within 10 s".into())
                    }
                    Err(e) if e.is_connect() => Err("the receiver could not be reached".into()),
                    Err(e) => Err(format!("the request failed: {e}")),
                }
            }
        };
        if let Err(error) = &outcome {
            tracing::warn!(delivery = %delivery.id, tenant = %delivery.tenant_id, %error, "webhook delivery failed");
        }
        if delivery.secret.is_none() {
            let reason = outcome.err().unwrap_or_default();
            tracing::info!(delivery = %delivery.id, "webhook message dropped: {reason}");
            bandpool_store::notifications::give_up(&state.db, &delivery.id, &reason).await?;
        } else {
            bandpool_store::notifications::record_attempt(
                &state.db,
                &delivery.id,
                outcome,
                now(state),
            )
            .await?;
        }
    }
    Ok(due.len())
}
