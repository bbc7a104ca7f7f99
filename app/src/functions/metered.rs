//! Metered licensing's pages: the Activations table (with Unblock Selected and the "Block
//! unconfirmed activations after" setting) and a month's metered usage.

use bandpool_domain::chart::BarGeometry;
use bandpool_domain::metered::{
    Activations, DailyPeak, LoadMasterPeaks, MeteredContract, MeteredMonth,
};
use bandpool_domain::metered_report::{MeteredReport, ReportCharts};
use bandpool_domain::metered_reporting::ReportingStatus;
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    bandpool_domain::auth::Permission,
    bandpool_domain::metered::ActivationStatus,
    bandpool_services::{metered, metered_report, metered_reporting},
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

/// An operator reads a tenant's metered contract (none: the tenant has none).
#[server(prefix = "/_server", endpoint = "get_metered_contract")]
pub async fn get_metered_contract(tenant_id: String) -> Result<Option<MeteredContract>, AppError> {
    crate::serve::operator(async |services, _| metered::contract(&services.db, &tenant_id).await)
        .await
}

/// An operator makes or changes a tenant's metered contract: from then on the licenses its
/// connectors grant are metered. Tiers are one per line, `<from Mb/s>=<name>`.
#[server(prefix = "/_server", endpoint = "set_metered_contract")]
pub async fn set_metered_contract(
    tenant_id: String,
    contract_id: String,
    max_activations: String,
    trial_ends_on: String,
    tiers: String,
) -> Result<(), AppError> {
    crate::serve::operator(async |services, _| {
        let form = bandpool_domain::metered::ContractForm {
            contract_id,
            max_activations,
            trial_ends_on,
            tiers,
        };
        let contract = form.parse()?;
        let terms = metered::Contract {
            contract_id: contract.contract_id.clone(),
            max_activations: contract.max_activations,
            trial_ends_at: contract.trial_ends_at,
        };
        metered::set_contract(services, &tenant_id, &terms, contract.tiers).await?;
        crate::serve::notice(format!(
            "Saved: metered contract {} with {} activations.",
            terms.contract_id, terms.max_activations
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

/// The Metered usage page's head: the current month and the twelve closed ones before it,
/// with the bars the server drew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeteredView {
    /// Oldest first; the last is the current month ("so far").
    pub months: Vec<MeteredMonth>,
    pub geometry: BarGeometry,
    pub svg: String,
}

#[server(prefix = "/_server", endpoint = "get_metered_view")]
pub async fn get_metered_view() -> Result<MeteredView, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let months = metered::history(services, caller.tenant_id(), 13).await?;
        let geometry = bandpool_domain::chart::metered_bars(&months);
        let svg = bandpool_services::charts::bars_svg(&geometry)?;
        Ok(MeteredView {
            months,
            geometry,
            svg,
        })
    })
    .await
}

/// A page of the LoadMasters that reported in a month, as the page's URL asks (`month`,
/// `search`, `sort`, `order`, `page`; empty values are the defaults).
#[server(prefix = "/_server", endpoint = "get_loadmaster_peaks")]
pub async fn get_loadmaster_peaks(
    month: String,
    search: String,
    sort: String,
    order: String,
    page: String,
) -> Result<LoadMasterPeaks, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let pairs = [
            ("month", month.as_str()),
            ("search", search.as_str()),
            ("sort", sort.as_str()),
            ("order", order.as_str()),
            ("page", page.as_str()),
        ];
        let query = bandpool_domain::metered::PeakQuery::from_pairs(
            pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()),
        )?;
        metered::loadmaster_peaks(services, caller.tenant_id(), &query).await
    })
    .await
}

/// One LoadMaster's daily peaks in a month (empty: the current month).
#[server(prefix = "/_server", endpoint = "get_daily_peaks")]
pub async fn get_daily_peaks(
    license_id: String,
    month: String,
) -> Result<Vec<DailyPeak>, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let license_id = bandpool_domain::ids::Id::parse("license", "a LoadMaster", &license_id)?;
        let month = Some(month.trim()).filter(|m| !m.is_empty());
        metered::daily_peaks(services, caller.tenant_id(), &license_id, month).await
    })
    .await
}

/// The MELA report page: the report for a range of days and its graphs, drawn on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeteredReportView {
    pub report: MeteredReport,
    pub charts: ReportCharts,
}

/// The MELA report from `from` to `to` (`YYYY-MM-DD`; empty: the month up to today).
#[server(prefix = "/_server", endpoint = "get_metered_report")]
pub async fn get_metered_report(from: String, to: String) -> Result<MeteredReportView, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        let range = metered_report::range(services, Some(&from), Some(&to))?;
        let report = metered_report::report(services, caller.tenant_id(), &range).await?;
        let charts = metered_report::charts(&report)?;
        Ok(MeteredReportView { report, charts })
    })
    .await
}

/// Automatic reporting's settings and standing (none: the tenant has no metered contract).
#[server(prefix = "/_server", endpoint = "get_reporting_status")]
pub async fn get_reporting_status() -> Result<Option<ReportingStatus>, AppError> {
    crate::serve::tenant(Permission::ViewPool, async |services, caller| {
        metered_reporting::status(services, caller.tenant_id()).await
    })
    .await
}

/// Apply on the Automatic Reporting card: the check boxes are sent only when checked.
#[server(prefix = "/_server", endpoint = "apply_reporting")]
pub async fn apply_reporting(
    #[server(default)] upload: Option<String>,
    #[server(default)] email: Option<String>,
    #[server(default)] bcc: String,
) -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let settings = bandpool_domain::metered_reporting::ReportingSettings {
            upload: upload.is_some(),
            email: email.is_some(),
            bcc,
        };
        metered_reporting::apply(services, caller, settings).await?;
        crate::serve::notice("Automatic reporting settings applied.");
        Ok(())
    })
    .await
}

/// Upload now: the month so far goes to the vendor at once.
#[server(prefix = "/_server", endpoint = "upload_report_now")]
pub async fn upload_report_now() -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let outcome = metered_reporting::upload_now(services, caller).await?;
        crate::serve::notice(match outcome.error {
            None => format!(
                "The usage report for {} was uploaded to the vendor.",
                outcome.period
            ),
            Some(reason) => format!(
                "The usage report for {} could not be uploaded: {reason}. It will be retried.",
                outcome.period
            ),
        });
        Ok(())
    })
    .await
}

/// Retry upload: every upload waiting after a failure is tried now.
#[server(prefix = "/_server", endpoint = "retry_report_upload")]
pub async fn retry_report_upload() -> Result<(), AppError> {
    crate::serve::tenant(Permission::ManageConnectors, async |services, caller| {
        let (waiting, delivered) = metered_reporting::retry(services, caller).await?;
        crate::serve::notice(if waiting == 0 {
            "No upload was waiting after a failure.".to_string()
        } else {
            format!("{delivered} of {waiting} waiting uploads went through.")
        });
        Ok(())
    })
    .await
}
