//! The tenant's communication channels (email recipients, a signed webhook), the messages
//! they carry (limit crossings, connector health, kills) and webhook delivery.

use bandpool_domain::billing::LimitKind;
use bandpool_domain::AppError;
use std::time::Duration;

use crate::change::{Caller, Event, Scope};
use crate::{Actor, Services, WriteTx};

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

// ---- channels and messages ----

/// Set the tenant's channels; returns the webhook's new signing secret when one was made
/// (shown once).
pub async fn set_channels(
    services: &Services,
    caller: &Caller,
    email_recipients: &str,
    webhook_url: Option<&str>,
    rotate_secret: bool,
) -> Result<Option<String>, AppError> {
    let recipients = bandpool_store::notifications::parse_recipients(email_recipients)?;
    services
        .change(caller.scope(), async |tx| {
            let secret = bandpool_store::notifications::set_channels(
                tx,
                caller.tenant_id(),
                &recipients,
                webhook_url,
                rotate_secret,
                services.outbound.allow_private,
                services.now(),
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
            Ok((
                secret,
                Some(Event::new("channels_changed", "notifications", detail)),
            ))
        })
        .await
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

/// Send a message on the tenant's channels: an email to each recipient and a webhook
/// delivery, both queued in one transaction (the mail sender and the delivery sweep send
/// them, retrying with backoff). Failures are logged, never the error of what caused the
/// message.
pub async fn send(services: &Services, tenant_id: &str, message: Message) {
    let queued = async {
        let mut tx = services.db.begin_write().await?;
        queue(services, &mut tx, tenant_id, &message).await?;
        tx.commit().await
    }
    .await;
    match queued {
        Ok(()) => services.outbox.wake(),
        Err(error) => {
            tracing::warn!(%error, tenant_id, "message to the tenant's channels not queued")
        }
    }
}

/// Queue a message on the tenant's channels inside `tx` (the transaction of the change it
/// tells of); wake the outbox once it committed.
async fn queue(
    services: &Services,
    tx: &mut WriteTx,
    tenant_id: &str,
    message: &Message,
) -> Result<(), AppError> {
    // Read on the transaction's own connection (it may hold the pool lock).
    let targets = bandpool_store::notifications::targets(&mut *tx, tenant_id).await?;
    for to in &targets.email_recipients {
        crate::mail::queue(
            services,
            tx,
            Some(tenant_id),
            to,
            &message.subject,
            &message.text,
        )
        .await?;
    }
    if let Some((url, _)) = targets.webhook {
        let ts = services.now();
        let payload = serde_json::json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "event": message.event,
            "tenant_id": tenant_id,
            "occurred_at": ts,
            "summary": message.subject,
            "data": message.data,
        });
        bandpool_store::notifications::enqueue_webhook(
            tx,
            tenant_id,
            message.event,
            &url,
            &payload.to_string(),
            ts,
        )
        .await?;
    }
    Ok(())
}

/// Compare usage with the limits and send one message per crossing: when a limit becomes
/// reached (not on every check while it stays reached), and again only after it dropped
/// below and was reached again.
pub async fn check_limits(services: &Services, tenant_id: &str) {
    if let Err(error) = check_limits_now(services, tenant_id).await {
        tracing::warn!(%error, tenant_id, "limits not checked");
    }
}

async fn check_limits_now(services: &Services, tenant_id: &str) -> Result<(), AppError> {
    // The pool lock is held while usage is read and the crossings recorded: no change to the
    // pool commits in between, and a reading never overwrites a newer one.
    let mut tx = services.db.begin_write().await?;
    tx.lock_pool(tenant_id).await?;
    // Read on the transaction's own connection: taking another from the pool while holding
    // the lock could wait forever behind requests that wait for the lock.
    let usage = bandpool_store::billing::limit_figures(&mut tx, tenant_id).await?;
    let ts = services.now();
    let system = Actor::system("portal");
    let scope = Scope {
        actor: &system,
        tenant_id: Some(tenant_id),
    };
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
        let action = if reached {
            "limit_reached"
        } else {
            "limit_cleared"
        };
        services
            .record(
                &mut tx,
                &scope,
                &Event::new(action, kind.key(), words.clone()),
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
                    services.portal.link("/usage-and-billing"),
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
    // Each crossing's message is queued with the crossing itself: told once, and never lost.
    for message in &messages {
        queue(services, &mut tx, tenant_id, message).await?;
    }
    tx.commit().await?;
    if !messages.is_empty() {
        services.outbox.wake();
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
pub async fn deliver_webhooks(services: &Services) -> Result<usize, AppError> {
    let due =
        bandpool_store::notifications::due_webhooks(&services.db, services.now(), 100).await?;
    for delivery in &due {
        let outcome = match &delivery.secret {
            None => Err(
                "the webhook was turned off or moved to another address since; not sent"
                    .to_string(),
            ),
            Some(secret) => {
                let ts = services.now();
                let result = services
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
            metrics::counter!("bandpool_webhook_failures_total").increment(1);
        }
        if delivery.secret.is_none() {
            let reason = outcome.err().unwrap_or_default();
            tracing::info!(delivery = %delivery.id, "webhook message dropped: {reason}");
            bandpool_store::notifications::give_up(&services.db, &delivery.id, &reason).await?;
        } else {
            bandpool_store::notifications::record_attempt(
                &services.db,
                &delivery.id,
                outcome,
                services.now(),
            )
            .await?;
        }
    }
    Ok(due.len())
}

/// Email the tenant's Owners (Kill License tells them), through the outbox. A failure to
/// queue is logged, never an error of the action that caused it: the change is made and
/// recorded either way.
pub async fn notify_owners(services: &Services, tenant_id: &str, subject: &str, body: &str) {
    let queued = async {
        let mut tx = services.db.begin_write().await?;
        for owner in bandpool_store::accounts::owner_emails(&mut tx, tenant_id).await? {
            crate::mail::queue(services, &mut tx, Some(tenant_id), &owner, subject, body).await?;
        }
        tx.commit().await
    }
    .await;
    match queued {
        Ok(()) => services.outbox.wake(),
        Err(error) => tracing::warn!(%error, tenant_id, subject, "email to the Owners not queued"),
    }
}
