//! Usage and billing through the REST API: the overview, entitlements and Sync
//! entitlements, applications and Virtual Services, the Usage and billing CSV, and the
//! tenant's notification channels. The same actions as the pages (`bandpool_services`).

use super::connector::Body;
use super::{sync_answer, Ask, PathId, PathIds};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::billing::{
    usage_csv_rows, usage_file_name, ApplicationPage, Channels, EmailDelivery, Entitlement,
    EntitlementSync, UsageOverview, VirtualService, WebhookDelivery,
};
use bandpool_domain::error::ErrorBody;
use bandpool_domain::AppError;
use bandpool_services::applications::{self, ApplicationChange};
use bandpool_services::reads;
use bandpool_services::{entitlements, notifications};
use serde::{Deserialize, Serialize};

/// Usage and billing: the entitlement, the capacity, LoadMaster and asset bars with their levels, mapped applications, Last refreshed.
#[utoipa::path(
    get, path = "/usage", tag = "usage", operation_id = "getUsage",
    responses((status = 200, description = "OK", body = UsageOverview))
)]
pub async fn overview(ask: Ask) -> Result<Json<UsageOverview>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(entitlements::overview(&ask, &tenant).await?))
}

/// Usage and billing as Usage_and_billing_YYYYMMDD.csv.
///
/// Name, Progress ID, Order ID, Plan, Base Assets, Total Assets, Used Assets, Remaining Assets, Virtual Service Limit, Status, Activation Date, Bill Date; then the Add Ons; then the Assets (applications with used and remaining Virtual Services).
#[utoipa::path(
    get, path = "/usage/export.csv", tag = "usage", operation_id = "exportUsage",
    responses((status = 200, description = "CSV file", content_type = "text/csv", body = String))
)]
pub async fn export_csv(ask: Ask) -> Result<Response, AppError> {
    let tenant = ask.reads(Permission::Export)?;
    let overview = entitlements::overview(&ask, &tenant).await?;
    let applications = reads::billing::all_applications(&ask.db, &tenant).await?;
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(4096));
    for row in usage_csv_rows(&overview, &applications) {
        writer.write_record(&row).map_err(AppError::internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    let file_name = usage_file_name(ask.clock.today());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The tenant's entitlement: plan, base assets, add-ons, dates, pool capacity and LoadMaster limit.
#[utoipa::path(
    get, path = "/entitlements", tag = "usage", operation_id = "getEntitlement",
    responses((status = 200, description = "OK", body = Entitlement))
)]
pub async fn entitlement(ask: Ask) -> Result<Json<Entitlement>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(reads::billing::entitlement(&ask.db, &tenant).await?))
}

/// Sync entitlements: pull the latest from the entitlement source.
///
/// The operator's records answer at once (200, finished); an upstream licensing service answers 202 while it runs. Joins a running sync.
#[utoipa::path(
    post, path = "/entitlements/sync", tag = "usage", operation_id = "syncEntitlements",
    responses(
        (status = 200, description = "Finished", body = EntitlementSync),
        (status = 202, description = "Running", body = EntitlementSync),
    )
)]
pub async fn sync(ask: Ask) -> Result<(StatusCode, Json<EntitlementSync>), AppError> {
    let caller = ask.authorize(Permission::ManageUsage)?;
    let run = entitlements::start_sync(&ask, &caller).await?;
    Ok(sync_answer(!run.finished(), run))
}

/// A Sync entitlements run: running, done (with what changed) or failed (with why).
#[utoipa::path(
    get, path = "/entitlements/sync/{id}", tag = "usage", operation_id = "getEntitlementSync",
    params(("id" = uuid::Uuid, Path, description = "The sync run")),
    responses((status = 200, description = "OK", body = EntitlementSync))
)]
pub async fn sync_run(ask: Ask, PathId(id): PathId) -> Result<Json<EntitlementSync>, AppError> {
    let tenant = ask.caller.tenant(Permission::ViewPool)?;
    Ok(Json(entitlements::sync(&ask, &tenant, &id).await?))
}

/// Mapped application usage, by name.
#[utoipa::path(
    get, path = "/applications", tag = "applications", operation_id = "listApplications",
    params(
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("per_page" = Option<u32>, Query, description = "10, 20 or 50 (default 10)"),
    ),
    responses((status = 200, description = "OK", body = ApplicationPage))
)]
pub async fn applications(ask: Ask) -> Result<Json<ApplicationPage>, AppError> {
    let (tenant, params) = ask.reads_with(&["page", "per_page"], Permission::ViewPool)?;
    let whole = "must be a whole number";
    let page = params.number("page", 1, |_| true, whole)?;
    let per_page = params.number("per_page", 10, |_| true, whole)?;
    Ok(Json(
        reads::billing::applications(&ask.db, &tenant, page, per_page).await?,
    ))
}

/// A new application and the (unmapped) Virtual Services it starts with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// Up to 100 characters.
    name: String,
    /// At most 15.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 15)]
    virtual_service_ids: Vec<String>,
}

/// What an application change answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Changed {
    /// What was done, as the page says it.
    message: String,
}

async fn change(ask: &Ask, change: ApplicationChange) -> Result<Json<Changed>, AppError> {
    let caller = ask.authorize(Permission::ManageUsage)?;
    let message = applications::change(ask, &caller, change).await?;
    Ok(Json(Changed { message }))
}

/// Manual mapping: a new application with these (unmapped) Virtual Services.
#[utoipa::path(
    post, path = "/applications", tag = "applications", operation_id = "createApplication",
    request_body = NewApplication,
    responses(
        (status = 201, description = "Created", body = Changed),
        (status = 409, description = "An application holds at most 15 Virtual Services (code application_full), or the Virtual Service is mapped already (virtual_service_mapped)", body = ErrorBody),
    )
)]
pub async fn create_application(
    ask: Ask,
    Body(body): Body<NewApplication>,
) -> Result<(StatusCode, Json<Changed>), AppError> {
    for id in &body.virtual_service_ids {
        bandpool_domain::ids::Id::parse("virtual_service_ids", "a Virtual Service", id)?;
    }
    let answer = change(
        &ask,
        ApplicationChange::Create {
            name: body.name,
            virtual_service_ids: body.virtual_service_ids,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, answer))
}

/// Quick mapping: one application per unmapped Virtual Service.
#[utoipa::path(
    post, path = "/applications/quick-map", tag = "applications", operation_id = "quickMapApplications",
    responses((status = 200, description = "OK", body = Changed))
)]
pub async fn quick_map(ask: Ask) -> Result<Json<Changed>, AppError> {
    change(&ask, ApplicationChange::QuickMap).await
}

/// Delete an application (its Virtual Services become unmapped).
#[utoipa::path(
    delete, path = "/applications/{id}", tag = "applications", operation_id = "deleteApplication",
    params(("id" = uuid::Uuid, Path, description = "The application")),
    responses((status = 200, description = "OK", body = Changed))
)]
pub async fn delete_application(ask: Ask, PathId(id): PathId) -> Result<Json<Changed>, AppError> {
    change(
        &ask,
        ApplicationChange::Delete {
            application_id: id.to_string(),
        },
    )
    .await
}

/// Map a Virtual Service to the application.
#[utoipa::path(
    put, path = "/applications/{id}/virtual-services/{vs}", tag = "applications", operation_id = "mapVirtualService",
    params(
        ("id" = uuid::Uuid, Path, description = "The application"),
        ("vs" = uuid::Uuid, Path, description = "The Virtual Service"),
    ),
    responses(
        (status = 200, description = "OK", body = Changed),
        (status = 409, description = "An application holds at most 15 Virtual Services (code application_full), or the Virtual Service is mapped already (virtual_service_mapped)", body = ErrorBody),
    )
)]
pub async fn map(ask: Ask, PathIds(id, vs): PathIds) -> Result<Json<Changed>, AppError> {
    change(
        &ask,
        ApplicationChange::Map {
            application_id: id.to_string(),
            virtual_service_id: vs.to_string(),
        },
    )
    .await
}

/// Take a Virtual Service out of the application.
#[utoipa::path(
    delete, path = "/applications/{id}/virtual-services/{vs}", tag = "applications", operation_id = "unmapVirtualService",
    params(
        ("id" = uuid::Uuid, Path, description = "The application"),
        ("vs" = uuid::Uuid, Path, description = "The Virtual Service"),
    ),
    responses((status = 200, description = "OK", body = Changed))
)]
pub async fn unmap(ask: Ask, PathIds(id, vs): PathIds) -> Result<Json<Changed>, AppError> {
    change(
        &ask,
        ApplicationChange::Unmap {
            application_id: Some(id.to_string()),
            virtual_service_id: vs.to_string(),
        },
    )
    .await
}

/// The Virtual Services of the tenant's LoadMasters (unmapped first, at most 2,000), as connectors reported them.
#[utoipa::path(
    get, path = "/virtual-services", tag = "applications", operation_id = "listVirtualServices",
    responses((status = 200, description = "OK", body = Vec<VirtualService>))
)]
pub async fn virtual_services(ask: Ask) -> Result<Json<Vec<VirtualService>>, AppError> {
    let tenant = ask.reads(Permission::ViewPool)?;
    Ok(Json(
        reads::billing::virtual_services(&ask.db, &tenant, 2000).await?,
    ))
}

/// The communication channels: email recipients and the webhook.
#[utoipa::path(
    get, path = "/notifications/channels", tag = "notifications", operation_id = "getChannels",
    responses((status = 200, description = "OK", body = Channels))
)]
pub async fn channels(ask: Ask) -> Result<Json<Channels>, AppError> {
    let tenant = ask.reads(Permission::ManageUsage)?;
    Ok(Json(
        reads::notifications::channels(&ask.db, &tenant).await?,
    ))
}

/// The channels as they should be.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    /// At most 50 addresses.
    #[serde(default)]
    #[schema(max_items = 50)]
    email_recipients: Vec<String>,
    /// An https URL; empty or null removes the webhook.
    #[serde(default)]
    webhook_url: Option<String>,
    /// Make a new signing secret for the same URL.
    #[serde(default)]
    rotate_secret: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelsSaved {
    channels: Channels,
    /// The webhook's new signing secret, when one was made (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

/// Set the channels; a new webhook URL (or rotate_secret) makes a new signing secret, answered once.
///
/// Webhooks are POSTs of JSON signed with X-Bandpool-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, retried with backoff.
#[utoipa::path(
    put, path = "/notifications/channels", tag = "notifications", operation_id = "setChannels",
    request_body = ChannelChange,
    responses((status = 200, description = "OK", body = ChannelsSaved))
)]
pub async fn set_channels(
    ask: Ask,
    Body(body): Body<ChannelChange>,
) -> Result<Json<ChannelsSaved>, AppError> {
    let caller = ask.authorize(Permission::ManageUsage)?;
    let tenant = caller.tenant_id();
    let secret = notifications::set_channels(
        &ask,
        &caller,
        &body.email_recipients.join("\n"),
        body.webhook_url.as_deref(),
        body.rotate_secret,
    )
    .await?;
    Ok(Json(ChannelsSaved {
        channels: reads::notifications::channels(&ask.db, tenant).await?,
        webhook_secret: secret,
    }))
}

/// The latest 100 webhook deliveries, newest first: pending, delivered or failed, with the last error.
#[utoipa::path(
    get, path = "/notifications/webhook-deliveries", tag = "notifications", operation_id = "listWebhookDeliveries",
    responses((status = 200, description = "OK", body = Vec<WebhookDelivery>))
)]
pub async fn deliveries(ask: Ask) -> Result<Json<Vec<WebhookDelivery>>, AppError> {
    let tenant = ask.reads(Permission::ManageUsage)?;
    Ok(Json(
        reads::notifications::deliveries(&ask.db, &tenant, 100).await?,
    ))
}

/// The tenant's latest 100 emails (invitations, kills, limit crossings, connector health), newest first: pending, delivered or failed, with the last error.
#[utoipa::path(
    get, path = "/notifications/email-deliveries", tag = "notifications", operation_id = "listEmailDeliveries",
    responses((status = 200, description = "OK", body = Vec<EmailDelivery>))
)]
pub async fn email_deliveries(ask: Ask) -> Result<Json<Vec<EmailDelivery>>, AppError> {
    let tenant = ask.reads(Permission::ManageUsage)?;
    Ok(Json(
        reads::outbox::deliveries(&ask.db, &tenant, 100).await?,
    ))
}
