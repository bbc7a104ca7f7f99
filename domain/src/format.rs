//! How figures and times read in the portal and its exports (UTC throughout).

use chrono::{DateTime, NaiveDate};

/// `81400` → `81,400 Mb/s`: the exact figure, grouped for reading.
pub fn format_mbps(mbps: i64) -> String {
    format!("{} Mb/s", group_thousands(mbps))
}

/// `42500` → `42.5`: Mb/s as Gb/s, to one decimal where it matters (`10000` → `10`).
pub fn format_gb(mbps: i64) -> String {
    let tenths = (mbps as f64 / 100.0).round() as i64;
    if tenths % 10 == 0 {
        group_thousands(tenths / 10)
    } else {
        format!("{}.{}", group_thousands(tenths / 10), (tenths % 10).abs())
    }
}

pub fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Unix seconds → `2026-11-23`.
pub fn format_date(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Unix seconds → `2026-11-23 07:22 UTC`.
pub fn format_datetime(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `2026-11` → `Nov 2026`.
pub fn month_label(month: &str) -> String {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%b %Y").to_string())
        .unwrap_or_else(|_| month.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gigabits_read_to_one_decimal() {
        assert_eq!(format_gb(10_000), "10");
        assert_eq!(format_gb(42_500), "42.5");
        assert_eq!(format_gb(1_234_000), "1,234");
        assert_eq!(format_gb(200), "0.2");
        assert_eq!(format_gb(0), "0");
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(format_mbps(0), "0 Mb/s");
        assert_eq!(format_mbps(999), "999 Mb/s");
        assert_eq!(format_mbps(81_400), "81,400 Mb/s");
        assert_eq!(format_mbps(-1_234_567), "-1,234,567 Mb/s");
        assert_eq!(format_date(1_795_392_000), "2026-11-23");
        assert_eq!(format_datetime(1_795_392_060), "2026-11-23 00:01 UTC");
        assert_eq!(month_label("2026-02"), "Feb 2026");
    }
}
