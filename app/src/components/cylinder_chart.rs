//! Current allocation vs Maximum capacity: the cylinder and its three figures.

use super::overlay_style;
use crate::functions::pool::PoolView;
use bandpool_domain::format::format_mbps;
use leptos::prelude::*;

#[component]
pub fn CylinderChart(view: PoolView) -> impl IntoView {
    let hover = RwSignal::new(None::<(String, String)>);
    let g = view.geometry.clone();
    let s = view.summary.clone();
    let areas = g
        .sections
        .iter()
        .map(|section| {
            let tip = section.tooltip.clone();
            let style = overlay_style(&section.rect, g.width, g.height);
            let top = format!("top:{:.3}%", section.rect.y / g.height * 100.0);
            let enter = (tip.clone(), top);
            view! {
                <div
                    class="hit cylinder-section"
                    style=style
                    title=tip
                    data-license-type=section.license_type.clone()
                    on:mouseenter=move |_| hover.set(Some(enter.clone()))
                    on:mouseleave=move |_| hover.set(None)
                ></div>
            }
        })
        .collect_view();
    let alt_items = s
        .sections
        .iter()
        .map(|sec| view! { <li>{format!("{}: {} across {} license(s)", sec.license_type, format_mbps(sec.allocated_mbps), sec.active_licenses + sec.grace_period_licenses)}</li> })
        .collect_view();
    let aspect = format!("aspect-ratio:{}/{}", g.width, g.height);
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
                <figure class="chart cylinder" style=aspect>
                    <div class="chart-svg" aria-hidden="true" inner_html=view.svg.clone()></div>
                    <div class="chart-overlay">{areas}</div>
                    {move || {
                        hover
                            .get()
                            .map(|(text, top)| view! { <div class="chart-tooltip" role="tooltip" style=top>{text}</div> })
                    }}
                    <figcaption class="sr-only">
                        {format!(
                            "Cylinder chart: {} allocated of a maximum capacity of {}.",
                            format_mbps(s.allocated_mbps),
                            format_mbps(s.max_capacity_mbps),
                        )}
                        <ul>{alt_items}</ul>
                    </figcaption>
                </figure>
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
                        <dt>"LoadMasters"</dt>
                        <dd class="figure-value small">{format!("{} of {}", s.loadmasters, s.loadmaster_limit)}</dd>
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
