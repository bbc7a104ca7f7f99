//! Connector messages: what a connector agent relays for its LoadMasters (registration,
//! heartbeats, license checks, activations, deactivations) and the portal's commands it
//! takes and acknowledges. The REST handlers under /api/v1/connector/ authenticate the
//! connector and call these; every one that changes something carries an idempotency key.

use std::time::Duration;

use bandpool_domain::connector::{
    Activation, ActivationRequest, CheckReport, CheckReportResponse, CommandAck, CommandBatch,
    CommandKind, ConnectorStatus, Deactivation, DeactivationRequest, Heartbeat, HeartbeatResponse,
    RegisterRequest, MAX_WAIT_SECONDS,
};
use bandpool_domain::ids::Id;
use bandpool_domain::metered::{UsageReport, UsageReportResponse};
use bandpool_domain::AppError;
pub use bandpool_store::connectors::ConnectorIdentity;
use bandpool_store::connectors::Seen;
use bandpool_store::licensing::Channel;

use crate::Services;

/// The connector a credential belongs to, if any.
pub async fn authenticate(
    services: &Services,
    credential: &str,
) -> Result<Option<ConnectorIdentity>, AppError> {
    bandpool_store::connectors::authenticate(&services.db, credential).await
}

fn check_address(address: Option<&str>) -> Result<(), AppError> {
    if let Some(address) = address {
        let ok = address.len() <= 200
            && reqwest::Url::parse(address)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .unwrap_or(false);
        if !ok {
            return Err(AppError::invalid(
                "address",
                "must be the http(s) URL LoadMasters reach the connector at",
            ));
        }
    }
    Ok(())
}

fn check_version(version: &str) -> Result<(), AppError> {
    if version.trim().is_empty() || version.len() > 40 || version.chars().any(char::is_control) {
        return Err(AppError::invalid("version", "must be 1 to 40 characters"));
    }
    Ok(())
}

/// A connector exchanges its one-time registration token for its credential.
pub async fn register(
    services: &Services,
    request: &RegisterRequest,
) -> Result<(ConnectorIdentity, String), AppError> {
    check_version(&request.version)?;
    check_address(request.address.as_deref())?;
    let (identity, credential) = bandpool_store::connectors::register(
        &services.db,
        request.registration_token.trim(),
        &request.version,
        request.address.as_deref(),
        services.now(),
    )
    .await?;
    tracing::info!(connector = %identity.name, tenant = %identity.tenant_id, "connector registered");
    Ok((identity, credential))
}

/// The connector spoke: it is alive. A connector back from Down has its licenses Active
/// again, and its tenant is told.
async fn seen(
    services: &Services,
    connector: &ConnectorIdentity,
    address: Option<&str>,
    version: Option<&str>,
) -> Result<(), AppError> {
    let Seen { came_back, .. } =
        bandpool_store::connectors::seen(&services.db, connector, services.now(), address, version)
            .await?;
    if let Some(restored) = came_back {
        tracing::info!(connector = %connector.name, restored, "connector back online");
        crate::connectors::came_back(services, &connector.tenant_id, &connector.name, restored)
            .await;
    }
    Ok(())
}

/// A heartbeat: alive, at this address, running this version.
pub async fn heartbeat(
    services: &Services,
    connector: &ConnectorIdentity,
    beat: &Heartbeat,
) -> Result<HeartbeatResponse, AppError> {
    check_version(&beat.version)?;
    check_address(beat.address.as_deref())?;
    seen(
        services,
        connector,
        beat.address.as_deref(),
        Some(&beat.version),
    )
    .await?;
    Ok(HeartbeatResponse {
        connector_id: connector.id.clone(),
        status: ConnectorStatus::Up,
        server_time: services.now(),
        run_diagnostics: connector.diagnostics_due,
    })
}

/// The connector's diagnostics, run because an Owner or Admin asked: kept for the Connectors
/// page (replacing the last), with an event in the log (which also refreshes the page where
/// it is open).
pub async fn diagnostics(
    services: &Services,
    connector: &ConnectorIdentity,
    report: &bandpool_domain::connector::DiagnosticsReport,
) -> Result<(), AppError> {
    check_diagnostics(report)?;
    seen(services, connector, None, None).await?;
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    bandpool_store::connectors::record_diagnostics(&mut tx, connector, report, now).await?;
    let answered = report.checks.iter().filter(|c| c.ok).count();
    bandpool_store::events::Change::at(&connector.tenant_id, now, &connector.actor())
        .record(
            &mut tx,
            "connector_diagnostics",
            &connector.name,
            &format!("{answered} of {} checks answered", report.checks.len()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

fn check_diagnostics(
    report: &bandpool_domain::connector::DiagnosticsReport,
) -> Result<(), AppError> {
    use bandpool_domain::connector::MAX_DIAGNOSTIC_CHECKS;
    if report.checks.len() > MAX_DIAGNOSTIC_CHECKS {
        return Err(AppError::invalid(
            "checks",
            format!("at most {MAX_DIAGNOSTIC_CHECKS} checks in one report"),
        ));
    }
    let plain = |value: &str, max: usize| {
        !value.trim().is_empty()
            && value.chars().count() <= max
            && !value.chars().any(char::is_control)
    };
    for (i, check) in report.checks.iter().enumerate() {
        if !plain(&check.address, 255) {
            return Err(AppError::invalid(
                format!("checks[{i}].address"),
                "must be 1 to 255 characters without control characters",
            ));
        }
        if !plain(&check.message, 300) {
            return Err(AppError::invalid(
                format!("checks[{i}].message"),
                "must be 1 to 300 characters without control characters",
            ));
        }
    }
    Ok(())
}

/// LoadMasters' license checks, many at once: each counted once, each answered with its
/// license's status.
pub async fn checks(
    services: &Services,
    connector: &ConnectorIdentity,
    report: &CheckReport,
) -> Result<CheckReportResponse, AppError> {
    // Seen first: a connector back from Down has its licenses Active again before they are
    // answered.
    seen(services, connector, None, None).await?;
    bandpool_store::licensing::record_checks(&services.db, connector, report, services.now()).await
}

/// Usage samples of metered LoadMasters, many at once: each stored and counted once, moving
/// its LoadMaster's daily and monthly peaks in the same transaction.
pub async fn usage(
    services: &Services,
    connector: &ConnectorIdentity,
    report: &UsageReport,
) -> Result<UsageReportResponse, AppError> {
    seen(services, connector, None, None).await?;
    bandpool_store::metered::record_usage(
        &services.db,
        connector,
        report,
        services.now(),
        services.connectors.sample_retention_secs,
    )
    .await
}

/// A LoadMaster takes a license from the pool (the decision is
/// `bandpool_domain::activation::decide`); answers the license and whether it was held
/// already (or a replay).
pub async fn activate(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &ActivationRequest,
) -> Result<(Activation, bool), AppError> {
    seen(services, connector, None, None).await?;
    let (activation, again) =
        bandpool_store::licensing::activate(&services.db, connector, request, services.now())
            .await?;
    if !again {
        limits_after_change(services, &connector.tenant_id);
    }
    Ok((activation, again))
}

/// Which licenses a LoadMaster may take (an order's, or the pool's for its SKU) with how
/// many of each remain, before it picks one and activates it.
pub async fn availability(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &bandpool_domain::lifecycle::AvailabilityRequest,
) -> Result<bandpool_domain::lifecycle::Availability, AppError> {
    for (name, value) in [("serial_no", &request.serial_no), ("sku", &request.sku)] {
        if value.trim().is_empty()
            || value.chars().count() > 64
            || value.chars().any(char::is_control)
        {
            return Err(AppError::invalid(name, "must be 1 to 64 characters"));
        }
    }
    if let Some(order_id) = request.order_id.as_deref() {
        bandpool_domain::lifecycle::check_order_id("order_id", order_id)?;
    }
    seen(services, connector, None, None).await?;
    bandpool_store::lifecycle::availability(
        &services.db,
        &connector.tenant_id,
        request,
        services.now(),
    )
    .await
}

/// Update License/Owner from a LoadMaster: renewed support or term, a changed license type,
/// a trial or temporary license upgraded to permanent (`bandpool_store::licensing::update`).
pub async fn update(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &bandpool_domain::lifecycle::LicenseUpdateRequest,
) -> Result<bandpool_domain::lifecycle::LicenseUpdate, AppError> {
    seen(services, connector, None, None).await?;
    let answer =
        bandpool_store::licensing::update(&services.db, connector, request, services.now()).await?;
    if !answer.changes.is_empty() {
        limits_after_change(services, &connector.tenant_id);
    }
    Ok(answer)
}

/// Kill License on a LoadMaster to transfer its permanent license: the prerequisites checked
/// (`bandpool_domain::lifecycle::check_transfer`), the license killed and its order's license
/// free, and the tenant's Owners emailed in the same transaction.
pub async fn transfer(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &bandpool_domain::lifecycle::TransferRequest,
) -> Result<bandpool_domain::lifecycle::Transfer, AppError> {
    seen(services, connector, None, None).await?;
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    let (answer, again) =
        bandpool_store::licensing::release_for_transfer(&mut tx, connector, request, now).await?;
    if !again {
        let subject = format!("License killed for transfer: serial {}", request.serial_no);
        let body = format!(
            "The LoadMaster with serial {} killed its license through connector {} to transfer it. \
             Order {}'s license is free: license the new LoadMaster with that Order ID.\n\n{}\n",
            request.serial_no,
            connector.name,
            answer.order_id,
            services.portal.link("/licenses"),
        );
        for owner in bandpool_store::accounts::owner_emails(&mut tx, &connector.tenant_id).await? {
            crate::mail::queue(
                services,
                &mut tx,
                Some(&connector.tenant_id),
                &owner,
                &subject,
                &body,
            )
            .await?;
        }
    }
    tx.commit().await?;
    if !again {
        services.outbox.wake();
        limits_after_change(services, &connector.tenant_id);
    }
    Ok(answer)
}

/// Change of owner: a LoadMaster behind this connector moves the license it holds from
/// another tenant to this connector's (`bandpool_store::licensing::change_owner`, both pools
/// in one transaction). The previous owner's Owners, the new owner's Owners and the vendor's
/// address (`vendor_email`) are emailed in the same transaction.
pub async fn change_owner(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &bandpool_domain::lifecycle::OwnerChangeRequest,
) -> Result<bandpool_domain::lifecycle::OwnerChange, AppError> {
    seen(services, connector, None, None).await?;
    move_license(services, &Channel::Connector(connector), request).await
}

/// Change of owner by either channel: through the new owner's connector, or offline with the
/// serial number and access code (`crate::offline`).
pub(crate) async fn move_license(
    services: &Services,
    channel: &Channel<'_>,
    request: &bandpool_domain::lifecycle::OwnerChangeRequest,
) -> Result<bandpool_domain::lifecycle::OwnerChange, AppError> {
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    let (answer, moved) =
        bandpool_store::licensing::change_owner(&mut tx, channel, request, now).await?;
    let new = channel.tenant_id();
    if let Some(previous) = &moved {
        let (from, to) = (
            bandpool_store::metered_report::tenant_name(&mut tx, previous).await?,
            bandpool_store::metered_report::tenant_name(&mut tx, new).await?,
        );
        let what = format!(
            "the {} license (serial {}, {})",
            answer.license.license_name, request.serial_no, request.device_name
        );
        let mut mails: Vec<(Option<&str>, String, String, String)> = Vec::new();
        for owner in bandpool_store::accounts::owner_emails(&mut tx, previous).await? {
            mails.push((
                Some(previous.as_str()),
                owner,
                format!(
                    "License moved to another owner: serial {}",
                    request.serial_no
                ),
                format!(
                    "The LoadMaster holding {what} changed its license's owner: it now belongs to \
                     another tenant. Its capacity is back in your pool.\n\n{}\n",
                    services.portal.link("/license-repository")
                ),
            ));
        }
        for owner in bandpool_store::accounts::owner_emails(&mut tx, new).await? {
            mails.push((
                Some(new),
                owner,
                format!("License moved to you: serial {}", request.serial_no),
                format!(
                    "The LoadMaster holding {what} changed its license's owner {}: the license is \
                     now yours and takes its capacity from your pool.\n\n{}\n",
                    match channel {
                        Channel::Connector(c) => format!("through your connector {}", c.name),
                        Channel::Offline { actor, .. } => {
                            format!("by offline licensing ({})", actor.label)
                        }
                    },
                    services.portal.link("/licenses")
                ),
            ));
        }
        if let Some(vendor) = &services.vendor_email {
            mails.push((
                None,
                vendor.clone(),
                format!("Change of owner: serial {}", request.serial_no),
                format!("The owner of {what} changed from {from} to {to}.\n"),
            ));
        }
        for (tenant, to, subject, body) in mails {
            crate::mail::queue(services, &mut tx, tenant, &to, &subject, &body).await?;
        }
    }
    tx.commit().await?;
    if let Some(previous) = moved {
        services.outbox.wake();
        limits_after_change(services, &previous);
        limits_after_change(services, new);
    }
    Ok(answer)
}

/// A LoadMaster gives its license back.
pub async fn deactivate(
    services: &Services,
    connector: &ConnectorIdentity,
    request: &DeactivationRequest,
) -> Result<Deactivation, AppError> {
    seen(services, connector, None, None).await?;
    let answer =
        bandpool_store::licensing::deactivate(&services.db, connector, request, services.now())
            .await?;
    limits_after_change(services, &connector.tenant_id);
    Ok(answer)
}

/// The pool changed: see whether a limit was reached or cleared, after the answer (the
/// crossing is recorded once, whichever instance sees it first).
pub(crate) fn limits_after_change(services: &Services, tenant_id: &str) {
    let (services, tenant_id) = (services.clone(), tenant_id.to_string());
    tokio::spawn(async move { crate::notifications::check_limits(&services, &tenant_id).await });
}

/// The connector's channel for the portal's commands: answers at once when commands are
/// pending, else waits up to `wait` seconds (woken by a command queued on this instance;
/// other instances' commands are found by looking again every two seconds).
pub async fn commands(
    services: &Services,
    connector: &ConnectorIdentity,
    wait: u64,
) -> Result<CommandBatch, AppError> {
    if wait > MAX_WAIT_SECONDS {
        return Err(AppError::invalid(
            "wait",
            format!("must be 0 to {MAX_WAIT_SECONDS} seconds"),
        ));
    }
    seen(services, connector, None, None).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let bell = services.wakeups.bell(&connector.id);
    loop {
        let rung = bell.notified();
        let pending =
            bandpool_store::commands::pending(&services.db, &connector.tenant_id, &connector.id)
                .await?;
        let now = tokio::time::Instant::now();
        if !pending.is_empty() || now >= deadline {
            return Ok(CommandBatch { commands: pending });
        }
        let next_look = (now + Duration::from_secs(2)).min(deadline);
        tokio::select! {
            _ = rung => {}
            _ = tokio::time::sleep_until(next_look) => {}
        }
    }
}

/// The connector carried out a command (or could not); twice is harmless. A Sync licenses
/// answer is recorded for its run.
pub async fn ack(
    services: &Services,
    connector: &ConnectorIdentity,
    command_id: &str,
    result: &CommandAck,
) -> Result<(), AppError> {
    let command_id = Id::parse("id", "a command", command_id)?;
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    tx.lock_pool(&connector.tenant_id).await?;
    let first = bandpool_store::commands::ack(
        &mut tx,
        &connector.tenant_id,
        &connector.id,
        &command_id,
        result,
        now,
    )
    .await?;
    if let Some(command) = first {
        match (&command.kind, result) {
            (CommandKind::Sync { run_id }, CommandAck::Sync { appliances }) => {
                bandpool_store::sync::record_answer(&mut tx, connector, run_id, appliances, now)
                    .await?;
            }
            (CommandKind::Kill { serial_no, .. }, CommandAck::Failed { reason }) => {
                tracing::warn!(connector = %connector.name, %serial_no, %reason, "connector could not carry out a kill");
            }
            _ => {}
        }
    }
    tx.commit().await?;
    seen(services, connector, None, None).await
}
