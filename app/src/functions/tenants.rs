//! The Tenants page (operators): every tenant, and a new tenant with its first Owner.

use bandpool_domain::accounts::TenantSummary;
use bandpool_domain::AppError;
use leptos::prelude::*;

#[server(prefix = "/_server", endpoint = "list_tenants")]
pub async fn list_tenants() -> Result<Vec<TenantSummary>, AppError> {
    crate::state::answer(
        async move {
            crate::state::principal()?.require_operator()?;
            let state = crate::state::app_state()?;
            bandpool_store::accounts::list_tenants(&state.db).await
        }
        .await,
    )
}

/// Create a tenant with its pool, and invite its first Owner by email.
#[server(prefix = "/_server", endpoint = "create_tenant")]
pub async fn create_tenant(
    name: String,
    owner_email: String,
    max_capacity_mbps: String,
    loadmaster_limit: String,
) -> Result<(), AppError> {
    use bandpool_domain::auth::normalize_email;
    crate::state::answer(
        async move {
            let principal = crate::state::principal()?;
            principal.require_operator()?;
            let state = crate::state::app_state()?;
            let number = |name: &str, value: &str| {
                value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::invalid(name, "must be a whole number"))
            };
            let capacity = number("max_capacity_mbps", &max_capacity_mbps)?;
            let limit = number("loadmaster_limit", &loadmaster_limit)?;
            let owner_email = normalize_email(&owner_email)?;
            let actor =
                bandpool_store::events::Actor::user(&principal.user_id, &principal.actor_label());
            let mut tx = state.db.begin_write().await?;
            let (_, link) = bandpool_store::accounts::create_tenant_with_owner(
                &mut tx,
                &actor,
                &name,
                &owner_email,
                capacity,
                limit,
                state.clock.now().timestamp_millis(),
            )
            .await?;
            tx.commit().await?;
            let name = name.trim();
            let url = state.portal.link(&format!("/invitation?token={link}"));
            state
                .mailer
                .send(
                    &owner_email,
                    &format!("You are invited to {name} on Bandpool"),
                    &crate::mail::invitation_text(name, "Owner", &url),
                )
                .await
        }
        .await,
    )
}
