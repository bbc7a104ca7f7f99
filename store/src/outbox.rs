//! The email outbox: messages queued in the transaction of the change that calls for them,
//! claimed and sent by a mail sender, retried with the webhooks' backoff, listed per tenant.

use bandpool_domain::billing::EmailDelivery;

use crate::args;
use crate::db::{Db, WriteTx};
use crate::notifications::SendOutcome;
use crate::Result;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewEmail<'a> {
    /// The tenant it concerns (its Notifications page lists it), if any.
    pub tenant_id: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Queue a message in the change's transaction: it is sent only if the change commits.
pub async fn queue(tx: &mut WriteTx, email: &NewEmail<'_>, now: i64) -> Result<String> {
    tx.insert_with_new_id(
        "INSERT INTO email_outbox (id, tenant_id, recipient, subject, body, created_at, status, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)",
        args![email.tenant_id, email.to, email.subject, email.body, now],
    )
    .await
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// Give a queued message (in its transaction) a blind copy and attachments.
pub async fn attach(
    tx: &mut WriteTx,
    email_id: &str,
    bcc: Option<&str>,
    attachments: &[Attachment],
) -> Result<()> {
    use base64::Engine;
    tx.execute(
        "UPDATE email_outbox SET bcc = $2 WHERE id = $1",
        args![email_id, bcc],
    )
    .await?;
    for (position, file) in attachments.iter().enumerate() {
        tx.execute(
            "INSERT INTO email_attachments (email_id, position, file_name, content_type, content_base64) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                email_id,
                position as i64,
                &file.file_name,
                &file.content_type,
                base64::engine::general_purpose::STANDARD.encode(&file.content)
            ],
        )
        .await?;
    }
    Ok(())
}

/// A queued message's attachments, in order.
pub async fn attachments(db: &Db, email_id: &str) -> Result<Vec<Attachment>> {
    use base64::Engine;
    let rows: Vec<(String, String, String)> = db
        .fetch_all_as(
            "SELECT file_name, content_type, content_base64 FROM email_attachments \
             WHERE email_id = $1 ORDER BY position",
            args![email_id],
        )
        .await?;
    rows.into_iter()
        .map(|(file_name, content_type, content)| {
            Ok(Attachment {
                file_name,
                content_type,
                content: base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .map_err(bandpool_domain::AppError::internal)?,
            })
        })
        .collect()
}

/// A queued message to send now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueEmail {
    pub id: String,
    #[sqlx(rename = "recipient")]
    pub to: String,
    pub subject: String,
    pub body: String,
    pub bcc: Option<String>,
}

/// A message due, with when it was due (the claim compares it).
#[derive(sqlx::FromRow)]
struct Due {
    #[sqlx(flatten)]
    email: DueEmail,
    next_attempt_at: i64,
}

/// The messages due now (at most `limit`), each claimed for this caller: its next attempt
/// moves `CLAIM_SECS` ahead in a compare-and-set, so two senders never send one message.
pub async fn due(db: &Db, now: i64, limit: u32) -> Result<Vec<DueEmail>> {
    let rows = db
        .fetch_all_as::<Due>(
            &format!(
                "SELECT id, recipient, subject, body, bcc, next_attempt_at FROM email_outbox \
                 WHERE status = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT {limit}"
            ),
            args![now],
        )
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let id = &row.email.id;
        if crate::notifications::claim(db, "email_outbox", id, row.next_attempt_at, now).await? {
            claimed.push(row.email);
        }
    }
    Ok(claimed)
}

/// Record a send's outcome: delivered (the body and attachments are cleared), or the error
/// with the next try, or failed after the last (they are cleared then too).
pub async fn record_attempt(db: &Db, id: &str, outcome: SendOutcome, now: i64) -> Result<()> {
    crate::notifications::record_outcome(db, "email_outbox", id, outcome, now).await?;
    db.execute(
        "UPDATE email_outbox SET body = '' WHERE id = $1 AND status <> 'pending'",
        args![id.to_string()],
    )
    .await?;
    db.execute(
        "DELETE FROM email_attachments WHERE email_id = $1 AND EXISTS \
         (SELECT 1 FROM email_outbox o WHERE o.id = $1 AND o.status <> 'pending')",
        args![id.to_string()],
    )
    .await?;
    Ok(())
}

/// The tenant's latest messages, newest first.
pub async fn deliveries(db: &Db, tenant_id: &str, limit: u32) -> Result<Vec<EmailDelivery>> {
    db.fetch_all_as(
        &format!(
            "SELECT id, recipient, subject, created_at, status, attempts, next_attempt_at, last_error, delivered_at \
             FROM email_outbox WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT {limit}"
        ),
        args![tenant_id.to_string()],
    )
    .await
}

/// How many messages wait to be sent, and how many were given up, across every tenant
/// (for `/metrics`).
pub async fn backlog(db: &Db) -> Result<(i64, i64)> {
    crate::notifications::backlog(db, "email_outbox").await
}
