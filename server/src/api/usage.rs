//! Usage and billing through the REST API: the overview, entitlements and Sync
//! entitlements, applications and Virtual Services, the Usage and billing CSV, and the
//! tenant's notification channels. The same actions as the pages (`bandpool_services`).

use super::connector::Body;
use super::{Caller, Params};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bandpool_domain::auth::Permission;
use bandpool_domain::billing::{
    usage_csv_rows, usage_file_name, ApplicationPage, Channels, EmailDelivery, Entitlement,
    EntitlementSync, UsageOverview, VirtualService, WebhookDelivery,
};
use bandpool_domain::AppError;
use bandpool_services::applications::{self, ApplicationChange};
use bandpool_services::reads;
use bandpool_services::{entitlements, notifications};
use serde::{Deserialize, Serialize};

fn uuid(name: &str, id: &str) -> Result<(), AppError> {
    bandpool_domain::ids::Id::parse(name, "a record", id).map(|_| ())
}

/// GET /api/v1/usage
pub async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<UsageOverview>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(entitlements::overview(&state, &tenant).await?))
}

/// GET /api/v1/usage/export.csv: the guide's fields (Name, Progress ID, ...), then add-ons, then assets.
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::Export)?;
    let overview = entitlements::overview(&state, &tenant).await?;
    let applications = reads::billing::all_applications(&state.db, &tenant).await?;
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(4096));
    for row in usage_csv_rows(&overview, &applications) {
        writer.write_record(&row).map_err(AppError::internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    let file_name = usage_file_name(state.clock.today());
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

/// GET /api/v1/entitlements
pub async fn entitlement(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Entitlement>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(reads::billing::entitlement(&state.db, &tenant).await?))
}

/// POST /api/v1/entitlements/sync: 200 when it finished at once, 202 while it runs.
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<EntitlementSync>), AppError> {
    let caller = caller.authorize(Permission::ManageUsage)?;
    let run = entitlements::start_sync(&state, &caller).await?;
    let status = if run.finished() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(run)))
}

/// GET /api/v1/entitlements/sync/{id}
pub async fn sync_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EntitlementSync>, AppError> {
    let tenant = caller.tenant(Permission::ViewPool)?;
    uuid("id", &id)?;
    Ok(Json(entitlements::sync(&state, &tenant, &id).await?))
}

/// GET /api/v1/applications?page=&per_page= (10, 20 or 50)
pub async fn applications(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<ApplicationPage>, AppError> {
    params.only(&["page", "per_page"])?;
    let number = |name: &str, default: u32| -> Result<u32, AppError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| AppError::invalid(name, "must be a whole number")),
        }
    };
    let (page, per_page) = (number("page", 1)?, number("per_page", 10)?);
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        reads::billing::applications(&state.db, &tenant, page, per_page).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    name: String,
    #[serde(default)]
    virtual_service_ids: Vec<String>,
}

/// What an application change answers.
#[derive(Debug, Serialize)]
pub struct Changed {
    message: String,
}

async fn change(
    state: &AppState,
    caller: &Caller,
    change: ApplicationChange,
) -> Result<Json<Changed>, AppError> {
    let caller = caller.authorize(Permission::ManageUsage)?;
    let message = applications::change(state, &caller, change).await?;
    Ok(Json(Changed { message }))
}

/// POST /api/v1/applications: manual mapping.
pub async fn create_application(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewApplication>,
) -> Result<(StatusCode, Json<Changed>), AppError> {
    for id in &body.virtual_service_ids {
        uuid("virtual_service_ids", id)?;
    }
    let answer = change(
        &state,
        &caller,
        ApplicationChange::Create {
            name: body.name,
            virtual_service_ids: body.virtual_service_ids,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, answer))
}

/// POST /api/v1/applications/quick-map: one application per unmapped Virtual Service.
pub async fn quick_map(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Changed>, AppError> {
    change(&state, &caller, ApplicationChange::QuickMap).await
}

/// DELETE /api/v1/applications/{id}
pub async fn delete_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Changed>, AppError> {
    uuid("id", &id)?;
    change(
        &state,
        &caller,
        ApplicationChange::Delete { application_id: id },
    )
    .await
}

/// PUT /api/v1/applications/{id}/virtual-services/{vs}: map (409 application_full or
/// virtual_service_mapped).
pub async fn map(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, vs)): Path<(String, String)>,
) -> Result<Json<Changed>, AppError> {
    uuid("id", &id)?;
    uuid("virtual_service_id", &vs)?;
    change(
        &state,
        &caller,
        ApplicationChange::Map {
            application_id: id,
            virtual_service_id: vs,
        },
    )
    .await
}

/// DELETE /api/v1/applications/{id}/virtual-services/{vs}: unmap.
pub async fn unmap(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, vs)): Path<(String, String)>,
) -> Result<Json<Changed>, AppError> {
    uuid("id", &id)?;
    uuid("virtual_service_id", &vs)?;
    change(
        &state,
        &caller,
        ApplicationChange::Unmap {
            application_id: Some(id),
            virtual_service_id: vs,
        },
    )
    .await
}

/// GET /api/v1/virtual-services: unmapped first (at most 2,000).
pub async fn virtual_services(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Vec<VirtualService>>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ViewPool)?;
    Ok(Json(
        reads::billing::virtual_services(&state.db, &tenant, 2000).await?,
    ))
}

/// GET /api/v1/notifications/channels
pub async fn channels(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Channels>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ManageUsage)?;
    Ok(Json(
        reads::notifications::channels(&state.db, &tenant).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    #[serde(default)]
    email_recipients: Vec<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    rotate_secret: bool,
}

#[derive(Debug, Serialize)]
pub struct ChannelsSaved {
    channels: Channels,
    /// The webhook's new signing secret, when one was made (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

/// PUT /api/v1/notifications/channels
pub async fn set_channels(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<ChannelChange>,
) -> Result<Json<ChannelsSaved>, AppError> {
    let caller = caller.authorize(Permission::ManageUsage)?;
    let tenant = caller.tenant_id();
    let secret = notifications::set_channels(
        &state,
        &caller,
        &body.email_recipients.join("\n"),
        body.webhook_url.as_deref(),
        body.rotate_secret,
    )
    .await?;
    Ok(Json(ChannelsSaved {
        channels: reads::notifications::channels(&state.db, tenant).await?,
        webhook_secret: secret,
    }))
}

/// GET /api/v1/notifications/webhook-deliveries: the latest 100, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Vec<WebhookDelivery>>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ManageUsage)?;
    Ok(Json(
        reads::notifications::deliveries(&state.db, &tenant, 100).await?,
    ))
}

/// GET /api/v1/notifications/email-deliveries: the tenant's latest 100 emails, newest first
/// (pending, delivered or failed, with the last error).
pub async fn email_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Vec<EmailDelivery>>, AppError> {
    params.only(&[])?;
    let tenant = caller.tenant(Permission::ManageUsage)?;
    Ok(Json(
        reads::outbox::deliveries(&state.db, &tenant, 100).await?,
    ))
}
