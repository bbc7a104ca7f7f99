//! People and their tenants: users (local password or single sign-on subject), memberships
//! with a role, emailed invitations and password-reset links. A tenant always keeps one Owner.

use bandpool_domain::accounts::{
    Invitation, Member, Team, TenantSummary, INVITATION_HOURS, PASSWORD_RESET_MINUTES,
};
use bandpool_domain::auth::{Role, TenantAccess};
use bandpool_domain::AppError;
use sqlx::Row;

use crate::args;
use crate::db::{Db, Read, Value, WriteTx};
use crate::{secret, Result};
use bandpool_domain::names::{self, Name};

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_subject: Option<String>,
    #[sqlx(rename = "is_operator", try_from = "bandpool_domain::Flag")]
    pub operator: bool,
}

const USER_COLUMNS: &str = "id, email, password_hash, oidc_issuer, oidc_subject, is_operator";

async fn one_user(on: impl Read, clause: &str, values: Vec<Value>) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}");
    crate::db::optional_as(on, &sql, values).await
}

pub async fn user_by_id(on: impl Read, id: &str) -> Result<Option<User>> {
    one_user(on, "id = $1", args![id]).await
}

/// `email` is already normalised (lower-case, trimmed).
pub async fn user_by_email(on: impl Read, email: &str) -> Result<Option<User>> {
    one_user(on, "email = $1", args![email]).await
}

pub async fn user_by_subject(db: &Db, issuer: &str, subject: &str) -> Result<Option<User>> {
    one_user(
        db,
        "oidc_issuer = $1 AND oidc_subject = $2",
        args![issuer, subject],
    )
    .await
}

/// Create a user (or return the existing one with that email); returns its id.
pub async fn ensure_user(tx: &mut WriteTx, email: &str, now: i64) -> Result<String> {
    if let Some(row) = tx
        .fetch_optional("SELECT id FROM users WHERE email = $1", args![email])
        .await?
    {
        return Ok(row.try_get("id")?);
    }
    tx.insert_with_new_id(
        "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)",
        args![email, now],
    )
    .await
}

pub async fn set_password_hash(tx: &mut WriteTx, user_id: &str, hash: &str) -> Result<()> {
    tx.execute(
        "UPDATE users SET password_hash = $1 WHERE id = $2",
        args![hash, user_id],
    )
    .await?;
    Ok(())
}

pub async fn set_operator(tx: &mut WriteTx, user_id: &str, operator: bool) -> Result<()> {
    tx.execute(
        "UPDATE users SET is_operator = $1 WHERE id = $2",
        args![operator as i64, user_id],
    )
    .await?;
    Ok(())
}

/// Remember the provider's subject for this user, so a later change of email still matches.
pub async fn link_subject(
    tx: &mut WriteTx,
    user_id: &str,
    issuer: &str,
    subject: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE users SET oidc_issuer = $1, oidc_subject = $2 WHERE id = $3",
        args![issuer, subject, user_id],
    )
    .await?;
    Ok(())
}

pub async fn mark_signed_in(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE users SET last_sign_in_at = $1 WHERE id = $2",
        args![now, user_id],
    )
    .await?;
    Ok(())
}

const ACCESS_SQL: &str = "SELECT m.tenant_id, t.name AS tenant_name, m.role FROM memberships m \
                          JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1";

/// Every tenant a user belongs to, oldest tenant first.
pub async fn tenants_of(mut on: impl Read, user_id: &str) -> Result<Vec<TenantAccess>> {
    let sql = format!("{ACCESS_SQL} ORDER BY t.created_at, t.id");
    on.fetch_all(&sql, args![user_id])
        .await?
        .iter()
        .map(crate::db::row_as)
        .collect()
}

/// The user's role in one tenant, if a member.
pub async fn access_to(db: &Db, user_id: &str, tenant_id: &str) -> Result<Option<TenantAccess>> {
    let sql = format!("{ACCESS_SQL} AND m.tenant_id = $2");
    crate::db::optional_as(db, &sql, args![user_id, tenant_id]).await
}

/// Add a member, or give an existing member the role.
pub async fn add_member(
    tx: &mut WriteTx,
    tenant_id: &str,
    user_id: &str,
    role: Role,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role",
        args![tenant_id, user_id, role.as_str(), now],
    )
    .await?;
    Ok(())
}

/// A member's or an invitation's email and role.
#[derive(sqlx::FromRow)]
struct EmailRole {
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
}

/// A member about to change role (`to`) or leave (`to` None), with the tenant's pool locked
/// so no other change to its members interleaves: refused when it would take the tenant's
/// last Owner away. Returns the member's email.
async fn keeping_an_owner(
    tx: &mut WriteTx,
    tenant_id: &str,
    user_id: &str,
    to: Option<Role>,
) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let member: EmailRole = crate::db::find_as(
        &mut *tx,
        "The member",
        "SELECT m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.user_id = $2",
        args![tenant_id, user_id],
    )
    .await?;
    let stops_owning = member.role == Role::Owner && to != Some(Role::Owner);
    if stops_owning && owners(tx, tenant_id).await? <= 1 {
        return Err(AppError::LastOwner);
    }
    Ok(member.email)
}

async fn owners(tx: &mut WriteTx, tenant_id: &str) -> Result<i64> {
    crate::db::value(
        tx,
        "SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'",
        args![tenant_id],
    )
    .await
}

/// Change a member's role; the last Owner cannot be demoted. Returns the member's email.
pub async fn change_role(
    tx: &mut WriteTx,
    tenant_id: &str,
    user_id: &str,
    role: Role,
) -> Result<String> {
    let email = keeping_an_owner(tx, tenant_id, user_id, Some(role)).await?;
    tx.execute(
        "UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND user_id = $3",
        args![role.as_str(), tenant_id, user_id],
    )
    .await?;
    Ok(email)
}

/// Remove a member (and revoke the API tokens they made here); never the last Owner.
pub async fn remove_member(
    tx: &mut WriteTx,
    tenant_id: &str,
    user_id: &str,
    now: i64,
) -> Result<String> {
    let email = keeping_an_owner(tx, tenant_id, user_id, None).await?;
    tx.execute(
        "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2",
        args![tenant_id, user_id],
    )
    .await?;
    tx.execute(
        "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND created_by = $3 AND revoked_at IS NULL",
        args![now, tenant_id, user_id],
    )
    .await?;
    Ok(email)
}

/// An open invitation as stored (whether it expired is worked out on reading).
#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
    invited_by: String,
    expires_at: i64,
}

/// The Users page: members by email, then open invitations (newest first).
pub async fn team(db: &Db, tenant_id: &str, now: i64) -> Result<Team> {
    let members: Vec<Member> = db
        .fetch_all_as(
            "SELECT m.user_id, u.email, m.role, m.created_at, u.last_sign_in_at FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 ORDER BY u.email",
            args![tenant_id],
        )
        .await?;
    let invitations: Vec<Invitation> = db
        .fetch_all_as::<InvitationRow>(
            "SELECT id, email, role, invited_by, expires_at FROM invitations \
             WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
             ORDER BY created_at DESC, id",
            args![tenant_id],
        )
        .await?
        .into_iter()
        .map(|row| Invitation {
            id: row.id,
            email: row.email,
            role: row.role,
            invited_by: row.invited_by,
            expires_at: row.expires_at,
            expired: row.expires_at <= now,
        })
        .collect();
    Ok(Team {
        members,
        invitations,
    })
}

/// Invite an email to a tenant with a role. An open invitation to the same address is
/// replaced (its link stops working). Returns the invitation id and the link's secret.
pub async fn invite(
    tx: &mut WriteTx,
    tenant_id: &str,
    email: &str,
    role: Role,
    invited_by: &str,
    now: i64,
) -> Result<(String, String)> {
    let member = tx
        .fetch_optional(
            "SELECT 1 AS x FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.tenant_id = $1 AND u.email = $2",
            args![tenant_id, email],
        )
        .await?;
    if member.is_some() {
        return Err(AppError::invalid(
            "email",
            "already belongs to a member of this tenant",
        ));
    }
    tx.execute(
        "UPDATE invitations SET revoked_at = $1 WHERE tenant_id = $2 AND email = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
        args![now, tenant_id, email],
    )
    .await?;
    let id = uuid::Uuid::new_v4().to_string();
    let link = secret::generate("inv_");
    tx.execute(
        "INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![id.clone(), tenant_id, email, role.as_str(), secret::hash(&link), invited_by, now, now + INVITATION_HOURS * 3600],
    )
    .await?;
    Ok((id, link))
}

/// An open invitation of this tenant, by id.
pub async fn invitation(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<(String, Role)> {
    let invitation: EmailRole = crate::db::find_as(
        &mut *tx,
        "The invitation",
        "SELECT email, role FROM invitations WHERE tenant_id = $1 AND id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
        args![tenant_id, id],
    )
    .await?;
    Ok((invitation.email, invitation.role))
}

pub async fn revoke_invitation(
    tx: &mut WriteTx,
    tenant_id: &str,
    id: &str,
    now: i64,
) -> Result<String> {
    let (email, _) = invitation(tx, tenant_id, id).await?;
    tx.execute(
        "UPDATE invitations SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3",
        args![now, tenant_id, id],
    )
    .await?;
    Ok(email)
}

/// An invitation a link names, while it can still be accepted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenInvitation {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
}

pub async fn open_invitation(db: &Db, link: &str, now: i64) -> Result<OpenInvitation> {
    let row = db
        .fetch_optional(
            "SELECT i.id, i.tenant_id, t.name AS tenant_name, i.email, i.role FROM invitations i \
             JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = $1 \
             AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
            args![secret::hash(link), now],
        )
        .await?
        .ok_or(AppError::LinkExpired)?;
    crate::db::row_as(&row)
}

/// Accept: the link is used up (exactly once, even under races) and the user joins.
pub async fn accept_invitation(
    tx: &mut WriteTx,
    invitation: &OpenInvitation,
    user_id: &str,
    now: i64,
) -> Result<()> {
    let claimed = tx
        .execute(
            "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1",
            args![now, invitation.id.clone()],
        )
        .await?;
    if claimed != 1 {
        return Err(AppError::LinkExpired);
    }
    add_member(tx, &invitation.tenant_id, user_id, invitation.role, now).await
}

/// A single-use password-reset link's secret for a user.
pub async fn create_password_reset(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<String> {
    let link = secret::generate("pwr_");
    tx.execute(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        args![secret::hash(&link), user_id, now, now + PASSWORD_RESET_MINUTES * 60],
    )
    .await?;
    Ok(link)
}

/// Whether a reset link is still good (for showing its form).
pub async fn password_reset_is_open(db: &Db, link: &str, now: i64) -> Result<bool> {
    Ok(db
        .fetch_optional(
            "SELECT 1 AS x FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            args![secret::hash(link), now],
        )
        .await?
        .is_some())
}

/// Use a reset link up; returns whose password it resets.
pub async fn use_password_reset(tx: &mut WriteTx, link: &str, now: i64) -> Result<String> {
    let hash = secret::hash(link);
    let claimed = tx
        .execute(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
            args![now, hash.clone()],
        )
        .await?;
    if claimed != 1 {
        return Err(AppError::LinkExpired);
    }
    let sql = "SELECT user_id FROM password_resets WHERE token_hash = $1";
    crate::db::value(tx, sql, args![hash]).await
}

/// An Owner's email, with the tenant it owns.
#[derive(sqlx::FromRow)]
struct OwnerRow {
    tenant_id: String,
    email: String,
}

/// Every tenant, for operators.
pub async fn list_tenants(db: &Db) -> Result<Vec<TenantSummary>> {
    let tenants: Vec<TenantSummary> = db
        .fetch_all_as(
            "SELECT t.id, t.name, t.created_at, p.max_capacity_mbps, p.loadmaster_limit, \
             (SELECT COUNT(*) FROM memberships m WHERE m.tenant_id = t.id) AS members \
             FROM tenants t JOIN pools p ON p.tenant_id = t.id ORDER BY t.created_at, t.id",
            vec![],
        )
        .await?;
    let owner_rows = db
        .fetch_all_as::<OwnerRow>(
            "SELECT m.tenant_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.role = 'owner' ORDER BY u.email",
            vec![],
        )
        .await?;
    let mut owners: std::collections::HashMap<String, Vec<String>> = Default::default();
    for row in owner_rows {
        owners.entry(row.tenant_id).or_default().push(row.email);
    }
    Ok(tenants
        .into_iter()
        .map(|tenant| TenantSummary {
            owners: owners.remove(&tenant.id).unwrap_or_default(),
            ..tenant
        })
        .collect())
}

/// Create a tenant with its pool and invite its first Owner, with the events that say so.
/// Returns the tenant id and the invitation link's secret.
pub async fn create_tenant_with_owner(
    tx: &mut WriteTx,
    actor: &crate::events::Actor,
    name: &str,
    owner_email: &str,
    max_capacity_mbps: i64,
    loadmaster_limit: i64,
    at_ms: i64,
) -> Result<(String, String)> {
    use crate::events::Change;
    let now = at_ms.div_euclid(1000);
    let name = Name::parse("name", name)?;
    let name = name.as_str();
    // The same limits as an entitlement's, which can change them later.
    names::capacity("max_capacity_mbps", max_capacity_mbps)?;
    names::count("loadmaster_limit", loadmaster_limit)?;
    crate::tenants::ensure_license_types(tx).await?;
    let tenant_id =
        crate::tenants::create_tenant(tx, name, max_capacity_mbps, loadmaster_limit, now).await?;
    let (_, link) = invite(tx, &tenant_id, owner_email, Role::Owner, &actor.label, now).await?;
    let detail = format!("first Owner invited: {owner_email}");
    let change = Change {
        tenant_id: &tenant_id,
        at_ms,
        actor,
    };
    change.record(tx, "tenant_created", name, &detail).await?;
    change
        .record(tx, "invitation_sent", owner_email, "as Owner")
        .await?;
    Ok((tenant_id, link))
}

/// The tenant's communication channel: the email addresses of its Owners.
/// The emails of the tenant's Owners and Admins (those told of blocked activations).
pub async fn owner_and_admin_emails(on: impl Read, tenant_id: &str) -> Result<Vec<String>> {
    crate::db::column(
        on,
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.role IN ('owner', 'admin') ORDER BY u.email",
        args![tenant_id],
    )
    .await
}

pub async fn owner_emails(on: impl Read, tenant_id: &str) -> Result<Vec<String>> {
    crate::db::column(
        on,
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.role = 'owner' ORDER BY u.email",
        args![tenant_id],
    )
    .await
}
