//! The MELA report as a PDF: A4 pages, each headed with the tenant, the contract and the
//! range and numbered at its foot. The first page holds the figures, the active instances and
//! the aggregate throughput; then the top LoadMasters by peak SSL TPS and by peak throughput,
//! one graph each; then the events table over as many pages as it needs. The graphs are drawn
//! from the same geometry as the page's SVG, the text in the standard Helvetica (no font
//! files to ship or embed).

use bandpool_domain::chart::{tick_label, LineGeometry, BAR_FONT};
use bandpool_domain::format::{format_mbps, group_thousands};
use bandpool_domain::metered::bytes_to_mbps;
use bandpool_domain::metered_report::{MeteredReport, ReportChart, ReportCharts, TopLoadMaster};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const FONT: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
/// Event rows per page of the events table.
const EVENT_ROWS_PER_PAGE: usize = 46;

/// Text as the standard fonts' WinAnsi encoding takes it: Latin-1 as is, the dashes and the
/// middle dot mapped, anything else a question mark.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '—' => 0x97,
            '–' => 0x96,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// One page being written: its content stream and where the next line goes.
struct Page {
    content: Content,
    y: f32,
}

impl Page {
    fn new(heading: &str) -> Page {
        let mut page = Page {
            content: Content::new(),
            y: PAGE_H - MARGIN,
        };
        page.text(MARGIN, page.y, 9.0, false, heading);
        page.y -= 8.0;
        page.content
            .set_stroke_rgb(0.8, 0.84, 0.88)
            .set_line_width(0.5)
            .move_to(MARGIN, page.y)
            .line_to(PAGE_W - MARGIN, page.y)
            .stroke();
        page.y -= 24.0;
        page
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let encoded = win_ansi(text);
        self.content
            .set_fill_rgb(0.06, 0.09, 0.16)
            .begin_text()
            .set_font(if bold { BOLD } else { FONT }, size)
            .next_line(x, y)
            .show(Str(&encoded))
            .end_text();
    }

    /// A line of text at the page's current position, then down.
    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.text(MARGIN, self.y, size, bold, text);
        self.y -= size * 1.5;
    }

    /// A graph `height` points high across the page, from the chart's geometry.
    fn graph(&mut self, chart: &LineGeometry, height: f32) {
        let width = PAGE_W - 2.0 * MARGIN;
        let scale_x = width / chart.width as f32;
        let scale_y = height / chart.height as f32;
        let top = self.y;
        let at = |x: f64, y: f64| (MARGIN + x as f32 * scale_x, top - y as f32 * scale_y);
        let font = (BAR_FONT as f32 * scale_y).clamp(6.0, 8.0);
        let plot = chart.plot;
        for (value, y) in &chart.ticks {
            let (x0, y0) = at(plot.x, *y);
            let (x1, _) = at(plot.x + plot.w, *y);
            self.content
                .set_stroke_rgb(0.89, 0.91, 0.94)
                .set_line_width(0.5)
                .move_to(x0, y0)
                .line_to(x1, y0)
                .stroke();
            let label = tick_label(*value);
            let label_w = label.len() as f32 * font * 0.55;
            self.text(x0 - 4.0 - label_w, y0 - font / 3.0, font, false, &label);
        }
        let (ux, uy) = at(0.0, plot.y);
        self.text(ux, uy + font, font, false, &chart.unit);
        for (label, x) in &chart.day_labels {
            let (lx, ly) = at(*x, plot.y + plot.h);
            let label_w = label.len() as f32 * font * 0.5;
            self.text(lx - label_w / 2.0, ly - font - 3.0, font, false, label);
        }
        for series in &chart.series {
            let (r, g, b) = series.color;
            self.content
                .set_stroke_rgb(
                    f32::from(r) / 255.0,
                    f32::from(g) / 255.0,
                    f32::from(b) / 255.0,
                )
                .set_line_width(1.2);
            for (i, (x, y)) in series.points.iter().enumerate() {
                let (px, py) = at(*x, *y);
                if i == 0 {
                    self.content.move_to(px, py);
                } else {
                    self.content.line_to(px, py);
                }
            }
            if !series.points.is_empty() {
                self.content.stroke();
            }
        }
        self.y = top - height - 18.0;
    }
}

/// A page of top LoadMasters: its title, the LoadMasters, their graphs, and how a peak reads.
type TopsPage<'a> = (
    &'static str,
    &'a [TopLoadMaster],
    &'a [ReportChart],
    fn(i64) -> String,
);

/// The report as a PDF file.
pub fn report_pdf(report: &MeteredReport, charts: &ReportCharts) -> Vec<u8> {
    let heading = format!(
        "MELA report - {} - {} - {} to {} (UTC)",
        report.tenant_name,
        report
            .contract_id
            .as_deref()
            .map(|c| format!("Contract {c}"))
            .unwrap_or_else(|| "no metered contract".into()),
        report.from,
        report.to
    );
    let mut pages = Vec::new();

    let mut first = Page::new(&heading);
    first.line(16.0, true, "MELA report");
    first.line(
        10.0,
        false,
        &format!("Maximum active metered instances: {}", report.max_instances),
    );
    first.line(
        10.0,
        false,
        &format!(
            "Events in the range: {}",
            group_thousands(report.events_total as i64)
        ),
    );
    first.y -= 8.0;
    first.line(12.0, true, "Active metered instances per day");
    first.y -= 6.0;
    first.graph(&charts.instances.geometry, 230.0);
    first.line(
        12.0,
        true,
        "Aggregate throughput (sum of daily peaks, Mb/s)",
    );
    first.y -= 6.0;
    first.graph(&charts.aggregate_throughput.geometry, 230.0);
    pages.push(first);

    let tops: [TopsPage; 2] = [
        (
            "Top five LoadMasters by peak SSL TPS",
            &report.top_ssl_tps,
            &charts.top_ssl_tps,
            |v| format!("{} SSL TPS", group_thousands(v)),
        ),
        (
            "Top five LoadMasters by peak throughput",
            &report.top_throughput,
            &charts.top_throughput,
            |v| format_mbps(bytes_to_mbps(v)),
        ),
    ];
    for (title, list, graphs, peak) in tops {
        let mut page = Page::new(&heading);
        page.line(12.0, true, title);
        if list.is_empty() {
            page.line(10.0, false, "No LoadMaster reported usage in this range.");
        }
        for (i, (top, graph)) in list.iter().zip(graphs).enumerate() {
            page.line(
                9.5,
                true,
                &format!("{}. {} - peak {}", i + 1, top.label(), peak(top.peak)),
            );
            page.graph(&graph.geometry, 105.0);
        }
        pages.push(page);
    }

    let chunks: Vec<_> = report.events.chunks(EVENT_ROWS_PER_PAGE).collect();
    let event_pages = chunks.len().max(1);
    for n in 0..event_pages {
        let mut page = Page::new(&heading);
        page.line(
            12.0,
            true,
            &if event_pages > 1 {
                format!("Events ({} of {})", n + 1, event_pages)
            } else {
                "Events".to_string()
            },
        );
        if n == 0 && report.events_total > report.events.len() as u64 {
            page.line(
                8.5,
                false,
                &format!(
                    "The newest {} of {} events; the summary download's asl.csv holds them all.",
                    report.events.len(),
                    group_thousands(report.events_total as i64)
                ),
            );
        }
        let y = page.y;
        page.text(MARGIN, y, 9.0, true, "Event Date");
        page.text(MARGIN + 80.0, y, 9.0, true, "Event Type");
        page.text(PAGE_W - MARGIN - 50.0, y, 9.0, true, "Instances");
        page.y -= 14.0;
        match chunks.get(n) {
            None => page.line(
                9.0,
                false,
                "No activations, deactivations or syncs in this range.",
            ),
            Some(rows) => {
                for event in rows.iter() {
                    let y = page.y;
                    page.text(MARGIN, y, 8.5, false, &event.event_date());
                    page.text(MARGIN + 80.0, y, 8.5, false, &event.event_type());
                    page.text(
                        PAGE_W - MARGIN - 50.0,
                        y,
                        8.5,
                        false,
                        &event.instances.to_string(),
                    );
                    page.y -= 13.0;
                }
            }
        }
        pages.push(page);
    }

    write(pages)
}

/// Number the pages at their feet and write the file.
fn write(pages: Vec<Page>) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let bold = Ref::new(4);
    let first_page = 5;
    let count = pages.len();
    let page_ids: Vec<Ref> = (0..count)
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(count as i32);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, mut page) in pages.into_iter().enumerate() {
        let footer = format!("Page {} of {count}", i + 1);
        page.text(PAGE_W - MARGIN - 60.0, MARGIN / 2.0, 8.0, false, &footer);
        let id = page_ids[i];
        let content_id = Ref::new(id.get() + 1);
        let mut writer = pdf.page(id);
        writer
            .parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_id);
        let mut resources = writer.resources();
        let mut fonts = resources.fonts();
        fonts.pair(FONT, font).pair(BOLD, bold);
        fonts.finish();
        resources.finish();
        writer.finish();
        pdf.stream(content_id, &page.content.finish());
    }
    pdf.finish()
}
