//! What the two charts share: the figure that lays hover areas over the SVG the server drew,
//! and the tooltip each area carries. Everything here is server-rendered HTML: CSS shows an
//! area's tooltip while the pointer is over it or it has the keyboard's focus, so the charts
//! need no WASM.

use bandpool_domain::chart::{Bar, Rect};
use leptos::prelude::*;

/// CSS placing an overlay element over a chart rectangle, in percent of the chart's size.
pub fn overlay_style(rect: &Rect, width: f64, height: f64) -> String {
    format!(
        "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
        rect.x / width * 100.0,
        rect.y / height * 100.0,
        rect.w / width * 100.0,
        rect.h / height * 100.0
    )
}

/// A hover area's details, inside the area: hidden until the area is hovered or focused.
/// No `title` on the area itself, or the browser would show its own tooltip as well.
#[component]
pub fn ChartTooltip(text: String) -> impl IntoView {
    view! { <span class="chart-tooltip" role="tooltip">{text}</span> }
}

/// A bar's hover area as a drill-down link to `href`: over the bar's whole column, its
/// tooltip shown on hover and keyboard focus, `label` what a screen reader says. `level`
/// marks the bar's usage level; `noscroll` keeps the page where it is when followed.
#[component]
pub fn BarLink(
    bar: Bar,
    width: f64,
    height: f64,
    href: String,
    label: String,
    #[prop(optional)] level: Option<&'static str>,
    #[prop(optional)] noscroll: bool,
) -> impl IntoView {
    // The tooltip runs from the column's left edge, ends at its right edge or is centred on
    // it, by where the column stands in the chart.
    let class = format!("hit bar-hit {}", bar.tip.class());
    view! {
        <a
            class=class
            data-noscroll=noscroll.then_some("")
            style=overlay_style(&bar.column, width, height)
            href=href
            aria-label=label
            data-month=bar.key.clone()
            data-level=level
        >
            <ChartTooltip text=bar.tooltip/>
        </a>
    }
}

/// A chart at its aspect ratio: the server's SVG, the hover `areas` over it (each with its
/// own tooltip), then `children` (a caption). `vars` adds CSS custom properties the chart's
/// styles read (`--name:value;…`).
#[component]
pub fn ChartFigure(
    class: &'static str,
    width: f64,
    height: f64,
    svg: String,
    areas: AnyView,
    #[prop(optional, into)] vars: String,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <figure class=class style=format!("aspect-ratio:{width}/{height};{vars}")>
            <div class="chart-svg" aria-hidden="true" inner_html=svg></div>
            <div class="chart-overlay">{areas}</div>
            {children.map(|children| children())}
        </figure>
    }
}
