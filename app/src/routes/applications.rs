//! Applications: map the Virtual Services of the tenant's LoadMasters to applications (at
//! most 15 each). Quick mapping makes one application per unmapped Virtual Service; manual
//! mapping names an application and adds services to it. Plain forms: no JavaScript needed.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::row_action::RowAction;
use crate::components::table::table_or;
use crate::functions::usage::{list_all_applications, list_virtual_services, ChangeApplication};
use bandpool_domain::billing::{ApplicationUsage, VirtualService};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

/// Rows per table page: a tenant with thousands of Virtual Services gets a page that loads at
/// once, not one 20,000 px tall.
const PER_PAGE: usize = 25;

/// The page's view, from its URL: the search and each table's page.
#[derive(Debug, Clone, Default, PartialEq)]
struct View {
    q: String,
    unmapped: usize,
    apps: usize,
    mapped: usize,
}

impl View {
    fn href(&self) -> String {
        format!(
            "/applications?q={}&unmapped={}&apps={}&mapped={}",
            crate::url::encode(&self.q),
            self.unmapped,
            self.apps,
            self.mapped
        )
    }

    /// Whether `texts` match the search (every word, any text, ignoring case).
    fn matches(&self, texts: &[&str]) -> bool {
        let words = self.q.to_lowercase();
        words
            .split_whitespace()
            .all(|word| texts.iter().any(|t| t.to_lowercase().contains(word)))
    }
}

/// Page `page` (from 1) of `rows`, and how many pages there are.
fn page_of<T: Clone>(rows: &[T], page: usize) -> (Vec<T>, usize) {
    let pages = rows.len().div_ceil(PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let start = (page - 1) * PER_PAGE;
    (
        rows.iter().skip(start).take(PER_PAGE).cloned().collect(),
        pages,
    )
}

/// Previous and Next for one table; `at` moves that table's page in the view.
fn pager(
    view: &View,
    page: usize,
    pages: usize,
    total: usize,
    at: fn(&mut View, usize),
    anchor: &'static str,
) -> impl IntoView {
    (pages > 1).then(|| {
        let page = page.clamp(1, pages);
        let link = |to: usize, label: &'static str, rel: &'static str| {
            let mut next = view.clone();
            at(&mut next, to);
            view! { <a class="button" rel=rel href=format!("{}#{anchor}", next.href())>{label}</a> }
        };
        view! {
            <div class="pager">
                {(page > 1).then(|| link(page - 1, "Previous", "prev"))}
                <span data-page="">{format!("Page {page} of {pages} · {total} in all")}</span>
                {(page < pages).then(|| link(page + 1, "Next", "next"))}
            </div>
        }
    })
}

#[component]
pub fn Applications() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let number = |name: &str| {
        query
            .get(name)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| (1..=100_000).contains(n))
            .unwrap_or(1)
    };
    let view = View {
        q: query
            .get("q")
            .unwrap_or_default()
            .trim()
            .chars()
            .take(100)
            .collect(),
        unmapped: number("unmapped"),
        apps: number("apps"),
        mapped: number("mapped"),
    };
    let q = view.q.clone();
    let change = ServerAction::<ChangeApplication>::new();
    let services = Resource::new(
        move || change.version().get(),
        |_| async move {
            Ok::<_, bandpool_domain::AppError>((
                list_virtual_services().await?,
                list_all_applications().await?,
            ))
        },
    );
    view! {
        <PageHead title="Applications"/>
        <section class="card">
            <p class="muted">
                "An application groups up to 15 Virtual Services of your LoadMasters; each is an asset on "
                <a href="/usage-and-billing">"Usage and billing"</a>
                ". Connectors report the Virtual Services when licenses are synced."
            </p>
            <div class="inline-form">
                <ActionForm action=change>
                    <input type="hidden" name="op" value="quick_map"/>
                    <button type="submit" data-action="quick-map">"Quick map: one application per unmapped Virtual Service"</button>
                </ActionForm>
                <ActionForm action=change>
                    <input type="hidden" name="op" value="create"/>
                    <label>"New application " <input type="text" name="name" maxlength="100" required/></label>
                    <button type="submit" class="primary" data-action="create-application">"Create"</button>
                </ActionForm>
            </div>
            <form class="search" method="get" action="/applications" role="search">
                <input type="search" name="q" value=q aria-label="Search Virtual Services and applications"
                    placeholder="Search Virtual Service, address, LoadMaster or application"/>
                <button type="submit">"Search"</button>
                <a class="reset-link" href="/applications">"Reset"</a>
            </form>
        </section>
        {loaded(services, "Loading Virtual Services…", move |(list, apps)| {
            let view = view.clone();
            view! { <Mapping list apps change view/> }.into_any()
        })}
    }
}

#[component]
fn Mapping(
    list: Vec<VirtualService>,
    apps: Vec<ApplicationUsage>,
    change: ServerAction<ChangeApplication>,
    view: View,
) -> impl IntoView {
    let app_count = apps.len();
    let open_apps: Vec<ApplicationUsage> =
        apps.iter().filter(|a| a.remaining() > 0).cloned().collect();
    // The search narrows the three tables; the choice of applications to add to stays whole.
    let list: Vec<VirtualService> = list
        .into_iter()
        .filter(|v| {
            view.matches(&[
                &v.name,
                &v.address,
                &v.device_name,
                v.application.as_deref().unwrap_or(""),
            ])
        })
        .collect();
    let apps: Vec<ApplicationUsage> = apps
        .into_iter()
        .filter(|a| view.matches(&[&a.name]))
        .collect();
    let unmapped: Vec<VirtualService> = list
        .iter()
        .filter(|v| v.application.is_none())
        .cloned()
        .collect();
    let unmapped_total = unmapped.len();
    let (unmapped_page, unmapped_pages) = page_of(&unmapped, view.unmapped);
    let unmapped_pager = pager(
        &view,
        view.unmapped,
        unmapped_pages,
        unmapped_total,
        |v, p| v.unmapped = p,
        "unmapped",
    );
    let apps_total = apps.len();
    let (apps_page, apps_pages) = page_of(&apps, view.apps);
    let apps_pager = pager(
        &view,
        view.apps,
        apps_pages,
        apps_total,
        |v, p| v.apps = p,
        "apps",
    );
    let mut by_app: BTreeMap<String, Vec<VirtualService>> = BTreeMap::new();
    for vs in list.iter().filter(|v| v.application.is_some()) {
        by_app
            .entry(vs.application.clone().unwrap_or_default())
            .or_default()
            .push(vs.clone());
    }
    let mapped: Vec<(String, VirtualService)> = by_app
        .into_iter()
        .flat_map(|(app, services)| services.into_iter().map(move |vs| (app.clone(), vs)))
        .collect();
    let (mapped_page, mapped_pages) = page_of(&mapped, view.mapped);
    let mapped_pager = pager(
        &view,
        view.mapped,
        mapped_pages,
        mapped.len(),
        |v, p| v.mapped = p,
        "mapped",
    );
    view! {
        <Card heading=format!("Unmapped Virtual Services ({})", unmapped_total) section="unmapped">
            {table_or(
                view! { <p class="empty">"Every Virtual Service is mapped to an application."</p> },
                "data",
                view! { <th>"Virtual Service"</th><th>"Address"</th><th>"LoadMaster"</th><th>"Map to a new application"</th><th>"Or add to"</th> },
                unmapped_page.into_iter().map(|vs| {
                    let open = open_apps.clone();
                    let id = vs.id.clone();
                    view! {
                        <tr data-virtual-service=vs.address.clone()>
                            <td>{vs.name.clone()}</td>
                            <td>{vs.address.clone()}</td>
                            <td>{vs.device_name.clone()}</td>
                            <td>
                                <ActionForm action=change>
                                    <input type="hidden" name="op" value="create"/>
                                    <input type="hidden" name="virtual_service_id" value=vs.id.clone()/>
                                    <label class="sr-only" for=format!("name-{}", vs.id)>"Application name"</label>
                                    <input id=format!("name-{}", vs.id) type="text" name="name" maxlength="100" required value=vs.name.clone()/>
                                    <button type="submit">"Map"</button>
                                </ActionForm>
                            </td>
                            <td>
                                {(!open.is_empty()).then(move || view! {
                                    <ActionForm action=change>
                                        <input type="hidden" name="op" value="map"/>
                                        <input type="hidden" name="virtual_service_id" value=id.clone()/>
                                        <label class="sr-only" for=format!("app-{id}")>"Application"</label>
                                        <select id=format!("app-{id}") name="application_id">
                                            {open.into_iter().map(|a| view! {
                                                <option value=a.id.clone()>{format!("{} ({} of {})", a.name, a.virtual_services, a.quota)}</option>
                                            }).collect_view()}
                                        </select>
                                        <button type="submit">"Add"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect(),
            )}
            {unmapped_pager}
        </Card>
        <Card heading=format!("Applications ({app_count})") section="apps">
            {table_or(
                view! { <p class="empty">"No applications yet: use Quick map, or create one and add Virtual Services to it."</p> },
                "data",
                view! { <th>"Application"</th><th class="num">"Virtual Services"</th><th></th> },
                apps_page.into_iter().map(|a| view! {
                    <tr data-app=a.name.clone()>
                        <td>{a.name.clone()}</td>
                        <td class="num">{format!("{} of {}", a.virtual_services, a.quota)}</td>
                        <td>
                            <RowAction action=change fields=vec![("op", "delete".into()), ("application_id", a.id.clone())] label="Delete" danger=true/>
                        </td>
                    </tr>
                }).collect(),
            )}
            {apps_pager}
        </Card>
        <Card heading="Mapped Virtual Services" section="mapped">
            {table_or(
                view! { <p class="empty">"No Virtual Service is mapped yet."</p> },
                "data",
                view! { <th>"Application"</th><th>"Virtual Service"</th><th>"Address"</th><th>"LoadMaster"</th><th></th> },
                mapped_page.into_iter().map(|(app, vs)| view! {
                    <tr data-mapped=vs.address.clone()>
                        <td>{app}</td>
                        <td>{vs.name.clone()}</td>
                        <td>{vs.address.clone()}</td>
                        <td>{vs.device_name.clone()}</td>
                        <td>
                            <RowAction action=change fields=vec![("op", "unmap".into()), ("virtual_service_id", vs.id.clone())] label="Unmap"/>
                        </td>
                    </tr>
                }).collect(),
            )}
            {mapped_pager}
        </Card>
    }
}
