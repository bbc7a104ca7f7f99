//! Who may do what. A request acts as a `Principal`: a signed-in person (a session) or an
//! API token, in one tenant, with a role. Every page, server function and REST route asks
//! `Principal::require` for one `Permission`; this file is the whole policy.

use serde::{Deserialize, Serialize};

use crate::AppError;

/// A person's role in one tenant (LoadMaster 360's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only, CSV exports included.
    Reviewer,
    /// Everything but users and roles.
    Admin,
    /// Everything, users and roles included.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Reviewer => "Reviewer",
        }
    }

    pub fn parse(value: &str) -> Result<Role, AppError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "reviewer" => Ok(Role::Reviewer),
            _ => Err(AppError::invalid(
                "role",
                "must be owner, admin or reviewer",
            )),
        }
    }
}

/// What an API token may do: read, or read and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    ReadWrite,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ReadWrite => "read_write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "Read",
            Scope::ReadWrite => "Read + write",
        }
    }

    pub fn parse(value: &str) -> Result<Scope, AppError> {
        match value.trim() {
            "read" => Ok(Scope::Read),
            "read_write" => Ok(Scope::ReadWrite),
            _ => Err(AppError::invalid("scope", "must be read or read_write")),
        }
    }
}

/// One thing a request may ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The License Repository, usage figures, allocation history.
    ViewPool,
    /// CSV exports (Pool_usage, the event log).
    Export,
    /// The event log.
    ViewEvents,
    /// Change licenses and the pool: Kill License, Sync (writes of the License Repository).
    ChangeLicenses,
    /// Create connectors (their registration tokens); block and remove LoadMasters.
    ManageConnectors,
    /// Sync entitlements; map Virtual Services to applications; set the tenant's
    /// communication channels (emails, webhook).
    ManageUsage,
    /// Create and revoke API tokens.
    ManageTokens,
    /// Invite, remove, and change the roles of users.
    ManageUsers,
    /// Above tenants: create tenants and their owners.
    OperateTenants,
}

impl Permission {
    /// Words for "Your role does not allow you to ...".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewPool => "view this tenant's pool",
            Permission::Export => "export data",
            Permission::ViewEvents => "view the event log",
            Permission::ChangeLicenses => "change licenses",
            Permission::ManageConnectors => "manage connectors and LoadMasters",
            Permission::ManageUsage => "manage applications, entitlements and notifications",
            Permission::ManageTokens => "manage API tokens",
            Permission::ManageUsers => "manage users and roles",
            Permission::OperateTenants => "create tenants",
        }
    }

    /// Whether a role allows it (inside the role's own tenant).
    pub fn allowed_for_role(self, role: Role) -> bool {
        match self {
            Permission::ViewPool | Permission::Export | Permission::ViewEvents => true,
            Permission::ChangeLicenses
            | Permission::ManageConnectors
            | Permission::ManageUsage
            | Permission::ManageTokens => role >= Role::Admin,
            Permission::ManageUsers => role == Role::Owner,
            Permission::OperateTenants => false,
        }
    }

    /// Whether a token of this scope allows it. Tokens never manage people or tokens.
    pub fn allowed_for_scope(self, scope: Scope) -> bool {
        match self {
            Permission::ViewPool | Permission::Export | Permission::ViewEvents => true,
            Permission::ChangeLicenses | Permission::ManageConnectors | Permission::ManageUsage => {
                scope == Scope::ReadWrite
            }
            Permission::ManageTokens | Permission::ManageUsers | Permission::OperateTenants => {
                false
            }
        }
    }
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session,
    Token { token_id: String, scope: Scope },
}

/// The tenant a principal acts in, and its role there.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantAccess {
    pub tenant_id: String,
    pub tenant_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub role: Role,
}

/// Stored roles and scopes are read back through their one parser.
impl TryFrom<String> for Role {
    type Error = AppError;
    fn try_from(value: String) -> Result<Role, AppError> {
        Role::parse(&value)
    }
}

impl TryFrom<String> for Scope {
    type Error = AppError;
    fn try_from(value: String) -> Result<Scope, AppError> {
        Scope::parse(&value)
    }
}

/// Who is asking. Built on the server from a session or a token, never from the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub operator: bool,
    pub tenant: Option<TenantAccess>,
    pub credential: Credential,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        if permission == Permission::OperateTenants {
            return self.operator && self.credential == Credential::Session;
        }
        let Some(tenant) = &self.tenant else {
            return false;
        };
        let by_role = permission.allowed_for_role(tenant.role);
        match &self.credential {
            Credential::Session => by_role,
            Credential::Token { scope, .. } => by_role && permission.allowed_for_scope(*scope),
        }
    }

    /// The tenant id to scope every query by, once the permission is granted.
    pub fn require(&self, permission: Permission) -> Result<&TenantAccess, AppError> {
        if !self.can(permission) {
            return Err(AppError::forbidden(permission.describe()));
        }
        self.tenant
            .as_ref()
            .ok_or_else(|| AppError::forbidden(permission.describe()))
    }

    /// For operator actions, which have no tenant.
    pub fn require_operator(&self) -> Result<(), AppError> {
        if self.can(Permission::OperateTenants) {
            Ok(())
        } else {
            Err(AppError::forbidden(Permission::OperateTenants.describe()))
        }
    }

    /// How the event log names this actor.
    pub fn actor_label(&self) -> String {
        match &self.credential {
            Credential::Session => self.email.clone(),
            Credential::Token { token_id, .. } => format!("token {token_id} ({})", self.email),
        }
    }
}

/// What the header shows about the signed-in person (crosses to the browser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub operator: bool,
    pub tenant: Option<TenantAccess>,
    /// Every tenant this person belongs to, for the tenant switcher.
    pub tenants: Vec<TenantAccess>,
}

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        self.tenant.as_ref().map(|t| t.role)
    }

    pub fn may(&self, permission: Permission) -> bool {
        match permission {
            Permission::OperateTenants => self.operator,
            other => self
                .role()
                .map(|role| other.allowed_for_role(role))
                .unwrap_or(false),
        }
    }
}

/// Normalise an email address for matching: trimmed, lower-case, and plausibly an address.
pub fn normalize_email(value: &str) -> Result<String, AppError> {
    let email = value.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid("email", "must be an email address"))
    }
}

/// Passwords: long enough to matter, short enough not to be a hashing denial of service.
pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if length < 12 {
        return Err(AppError::invalid(
            "password",
            "must be at least 12 characters",
        ));
    }
    if password.len() > 256 {
        return Err(AppError::invalid("password", "must be at most 256 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Option<Role>, credential: Credential, operator: bool) -> Principal {
        Principal {
            user_id: "u".into(),
            email: "a@b.test".into(),
            operator,
            tenant: role.map(|role| TenantAccess {
                tenant_id: "t".into(),
                tenant_name: "T".into(),
                role,
            }),
            credential,
        }
    }

    #[test]
    fn roles_allow_what_the_product_says() {
        use Permission::*;
        let owner = principal(Some(Role::Owner), Credential::Session, false);
        let admin = principal(Some(Role::Admin), Credential::Session, false);
        let reviewer = principal(Some(Role::Reviewer), Credential::Session, false);
        for p in [
            ViewPool,
            Export,
            ViewEvents,
            ChangeLicenses,
            ManageTokens,
            ManageUsers,
        ] {
            assert!(owner.can(p), "{p:?}");
        }
        assert!(!owner.can(OperateTenants));
        for p in [ViewPool, Export, ViewEvents, ChangeLicenses, ManageTokens] {
            assert!(admin.can(p), "{p:?}");
        }
        assert!(!admin.can(ManageUsers));
        for p in [ViewPool, Export, ViewEvents] {
            assert!(reviewer.can(p), "{p:?}");
        }
        for p in [ChangeLicenses, ManageTokens, ManageUsers, OperateTenants] {
            assert!(!reviewer.can(p), "{p:?}");
        }
    }

    #[test]
    fn a_token_is_its_scope_within_its_creators_role() {
        use Permission::*;
        let token = |role, scope| {
            principal(
                Some(role),
                Credential::Token {
                    token_id: "k".into(),
                    scope,
                },
                true,
            )
        };
        let read = token(Role::Owner, Scope::Read);
        assert!(read.can(ViewPool) && read.can(Export) && read.can(ViewEvents));
        assert!(!read.can(ChangeLicenses));
        let write = token(Role::Owner, Scope::ReadWrite);
        assert!(write.can(ChangeLicenses));
        for p in [ManageTokens, ManageUsers, OperateTenants] {
            assert!(!write.can(p), "{p:?}");
        }
        // A write token made by someone since demoted to Reviewer writes nothing.
        assert!(!token(Role::Reviewer, Scope::ReadWrite).can(ChangeLicenses));
    }

    #[test]
    fn no_tenant_means_nothing_but_operating() {
        let operator = principal(None, Credential::Session, true);
        assert!(operator.can(Permission::OperateTenants));
        assert!(operator.require(Permission::ViewPool).is_err());
        assert!(operator.require_operator().is_ok());
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(
            normalize_email(" Demo@Bandpool.Local ").unwrap(),
            "demo@bandpool.local"
        );
        for bad in ["", "no-at", "@x.y", "a@nodot", "a b@c.d"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("correct horse battery").is_ok());
        assert!(check_new_password(&"x".repeat(300)).is_err());
    }
}
