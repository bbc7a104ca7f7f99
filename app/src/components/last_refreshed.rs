//! Last refreshed, beside a page's heading: when the last sync finished ("never" before the
//! first), with the time in milliseconds for the browser tests to compare.

use bandpool_domain::format::format_datetime;
use leptos::prelude::*;

#[component]
pub fn LastRefreshed(at: Option<i64>) -> impl IntoView {
    view! {
        <p class="last-refreshed">
            <span class="muted">"Last refreshed "</span>
            <time data-last-refreshed=at.map(|t| t.to_string()).unwrap_or_default()>
                {at.map(format_datetime).unwrap_or_else(|| "never".to_string())}
            </time>
        </p>
    }
}
