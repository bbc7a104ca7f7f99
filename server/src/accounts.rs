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

/// The demo's metered tenant.
pub const METERED_DEMO: &str = "Metered Demo";

/// The demo's second tenant, licensed by metered use (a MELA contract of 50 activations and
/// four usage tiers), with the demo Owner as its Owner too (the tenant switcher moves
/// between them). `scripts/run` starts a connector and metered LoadMasters for it.
pub async fn seed_metered_demo(db: &Db, clock: &Clock) -> Result<String, AppError> {
    use bandpool_domain::metered::{Tier, Tiers};
    let now = clock.now_ts();
    let mut tx = db.begin_write().await?;
    // A second after the demo tenant, which the command line's default ("the oldest tenant")
    // must go on naming when both are seeded in the same second.
    let tenant_id =
        bandpool_store::tenants::create_tenant(&mut tx, METERED_DEMO, 1_000_000, 1_000, now + 1)
            .await?;
    let owner = accounts::ensure_user(&mut tx, DEMO_OWNER, now).await?;
    accounts::add_member(&mut tx, &tenant_id, &owner, Role::Owner, now).await?;
    let tier = |from_mbps: i64, name: &str| Tier {
        name: name.to_string(),
        from_mbps,
    };
    let tiers = Tiers::new(vec![
        tier(0, "Up to 1 Gb/s"),
        tier(1_000, "1 to 5 Gb/s"),
        tier(5_000, "5 to 10 Gb/s"),
        tier(10_000, "Over 10 Gb/s"),
    ])?;
    let contract = bandpool_store::metered::Contract {
        contract_id: "MELA-DEMO-0001".into(),
        max_activations: 50,
        trial_ends_at: None,
    };
    bandpool_store::metered::set_contract(&mut tx, &tenant_id, &contract, &tiers, now).await?;
    tx.commit().await?;
    Ok(tenant_id)
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
