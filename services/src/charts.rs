//! Server-side chart drawing with plotters: the geometry from `bandpool_domain::chart`
//! becomes an SVG the page embeds, so charts show without JavaScript. The hydrated page
//! lays its hover and click areas over the same geometry.

use bandpool_domain::chart::{level_color, BarGeometry, CylinderGeometry, EMPTY_COLOR};
use bandpool_domain::AppError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

fn shade((r, g, b): (u8, u8, u8), factor: f64) -> RGBColor {
    let f = |c: u8| ((c as f64) * factor).clamp(0.0, 255.0) as u8;
    RGBColor(f(r), f(g), f(b))
}

fn ellipse(cx: f64, cy: f64, rx: f64, ry: f64) -> Vec<(i32, i32)> {
    (0..48)
        .map(|i| {
            let a = i as f64 / 48.0 * std::f64::consts::TAU;
            (
                (cx + rx * a.cos()).round() as i32,
                (cy + ry * a.sin()).round() as i32,
            )
        })
        .collect()
}

fn p(x: f64, y: f64) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

fn draw_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("chart drawing failed: {e}"))
}

/// Make the SVG scale with its container: plotters writes fixed width and height.
fn responsive(svg: String, width: f64, height: f64) -> String {
    match svg.find("<svg") {
        Some(start) => {
            let end = svg[start..].find('>').map(|e| start + e).unwrap_or(start);
            let mut out = String::with_capacity(svg.len() + 64);
            out.push_str(&svg[..start]);
            out.push_str(&format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" focusable="false""#
            ));
            out.push_str(&svg[end..]);
            out
        }
        None => svg,
    }
}

/// The cylinder: gray body for the whole scale, a colored section per license type from the
/// bottom, and a dotted line at maximum capacity.
pub fn cylinder_svg(g: &CylinderGeometry) -> Result<String, AppError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (g.width as u32, g.height as u32))
            .into_drawing_area();
        let b = g.body;
        let cx = b.x + b.w / 2.0;
        let rx = b.w / 2.0;
        let empty = rgb(EMPTY_COLOR);
        root.draw(&Polygon::new(
            ellipse(cx, b.bottom(), rx, g.rim),
            shade(EMPTY_COLOR, 0.9).filled(),
        ))
        .map_err(draw_error)?;
        root.draw(&Rectangle::new(
            [p(b.x, b.y), p(b.x + b.w, b.bottom())],
            empty.filled(),
        ))
        .map_err(draw_error)?;
        if let Some(first) = g.sections.first() {
            root.draw(&Polygon::new(
                ellipse(cx, b.bottom(), rx, g.rim),
                shade(first.color, 0.8).filled(),
            ))
            .map_err(draw_error)?;
        }
        for s in &g.sections {
            let r = s.rect;
            root.draw(&Rectangle::new(
                [p(r.x, r.y), p(r.x + r.w, r.bottom())],
                rgb(s.color).filled(),
            ))
            .map_err(draw_error)?;
            root.draw(&Polygon::new(
                ellipse(cx, r.y, rx, g.rim),
                shade(s.color, 1.25).filled(),
            ))
            .map_err(draw_error)?;
            root.draw(&PathElement::new(
                vec![p(r.x, r.bottom()), p(r.x + r.w, r.bottom())],
                WHITE.stroke_width(1),
            ))
            .map_err(draw_error)?;
        }
        let top_fill = if g
            .sections
            .last()
            .map(|s| s.rect.y <= b.y + 0.5)
            .unwrap_or(false)
        {
            None
        } else {
            Some(shade(EMPTY_COLOR, 1.04))
        };
        if let Some(color) = top_fill {
            root.draw(&Polygon::new(ellipse(cx, b.y, rx, g.rim), color.filled()))
                .map_err(draw_error)?;
        }
        root.draw(&PathElement::new(
            ellipse(cx, b.y, rx, g.rim)
                .into_iter()
                .chain([p(cx + rx, b.y)])
                .collect::<Vec<_>>(),
            shade(EMPTY_COLOR, 0.75).stroke_width(1),
        ))
        .map_err(draw_error)?;
        // The dotted maximum-capacity line.
        let mut x = b.x - 16.0;
        while x < b.x + b.w + 16.0 {
            root.draw(&Circle::new(p(x, g.capacity_y), 1, BLACK.filled()))
                .map_err(draw_error)?;
            x += 6.0;
        }
        let style = TextStyle::from(("sans-serif", 11).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new("Max", p(b.x - 20.0, g.capacity_y), style))
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(svg, g.width, g.height))
}

fn axis_label(mbps: i64, scale_max: i64) -> String {
    if scale_max >= 10_000 {
        let gb = mbps as f64 / 1000.0;
        if (gb - gb.round()).abs() < 1e-9 {
            format!("{} Gb/s", gb.round() as i64)
        } else {
            format!("{gb:.1} Gb/s")
        }
    } else {
        format!("{mbps} Mb/s")
    }
}

/// Bars colored by usage level, gridlines with their values, and the capacity line.
pub fn bars_svg(g: &BarGeometry) -> Result<String, AppError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (g.width as u32, g.height as u32))
            .into_drawing_area();
        let plot = g.plot;
        let grid = RGBColor(226, 232, 240);
        let label = TextStyle::from(("sans-serif", 11).into_font())
            .color(&RGBColor(71, 85, 105))
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (value, y) in &g.ticks {
            root.draw(&PathElement::new(
                vec![p(plot.x, *y), p(plot.x + plot.w, *y)],
                grid.stroke_width(1),
            ))
            .map_err(draw_error)?;
            root.draw(&Text::new(
                axis_label(*value, g.scale_max_mbps),
                p(plot.x - 8.0, *y),
                label.clone(),
            ))
            .map_err(draw_error)?;
        }
        let under =
            TextStyle::from(("sans-serif", if g.bars.len() > 12 { 9 } else { 11 }).into_font())
                .color(&RGBColor(71, 85, 105))
                .pos(Pos::new(HPos::Center, VPos::Top));
        for bar in &g.bars {
            let r = bar.rect;
            if r.h > 0.0 {
                root.draw(&Rectangle::new(
                    [p(r.x, r.y), p(r.x + r.w, r.bottom())],
                    rgb(level_color(bar.level)).filled(),
                ))
                .map_err(draw_error)?;
            }
            let short = if g.bars.len() > 12 {
                bar.label.clone()
            } else {
                bar.label.split(' ').next().unwrap_or("").to_string()
            };
            root.draw(&Text::new(
                short,
                p(r.x + r.w / 2.0, plot.bottom() + 6.0),
                under.clone(),
            ))
            .map_err(draw_error)?;
        }
        root.draw(&PathElement::new(
            vec![p(plot.x, plot.bottom()), p(plot.x + plot.w, plot.bottom())],
            RGBColor(100, 116, 139).stroke_width(1),
        ))
        .map_err(draw_error)?;
        let capacity = RGBColor(15, 23, 42);
        let mut x = plot.x;
        while x < plot.x + plot.w {
            let end = (x + 8.0).min(plot.x + plot.w);
            root.draw(&PathElement::new(
                vec![p(x, g.capacity_y), p(end, g.capacity_y)],
                capacity.stroke_width(2),
            ))
            .map_err(draw_error)?;
            x += 13.0;
        }
        let cap_label = TextStyle::from(("sans-serif", 11).into_font())
            .color(&capacity)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        root.draw(&Text::new(
            "Capacity",
            p(plot.x + plot.w, g.capacity_y - 3.0),
            cap_label,
        ))
        .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(svg, g.width, g.height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandpool_domain::allocation::{MonthPeak, MonthlyAllocation, UsageLevel};
    use bandpool_domain::pool::{PoolSummary, TypeSection};

    #[test]
    fn the_cylinder_draws_every_section_and_scales() {
        let pool = PoolSummary::new(
            "t".into(),
            10_000,
            10,
            vec![TypeSection {
                license_type: "VLM-5000".into(),
                allocated_mbps: 5_000,
                active_licenses: 1,
                grace_period_licenses: 0,
            }],
            None,
        );
        let svg = cylinder_svg(&bandpool_domain::chart::cylinder(&pool)).unwrap();
        assert!(
            svg.contains("viewBox=\"0 0 240 320\""),
            "{}",
            &svg[..200.min(svg.len())]
        );
        assert!(svg.contains("<rect"));
        assert!(svg.contains("Max"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    /// A month's peak, on the month's second day.
    fn peak(month: &str, peak_mbps: i64, level: UsageLevel) -> MonthPeak {
        MonthPeak {
            month: month.into(),
            peak_mbps,
            peak_day: Some(format!("{month}-02")),
            level,
        }
    }

    #[test]
    fn bars_are_colored_by_level_and_labelled() {
        let data = MonthlyAllocation {
            capacity_mbps: 1000,
            has_history: true,
            months: vec![
                peak("2026-01", 500, UsageLevel::Normal),
                peak("2026-02", 900, UsageLevel::Warning),
                peak("2026-03", 1100, UsageLevel::Over),
            ],
        };
        let svg = bars_svg(&bandpool_domain::chart::monthly_bars(&data)).unwrap();
        assert!(svg.contains("Capacity"));
        assert!(svg.contains("Jan"));
        let lower = svg.to_lowercase();
        assert!(
            lower.contains("#ea8a0c") || lower.contains("rgb(234,138,12)"),
            "orange bar missing"
        );
        assert!(
            lower.contains("#dc2626") || lower.contains("rgb(220,38,38)"),
            "red bar missing"
        );
    }
}
