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
use std::collections::BTreeMap;

#[component]
pub fn Applications() -> impl IntoView {
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
        </section>
        {loaded(services, "Loading Virtual Services…", move |(list, apps)| view! { <Mapping list apps change/> }.into_any()
        )}
    }
}

#[component]
fn Mapping(
    list: Vec<VirtualService>,
    apps: Vec<ApplicationUsage>,
    change: ServerAction<ChangeApplication>,
) -> impl IntoView {
    let app_count = apps.len();
    let open_apps: Vec<ApplicationUsage> =
        apps.iter().filter(|a| a.remaining() > 0).cloned().collect();
    let unmapped: Vec<VirtualService> = list
        .iter()
        .filter(|v| v.application.is_none())
        .cloned()
        .collect();
    let mut by_app: BTreeMap<String, Vec<VirtualService>> = BTreeMap::new();
    for vs in list.iter().filter(|v| v.application.is_some()) {
        by_app
            .entry(vs.application.clone().unwrap_or_default())
            .or_default()
            .push(vs.clone());
    }
    view! {
        <Card heading=format!("Unmapped Virtual Services ({})", unmapped.len())>
            {table_or(
                view! { <p class="empty">"Every Virtual Service is mapped to an application."</p> },
                "data",
                view! { <th>"Virtual Service"</th><th>"Address"</th><th>"LoadMaster"</th><th>"Map to a new application"</th><th>"Or add to"</th> },
                unmapped.into_iter().map(|vs| {
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
        </Card>
        <Card heading=format!("Applications ({app_count})")>
            {table_or(
                view! { <p class="empty">"No applications yet: use Quick map, or create one and add Virtual Services to it."</p> },
                "data",
                view! { <th>"Application"</th><th class="num">"Virtual Services"</th><th></th> },
                apps.into_iter().map(|a| view! {
                    <tr data-app=a.name.clone()>
                        <td>{a.name.clone()}</td>
                        <td class="num">{format!("{} of {}", a.virtual_services, a.quota)}</td>
                        <td>
                            <RowAction action=change fields=vec![("op", "delete".into()), ("application_id", a.id.clone())] label="Delete" danger=true/>
                        </td>
                    </tr>
                }).collect(),
            )}
        </Card>
        <Card heading="Mapped Virtual Services">
            {table_or(
                view! { <p class="empty">"No Virtual Service is mapped yet."</p> },
                "data",
                view! { <th>"Application"</th><th>"Virtual Service"</th><th>"Address"</th><th>"LoadMaster"</th><th></th> },
                by_app.into_iter().flat_map(|(app, services)| services.into_iter().map(move |vs| (app.clone(), vs))).map(|(app, vs)| view! {
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
        </Card>
    }
}
