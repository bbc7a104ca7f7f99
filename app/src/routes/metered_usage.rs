//! Metered usage: the current month so far and its tier, the last twelve closed months as
//! bars (each month's sum of per-LoadMaster peaks, its tier on hover), and the LoadMasters of
//! a month with their peaks (searchable, sortable, paged), each with its daily peaks. Every
//! control is a link or a GET form: the page works the same without JavaScript.

use crate::components::card::{Card, PageHead};
use crate::components::chart::{BarLink, ChartFigure};
use crate::components::loaded::loaded;
use crate::components::reporting_grace::ReportingGraceNote;
use crate::components::table::table_or;
use crate::functions::metered::{get_daily_peaks, get_loadmaster_peaks, get_metered_view};
use bandpool_domain::format::{format_datetime, format_mbps, group_thousands, month_label};
use bandpool_domain::metered::bytes_to_mbps;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The page's view, from its URL.
#[derive(Debug, Clone, Default, PartialEq)]
struct View {
    month: String,
    search: String,
    sort: String,
    order: String,
    page: String,
    license: String,
}

impl View {
    /// This view's address with some of its parts changed.
    fn href(&self, change: impl FnOnce(&mut View)) -> String {
        let mut next = self.clone();
        change(&mut next);
        let parts: Vec<String> = [
            ("month", &next.month),
            ("search", &next.search),
            ("sort", &next.sort),
            ("order", &next.order),
            ("page", &next.page),
            ("license", &next.license),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::url::encode(v)))
        .collect();
        if parts.is_empty() {
            "/metered/usage".into()
        } else {
            format!("/metered/usage?{}", parts.join("&"))
        }
    }
}

#[component]
pub fn MeteredUsage() -> impl IntoView {
    let query = use_query_map();
    let view = query.with_untracked(|q| {
        let get = |k: &str| q.get(k).unwrap_or_default().trim().to_string();
        View {
            month: get("month"),
            search: get("search"),
            sort: get("sort"),
            order: get("order"),
            page: get("page"),
            license: get("license"),
        }
    });
    let head = Resource::new(|| (), |_| get_metered_view());
    let peaks = Resource::new(|| (), {
        let v = view.clone();
        move |_| {
            get_loadmaster_peaks(
                v.month.clone(),
                v.search.clone(),
                v.sort.clone(),
                v.order.clone(),
                v.page.clone(),
            )
        }
    });
    let daily = Resource::new(|| (), {
        let v = view.clone();
        move |_| {
            let (license, month) = (v.license.clone(), v.month.clone());
            async move {
                if license.is_empty() {
                    Ok(None)
                } else {
                    get_daily_peaks(license, month).await.map(Some)
                }
            }
        }
    });
    let v_head = view.clone();
    let v_table = view.clone();
    view! {
        <PageHead title="Metered usage"/>
        <ReportingGraceNote/>
        {loaded(head, "Loading metered usage…", move |head| {
            let now = head.months.last().cloned();
            let g = head.geometry.clone();
            let v = v_head.clone();
            let areas = g
                .bars
                .iter()
                .map(|bar| {
                    let href = v.href(|n| {
                        n.month = bar.key.clone();
                        n.page.clear();
                        n.license.clear();
                    }) + "#loadmasters";
                    let label = format!("{} (show its LoadMasters)", bar.tooltip);
                    view! { <BarLink bar=bar.clone() width=g.width height=g.height href label/> }
                })
                .collect_view()
                .into_any();
            let rows = head
                .months
                .iter()
                .rev()
                .map(|m| view! {
                    <tr data-month=m.month.clone()>
                        <th scope="row">{month_label(&m.month)}</th>
                        <td>{format_mbps(m.usage_mbps)}</td>
                        <td>{m.tier.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "—".into())}</td>
                        <td>{m.loadmasters}</td>
                        <td>{if m.so_far { "So far" } else { "Final" }}</td>
                    </tr>
                })
                .collect_view();
            view! {
                {now.map(|now| view! {
                    <Card heading=format!("{} so far", month_label(&now.month)) section="metered-now">
                        <p class="figures">
                            <span data-figure="usage">{format!("Usage so far: {}", format_mbps(now.usage_mbps))}</span>
                            <span data-figure="tier">{format!("Tier: {}", now.tier.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "no metered contract".into()))}</span>
                            <span data-figure="loadmasters">{format!("Metered LoadMasters reporting: {}", now.loadmasters)}</span>
                        </p>
                        <p class="muted">
                            "Metered use is billed monthly, in arrears: a month's usage is the sum over the metered LoadMasters of each one's peak throughput (in plus out) that month. This month's figure can still grow; a closed month's is final."
                        </p>
                    </Card>
                })}
                <section class="card" aria-labelledby="metered-months-title" data-section="metered-months">
                    <h2 id="metered-months-title">"Metered usage by month"</h2>
                    <ChartFigure class="chart bars" width=g.width height=g.height svg=head.svg.clone() areas/>
                    <p class="muted">"Click a month for its LoadMasters."</p>
                    {table_or(
                        view! { <p class="muted">"No months yet."</p> },
                        "data metered-months",
                        view! { <th scope="col">"Month"</th><th scope="col">"Usage"</th><th scope="col">"Tier"</th><th scope="col">"LoadMasters"</th><th scope="col">"Figure"</th> },
                        vec![rows],
                    )}
                </section>
            }
            .into_any()
        })}
        {loaded(peaks, "Loading LoadMasters…", move |page| {
            let v = v_table.clone();
            let pages = page.total.div_ceil(u64::from(page.per_page)).max(1);
            let title = format!("LoadMasters in {}", month_label(&page.month));
            let sort_link = |key: &'static str, label: &'static str| {
                let href = v.href(|n| {
                    n.order = if n.sort == key && n.order != "asc" { "asc".into() } else { String::new() };
                    n.sort = key.into();
                    n.page.clear();
                });
                view! { <a href=href>{label}</a> }
            };
            let rows = page
                .loadmasters
                .iter()
                .map(|lm| {
                    let daily = v.href(|n| {
                        n.month = page.month.clone();
                        n.license = lm.license_id.clone();
                    }) + "#daily";
                    let name = if lm.device_name.is_empty() { lm.serial_no.clone() } else { lm.device_name.clone() };
                    view! {
                        <tr data-loadmaster=lm.serial_no.clone()>
                            <td>{name}</td>
                            <td>{lm.serial_no.clone()}</td>
                            <td>{lm.license_type.clone()}</td>
                            <td class="num">{format_mbps(bytes_to_mbps(lm.peak_bytes_per_second))}</td>
                            <td>{format_datetime(lm.peak_at)}</td>
                            <td class="num">{group_thousands(lm.peak_ssl_tps)}</td>
                            <td>{if lm.metered { "Yes" } else { "No: not licensed under the contract" }}</td>
                            <td><a href=daily>"Daily peaks"</a></td>
                        </tr>
                    }
                })
                .collect::<Vec<_>>();
            let current: u32 = page.page;
            let pager = (pages > 1).then(|| {
                let to = |p: u32| v.href(|n| n.page = p.to_string()) + "#loadmasters";
                view! {
                    <div class="pager">
                        {(current > 1).then(|| view! { <a class="button" rel="prev" href=to(current - 1)>"Previous"</a> })}
                        <span data-page="">{format!("Page {current} of {pages} · {} LoadMasters", page.total)}</span>
                        {(u64::from(current) < pages).then(|| view! { <a class="button" rel="next" href=to(current + 1)>"Next"</a> })}
                    </div>
                }
            });
            view! {
                <section class="card" id="loadmasters" aria-labelledby="loadmasters-title" data-section="metered-loadmasters">
                    <h2 id="loadmasters-title">{title}</h2>
                    <form class="inline-form" method="get" action="/metered/usage#loadmasters">
                        <input type="hidden" name="month" value=page.month.clone()/>
                        <input type="hidden" name="sort" value=v.sort.clone()/>
                        <input type="hidden" name="order" value=v.order.clone()/>
                        <label>"Search " <input type="search" name="search" value=v.search.clone() maxlength="100" placeholder="name, serial or license type"/></label>
                        <button type="submit">"Search"</button>
                    </form>
                    {table_or(
                        view! { <p class="muted" data-note="no-loadmasters">"No LoadMaster reported usage in this month."</p> },
                        "data metered-loadmasters",
                        view! {
                            <th scope="col">{sort_link("name", "LoadMaster")}</th><th scope="col">"Serial no."</th><th scope="col">"License type"</th>
                            <th scope="col">{sort_link("peak", "Peak throughput")}</th><th scope="col">"Peak at"</th>
                            <th scope="col">{sort_link("ssl_tps", "Peak SSL TPS")}</th><th scope="col">"Counts"</th><th scope="col"><span class="sr-only">"Drill-down"</span></th>
                        },
                        rows,
                    )}
                    {pager}
                </section>
            }
            .into_any()
        })}
        {loaded(daily, "Loading daily peaks…", move |days| {
            let Some(days) = days else { return ().into_any() };
            let v = view.clone();
            let back = v.href(|n| n.license.clear()) + "#loadmasters";
            let rows = days
                .iter()
                .map(|d| view! {
                    <tr data-day=d.day.clone()>
                        <td>{d.day.clone()}</td>
                        <td class="num">{format_mbps(bytes_to_mbps(d.peak_bytes_per_second))}</td>
                        <td>{format_datetime(d.peak_at)}</td>
                        <td class="num">{group_thousands(d.peak_ssl_tps)}</td>
                        <td class="num">{d.samples}</td>
                    </tr>
                })
                .collect::<Vec<_>>();
            view! {
                <section class="card" id="daily" aria-labelledby="daily-title" data-section="metered-daily">
                    <div class="card-head">
                        <h2 id="daily-title">"Daily peaks"</h2>
                        <a class="back-link" href=back>"← Back to all LoadMasters"</a>
                    </div>
                    {table_or(
                        view! { <p class="muted">"No usage from this LoadMaster in this month."</p> },
                        "data metered-daily",
                        view! { <th scope="col">"Day"</th><th scope="col">"Peak throughput"</th><th scope="col">"Peak at"</th><th scope="col">"Peak SSL TPS"</th><th scope="col">"Samples"</th> },
                        rows,
                    )}
                </section>
            }
            .into_any()
        })}
    }
}
