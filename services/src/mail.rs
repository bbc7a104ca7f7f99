//! Outgoing email: every message (invitations, password resets, kills, limit crossings,
//! connector health) is queued in the outbox inside the transaction of the change that calls
//! for it (`queue`), and this instance's sender (`send_due`, woken by `Outbox::wake` after
//! the commit and on a timer) sends it, retrying with backoff. A request never waits on the
//! mail server and a queued message survives a restart. Over SMTP when `smtp_url` is set (`smtp://host:port` plain, `smtps://` or `smtp://...?tls=required`
//! with TLS, as lettre reads it); otherwise the message is written to the server log, so a
//! single-machine setup without a mail server still shows its links to its operator.

use bandpool_domain::AppError;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;

/// Wakes this instance's mail sender when a message was queued (after the commit), so mail
/// goes out at once rather than at the sender's next tick.
#[derive(Clone, Debug, Default)]
pub struct Outbox(std::sync::Arc<tokio::sync::Notify>);

impl Outbox {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Until someone queued mail (a wake before this call is kept, not lost).
    pub async fn woken(&self) {
        self.0.notified().await
    }
}

/// Queue a message in `tx`, the transaction of the change that calls for it; call
/// `services.outbox.wake()` once it committed.
pub async fn queue(
    services: &crate::Services,
    tx: &mut crate::WriteTx,
    tenant_id: Option<&str>,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<String, AppError> {
    let email = bandpool_store::outbox::NewEmail {
        tenant_id,
        to,
        subject,
        body,
    };
    bandpool_store::outbox::queue(tx, &email, services.now()).await
}

/// Send every message due now (claimed first, so instances never send one twice); returns
/// how many were attempted. A refusal is recorded with the next try, or as given up after
/// the last.
pub async fn send_due(services: &crate::Services) -> Result<usize, AppError> {
    let due = bandpool_store::outbox::due(&services.db, services.now(), 50).await?;
    for email in &due {
        let attachments = bandpool_store::outbox::attachments(&services.db, &email.id).await?;
        let outcome = services
            .mailer
            .send_with(
                &email.to,
                email.bcc.as_deref(),
                &email.subject,
                &email.body,
                &attachments,
            )
            .await
            .map_err(|error| match error {
                AppError::InvalidParameter { .. } => "the address is not a mailbox".to_string(),
                _ => "the mail server did not take the message".to_string(),
            });
        if outcome.is_err() {
            metrics::counter!("bandpool_email_failures_total").increment(1);
        }
        bandpool_store::outbox::record_attempt(&services.db, &email.id, outcome, services.now())
            .await?;
    }
    Ok(due.len())
}

#[derive(Clone)]
pub struct Mailer {
    transport: Option<Arc<AsyncSmtpTransport<Tokio1Executor>>>,
    from: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.transport.is_some())
            .field("from", &self.from)
            .finish()
    }
}

impl Mailer {
    pub fn new(smtp_url: Option<&crate::Secret>, from: &str) -> Result<Mailer, String> {
        let transport = match smtp_url.filter(|u| !u.is_blank()) {
            Some(url) => Some(Arc::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| format!("smtp_url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            )),
            None => None,
        };
        from.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("mail_from: {e}"))?;
        Ok(Mailer {
            transport,
            from: from.to_string(),
        })
    }

    /// The log-only mailer (no SMTP server configured).
    pub fn log_only() -> Mailer {
        Mailer {
            transport: None,
            from: "Bandpool <bandpool@localhost>".into(),
        }
    }

    /// Send a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), AppError> {
        self.send_with(to, None, subject, body, &[]).await
    }

    /// Send a plain-text message with a blind copy and attachments.
    pub async fn send_with(
        &self,
        to: &str,
        bcc: Option<&str>,
        subject: &str,
        body: &str,
        attachments: &[bandpool_store::outbox::Attachment],
    ) -> Result<(), AppError> {
        let Some(transport) = &self.transport else {
            tracing::warn!(%to, %subject, files = attachments.len(), "no SMTP server is configured; the message follows\n{body}");
            return Ok(());
        };
        let mailbox = |address: &str| {
            address
                .parse::<lettre::message::Mailbox>()
                .map_err(|_| AppError::invalid("email", "must be an email address"))
        };
        let mut builder = Message::builder()
            .from(self.from.parse().map_err(AppError::internal)?)
            .to(mailbox(to)?)
            .subject(subject);
        if let Some(bcc) = bcc.filter(|b| !b.is_empty()) {
            builder = builder.bcc(mailbox(bcc)?);
        }
        let message = if attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_string())
                .map_err(AppError::internal)?
        } else {
            let mut parts = lettre::message::MultiPart::mixed()
                .singlepart(lettre::message::SinglePart::plain(body.to_string()));
            for file in attachments {
                let kind = ContentType::parse(&file.content_type).map_err(AppError::internal)?;
                parts = parts.singlepart(
                    lettre::message::Attachment::new(file.file_name.clone())
                        .body(file.content.clone(), kind),
                );
            }
            builder.multipart(parts).map_err(AppError::internal)?
        };
        transport.send(message).await.map_err(|error| {
            tracing::error!(%to, %error, "the mail server did not take the message");
            AppError::MailUnavailable
        })?;
        Ok(())
    }
}

/// An invitation's subject and text: every invitation (a new tenant's first Owner, a member
/// invited or invited again) says the same.
pub fn invitation(tenant_name: &str, role: &str, url: &str) -> (String, String) {
    (
        format!("You are invited to {tenant_name} on Bandpool"),
        format!(
            "You are invited to join {tenant_name} on Bandpool as {role}.\n\n\
             Accept the invitation here (the link works for {} hours):\n{url}\n\n\
             If you did not expect this, ignore this message.\n",
            bandpool_domain::accounts::INVITATION_HOURS
        ),
    )
}

/// A password-reset email's subject and text.
pub fn password_reset(email: &str, url: &str) -> (String, String) {
    (
        "Reset your Bandpool password".to_string(),
        format!(
            "Someone (we hope you) asked to reset the password of {email} on Bandpool.\n\n\
             Choose a new password here (the link works once, for {} minutes):\n{url}\n\n\
             If it was not you, ignore this message; your password stays as it is.\n",
            bandpool_domain::accounts::PASSWORD_RESET_MINUTES
        ),
    )
}
