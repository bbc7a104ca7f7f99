//! What the Users, API tokens and Tenants pages show (these cross to the browser).

use serde::{Deserialize, Serialize};

use crate::auth::{Role, Scope};

/// A member of a tenant.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub role: Role,
    #[cfg_attr(feature = "ssr", sqlx(rename = "created_at"))]
    pub joined_at: i64,
    pub last_sign_in_at: Option<i64>,
}

/// An invitation not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: i64,
    pub expired: bool,
}

/// The Users page: members and pending invitations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<Member>,
    pub invitations: Vec<Invitation>,
}

/// An API token as listed (never its secret).
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub scope: Scope,
    /// The first characters of the secret, so a person can tell tokens apart.
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// A tenant, as an operator sees it.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub members: i64,
    /// Read on their own (a row each).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub owners: Vec<String>,
    pub max_capacity_mbps: i64,
    pub loadmaster_limit: i64,
}

/// Invitation and token lifetimes.
pub const INVITATION_HOURS: i64 = 48;
pub const PASSWORD_RESET_MINUTES: i64 = 60;
