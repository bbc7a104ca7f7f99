//! Activations: every metered activation of the tenant (MAC Address, LoadMaster Version,
//! Status, Activation Date, Boot Date, Last Kill Date, License Type, VLM Name) under "Max
//! Activations Available" and "Current Number of Activations"; status filters, the CSV,
//! Unblock Selected for blocked rows, and the "Block unconfirmed activations after" setting.
//! Every part is plain HTML: the filters are a GET form, the changes plain posts.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::reporting_grace::ReportingGraceNote;
use crate::components::table::table_or;
use crate::functions::metered::{get_activations, SetBlockAfter, UnblockActivations};
use crate::functions::session::get_viewer;
use bandpool_domain::auth::Permission;
use bandpool_domain::format::{format_date, format_datetime};
use bandpool_domain::metered::{ActivationStatus, BLOCK_AFTER_CHOICES};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Activations() -> impl IntoView {
    // The filter's statuses from the URL (`?status=active&status=blocked`); none or `all`:
    // every status.
    let chosen: Vec<String> = use_query_map()
        .with_untracked(|q| q.get_all("status"))
        .unwrap_or_default();
    let all = chosen.is_empty() || chosen.iter().any(|s| s == "all");
    let statuses = if all { String::new() } else { chosen.join(",") };
    let activations = Resource::new(move || (), {
        let statuses = statuses.clone();
        move |_| get_activations(statuses.clone())
    });
    let viewer = Resource::new(|| (), |_| get_viewer());
    let unblock = ServerAction::<UnblockActivations>::new();
    let setting = ServerAction::<SetBlockAfter>::new();
    let export = if all {
        "/api/v1/metered/activations.csv".to_string()
    } else {
        format!("/api/v1/metered/activations.csv?status={statuses}")
    };
    let checked = move |status: ActivationStatus| all || chosen.iter().any(|s| s == status.key());
    view! {
        <PageHead title="Activations">
            <a class="button" href=export download="">"Export CSV"</a>
        </PageHead>
        <ReportingGraceNote/>
        {loaded(activations, "Loading activations…", move |table| {
            let Some(table) = table else {
                return view! {
                    <Card heading="Metered activations" section="activations">
                        <p class="muted" data-note="no-contract">
                            "This tenant has no metered contract, so no LoadMaster is licensed by metered use here. Your vendor sets one up (a Contract ID, the number of activations and the usage tiers)."
                        </p>
                    </Card>
                }
                .into_any();
            };
            let checked = checked.clone();
            view! {
                <Card heading="Metered activations" section="activations">
                    <p class="figures">
                        <span data-figure="max">{format!("Max Activations Available: {}", table.max_activations)}</span>
                        <span data-figure="current">{format!("Current Number of Activations: {}", table.current_activations)}</span>
                        {table.trial_ends_at.map(|end| view! {
                            <span data-figure="trial">{format!("Metered trial until {}", format_date(end))}</span>
                        })}
                    </p>
                    <form class="inline-form filters" method="get" action="/metered/activations">
                        <fieldset>
                            <legend>"Show"</legend>
                            {ActivationStatus::ALL.into_iter().map(|status| view! {
                                <label>
                                    <input type="checkbox" name="status" value=status.key() checked=checked(status)/>
                                    {status.filter_label()}
                                </label>
                            }).collect_view()}
                            <label><input type="checkbox" name="status" value="all" checked=all/>"All"</label>
                        </fieldset>
                        <button type="submit">"Filter"</button>
                    </form>
                    <Suspense fallback=|| ()>
                        {move || {
                            let rows = table.rows.clone();
                            Suspend::new(async move {
                                let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                                let blocked = rows.iter().any(|r| r.status == ActivationStatus::Blocked);
                                let table = table_or(
                                    view! { <p class="muted">"No metered activations match the filter."</p> },
                                    "data activations",
                                    view! {
                                        <th>"MAC Address"</th><th>"LoadMaster Version"</th><th>"Status"</th>
                                        <th>"Activation Date"</th><th>"Boot Date"</th><th>"Last Kill Date"</th>
                                        <th>"License Type"</th><th>"VLM Name"</th><th>"Unblock"</th>
                                    },
                                    rows.into_iter().map(|row| {
                                        let label = format!("Unblock {}", if row.mac_address.is_some() { row.mac_label() } else { row.ip_address.clone() });
                                        view! {
                                            <tr data-activation=row.ip_address.clone() data-status=row.status.key()>
                                                <td>{row.mac_label()}</td>
                                                <td>{row.loadmaster_version.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td><span class=format!("status status-{}", row.status.key())>{row.status.label()}</span></td>
                                                <td>{format_datetime(row.activated_at)}</td>
                                                <td>{row.booted_at.map(format_datetime).unwrap_or_default()}</td>
                                                <td>{row.last_kill_at.map(format_datetime).unwrap_or_default()}</td>
                                                <td>{row.license_type.clone()}</td>
                                                <td>{row.vlm_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td>
                                                    {(may && row.status == ActivationStatus::Blocked).then(|| view! {
                                                        <input type="checkbox" form="unblock-form" name="license_ids[]" value=row.license_id.clone() aria-label=label/>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect(),
                                );
                                view! {
                                    {table}
                                    {(may && blocked).then(|| view! {
                                        <ActionForm action=unblock attr:id="unblock-form">
                                            <button type="submit">"Unblock Selected"</button>
                                        </ActionForm>
                                    })}
                                }
                            })
                        }}
                    </Suspense>
                </Card>
                <Suspense fallback=|| ()>
                    {move || {
                        let current = table.block_unconfirmed_after_seconds;
                        Suspend::new(async move {
                            let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                            may.then(|| view! {
                                <Card heading="Unconfirmed activations" section="block-setting">
                                    <p class="muted">
                                        "A metered LoadMaster is confirmed when its connector delivers its first usage sample. One still unconfirmed after this time is an unmanaged device holding a license: it is removed, its license returns to the pool, and its address is blocked until you unblock it."
                                    </p>
                                    <ActionForm action=setting>
                                        <div class="inline-form">
                                            <label>
                                                "Block unconfirmed activations after "
                                                <select name="seconds">
                                                    {BLOCK_AFTER_CHOICES.iter().map(|(seconds, label)| view! {
                                                        <option value=seconds.to_string() selected=*seconds == current>{*label}</option>
                                                    }).collect_view()}
                                                </select>
                                            </label>
                                            <button type="submit">"Apply"</button>
                                        </div>
                                    </ActionForm>
                                </Card>
                            })
                        })
                    }}
                </Suspense>
            }
            .into_any()
        })}
    }
}
