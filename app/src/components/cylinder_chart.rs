//! Current allocation vs Maximum capacity: the cylinder and its three figures.

use super::chart::{overlay_style, ChartFigure, ChartTooltip};
use crate::functions::pool::PoolView;
use bandpool_domain::format::format_mbps;
use leptos::prelude::*;

#[component]
pub fn CylinderChart(view: PoolView) -> impl IntoView {
    let g = &view.geometry;
    let s = &view.summary;
    // A section's tooltip stands right of the body. The cylinder takes at most half of its
    // row (style/main.css, `.cylinder-layout`), so from the body's right edge to the row's
    // end there are at least 2 × width − (body's right edge) units: that much, in percent
    // of the section's width (the tooltip's containing block), keeps it inside the card.
    let body_end = g.body.x + g.body.w;
    let tip_room = format!(
        "--tip-room:{:.1}%",
        (2.0 * g.width - body_end) / g.body.w * 100.0
    );
    let areas = g
        .sections
        .iter()
        .map(|section| {
            let style = overlay_style(&section.rect, g.width, g.height);
            view! {
                <div
                    class="hit cylinder-section"
                    style=style
                    tabindex="0"
                    data-license-type=section.license_type.clone()
                >
                    <ChartTooltip text=section.tooltip.clone()/>
                </div>
            }
        })
        .collect_view()
        .into_any();
    let alt_items = s
        .sections
        .iter()
        .map(|sec| view! { <li>{format!("{}: {} across {} license(s)", sec.license_type, format_mbps(sec.allocated_mbps), sec.active_licenses + sec.grace_period_licenses)}</li> })
        .collect_view();
    // The caption goes into the figure's children, which own what they show.
    let caption = format!(
        "Cylinder chart: {} allocated of a maximum capacity of {}.",
        format_mbps(s.allocated_mbps),
        format_mbps(s.max_capacity_mbps),
    );
    let over = s.is_over_allocated();
    let empty = s.sections.is_empty();
    let available_class = if s.available_mbps < 0 {
        "figure-value over"
    } else {
        "figure-value"
    };
    view! {
        <section class="card allocation-now" aria-labelledby="allocation-now-title">
            <h2 id="allocation-now-title">"Current allocation vs Maximum capacity"</h2>
            <div class="cylinder-layout">
                <ChartFigure class="chart cylinder" width=g.width height=g.height svg=view.svg.clone() areas vars=tip_room>
                    <figcaption class="sr-only">{caption}<ul>{alt_items}</ul></figcaption>
                </ChartFigure>
                <dl class="figures">
                    <div>
                        <dt>"Current allocation"</dt>
                        <dd class="figure-value" data-figure="allocation">{format_mbps(s.allocated_mbps)}</dd>
                    </div>
                    <div>
                        <dt>"Maximum capacity"</dt>
                        <dd class="figure-value" data-figure="capacity">{format_mbps(s.max_capacity_mbps)}</dd>
                    </div>
                    <div>
                        <dt>"Available capacity"</dt>
                        <dd class=available_class data-figure="available">{format_mbps(s.available_mbps)}</dd>
                    </div>
                    <div>
                        // Those holding a license from this pool, of the limit (the inventory,
                        // on Connectors and Usage and billing, also lists unlicensed ones).
                        <dt>"LoadMasters licensed"</dt>
                        <dd class="figure-value small" data-figure="loadmasters">{format!("{} of {} allowed", s.loadmasters, s.loadmaster_limit)}</dd>
                    </div>
                </dl>
            </div>
            {over.then(|| view! {
                <p class="note warning" role="status">
                    "This pool is over-allocated: its licenses hold more bandwidth than its maximum capacity."
                </p>
            })}
            {empty.then(|| view! { <p class="note empty">"No licenses are allocated from this pool yet."</p> })}
            <ul class="legend">
                {g.sections.iter().map(|sec| {
                    let (r, gr, b) = sec.color;
                    let swatch = format!("background:rgb({r},{gr},{b})");
                    view! { <li><span class="swatch" style=swatch></span>{sec.license_type.clone()}</li> }
                }).collect_view()}
            </ul>
        </section>
    }
}
