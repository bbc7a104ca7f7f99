//! Metered licensing's pages: the Activations table (with Unblock Selected and the "Block
//! unconfirmed activations after" setting) and a month's metered usage.

use bandpool_domain::metered::{Activations, MeteredMonth};
use bandpool_domain::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission, bandpool_domain::metered::ActivationStatus,
    bandpool_services::metered,
};

/// The Activations table, the rows of the statuses named in `statuses` (comma-separated;
/// empty: all); none for a tenant without a metered contract.
#[server(prefix = "/_server", endpoint = "get_activations")]
pub async fn get_activations(statuses: String) -> Result<Option<Activations>, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let statuses = ActivationStatus::parse_filter(
            statuses.split(',').map(str::trim).filter(|s| !s.is_empty()),
        )?;
        metered::activations(services, caller.tenant_id(), &statuses).await
    })
    .await
}

/// Unblock Selected: the chosen blocked activations (check boxes named `license_ids[]`).
#[server(prefix = "/_server", endpoint = "unblock_activations")]
pub async fn unblock_activations(
    #[server(default)] license_ids: Vec<String>,
) -> Result<usize, AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let n = metered::unblock(services, caller, &license_ids).await?;
        crate::serve::notice(match n {
            0 => "None of the chosen activations was blocked.".to_string(),
            1 => "1 activation is unblocked: its LoadMaster may activate again.".to_string(),
            n => format!("{n} activations are unblocked: their LoadMasters may activate again."),
        });
        Ok(n)
    })
    .await
}

/// "Block unconfirmed activations after": `seconds` is one of the offered periods.
#[server(prefix = "/_server", endpoint = "set_block_after")]
pub async fn set_block_after(seconds: i64) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        metered::set_block_after(services, caller, seconds).await?;
        crate::serve::notice(format!(
            "Unconfirmed activations are now blocked after {}.",
            bandpool_domain::metered::block_after_label(seconds)
        ));
        Ok(())
    })
    .await
}

/// A month's metered usage (`YYYY-MM`; empty: the current month).
#[server(prefix = "/_server", endpoint = "get_metered_month")]
pub async fn get_metered_month(month: String) -> Result<MeteredMonth, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let month = Some(month.trim()).filter(|m| !m.is_empty());
        metered::month_usage(services, caller.tenant_id(), month).await
    })
    .await
}
