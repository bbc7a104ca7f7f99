//! Sync entitlements, from the operator's records or an upstream licensing service over
//! HTTPS, and an operator setting a tenant's entitlement; the Usage and billing overview
//! these figures feed.

use bandpool_domain::billing::{
    Entitlement, EntitlementSourceKind, EntitlementSync, UsageOverview,
};
use bandpool_domain::AppError;
use std::time::Duration;

use crate::change::{Caller, Event, Scope};
use crate::notifications::check_limits;
use crate::{Actor, Services};

/// Where entitlements come from (settings).
#[derive(Clone, Debug)]
pub enum EntitlementSource {
    /// The operator's own records: what an operator sets is what applies.
    Operator,
    /// `GET {url}/v1/entitlements/{progress_id}` with `Authorization: Bearer {token}`.
    Upstream {
        url: String,
        token: crate::Secret,
        timeout: Duration,
    },
}

impl EntitlementSource {
    pub fn kind(&self) -> EntitlementSourceKind {
        match self {
            EntitlementSource::Operator => EntitlementSourceKind::Operator,
            EntitlementSource::Upstream { .. } => EntitlementSourceKind::Upstream,
        }
    }
}

/// The Usage and billing page's figures.
pub async fn overview(services: &Services, tenant_id: &str) -> Result<UsageOverview, AppError> {
    fail_stale_syncs(services, tenant_id).await?;
    bandpool_store::billing::overview(&services.db, tenant_id, services.entitlements.kind()).await
}

/// A Sync entitlements run as it stands (one its instance abandoned reads as failed).
pub async fn sync(
    services: &Services,
    tenant_id: &str,
    id: &str,
) -> Result<EntitlementSync, AppError> {
    fail_stale_syncs(services, tenant_id).await?;
    bandpool_store::billing::sync(&services.db, tenant_id, id).await
}

/// Runs abandoned by a stopped instance read as failed from here on.
async fn fail_stale_syncs(services: &Services, tenant_id: &str) -> Result<(), AppError> {
    bandpool_store::billing::fail_stale_syncs(
        &services.db,
        tenant_id,
        services.now(),
        stale_after(services),
    )
    .await
}

/// A run still "running" this long after it started was abandoned (its instance stopped).
fn stale_after(services: &Services) -> i64 {
    match &services.entitlements {
        EntitlementSource::Operator => 60,
        EntitlementSource::Upstream { timeout, .. } => timeout.as_secs() as i64 + 60,
    }
}

// ---- Sync entitlements ----

/// Start Sync entitlements. From the operator's records it finishes at once; from an
/// upstream service it runs in the background and the page follows it. A sync already
/// running is answered instead of starting another.
pub async fn start_sync(services: &Services, caller: &Caller) -> Result<EntitlementSync, AppError> {
    let tenant_id = caller.tenant_id();
    let actor = &caller.actor;
    let stale_after = stale_after(services);
    let (run, new) = services
        .change(caller.scope(), async |tx| {
            let (run, new) = bandpool_store::billing::start_sync(
                tx,
                tenant_id,
                services.entitlements.kind(),
                services.now(),
                stale_after,
            )
            .await?;
            let from = match services.entitlements.kind() {
                EntitlementSourceKind::Operator => "from the operator's records",
                EntitlementSourceKind::Upstream => "from the licensing service",
            };
            // A sync already running is joined, not started again: nothing to record.
            let event = new.then(|| Event::new("entitlements_sync_started", "entitlements", from));
            Ok(((run, new), event))
        })
        .await?;
    if !new {
        return Ok(run);
    }
    match services.entitlements {
        EntitlementSource::Operator => {
            run_entitlement_sync(
                services.clone(),
                actor.clone(),
                tenant_id.to_string(),
                run.id.clone(),
            )
            .await;
            bandpool_store::billing::sync(&services.db, tenant_id, &run.id).await
        }
        EntitlementSource::Upstream { .. } => {
            tokio::spawn(run_entitlement_sync(
                services.clone(),
                actor.clone(),
                tenant_id.to_string(),
                run.id.clone(),
            ));
            Ok(run)
        }
    }
}

/// Pull, apply, record. Every outcome ends the run (done or failed), with its event in the
/// same transaction; nothing is applied on failure.
async fn run_entitlement_sync(services: Services, actor: Actor, tenant_id: String, run_id: String) {
    let scope = Scope {
        actor: &actor,
        tenant_id: Some(&tenant_id),
    };
    let outcome = async {
        let (next, orders) = fetch_entitlement(&services, &tenant_id).await?;
        let not_valid = |error: AppError| match error {
            AppError::InvalidParameter { parameter, reason } => AppError::EntitlementSourceFailed {
                reason: format!("its answer is not a valid entitlement ({parameter} {reason})"),
            },
            other => other,
        };
        services
            .change(scope.clone(), async |tx| {
                let changes = bandpool_store::billing::apply_entitlement(
                    tx,
                    &tenant_id,
                    &next,
                    services.now(),
                )
                .await
                .map_err(not_valid)?;
                // The orders the licensing service carries are recorded with it, all or none.
                for order in &orders {
                    let checked = order.checked().map_err(not_valid)?;
                    bandpool_store::lifecycle::record_order(
                        tx,
                        &tenant_id,
                        &checked,
                        services.now(),
                    )
                    .await
                    .map_err(not_valid)?;
                }
                bandpool_store::billing::finish_sync(
                    tx,
                    &tenant_id,
                    &run_id,
                    Ok(&changes),
                    services.now(),
                )
                .await?;
                let mut detail = bandpool_domain::billing::describe_changes(&changes);
                if !orders.is_empty() {
                    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.trim()).collect();
                    detail.push_str(&format!("; orders recorded: {}", ids.join(", ")));
                }
                Ok((
                    (),
                    Some(Event::new("entitlements_synced", "entitlements", detail)),
                ))
            })
            .await
    }
    .await;
    if let Err(error) = outcome {
        tracing::warn!(%error, tenant_id, "entitlement sync failed");
        let failed = services
            .change(scope, async |tx| {
                bandpool_store::billing::finish_sync(
                    tx,
                    &tenant_id,
                    &run_id,
                    Err(&error),
                    services.now(),
                )
                .await?;
                let event = Event::new(
                    "entitlements_sync_failed",
                    "entitlements",
                    error.to_string(),
                );
                Ok(((), Some(event)))
            })
            .await;
        if let Err(e) = failed {
            tracing::error!(error = %e, tenant_id, "could not record a failed entitlement sync");
        }
    }
    check_limits(&services, &tenant_id).await;
}

/// What the licensing service answers: the entitlement, and the tenant's orders when it
/// carries them (each recorded as an operator's would be; absent: orders are left as they are).
#[derive(serde::Deserialize)]
struct UpstreamAnswer {
    #[serde(flatten)]
    entitlement: Entitlement,
    #[serde(default)]
    orders: Vec<bandpool_domain::lifecycle::OrderInput>,
}

/// At most this many orders in one answer.
const MAX_UPSTREAM_ORDERS: usize = 200;

/// The latest entitlement from the configured source, with the orders it carries.
async fn fetch_entitlement(
    services: &Services,
    tenant_id: &str,
) -> Result<(Entitlement, Vec<bandpool_domain::lifecycle::OrderInput>), AppError> {
    let current = bandpool_store::billing::entitlement(&services.db, tenant_id).await?;
    let EntitlementSource::Upstream {
        url,
        token,
        timeout,
    } = &services.entitlements
    else {
        // The operator's records are what applies: a sync re-reads them.
        return Ok((current, Vec::new()));
    };
    let failed = |reason: String| AppError::EntitlementSourceFailed { reason };
    if current.progress_id.trim().is_empty() {
        return Err(failed(
            "this tenant has no Progress ID to look up; an operator sets it on the tenant".into(),
        ));
    }
    let mut address =
        reqwest::Url::parse(url).map_err(|e| failed(format!("its address is not a URL ({e})")))?;
    address
        .path_segments_mut()
        .map_err(|_| failed("its address cannot take a path".into()))?
        .pop_if_empty()
        .extend(["v1", "entitlements", current.progress_id.trim()]);
    let response = services
        .outbound
        .client
        .get(address)
        .bearer_auth(token.expose())
        .timeout(*timeout)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                failed(format!(
                    "the licensing service did not answer within {} s",
                    timeout.as_secs()
                ))
            } else {
                tracing::warn!(error = %e, "licensing service unreachable");
                failed("the licensing service could not be reached".into())
            }
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(failed(format!(
            "the licensing service does not know Progress ID {}",
            current.progress_id.trim()
        )));
    }
    if !status.is_success() {
        return Err(failed(format!(
            "the licensing service answered HTTP {}",
            status.as_u16()
        )));
    }
    let body = tokio::time::timeout(*timeout, response.bytes())
        .await
        .map_err(|_| {
            failed(format!(
                "the licensing service did not answer within {} s",
                timeout.as_secs()
            ))
        })?
        .map_err(|_| failed("the licensing service's answer was cut off".into()))?;
    if body.len() > 1_000_000 {
        return Err(failed("the licensing service's answer is too large".into()));
    }
    let answer = serde_json::from_slice::<UpstreamAnswer>(&body).map_err(|e| {
        failed(format!(
            "its answer is not an entitlement ({})",
            e.to_string().chars().take(200).collect::<String>()
        ))
    })?;
    if answer.orders.len() > MAX_UPSTREAM_ORDERS {
        return Err(failed(format!(
            "its answer carries more than {MAX_UPSTREAM_ORDERS} orders"
        )));
    }
    Ok((answer.entitlement, answer.orders))
}

/// An operator sets a tenant's entitlement (the operator source's records). It applies at
/// once; the change is in the event log.
pub async fn set(
    services: &Services,
    actor: &Actor,
    tenant_id: &str,
    next: &Entitlement,
) -> Result<Vec<bandpool_domain::billing::EntitlementChange>, AppError> {
    let scope = Scope {
        actor,
        tenant_id: Some(tenant_id),
    };
    let changes = services
        .change(scope, async |tx| {
            let changes =
                bandpool_store::billing::apply_entitlement(tx, tenant_id, next, services.now())
                    .await?;
            // Saving the same entitlement again changes nothing and records nothing.
            let event = (!changes.is_empty()).then(|| {
                let detail = bandpool_domain::billing::describe_changes(&changes);
                Event::new("entitlement_changed", "entitlements", detail)
            });
            Ok((changes, event))
        })
        .await?;
    check_limits(services, tenant_id).await;
    Ok(changes)
}

/// An operator edits a tenant's entitlement as the form shows it (the Tenants page sends
/// every field; the command line changes only those it is given): the form starts from the
/// entitlement as it is, `edit` changes it, and it is checked and applied as `set` does.
pub async fn edit(
    services: &Services,
    actor: &Actor,
    tenant_id: &str,
    edit: impl FnOnce(&mut bandpool_domain::billing::EntitlementForm),
) -> Result<Vec<bandpool_domain::billing::EntitlementChange>, AppError> {
    let current = bandpool_store::billing::entitlement(&services.db, tenant_id).await?;
    let mut form = bandpool_domain::billing::EntitlementForm::of(&current);
    edit(&mut form);
    let next = form.parse(current.virtual_service_limit)?;
    set(services, actor, tenant_id, &next).await
}
