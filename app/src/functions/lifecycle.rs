//! The license lifecycle's pages: the Licenses table with the tenant's orders, and the
//! operator's Orders card on a tenant's Entitlement page.

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
    crate::serve::operator(async |services, _| lifecycle::orders(services, &tenant_id).await).await
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
