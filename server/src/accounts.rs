//! Setting people up from the command line and the demo seed: the demo owner and operators
//! (new tenants with their first Owner are `bandpool_services::tenants::create`).

use bandpool_domain::auth::{normalize_email, Role};
use bandpool_domain::AppError;
use bandpool_store::{accounts, Clock, Db};

use crate::auth::password;

pub const DEMO_OWNER: &str = "demo@bandpool.local";

/// The demo tenant's Owner (also an operator, so the demo shows the Tenants page). The
/// password is BANDPOOL_DEMO_PASSWORD when set, else generated; returned so the caller can
/// print it once. Nothing is changed when the account has a password already.
pub async fn ensure_demo_owner(
    db: &Db,
    clock: &Clock,
    tenant_id: &str,
    password_from_env: Option<String>,
) -> Result<Option<String>, AppError> {
    let now = clock.now_ts();
    if let Some(user) = accounts::user_by_email(db, DEMO_OWNER).await? {
        if user.password_hash.is_some() {
            return Ok(None);
        }
    }
    let generated = password_from_env.is_none();
    let secret = password_from_env.unwrap_or_else(password::generate);
    let hash = password::hash(secret.clone()).await?;
    let mut tx = db.begin_write().await?;
    let user_id = accounts::ensure_user(&mut tx, DEMO_OWNER, now).await?;
    accounts::set_password_hash(&mut tx, &user_id, &hash).await?;
    accounts::set_operator(&mut tx, &user_id, true).await?;
    accounts::add_member(&mut tx, tenant_id, &user_id, Role::Owner, now).await?;
    tx.commit().await?;
    Ok(generated.then_some(secret))
}

/// Make (or find) a user and mark them an operator; a password is set when given.
pub async fn create_operator(
    db: &Db,
    clock: &Clock,
    email: &str,
    password_text: Option<String>,
) -> Result<String, AppError> {
    let email = normalize_email(email)?;
    let hash = match password_text {
        Some(p) => {
            bandpool_domain::auth::check_new_password(&p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let mut tx = db.begin_write().await?;
    let user_id = accounts::ensure_user(&mut tx, &email, clock.now_ts()).await?;
    if let Some(hash) = &hash {
        accounts::set_password_hash(&mut tx, &user_id, hash).await?;
    }
    accounts::set_operator(&mut tx, &user_id, true).await?;
    tx.commit().await?;
    Ok(user_id)
}
