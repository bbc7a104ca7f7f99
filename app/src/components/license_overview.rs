//! License overview: status filters with counts, search-as-you-type with Reset, the
//! Columns drop-down (remembered in the browser), sortable headers, paging, the history
//! arrow and Export to CSV. The view lives in the URL; paging, search and sort run in the
//! database.

use super::error_note::ErrorNote;
use super::kill_license::KillLicenseDialog;
use crate::functions::licenses::list_licenses;
use crate::url::PageState;
use bandpool_domain::format::{format_date, format_mbps, group_thousands};
use bandpool_domain::license::{
    Column, License, LicensePage, LicenseStatus, SortOrder, PAGE_SIZES,
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

/// Which of the ten columns show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnChoice([bool; 10]);

const COLUMNS_KEY: &str = "bandpool.licenseOverview.hiddenColumns";

impl ColumnChoice {
    pub fn all() -> Self {
        ColumnChoice([true; 10])
    }

    fn index(column: Column) -> usize {
        Column::ALL.iter().position(|c| *c == column).unwrap_or(0)
    }

    pub fn shows(&self, column: Column) -> bool {
        self.0[Self::index(column)]
    }

    pub fn set(&mut self, column: Column, on: bool) {
        self.0[Self::index(column)] = on;
    }

    pub fn hidden_keys(&self) -> Vec<&'static str> {
        Column::ALL
            .iter()
            .filter(|c| !self.shows(**c))
            .map(|c| c.key())
            .collect()
    }

    pub fn from_hidden<'a>(keys: impl Iterator<Item = &'a str>) -> Self {
        let mut choice = Self::all();
        for key in keys {
            if let Some(column) = Column::from_key(key.trim()) {
                choice.set(column, false);
            }
        }
        choice
    }

    /// The table's classes: hidden columns are hidden by CSS, so a choice never refetches.
    pub fn table_class(&self) -> String {
        let mut class = String::from("licenses");
        for key in self.hidden_keys() {
            class.push_str(" hide-");
            class.push_str(key);
        }
        class
    }
}

fn load_columns() -> Option<ColumnChoice> {
    let storage = window().local_storage().ok()??;
    let value = storage.get_item(COLUMNS_KEY).ok()??;
    Some(ColumnChoice::from_hidden(value.split(',')))
}

fn save_columns(choice: ColumnChoice) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(COLUMNS_KEY, &choice.hidden_keys().join(","));
    }
}

fn cell(license: &License, column: Column) -> String {
    let dash = || "—".to_string();
    match column {
        Column::DeviceName => license.device_name.clone().unwrap_or_else(dash),
        Column::IpAddress => license.ip_address.clone().unwrap_or_else(dash),
        Column::SerialNo => license.serial_no.clone(),
        Column::LicenseName => license.license_name.clone(),
        Column::Status => license.status.label().to_string(),
        Column::Bandwidth => format_mbps(license.bandwidth_mbps),
        Column::SslTps => group_thousands(license.ssl_tps),
        Column::GracePeriod => match license.status {
            LicenseStatus::GracePeriod => license
                .grace_period_end
                .map(|t| format!("Until {}", format_date(t)))
                .unwrap_or_else(dash),
            LicenseStatus::Expired => license
                .grace_period_end
                .map(|t| format!("Ended {}", format_date(t)))
                .unwrap_or_else(dash),
            _ => dash(),
        },
        Column::ActivationDate => format_date(license.activated_at),
        Column::RecoveryDate => license.recovered_at.map(format_date).unwrap_or_else(dash),
    }
}

/// `can_change`: the viewer may kill licenses (the selection and Kill License show);
/// `changed`: bumped after a kill, so the table and the pool refetch.
#[component]
pub fn LicenseOverview(
    state: Memo<PageState>,
    can_change: Signal<bool>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let navigate = use_navigate();
    let go = move |href: String| {
        navigate(
            &href,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let columns = RwSignal::new(ColumnChoice::all());
    // Browser only (effects do not run on the server): restore the remembered choice.
    Effect::new(move |_| {
        if let Some(choice) = load_columns() {
            columns.set(choice);
        }
    });
    let licenses = Resource::new(
        move || (state.get().raw, changed.get()),
        |(raw, _)| list_licenses(raw),
    );
    let selected = RwSignal::new(None::<License>);
    let dialog = RwSignal::new(false);
    let on_close = Callback::new(move |_| {
        dialog.set(false);
        selected.set(None);
    });
    let on_killed = Callback::new(move |_| changed.update(|n| *n += 1));
    let search = RwSignal::new(state.get_untracked().raw.q.clone().unwrap_or_default());

    let search_go = go.clone();
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        search.set(text.clone());
        search_go(state.get_untracked().with_search(&text).href());
    };
    let submit_go = go.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit_go(
            state
                .get_untracked()
                .with_search(&search.get_untracked())
                .href(),
        );
    };
    let hidden = move |name: &'static str| {
        move || {
            let q = state.get().query();
            match name {
                "status" => q.status.map(|s| s.key().to_string()),
                "sort" => Some(q.sort.key().to_string()),
                "order" => Some(q.order.key().to_string()),
                "per_page" => Some(q.per_page.to_string()),
                _ => None,
            }
            .unwrap_or_default()
        }
    };
    let column_items = Column::ALL
        .iter()
        .map(|column| {
            let column = *column;
            view! {
                <label class="column-choice">
                    <input
                        type="checkbox"
                        name=column.key()
                        prop:checked=move || columns.get().shows(column)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            columns.update(|c| c.set(column, on));
                            save_columns(columns.get_untracked());
                        }
                    />
                    {column.label()}
                </label>
            }
        })
        .collect_view();

    view! {
        <section class="card overview" aria-labelledby="overview-title">
            <div class="card-head">
                <h2 id="overview-title">"License overview"</h2>
                {move || can_change.get().then(|| view! {
                    <button
                        type="button"
                        class="danger kill-button"
                        disabled=move || selected.get().is_none()
                        title=move || if selected.get().is_none() { "Select a license in the table first" } else { "Kill the selected license" }
                        on:click=move |_| dialog.set(true)
                    >
                        "Kill License"
                    </button>
                })}
                <a class="button" href="/api/v1/licenses/export.csv" download="" rel="external">
                    "Export to CSV"
                </a>
            </div>
            <div class="toolbar">
                <form class="search" method="get" action="/license-repository" role="search" on:submit=on_submit>
                    <input
                        type="search"
                        name="q"
                        placeholder="Search device, IP address, serial no. or license"
                        aria-label="Search licenses"
                        autocomplete="off"
                        prop:value=move || search.get()
                        on:input=on_input
                    />
                    <input type="hidden" name="status" value=hidden("status")/>
                    <input type="hidden" name="sort" value=hidden("sort")/>
                    <input type="hidden" name="order" value=hidden("order")/>
                    <input type="hidden" name="per_page" value=hidden("per_page")/>
                    <noscript><button type="submit">"Search"</button></noscript>
                    <a class="reset-link" href="/license-repository" on:click=move |_| search.set(String::new())>
                        "Reset"
                    </a>
                </form>
                <details class="columns-menu">
                    <summary>"Columns"</summary>
                    <div class="menu" role="group" aria-label="Columns to show">{column_items}</div>
                </details>
            </div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading licenses…"</p> }>
                {move || {
                    let st = state.get();
                    let go = go.clone();
                    Suspend::new(async move {
                        match licenses.await {
                            Ok(page) => {
                                view! { <LicenseTable page st columns go selected selectable=can_change/> }.into_any()
                            }
                            Err(error) => view! {
                                <ErrorNote error/>
                                <p><a href="/license-repository">"Reset to the default view"</a></p>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Transition>
            {move || {
                dialog
                    .get()
                    .then(|| selected.get())
                    .flatten()
                    .map(|license| view! { <KillLicenseDialog license on_close on_killed/> })
            }}
        </section>
    }
    // Erased: the page's view type is otherwise too deep for the compiler's layout queries.
    .into_any()
}

#[component]
fn LicenseTable<G>(
    page: LicensePage,
    st: PageState,
    columns: RwSignal<ColumnChoice>,
    go: G,
    selected: RwSignal<Option<License>>,
    selectable: Signal<bool>,
) -> impl IntoView
where
    G: Fn(String) + Clone + Send + Sync + 'static,
{
    let query = st.query();
    let counts = page.status_counts;
    let filter_link = |status: Option<LicenseStatus>, label: String, count: u64| {
        let active = query.status == status;
        let key = status.map(|s| s.key()).unwrap_or("all");
        view! {
            <a
                data-noscroll=""
                class=if active { "filter active" } else { "filter" }
                href=st.with_status(status).href()
                aria-current=if active { "true" } else { "false" }
                data-status=key
            >
                {label}
                <span class="count">{group_thousands(count as i64)}</span>
            </a>
        }
    };
    let filters = view! {
        <nav class="status-filters" aria-label="Filter by status">
            {filter_link(None, "All".into(), counts.total())}
            {LicenseStatus::ALL.iter().map(|s| filter_link(Some(*s), s.label().to_string(), counts.get(*s))).collect_view()}
        </nav>
    };

    let headers = Column::ALL
        .iter()
        .map(|column| {
            let sorted = query.sort == *column;
            let aria = match (sorted, query.order) {
                (false, _) => "none",
                (true, SortOrder::Asc) => "ascending",
                (true, SortOrder::Desc) => "descending",
            };
            let arrow = match (sorted, query.order) {
                (false, _) => "",
                (true, SortOrder::Asc) => " ▲",
                (true, SortOrder::Desc) => " ▼",
            };
            view! {
                <th scope="col" class=format!("col-{}", column.key()) aria-sort=aria>
                    <a data-noscroll="" href=st.with_sort(*column).href()>{column.label()}{arrow}</a>
                </th>
            }
        })
        .collect_view();

    let rows = page
        .licenses
        .iter()
        .map(|license| {
            let arrow = license.has_history_arrow().then(|| {
                let name = license.device_name.clone().unwrap_or_else(|| license.serial_no.clone());
                view! {
                    <a class="history-arrow" data-noscroll="" href=st.with_history(Some(license.id.clone())).href() title="View license history">
                        <span aria-hidden="true">"›"</span>
                        <span class="sr-only">{format!("View history of {name}")}</span>
                    </a>
                }
            });
            let cells = Column::ALL
                .iter()
                .map(|column| {
                    let class = if *column == Column::Status {
                        format!("col-{} status-{}", column.key(), license.status.key())
                    } else {
                        format!("col-{}", column.key())
                    };
                    view! { <td class=class>{cell(license, *column)}</td> }
                })
                .collect_view();
            // The selection appears once the viewer is known to be allowed to kill.
            let pick = {
                let row = license.clone();
                let name = license.device_name.clone().unwrap_or_else(|| license.serial_no.clone());
                move || {
                    selectable.get().then(|| {
                        let id = row.id.clone();
                        let row = row.clone();
                        view! {
                            <input
                                type="radio"
                                name="selected-license"
                                aria-label=format!("Select {name}")
                                prop:checked=move || selected.with(|s| s.as_ref().is_some_and(|l| l.id == id))
                                on:change=move |_| selected.set(Some(row.clone()))
                            />
                        }
                    })
                }
            };
            view! {
                <tr data-license=license.id.clone() data-status=license.status.key()>
                    <td class="col-select">{pick}</td>
                    <td class="col-arrow">{arrow}</td>
                    {cells}
                </tr>
            }
        })
        .collect_view();

    let empty = page.licenses.is_empty().then(|| {
        let text = if counts.total() == 0 {
            "This pool has no licenses yet. LoadMasters licensed from the pool appear here."
                .to_string()
        } else if let Some(q) = &query.q {
            format!("No licenses match “{q}”.")
        } else if page.page > page.pages {
            format!(
                "There is no page {}: the last page is {}.",
                page.page, page.pages
            )
        } else if let Some(status) = query.status {
            format!("No licenses are in {}.", status.label())
        } else {
            "No licenses to show.".to_string()
        };
        view! {
            <p class="note empty" role="status">
                {text}
                " "
                <a href="/license-repository">"Reset"</a>
            </p>
        }
    });

    let state_for_size = st.clone();
    let on_size = move |ev: leptos::ev::Event| {
        if let Ok(n) = event_target_value(&ev).parse::<u32>() {
            go(state_for_size.with_per_page(n).href());
        }
    };
    let mut sizes: Vec<u32> = PAGE_SIZES.to_vec();
    if !sizes.contains(&query.per_page) {
        sizes.push(query.per_page);
        sizes.sort();
    }
    let size_options = sizes
        .into_iter()
        .map(|n| view! { <option value=n.to_string() selected=n == query.per_page>{n.to_string()}</option> })
        .collect_view();
    let first = page.page > 1;
    let last = page.page < page.pages;
    let nav_link = |enabled: bool, target: u32, label: &'static str, rel: &'static str| {
        if enabled {
            view! { <a class="page-link" data-noscroll="" href=st.with_page(target).href() rel=rel>{label}</a> }.into_any()
        } else {
            view! { <span class="page-link disabled" aria-disabled="true">{label}</span> }
                .into_any()
        }
    };
    view! {
        {filters}
        <div class="table-wrap">
            <table class=move || columns.get().table_class()>
                <thead>
                    <tr>
                        <th scope="col" class="col-select"><span class="sr-only">"Select"</span></th>
                        <th scope="col" class="col-arrow"><span class="sr-only">"History"</span></th>
                        {headers}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {empty}
        <div class="pager">
            <form class="page-size" method="get" action="/license-repository">
                <input type="hidden" name="status" value=query.status.map(|s| s.key().to_string()).unwrap_or_default()/>
                <input type="hidden" name="q" value=query.q.clone().unwrap_or_default()/>
                <input type="hidden" name="sort" value=query.sort.key()/>
                <input type="hidden" name="order" value=query.order.key()/>
                <label>
                    "Show "
                    <select name="per_page" aria-label="Licenses per page" on:change=on_size>{size_options}</select>
                    " per page"
                </label>
                <noscript><button type="submit">"Apply"</button></noscript>
            </form>
            <div class="pages">
                <span class="page-status" data-page=page.page data-pages=page.pages>
                    {format!("Page {} of {} · {} licenses", page.page, page.pages, group_thousands(page.total as i64))}
                </span>
                {nav_link(first, 1, "« First", "first")}
                {nav_link(first, page.page.saturating_sub(1).max(1), "‹ Previous", "prev")}
                {nav_link(last, page.page + 1, "Next ›", "next")}
                {nav_link(last, page.pages, "Last »", "last")}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_choices_round_trip_through_storage_text() {
        let mut choice = ColumnChoice::all();
        choice.set(Column::SslTps, false);
        choice.set(Column::IpAddress, false);
        let text = choice.hidden_keys().join(",");
        assert_eq!(text, "ip_address,ssl_tps");
        assert_eq!(ColumnChoice::from_hidden(text.split(',')), choice);
        assert_eq!(
            choice.table_class(),
            "licenses hide-ip_address hide-ssl_tps"
        );
        assert_eq!(
            ColumnChoice::from_hidden("bogus,".split(',')),
            ColumnChoice::all()
        );
    }
}
