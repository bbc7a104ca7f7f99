//! Offline Licensing: for a LoadMaster with no route to a connector, Owners and Admins choose
//! the platform type and the action, fill in what the LoadMaster's own Offline Licensing page
//! shows (or open this page from the link it offers, which fills them in), and Generate
//! license. The license text comes back once, to copy into the LoadMaster.
//!
//! Only the fields the chosen action needs are shown: the stylesheet hides the others with
//! `:has()` on the chosen option, so it works the same without JavaScript.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::functions::lifecycle::{get_offline_form, GenerateOfflineLicense};
use bandpool_domain::offline::{OfflineAction, OfflineField, Platform, HYPERVISORS};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The form's name for a field of the request (the server function takes them as one).
fn named(field: &str) -> String {
    format!("request[{field}]")
}

#[component]
pub fn OfflineLicensing() -> impl IntoView {
    // The LoadMaster's link names its fields by the form's names.
    let asked = use_query_map().get_untracked();
    let given = move |name: &str| asked.get(name).unwrap_or_default();
    let form = Resource::new(|| (), |_| get_offline_form());
    let generate = ServerAction::<GenerateOfflineLicense>::new();
    view! {
        <PageHead title="Offline Licensing"/>
        {loaded(form, "Loading the form…", move |form| {
            let platform = Platform::from_key(&given("platform")).unwrap_or_default();
            let action = OfflineAction::from_key(&given("action")).unwrap_or_default();
            let platforms = Platform::ALL.map(|p| view! {
                <option value=p.key() selected=p == platform>{p.label()}</option>
            });
            let actions = OfflineAction::ALL.map(|a| view! {
                <option value=a.key() selected=a == action>{a.label()}</option>
            });
            let fields = OfflineField::ALL.map(|field| {
                // Which actions ask for it (on a Virtual LoadMaster; only it has a hypervisor).
                let wanted_by = OfflineAction::ALL
                    .into_iter()
                    .filter(|a| a.fields(Platform::Virtual).contains(&field))
                    .map(|a| a.key())
                    .collect::<Vec<_>>()
                    .join(" ");
                let value = given(field.key());
                // The Order ID is optional only for a new license; the label says so there.
                let label = field.label().to_string();
                let input = match field {
                    OfflineField::Hypervisor => view! {
                        <select name=named(field.key()) id=field.key()>
                            {HYPERVISORS.map(|h| view! { <option value=h selected=value == h>{h}</option> })}
                        </select>
                    }
                    .into_any(),
                    OfflineField::LicenseType => {
                        let options = form.license_types.iter().map(|(id, name)| {
                            view! { <option value=id.clone() selected=*id == value>{name.clone()}</option> }
                        }).collect::<Vec<_>>();
                        view! { <select name=named(field.key()) id=field.key()>{options}</select> }.into_any()
                    }
                    _ => view! {
                        <input type="text" name=named(field.key()) id=field.key() value=value autocomplete="off" spellcheck="false"/>
                    }
                    .into_any(),
                };
                view! {
                    <div class="field" data-field=field.key() data-actions=wanted_by>
                        <label for=field.key()>{label}</label>
                        {input}
                        {field.hint().map(|hint| view! { <small class="muted">{hint}</small> })}
                    </div>
                }
            });
            view! {
                <Card heading="License a LoadMaster without a connector" section="offline-licensing">
                    <p class="muted">
                        "For a LoadMaster with no route to a connector. Its Offline Licensing page shows its serial number and access code, or offers a link that opens this page filled in. The license text you get here is signed with this portal's key and works only on that LoadMaster; it counts in your pool like any other license."
                    </p>
                    <ActionForm action=generate attr:class="offline-form" attr:data-section="offline-form">
                        <input type="hidden" name="request[idempotency_key]" value=form.idempotency_key.clone()/>
                        <div class="field">
                            <label for="platform">"Platform type"</label>
                            <select name="request[platform]" id="platform">{platforms}</select>
                        </div>
                        <div class="field">
                            <label for="action">"Choose your action"</label>
                            <select name="request[action]" id="action">{actions}</select>
                        </div>
                        {fields}
                        <button type="submit">"Generate license"</button>
                    </ActionForm>
                </Card>
                <Card heading="Checking a license text" section="licensing-key">
                    <p class="muted">
                        "LoadMasters check a license text against this portal's public key (Ed25519). It is published at /api/v1/licensing-key:"
                    </p>
                    <output class="secret" data-public-key="">{form.public_key.clone()}</output>
                </Card>
            }
            .into_any()
        })}
    }
}
