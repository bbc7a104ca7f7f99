//! A tenant's entitlement, as an operator records it (the default entitlement source): the
//! plan, base assets, add-ons, dates, and the pool's capacity and LoadMaster limit.

use crate::components::card::PageHead;
use crate::components::loaded::loaded;
use crate::functions::usage::{get_tenant_entitlement, SetTenantEntitlement};
use bandpool_domain::billing::{EntitlementForm, SubscriptionStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn TenantEntitlement() -> impl IntoView {
    let params = use_params_map();
    let tenant_id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let save = ServerAction::<SetTenantEntitlement>::new();
    let current = Resource::new(
        move || (tenant_id.get(), save.version().get()),
        |(id, _)| get_tenant_entitlement(id),
    );
    view! {
        <PageHead title="Entitlement"><a href="/tenants">"All tenants"</a></PageHead>
        {loaded(current, "Loading…", move |e| {
                let f = EntitlementForm::of(&e);
                view! {
                    <section class="card">
                        <ActionForm action=save>
                            <input type="hidden" name="tenant_id" value=tenant_id.get_untracked()/>
                            <div class="stacked-form">
                                <label>"Owner's name" <input type="text" name="owner_name" maxlength="200" value=f.owner_name/></label>
                                <label>"Progress ID" <input type="text" name="progress_id" maxlength="100" value=f.progress_id/></label>
                                <label>"Order ID" <input type="text" name="order_id" maxlength="100" value=f.order_id/></label>
                                <label>"Plan" <input type="text" name="plan" maxlength="100" required value=f.plan/></label>
                                <label class="checkbox"><input type="checkbox" name="pooled" value="yes" checked=f.pooled/>" Pooled licensing (only applications are used assets)"</label>
                                <label>"Base assets" <input type="number" name="base_assets" min="0" required value=f.base_assets/></label>
                                <label>"Status"
                                    <select name="status">
                                        {SubscriptionStatus::ALL.into_iter().map(|s| view! {
                                            <option value=s.key() selected=s.key() == f.status>{s.label()}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                                <label>"Activation date" <input type="date" name="activated_on" value=f.activated_on/></label>
                                <label>"Bill date" <input type="date" name="bill_on" value=f.bill_on/></label>
                                <label>"Next bill date" <input type="date" name="next_bill_on" value=f.next_bill_on/></label>
                                <label>"Maximum capacity (Mb/s)" <input type="number" name="max_capacity_mbps" min="0" required value=f.max_capacity_mbps/></label>
                                <label>"LoadMaster limit" <input type="number" name="loadmaster_limit" min="0" required value=f.loadmaster_limit/></label>
                                <label>"Add-ons, one per line: description; quantity; status; activation date; bill date"
                                    <textarea name="add_ons" rows="4">{f.add_ons}</textarea>
                                </label>
                                <button type="submit" class="primary">"Save entitlement"</button>
                            </div>
                        </ActionForm>
                    </section>
                }
                .into_any()
            }
        )}
    }
}
