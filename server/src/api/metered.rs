//! Metered usage over REST (`/api/v1/metered/...`): the same figures as the portal's pages,
//! each a call into `bandpool_services::metered`.

use super::connector::Body;
use super::{Ask, PathId};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::error::ErrorBody;
use bandpool_domain::metered::{
    activations_csv, activations_file_name, ActivationStatus, Activations, DailyPeak,
    LoadMasterPeaks, MeteredMonth, PeakQuery,
};
use bandpool_domain::metered_report::SAMPLE_COLUMNS;
use bandpool_domain::metered_reporting::{ReportingSettings, ReportingStatus, UploadOutcome};
use bandpool_domain::AppError;
use bandpool_services::{metered, metered_report, metered_reporting};
use serde::{Deserialize, Serialize};

/// A month's metered usage: the sum of each metered LoadMaster's peak throughput in the month, its tier, and whether the month is still running ("so far") or closed (final).
#[utoipa::path(
    get, path = "/metered/usage", tag = "metered", operation_id = "getMeteredUsage",
    params(
        ("month" = Option<String>, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM (default: the current month)"),
    ),
    responses((status = 200, description = "OK", body = MeteredMonth))
)]
pub async fn usage(ask: Ask) -> Result<Json<MeteredMonth>, AppError> {
    let (tenant, params) = ask.reads_with(&["month"], Permission::ViewPool)?;
    let month = params.get("month");
    Ok(Json(
        metered::month_usage(&ask, &tenant, month.as_deref()).await?,
    ))
}

/// The Activations table: "Max Activations Available", "Current Number of Activations", and every metered activation of the chosen statuses (MAC Address, LoadMaster Version, Status, Activation Date, Boot Date, Last Kill Date, License Type, VLM Name), newest first.
#[utoipa::path(
    get, path = "/metered/activations", tag = "metered", operation_id = "getActivations",
    params(
        ("status" = Option<String>, Query, description = "Comma-separated: active, deleted, disabled, blocked, or all (the default)"),
    ),
    responses(
        (status = 200, description = "OK", body = Activations),
        (status = 404, description = "The tenant has no metered contract (code not_found)", body = ErrorBody),
    )
)]
pub async fn activations(ask: Ask) -> Result<Json<Activations>, AppError> {
    let (tenant, params) = ask.reads_with(&["status"], Permission::ViewPool)?;
    let statuses = statuses(params.get("status").as_deref())?;
    Ok(Json(activations_of(&ask, &tenant, &statuses).await?))
}

/// A file to download: its type, name and body, never cached.
fn attachment(content_type: &str, file_name: &str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The table, or 404 for a tenant without a metered contract.
async fn activations_of(
    ask: &Ask,
    tenant: &str,
    statuses: &[ActivationStatus],
) -> Result<Activations, AppError> {
    metered::activations(ask, tenant, statuses)
        .await?
        .ok_or_else(|| AppError::not_found("A metered contract for this tenant"))
}

fn statuses(filter: Option<&str>) -> Result<Vec<ActivationStatus>, AppError> {
    ActivationStatus::parse_filter(
        filter
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    )
}

/// The Activations table as Activations_YYYYMMDD.csv (the same columns, plus IP Address).
#[utoipa::path(
    get, path = "/metered/activations.csv", tag = "metered", operation_id = "exportActivations",
    params(
        ("status" = Option<String>, Query, description = "Comma-separated: active, deleted, disabled, blocked, or all (the default)"),
    ),
    responses((status = 200, description = "CSV file", content_type = "text/csv", body = String))
)]
pub async fn export_activations(ask: Ask) -> Result<Response, AppError> {
    let (tenant, params) = ask.reads_with(&["status"], Permission::Export)?;
    let statuses = statuses(params.get("status").as_deref())?;
    let table = activations_of(&ask, &tenant, &statuses).await?;
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(4096));
    for row in activations_csv(&table.rows) {
        writer.write_record(&row).map_err(AppError::internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &activations_file_name(ask.clock.today()),
        body,
    ))
}

/// The activations to unblock, by license id.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UnblockRequest {
    pub license_ids: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unblocked {
    /// How many were blocked and are unblocked now (ids of rows not blocked are passed by).
    pub unblocked: usize,
}

/// Unblock Selected: the chosen blocked activations' addresses may take a metered license again.
#[utoipa::path(
    post, path = "/metered/activations/unblock", tag = "metered", operation_id = "unblockActivations",
    request_body = UnblockRequest,
    responses((status = 200, description = "OK", body = Unblocked))
)]
pub async fn unblock(
    ask: Ask,
    body: Result<Body<UnblockRequest>, AppError>,
) -> Result<Json<Unblocked>, AppError> {
    // Who may comes before what was sent: a Reviewer hears 403 whatever the body.
    let caller = ask.authorize(Permission::ManageConnectors)?;
    let Body(body) = body?;
    let unblocked = metered::unblock(&ask, &caller, &body.license_ids).await?;
    Ok(Json(Unblocked { unblocked }))
}

/// The tenant's metered settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeteredSettings {
    /// "Block unconfirmed activations after", in seconds: 3600, 28800, 86400, 172800, 259200 (the default) or 604800.
    pub block_unconfirmed_after_seconds: i64,
}

/// Set "Block unconfirmed activations after".
#[utoipa::path(
    put, path = "/metered/settings", tag = "metered", operation_id = "setMeteredSettings",
    request_body = MeteredSettings,
    responses((status = 200, description = "OK", body = MeteredSettings))
)]
pub async fn set_settings(
    ask: Ask,
    body: Result<Body<MeteredSettings>, AppError>,
) -> Result<Json<MeteredSettings>, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    let Body(body) = body?;
    metered::set_block_after(&ask, &caller, body.block_unconfirmed_after_seconds).await?;
    Ok(Json(body))
}

/// The last months of metered usage, oldest first, ending with the current month ("so far"): each month's sum of per-LoadMaster peaks and its tier.
#[utoipa::path(
    get, path = "/metered/months", tag = "metered", operation_id = "getMeteredMonths",
    params(("months" = Option<u32>, Query, description = "How many months, 1 to 36 (default 13: the current month and the last 12 closed ones)")),
    responses((status = 200, description = "OK", body = Vec<MeteredMonth>))
)]
pub async fn months(ask: Ask) -> Result<Json<Vec<MeteredMonth>>, AppError> {
    let (tenant, params) = ask.reads_with(&["months"], Permission::ViewPool)?;
    let count = params.number("months", 13u32, |n| (1..=36).contains(n), "must be 1 to 36")?;
    Ok(Json(metered::history(&ask, &tenant, count).await?))
}

/// The LoadMasters that reported in a month with their peak throughput and SSL TPS, searchable (name, serial, license type), sortable and paged.
#[utoipa::path(
    get, path = "/metered/loadmasters", tag = "metered", operation_id = "getMeteredLoadMasters",
    params(
        ("month" = Option<String>, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM (default: the current month)"),
        ("search" = Option<String>, Query, description = "Part of a name, serial or license type"),
        ("sort" = Option<String>, Query, description = "peak (the default), name or ssl_tps"),
        ("order" = Option<String>, Query, description = "asc or desc (default: desc, asc by name)"),
        ("page" = Option<u32>, Query, description = "From 1"),
        ("per_page" = Option<u32>, Query, description = "1 to 500 (default 25)"),
    ),
    responses((status = 200, description = "OK", body = LoadMasterPeaks))
)]
pub async fn loadmasters(ask: Ask) -> Result<Json<LoadMasterPeaks>, AppError> {
    let (tenant, params) = ask.reads_with(
        &["month", "search", "sort", "order", "page", "per_page"],
        Permission::ViewPool,
    )?;
    let pairs = params.to_map();
    let query = PeakQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(
        metered::loadmaster_peaks(&ask, &tenant, &query).await?,
    ))
}

/// One LoadMaster's peak on each day of a month that it reported (none for a LoadMaster this tenant does not have).
#[utoipa::path(
    get, path = "/metered/loadmasters/{id}/daily", tag = "metered", operation_id = "getMeteredDaily",
    params(
        ("id" = uuid::Uuid, Path, description = "The LoadMaster's license"),
        ("month" = Option<String>, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", description = "The month, YYYY-MM (default: the current month)"),
    ),
    responses((status = 200, description = "OK", body = Vec<DailyPeak>))
)]
pub async fn daily(ask: Ask, PathId(id): PathId) -> Result<Json<Vec<DailyPeak>>, AppError> {
    let (tenant, params) = ask.reads_with(&["month"], Permission::ViewPool)?;
    let month = params.get("month");
    Ok(Json(
        metered::daily_peaks(&ask, &tenant, &id, month.as_deref()).await?,
    ))
}

/// The report's range, from its query (`from` and `to`, `YYYY-MM-DD`; the month to today when not given).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The first day, YYYY-MM-DD (default: the same day last month).
    #[allow(dead_code)]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD (default: today, UTC). A report covers at most 400 days.
    #[allow(dead_code)]
    pub to: Option<String>,
}

/// The MELA report for a range of days: the most metered instances active at once and the count per day, the top five LoadMasters by peak SSL TPS and by peak throughput with their daily peaks, the aggregate throughput per day, and the newest 500 events (Activation, Deactivation, Sync (Discrepancy), Sync (No Discrepancy)) with the number of active instances after each.
#[utoipa::path(
    get, path = "/metered/report", tag = "metered", operation_id = "getMeteredReport",
    params(ReportQuery),
    responses((status = 200, description = "OK", body = bandpool_domain::metered_report::MeteredReport))
)]
pub async fn report(
    ask: Ask,
) -> Result<Json<bandpool_domain::metered_report::MeteredReport>, AppError> {
    let (tenant, params) = ask.reads_with(&["from", "to"], Permission::ViewPool)?;
    let range = metered_report::range(
        &ask,
        params.get("from").as_deref(),
        params.get("to").as_deref(),
    )?;
    Ok(Json(metered_report::report(&ask, &tenant, &range).await?))
}

/// Download the MELA report. With `summary` (as the page's "Download summary" box), MELA_report_<from>_<to>.zip holding asl.csv (Event Time (UTC), Event Type, Instances: every instance event, oldest first), devices.csv (ID, Name, IP Address, License, Activated (UTC): the metered LoadMasters active now), ssl_tps.csv (Day, ID, Name, Peak SSL TPS), throughput.csv (Day, ID, Name, Peak Bytes per Second) and vs_bytes.csv (Day, ID, Virtual Service, Bytes, within the sample retention). Without it, MELA_report_<from>_<to>.csv: every stored sample in the range (Sampled At (UTC), ID, Bytes In per Second, Bytes Out per Second, SSL TPS), oldest first. Both stream; cells that a spreadsheet would read as a formula are quoted inert.
#[utoipa::path(
    get, path = "/metered/report/download", tag = "metered", operation_id = "downloadMeteredReport",
    params(
        ReportQuery,
        ("summary" = Option<String>, Query, description = "on, true or 1: the summary zip; absent, empty or false: every stored sample as CSV"),
    ),
    responses(
        (status = 200, description = "The summary zip", content_type = "application/zip", body = String),
        (status = 200, description = "Every stored sample", content_type = "text/csv", body = String),
    )
)]
pub async fn download_report(ask: Ask) -> Result<Response, AppError> {
    let (tenant, params) = ask.reads_with(&["from", "to", "summary"], Permission::Export)?;
    let range = metered_report::range(
        &ask,
        params.get("from").as_deref(),
        params.get("to").as_deref(),
    )?;
    let summary = match params.get("summary").as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") | Some("off") => false,
        Some("on") | Some("true") | Some("1") => true,
        Some(_) => {
            return Err(AppError::invalid(
                "summary",
                "must be on, true, 1, off, false or 0",
            ))
        }
    };
    if !summary {
        let shape = super::export::CsvShape {
            header: SAMPLE_COLUMNS.to_vec(),
            row: metered_report::sample_row,
        };
        let rows = metered_report::samples(&ask, &tenant, &range);
        return super::export::csv_download(rows, shape, format!("{}.csv", range.file_stem()))
            .await;
    }
    Ok(attachment(
        "application/zip",
        &format!("{}.zip", range.file_stem()),
        axum::body::Body::from_stream(metered_report::summary_zip(&ask, &tenant, &range)),
    ))
}

/// Automatic reporting: the settings ("Upload usage report to the vendor", "Send monthly usage report via email", "Send bcc to"), whether this deployment has a vendor reporting service, the last successful upload, an upload waiting after a failure with its reason, and the days left until metered licensing stops for want of an upload.
#[utoipa::path(
    get, path = "/metered/reporting", tag = "metered", operation_id = "getMeteredReporting",
    responses(
        (status = 200, description = "OK", body = ReportingStatus),
        (status = 404, description = "The tenant has no metered contract (code not_found)", body = ErrorBody),
    )
)]
pub async fn reporting(ask: Ask) -> Result<Json<ReportingStatus>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    metered_reporting::status(&ask, &tenant)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("A metered contract for this tenant"))
}

/// Apply the Automatic Reporting settings (Owners and Admins); the event log records the change.
#[utoipa::path(
    put, path = "/metered/reporting", tag = "metered", operation_id = "setMeteredReporting",
    request_body = ReportingSettings,
    responses((status = 200, description = "OK", body = ReportingStatus))
)]
pub async fn set_reporting(
    ask: Ask,
    body: Result<Body<ReportingSettings>, AppError>,
) -> Result<Json<ReportingStatus>, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    let Body(body) = body?;
    metered_reporting::apply(&ask, &caller, body).await?;
    metered_reporting::status(&ask, caller.tenant_id())
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("A metered contract for this tenant"))
}

/// Upload now: the current month so far goes to the vendor's reporting service at once (signed; keyed by tenant and month, so it replaces an earlier upload of the month rather than adding to it). A failure is answered with its reason and retried with backoff.
#[utoipa::path(
    post, path = "/metered/reporting/upload", tag = "metered", operation_id = "uploadMeteredReport",
    responses(
        (status = 200, description = "Tried: delivered, or the reason it failed", body = UploadOutcome),
        (status = 409, description = "No vendor reporting service is configured (code reporting_not_configured)", body = ErrorBody),
    )
)]
pub async fn upload_report(ask: Ask) -> Result<Json<UploadOutcome>, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    Ok(Json(metered_reporting::upload_now(&ask, &caller).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Retried {
    /// Uploads that were waiting after a failure.
    pub waiting: u64,
    /// Of those, delivered now.
    pub delivered: usize,
}

/// Retry upload: every upload waiting after a failure is tried at once.
#[utoipa::path(
    post, path = "/metered/reporting/retry", tag = "metered", operation_id = "retryMeteredReportUploads",
    responses(
        (status = 200, description = "OK", body = Retried),
        (status = 409, description = "No vendor reporting service is configured (code reporting_not_configured)", body = ErrorBody),
    )
)]
pub async fn retry_uploads(ask: Ask) -> Result<Json<Retried>, AppError> {
    let caller = ask.authorize(Permission::ManageConnectors)?;
    let (waiting, delivered) = metered_reporting::retry(&ask, &caller).await?;
    Ok(Json(Retried { waiting, delivered }))
}

/// The MELA report as a PDF (MELA_report_<from>_<to>.pdf): on A4 pages each headed with the tenant, the contract and the range, the maximum active instances with the instances and aggregate throughput graphs, the top five LoadMasters by peak SSL TPS and by peak throughput with a graph each, and the events table.
#[utoipa::path(
    get, path = "/metered/report/pdf", tag = "metered", operation_id = "getMeteredReportPdf",
    params(
        ReportQuery,
        ("summary" = Option<String>, Query, description = "Ignored (the page's form sends it with every button)"),
    ),
    responses((status = 200, description = "PDF file", content_type = "application/pdf", body = String))
)]
pub async fn report_pdf(ask: Ask) -> Result<Response, AppError> {
    let (tenant, params) = ask.reads_with(&["from", "to", "summary"], Permission::Export)?;
    let range = metered_report::range(
        &ask,
        params.get("from").as_deref(),
        params.get("to").as_deref(),
    )?;
    let pdf = metered_report::pdf(&ask, &tenant, &range).await?;
    Ok(attachment(
        "application/pdf",
        &format!("{}.pdf", range.file_stem()),
        pdf,
    ))
}
