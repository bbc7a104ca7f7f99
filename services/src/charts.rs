//! Server-side chart drawing with plotters: the geometry from `bandpool_domain::chart`
//! becomes an SVG the page embeds, so charts show without JavaScript. The page lays its
//! hover, focus and click areas (with their CSS tooltips) over the same geometry.

use bandpool_domain::chart::{
    level_color, tick_label, BarGeometry, CylinderGeometry, LineGeometry, BAR_AXIS_UNIT, BAR_FONT,
    CAPACITY_OVERHANG, CYLINDER_FONT, EMPTY_COLOR, LABEL_GAP, MAX_LABEL_GAP,
};
use bandpool_domain::AppError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// plotters' SVG backend writes `font-size` as the font's size divided by this.
const SVG_FONT_SIZE_RATIO: f64 = 1.24;

/// Text `size` SVG units high (the geometry's fonts), in `color`, anchored at `pos`.
fn text_style(size: f64, color: &RGBColor, pos: Pos) -> TextStyle<'_> {
    TextStyle::from(("sans-serif", size * SVG_FONT_SIZE_RATIO).into_font())
        .color(color)
        .pos(pos)
}

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

/// Gridlines across `plot` with their figures right-aligned on its left, and the axis's
/// `unit` above the highest figure.
fn axis(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    plot: bandpool_domain::chart::Rect,
    ticks: &[(i64, f64)],
    unit: &str,
) -> Result<(), AppError> {
    let grid = RGBColor(226, 232, 240);
    let ink = RGBColor(71, 85, 105);
    let label = text_style(BAR_FONT, &ink, Pos::new(HPos::Right, VPos::Center));
    for (value, y) in ticks {
        root.draw(&PathElement::new(
            vec![p(plot.x, *y), p(plot.x + plot.w, *y)],
            grid.stroke_width(1),
        ))
        .map_err(draw_error)?;
        root.draw(&Text::new(
            tick_label(*value),
            p(plot.x - LABEL_GAP, *y),
            label.clone(),
        ))
        .map_err(draw_error)?;
    }
    root.draw(&Text::new(
        unit.to_string(),
        p(plot.x - LABEL_GAP, plot.y - 1.3 * BAR_FONT),
        label,
    ))
    .map_err(draw_error)?;
    Ok(())
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
        let mut x = b.x - CAPACITY_OVERHANG;
        while x <= b.x + b.w + CAPACITY_OVERHANG {
            root.draw(&Circle::new(p(x, g.capacity_y), 1, BLACK.filled()))
                .map_err(draw_error)?;
            x += 6.0;
        }
        let style = text_style(CYLINDER_FONT, &BLACK, Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(
            "Max",
            p(b.x - MAX_LABEL_GAP, g.capacity_y),
            style,
        ))
        .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(svg, g.width, g.height))
}

/// Bars colored by usage level, gridlines with their figures in Mb/s (the unit written above
/// them), a label under each bar, and the capacity line.
pub fn bars_svg(g: &BarGeometry) -> Result<String, AppError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (g.width as u32, g.height as u32))
            .into_drawing_area();
        let plot = g.plot;
        let ink = RGBColor(71, 85, 105);
        let gap = LABEL_GAP;
        axis(&root, plot, &g.ticks, BAR_AXIS_UNIT)?;
        let under = text_style(BAR_FONT, &ink, Pos::new(HPos::Center, VPos::Top));
        for bar in &g.bars {
            let r = bar.rect;
            if r.h > 0.0 {
                root.draw(&Rectangle::new(
                    [p(r.x, r.y), p(r.x + r.w, r.bottom())],
                    rgb(level_color(bar.level)).filled(),
                ))
                .map_err(draw_error)?;
            }
            root.draw(&Text::new(
                bar.axis_label().to_string(),
                p(r.x + r.w / 2.0, plot.bottom() + gap),
                under.clone(),
            ))
            .map_err(draw_error)?;
        }
        root.draw(&PathElement::new(
            vec![p(plot.x, plot.bottom()), p(plot.x + plot.w, plot.bottom())],
            RGBColor(100, 116, 139).stroke_width(1),
        ))
        .map_err(draw_error)?;
        if g.capacity_line {
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
            let cap_label = text_style(BAR_FONT, &capacity, Pos::new(HPos::Right, VPos::Bottom));
            root.draw(&Text::new(
                "Capacity",
                p(plot.x + plot.w, g.capacity_y - 4.0),
                cap_label,
            ))
            .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(svg, g.width, g.height))
}

/// A line chart: gridlines with their figures, the unit above them, day labels under the
/// plot, and each series as a line with a dot per day when there are few days.
pub fn lines_svg(g: &LineGeometry) -> Result<String, AppError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (g.width as u32, g.height as u32))
            .into_drawing_area();
        let plot = g.plot;
        let ink = RGBColor(71, 85, 105);
        axis(&root, plot, &g.ticks, &g.unit)?;
        let under = text_style(BAR_FONT, &ink, Pos::new(HPos::Center, VPos::Top));
        for (text, x) in &g.day_labels {
            root.draw(&Text::new(
                text.clone(),
                p(*x, plot.bottom() + LABEL_GAP),
                under.clone(),
            ))
            .map_err(draw_error)?;
        }
        root.draw(&PathElement::new(
            vec![p(plot.x, plot.bottom()), p(plot.x + plot.w, plot.bottom())],
            RGBColor(100, 116, 139).stroke_width(1),
        ))
        .map_err(draw_error)?;
        for series in &g.series {
            let color = rgb(series.color);
            let points: Vec<(i32, i32)> = series.points.iter().map(|(x, y)| p(*x, *y)).collect();
            root.draw(&PathElement::new(points.clone(), color.stroke_width(2)))
                .map_err(draw_error)?;
            if points.len() <= 62 {
                for point in points {
                    root.draw(&Circle::new(point, 2, color.filled()))
                        .map_err(draw_error)?;
                }
            }
        }
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(svg, g.width, g.height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandpool_domain::allocation::{MonthPeak, MonthlyAllocation};
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
            svg.contains(&format!(
                "viewBox=\"0 0 {} {}\"",
                bandpool_domain::chart::CYLINDER_WIDTH,
                bandpool_domain::chart::CYLINDER_HEIGHT
            )),
            "{}",
            &svg[..200.min(svg.len())]
        );
        assert!(svg.contains("<rect"));
        assert!(svg.contains("Max"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(font_sizes(&svg), vec![CYLINDER_FONT]);
    }

    /// Every distinct `font-size` the SVG's text is written in, rounded to hundredths.
    fn font_sizes(svg: &str) -> Vec<f64> {
        let mut sizes: Vec<f64> = svg
            .split("font-size=\"")
            .skip(1)
            .map(|rest| {
                let size: f64 = rest[..rest.find('"').unwrap()].parse().unwrap();
                (size * 100.0).round() / 100.0
            })
            .collect();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        sizes
    }

    #[test]
    fn the_bars_axis_reads_in_mbps_in_the_charts_font() {
        let months = vec![MonthPeak::of(
            "2026-01",
            81_400,
            Some("2026-01-02"),
            100_000,
        )];
        let data = MonthlyAllocation {
            capacity_mbps: 100_000,
            has_history: true,
            months,
        };
        let svg = bars_svg(&bandpool_domain::chart::monthly_bars(&data)).unwrap();
        assert!(svg.contains("\nMb/s\n"), "the axis's unit");
        assert!(
            svg.contains("\n100,000\n"),
            "figures grouped like the page's"
        );
        assert!(!svg.contains("Gb/s"));
        assert_eq!(font_sizes(&svg), vec![BAR_FONT]);
    }

    #[test]
    fn bars_are_colored_by_level_and_labelled() {
        // One month at each level: within capacity, above 80% of it, over it.
        let months = [("2026-01", 500), ("2026-02", 900), ("2026-03", 1100)]
            .map(|(month, peak)| MonthPeak::of(month, peak, Some(&format!("{month}-02")), 1000))
            .to_vec();
        let data = MonthlyAllocation {
            capacity_mbps: 1000,
            has_history: true,
            months,
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
