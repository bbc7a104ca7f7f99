//! Connectors: the agents the tenant runs in its networks, through which LoadMasters take
//! and check their licenses. Owners and Admins add one (its registration token is shown
//! once, with the command that starts the agent) and ask one for its network diagnostics;
//! everyone sees their health and the last diagnostics.

use crate::components::card::{Card, PageHead};
use crate::components::error_note::ErrorNote;
use crate::components::islands::LiveUpdates;
use crate::components::row_action::RowAction;
use crate::components::table::table_or;
use crate::functions::connectors::{
    list_connectors, list_devices, ChangeDevice, CreateConnector, RequestDiagnostics,
    SetDevicePartners,
};
use crate::functions::session::get_viewer;
use bandpool_domain::auth::Permission;
use bandpool_domain::connector::{ConnectorDiagnostics, ConnectorStatus};
use bandpool_domain::format::format_datetime;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Connectors() -> impl IntoView {
    let create = ServerAction::<CreateConnector>::new();
    let diagnose = ServerAction::<RequestDiagnostics>::new();
    let connectors = Resource::new(
        move || (create.version().get(), diagnose.version().get()),
        |_| list_connectors(),
    );
    let viewer = Resource::new(|| (), |_| get_viewer());
    let change = ServerAction::<ChangeDevice>::new();
    let partners = ServerAction::<SetDevicePartners>::new();
    let page = use_query_map()
        .with_untracked(|q| q.get("page"))
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let devices = Resource::new(
        move || (change.version().get(), partners.version().get()),
        move |_| list_devices(Some(page)),
    );
    let when = |at: Option<i64>, none: &'static str| {
        at.map(format_datetime).unwrap_or_else(|| none.to_string())
    };
    view! {
        <PageHead title="Connectors"/>
        // Owners and Admins add connectors; Reviewers see them only.
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                may.then(|| view! {
        <Card heading="Add a connector">
            <p class="muted">
                "A connector runs in your network and makes outbound connections only. Your LoadMasters take and check their licenses through it."
            </p>
            <ActionForm action=create>
                <div class="inline-form">
                    <label>"Name" <input type="text" name="name" maxlength="80" required placeholder="e.g. dc-east"/></label>
                    <button type="submit" class="primary">"Add connector"</button>
                </div>
            </ActionForm>
        </Card>
                })
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading connectors…"</p> }>
            {move || Suspend::new(async move {
                let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                let list = match connectors.await {
                    Ok(list) => list,
                    Err(error) => return view! { <ErrorNote error/> }.into_any(),
                };
                view! {
            <section class="card" id="live-connectors" data-live="">
                {table_or(
                    view! { <p class="muted">"No connectors yet. Add one, then start its agent."</p> },
                    "data connectors",
                    view! { <th>"Name"</th><th>"Status"</th><th>"Address"</th><th>"LoadMasters"</th><th>"Last seen"</th><th>"Agent"</th><th>"Added"</th><th>"Diagnostics"</th> },
                    list.into_iter().map(|c| {
                        let class = match c.status {
                            ConnectorStatus::Up => "status status-up",
                            ConnectorStatus::Down => "status status-down",
                            ConnectorStatus::Pending => "status status-pending",
                        };
                        let status = match (c.status, c.down_since, c.registration_expires_at) {
                            (ConnectorStatus::Down, Some(since), _) => format!("Down since {}", format_datetime(since)),
                            (ConnectorStatus::Pending, _, Some(until)) => format!("Waiting for its agent (token valid until {})", format_datetime(until)),
                            (status, _, _) => status.label().to_string(),
                        };
                        view! {
                            <tr data-connector=c.name.clone()>
                                <td>{c.name.clone()}</td>
                                <td><span class=class data-status=c.status.key()>{status}</span></td>
                                <td>{c.address.clone().unwrap_or_else(|| "—".into())}</td>
                                <td data-loadmasters="">{c.licensed_loadmasters}</td>
                                <td>{when(c.last_seen_at, "never")}</td>
                                <td>{c.version.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{format_datetime(c.created_at)}</td>
                                <td data-diagnostics="">
                                    <Diagnostics diagnostics=c.diagnostics.clone()/>
                                    {may.then(|| view! {
                                        <RowAction action=diagnose fields=vec![("connector_id", c.id.clone())] label="Run diagnostics"/>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect(),
                )}
            </section>
                }
                .into_any()
            })}
        </Suspense>
        <section class="card" aria-labelledby="inventory-title" id="live-devices" data-live="">
            <h2 id="inventory-title">"LoadMasters"</h2>
            <p class="muted">"The device inventory. A LoadMaster that holds a license from the pool cannot be removed before its license is killed; a blocked one cannot take a license."</p>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading LoadMasters…"</p> }>
                {move || Suspend::new(async move {
                    let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                    match devices.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(page) => {
                            let pager = (page.page > 1 || page.has_more).then(|| {
                                let link = |to: u32, label: &'static str, rel: &'static str| view! {
                                    <a class="button" rel=rel href=format!("/connectors?page={to}#inventory-title")>{label}</a>
                                };
                                view! {
                                    <div class="pager">
                                        {(page.page > 1).then(|| link(page.page - 1, "Previous", "prev"))}
                                        <span data-page="">{format!("Page {} · 100 LoadMasters a page, by name", page.page)}</span>
                                        {page.has_more.then(|| link(page.page + 1, "Next", "next"))}
                                    </div>
                                }
                            });
                            let devices = table_or(
                                view! { <p class="muted">"No LoadMasters yet."</p> },
                                "data devices",
                                view! { <th>"Device name"</th><th>"IP address"</th><th>"Serial no."</th><th>"Connector"</th><th>"License"</th><th>"HA / GEO partners"</th><th><span class="sr-only">"Actions"</span></th> },
                                page.devices.into_iter().map(|d| {
                                    let blocked = d.blocked;
                                    view! {
                                        <tr data-device=d.serial_no.clone()>
                                            <td>{d.name.clone()}</td>
                                            <td>{d.ip_address.clone()}</td>
                                            <td>{d.serial_no.clone()}</td>
                                            <td>{d.connector.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td>{match (d.pooled_license_id.is_some(), blocked) {
                                                (_, true) => "Blocked",
                                                (true, false) => "Pooled license",
                                                (false, false) => "None",
                                            }}</td>
                                            <td data-partners="">
                                                {if may {
                                                    let (id, ha, geo) = (d.id.clone(), d.ha_partner_serial.clone().unwrap_or_default(), d.geo_partner_serials.join(", "));
                                                    let (ha_label, geo_label) = (format!("HA partner of {}", d.name), format!("GEO partners of {}", d.name));
                                                    view! {
                                                        <ActionForm action=partners attr:class="inline-form partners-form">
                                                            <input type="hidden" name="device_id" value=id/>
                                                            <label>"HA " <input type="text" name="ha_partner_serial" size="9" maxlength="64" value=ha aria-label=ha_label/></label>
                                                            <label>"GEO " <input type="text" name="geo_partner_serials" size="12" maxlength="1100" value=geo aria-label=geo_label/></label>
                                                            <button type="submit">"Save"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                } else {
                                                    view! {
                                                        <span>{format!(
                                                            "HA: {} · GEO: {}",
                                                            d.ha_partner_serial.clone().unwrap_or_else(|| "—".into()),
                                                            if d.geo_partner_serials.is_empty() { "—".to_string() } else { d.geo_partner_serials.join(", ") }
                                                        )}</span>
                                                    }.into_any()
                                                }}
                                            </td>
                                            <td class="actions">
                                                {may.then(|| view! {
                                                    <RowAction
                                                        action=change
                                                        fields=vec![("device_id", d.id.clone()), ("change", if blocked { "unblock" } else { "block" }.into())]
                                                        label=if blocked { "Unblock" } else { "Block" }
                                                    />
                                                    // A licensed LoadMaster cannot leave the inventory before its license is killed.
                                                    {d.pooled_license_id.is_none().then(|| view! {
                                                        <RowAction action=change fields=vec![("device_id", d.id.clone()), ("change", "remove".into())] label="Remove" danger=true/>
                                                    })}
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect(),
                            );
                            view! { {devices} {pager} }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
        <LiveUpdates/>
    }
}

/// A connector's last diagnostics: each check's line (answered or not), when they ran, and
/// whether newer ones are on their way.
#[component]
fn Diagnostics(diagnostics: ConnectorDiagnostics) -> impl IntoView {
    let waiting = diagnostics.waiting().then(|| {
        let asked = diagnostics.requested_at.map(format_datetime).unwrap_or_default();
        view! { <p class="muted" data-waiting="">{format!("Asked at {asked}; they run at the connector's next heartbeat.")}</p> }
    });
    let ran = diagnostics.ran_at.map(|at| {
        let checks = diagnostics
            .checks
            .iter()
            .map(|check| {
                let class = if check.ok {
                    "diagnostic ok"
                } else {
                    "diagnostic failed"
                };
                view! {
                    <li class=class data-check=check.target.key() data-ok=check.ok.to_string()>
                        {check.line()}
                    </li>
                }
            })
            .collect::<Vec<_>>();
        view! {
            <p class="muted">{format!("Run at {}", format_datetime(at))}</p>
            <ul class="diagnostics">{checks}</ul>
        }
    });
    let never = (diagnostics.ran_at.is_none() && !diagnostics.waiting()).then_some("—");
    view! { {waiting} {ran} {never} }
}
