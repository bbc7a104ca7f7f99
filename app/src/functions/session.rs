//! Who is signed in, and what the sign-in, invitation and reset pages need to know.
//! These answer anonymous visitors too (they are how a visitor gets in).

use bandpool_domain::auth::{Role, Viewer};
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in person, or `None` for a visitor.
#[server(prefix = "/_server", endpoint = "get_viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    crate::serve::anyone(async |services| {
        let Ok(principal) = crate::serve::principal() else {
            return Ok(None);
        };
        let tenants =
            bandpool_services::reads::accounts::tenants_of(&services.db, &principal.user_id)
                .await?;
        Ok(Some(Viewer {
            email: principal.email,
            operator: principal.operator,
            tenant: principal.tenant,
            tenants,
        }))
    })
    .await
}

/// How this portal lets people sign in.
/// What a plain form's post left for the page it returns to: a notice, or the error that
/// refused it, and (once) a secret to copy, such as a new token. The server keeps it in the
/// session for exactly one page render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Flash {
    pub error: bool,
    pub text: String,
    /// Shown once, to copy: a registration token or an API token's secret.
    pub secret: Option<String>,
    /// A line under the secret: how to use it.
    pub hint: Option<String>,
    /// What the person had typed into the refused form (the email on the sign-in page).
    pub kept: Option<String>,
}

impl Flash {
    pub fn notice(text: impl Into<String>) -> Self {
        Flash {
            text: text.into(),
            ..Flash::default()
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Flash {
            error: true,
            text: text.into(),
            ..Flash::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    pub single_sign_on: bool,
    pub local_accounts: bool,
}

#[server(prefix = "/_server", endpoint = "get_sign_in_options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    crate::serve::anyone(async |services| {
        Ok(SignInOptions {
            single_sign_on: services.portal.sso,
            local_accounts: services.portal.local_accounts,
        })
    })
    .await
}

/// What an invitation link offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub tenant_name: String,
    pub email: String,
    pub role: Role,
    /// The address has a password already (accepting then asks for it).
    pub has_password: bool,
    pub options: SignInOptions,
}

#[server(prefix = "/_server", endpoint = "get_invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationView, AppError> {
    use bandpool_services::reads::accounts;
    crate::serve::anyone(async |services| {
        let now = services.now();
        let invitation = accounts::open_invitation(&services.db, &token, now).await?;
        let has_password = accounts::user_by_email(&services.db, &invitation.email)
            .await?
            .is_some_and(|u| u.password_hash.is_some());
        Ok(InvitationView {
            tenant_name: invitation.tenant_name,
            email: invitation.email,
            role: invitation.role,
            has_password,
            options: SignInOptions {
                single_sign_on: services.portal.sso,
                local_accounts: services.portal.local_accounts,
            },
        })
    })
    .await
}

/// Whether a password-reset link can still be used.
#[server(prefix = "/_server", endpoint = "check_reset_link")]
pub async fn check_reset_link(token: String) -> Result<bool, AppError> {
    crate::serve::anyone(async |services| {
        bandpool_services::reads::accounts::password_reset_is_open(
            &services.db,
            &token,
            services.now(),
        )
        .await
    })
    .await
}
