//! Usage and billing, Applications and Notifications: what their pages read and change.

// The operator's entitlement form posts its fields one by one (a plain HTML form).
#![allow(clippy::too_many_arguments)]

use bandpool_domain::billing::{
    ApplicationPage, Channels, Entitlement, EntitlementSync, UsageOverview, VirtualService,
    WebhookDelivery,
};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn actor(principal: &bandpool_domain::auth::Principal) -> bandpool_store::events::Actor {
    bandpool_store::events::Actor::user(&principal.user_id, &principal.actor_label())
}

/// The subscription, the pool's two bars and the assets bar.
#[server(prefix = "/_server", endpoint = "get_usage_overview")]
pub async fn get_usage_overview() -> Result<UsageOverview, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            crate::usage::overview(&state, &tenant.tenant_id).await
        }
        .await,
    )
}

/// One page of Mapped application usage.
#[server(prefix = "/_server", endpoint = "list_applications")]
pub async fn list_applications(page: u32, per_page: u32) -> Result<ApplicationPage, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            bandpool_store::billing::applications(&state.db, &tenant.tenant_id, page, per_page)
                .await
        }
        .await,
    )
}

/// Every application with its Virtual Service count (the Applications page).
#[server(prefix = "/_server", endpoint = "list_all_applications")]
pub async fn list_all_applications(
) -> Result<Vec<bandpool_domain::billing::ApplicationUsage>, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            bandpool_store::billing::all_applications(&state.db, &tenant.tenant_id).await
        }
        .await,
    )
}

/// Sync entitlements: pull the latest from the entitlement source (joins a running sync).
#[server(prefix = "/_server", endpoint = "sync_entitlements")]
pub async fn sync_entitlements() -> Result<EntitlementSync, AppError> {
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageUsage)?;
            let state = crate::state::app_state()?;
            crate::usage::start_entitlement_sync(&state, &actor(&principal), &tenant.tenant_id)
                .await
        }
        .await,
    )
}

/// A Sync entitlements run as it stands.
#[server(prefix = "/_server", endpoint = "get_entitlement_sync")]
pub async fn get_entitlement_sync(id: String) -> Result<EntitlementSync, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            crate::usage::entitlement_sync(&state, &tenant.tenant_id, &id).await
        }
        .await,
    )
}

/// The tenant's Virtual Services (unmapped first), for the Applications page.
#[server(prefix = "/_server", endpoint = "list_virtual_services")]
pub async fn list_virtual_services() -> Result<Vec<VirtualService>, AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) = crate::state::authorize(bandpool_domain::auth::Permission::ViewPool)?;
            let state = crate::state::app_state()?;
            bandpool_store::billing::virtual_services(&state.db, &tenant.tenant_id, 2000).await
        }
        .await,
    )
}

/// Change applications: `op` is create (with `name`), map or unmap (with `application_id`
/// and `virtual_service_id`), delete (with `application_id`) or quick_map.
#[server(prefix = "/_server", endpoint = "change_application")]
pub async fn change_application(
    op: String,
    #[server(default)] application_id: String,
    #[server(default)] name: String,
    #[server(default)] virtual_service_id: String,
) -> Result<String, AppError> {
    use crate::usage::ApplicationChange;
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageUsage)?;
            let state = crate::state::app_state()?;
            let change = match op.as_str() {
                "create" => ApplicationChange::Create {
                    name,
                    virtual_service_ids: if virtual_service_id.is_empty() {
                        vec![]
                    } else {
                        vec![virtual_service_id]
                    },
                },
                "map" => ApplicationChange::Map {
                    application_id,
                    virtual_service_id,
                },
                "unmap" => ApplicationChange::Unmap {
                    application_id: Some(application_id).filter(|a| !a.is_empty()),
                    virtual_service_id,
                },
                "delete" => ApplicationChange::Delete { application_id },
                "quick_map" => ApplicationChange::QuickMap,
                _ => {
                    return Err(AppError::invalid(
                        "op",
                        "must be create, map, unmap, delete or quick_map",
                    ))
                }
            };
            crate::usage::change_applications(&state, &actor(&principal), &tenant.tenant_id, change)
                .await
        }
        .await,
    )
}

/// The tenant's communication channels and its latest webhook deliveries.
#[server(prefix = "/_server", endpoint = "get_channels")]
pub async fn get_channels() -> Result<(Channels, Vec<WebhookDelivery>), AppError> {
    crate::state::answer(
        async move {
            let (_, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageUsage)?;
            let state = crate::state::app_state()?;
            Ok((
                bandpool_store::notifications::channels(&state.db, &tenant.tenant_id).await?,
                bandpool_store::notifications::deliveries(&state.db, &tenant.tenant_id, 50).await?,
            ))
        }
        .await,
    )
}

/// Set the channels; answers the webhook's new signing secret when one was made.
#[server(prefix = "/_server", endpoint = "set_channels")]
pub async fn set_channels(
    email_recipients: String,
    #[server(default)] webhook_url: String,
    #[server(default)] rotate_secret: Option<String>,
) -> Result<Option<String>, AppError> {
    crate::state::answer(
        async move {
            let (principal, tenant) =
                crate::state::authorize(bandpool_domain::auth::Permission::ManageUsage)?;
            let state = crate::state::app_state()?;
            crate::usage::set_channels(
                &state,
                &actor(&principal),
                &tenant.tenant_id,
                &email_recipients,
                Some(webhook_url.as_str()),
                rotate_secret.is_some(),
            )
            .await
        }
        .await,
    )
}

/// An operator reads a tenant's entitlement (the operator's records).
#[server(prefix = "/_server", endpoint = "get_tenant_entitlement")]
pub async fn get_tenant_entitlement(tenant_id: String) -> Result<Entitlement, AppError> {
    crate::state::answer(
        async move {
            crate::state::principal()?.require_operator()?;
            let state = crate::state::app_state()?;
            bandpool_store::billing::entitlement(&state.db, &tenant_id).await
        }
        .await,
    )
}

/// An operator sets a tenant's entitlement. Add-ons are one per line:
/// `description; quantity; status[; activation date[; bill date]]` (dates `YYYY-MM-DD`).
#[server(prefix = "/_server", endpoint = "set_tenant_entitlement")]
pub async fn set_tenant_entitlement(
    tenant_id: String,
    owner_name: String,
    progress_id: String,
    order_id: String,
    plan: String,
    #[server(default)] pooled: Option<String>,
    base_assets: String,
    status: String,
    activated_on: String,
    bill_on: String,
    next_bill_on: String,
    max_capacity_mbps: String,
    loadmaster_limit: String,
    add_ons: String,
) -> Result<usize, AppError> {
    crate::state::answer(
        async move {
            let principal = crate::state::principal()?;
            principal.require_operator()?;
            let state = crate::state::app_state()?;
            let current = bandpool_store::billing::entitlement(&state.db, &tenant_id).await?;
            let next = bandpool_domain::billing::EntitlementForm {
                owner_name,
                progress_id,
                order_id,
                plan,
                pooled: pooled.is_some(),
                base_assets,
                status,
                activated_on,
                bill_on,
                next_bill_on,
                max_capacity_mbps,
                loadmaster_limit,
                add_ons,
            }
            .parse(current.virtual_service_limit)?;
            let changes =
                crate::usage::set_entitlement(&state, &actor(&principal), &tenant_id, &next)
                    .await?;
            Ok(changes.len())
        }
        .await,
    )
}
