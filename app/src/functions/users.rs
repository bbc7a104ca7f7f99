//! The Users page (Owners): members and their roles, invitations by email.

use bandpool_domain::accounts::Team;
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {bandpool_domain::auth::Permission, bandpool_services::tenants};

#[server(prefix = "/_server", endpoint = "get_team")]
pub async fn get_team() -> Result<Team, AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        bandpool_services::reads::accounts::team(&services.db, caller.tenant_id(), services.now())
            .await
    })
    .await
}

/// Invite an address with a role; the email carries a link that works for 48 hours.
#[server(prefix = "/_server", endpoint = "invite_user")]
pub async fn invite_user(email: String, role: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        tenants::invite(services, caller, &email, &role).await?;
        crate::serve::notice("The invitation is on its way; its link works for 48 hours.");
        Ok(())
    })
    .await
}

/// Send an open invitation again, with a new link (the old one stops working).
#[server(prefix = "/_server", endpoint = "reinvite_user")]
pub async fn reinvite_user(invitation_id: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        tenants::reinvite(services, caller, &invitation_id).await?;
        crate::serve::notice("The invitation is sent again, with a new link.");
        Ok(())
    })
    .await
}

#[server(prefix = "/_server", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(invitation_id: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        tenants::revoke_invitation(services, caller, &invitation_id).await?;
        crate::serve::notice("The invitation is withdrawn.");
        Ok(())
    })
    .await
}

/// Give a member another role (never leaving the tenant without an Owner).
#[server(prefix = "/_server", endpoint = "change_role")]
pub async fn change_role(user_id: String, role: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        tenants::change_role(services, caller, &user_id, &role).await?;
        crate::serve::notice("The role is changed.");
        Ok(())
    })
    .await
}

/// Remove a member (their API tokens here are revoked with them).
#[server(prefix = "/_server", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageUsers, async |services, caller| {
        tenants::remove_member(services, caller, &user_id).await?;
        crate::serve::notice("The member is removed.");
        Ok(())
    })
    .await
}
