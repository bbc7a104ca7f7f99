//! Allocation over time: the daily peak series and the monthly maximum-allocation bars.
//!
//! The store keeps one row per day on which the allocation changed (its peak and its
//! closing value). Days without a row carried the previous day's closing allocation all
//! day, so they are filled in here; a month's peak is the maximum of its days.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// A stored daily row: the highest allocation of the day and the allocation at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: NaiveDate,
    pub peak_mbps: i64,
    pub closing_mbps: i64,
}

/// How full the pool was, for bar colors: orange above 80%, red above 100% of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum UsageLevel {
    Normal,
    Warning,
    Over,
}

impl UsageLevel {
    pub fn of(value_mbps: i64, capacity_mbps: i64) -> Self {
        // Integer comparisons: value/capacity > 100% and > 80%, without rounding.
        if capacity_mbps <= 0 {
            return if value_mbps > 0 {
                UsageLevel::Over
            } else {
                UsageLevel::Normal
            };
        }
        if value_mbps > capacity_mbps {
            UsageLevel::Over
        } else if value_mbps * 10 > capacity_mbps * 8 {
            UsageLevel::Warning
        } else {
            UsageLevel::Normal
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            UsageLevel::Normal => "normal",
            UsageLevel::Warning => "warning",
            UsageLevel::Over => "over",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayPeak {
    /// YYYY-MM-DD
    pub day: String,
    pub peak_mbps: i64,
    pub level: UsageLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MonthPeak {
    /// YYYY-MM
    pub month: String,
    pub peak_mbps: i64,
    /// The (first) day with the month's highest usage; None for a month before any history.
    pub peak_day: Option<String>,
    pub level: UsageLevel,
}

impl MonthPeak {
    /// A month's peak, its level read against the pool's capacity.
    pub fn of(month: &str, peak_mbps: i64, peak_day: Option<&str>, capacity_mbps: i64) -> Self {
        MonthPeak {
            month: month.to_string(),
            peak_mbps,
            peak_day: peak_day.map(str::to_string),
            level: UsageLevel::of(peak_mbps, capacity_mbps),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MonthlyAllocation {
    pub capacity_mbps: i64,
    /// Oldest first; always twelve months ending with the current one.
    pub months: Vec<MonthPeak>,
    pub has_history: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DailyAllocation {
    pub capacity_mbps: i64,
    /// YYYY-MM
    pub month: String,
    /// Every day of the month up to today (none for a future month).
    pub days: Vec<DayPeak>,
    pub has_history: bool,
}

/// Parse a YYYY-MM month into its first day.
pub fn parse_month(month: &str) -> Option<NaiveDate> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("day 1 exists in every month")
}

/// The first day of the month `n` months before `day`'s month.
pub fn months_back(day: NaiveDate, n: u32) -> NaiveDate {
    first_of_month(day) - Months::new(n)
}

/// Fill `from..=to` day by day: a stored row gives its peak; a missing day carries the
/// closing allocation of the last row before it (`carry_in` before the first row).
pub fn fill_days(
    rows: &[DayRow],
    carry_in: i64,
    from: NaiveDate,
    to: NaiveDate,
    capacity: i64,
) -> Vec<DayPeak> {
    let mut out = Vec::new();
    let mut closing = carry_in;
    let mut rows = rows.iter().filter(|r| r.day >= from).peekable();
    let mut day = from;
    while day <= to {
        let peak = match rows.peek() {
            Some(row) if row.day == day => {
                closing = row.closing_mbps;
                let peak = row.peak_mbps;
                rows.next();
                peak
            }
            _ => closing,
        };
        out.push(DayPeak {
            day: day.format("%Y-%m-%d").to_string(),
            peak_mbps: peak,
            level: UsageLevel::of(peak, capacity),
        });
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    out
}

/// Group a filled day series into months: each month's peak is the maximum of its days,
/// and its peak day the first day that reached it.
pub fn monthly_peaks(days: &[DayPeak], capacity: i64) -> Vec<MonthPeak> {
    let mut out: Vec<MonthPeak> = Vec::new();
    for day in days {
        let month = &day.day[..7];
        let peak = || MonthPeak::of(month, day.peak_mbps, Some(&day.day), capacity);
        match out.last_mut() {
            Some(last) if last.month == month => {
                if day.peak_mbps > last.peak_mbps {
                    *last = peak();
                }
            }
            _ => out.push(peak()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn row(day: &str, peak: i64, closing: i64) -> DayRow {
        DayRow {
            day: d(day),
            peak_mbps: peak,
            closing_mbps: closing,
        }
    }

    #[test]
    fn levels_turn_orange_above_80_and_red_above_100_percent() {
        assert_eq!(UsageLevel::of(800, 1000), UsageLevel::Normal);
        assert_eq!(UsageLevel::of(801, 1000), UsageLevel::Warning);
        assert_eq!(UsageLevel::of(1000, 1000), UsageLevel::Warning);
        assert_eq!(UsageLevel::of(1001, 1000), UsageLevel::Over);
        assert_eq!(UsageLevel::of(0, 0), UsageLevel::Normal);
        assert_eq!(UsageLevel::of(1, 0), UsageLevel::Over);
    }

    #[test]
    fn missing_days_carry_the_previous_closing_allocation() {
        let rows = [row("2026-01-02", 500, 300), row("2026-01-04", 900, 900)];
        let days = fill_days(&rows, 100, d("2026-01-01"), d("2026-01-05"), 1000);
        let peaks: Vec<i64> = days.iter().map(|x| x.peak_mbps).collect();
        assert_eq!(peaks, vec![100, 500, 300, 900, 900]);
        assert_eq!(days[3].level, UsageLevel::Warning);
    }

    #[test]
    fn a_months_peak_is_the_maximum_of_its_days_and_names_the_first_peak_day() {
        let rows = [
            row("2026-01-30", 700, 400),
            row("2026-02-03", 1200, 1200),
            row("2026-02-04", 1200, 600),
        ];
        let days = fill_days(&rows, 0, d("2026-01-01"), d("2026-02-10"), 1000);
        let months = monthly_peaks(&days, 1000);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].month, "2026-01");
        assert_eq!(months[0].peak_mbps, 700);
        assert_eq!(months[0].peak_day.as_deref(), Some("2026-01-30"));
        assert_eq!(months[1].peak_mbps, 1200);
        assert_eq!(months[1].peak_day.as_deref(), Some("2026-02-03"));
        assert_eq!(months[1].level, UsageLevel::Over);
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("2026-02"), Some(d("2026-02-01")));
        for bad in ["2026-13", "2026-2", "26-02", "2026/02", "", "2026-02-01"] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(months_back(d("2026-03-31"), 11), d("2025-04-01"));
    }
}
