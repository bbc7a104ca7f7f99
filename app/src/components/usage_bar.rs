//! A usage bar of Usage and billing: green under 50%, amber from 51 to 80%, red from 81%
//! (and beyond 100%), with the figure over it and the same reading in words for screen
//! readers and without colour.

use bandpool_domain::billing::Usage;
use leptos::prelude::*;

#[component]
pub fn UsageBar(
    /// What is measured ("License capacity").
    label: &'static str,
    usage: Usage,
    /// The figure shown over the bar, on the right ("4.2 of 10 Gb").
    figure: String,
    /// A stable name for tests and styles.
    name: &'static str,
) -> impl IntoView {
    let level = usage.level;
    let words = format!("{label}: {figure}, {}% ({})", usage.percent, level.label());
    view! {
        <div class="usage" data-bar=name data-level=level.key() data-percent=usage.percent.to_string()>
            <div class="usage-head">
                <span class="usage-label">{label}</span>
                <span class="usage-figure">{figure}</span>
            </div>
            <div
                class="usage-bar"
                role="meter"
                aria-label=words.clone()
                aria-valuemin="0"
                aria-valuemax=usage.total.to_string()
                aria-valuenow=usage.used.min(usage.total.max(0)).to_string()
                title=words
            >
                <div class=format!("usage-fill level-{}", level.key()) style=format!("width:{}%", usage.width_percent())></div>
            </div>
            <span class=format!("usage-percent level-{}", level.key())>{format!("{}%", usage.percent)}</span>
        </div>
    }
}
