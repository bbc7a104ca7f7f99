//! Outgoing email (invitations, password resets; later connector alerts). Over SMTP when
//! `smtp_url` is set (`smtp://host:port` plain, `smtps://` or `smtp://...?tls=required`
//! with TLS, as lettre reads it); otherwise the message is written to the server log, so a
//! single-machine setup without a mail server still shows its links to its operator.

use bandpool_domain::AppError;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;

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
        let Some(transport) = &self.transport else {
            tracing::warn!(%to, %subject, "no SMTP server is configured; the message follows\n{body}");
            return Ok(());
        };
        let message = Message::builder()
            .from(self.from.parse().map_err(AppError::internal)?)
            .to(to
                .parse()
                .map_err(|_| AppError::invalid("email", "must be an email address"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(AppError::internal)?;
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
