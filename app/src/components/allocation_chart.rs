//! Maximum allocation: a bar per month (click one for its days), or a bar per day of the
//! month drilled into, with a way back. Drill-down is a link, so it works without
//! JavaScript and the month lives in the URL. Each bar's column carries its tooltip, shown
//! by CSS on hover and on keyboard focus (month bars are links, day bars take focus).

use super::chart::{overlay_style, BarLink, ChartFigure, ChartTooltip};
use crate::functions::allocation::AllocationView;
use crate::url::PageState;
use bandpool_domain::format::{format_mbps, month_label};
use leptos::prelude::*;

#[component]
pub fn AllocationChart(view: AllocationView, state: PageState) -> impl IntoView {
    let g = &view.geometry;
    let drill = view.month.is_none();
    let areas = g
        .bars
        .iter()
        .map(|bar| {
            let level = bar.level.key();
            if drill {
                let href = state.with_month(Some(bar.key.clone())).href();
                let label = format!("{} (show the days of this month)", bar.tooltip);
                view! {
                    <BarLink bar=bar.clone() width=g.width height=g.height href label level noscroll=true/>
                }
                .into_any()
            } else {
                let style = overlay_style(&bar.column, g.width, g.height);
                let class = format!("hit bar-hit {}", bar.tip.class());
                view! {
                    <div class=class style=style tabindex="0" data-day=bar.key.clone() data-level=level>
                        <ChartTooltip text=bar.tooltip.clone()/>
                    </div>
                }
                .into_any()
            }
        })
        .collect_view()
        .into_any();
    let rows = g
        .bars
        .iter()
        .map(|bar| view! { <tr><th scope="row">{bar.label.clone()}</th><td>{format_mbps(bar.value_mbps)}</td><td>{bar.tooltip.clone()}</td></tr> })
        .collect_view();
    let title = match &view.month {
        Some(m) => format!("Maximum allocation: each day of {}", month_label(m)),
        None => "Maximum allocation: peak of each month".to_string(),
    };
    let back = view.month.as_ref().map(|_| {
        let href = state.with_month(None).href();
        view! { <a class="back-link" data-noscroll="" href=href>"← Back to all months"</a> }
    });
    let empty_days = view.month.is_some() && g.bars.is_empty();
    view! {
        <section class="card allocation-history" aria-labelledby="allocation-history-title">
            <div class="card-head">
                <h2 id="allocation-history-title">{title.clone()}</h2>
                {back}
            </div>
            {(!view.has_history).then(|| view! {
                <p class="note empty">"No allocation history yet: bars appear as licenses are issued from the pool."</p>
            })}
            {empty_days.then(|| view! { <p class="note empty">"This month has no days with usage yet."</p> })}
            <ChartFigure class="chart bars" width=g.width height=g.height svg=view.svg.clone() areas/>
            <p class="legend-line">
                <span class="swatch level-normal"></span>"Up to 80% of capacity "
                <span class="swatch level-warning"></span>"Above 80% "
                <span class="swatch level-over"></span>"Above 100% "
                <span class="capacity-key"></span>{format!("Capacity ({})", format_mbps(view.capacity_mbps))}
            </p>
            // The table sits in a clipped box: a table itself grows to fit its text.
            <div class="sr-only">
            <table>
                <caption>{title}</caption>
                <thead><tr><th scope="col">"Period"</th><th scope="col">"Peak allocation"</th><th scope="col">"Details"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
        </section>
    }
}
