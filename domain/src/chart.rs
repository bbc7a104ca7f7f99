//! Chart geometry, computed once and used twice: by the server's plotters renderer
//! (the SVG a page shows, JavaScript or not) and by the hydrated overlay that places
//! hover and click areas exactly over the drawn sections and bars.

use crate::allocation::{DailyAllocation, MonthlyAllocation, UsageLevel};
use crate::format::{format_mbps, month_label};
use crate::pool::PoolSummary;
use serde::{Deserialize, Serialize};

/// Section colors, one per license type (largest allocation first).
pub const SECTION_COLORS: [(u8, u8, u8); 8] = [
    (37, 99, 235),
    (22, 163, 74),
    (147, 51, 234),
    (8, 145, 178),
    (219, 39, 119),
    (101, 163, 13),
    (79, 70, 229),
    (13, 148, 136),
];
pub const EMPTY_COLOR: (u8, u8, u8) = (226, 232, 240);
pub const LEVEL_NORMAL: (u8, u8, u8) = (37, 99, 235);
pub const LEVEL_WARNING: (u8, u8, u8) = (234, 138, 12);
pub const LEVEL_OVER: (u8, u8, u8) = (220, 38, 38);

pub fn level_color(level: UsageLevel) -> (u8, u8, u8) {
    match level {
        UsageLevel::Normal => LEVEL_NORMAL,
        UsageLevel::Warning => LEVEL_WARNING,
        UsageLevel::Over => LEVEL_OVER,
    }
}

/// A rectangle in the chart's pixel space (origin top-left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CylinderSection {
    pub license_type: String,
    pub allocated_mbps: i64,
    pub licenses: u64,
    pub rect: Rect,
    pub color: (u8, u8, u8),
    /// Hover text: the license type and its licenses.
    pub tooltip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CylinderGeometry {
    pub width: f64,
    pub height: f64,
    /// The cylinder body: x range and the y of its top and bottom rims.
    pub body: Rect,
    /// Vertical radius of the rim ellipses.
    pub rim: f64,
    /// Where the dotted maximum-capacity line is drawn.
    pub capacity_y: f64,
    /// Bottom section first.
    pub sections: Vec<CylinderSection>,
}

pub const CYLINDER_WIDTH: f64 = 240.0;
pub const CYLINDER_HEIGHT: f64 = 320.0;
pub const CYLINDER_RIM: f64 = 14.0;
/// Small allocations still get a visible section.
pub const MIN_SECTION_PX: f64 = 10.0;

/// Section heights for `values` stacked into `total_px`: proportional, except that none is
/// shorter than `min_px`; the rest shrink to make room, so the stack still ends at `total_px`.
pub fn section_heights(values: &[i64], total_px: f64, min_px: f64) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let total_px = total_px.max(min_px * n as f64);
    let mut fixed = vec![false; n];
    loop {
        let fixed_px = fixed.iter().filter(|f| **f).count() as f64 * min_px;
        let free_sum: i64 = values
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| !**f)
            .map(|(v, _)| *v)
            .sum();
        let free_px = total_px - fixed_px;
        let mut changed = false;
        for (i, v) in values.iter().enumerate() {
            if !fixed[i] {
                let h = if free_sum > 0 {
                    *v as f64 / free_sum as f64 * free_px
                } else {
                    0.0
                };
                if h < min_px {
                    fixed[i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return values
                .iter()
                .zip(&fixed)
                .map(|(v, f)| {
                    if *f {
                        min_px
                    } else if free_sum > 0 {
                        *v as f64 / free_sum as f64 * free_px
                    } else {
                        0.0
                    }
                })
                .collect();
        }
    }
}

/// Lay out the cylinder: the scale fits the larger of capacity and allocation, so an
/// over-allocated pool rises above the capacity line instead of being clipped.
pub fn cylinder(pool: &PoolSummary) -> CylinderGeometry {
    let body = Rect {
        x: 40.0,
        y: 20.0 + CYLINDER_RIM,
        w: 160.0,
        h: CYLINDER_HEIGHT - 40.0 - 2.0 * CYLINDER_RIM,
    };
    let allocated = pool.allocated_mbps.max(0);
    let scale_max = pool.max_capacity_mbps.max(allocated).max(1) as f64;
    let allocated_px = allocated as f64 / scale_max * body.h;
    let values: Vec<i64> = pool
        .sections
        .iter()
        .map(|s| s.allocated_mbps.max(0))
        .collect();
    let heights = section_heights(&values, allocated_px, MIN_SECTION_PX);
    let mut y = body.bottom();
    let sections = pool
        .sections
        .iter()
        .zip(heights)
        .enumerate()
        .map(|(i, (s, h))| {
            y -= h;
            let licenses = s.active_licenses + s.grace_period_licenses;
            let mut tooltip = format!(
                "{}: {} active license{}",
                s.license_type,
                s.active_licenses,
                if s.active_licenses == 1 { "" } else { "s" }
            );
            if s.grace_period_licenses > 0 {
                tooltip.push_str(&format!(" and {} in grace period", s.grace_period_licenses));
            }
            tooltip.push_str(&format!(", {}", format_mbps(s.allocated_mbps)));
            CylinderSection {
                license_type: s.license_type.clone(),
                allocated_mbps: s.allocated_mbps,
                licenses,
                rect: Rect {
                    x: body.x,
                    y,
                    w: body.w,
                    h,
                },
                color: SECTION_COLORS[i % SECTION_COLORS.len()],
                tooltip,
            }
        })
        .collect();
    let capacity_y = body.bottom() - pool.max_capacity_mbps.max(0) as f64 / scale_max * body.h;
    CylinderGeometry {
        width: CYLINDER_WIDTH,
        height: CYLINDER_HEIGHT,
        body,
        rim: CYLINDER_RIM,
        capacity_y,
        sections,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// The month (YYYY-MM) or day (YYYY-MM-DD) this bar stands for.
    pub key: String,
    /// The axis label under the bar.
    pub label: String,
    pub value_mbps: i64,
    pub level: UsageLevel,
    pub rect: Rect,
    pub tooltip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarGeometry {
    pub width: f64,
    pub height: f64,
    pub plot: Rect,
    pub capacity_mbps: i64,
    pub capacity_y: f64,
    /// The value at the top of the plot area.
    pub scale_max_mbps: i64,
    /// Gridline values with their y, for the axis.
    pub ticks: Vec<(i64, f64)>,
    pub bars: Vec<Bar>,
}

pub const BAR_CHART_WIDTH: f64 = 760.0;
pub const BAR_CHART_HEIGHT: f64 = 300.0;

fn nice_step(max: i64, steps: i64) -> i64 {
    let raw = (max as f64 / steps as f64).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    step.round().max(1.0) as i64
}

fn bars(values: Vec<(String, String, i64, UsageLevel, String)>, capacity: i64) -> BarGeometry {
    let plot = Rect {
        x: 80.0,
        y: 16.0,
        w: BAR_CHART_WIDTH - 80.0 - 16.0,
        h: BAR_CHART_HEIGHT - 16.0 - 36.0,
    };
    let peak = values.iter().map(|v| v.2).max().unwrap_or(0);
    let top = capacity.max(peak).max(1);
    let step = nice_step(top, 4);
    let scale_max = (top + step - 1) / step * step + if top % step == 0 { step / 2 } else { 0 };
    let scale_max = scale_max.max(1);
    let to_y = |v: i64| plot.bottom() - v.max(0) as f64 / scale_max as f64 * plot.h;
    let n = values.len().max(1) as f64;
    let slot = plot.w / n;
    let bar_w = (slot * 0.7).max(2.0);
    let bars = values
        .into_iter()
        .enumerate()
        .map(|(i, (key, label, value, level, tooltip))| {
            let y = to_y(value);
            Bar {
                key,
                label,
                value_mbps: value,
                level,
                rect: Rect {
                    x: plot.x + slot * i as f64 + (slot - bar_w) / 2.0,
                    y,
                    w: bar_w,
                    h: plot.bottom() - y,
                },
                tooltip,
            }
        })
        .collect();
    let ticks = (0..)
        .map(|i| i * step)
        .take_while(|v| *v <= scale_max)
        .map(|v| (v, to_y(v)))
        .collect();
    BarGeometry {
        width: BAR_CHART_WIDTH,
        height: BAR_CHART_HEIGHT,
        plot,
        capacity_mbps: capacity,
        capacity_y: to_y(capacity),
        scale_max_mbps: scale_max,
        ticks,
        bars,
    }
}

fn percent_of(value: i64, capacity: i64) -> String {
    if capacity > 0 {
        format!(
            " ({}% of capacity)",
            (value as f64 / capacity as f64 * 100.0).round() as i64
        )
    } else {
        String::new()
    }
}

/// Twelve monthly bars; hovering names the day with the highest usage.
pub fn monthly_bars(data: &MonthlyAllocation) -> BarGeometry {
    let values = data
        .months
        .iter()
        .map(|m| {
            let tooltip = match &m.peak_day {
                Some(day) => format!(
                    "{}: highest usage on {day}, {}{}",
                    month_label(&m.month),
                    format_mbps(m.peak_mbps),
                    percent_of(m.peak_mbps, data.capacity_mbps)
                ),
                None => format!("{}: no usage", month_label(&m.month)),
            };
            (
                m.month.clone(),
                month_label(&m.month),
                m.peak_mbps,
                m.level,
                tooltip,
            )
        })
        .collect();
    bars(values, data.capacity_mbps)
}

/// One bar per day of a month, with the exact usage on hover.
pub fn daily_bars(data: &DailyAllocation) -> BarGeometry {
    let values = data
        .days
        .iter()
        .map(|d| {
            let tooltip = format!(
                "{}: {}{}",
                d.day,
                format_mbps(d.peak_mbps),
                percent_of(d.peak_mbps, data.capacity_mbps)
            );
            let label = d.day[8..].trim_start_matches('0').to_string();
            (d.day.clone(), label, d.peak_mbps, d.level, tooltip)
        })
        .collect();
    bars(values, data.capacity_mbps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocation::MonthPeak;
    use crate::pool::TypeSection;

    fn pool(capacity: i64, sections: &[(&str, i64)]) -> PoolSummary {
        PoolSummary::new(
            "t".into(),
            capacity,
            100,
            sections
                .iter()
                .map(|(n, v)| TypeSection {
                    license_type: n.to_string(),
                    allocated_mbps: *v,
                    active_licenses: 1,
                    grace_period_licenses: 0,
                })
                .collect(),
            None,
        )
    }

    #[test]
    fn heights_are_proportional_when_all_are_large_enough() {
        let h = section_heights(&[10_000, 5_000], 150.0, 10.0);
        assert!((h[0] - 100.0).abs() < 1e-9);
        assert!((h[1] - 50.0).abs() < 1e-9);
    }

    #[test]
    fn small_sections_get_the_minimum_and_the_stack_keeps_its_height() {
        let h = section_heights(&[100_000, 200, 200], 200.0, 10.0);
        assert_eq!(h[1], 10.0);
        assert_eq!(h[2], 10.0);
        assert!((h.iter().sum::<f64>() - 200.0).abs() < 1e-9);
        // A stack too short for every minimum grows to fit them.
        let tiny = section_heights(&[1, 1, 1], 5.0, 10.0);
        assert_eq!(tiny, vec![10.0, 10.0, 10.0]);
    }

    #[test]
    fn a_vlm_10g_section_is_twice_a_vlm_5000_section() {
        let g = cylinder(&pool(100_000, &[("VLM-10G", 10_000), ("VLM-5000", 5_000)]));
        let ratio = g.sections[0].rect.h / g.sections[1].rect.h;
        assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
        // Stacked from the bottom, the top of the stack below the capacity line.
        assert!((g.sections[0].rect.bottom() - g.body.bottom()).abs() < 1e-9);
        assert!(g.sections[1].rect.y > g.capacity_y);
    }

    #[test]
    fn an_over_allocated_pool_rises_above_the_capacity_line_without_clipping() {
        let g = cylinder(&pool(10_000, &[("VLM-10G", 10_000), ("VLM-5000", 5_000)]));
        let top = g.sections.last().unwrap().rect.y;
        assert!(
            top < g.capacity_y,
            "stack top {top} should be above capacity {}",
            g.capacity_y
        );
        assert!(
            (top - g.body.y).abs() < 1e-9,
            "the stack fills the body exactly"
        );
        assert!(g.capacity_y > g.body.y);
    }

    #[test]
    fn an_empty_pool_has_no_sections_and_capacity_at_the_top() {
        let g = cylinder(&pool(10_000, &[]));
        assert!(g.sections.is_empty());
        assert!((g.capacity_y - g.body.y).abs() < 1e-9);
    }

    #[test]
    fn bars_scale_to_the_larger_of_capacity_and_peak() {
        let months = vec![
            MonthPeak::of("2026-01", 500, Some("2026-01-05"), 1000),
            MonthPeak::of("2026-02", 1500, Some("2026-02-10"), 1000),
        ];
        let data = MonthlyAllocation {
            capacity_mbps: 1000,
            has_history: true,
            months,
        };
        let g = monthly_bars(&data);
        assert!(g.scale_max_mbps >= 1500);
        assert!(g.bars[1].rect.y >= g.plot.y && g.bars[1].rect.y < g.capacity_y);
        assert!((g.bars[0].rect.h * 3.0 - g.bars[1].rect.h).abs() < 1e-6);
        assert!(g.bars[1].tooltip.contains("2026-02-10"));
        assert!(g.bars[1].tooltip.contains("150% of capacity"));
    }
}
