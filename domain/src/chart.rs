//! Chart geometry, computed once and used twice: by the server's plotters renderer
//! (the SVG a page shows) and by the server-rendered overlay that places hover, focus and
//! click areas, each with its own CSS tooltip, exactly over the drawn sections and bars.
//!
//! Sizes are in SVG units: the SVG scales to its container, so a chart `width` units wide
//! shown `w` px wide draws text of `font` units at `font * w / width` px. The fonts below are
//! chosen for about 12 px at the size the charts show on a 1440 px wide page.

use crate::allocation::{DailyAllocation, MonthlyAllocation, UsageLevel};
use crate::format::{format_mbps, group_thousands, month_label};
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

pub const CYLINDER_WIDTH: f64 = 200.0;
pub const CYLINDER_HEIGHT: f64 = 270.0;
pub const CYLINDER_RIM: f64 = 12.0;
/// The "Max" label: the cylinder shows about 213 px wide on a 1440 px page (half of its card).
pub const CYLINDER_FONT: f64 = 11.25;
/// The dotted capacity line runs this far past the body on either side.
pub const CAPACITY_OVERHANG: f64 = 16.0;
/// The "Max" label ends this far left of the body, just short of the dotted line.
pub const MAX_LABEL_GAP: f64 = CAPACITY_OVERHANG + 3.0;
/// Left of the body: room for the "Max" label.
const CYLINDER_LEFT: f64 = 46.0;
/// Right of the body: room for the dotted line.
const CYLINDER_RIGHT: f64 = CAPACITY_OVERHANG + 2.0;
/// Above the top rim and below the bottom rim.
const CYLINDER_MARGIN: f64 = 8.0;
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
        x: CYLINDER_LEFT,
        y: CYLINDER_MARGIN + CYLINDER_RIM,
        w: CYLINDER_WIDTH - CYLINDER_LEFT - CYLINDER_RIGHT,
        h: CYLINDER_HEIGHT - 2.0 * (CYLINDER_MARGIN + CYLINDER_RIM),
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

/// Where a bar's tooltip stands against its column: over the left third of the chart it
/// starts at the column's left edge and runs right, over the right third it ends at the
/// column's right edge, in between it is centred; so it stays inside the chart's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TipAlign {
    Start,
    Center,
    End,
}

impl TipAlign {
    /// The alignment for a column centred at `x` in a chart `width` wide.
    pub fn at(x: f64, width: f64) -> Self {
        if x < width / 3.0 {
            TipAlign::Start
        } else if x > width * 2.0 / 3.0 {
            TipAlign::End
        } else {
            TipAlign::Center
        }
    }

    /// The CSS class that places the tooltip.
    pub fn class(self) -> &'static str {
        match self {
            TipAlign::Start => "tip-start",
            TipAlign::Center => "tip-center",
            TipAlign::End => "tip-end",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// The month (YYYY-MM) or day (YYYY-MM-DD) this bar stands for.
    pub key: String,
    /// The period this bar stands for ("Nov 2026", or the day of the month).
    pub label: String,
    pub value_mbps: i64,
    pub level: UsageLevel,
    pub rect: Rect,
    /// The hover and click area: the bar's whole slot, from the plot's top down to the
    /// bottom of its label, so short bars and the gaps between bars are easy to reach.
    pub column: Rect,
    /// Where the tooltip stands against `column`.
    pub tip: TipAlign,
    pub tooltip: String,
}

impl Bar {
    /// The label under the bar: the month's name alone ("Nov"), or the day of the month.
    pub fn axis_label(&self) -> &str {
        self.label.split(' ').next().unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarGeometry {
    pub width: f64,
    pub height: f64,
    pub plot: Rect,
    pub capacity_mbps: i64,
    pub capacity_y: f64,
    /// Whether the capacity line is drawn (metered usage has no capacity).
    pub capacity_line: bool,
    /// The value at the top of the plot area.
    pub scale_max_mbps: i64,
    /// Gridline values with their y, for the axis.
    pub ticks: Vec<(i64, f64)>,
    pub bars: Vec<Bar>,
}

/// The bars show about 685 px wide on a 1440 px page (three fifths of the content width,
/// less the card's padding): 600 units make that a scale of about 1.14.
pub const BAR_CHART_WIDTH: f64 = 600.0;
pub const BAR_CHART_HEIGHT: f64 = 260.0;
/// Axis, month and day labels, and "Capacity": about 12 px at that scale.
pub const BAR_FONT: f64 = 10.5;
/// The axis's unit, written above its figures.
pub const BAR_AXIS_UNIT: &str = "Mb/s";
/// Between a label and the line or bar it names.
pub const LABEL_GAP: f64 = 6.0;

/// A gridline's figure on the axis (in Mb/s, the unit of every figure on the page).
pub fn tick_label(mbps: i64) -> String {
    group_thousands(mbps)
}

/// A generous estimate of how wide `text` draws at `font` units in a sans-serif face
/// (digits and most letters are at most 0.65 em; separators and narrow letters less).
pub fn text_width(text: &str, font: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            ',' | '.' | '/' | ' ' | 'i' | 'l' => 0.4,
            'M' | 'W' | 'm' | 'w' => 0.9,
            _ => 0.65,
        })
        .sum::<f64>()
        * font
}

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

/// The plot inside a chart: room on the left for the widest figure on the axis (or its
/// `unit`), right-aligned LABEL_GAP left of the plot; above the plot for the unit; below it
/// for the labels; `right` units free on the right.
fn plot_area(tick_values: &[i64], unit: &str, right: f64) -> Rect {
    let axis_w = tick_values
        .iter()
        .map(|v| text_width(&tick_label(*v), BAR_FONT))
        .fold(text_width(unit, BAR_FONT), f64::max);
    let left = (4.0 + axis_w + LABEL_GAP).ceil();
    let above = (2.0 * BAR_FONT + 2.0).ceil();
    let below = (LABEL_GAP + 1.3 * BAR_FONT).ceil();
    Rect {
        x: left,
        y: above,
        w: BAR_CHART_WIDTH - left - right,
        h: BAR_CHART_HEIGHT - above - below,
    }
}

fn bars(values: Vec<(String, String, i64, UsageLevel, String)>, capacity: i64) -> BarGeometry {
    let peak = values.iter().map(|v| v.2).max().unwrap_or(0);
    let top = capacity.max(peak).max(1);
    // At most five gridlines above zero, the top one at or just above the highest figure:
    // the bars fill the plot's height.
    let step = nice_step(top, 5);
    let scale_max = (top + step - 1) / step * step + if top % step == 0 { step / 2 } else { 0 };
    let scale_max = scale_max.max(1);
    let tick_values: Vec<i64> = (0..)
        .map(|i| i * step)
        .take_while(|v| *v <= scale_max)
        .collect();
    let plot = plot_area(&tick_values, BAR_AXIS_UNIT, 8.0);
    let to_y = |v: i64| plot.bottom() - v.max(0) as f64 / scale_max as f64 * plot.h;
    let n = values.len().max(1) as f64;
    let slot = plot.w / n;
    let bar_w = (slot * 0.7).max(2.0);
    let bars = values
        .into_iter()
        .enumerate()
        .map(|(i, (key, label, value, level, tooltip))| {
            let y = to_y(value);
            let column = Rect {
                x: plot.x + slot * i as f64,
                y: plot.y,
                w: slot,
                h: BAR_CHART_HEIGHT - plot.y,
            };
            Bar {
                key,
                label,
                value_mbps: value,
                level,
                rect: Rect {
                    x: column.x + (slot - bar_w) / 2.0,
                    y,
                    w: bar_w,
                    h: plot.bottom() - y,
                },
                tip: TipAlign::at(column.x + column.w / 2.0, BAR_CHART_WIDTH),
                column,
                tooltip,
            }
        })
        .collect();
    let ticks = tick_values.into_iter().map(|v| (v, to_y(v))).collect();
    BarGeometry {
        width: BAR_CHART_WIDTH,
        height: BAR_CHART_HEIGHT,
        plot,
        capacity_mbps: capacity,
        capacity_y: to_y(capacity),
        capacity_line: true,
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

/// Metered usage, a bar per month (the sum of its metered LoadMasters' peaks); hovering
/// names the month's tier and whether the figure is final. Metered use has no capacity, so
/// no capacity line.
pub fn metered_bars(months: &[crate::metered::MeteredMonth]) -> BarGeometry {
    let values = months
        .iter()
        .map(|m| {
            let tier = m
                .tier
                .as_ref()
                .map(|t| format!(", {}", t.name))
                .unwrap_or_default();
            let state = if m.so_far { " so far" } else { "" };
            (
                m.month.clone(),
                month_label(&m.month),
                m.usage_mbps,
                UsageLevel::Normal,
                format!(
                    "{}: {}{state}{tier}",
                    month_label(&m.month),
                    format_mbps(m.usage_mbps)
                ),
            )
        })
        .collect();
    BarGeometry {
        capacity_line: false,
        ..bars(values, 0)
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

/// One line of a line chart: a figure per day, drawn in `color`, named in the legend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineSeries {
    pub name: String,
    pub color: (u8, u8, u8),
    pub points: Vec<(f64, f64)>,
}

/// A line chart over days (the MELA report's graphs): gridlines with their figures, a few
/// day labels under the plot, and one line per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineGeometry {
    pub width: f64,
    pub height: f64,
    pub plot: Rect,
    /// The axis's unit, written above its figures.
    pub unit: String,
    pub ticks: Vec<(i64, f64)>,
    pub day_labels: Vec<(String, f64)>,
    pub series: Vec<LineSeries>,
}

/// Day labels under a line chart: at most this many, evenly spread.
const MAX_DAY_LABELS: usize = 8;

/// A line per series over `days` (`YYYY-MM-DD`, each series one figure per day, in `unit`).
pub fn day_lines(unit: &str, days: &[String], series: Vec<(String, Vec<i64>)>) -> LineGeometry {
    let peak = series
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(peak, 4);
    let scale_max = (peak + step - 1) / step * step;
    let tick_values: Vec<i64> = (0..)
        .map(|i| i * step)
        .take_while(|v| *v <= scale_max)
        .collect();
    // Room on the right for the last day's label, centred on the plot's edge.
    let plot = plot_area(&tick_values, unit, 16.0);
    let to_y = |v: i64| plot.bottom() - v.max(0) as f64 / scale_max as f64 * plot.h;
    let span = days.len().saturating_sub(1).max(1) as f64;
    let to_x = |i: usize| plot.x + i as f64 / span * plot.w;
    let every = days.len().div_ceil(MAX_DAY_LABELS).max(1);
    let day_labels = days
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, day)| {
            let label = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| d.format("%b %-d").to_string())
                .unwrap_or_else(|_| day.clone());
            (label, to_x(i))
        })
        .collect();
    let series = series
        .into_iter()
        .enumerate()
        .map(|(n, (name, values))| LineSeries {
            name,
            color: SECTION_COLORS[n % SECTION_COLORS.len()],
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (to_x(i), to_y(*v)))
                .collect(),
        })
        .collect();
    LineGeometry {
        width: BAR_CHART_WIDTH,
        height: BAR_CHART_HEIGHT,
        plot,
        unit: unit.to_string(),
        ticks: tick_values.into_iter().map(|v| (v, to_y(v))).collect(),
        day_labels,
        series,
    }
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

    #[test]
    fn bar_columns_tile_the_plot_and_tooltips_stay_inside_the_chart() {
        let months = (1..=12)
            .map(|m| {
                let month = format!("2026-{m:02}");
                MonthPeak::of(&month, m * 100, Some(&format!("{month}-03")), 1000)
            })
            .collect();
        let g = monthly_bars(&MonthlyAllocation {
            capacity_mbps: 1000,
            has_history: true,
            months,
        });
        for pair in g.bars.windows(2) {
            assert!((pair[0].column.x + pair[0].column.w - pair[1].column.x).abs() < 1e-9);
        }
        let last = g.bars.last().unwrap();
        assert!((last.column.x + last.column.w - g.plot.x - g.plot.w).abs() < 1e-9);
        for bar in &g.bars {
            assert!(
                bar.column.x <= bar.rect.x
                    && bar.rect.x + bar.rect.w <= bar.column.x + bar.column.w
            );
            assert_eq!(bar.column.y, g.plot.y);
            assert!(
                (bar.column.bottom() - g.height).abs() < 1e-9,
                "down to the labels"
            );
        }
        let tips: Vec<_> = g.bars.iter().map(|b| b.tip).collect();
        assert_eq!(tips[..3], [TipAlign::Start; 3]);
        assert_eq!(tips[5..7], [TipAlign::Center; 2]);
        assert_eq!(tips[9..], [TipAlign::End; 3]);
        assert_eq!(g.bars[0].axis_label(), "Jan");
        assert_eq!(TipAlign::End.class(), "tip-end");
    }

    #[test]
    fn the_axis_reads_in_mbps_and_has_room_for_its_widest_figure() {
        let months = vec![MonthPeak::of(
            "2026-01",
            95_000,
            Some("2026-01-05"),
            100_000,
        )];
        let g = monthly_bars(&MonthlyAllocation {
            capacity_mbps: 100_000,
            has_history: true,
            months,
        });
        let widest = g
            .ticks
            .iter()
            .map(|(v, _)| text_width(&tick_label(*v), BAR_FONT))
            .fold(0.0, f64::max);
        assert!(g.ticks.iter().any(|(v, _)| tick_label(*v) == "100,000"));
        assert!(g.plot.x >= widest + LABEL_GAP, "{} < {widest}", g.plot.x);
        assert!(g.plot.x + g.plot.w <= g.width);
        // Text about 12 px where the chart shows about 685 px wide.
        assert!((BAR_FONT * 685.0 / g.width - 12.0).abs() < 0.5);
        assert!((CYLINDER_FONT * 213.0 / CYLINDER_WIDTH - 12.0).abs() < 0.5);
        // The cylinder's "Max" label fits left of the body.
        let c = cylinder(&pool(1000, &[("VLM-5000", 500)]));
        assert!(text_width("Max", CYLINDER_FONT) + MAX_LABEL_GAP <= c.body.x);
        assert!(c.body.x + c.body.w + CAPACITY_OVERHANG <= c.width);
    }
}
