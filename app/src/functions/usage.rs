//! Usage and billing, Applications and Notifications: what their pages read and change.

// The operator's entitlement form posts its fields one by one (a plain HTML form).
#![allow(clippy::too_many_arguments)]

use bandpool_domain::billing::{
    ApplicationPage, Channels, EmailDelivery, Entitlement, EntitlementSync, UsageOverview,
    VirtualService, WebhookDelivery,
};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission,
    bandpool_services::{applications, entitlements, notifications, reads},
};

/// The subscription, the pool's two bars and the assets bar.
#[server(prefix = "/_server", endpoint = "get_usage_overview")]
pub async fn get_usage_overview() -> Result<UsageOverview, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        entitlements::overview(services, caller.tenant_id()).await
    })
    .await
}

/// One page of Mapped application usage.
#[server(prefix = "/_server", endpoint = "list_applications")]
pub async fn list_applications(page: u32, per_page: u32) -> Result<ApplicationPage, AppError> {
    crate::serve::tenant_read(Permission::ViewPool, async |db, tenant| {
        reads::billing::applications(db, tenant, page, per_page).await
    })
    .await
}

/// Every application with its Virtual Service count (the Applications page).
#[server(prefix = "/_server", endpoint = "list_all_applications")]
pub async fn list_all_applications(
) -> Result<Vec<bandpool_domain::billing::ApplicationUsage>, AppError> {
    crate::serve::tenant_read(Permission::ViewPool, reads::billing::all_applications).await
}

/// Sync entitlements: pull the latest from the entitlement source (joins a running sync).
#[server(prefix = "/_server", endpoint = "sync_entitlements")]
pub async fn sync_entitlements() -> Result<EntitlementSync, AppError> {
    crate::serve::tenant(Permission::ManageUsage, async |services, caller| {
        let run = entitlements::start_sync(services, caller).await?;
        crate::serve::go_to(format!("/usage-and-billing?sync={}", run.id));
        Ok(run)
    })
    .await
}

/// A Sync entitlements run as it stands.
#[server(prefix = "/_server", endpoint = "get_entitlement_sync")]
pub async fn get_entitlement_sync(id: String) -> Result<EntitlementSync, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        entitlements::sync(services, caller.tenant_id(), &id).await
    })
    .await
}

/// The tenant's Virtual Services (unmapped first), for the Applications page.
#[server(prefix = "/_server", endpoint = "list_virtual_services")]
pub async fn list_virtual_services() -> Result<Vec<VirtualService>, AppError> {
    crate::serve::tenant_read(Permission::ViewPool, async |db, tenant| {
        reads::billing::virtual_services(db, tenant, 2000).await
    })
    .await
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
    use bandpool_services::applications::ApplicationChange;
    crate::serve::tenant(Permission::ManageUsage, async |services, caller| {
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
        let said = applications::change(services, caller, change).await?;
        crate::serve::notice(said.clone());
        Ok(said)
    })
    .await
}

/// The tenant's communication channels, its latest webhook deliveries and its latest emails.
#[server(prefix = "/_server", endpoint = "get_channels")]
pub async fn get_channels() -> Result<(Channels, Vec<WebhookDelivery>, Vec<EmailDelivery>), AppError>
{
    crate::serve::tenant_read(Permission::ManageUsage, async |db, tenant| {
        Ok((
            reads::notifications::channels(db, tenant).await?,
            reads::notifications::deliveries(db, tenant, 50).await?,
            reads::outbox::deliveries(db, tenant, 50).await?,
        ))
    })
    .await
}

/// Set the channels; answers the webhook's new signing secret when one was made.
#[server(prefix = "/_server", endpoint = "set_channels")]
pub async fn set_channels(
    email_recipients: String,
    #[server(default)] webhook_url: String,
    #[server(default)] rotate_secret: Option<String>,
) -> Result<Option<String>, AppError> {
    crate::serve::tenant(Permission::ManageUsage, async |services, caller| {
        let secret = notifications::set_channels(
            services,
            caller,
            &email_recipients,
            Some(webhook_url.as_str()),
            rotate_secret.is_some(),
        )
        .await?;
        match &secret {
            Some(secret) => crate::serve::secret_once(
                "Saved. The webhook's signing secret, shown once: keep it where your receiver can read it.",
                secret.clone(),
                "Each message carries X-Bandpool-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">.",
            ),
            None => crate::serve::notice("Saved."),
        }
        Ok(secret)
    })
    .await
}

/// An operator reads a tenant's entitlement (the operator's records).
#[server(prefix = "/_server", endpoint = "get_tenant_entitlement")]
pub async fn get_tenant_entitlement(tenant_id: String) -> Result<Entitlement, AppError> {
    crate::serve::operator(async |services, _| {
        reads::billing::entitlement(&services.db, &tenant_id).await
    })
    .await
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
    crate::serve::operator(async |services, principal| {
        let form = bandpool_domain::billing::EntitlementForm {
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
        };
        let changes =
            entitlements::edit(services, &principal.into(), &tenant_id, |f| *f = form).await?;
        crate::serve::notice(match changes.len() {
            1 => "Saved: 1 field changed.".to_string(),
            n => format!("Saved: {n} fields changed."),
        });
        Ok(changes.len())
    })
    .await
}
