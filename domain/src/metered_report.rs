//! The MELA report: what a tenant's metered LoadMasters did over a range of days, as the
//! vendor bills it and as the tenant checks the bill. The number of active metered instances
//! over time (from the instance history: activations, deactivations and the daily sync), the
//! top five LoadMasters by peak SSL TPS and by peak throughput with their daily peaks, the
//! aggregate throughput per day, and the events table. The summary download (a zip of CSV
//! files) and the full download (every stored sample) are described here too, so the page,
//! the REST API and the README name the same files and columns.

use chrono::{DateTime, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The longest range a report covers: a little over a year, enough for any billing question
/// about the months the daily peaks are kept for, without unbounded reads.
pub const MAX_REPORT_DAYS: u64 = 400;
/// The events table on the page and in the JSON report shows at most this many (the newest);
/// `asl.csv` in the summary holds them all.
pub const REPORT_EVENTS_SHOWN: u32 = 500;
/// Top LoadMasters shown per measure.
pub const TOP_LOADMASTERS: u32 = 5;

/// A report's days, both inclusive, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl ReportRange {
    /// "Report date from ... to ...": both `YYYY-MM-DD`; missing or empty, the month up to
    /// today (from the same day last month), as the report opens.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, AppError> {
        let day = |name: &str, value: Option<&str>| -> Result<Option<NaiveDate>, AppError> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| AppError::invalid(name, "must be a date as YYYY-MM-DD")),
            }
        };
        let to = day("to", to)?.unwrap_or(today);
        let from = day("from", from)?
            .unwrap_or_else(|| to.checked_sub_months(Months::new(1)).unwrap_or(to));
        if from > to {
            return Err(AppError::invalid(
                "from",
                "must be on or before the end date",
            ));
        }
        if (to - from).num_days() as u64 >= MAX_REPORT_DAYS {
            return Err(AppError::invalid(
                "from",
                format!("a report covers at most {MAX_REPORT_DAYS} days"),
            ));
        }
        Ok(ReportRange { from, to })
    }

    /// The range's first moment (Unix seconds, inclusive).
    pub fn start(&self) -> i64 {
        midnight(self.from)
    }

    /// The moment after the range (Unix seconds, exclusive): midnight after its last day.
    pub fn end(&self) -> i64 {
        midnight(self.to.checked_add_days(Days::new(1)).unwrap_or(self.to))
    }

    pub fn from_day(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    pub fn to_day(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .collect()
    }

    /// `MELA_report_20171015_20171115`: the downloads' names without their extension.
    pub fn file_stem(&self) -> String {
        format!(
            "MELA_report_{}_{}",
            self.from.format("%Y%m%d"),
            self.to.format("%Y%m%d")
        )
    }
}

fn midnight(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// What changed the number of active metered instances, or confirmed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstanceEventKind {
    Activation,
    Deactivation,
    /// The daily check found a count other than the one last recorded, and corrected it.
    SyncDiscrepancy,
    /// The daily check found the count recorded: the day's count when nothing else happened.
    SyncNoDiscrepancy,
}

impl InstanceEventKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::Deactivation => "deactivation",
            Self::SyncDiscrepancy => "sync_discrepancy",
            Self::SyncNoDiscrepancy => "sync_no_discrepancy",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [
            Self::Activation,
            Self::Deactivation,
            Self::SyncDiscrepancy,
            Self::SyncNoDiscrepancy,
        ]
        .into_iter()
        .find(|k| k.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Activation => "Activation",
            Self::Deactivation => "Deactivation",
            Self::SyncDiscrepancy => "Sync (Discrepancy)",
            Self::SyncNoDiscrepancy => "Sync (No Discrepancy)",
        }
    }
}

stored_as_key!(InstanceEventKind, "instance event kind");

/// One row of the events table (and of `asl.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct InstanceEvent {
    /// Unix seconds UTC.
    pub at: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: InstanceEventKind,
    /// The license an activation or deactivation was of (its type's name).
    pub license_name: Option<String>,
    /// The LoadMaster's SKU, where it was recorded.
    pub sku: Option<String>,
    /// Active metered instances after the event.
    pub instances: i64,
    /// A discrepancy's count before the correction.
    pub previous_instances: Option<i64>,
}

impl InstanceEvent {
    /// "Activation - License: VLM-5000, LM SKU: VLM-SPLA", "Sync (Discrepancy) - previously
    /// 4", "Sync (No Discrepancy)".
    pub fn event_type(&self) -> String {
        let mut text = self.kind.label().to_string();
        if let Some(license) = &self.license_name {
            text.push_str(&format!(" - License: {license}"));
            if let Some(sku) = &self.sku {
                text.push_str(&format!(", LM SKU: {sku}"));
            }
        }
        if let Some(previous) = self.previous_instances {
            text.push_str(&format!(" - previously {previous}"));
        }
        text
    }

    /// `25.Oct.2017`, as the report's table dates its events.
    pub fn event_date(&self) -> String {
        DateTime::from_timestamp(self.at, 0)
            .map(|t| t.format("%d.%b.%Y").to_string())
            .unwrap_or_default()
    }
}

/// A figure for one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct DayFigure {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub value: i64,
}

/// One of the top LoadMasters by a measure, with its daily peaks of that measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopLoadMaster {
    pub license_id: String,
    /// The LoadMaster's name and address as the license holds them now (none once recovered).
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    /// The highest daily peak in the range (SSL TPS, or bytes per second).
    pub peak: i64,
    /// Its daily peaks in the range, oldest first (days without samples left out).
    pub daily: Vec<DayFigure>,
}

impl TopLoadMaster {
    /// The name to show: the device's name, else its address, else the license's id.
    pub fn label(&self) -> String {
        self.device_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| self.ip_address.clone())
            .unwrap_or_else(|| self.license_id.clone())
    }
}

/// The MELA report of one tenant for a range of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeteredReport {
    pub tenant_name: String,
    /// The metered contract's id (none: the tenant has no metered contract).
    pub contract_id: Option<String>,
    /// `YYYY-MM-DD`, both inclusive.
    pub from: String,
    pub to: String,
    /// The most metered instances active at once in the range.
    pub max_instances: i64,
    /// Per day, the most metered instances active at once that day.
    pub instances: Vec<DayFigure>,
    /// The top five LoadMasters by their highest daily peak SSL TPS in the range.
    pub top_ssl_tps: Vec<TopLoadMaster>,
    /// The top five LoadMasters by their highest daily peak throughput (bytes per second).
    pub top_throughput: Vec<TopLoadMaster>,
    /// Per day, the sum of every reporting LoadMaster's peak throughput (bytes per second).
    pub aggregate_throughput: Vec<DayFigure>,
    /// The newest events of the range, newest first (at most `REPORT_EVENTS_SHOWN`).
    pub events: Vec<InstanceEvent>,
    /// How many events the range holds in all.
    pub events_total: u64,
}

/// The report's graphs, drawn on the server (plotters, SVG).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCharts {
    /// Active metered instances per day (the day's most).
    pub instances: ReportChart,
    /// One per top LoadMaster by peak SSL TPS, in the report's order.
    pub top_ssl_tps: Vec<ReportChart>,
    /// One per top LoadMaster by peak throughput, in Mb/s.
    pub top_throughput: Vec<ReportChart>,
    /// The sum of the LoadMasters' daily peak throughput, in Mb/s.
    pub aggregate_throughput: ReportChart,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportChart {
    pub geometry: crate::chart::LineGeometry,
    pub svg: String,
}

/// The most active instances per day: each day starts with the count the last event before
/// it left (`before` for the range's first day) and takes every event's count that day.
pub fn instances_per_day(
    range: &ReportRange,
    before: i64,
    events_oldest_first: &[(i64, i64)],
) -> Vec<DayFigure> {
    let mut carried = before;
    let mut next = events_oldest_first.iter().peekable();
    range
        .days()
        .into_iter()
        .map(|day| {
            let end = midnight(day.checked_add_days(Days::new(1)).unwrap_or(day));
            let mut most = carried;
            while let Some((at, instances)) = next.peek() {
                if *at >= end {
                    break;
                }
                most = most.max(*instances);
                carried = *instances;
                next.next();
            }
            DayFigure {
                day: day.format("%Y-%m-%d").to_string(),
                value: most,
            }
        })
        .collect()
}

/// Every day of `range` with the figure found for it, 0 where none was (a series to draw).
pub fn fill_days(range: &ReportRange, found: &[DayFigure]) -> Vec<DayFigure> {
    range
        .days()
        .into_iter()
        .map(|day| {
            let day = day.format("%Y-%m-%d").to_string();
            let value = found
                .iter()
                .find(|f| f.day == day)
                .map(|f| f.value)
                .unwrap_or(0);
            DayFigure { day, value }
        })
        .collect()
}

/// A file of the summary download: its name in the zip and its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryFile {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub what: &'static str,
}

/// The summary zip's files, in the order they are written.
pub const SUMMARY_FILES: [SummaryFile; 5] = [
    SummaryFile {
        name: "asl.csv",
        columns: &["Event Time (UTC)", "Event Type", "Instances"],
        what: "every activation, deactivation and daily sync in the range, oldest first, with the number of active metered instances after it",
    },
    SummaryFile {
        name: "devices.csv",
        columns: &["ID", "Name", "IP Address", "License", "Activated (UTC)"],
        what: "the metered LoadMasters active now: the license's ID, the device's name and IP address",
    },
    SummaryFile {
        name: "ssl_tps.csv",
        columns: &["Day", "ID", "Name", "Peak SSL TPS"],
        what: "each LoadMaster's peak SSL transactions per second per UTC day",
    },
    SummaryFile {
        name: "throughput.csv",
        columns: &["Day", "ID", "Name", "Peak Bytes per Second"],
        what: "each LoadMaster's peak throughput (bytes in plus out per second) per UTC day",
    },
    SummaryFile {
        name: "vs_bytes.csv",
        columns: &["Day", "ID", "Virtual Service", "Bytes"],
        what: "bytes each Virtual Service transferred per UTC day (from the stored samples, so within the sample retention)",
    },
];

/// The full download's columns: one row per stored sample in the range, oldest first.
pub const SAMPLE_COLUMNS: [&str; 5] = [
    "Sampled At (UTC)",
    "ID",
    "Bytes In per Second",
    "Bytes Out per Second",
    "SSL TPS",
];

/// `2017-10-25 14:05:00`: the downloads' times.
pub fn csv_time(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Days since 1970-01-01 → `2017-10-25`.
pub fn day_of(day_number: i64) -> String {
    DateTime::from_timestamp(day_number.saturating_mul(86_400), 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// One `asl.csv` row.
pub fn asl_row(event: &InstanceEvent) -> [String; 3] {
    [
        csv_time(event.at),
        event.event_type(),
        event.instances.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_range_opens_on_the_month_to_today_and_refuses_bad_input() {
        let today = day("2017-11-15");
        let r = ReportRange::parse(None, Some(""), today).unwrap();
        assert_eq!(
            (r.from_day(), r.to_day()),
            ("2017-10-15".into(), "2017-11-15".into())
        );
        assert_eq!(r.days().len(), 32);
        assert_eq!(r.end() - r.start(), 32 * 86_400);
        assert_eq!(r.file_stem(), "MELA_report_20171015_20171115");
        let bad = |from: &str, to: &str| {
            ReportRange::parse(Some(from), Some(to), today)
                .unwrap_err()
                .to_string()
        };
        assert!(bad("2017-13-01", "2017-11-15").contains("YYYY-MM-DD"));
        assert!(bad("2017-11-16", "2017-11-15").contains("on or before"));
        assert!(bad("2016-01-01", "2017-11-15").contains("at most 400 days"));
        assert!(ReportRange::parse(Some("2017-11-15"), Some("2017-11-15"), today).is_ok());
    }

    #[test]
    fn instances_per_day_carry_the_last_count_and_take_each_days_most() {
        let r =
            ReportRange::parse(Some("2017-10-25"), Some("2017-10-28"), day("2017-11-01")).unwrap();
        let t = |d: &str, h: i64| midnight(day(d)) + h * 3600;
        let events = [
            (t("2017-10-25", 1), 3),
            (t("2017-10-25", 2), 4),
            (t("2017-10-25", 3), 1),
            (t("2017-10-27", 12), 2),
        ];
        let per_day: Vec<i64> = instances_per_day(&r, 2, &events)
            .into_iter()
            .map(|d| d.value)
            .collect();
        assert_eq!(per_day, [4, 1, 2, 2]);
    }

    #[test]
    fn event_types_read_as_the_report_writes_them() {
        let e = InstanceEvent {
            at: 1_508_889_600,
            kind: InstanceEventKind::Activation,
            license_name: Some("VLM-5000".into()),
            sku: Some("VLM-SPLA".into()),
            instances: 1,
            previous_instances: None,
        };
        assert_eq!(
            e.event_type(),
            "Activation - License: VLM-5000, LM SKU: VLM-SPLA"
        );
        assert_eq!(e.event_date(), "25.Oct.2017");
        let sync = InstanceEvent {
            kind: InstanceEventKind::SyncDiscrepancy,
            license_name: None,
            sku: None,
            previous_instances: Some(4),
            ..e
        };
        assert_eq!(sync.event_type(), "Sync (Discrepancy) - previously 4");
        assert_eq!(
            InstanceEventKind::from_key("sync_no_discrepancy")
                .unwrap()
                .label(),
            "Sync (No Discrepancy)"
        );
    }
}
