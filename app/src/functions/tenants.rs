//! The Tenants page (operators): every tenant, and a new tenant with its first Owner.

use bandpool_domain::accounts::TenantSummary;
use bandpool_domain::AppError;
use leptos::prelude::*;

#[server(prefix = "/_server", endpoint = "list_tenants")]
pub async fn list_tenants() -> Result<Vec<TenantSummary>, AppError> {
    crate::serve::operator(async |services, _| {
        bandpool_services::reads::accounts::list_tenants(&services.db).await
    })
    .await
}

/// Create a tenant with its pool, and invite its first Owner by email.
#[server(prefix = "/_server", endpoint = "create_tenant")]
pub async fn create_tenant(
    name: String,
    owner_email: String,
    max_capacity_mbps: String,
    loadmaster_limit: String,
) -> Result<(), AppError> {
    crate::serve::operator(async |services, principal| {
        let number = |name: &str, value: &str| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid(name, "must be a whole number"))
        };
        let capacity = number("max_capacity_mbps", &max_capacity_mbps)?;
        let limit = number("loadmaster_limit", &loadmaster_limit)?;
        bandpool_services::tenants::create(
            services,
            &principal.into(),
            &name,
            &owner_email,
            capacity,
            limit,
        )
        .await?;
        crate::serve::notice("The tenant is created and its Owner invited by email.");
        Ok(())
    })
    .await
}
