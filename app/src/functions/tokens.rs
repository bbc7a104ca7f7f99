//! The API tokens page (Owners and Admins): create (the secret is shown once), list, revoke.

use bandpool_domain::accounts::{ApiToken, CreatedToken};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission,
    bandpool_services::{reads, tokens},
};

#[server(prefix = "/_server", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    crate::serve::tenant_read(Permission::ManageTokens, reads::tokens::list).await
}

/// `expires_in_days` empty: no expiry.
#[server(prefix = "/_server", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: String,
    expires_in_days: String,
) -> Result<CreatedToken, AppError> {
    crate::serve::tenant(Permission::ManageTokens, async |services, caller| {
        let created = tokens::create(services, caller, &name, &scope, &expires_in_days).await?;
        crate::serve::secret_once(
            format!(
                "Copy the token {} now: it is not shown again.",
                created.token.name
            ),
            created.secret.clone(),
            "Use it as  Authorization: Bearer <token>  on /api/v1.",
        );
        Ok(created)
    })
    .await
}

#[server(prefix = "/_server", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageTokens, async |services, caller| {
        tokens::revoke(services, caller, &token_id).await?;
        crate::serve::notice("The token is revoked.");
        Ok(())
    })
    .await
}
