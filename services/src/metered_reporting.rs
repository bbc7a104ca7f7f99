//! Automatic reporting: each metered tenant's usage report goes to the vendor's reporting
//! service over HTTPS, every day for the day before and at the end of each UTC month for the
//! month, signed with this deployment's Ed25519 key so the vendor knows where it came from
//! and that nobody changed it. Failed uploads are retried with backoff; "Upload now" and
//! "Retry upload" send at once. The reporting grace counts from the last successful upload:
//! Owners and Admins are warned at 30, 7 and 1 days left, and at zero every metered
//! LoadMaster is removed and metered activations are refused until an upload succeeds.

use bandpool_domain::metered_reporting::{
    days_left, retry_after, upload_date, warning_due, ReportingSettings, ReportingStatus,
    UploadOutcome, UploadPeriod, GRACE_DAYS,
};
use bandpool_domain::AppError;
use bandpool_store::metered_reporting as store;
use ed25519_dalek::{Signer, SigningKey};
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;

use crate::change::{Caller, Event};
use crate::{Actor, Services};

/// Where this deployment uploads usage reports (settings): `POST {url}/v1/usage-reports`
/// with `Authorization: Bearer {token}`, signed with `signing_key`.
#[derive(Clone)]
pub struct ReportingService {
    pub url: String,
    pub token: crate::Secret,
    pub signing_key: std::sync::Arc<SigningKey>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ReportingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportingService")
            .field("url", &self.url)
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl ReportingService {
    /// The public half of the signing key, hex: what the vendor registers for this
    /// deployment (also sent with each upload as `Bandpool-Key`).
    pub fn public_key(&self) -> String {
        hex::encode(self.signing_key.verifying_key().as_bytes())
    }
}

/// A signing key from its 32-byte seed in hex (the `metered_reports_signing_key` setting).
pub fn signing_key(seed_hex: &str) -> Result<SigningKey, String> {
    crate::secret::ed25519_from_seed("metered_reports_signing_key", seed_hex)
}

/// What a deployment sends for one tenant and period.
#[derive(Serialize)]
struct UsageUpload<'a> {
    /// This deployment's address.
    deployment: &'a str,
    tenant_id: &'a str,
    /// `YYYY-MM` or `YYYY-MM-DD`; with the tenant, the upload's identity.
    period: &'a str,
    /// Whether the period has ended (its figures are final).
    #[serde(rename = "final")]
    final_figures: bool,
    generated_at: i64,
    report: &'a bandpool_domain::metered_report::MeteredReport,
    /// Every LoadMaster's peaks per day of the period: what the vendor bills from.
    daily_peaks: Vec<DailyPeak>,
}

#[derive(Serialize)]
struct DailyPeak {
    day: String,
    license_id: String,
    peak_bytes_per_second: i64,
    peak_ssl_tps: i64,
}

/// The tenant's Automatic Reporting settings and standing; none for a tenant without a
/// metered contract.
pub async fn status(
    services: &Services,
    tenant_id: &str,
) -> Result<Option<ReportingStatus>, AppError> {
    let db = &services.db;
    let row = store::get(db, tenant_id).await?;
    let contract = bandpool_store::metered::contract(db, tenant_id).await?;
    if row.is_none() && contract.is_none() {
        return Ok(None);
    }
    let now = services.now();
    let (last_success, failing) = store::latest(db, tenant_id).await?;
    let configured = services.reporting.is_some();
    Ok(Some(ReportingStatus {
        upload: row.as_ref().is_none_or(|r| r.upload),
        email: row.as_ref().is_some_and(|r| r.email),
        bcc: row.as_ref().map(|r| r.bcc.clone()).unwrap_or_default(),
        service_configured: configured,
        last_success,
        failing,
        days_left: configured
            .then(|| days_left(row.as_ref().map(|r| r.grace_from).unwrap_or(now), now)),
        lapsed_at: row.and_then(|r| r.lapsed_at),
    }))
}

/// Apply the Automatic Reporting settings (Owners and Admins).
pub async fn apply(
    services: &Services,
    caller: &Caller,
    settings: ReportingSettings,
) -> Result<(), AppError> {
    let settings = settings.checked()?;
    let now = services.now();
    services
        .change(caller.scope(), async |tx| {
            store::set(tx, caller.tenant_id(), &settings, now).await?;
            let on = |b: bool| if b { "on" } else { "off" };
            let event = Event::new(
                "metered_reporting_changed",
                "Automatic reporting",
                format!(
                    "Upload usage report to the vendor: {}; send monthly usage report via email: {}; bcc: {}",
                    on(settings.upload),
                    on(settings.email),
                    if settings.bcc.is_empty() { "none" } else { &settings.bcc }
                ),
            );
            Ok(((), Some(event)))
        })
        .await
}

fn require_service(services: &Services) -> Result<&ReportingService, AppError> {
    services
        .reporting
        .as_ref()
        .ok_or(AppError::ReportingNotConfigured)
}

/// "Upload now": the current month so far goes to the vendor at once (it is sent again,
/// final, when the month ends). Answers the period and whether it went through.
pub async fn upload_now(services: &Services, caller: &Caller) -> Result<UploadOutcome, AppError> {
    require_service(services)?;
    let period = UploadPeriod::month(services.clock.today());
    let now = services.now();
    services
        .change(caller.scope(), async |tx| {
            store::send_again(tx, caller.tenant_id(), &period.0, now).await?;
            let event = Event::new(
                "metered_report_upload_requested",
                "Upload now",
                period.0.clone(),
            );
            Ok(((), Some(event)))
        })
        .await?;
    send_one(services, caller.tenant_id(), &period.0).await
}

/// "Retry upload": every upload of the tenant waiting after a failure is tried at once.
/// Answers how many were waiting and how many went through.
pub async fn retry(services: &Services, caller: &Caller) -> Result<(u64, usize), AppError> {
    require_service(services)?;
    let now = services.now();
    let waiting = services
        .change(caller.scope(), async |tx| {
            let n = store::retry_failed(tx, caller.tenant_id(), now).await?;
            let event = Event::new(
                "metered_report_upload_requested",
                "Retry upload",
                format!("{n} waiting"),
            );
            Ok((n, Some(event)))
        })
        .await?;
    let mut delivered = 0;
    for due in store::due(&services.db, now, 1_000).await? {
        if due.tenant_id == caller.tenant_id()
            && send_one(services, &due.tenant_id, &due.period)
                .await?
                .delivered
        {
            delivered += 1;
        }
    }
    Ok((waiting, delivered))
}

/// What one reporting pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportingPass {
    /// Monthly usage reports emailed.
    pub emailed: usize,
    pub delivered: usize,
    pub failed: usize,
    pub warned: usize,
    /// Tenants whose metered licensing stopped in this pass.
    pub lapsed: usize,
    /// Metered LoadMasters removed with them.
    pub removed: usize,
}

/// One pass of automatic reporting at the clock's now (the health sweep runs it): last
/// month's report is emailed where that is on; and, with a reporting service, the periods
/// due are queued (yesterday, and the month before this one), due uploads are sent, and the
/// reporting grace is checked.
pub async fn pass(services: &Services) -> Result<ReportingPass, AppError> {
    let mut outcome = ReportingPass::default();
    let now = services.now();
    let today = services.clock.today();
    store::ensure_all(&services.db, now).await?;
    let last_month = today.checked_sub_months(chrono::Months::new(1));
    for row in store::all(&services.db).await?.iter().filter(|r| r.email) {
        if let Some(month) = last_month.map(UploadPeriod::month) {
            if email_month(services, row, &month).await? {
                outcome.emailed += 1;
            }
        }
    }
    if services.reporting.is_none() {
        // Without a reporting service there is no grace: a stop left from when there was one
        // (the service since removed from the settings) must not refuse activations forever,
        // and a service configured later starts each tenant from the full 90 days.
        store::hold_graces(&services.db, now).await?;
        return Ok(outcome);
    }
    let periods = [
        today.pred_opt().map(UploadPeriod::day),
        last_month.map(UploadPeriod::month),
    ];
    // One transaction for every tenant: the pass runs every minute, and a period queued
    // already is left as it is.
    let rows = store::all(&services.db).await?;
    let mut tx = services.db.begin_write().await?;
    for row in rows.iter().filter(|r| r.upload) {
        for period in periods.iter().flatten() {
            store::queue(&mut tx, &row.tenant_id, &period.0, now).await?;
        }
    }
    tx.commit().await?;
    for due in store::due(&services.db, now, 100).await? {
        if send_one(services, &due.tenant_id, &due.period)
            .await?
            .delivered
        {
            outcome.delivered += 1;
        } else {
            outcome.failed += 1;
        }
    }
    for row in store::all(&services.db).await? {
        let left = days_left(row.grace_from, now);
        if left == 0 && row.lapsed_at.is_none() {
            let removed = lapse(services, &row.tenant_id).await?;
            outcome.lapsed += 1;
            outcome.removed += removed;
        } else if let Some(threshold) = warning_due(left, row.warned_at_days) {
            warn(services, &row.tenant_id, threshold, left).await?;
            outcome.warned += 1;
        }
    }
    Ok(outcome)
}

/// Email a closed month's usage report to the tenant's Owners and Admins (the bcc address on
/// the first message), once: the summary zip and the PDF attached, or, when together they are
/// larger than `report_email_max_bytes`, links to download them after signing in. Answers
/// whether it was queued now.
async fn email_month(
    services: &Services,
    row: &store::Reporting,
    month: &UploadPeriod,
) -> Result<bool, AppError> {
    if row.emailed_month.as_deref() >= Some(month.0.as_str()) {
        return Ok(false);
    }
    let today = services.clock.today();
    let range = month.range(today)?;
    let tenant_id = row.tenant_id.as_str();
    let limit = services.report_email_max_bytes;
    // Built before the transaction: at most the limit is held (a larger zip is cut off and
    // sent as a link instead).
    let mut zip = Vec::new();
    let mut stream = crate::metered_report::summary_zip(services, tenant_id, &range);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(AppError::internal)?;
        zip.extend_from_slice(&chunk);
        if zip.len() > limit {
            break;
        }
    }
    drop(stream);
    let pdf = if zip.len() <= limit {
        crate::metered_report::pdf(services, tenant_id, &range).await?
    } else {
        Vec::new()
    };
    let attach = zip.len() + pdf.len() <= limit;
    let query = format!("from={}&to={}", range.from_day(), range.to_day());
    let subject = format!(
        "Bandpool: metered usage report for {}",
        bandpool_domain::format::month_label(&month.0)
    );
    let body = if attach {
        format!(
            "The metered usage report for {label} ({from} to {to}) is attached: {stem}.zip holds \
             the summary (asl.csv, devices.csv, ssl_tps.csv, throughput.csv, vs_bytes.csv) and \
             {stem}.pdf the report's graphs and tables.\n\nThe MELA report page: {page}\n",
            label = bandpool_domain::format::month_label(&month.0),
            from = range.from_day(),
            to = range.to_day(),
            stem = range.file_stem(),
            page = services.portal.link(&format!("/metered/report?{query}")),
        )
    } else {
        format!(
            "The metered usage report for {label} ({from} to {to}) is larger than this portal \
             sends by email ({max} MB), so it is not attached. Download it after signing in:\n\n\
             Summary (zip): {zip}\nReport (PDF): {pdf}\n\nThe MELA report page: {page}\n",
            label = bandpool_domain::format::month_label(&month.0),
            from = range.from_day(),
            to = range.to_day(),
            max = limit / (1024 * 1024),
            zip = services.portal.link(&format!(
                "/api/v1/metered/report/download?{query}&summary=on"
            )),
            pdf = services
                .portal
                .link(&format!("/api/v1/metered/report/pdf?{query}")),
            page = services.portal.link(&format!("/metered/report?{query}")),
        )
    };
    let attachments = if attach {
        vec![
            bandpool_store::outbox::Attachment {
                file_name: format!("{}.zip", range.file_stem()),
                content_type: "application/zip".into(),
                content: zip,
            },
            bandpool_store::outbox::Attachment {
                file_name: format!("{}.pdf", range.file_stem()),
                content_type: "application/pdf".into(),
                content: pdf,
            },
        ]
    } else {
        Vec::new()
    };
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    if !store::claim_email(&mut tx, tenant_id, &month.0).await? {
        return Ok(false);
    }
    let recipients = bandpool_store::accounts::owner_and_admin_emails(&mut tx, tenant_id).await?;
    for (i, to) in recipients.iter().enumerate() {
        let id =
            crate::mail::queue(services, &mut tx, Some(tenant_id), to, &subject, &body).await?;
        let bcc = (i == 0 && !row.bcc.is_empty()).then_some(row.bcc.as_str());
        bandpool_store::outbox::attach(&mut tx, &id, bcc, &attachments).await?;
    }
    reporting_change(tenant_id, now)
        .record(
            &mut tx,
            "metered_report_emailed",
            &month.0,
            &format!(
                "Monthly usage report emailed to {} Owner(s) and Admin(s){}{}",
                recipients.len(),
                if row.bcc.is_empty() {
                    String::new()
                } else {
                    format!(", bcc {}", row.bcc)
                },
                if attach {
                    ""
                } else {
                    " as download links (too large to attach)"
                }
            ),
        )
        .await?;
    tx.commit().await?;
    services.outbox.wake();
    Ok(true)
}

/// Send one tenant's period now and record the outcome (and, delivered, restart its grace).
pub async fn send_one(
    services: &Services,
    tenant_id: &str,
    period: &str,
) -> Result<UploadOutcome, AppError> {
    let service = require_service(services)?;
    let now = services.now();
    let today = services.clock.today();
    let period_of = UploadPeriod(period.to_string());
    let range = period_of.range(today)?;
    let report = crate::metered_report::report(services, tenant_id, &range).await?;
    let daily_peaks = bandpool_store::metered_report::stream_daily_peaks(
        &services.db,
        tenant_id,
        &range.from_day(),
        &range.to_day(),
    )
    .map(|row| {
        row.map(|p| DailyPeak {
            day: p.day,
            license_id: p.license_id,
            peak_bytes_per_second: p.peak_bytes_per_second,
            peak_ssl_tps: p.peak_ssl_tps,
        })
    })
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let upload = UsageUpload {
        deployment: &services.portal.public_url,
        tenant_id,
        period,
        final_figures: period_of.ended(today),
        generated_at: now,
        report: &report,
        daily_peaks,
    };
    let body = serde_json::to_vec(&upload).map_err(AppError::internal)?;
    let signature = hex::encode(service.signing_key.sign(&body).to_bytes());
    let sent = services
        .outbound
        .client
        .post(format!(
            "{}/v1/usage-reports",
            service.url.trim_end_matches('/')
        ))
        .bearer_auth(service.token.expose())
        .header("content-type", "application/json")
        .header("idempotency-key", format!("{tenant_id}:{period}"))
        .header("bandpool-key", service.public_key())
        .header("bandpool-signature", format!("ed25519={signature}"))
        .timeout(service.timeout)
        .body(body)
        .send()
        .await;
    let error = match sent {
        Ok(answer) if answer.status().is_success() => None,
        Ok(answer) => {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            Some(format!(
                "the reporting service answered {status}: {}",
                text.trim()
            ))
        }
        Err(e) if e.is_timeout() => {
            Some("the reporting service did not answer in time".to_string())
        }
        Err(e) if e.is_connect() => Some("the reporting service could not be reached".to_string()),
        Err(e) => Some(format!("the upload failed: {e}")),
    };
    let mut tx = services.db.begin_write().await?;
    let change = reporting_change(tenant_id, now);
    match &error {
        None => {
            store::delivered(&mut tx, tenant_id, period, now).await?;
            change
                .record(
                    &mut tx,
                    "metered_report_uploaded",
                    period,
                    &format!(
                        "Usage report uploaded to the vendor ({}); metered licensing runs for {GRACE_DAYS} days from now",
                        if period_of.ended(today) { "final" } else { "so far" }
                    ),
                )
                .await?;
        }
        Some(reason) => {
            let attempts = store::attempts(&mut tx, tenant_id, period).await? + 1;
            let next = now + retry_after(attempts);
            store::failed(&mut tx, tenant_id, period, reason, now, next).await?;
            change
                .record(
                    &mut tx,
                    "metered_report_upload_failed",
                    period,
                    &format!(
                        "{reason}; next try {}",
                        bandpool_domain::format::format_datetime(next)
                    ),
                )
                .await?;
            tracing::warn!(tenant = %tenant_id, %period, %reason, "usage report upload failed");
        }
    }
    tx.commit().await?;
    Ok(UploadOutcome {
        period: period.to_string(),
        delivered: error.is_none(),
        error,
    })
}

/// Who automatic reporting's events name as their actor.
fn reporting_actor() -> &'static Actor {
    static ACTOR: std::sync::OnceLock<Actor> = std::sync::OnceLock::new();
    ACTOR.get_or_init(|| Actor::system("Bandpool (automatic reporting)"))
}

/// The events automatic reporting records for `tenant_id` at `now`.
fn reporting_change(tenant_id: &str, now: i64) -> bandpool_store::events::Change<'_> {
    bandpool_store::events::Change::at(tenant_id, now, reporting_actor())
}

/// Queue `subject` and `body` to each of the tenant's Owners and Admins, in `tx`.
async fn tell_owners(
    services: &Services,
    tx: &mut bandpool_store::WriteTx,
    tenant_id: &str,
    subject: &str,
    body: &str,
) -> Result<(), AppError> {
    for to in bandpool_store::accounts::owner_and_admin_emails(&mut *tx, tenant_id).await? {
        crate::mail::queue(services, tx, Some(tenant_id), &to, subject, body).await?;
    }
    Ok(())
}

/// Email the tenant's Owners and Admins that `left` days of the grace remain.
async fn warn(
    services: &Services,
    tenant_id: &str,
    threshold: i64,
    left: i64,
) -> Result<(), AppError> {
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    store::warned(&mut tx, tenant_id, threshold).await?;
    let days = if left == 1 {
        "1 day".to_string()
    } else {
        format!("{left} days")
    };
    let subject = format!("Bandpool: metered licensing stops in {days}");
    let body = format!(
        "No usage report from this portal has reached the vendor since {since}. Metered \
         licensing needs one at least every {GRACE_DAYS} days: in {days} every metered \
         LoadMaster will be removed and new metered activations refused.\n\nOpen the MELA \
         report page ({link}) and choose Upload now, or ask the operator why uploads fail.\n",
        since = upload_date(now - (GRACE_DAYS - left) * 86_400),
        link = services.portal.link("/metered/report"),
    );
    tell_owners(services, &mut tx, tenant_id, &subject, &body).await?;
    reporting_change(tenant_id, now)
        .record(
            &mut tx,
            "metered_reporting_warning",
            "Reporting grace",
            &format!("{days} left until metered licensing stops; Owners and Admins emailed"),
        )
        .await?;
    tx.commit().await?;
    services.outbox.wake();
    Ok(())
}

/// The grace ran out: metered licensing stops for the tenant. Answers how many metered
/// LoadMasters were removed.
async fn lapse(services: &Services, tenant_id: &str) -> Result<usize, AppError> {
    let now = services.now();
    let mut tx = services.db.begin_write().await?;
    if !store::lapse(&mut tx, tenant_id, now).await? {
        return Ok(0);
    }
    let (connectors, removed) = store::remove_metered(&mut tx, tenant_id, now).await?;
    let subject = "Bandpool: metered licensing stopped".to_string();
    let body = format!(
        "No usage report from this portal reached the vendor for {GRACE_DAYS} days, so metered \
         licensing stopped: {removed} metered LoadMaster(s) were removed (their licenses \
         deactivated and returned) and new metered activations are refused.\n\nIt starts again \
         as soon as an upload succeeds: open the MELA report page ({link}) and choose Upload \
         now.\n",
        link = services.portal.link("/metered/report"),
    );
    tell_owners(services, &mut tx, tenant_id, &subject, &body).await?;
    reporting_change(tenant_id, now)
        .record(
            &mut tx,
            "metered_licensing_stopped",
            "Reporting grace",
            &format!(
                "No usage report reached the vendor for {GRACE_DAYS} days: {removed} metered LoadMaster(s) removed, metered activations refused until an upload succeeds"
            ),
        )
        .await?;
    tx.commit().await?;
    services.outbox.wake();
    for connector in connectors {
        services.wakeups.ring(&connector);
    }
    tracing::error!(tenant = %tenant_id, removed, "metered licensing stopped: the reporting grace ran out");
    Ok(removed)
}
