//! What people do to their own accounts that the service layer owns: asking for a password
//! reset. (Signing in and out, the session and the password itself are the server's
//! `auth` handlers; their events go through `Services::change_for_person`.)

use bandpool_domain::AppError;

use crate::{Actor, Event, Services};

/// Email a single-use password-reset link, if the address has a password. Whether it has
/// is never told: the caller answers the same either way.
pub async fn request_password_reset(services: &Services, email: &str) -> Result<(), AppError> {
    let Some(user) = bandpool_store::accounts::user_by_email(&services.db, email).await? else {
        return Ok(());
    };
    if user.password_hash.is_none() {
        return Ok(());
    }
    let now = services.now();
    services
        .change_for_person(Some(&user.id), &Actor::anonymous(email), async |tx| {
            let link = bandpool_store::accounts::create_password_reset(tx, &user.id, now).await?;
            let url = services
                .portal
                .link(&format!("/reset-password?token={link}"));
            let (subject, body) = crate::mail::password_reset(&user.email, &url);
            crate::mail::queue(services, tx, None, &user.email, &subject, &body).await?;
            Ok(((), Event::new("password_reset_requested", email, "")))
        })
        .await?;
    services.outbox.wake();
    Ok(())
}
