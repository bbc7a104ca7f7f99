//! Usage and billing: Last refreshed and Sync entitlements, Export to CSV, Subscription
//! details and add-ons, the Pooled License Overview bars, Assets overview and Mapped
//! application usage (paged by links, so it works without JavaScript).

use crate::components::card::{Card, PageHead};
use crate::components::error_note::ErrorNote;
use crate::components::islands::LiveUpdates;
use crate::components::last_refreshed::LastRefreshed;
use crate::components::loaded::{loading_card, ready_or_error};
use crate::components::sync_entitlements::{SyncEntitlementsForm, SyncOutcome};
use crate::components::table::{data_table, table_or};
use crate::components::usage_bar::UsageBar;
use crate::functions::session::get_viewer;
use crate::functions::usage::{get_entitlement_sync, get_usage_overview, list_applications};
use bandpool_domain::auth::Permission;
use bandpool_domain::billing::{
    ApplicationPage, UsageOverview, ADD_ONS_URL, CONSUMPTION_MODELS_URL, PER_PAGE_CHOICES,
};
use bandpool_domain::format::{format_date, format_datetime, format_gb, group_thousands};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The table's place, from the URL: `?page=2&per_page=20`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TableState {
    page: u32,
    per_page: u32,
}

impl TableState {
    fn href(self) -> String {
        format!(
            "/usage-and-billing?page={}&per_page={}#applications",
            self.page, self.per_page
        )
    }
}

#[component]
pub fn UsageAndBilling() -> impl IntoView {
    let query = use_query_map();
    let table = Memo::new(move |_| {
        query.with(|q| {
            let per_page = q
                .get("per_page")
                .and_then(|v| v.parse().ok())
                .filter(|n| PER_PAGE_CHOICES.contains(n))
                .unwrap_or(10);
            let page = q
                .get("page")
                .and_then(|v| v.parse().ok())
                .filter(|n: &u32| (1..=1_000_000).contains(n))
                .unwrap_or(1);
            TableState { page, per_page }
        })
    });
    let sync_id = query
        .with_untracked(|q| q.get("sync"))
        .filter(|s| !s.is_empty());
    // Read by two boundaries (Last refreshed, the overview): one query per render.
    let overview = Resource::new(|| (), |_| get_usage_overview());
    let applications = Resource::new(
        move || table.get(),
        |t| list_applications(t.page, t.per_page),
    );
    // Rendered on the server for roles that may sync: the control is a plain form.
    let viewer = Resource::new(|| (), |_| get_viewer());
    let sync = Resource::new(
        move || sync_id.clone(),
        |id| async move {
            match id {
                Some(id) => get_entitlement_sync(id).await.map(Some),
                None => Ok(None),
            }
        },
    );

    view! {
        <PageHead title="Usage and billing">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let at = overview.await.ok().map(|o| o.last_refreshed_at);
                    view! { <div id="live-usage-refreshed" data-live="">{at.map(|at| view! { <LastRefreshed at/> })}</div> }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer
                        .await
                        .ok()
                        .flatten()
                        .filter(|v| v.may(Permission::ManageUsage))
                        .map(|_| view! { <SyncEntitlementsForm/> })
                })}
            </Suspense>
            <a class="button" href="/api/v1/usage/export.csv" download="" data-export="usage">"Export to CSV"</a>
        </PageHead>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match sync.await {
                    Ok(Some(run)) => view! { <SyncOutcome run/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| loading_card("Loading usage…")>
            <div id="live-usage" data-live="">
                {ready_or_error(overview, |o| view! { <Overview o/> }.into_any())}
            </div>
        </Suspense>
        <section class="card" id="applications">
            <h2>"Mapped application usage"</h2>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading applications…"</p> }>
                {move || {
                    let t = table.get();
                    Suspend::new(async move {
                        match applications.await {
                            Ok(page) => view! { <ApplicationTable page state=t/> }.into_any(),
                            Err(error) => view! { <ErrorNote error/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
        <LiveUpdates/>
    }
}

#[component]
fn Overview(o: UsageOverview) -> impl IntoView {
    let e = o.entitlement.clone();
    let date = |t: Option<i64>| t.map(format_date).unwrap_or_else(|| "—".to_string());
    let datetime = |t: Option<i64>| t.map(format_datetime).unwrap_or_else(|| "—".to_string());
    let over = o.over_allocated().then(|| {
        view! {
            <p class="note warning" role="alert" data-alert="over-allocated">
                {format!(
                    "The license capacity is below the current allocation: {} Gb are allocated of a maximum of {} Gb. \
                     No license was killed; new licenses are refused until the allocation is below the capacity again.",
                    format_gb(o.capacity.used),
                    format_gb(o.capacity.total)
                )}
            </p>
        }
    });
    let latest = o
        .latest_sync
        .clone()
        .filter(|s| s.status == "failed" || s.status == "running")
        .map(|run| view! { <SyncOutcome run/> });
    let add_ons = e.add_ons.clone();
    view! {
        {over}
        {latest}
        <div class="usage-grid">
            <Card heading="Subscription details" section="subscription">
                <dl class="facts">
                    <dt>"Plan"</dt><dd data-field="plan">{e.plan.clone()}</dd>
                    <dt>"Status"</dt><dd data-field="status">{e.status.label()}</dd>
                    <dt>"Activation Date"</dt><dd data-field="activation">{datetime(e.activated_at)}</dd>
                    <dt>"Next bill date"</dt><dd data-field="next-bill">{date(e.next_bill_at)}</dd>
                    <dt>"Order ID"</dt><dd data-field="order">{if e.order_id.is_empty() { "—".to_string() } else { e.order_id.clone() }}</dd>
                    <dt>"Owner"</dt><dd>{if e.owner_name.is_empty() { "—".to_string() } else { format!("{} ({})", e.owner_name, if e.progress_id.is_empty() { "no Progress ID" } else { &e.progress_id }) }}</dd>
                </dl>
                <p><a href=CONSUMPTION_MODELS_URL rel="noopener noreferrer" target="_blank">"About the consumption models"</a></p>
            </Card>
            <Card heading="Subscription add-ons" section="add-ons">
                {table_or(
                    view! { <p class="empty">"No add-ons are included in this subscription."</p> },
                    "data add-ons",
                    view! { <th>"Description"</th><th class="num">"Quantity"</th><th>"Status"</th><th>"Activation Date"</th><th>"Bill Date"</th> },
                    add_ons.into_iter().map(|a| view! {
                        <tr>
                            <td>{a.description}</td>
                            <td class="num">{a.quantity}</td>
                            <td>{a.status.label()}</td>
                            <td>{date(a.activated_at)}</td>
                            <td>{date(a.bill_at)}</td>
                        </tr>
                    }).collect(),
                )}
                <p><a href=ADD_ONS_URL rel="noopener noreferrer" target="_blank">"About add-ons"</a></p>
            </Card>
            <Card heading="Pooled License Overview" section="pooled">
                <UsageBar
                    label="License capacity"
                    name="capacity"
                    figure=format!("{} of {} Gb", format_gb(o.capacity.used), format_gb(o.capacity.total))
                    usage=o.capacity.clone()
                />
                <UsageBar
                    label="LoadMaster capacity"
                    name="loadmasters"
                    figure=format!("{} of {} LoadMasters licensed", group_thousands(o.loadmasters.used), group_thousands(o.loadmasters.total))
                    usage=o.loadmasters.clone()
                />
            </Card>
            <Card heading="Assets overview" section="assets">
                <UsageBar
                    label="Assets"
                    name="assets"
                    figure=format!("{} of {} assets", group_thousands(o.assets.used), group_thousands(o.total_assets))
                    usage=o.assets.clone()
                />
                <p class="asset-counts">
                    <span data-count="applications">{format!("Mapped applications: {}", group_thousands(o.mapped_applications))}</span>
                    " · "
                    <span data-count="loadmasters">{format!("LoadMasters in the inventory: {}", group_thousands(o.inventory_loadmasters))}</span>
                </p>
                <p class="muted small">
                    {if e.pooled {
                        "Pooled licensing: only applications count as used assets."
                    } else {
                        "Each LoadMaster (an HA pair counts once) and each application is an asset."
                    }}
                </p>
            </Card>
        </div>
    }
}

#[component]
fn ApplicationTable(page: ApplicationPage, state: TableState) -> impl IntoView {
    let pages = page.total.div_ceil(u64::from(page.per_page)).max(1) as u32;
    if page.total == 0 {
        return view! {
            <p class="empty">
                "No applications are mapped yet. Map Virtual Services to applications on the "
                <a href="/applications">"Applications"</a>" page."
            </p>
        }
        .into_any();
    }
    if page.applications.is_empty() {
        let back = TableState { page: 1, ..state };
        return view! {
            <p class="empty">
                {format!("There is no page {} of {pages}. ", state.page)}
                <a href=back.href()>"First page"</a>
            </p>
        }
        .into_any();
    }
    let first = u64::from(page.page - 1) * u64::from(page.per_page) + 1;
    let last = (first + page.applications.len() as u64).saturating_sub(1);
    let prev = (state.page > 1).then(|| TableState {
        page: state.page - 1,
        ..state
    });
    let next = (state.page < pages).then(|| TableState {
        page: state.page + 1,
        ..state
    });
    view! {
        {data_table(
            "data applications",
            view! { <th>"Application"</th><th>"Usage"</th><th class="num">"Quota"</th> },
            page.applications.into_iter().map(|a| {
                let level = a.usage.level;
                let words = format!("{}: {} of {} Virtual Services, {}% ({})", a.name, a.virtual_services, a.quota, a.usage.percent, level.label());
                view! {
                    <tr data-application=a.name.clone() data-level=level.key()>
                        <td>{a.name.clone()}</td>
                        <td>
                            <div class="usage-bar small" role="meter" aria-label=words.clone() title=words
                                aria-valuemin="0" aria-valuemax=a.quota.to_string() aria-valuenow=a.virtual_services.min(a.quota).to_string()>
                                <div class=format!("usage-fill level-{}", level.key()) style=format!("width:{}%", a.usage.width_percent())></div>
                            </div>
                            <span class=format!("usage-percent level-{}", level.key())>{format!("{}%", a.usage.percent)}</span>
                        </td>
                        <td class="num">{format!("{} of {} Virtual Services", a.virtual_services, a.quota)}</td>
                    </tr>
                }
            }).collect(),
        )}
        <div class="pager">
            <form method="get" action="/usage-and-billing" class="per-page">
                <input type="hidden" name="page" value="1"/>
                <label>"Items per page "
                    <select name="per_page" data-submit-on-change="">
                        {PER_PAGE_CHOICES.into_iter().map(|n| view! {
                            <option value=n.to_string() selected=n == state.per_page>{n.to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <noscript><button type="submit">"Show"</button></noscript>
            </form>
            <span class="muted" data-range="">{format!("{first}–{last} of {}", page.total)}</span>
            {match prev {
                Some(s) => view! { <a class="button" rel="prev" href=s.href()>"Previous"</a> }.into_any(),
                None => view! { <span class="button disabled" aria-disabled="true">"Previous"</span> }.into_any(),
            }}
            <span data-page="">{format!("Page {} of {pages}", state.page)}</span>
            {match next {
                Some(s) => view! { <a class="button" rel="next" href=s.href()>"Next"</a> }.into_any(),
                None => view! { <span class="button disabled" aria-disabled="true">"Next"</span> }.into_any(),
            }}
        </div>
    }
    .into_any()
}
