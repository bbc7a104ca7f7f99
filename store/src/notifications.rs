//! A tenant's communication channels (email recipients, a webhook), which limits are reached
//! now (so a crossing is told once), and the webhook outbox with its retries.

use crate::args;
use crate::db::{Db, Read, WriteTx};
use crate::Result;
use bandpool_domain::auth::normalize_email;
use bandpool_domain::billing::{check_webhook_url, Channels, LimitKind, WebhookDelivery};
use bandpool_domain::AppError;
use sqlx::Row;

/// Where a tenant's messages go, with the webhook's signing secret (server-side only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelTargets {
    pub email_recipients: Vec<String>,
    pub webhook: Option<(String, String)>,
}

/// The webhook as stored: its URL and signing secret (none when it is off).
#[derive(sqlx::FromRow)]
struct StoredWebhook {
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
}

/// The channels as stored: the recipients one per line, and the webhook.
#[derive(sqlx::FromRow)]
struct StoredChannels {
    email_recipients: String,
    #[sqlx(flatten)]
    webhook: StoredWebhook,
}

pub async fn targets(mut on: impl Read, tenant_id: &str) -> Result<ChannelTargets> {
    let Some(row) = on
        .fetch_optional(
            "SELECT email_recipients, webhook_url, webhook_secret FROM notification_channels WHERE tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?
    else {
        // Never configured (a tenant from before channels existed): its Owners, as connector
        // emails always went to them.
        return Ok(ChannelTargets {
            email_recipients: crate::accounts::owner_emails(on, tenant_id).await?,
            webhook: None,
        });
    };
    let stored: StoredChannels = crate::db::row_as(&row)?;
    Ok(ChannelTargets {
        email_recipients: stored
            .email_recipients
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        webhook: stored
            .webhook
            .webhook_url
            .zip(stored.webhook.webhook_secret),
    })
}

pub async fn channels(db: &Db, tenant_id: &str) -> Result<Channels> {
    let t = targets(db, tenant_id).await?;
    Ok(Channels {
        email_recipients: t.email_recipients,
        webhook_secret_set: t.webhook.is_some(),
        webhook_url: t.webhook.map(|(url, _)| url),
    })
}

/// The recipients as typed (one per line, or separated by commas), checked and de-duplicated.
pub fn parse_recipients(text: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(['\n', ',', ';']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let email = normalize_email(part).map_err(|_| {
            AppError::invalid(
                "email_recipients",
                format!("{part} is not an email address"),
            )
        })?;
        if !out.contains(&email) {
            out.push(email);
        }
    }
    if out.len() > 50 {
        return Err(AppError::invalid(
            "email_recipients",
            "at most 50 recipients",
        ));
    }
    Ok(out)
}

/// Set the channels. A webhook URL that is new (or `rotate_secret`) gets a new signing
/// secret, returned so it can be shown once; no URL turns the webhook off.
pub async fn set_channels(
    tx: &mut WriteTx,
    tenant_id: &str,
    recipients: &[String],
    webhook_url: Option<&str>,
    rotate_secret: bool,
    allow_private: bool,
    now: i64,
) -> Result<Option<String>> {
    let webhook_url = webhook_url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(url) = webhook_url {
        check_webhook_url(url, allow_private)?;
    }
    let current = tx
        .fetch_optional(
            "SELECT webhook_url, webhook_secret FROM notification_channels WHERE tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?;
    let (old_url, old_secret) = match &current {
        Some(row) => {
            let old: StoredWebhook = crate::db::row_as(row)?;
            (old.webhook_url, old.webhook_secret)
        }
        None => (None, None),
    };
    let (secret, new_secret) = match webhook_url {
        None => (None, None),
        Some(url) if !rotate_secret && old_url.as_deref() == Some(url) && old_secret.is_some() => {
            (old_secret, None)
        }
        Some(_) => {
            let secret = crate::secret::generate("whsec_");
            (Some(secret.clone()), Some(secret))
        }
    };
    let values = args![
        tenant_id.to_string(),
        recipients.join("\n"),
        webhook_url.map(String::from),
        secret,
        now
    ];
    if current.is_some() {
        tx.execute(
            "UPDATE notification_channels SET email_recipients = $2, webhook_url = $3, webhook_secret = $4, updated_at = $5 WHERE tenant_id = $1",
            values,
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO notification_channels (tenant_id, email_recipients, webhook_url, webhook_secret, updated_at) VALUES ($1, $2, $3, $4, $5)",
            values,
        )
        .await?;
    }
    Ok(new_secret)
}

/// Record whether `kind` is reached now. Answers `Some(true)` only when it went from not
/// reached to reached (the moment a message is due), `Some(false)` when it cleared, `None`
/// when nothing changed. Callers hold the pool lock while they read usage and call this, so
/// a stale reading never overwrites a newer one; concurrent callers see one of them win.
pub async fn limit_crossed(
    tx: &mut WriteTx,
    tenant_id: &str,
    kind: LimitKind,
    reached: bool,
    now: i64,
) -> Result<Option<bool>> {
    let values = || {
        args![
            tenant_id.to_string(),
            kind.key().to_string(),
            i64::from(reached),
            now
        ]
    };
    let flipped = tx
        .execute(
            "UPDATE limit_states SET reached = $3, changed_at = $4 WHERE tenant_id = $1 AND kind = $2 AND reached <> $3",
            values(),
        )
        .await?;
    if flipped > 0 {
        return Ok(Some(reached));
    }
    let inserted = tx
        .execute(
            "INSERT INTO limit_states (tenant_id, kind, reached, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, kind) DO NOTHING",
            values(),
        )
        .await?;
    // A first look that finds the limit reached is a crossing too.
    Ok((inserted > 0 && reached).then_some(true))
}

/// Queue a webhook message in the transaction of the change it tells of.
pub async fn enqueue_webhook(
    tx: &mut WriteTx,
    tenant_id: &str,
    event: &str,
    url: &str,
    payload: &str,
    now: i64,
) -> Result<String> {
    tx.insert_with_new_id(
        "INSERT INTO webhook_deliveries (id, tenant_id, event, url, payload, created_at, status, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)",
        args![tenant_id, event, url, payload, now],
    )
    .await
}

/// A delivery to attempt, with what signing needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: String,
    pub tenant_id: String,
    pub event: String,
    pub url: String,
    pub payload: String,
    pub attempts: i64,
    /// The tenant's current secret (None: the webhook was turned off or moved since).
    #[sqlx(rename = "webhook_secret")]
    pub secret: Option<String>,
}

/// A delivery due, with when it was due (the claim compares it).
#[derive(sqlx::FromRow)]
struct Due {
    #[sqlx(flatten)]
    delivery: DueDelivery,
    next_attempt_at: i64,
}

/// How long a claimed delivery is left to the instance that claimed it before another may try.
pub const CLAIM_SECS: i64 = 120;

/// The deliveries due now (at most `limit`), each claimed for this caller: its next attempt
/// moves `CLAIM_SECS` ahead in a compare-and-set, so two sweeps never send one message at the
/// same time. The secret is the tenant's current one, given only while the webhook still
/// points where the message was queued for (otherwise the message is not sent).
pub async fn due_webhooks(db: &Db, now: i64, limit: u32) -> Result<Vec<DueDelivery>> {
    let rows = db
        .fetch_all_as::<Due>(
            &format!(
                "SELECT w.id, w.tenant_id, w.event, w.url, w.payload, w.attempts, w.next_attempt_at, \
                 CASE WHEN c.webhook_url = w.url THEN c.webhook_secret END AS webhook_secret \
                 FROM webhook_deliveries w LEFT JOIN notification_channels c ON c.tenant_id = w.tenant_id \
                 WHERE w.status = 'pending' AND w.next_attempt_at <= $1 ORDER BY w.next_attempt_at, w.id LIMIT {limit}"
            ),
            args![now],
        )
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for due in rows {
        let id = &due.delivery.id;
        if !claim(db, "webhook_deliveries", id, due.next_attempt_at, now).await? {
            continue;
        }
        claimed.push(due.delivery);
    }
    Ok(claimed)
}

/// Retries: after 30 s, 1, 2, 4, 8, 16 and 32 minutes, then it is given up (failed).
pub const MAX_ATTEMPTS: i64 = 8;

pub fn backoff_secs(attempts: i64) -> i64 {
    30 * (1i64 << (attempts - 1).clamp(0, 6))
}

/// The outboxes (webhook deliveries, emails): tables with the same columns for sending.
const OUTBOXES: [&str; 2] = ["webhook_deliveries", "email_outbox"];

fn outbox(table: &str) -> &'static str {
    OUTBOXES
        .into_iter()
        .find(|t| *t == table)
        .expect("an outbox table")
}

/// Claim a due message of an outbox for this sender: its next attempt moves `CLAIM_SECS`
/// ahead in a compare-and-set; false when another sender claimed it first.
pub(crate) async fn claim(db: &Db, table: &str, id: &str, due_at: i64, now: i64) -> Result<bool> {
    let won = db
        .execute(
            &format!(
                "UPDATE {} SET next_attempt_at = $3 \
                 WHERE id = $1 AND status = 'pending' AND next_attempt_at = $2",
                outbox(table)
            ),
            args![id.to_string(), due_at, now + CLAIM_SECS],
        )
        .await?;
    Ok(won > 0)
}

/// How a send went, for an outbox message (a webhook delivery, an email): delivered, or the
/// error that kept it from its recipient.
pub type SendOutcome = Result<(), String>;

/// Record a webhook delivery's outcome: delivered, or the error with the next try (or
/// failed).
pub async fn record_attempt(db: &Db, id: &str, outcome: SendOutcome, now: i64) -> Result<()> {
    record_outcome(db, "webhook_deliveries", id, outcome, now).await
}

/// Record an outbox message's outcome: delivered, or the error with the next try after the
/// backoff, or failed after `MAX_ATTEMPTS`.
pub(crate) async fn record_outcome(
    db: &Db,
    table: &str,
    id: &str,
    outcome: SendOutcome,
    now: i64,
) -> Result<()> {
    let table = outbox(table);
    match outcome {
        Ok(()) => {
            db.execute(
                &format!(
                    "UPDATE {table} SET status = 'delivered', attempts = attempts + 1, \
                     delivered_at = $2, next_attempt_at = NULL, last_error = NULL WHERE id = $1 AND status = 'pending'"
                ),
                args![id.to_string(), now],
            )
            .await?;
        }
        Err(error) => {
            // The claim makes this caller the only one recording this attempt.
            let row = db
                .fetch_one(
                    &format!("SELECT attempts FROM {table} WHERE id = $1"),
                    args![id.to_string()],
                )
                .await?;
            let attempts = row.try_get::<i64, _>("attempts")? + 1;
            let error: String = error.chars().take(300).collect();
            let (status, next) = if attempts >= MAX_ATTEMPTS {
                ("failed", None)
            } else {
                ("pending", Some(now + backoff_secs(attempts)))
            };
            db.execute(
                &format!(
                    "UPDATE {table} SET status = $2, attempts = attempts + 1, next_attempt_at = $3, \
                     last_error = $4 WHERE id = $1 AND status = 'pending'"
                ),
                args![id.to_string(), status.to_string(), next, error],
            )
            .await?;
        }
    }
    Ok(())
}

/// An outbox's messages waiting and given up.
#[derive(sqlx::FromRow)]
struct Backlog {
    pending: i64,
    failed: i64,
}

/// How many messages of an outbox wait to be sent, and how many were given up, across every
/// tenant (for `/metrics`).
pub(crate) async fn backlog(db: &Db, table: &str) -> Result<(i64, i64)> {
    let row = db
        .fetch_one(
            &format!(
                "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
                 COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed FROM {}",
                outbox(table)
            ),
            vec![],
        )
        .await?;
    let counts: Backlog = crate::db::row_as(&row)?;
    Ok((counts.pending, counts.failed))
}

/// Webhook deliveries waiting and given up, across every tenant (for `/metrics`).
pub async fn webhook_backlog(db: &Db) -> Result<(i64, i64)> {
    backlog(db, "webhook_deliveries").await
}

/// Stop retrying a delivery (nothing can be sent: the webhook was turned off).
pub async fn give_up(db: &Db, id: &str, reason: &str) -> Result<()> {
    db.execute(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2 \
         WHERE id = $1 AND status = 'pending'",
        args![id.to_string(), reason.to_string()],
    )
    .await?;
    Ok(())
}

/// The tenant's latest deliveries, newest first.
pub async fn deliveries(db: &Db, tenant_id: &str, limit: u32) -> Result<Vec<WebhookDelivery>> {
    db.fetch_all_as(
        &format!(
            "SELECT id, event, created_at, status, attempts, next_attempt_at, last_error, delivered_at \
             FROM webhook_deliveries WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT {limit}"
        ),
        args![tenant_id.to_string()],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds() {
        let waits: Vec<i64> = (1..MAX_ATTEMPTS).map(backoff_secs).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920]);
    }

    #[test]
    fn recipients_are_checked_and_deduplicated() {
        assert_eq!(
            parse_recipients("a@example.com, B@example.com\na@example.com\n\n").unwrap(),
            ["a@example.com", "b@example.com"]
        );
        assert!(parse_recipients("not an address").is_err());
        assert!(parse_recipients("").unwrap().is_empty());
    }
}
