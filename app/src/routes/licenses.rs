//! Licenses: every licensed LoadMaster's license and subscriptions with their expiration
//! dates (IP Address, Nickname, License or Subscription, Expiration Date), sorted by IP
//! address or by expiration, expired dates in red; it follows LoadMasters coming and going
//! without a reload. Below it, the tenant's orders and what is left of each.

use crate::components::card::{Card, PageHead};
use crate::components::islands::LiveUpdates;
use crate::components::loaded::loaded;
use crate::components::table::table_or;
use crate::functions::lifecycle::get_licenses_page;
use bandpool_domain::format::{format_date, format_datetime};
use bandpool_domain::license::SortOrder;
use bandpool_domain::lifecycle::LicensesSort;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Licenses() -> impl IntoView {
    let (sort, order) = use_query_map().with_untracked(|q| (q.get("sort"), q.get("order")));
    let (sort, order) = (sort.unwrap_or_default(), order.unwrap_or_default());
    let page = Resource::new(move || (), {
        let (sort, order) = (sort.clone(), order.clone());
        move |_| get_licenses_page(sort.clone(), order.clone())
    });
    // The heading's link sorts by its column, or reverses the order when it already does.
    let current = LicensesSort::parse(Some(&sort), Some(&order)).ok();
    let heading = move |column: LicensesSort, label: &'static str| {
        let (arrow, next) = match current {
            Some((s, SortOrder::Asc)) if s == column => (" ↑", SortOrder::Desc),
            Some((s, SortOrder::Desc)) if s == column => (" ↓", SortOrder::Asc),
            _ => (" ↕", SortOrder::Asc),
        };
        let href = format!("/licenses?sort={}&order={}", column.key(), next.key());
        view! { <a href=href data-sort=column.key()>{label}{arrow}</a> }
    };
    view! {
        <PageHead title="Licenses"/>
        {loaded(page, "Loading licenses…", move |page| {
            let rows = page.rows.into_iter().map(|row| {
                let date_class = if row.expired { "expired" } else { "" };
                let name_class = if row.subscription { "subscription" } else { "license" };
                view! {
                    <tr data-license=row.license_id.clone() data-subscription=row.subscription.to_string()>
                        <td>{row.ip_address.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{row.nickname.clone().unwrap_or_default()}</td>
                        <td class=name_class>{row.license_or_subscription.clone()}</td>
                        <td class=date_class data-expired=row.expired.to_string()>
                            {row.expiration_date.map(format_datetime).unwrap_or_default()}
                        </td>
                    </tr>
                }
            }).collect::<Vec<_>>();
            let orders = page.orders;
            view! {
                <section class="card" id="live-licenses" data-live="">
                    <h2>"Licenses"</h2>
                    <p class="muted">
                        "Every licensed LoadMaster with its license type, then its subscriptions (Classic: a license without subscriptions). A LoadMaster whose connector is down is not listed until it is back."
                    </p>
                    {table_or(
                        view! { <p class="muted">"No LoadMaster holds a license right now."</p> },
                        "data licenses-table",
                        view! {
                            <th>{heading(LicensesSort::IpAddress, "IP Address")}</th>
                            <th>"Nickname"</th>
                            <th>"License or Subscription"</th>
                            <th>{heading(LicensesSort::ExpirationDate, "Expiration Date")}</th>
                        },
                        rows,
                    )}
                </section>
                <Card heading="Orders" section="orders">
                    {table_or(
                        view! { <p class="muted">"Your vendor has recorded no orders for this tenant. Permanent licenses come from orders; temporary and trial licenses need none."</p> },
                        "data orders",
                        view! { <th>"Order ID"</th><th>"Support"</th><th>"Support until"</th><th>"License type"</th><th>"Bought"</th><th>"In use"</th><th>"Licenses until"</th> },
                        orders.into_iter().flat_map(|o| {
                            let head = (o.order_id.clone(), o.support_tier.label(), format_date(o.support_ends_at - 1));
                            o.lines.into_iter().map(move |line| view! {
                                <tr data-order=head.0.clone() data-type=line.license_type_id.clone()>
                                    <td>{head.0.clone()}</td>
                                    <td>{head.1}</td>
                                    <td>{head.2.clone()}</td>
                                    <td>{line.license_name.clone()}</td>
                                    <td>{line.quantity}</td>
                                    <td data-in-use="">{line.in_use}</td>
                                    <td>{line.license_ends_at.map(|t| format_date(t - 1)).unwrap_or_else(|| "No end".into())}</td>
                                </tr>
                            })
                        }).collect::<Vec<_>>(),
                    )}
                </Card>
            }
            .into_any()
        })}
        <LiveUpdates/>
    }
}
