//! API tokens: an Owner creating one (shown once) and revoking one.

use bandpool_domain::accounts::CreatedToken;
use bandpool_domain::auth::Scope;
use bandpool_domain::AppError;

use crate::change::{Caller, Event};
use crate::Services;

/// A new token for the caller in their tenant. `expires_in_days` empty means it never
/// expires.
pub async fn create(
    services: &Services,
    caller: &Caller,
    name: &str,
    scope: &str,
    expires_in_days: &str,
) -> Result<CreatedToken, AppError> {
    let scope = Scope::parse(scope)?;
    let now = services.now();
    let expires_at = match expires_in_days.trim() {
        "" => None,
        days => Some(
            days.parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    AppError::invalid(
                        "expires_in_days",
                        "must be a whole number of days from 1 to 3650, or empty",
                    )
                })?
                * 86_400
                + now,
        ),
    };
    services
        .change(caller.scope(), async |tx| {
            let created = bandpool_store::tokens::create(
                tx,
                caller.tenant_id(),
                &caller.principal.user_id,
                name,
                scope,
                expires_at,
                now,
            )
            .await?;
            let event = Event::new(
                "token_created",
                format!("{} ({})", created.token.name, created.token.prefix),
                scope.label(),
            );
            Ok((created, Some(event)))
        })
        .await
}

/// Revoke one of the tenant's tokens.
pub async fn revoke(services: &Services, caller: &Caller, token_id: &str) -> Result<(), AppError> {
    services
        .change(caller.scope(), async |tx| {
            let token =
                bandpool_store::tokens::revoke(tx, caller.tenant_id(), token_id, services.now())
                    .await?;
            let event = Event::new(
                "token_revoked",
                format!("{} ({})", token.name, token.prefix),
                "",
            );
            Ok(((), Some(event)))
        })
        .await
}
