//! Who is signed in, and what the sign-in, invitation and reset pages need to know.
//! These answer anonymous visitors too (they are how a visitor gets in).

use bandpool_domain::auth::{Role, Viewer};
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in person, or `None` for a visitor.
#[server(prefix = "/_server", endpoint = "get_viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    crate::state::answer(
        async move {
            let Ok(principal) = crate::state::principal() else {
                return Ok(None);
            };
            let state = crate::state::app_state()?;
            let tenants =
                bandpool_store::accounts::tenants_of(&state.db, &principal.user_id).await?;
            Ok(Some(Viewer {
                email: principal.email,
                operator: principal.operator,
                tenant: principal.tenant,
                tenants,
            }))
        }
        .await,
    )
}

/// How this portal lets people sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    pub single_sign_on: bool,
    pub local_accounts: bool,
}

#[server(prefix = "/_server", endpoint = "get_sign_in_options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    let state = crate::state::app_state()?;
    Ok(SignInOptions {
        single_sign_on: state.portal.sso,
        local_accounts: state.portal.local_accounts,
    })
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
    crate::state::answer(
        async move {
            let state = crate::state::app_state()?;
            let now = state.clock.now_ts();
            let invitation =
                bandpool_store::accounts::open_invitation(&state.db, &token, now).await?;
            let has_password =
                bandpool_store::accounts::user_by_email(&state.db, &invitation.email)
                    .await?
                    .is_some_and(|u| u.password_hash.is_some());
            Ok(InvitationView {
                tenant_name: invitation.tenant_name,
                email: invitation.email,
                role: invitation.role,
                has_password,
                options: SignInOptions {
                    single_sign_on: state.portal.sso,
                    local_accounts: state.portal.local_accounts,
                },
            })
        }
        .await,
    )
}

/// Whether a password-reset link can still be used.
#[server(prefix = "/_server", endpoint = "check_reset_link")]
pub async fn check_reset_link(token: String) -> Result<bool, AppError> {
    crate::state::answer(
        async move {
            let state = crate::state::app_state()?;
            bandpool_store::accounts::password_reset_is_open(
                &state.db,
                &token,
                state.clock.now_ts(),
            )
            .await
        }
        .await,
    )
}
