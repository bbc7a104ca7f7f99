//! The event log: every state change with who, what, when and the request id; filters by
//! actor, action, target and date, paging, and CSV export. Read-only by design.

use crate::components::card::PageHead;
use crate::components::loaded::loaded;
use crate::components::table::table_or;
use crate::functions::events::list_events;
use bandpool_domain::events::ACTIONS;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

const FILTERS: [&str; 7] = [
    "actor", "action", "target", "from", "to", "page", "per_page",
];

fn href(base: &str, pairs: &[(String, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::url::encode(v)))
        .collect();
    if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", query.join("&"))
    }
}

#[component]
pub fn EventLog() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| FILTERS.map(|name| (name.to_string(), q.get(name).unwrap_or_default())))
    });
    let events = Resource::new(
        move || params.get(),
        |p| {
            let v = |i: usize| Some(p[i].1.clone()).filter(|s| !s.is_empty());
            list_events(v(0), v(1), v(2), v(3), v(4), v(5), v(6))
        },
    );
    let value = move |i: usize| params.with(|p| p[i].1.clone());
    view! {
        <PageHead title="Event log"/>
        <section class="card">
            <form class="inline-form filters" method="get" action="/event-log">
                <label>"Actor" <input type="search" name="actor" value=move || value(0)/></label>
                <label>"Action"
                    <select name="action">
                        <option value="">"Any"</option>
                        {ACTIONS.iter().map(|a| view! { <option value=*a selected=move || value(1) == *a>{a.replace('_', " ")}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Target" <input type="search" name="target" value=move || value(2)/></label>
                <label>"From" <input type="date" name="from" value=move || value(3)/></label>
                <label>"To" <input type="date" name="to" value=move || value(4)/></label>
                <button type="submit" class="primary">"Filter"</button>
                <a href="/event-log">"Reset"</a>
            </form>
        </section>
        {loaded(events, "Loading events…", move |page| {
                        let filters: Vec<(String, String)> = params.get_untracked()[..5].to_vec();
                        let pages = ((page.total + page.per_page as i64 - 1) / page.per_page as i64).max(1) as u32;
                        let link = |n: u32| {
                            let mut pairs = filters.clone();
                            pairs.push(("page".into(), n.to_string()));
                            href("/event-log", &pairs)
                        };
                        let export = href("/api/v1/events/export.csv", &filters);
                        view! {
                            <section class="card">
                                <div class="table-tools">
                                    <p class="muted" data-event-total=page.total>{page.total} " events"</p>
                                    <a class="button" href=export download="">"Export to CSV"</a>
                                </div>
                                {table_or(
                                    view! { <p class="muted">"No events match."</p> },
                                    "data events",
                                    view! { <th>"Time (UTC)"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th><th>"Request"</th> },
                                    page.events.into_iter().map(|e| {
                                        let time = chrono::DateTime::from_timestamp_millis(e.at_ms)
                                            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                                            .unwrap_or_default();
                                        view! {
                                            <tr data-action=e.action.clone()>
                                                <td>{time}</td>
                                                <td>{e.actor}</td>
                                                <td>{e.action.replace('_', " ")}</td>
                                                <td>{e.target}</td>
                                                <td>{e.detail}</td>
                                                <td><code class="request-id">{e.request_id}</code></td>
                                            </tr>
                                        }
                                    }).collect(),
                                )}
                                <nav class="pager" aria-label="Pages">
                                    {(page.page > 1).then(|| view! { <a href=link(page.page - 1)>"Previous"</a> })}
                                    <span>"Page " {page.page} " of " {pages}</span>
                                    {(page.page < pages).then(|| view! { <a href=link(page.page + 1)>"Next"</a> })}
                                </nav>
                            </section>
                        }
                        .into_any()
        })}
    }
}
