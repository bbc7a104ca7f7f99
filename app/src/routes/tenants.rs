//! Tenants (operators, above tenants): every tenant with its Owners, and a form that
//! creates a tenant with its pool and invites its first Owner.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::table::data_table;
use crate::functions::tenants::{list_tenants, CreateTenant};
use bandpool_domain::format::{format_datetime, format_mbps};
use leptos::prelude::*;

#[component]
pub fn Tenants() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let tenants = Resource::new(move || create.version().get(), |_| list_tenants());
    view! {
        <PageHead title="Tenants"/>
        {loaded(tenants, "Loading tenants…", move |list| view! {
                <section class="card">
                    {data_table(
                        "data tenants",
                        view! { <th>"Tenant"</th><th>"Owners"</th><th>"Members"</th><th>"Maximum capacity"</th><th>"LoadMaster limit"</th><th>"Created"</th><th></th> },
                        list.into_iter().map(|t| view! {
                            <tr data-tenant=t.name.clone()>
                                <td>{t.name.clone()}</td>
                                <td>{if t.owners.is_empty() { "(invited, not yet accepted)".to_string() } else { t.owners.join(", ") }}</td>
                                <td>{t.members}</td>
                                <td>{format_mbps(t.max_capacity_mbps)}</td>
                                <td>{t.loadmaster_limit}</td>
                                <td>{format_datetime(t.created_at)}</td>
                                <td><a href=format!("/tenants/{}/entitlement", t.id)>"Entitlement"</a></td>
                            </tr>
                        }).collect(),
                    )}
                </section>
            }
            .into_any()
        )}
        <Card heading="New tenant">
            <ActionForm action=create>
                <div class="inline-form">
                    <label>"Name" <input type="text" name="name" maxlength="100" required/></label>
                    <label>"First Owner's email" <input type="email" name="owner_email" required/></label>
                    <label>"Maximum capacity (Mb/s)" <input type="number" name="max_capacity_mbps" min="0" value="10000" required/></label>
                    <label>"LoadMaster limit" <input type="number" name="loadmaster_limit" min="0" value="50" required/></label>
                    <button type="submit" class="primary">"Create tenant"</button>
                </div>
            </ActionForm>
        </Card>
    }
}
