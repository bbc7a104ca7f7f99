//! License overview: status filters with counts, search with Reset, the Columns drop-down
//! (remembered in a cookie), sortable headers, paging, the history arrow, Kill License and
//! Export to CSV. The view lives in the URL; paging, search and sort run in the database. It
//! all renders on the server as links and plain forms; the `OverviewControls` island around
//! it searches as you type, applies columns at once and makes the dialog a modal.

use super::error_note::ErrorNote;
use super::islands::OverviewControls;
use crate::url::PageState;
use bandpool_domain::format::{format_date, format_mbps, group_thousands};
use bandpool_domain::license::{
    Column, License, LicensePage, LicenseStatus, SortOrder, PAGE_SIZES,
};
use bandpool_domain::AppError;
use leptos::prelude::*;

/// Which of the ten columns show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnChoice([bool; 10]);

/// The cookie that remembers the hidden columns (the Columns menu's island writes it too).
pub const COLUMNS_COOKIE: &str = "bandpool_columns";

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

impl ColumnChoice {
    /// The choice the Columns menu left in its cookie (the request's, on the server).
    pub fn from_request() -> Self {
        #[cfg(feature = "ssr")]
        {
            let cookie = use_context::<axum::http::request::Parts>().and_then(|parts| {
                parts
                    .headers
                    .get_all(axum::http::header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .filter_map(|pair| pair.trim().strip_prefix(COLUMNS_COOKIE))
                    .filter_map(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
                    .next()
            });
            if let Some(value) = cookie {
                return Self::from_hidden(value.split('.'));
            }
        }
        Self::all()
    }
}

/// Kill License asked for from the page's URL: `kill` is the chosen row, `kill_asked` says the
/// button was pressed (without a row chosen, the dialog says to choose one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KillAsk {
    pub license_id: Option<String>,
    pub asked: bool,
}

impl KillAsk {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let license_id = get("kill").filter(|k| !k.is_empty());
        KillAsk {
            asked: license_id.is_some() || get("kill_asked").is_some(),
            license_id,
        }
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

/// The overview card. `page` is the table's read (its error shows in place); `can_change`: the
/// viewer may kill licenses (the row choice and Kill License show); `kill`: the dialog asked
/// for in the URL; `columns`: the columns the person chose to show.
#[component]
pub fn LicenseOverview(
    state: PageState,
    page: Result<LicensePage, AppError>,
    can_change: bool,
    kill: KillAsk,
    columns: ColumnChoice,
    /// The history panel of the license whose arrow was followed (a drawer over the page).
    history: AnyView,
) -> impl IntoView {
    let query = state.query();
    let here = state.href();
    let column_items = Column::ALL
        .iter()
        .map(|column| {
            view! {
                <label class="column-choice">
                    <input type="checkbox" name="show" value=column.key() checked=columns.shows(*column)/>
                    {column.label()}
                </label>
            }
        })
        .collect_view();
    let dialog = kill.asked.then(|| {
        let license = page
            .as_ref()
            .ok()
            .and_then(|p| {
                p.licenses
                    .iter()
                    .find(|l| Some(&l.id) == kill.license_id.as_ref())
            })
            .cloned();
        view! { <KillDialog license back=here.clone()/> }
    });
    let results = match page {
        Ok(page) => view! { <LicenseTable page st=state.clone() columns selectable=can_change chosen=kill.license_id.clone()/> }.into_any(),
        Err(error) => view! {
            <ErrorNote error/>
            <p><a href="/license-repository">"Reset to the default view"</a></p>
        }
        .into_any(),
    };
    // Every license, in the order the table shows.
    let export = format!(
        "/api/v1/licenses/export.csv?sort={}&order={}",
        query.sort.key(),
        query.order.key()
    );
    view! {
        <OverviewControls>
            <section class="card overview" aria-labelledby="overview-title">
                <div class="card-head">
                    <h2 id="overview-title">"License overview"</h2>
                    <div class="card-actions">
                    {can_change.then(|| view! {
                        // The rows' choice belongs to this form (their `form` attribute): without
                        // JavaScript it opens the dialog by a plain GET.
                        <form id="kill-pick" method="get" action=crate::url::PAGE_PATH>
                            {state_fields(&state)}
                            <input type="hidden" name="kill_asked" value="1"/>
                            <button type="submit" id="kill-button" class="danger" title="Kill the license chosen in the table">
                                "Kill License"
                            </button>
                        </form>
                    })}
                    <a class="button" href=export download="" rel="external">"Export to CSV"</a>
                    </div>
                </div>
                <div class="toolbar">
                    <form class="search" method="get" action=crate::url::PAGE_PATH role="search">
                        <input
                            type="search"
                            name="q"
                            placeholder="Search device, IP address, serial no. or license"
                            aria-label="Search licenses"
                            autocomplete="off"
                            value=query.q.clone().unwrap_or_default()
                        />
                        <input type="hidden" name="status" value=query.status.map(|s| s.key().to_string()).unwrap_or_default()/>
                        <input type="hidden" name="sort" value=query.sort.key()/>
                        <input type="hidden" name="order" value=query.order.key()/>
                        <input type="hidden" name="per_page" value=query.per_page.to_string()/>
                        <button type="submit">"Search"</button>
                        <a class="reset-link" href=crate::url::PAGE_PATH>"Reset"</a>
                    </form>
                    <details class="columns-menu">
                        <summary>"Columns"</summary>
                        <form class="menu" method="post" action="/license-repository/columns" aria-label="Columns to show">
                            <input type="hidden" name="_next" value=here.clone()/>
                            {column_items}
                            <button type="submit" class="apply-columns">"Show these columns"</button>
                        </form>
                    </details>
                </div>
                {results}
                <div id="history-region">{history}</div>
                <div id="kill-dialog">{dialog}</div>
            </section>
        </OverviewControls>
    }
    .into_any()
}

/// The page's view as hidden fields, so a form that asks for something else keeps it.
fn state_fields(state: &PageState) -> impl IntoView {
    let mut pairs = state.query().to_params();
    if let Some(m) = &state.month {
        pairs.push(("month", m.clone()));
    }
    pairs
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
        .collect_view()
}

/// Why a license cannot be killed, or None when it can.
fn not_killable(license: &License) -> Option<&'static str> {
    if license.status == LicenseStatus::Killed {
        Some("This license is already killed; its capacity is back in the pool.")
    } else if !license.issued_through_portal {
        Some("This license was not issued through this portal, so it can only be killed where the LoadMaster was licensed.")
    } else if license.status == LicenseStatus::Expired {
        Some("This license has expired; its capacity is already back in the pool.")
    } else {
        None
    }
}

/// Kill License, for the chosen row: the person types KILL to confirm. Rendered open for
/// pages without JavaScript; the overview's island reopens it as a modal.
#[component]
fn KillDialog(license: Option<License>, back: String) -> impl IntoView {
    let body = match license {
        None => view! {
            <p class="note" data-not-killable="">"Choose a license in the table first (the round button at the start of its row), then press Kill License."</p>
            <div class="dialog-actions">
                <a class="button" href=back.clone() data-close-dialog="">"Close"</a>
            </div>
        }
        .into_any(),
        Some(license) => match not_killable(&license) {
            Some(reason) => view! {
                <p class="note" data-not-killable="">{reason}</p>
                <div class="dialog-actions">
                    <a class="button" href=back.clone() data-close-dialog="">"Close"</a>
                </div>
            }
            .into_any(),
            None => {
                let device = license
                    .device_name
                    .clone()
                    .unwrap_or_else(|| format!("serial {}", license.serial_no));
                view! {
                    <p>
                        "Kill the " <strong>{license.license_name.clone()}</strong> " license of "
                        <strong>{device}</strong> {format!(" (serial {})?", license.serial_no)}
                    </p>
                    <p class="muted">
                        {format!(
                            "The LoadMaster is disabled through its connector and removed from the device inventory, and {} return to the pool at once.",
                            format_mbps(license.bandwidth_mbps)
                        )}
                    </p>
                    <form method="post" action="/_server/kill_license">
                        <input type="hidden" name="license_id" value=license.id.clone()/>
                        <input type="hidden" name="_next" value=back.clone()/>
                        <label class="confirm">
                            "Type KILL to confirm"
                            <input type="text" name="confirm" autocomplete="off" spellcheck="false" required autofocus/>
                        </label>
                        <div class="dialog-actions">
                            <button type="submit" class="danger" data-kill-confirm="">"Kill License"</button>
                            <a class="button" href=back.clone() data-close-dialog="">"Cancel"</a>
                        </div>
                    </form>
                }
                .into_any()
            }
        },
    };
    view! {
        <dialog open class="dialog" aria-labelledby="kill-title">
            <h2 id="kill-title">"Kill License"</h2>
            {body}
        </dialog>
    }
}

#[component]
fn LicenseTable(
    page: LicensePage,
    st: PageState,
    columns: ColumnChoice,
    selectable: bool,
    chosen: Option<String>,
) -> impl IntoView {
    let query = st.query();
    let counts = page.status_counts;
    let filter_link = |status: Option<LicenseStatus>, label: String, count: u64| {
        let active = query.status == status;
        let key = status.map(|s| s.key()).unwrap_or("all");
        view! {
            <a
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
                    <a href=st.with_sort(*column).href()>{column.label()}{arrow}</a>
                </th>
            }
        })
        .collect_view();

    let rows = page
        .licenses
        .iter()
        .map(|license| {
            let name = license.device_name.clone().unwrap_or_else(|| license.serial_no.clone());
            let arrow = license.has_history_arrow().then(|| {
                view! {
                    <a class="history-arrow" data-history-link="" href=st.with_history(Some(license.id.clone())).href() title="View license history">
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
            // A killed or expired row holds nothing to kill: it cannot be chosen. (One issued
            // elsewhere can, and the dialog says where it can be killed.)
            let pick = selectable.then(|| {
                let spent = matches!(license.status, LicenseStatus::Killed | LicenseStatus::Expired);
                let label = if spent {
                    format!("{name}: {}, nothing to kill", license.status.label())
                } else {
                    format!("Choose {name}")
                };
                view! {
                    <input
                        type="radio"
                        name="kill"
                        form="kill-pick"
                        value=license.id.clone()
                        aria-label=label
                        disabled=spent
                        checked=chosen.as_ref() == Some(&license.id)
                    />
                }
            });
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
        let text = if counts.total() == 0 && query.q.is_none() {
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
                <a href=crate::url::PAGE_PATH>"Reset"</a>
            </p>
        }
    });

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
            view! { <a class="page-link" href=st.with_page(target).href() rel=rel>{label}</a> }
                .into_any()
        } else {
            view! { <span class="page-link disabled" aria-disabled="true">{label}</span> }
                .into_any()
        }
    };
    let noun = if page.total == 1 {
        "license"
    } else {
        "licenses"
    };
    view! {
        <div id="overview-results" data-live="" data-href=st.href()>
            {filters}
            <div class="table-wrap" tabindex="0">
                <table class=columns.table_class()>
                    <thead>
                        <tr>
                            <th scope="col" class="col-select"><span class="sr-only">"Choose"</span></th>
                            <th scope="col" class="col-arrow"><span class="sr-only">"History"</span></th>
                            {headers}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {empty}
            <div class="pager">
                <form class="page-size" method="get" action=crate::url::PAGE_PATH>
                    <input type="hidden" name="status" value=query.status.map(|s| s.key().to_string()).unwrap_or_default()/>
                    <input type="hidden" name="q" value=query.q.clone().unwrap_or_default()/>
                    <input type="hidden" name="sort" value=query.sort.key()/>
                    <input type="hidden" name="order" value=query.order.key()/>
                    <label>
                        "Show "
                        <select name="per_page" aria-label="Licenses per page" data-submit-on-change="">{size_options}</select>
                        " per page"
                    </label>
                    <noscript><button type="submit">"Apply"</button></noscript>
                </form>
                <div class="pages">
                    <span class="page-status" data-page=page.page data-pages=page.pages>
                        {format!("Page {} of {} · {} {noun}", page.page, page.pages, group_thousands(page.total as i64))}
                    </span>
                    {nav_link(first, 1, "« First", "first")}
                    {nav_link(first, page.page.saturating_sub(1).max(1), "‹ Previous", "prev")}
                    {nav_link(last, page.page + 1, "Next ›", "next")}
                    {nav_link(last, page.pages, "Last »", "last")}
                </div>
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
