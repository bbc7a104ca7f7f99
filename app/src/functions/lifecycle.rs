//! The license lifecycle's pages: the Licenses table with the tenant's orders, Offline
//! Licensing, and the operator's Orders card on a tenant's Entitlement page.

use bandpool_domain::lifecycle::{LicensesTableRow, Order};
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission,
    bandpool_domain::lifecycle::{LicensesSort, OrderInput},
    bandpool_services::lifecycle,
};

/// The Licenses page: the table sorted as asked, and the orders it draws on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensesPage {
    pub rows: Vec<LicensesTableRow>,
    pub orders: Vec<Order>,
}

/// The Licenses table (`sort`: ip_address or expiration_date; `order`: asc or desc; empty:
/// the defaults) and the tenant's orders.
#[server(prefix = "/_server", endpoint = "get_licenses_page")]
pub async fn get_licenses_page(sort: String, order: String) -> Result<LicensesPage, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let (sort, order) = LicensesSort::parse(Some(&sort), Some(&order))?;
        Ok(LicensesPage {
            rows: lifecycle::licenses_table(services, caller.tenant_id(), sort, order).await?,
            orders: lifecycle::orders(services, caller.tenant_id()).await?,
        })
    })
    .await
}

/// An operator reads a tenant's orders.
#[server(prefix = "/_server", endpoint = "get_tenant_orders")]
pub async fn get_tenant_orders(tenant_id: String) -> Result<Vec<Order>, AppError> {
    crate::serve::operator(async |services, _| lifecycle::tenant_orders(services, &tenant_id).await)
        .await
}

/// An operator records an order for a tenant (or replaces the one with the same Order ID).
/// `lines` holds one license type per line: `vlm-500=3`, or `vlm-500=3@2027-12-31` for
/// licenses whose term ends.
#[server(prefix = "/_server", endpoint = "record_order")]
pub async fn record_order(
    tenant_id: String,
    order_id: String,
    support_tier: String,
    support_ends_on: String,
    lines: String,
    #[server(default)] spla: Option<String>,
) -> Result<bool, AppError> {
    crate::serve::operator(async |services, principal| {
        let input = OrderInput::from_form(
            order_id,
            &support_tier,
            support_ends_on,
            &lines,
            spla.is_some(),
        )?;
        let new = lifecycle::record_order(services, &principal.into(), &tenant_id, &input).await?;
        crate::serve::notice(format!(
            "Order {} {}.",
            input.order_id.trim(),
            if new { "recorded" } else { "updated" }
        ));
        Ok(new)
    })
    .await
}

/// What the Offline Licensing form offers: the license types, and a fresh key for this
/// showing of the form (a form posted twice asks once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineForm {
    /// (id, name) of each license type, smallest first.
    pub license_types: Vec<(String, String)>,
    pub idempotency_key: String,
    /// The public key texts are checked with, hex.
    pub public_key: String,
}

#[server(prefix = "/_server", endpoint = "get_offline_form")]
pub async fn get_offline_form() -> Result<OfflineForm, AppError> {
    crate::serve::tenant(Permission::ChangeLicenses, async |services, _| {
        Ok(OfflineForm {
            license_types: bandpool_services::offline::license_types(services)
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            idempotency_key: bandpool_services::offline::form_key(),
            public_key: bandpool_services::offline::public_key(services).await?,
        })
    })
    .await
}

/// Generate license: the action taken and the license text shown once, to copy into the
/// LoadMaster (`bandpool_services::offline::generate`). The form names its fields
/// `request[serial_no]` and so on.
#[server(prefix = "/_server", endpoint = "generate_offline_license")]
pub async fn generate_offline_license(
    request: bandpool_domain::offline::OfflineRequest,
) -> Result<String, AppError> {
    crate::serve::tenant(Permission::ChangeLicenses, async |services, caller| {
        let issued = bandpool_services::offline::generate(services, caller, &request).await?;
        let license = &issued.grant.license;
        crate::serve::text_once(
            format!(
                "License text for serial {}: {} ({}). {}",
                issued.grant.serial_no,
                license.license_name,
                license.kind.label(),
                issued.message
            ),
            issued.license_text.clone(),
        );
        Ok(issued.license_text)
    })
    .await
}
