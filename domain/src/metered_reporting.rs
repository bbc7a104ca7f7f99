//! Automatic reporting and the reporting grace. The vendor bills metered use from the usage
//! reports each deployment uploads: every day the day before, and at the end of each UTC
//! month the month. An upload is keyed by tenant and period, so a retry never bills twice.
//! If no upload succeeds for `GRACE_DAYS`, metered licensing stops: every metered LoadMaster
//! is removed and new metered activations are refused until an upload succeeds. Owners and
//! Admins are warned by email when `GRACE_WARNINGS` days are left.

use chrono::{DateTime, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::metered_report::ReportRange;
use crate::AppError;

/// Days metered licensing keeps working without a successful upload.
pub const GRACE_DAYS: i64 = 90;
/// Days left at which Owners and Admins are warned, in the order they come.
pub const GRACE_WARNINGS: [i64; 3] = [30, 7, 1];

/// Whole days left of the grace that began at `since` (Unix seconds), counted down at each
/// full day: 90 on the day of an upload, 0 from the 90th day after it.
pub fn days_left(since: i64, now: i64) -> i64 {
    (GRACE_DAYS - (now - since).max(0) / 86_400).max(0)
}

/// The warning due at `days_left` when the last one sent was at `warned` days (none: no
/// warning since the last upload): the smallest threshold reached and not yet sent.
pub fn warning_due(days_left: i64, warned: Option<i64>) -> Option<i64> {
    GRACE_WARNINGS
        .into_iter()
        .filter(|t| days_left <= *t && warned.is_none_or(|w| *t < w))
        .min()
        .filter(|_| days_left > 0)
}

/// How long to wait before the next attempt after `attempts` failed ones: a minute, then
/// five, thirty, two hours, then every six hours until it goes through.
pub fn retry_after(attempts: i64) -> i64 {
    match attempts {
        ..=1 => 60,
        2 => 300,
        3 => 1_800,
        4 => 7_200,
        _ => 21_600,
    }
}

/// What an upload covers: a whole UTC month (`2026-11`, sent when it has ended, or so far
/// by "Upload now") or one UTC day (`2026-11-30`, sent the day after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadPeriod(pub String);

impl UploadPeriod {
    pub fn month(day: NaiveDate) -> UploadPeriod {
        UploadPeriod(day.format("%Y-%m").to_string())
    }

    pub fn day(day: NaiveDate) -> UploadPeriod {
        UploadPeriod(day.format("%Y-%m-%d").to_string())
    }

    pub fn is_month(&self) -> bool {
        self.0.len() == 7
    }

    /// The days the period covers, the current month's up to `today`.
    pub fn range(&self, today: NaiveDate) -> Result<ReportRange, AppError> {
        let bad = || AppError::invalid("period", "must be a month (YYYY-MM) or a day (YYYY-MM-DD)");
        if self.is_month() {
            let first = NaiveDate::parse_from_str(&format!("{}-01", self.0), "%Y-%m-%d")
                .map_err(|_| bad())?;
            let last = first
                .checked_add_months(Months::new(1))
                .and_then(|d| d.pred_opt())
                .ok_or_else(bad)?;
            Ok(ReportRange {
                from: first,
                to: last.min(today.max(first)),
            })
        } else {
            let day = NaiveDate::parse_from_str(&self.0, "%Y-%m-%d").map_err(|_| bad())?;
            Ok(ReportRange { from: day, to: day })
        }
    }

    /// Whether the period has ended by `today` (its figures are final).
    pub fn ended(&self, today: NaiveDate) -> bool {
        self.range(today).is_ok_and(|r| {
            r.to < today
                && (!self.is_month()
                    || r.to
                        .succ_opt()
                        .is_some_and(|next| next.format("%Y-%m").to_string() != self.0))
        })
    }
}

/// A tenant's automatic reporting settings and where it stands: the page's Automatic
/// Reporting card and `GET /api/v1/metered/reporting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportingStatus {
    /// "Upload usage report to the vendor" (on by default).
    pub upload: bool,
    /// "Send monthly usage report via email".
    pub email: bool,
    /// "Send bcc to" (empty: none).
    pub bcc: String,
    /// Whether this deployment has a vendor reporting service configured. Without one there
    /// is nobody to upload to, and no grace counts down.
    pub service_configured: bool,
    /// The last successful upload: when, and of which period.
    pub last_success: Option<UploadAttempt>,
    /// The newest upload still waiting after a failure, with its reason.
    pub failing: Option<UploadAttempt>,
    /// Days left until metered licensing stops (none: no reporting service configured).
    pub days_left: Option<i64>,
    /// When metered licensing stopped for want of an upload (none: it runs).
    pub lapsed_at: Option<i64>,
}

/// One upload of a period, as the page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct UploadAttempt {
    pub period: String,
    pub attempts: i64,
    /// When it was last tried (Unix seconds).
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl ReportingStatus {
    /// "Last upload 2026-12-01 - SUCCESS", or that there has been none.
    pub fn last_upload_line(&self) -> String {
        match self.last_success.as_ref().and_then(|s| s.delivered_at) {
            Some(at) => format!("Last upload {} - SUCCESS", upload_date(at)),
            None => "No upload has succeeded yet".to_string(),
        }
    }
}

/// `2016-April-01`, as the product dates uploads.
pub fn upload_date(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%B-%d").to_string())
        .unwrap_or_default()
}

/// How one upload went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadOutcome {
    pub period: String,
    pub delivered: bool,
    /// Why it failed (none when delivered).
    pub error: Option<String>,
}

/// "Apply" on the Automatic Reporting card: the settings as the form sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportingSettings {
    pub upload: bool,
    pub email: bool,
    /// One address (empty: none).
    #[serde(default)]
    pub bcc: String,
}

impl ReportingSettings {
    /// The settings, checked: a bcc must look like one email address.
    pub fn checked(mut self) -> Result<ReportingSettings, AppError> {
        let bcc = self.bcc.trim();
        self.bcc = if bcc.is_empty() {
            String::new()
        } else {
            crate::auth::normalize_email(bcc)
                .map_err(|_| AppError::invalid("bcc", "must be one email address"))?
        };
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_counts_down_by_whole_days_and_warns_once_at_each_threshold() {
        let since = 1_000_000;
        assert_eq!(days_left(since, since), 90);
        assert_eq!(days_left(since, since + 86_399), 90);
        assert_eq!(days_left(since, since + 86_400), 89);
        assert_eq!(days_left(since, since + 60 * 86_400), 30);
        assert_eq!(days_left(since, since + 90 * 86_400), 0);
        assert_eq!(days_left(since, since + 200 * 86_400), 0);
        assert_eq!(warning_due(31, None), None);
        assert_eq!(warning_due(30, None), Some(30));
        assert_eq!(warning_due(29, Some(30)), None);
        assert_eq!(warning_due(7, Some(30)), Some(7));
        // Days missed (the portal was down): only the nearest warning goes.
        assert_eq!(warning_due(5, None), Some(7));
        assert_eq!(warning_due(1, Some(7)), Some(1));
        assert_eq!(warning_due(1, Some(1)), None);
        assert_eq!(warning_due(0, Some(7)), None, "at zero the removal says it");
    }

    #[test]
    fn periods_cover_their_days_and_end() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let nov = UploadPeriod("2026-11".into());
        let r = nov.range(today).unwrap();
        assert_eq!(
            (r.from_day(), r.to_day()),
            ("2026-11-01".into(), "2026-11-30".into())
        );
        assert!(nov.ended(today));
        let dec = UploadPeriod::month(today);
        assert_eq!(dec.range(today).unwrap().to_day(), "2026-12-07");
        assert!(!dec.ended(today));
        let yesterday = UploadPeriod::day(today.pred_opt().unwrap());
        assert!(yesterday.ended(today));
        assert!(!UploadPeriod::day(today).ended(today));
        assert!(UploadPeriod("2026-13".into()).range(today).is_err());
        assert_eq!(retry_after(1), 60);
        assert_eq!(retry_after(9), 21_600);
        assert_eq!(upload_date(1_459_468_800), "2016-April-01");
    }
}
