//! The Pool_usage CSV: its file name, header and row, and the rule that keeps
//! formula-like cells inert when a spreadsheet opens the file.

use crate::format::format_date;
use crate::license::{Column, License};
use chrono::NaiveDate;
use std::borrow::Cow;

/// `Pool_usage_YYYYMMDD.csv`, for the given (UTC) day.
pub fn export_file_name(today: NaiveDate) -> String {
    format!("Pool_usage_{}.csv", today.format("%Y%m%d"))
}

/// The ten column labels, in display order.
pub fn header() -> Vec<&'static str> {
    Column::ALL.iter().map(|c| c.label()).collect()
}

/// A cell a spreadsheet would read as a formula (= + - @, or a leading tab or carriage
/// return) gets a leading apostrophe, so it shows as text and never runs.
pub fn inert(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// One license as its ten CSV cells; Bandwidth as a plain number of Mb/s.
pub fn row(license: &License) -> [String; 10] {
    let text = |s: &str| inert(s).into_owned();
    [
        text(license.device_name.as_deref().unwrap_or("")),
        text(license.ip_address.as_deref().unwrap_or("")),
        text(&license.serial_no),
        text(&license.license_name),
        license.status.label().to_string(),
        license.bandwidth_mbps.to_string(),
        license.ssl_tps.to_string(),
        license
            .grace_period_end
            .map(format_date)
            .unwrap_or_default(),
        format_date(license.activated_at),
        license.recovered_at.map(format_date).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::LicenseStatus;

    #[test]
    fn file_name_carries_the_utc_day() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(export_file_name(day), "Pool_usage_20260307.csv");
    }

    #[test]
    fn formula_like_cells_are_made_inert() {
        for bad in ["=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"] {
            assert!(inert(bad).starts_with('\''), "{bad:?}");
        }
        for fine in ["lm-01", "10.0.0.1", "", "VLM-5000"] {
            assert_eq!(inert(fine), fine);
        }
    }

    #[test]
    fn a_row_has_all_ten_columns_with_plain_bandwidth() {
        let license = License {
            id: "x".into(),
            device_name: Some("=HYPERLINK(\"evil\")".into()),
            ip_address: None,
            serial_no: "1234".into(),
            license_name: "VLM-5000".into(),
            status: LicenseStatus::Killed,
            bandwidth_mbps: 5000,
            ssl_tps: 4000,
            grace_period_end: None,
            activated_at: 0,
            recovered_at: Some(86_400),
            issued_through_portal: true,
            connector_id: None,
        };
        let cells = row(&license);
        assert_eq!(cells.len(), header().len());
        assert_eq!(cells[0], "'=HYPERLINK(\"evil\")");
        assert_eq!(cells[1], "");
        assert_eq!(cells[4], "Killed");
        assert_eq!(cells[5], "5000");
        assert_eq!(cells[8], "1970-01-01");
        assert_eq!(cells[9], "1970-01-02");
        assert_eq!(header()[0], "Device Name");
        assert_eq!(header()[9], "Recovery Date");
    }
}
