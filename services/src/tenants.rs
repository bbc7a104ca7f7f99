//! Tenants and their people: an operator creating a tenant and inviting its first Owner, and
//! an Owner inviting members, inviting again, revoking, changing roles and removing members.

use bandpool_domain::auth::{normalize_email, Role};
use bandpool_domain::AppError;
use bandpool_store::accounts;

use crate::change::{Caller, Event};
use crate::{Actor, Services};

/// A tenant made, and how its first Owner gets in.
#[derive(Debug)]
pub struct CreatedTenant {
    pub tenant_id: String,
    /// The invitation link (the command line prints it; the email is queued).
    pub invitation_url: String,
}

/// Create a tenant with its pool and invite its first Owner by email: the Tenants page and
/// the command line both call this.
pub async fn create(
    services: &Services,
    actor: &Actor,
    name: &str,
    owner_email: &str,
    max_capacity_mbps: i64,
    loadmaster_limit: i64,
) -> Result<CreatedTenant, AppError> {
    let owner_email = normalize_email(owner_email)?;
    let mut tx = services.db.begin_write().await?;
    // The data layer records the tenant's creation and the invitation in this transaction.
    let (tenant_id, link) = bandpool_store::accounts::create_tenant_with_owner(
        &mut tx,
        actor,
        name,
        &owner_email,
        max_capacity_mbps,
        loadmaster_limit,
        services.clock.now().timestamp_millis(),
    )
    .await?;
    // The first Owner is the tenant's communication channel until someone changes it.
    bandpool_store::notifications::set_channels(
        &mut tx,
        &tenant_id,
        std::slice::from_ref(&owner_email),
        None,
        false,
        false,
        services.now(),
    )
    .await?;
    let invitation_url = invitation_url(services, &link);
    queue_invitation(
        services,
        &mut tx,
        &tenant_id,
        &owner_email,
        name.trim(),
        Role::Owner,
        &invitation_url,
    )
    .await?;
    tx.commit().await?;
    services.outbox.wake();
    Ok(CreatedTenant {
        tenant_id,
        invitation_url,
    })
}

fn invitation_url(services: &Services, link: &str) -> String {
    services.portal.link(&format!("/invitation?token={link}"))
}

/// Queue the invitation email in the transaction that makes the invitation.
async fn queue_invitation(
    services: &Services,
    tx: &mut crate::WriteTx,
    tenant_id: &str,
    to: &str,
    tenant_name: &str,
    role: Role,
    url: &str,
) -> Result<(), AppError> {
    let (subject, text) = crate::mail::invitation(tenant_name, role.label(), url);
    crate::mail::queue(services, tx, Some(tenant_id), to, &subject, &text).await?;
    Ok(())
}

/// Invite an address into the caller's tenant with a role.
pub async fn invite(
    services: &Services,
    caller: &Caller,
    email: &str,
    role: &str,
) -> Result<(), AppError> {
    let email = normalize_email(email)?;
    let role = Role::parse(role)?;
    let detail = format!("as {}", role.label());
    issue_invitation(services, caller, &email, role, detail).await
}

/// Send an open invitation again, with a new link (the old one stops working).
pub async fn reinvite(
    services: &Services,
    caller: &Caller,
    invitation_id: &str,
) -> Result<(), AppError> {
    let (email, role) = services
        .change(caller.scope(), async |tx| {
            let open =
                bandpool_store::accounts::invitation(tx, caller.tenant_id(), invitation_id).await?;
            Ok((open, None))
        })
        .await?;
    let detail = format!("again, as {}", role.label());
    issue_invitation(services, caller, &email, role, detail).await
}

/// Make (or remake) an invitation with its event and its email, in one transaction. The
/// mail sender sends it after the commit, so nothing waits on the mail server; a refusal is
/// retried and listed on the Notifications page, and "Re-invite" makes a new link.
async fn issue_invitation(
    services: &Services,
    caller: &Caller,
    email: &str,
    role: Role,
    detail: String,
) -> Result<(), AppError> {
    services
        .change(caller.scope(), async |tx| {
            let (_, link) = bandpool_store::accounts::invite(
                tx,
                caller.tenant_id(),
                email,
                role,
                &caller.principal.email,
                services.now(),
            )
            .await?;
            let url = invitation_url(services, &link);
            let tenant = &caller.tenant;
            queue_invitation(
                services,
                tx,
                &tenant.tenant_id,
                email,
                &tenant.tenant_name,
                role,
                &url,
            )
            .await?;
            Ok(((), Some(Event::new("invitation_sent", email, detail))))
        })
        .await?;
    services.outbox.wake();
    Ok(())
}

/// Revoke an open invitation (its link stops working).
pub async fn revoke_invitation(
    services: &Services,
    caller: &Caller,
    invitation_id: &str,
) -> Result<(), AppError> {
    change_person(services, caller, "invitation_revoked", "", async |tx| {
        let now = services.now();
        accounts::revoke_invitation(tx, caller.tenant_id(), invitation_id, now).await
    })
    .await
}

/// Give a member another role (never leaving the tenant without an Owner).
pub async fn change_role(
    services: &Services,
    caller: &Caller,
    user_id: &str,
    role: &str,
) -> Result<(), AppError> {
    let role = Role::parse(role)?;
    let detail = format!("now {}", role.label());
    change_person(services, caller, "role_changed", &detail, async |tx| {
        accounts::change_role(tx, caller.tenant_id(), user_id, role).await
    })
    .await
}

/// Remove a member (their API tokens here are revoked with them).
pub async fn remove_member(
    services: &Services,
    caller: &Caller,
    user_id: &str,
) -> Result<(), AppError> {
    change_person(services, caller, "member_removed", "", async |tx| {
        let now = services.now();
        accounts::remove_member(tx, caller.tenant_id(), user_id, now).await
    })
    .await
}

/// A change to one person in the caller's tenant (`change` answers their email), recorded
/// as `action` on that email in the same transaction.
async fn change_person(
    services: &Services,
    caller: &Caller,
    action: &'static str,
    detail: &str,
    change: impl AsyncFnOnce(&mut crate::WriteTx) -> Result<String, AppError>,
) -> Result<(), AppError> {
    services
        .change(caller.scope(), async |tx| {
            let email = change(tx).await?;
            Ok(((), Some(Event::new(action, email, detail))))
        })
        .await
}
