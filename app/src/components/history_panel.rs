//! A license's history, opened from the arrow beside it in the License overview.

use crate::url::PageState;
use bandpool_domain::format::format_datetime;
use bandpool_domain::license::LicenseHistory;
use leptos::prelude::*;

#[component]
pub fn HistoryPanel(history: LicenseHistory, state: PageState) -> impl IntoView {
    let close = state.with_history(None).href();
    let l = &history.license;
    let name = l
        .device_name
        .clone()
        .unwrap_or_else(|| format!("Serial {}", l.serial_no));
    let body = if history.has_historical_data() {
        let items = history
            .entries
            .iter()
            .rev()
            .map(|e| {
                let change = match e.from_status {
                    Some(from) => format!("{} → {}", from.label(), e.to_status.label()),
                    None => e.to_status.label().to_string(),
                };
                view! {
                    <li>
                        <time>{format_datetime(e.at)}</time>
                        <strong>{change}</strong>
                        <span>{e.note.clone()}</span>
                    </li>
                }
            })
            .collect_view();
        view! { <ol class="history-list">{items}</ol> }.into_any()
    } else {
        view! { <p class="note empty" role="status">"No historical data available"</p> }.into_any()
    };
    view! {
        <aside class="card history-panel" aria-labelledby="history-title" data-license=l.id.clone()>
            <div class="card-head">
                <h2 id="history-title">{format!("License history: {name}")}</h2>
                <a class="close-link" data-history-link="" href=close>"Close"</a>
            </div>
            <p class="muted">{format!("{} · {} · serial {}", l.license_name, l.status.label(), l.serial_no)}</p>
            {body}
        </aside>
    }
}
