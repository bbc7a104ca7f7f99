//! The API tokens page (Owners and Admins): create (the secret is shown once), list, revoke.

use bandpool_domain::accounts::{ApiToken, CreatedToken};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[server(prefix = "/_server", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    use bandpool_domain::auth::Permission;
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(Permission::ManageTokens)?;
            let state = crate::state::app_state()?;
            bandpool_store::tokens::list(&state.db, &tenant.tenant_id).await
        }
        .await,
    )
}

/// `expires_in_days` empty: no expiry.
#[server(prefix = "/_server", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: String,
    expires_in_days: String,
) -> Result<CreatedToken, AppError> {
    use bandpool_domain::auth::{Permission, Scope};
    crate::state::answer(
        async move {
            let (principal, tenant) = crate::state::authorize(Permission::ManageTokens)?;
            let state = crate::state::app_state()?;
            let scope = Scope::parse(&scope)?;
            let now = state.clock.now_ts();
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
            let mut tx = state.db.begin_write().await?;
            let created = bandpool_store::tokens::create(
                &mut tx,
                &tenant.tenant_id,
                &principal.user_id,
                &name,
                scope,
                expires_at,
                now,
            )
            .await?;
            crate::state::record_event(
                &mut tx,
                &principal,
                Some(&tenant.tenant_id),
                "token_created",
                &format!("{} ({})", created.token.name, created.token.prefix),
                scope.label(),
            )
            .await?;
            tx.commit().await?;
            Ok(created)
        }
        .await,
    )
}

#[server(prefix = "/_server", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    use bandpool_domain::auth::Permission;
    crate::state::answer(
        async move {
            let (principal, tenant) = crate::state::authorize(Permission::ManageTokens)?;
            let state = crate::state::app_state()?;
            let mut tx = state.db.begin_write().await?;
            let token = bandpool_store::tokens::revoke(
                &mut tx,
                &tenant.tenant_id,
                &token_id,
                state.clock.now_ts(),
            )
            .await?;
            crate::state::record_event(
                &mut tx,
                &principal,
                Some(&tenant.tenant_id),
                "token_revoked",
                &format!("{} ({})", token.name, token.prefix),
                "",
            )
            .await?;
            tx.commit().await
        }
        .await,
    )
}
