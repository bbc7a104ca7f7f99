//! The Users page (Owners): members and their roles, invitations by email.

use bandpool_domain::accounts::Team;
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod server {
    use bandpool_domain::auth::{Permission, Principal, Role, TenantAccess};
    use bandpool_domain::AppError;

    use crate::state::AppState;

    pub fn owner() -> Result<(AppState, Principal, TenantAccess), AppError> {
        let (principal, tenant) = crate::state::authorize(Permission::ManageUsers)?;
        Ok((crate::state::app_state()?, principal, tenant))
    }

    /// Make (or remake) an invitation with its event, then email it. The mail goes out after
    /// the transaction committed, so no database lock waits on the mail server. When the
    /// mail server refuses, the invitation stays listed and the answer says so: "Re-invite"
    /// sends it again, and nothing the Owner typed is lost.
    pub async fn issue_invitation(
        state: &AppState,
        principal: &Principal,
        tenant: &TenantAccess,
        email: &str,
        role: Role,
        detail: &str,
    ) -> Result<(), AppError> {
        let mut tx = state.db.begin_write().await?;
        let (_, link) = bandpool_store::accounts::invite(
            &mut tx,
            &tenant.tenant_id,
            email,
            role,
            &principal.email,
            state.clock.now_ts(),
        )
        .await?;
        crate::state::record_event(
            &mut tx,
            principal,
            Some(&tenant.tenant_id),
            "invitation_sent",
            email,
            detail,
        )
        .await?;
        tx.commit().await?;
        let url = state.portal.link(&format!("/invitation?token={link}"));
        state
            .mailer
            .send(
                email,
                &format!("You are invited to {} on Bandpool", tenant.tenant_name),
                &crate::mail::invitation_text(&tenant.tenant_name, role.label(), &url),
            )
            .await
    }
}

#[server(prefix = "/_server", endpoint = "get_team")]
pub async fn get_team() -> Result<Team, AppError> {
    crate::state::answer(
        async move {
            let (state, _, tenant) = server::owner()?;
            bandpool_store::accounts::team(&state.db, &tenant.tenant_id, state.clock.now_ts()).await
        }
        .await,
    )
}

/// Invite an address with a role; the email carries a link that works for 48 hours.
#[server(prefix = "/_server", endpoint = "invite_user")]
pub async fn invite_user(email: String, role: String) -> Result<(), AppError> {
    crate::state::answer(
        async move {
            let (state, principal, tenant) = server::owner()?;
            let email = bandpool_domain::auth::normalize_email(&email)?;
            let role = bandpool_domain::auth::Role::parse(&role)?;
            let detail = format!("as {}", role.label());
            server::issue_invitation(&state, &principal, &tenant, &email, role, &detail).await
        }
        .await,
    )
}

/// Send an open invitation again, with a new link (the old one stops working).
#[server(prefix = "/_server", endpoint = "reinvite_user")]
pub async fn reinvite_user(invitation_id: String) -> Result<(), AppError> {
    crate::state::answer(
        async move {
            let (state, principal, tenant) = server::owner()?;
            let mut tx = state.db.begin_write().await?;
            let (email, role) =
                bandpool_store::accounts::invitation(&mut tx, &tenant.tenant_id, &invitation_id)
                    .await?;
            tx.commit().await?;
            let detail = format!("again, as {}", role.label());
            server::issue_invitation(&state, &principal, &tenant, &email, role, &detail).await
        }
        .await,
    )
}

#[server(prefix = "/_server", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(invitation_id: String) -> Result<(), AppError> {
    crate::state::answer(
        async move {
            let (state, principal, tenant) = server::owner()?;
            let mut tx = state.db.begin_write().await?;
            let email = bandpool_store::accounts::revoke_invitation(
                &mut tx,
                &tenant.tenant_id,
                &invitation_id,
                state.clock.now_ts(),
            )
            .await?;
            crate::state::record_event(
                &mut tx,
                &principal,
                Some(&tenant.tenant_id),
                "invitation_revoked",
                &email,
                "",
            )
            .await?;
            tx.commit().await
        }
        .await,
    )
}

/// Give a member another role (never leaving the tenant without an Owner).
#[server(prefix = "/_server", endpoint = "change_role")]
pub async fn change_role(user_id: String, role: String) -> Result<(), AppError> {
    crate::state::answer(
        async move {
            let (state, principal, tenant) = server::owner()?;
            let role = bandpool_domain::auth::Role::parse(&role)?;
            let mut tx = state.db.begin_write().await?;
            let email =
                bandpool_store::accounts::change_role(&mut tx, &tenant.tenant_id, &user_id, role)
                    .await?;
            crate::state::record_event(
                &mut tx,
                &principal,
                Some(&tenant.tenant_id),
                "role_changed",
                &email,
                &format!("now {}", role.label()),
            )
            .await?;
            tx.commit().await
        }
        .await,
    )
}

/// Remove a member (their API tokens here are revoked with them).
#[server(prefix = "/_server", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    crate::state::answer(
        async move {
            let (state, principal, tenant) = server::owner()?;
            let mut tx = state.db.begin_write().await?;
            let email = bandpool_store::accounts::remove_member(
                &mut tx,
                &tenant.tenant_id,
                &user_id,
                state.clock.now_ts(),
            )
            .await?;
            crate::state::record_event(
                &mut tx,
                &principal,
                Some(&tenant.tenant_id),
                "member_removed",
                &email,
                "",
            )
            .await?;
            tx.commit().await
        }
        .await,
    )
}
