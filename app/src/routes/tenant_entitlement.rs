//! A tenant's entitlement, as an operator records it (the default entitlement source): the
//! plan, base assets, add-ons, dates, and the pool's capacity and LoadMaster limit; and its
//! metered contract (MELA): Contract ID, activations, a trial's end and the usage tiers.

use crate::components::card::PageHead;
use crate::components::loaded::loaded;
use crate::components::table::table_or;
use crate::functions::lifecycle::{get_tenant_orders, RecordOrder};
use crate::functions::metered::{get_metered_contract, SetMeteredContract};
use crate::functions::usage::{get_tenant_entitlement, SetTenantEntitlement};
use bandpool_domain::billing::{EntitlementForm, SubscriptionStatus};
use bandpool_domain::format::format_date;
use bandpool_domain::lifecycle::SupportTier;
use bandpool_domain::metered::ContractForm;
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
        <MeteredContractCard tenant_id=tenant_id/>
        <OrdersCard tenant_id=tenant_id/>
    }
}

/// The tenant's orders: each Order ID with its support tier and the permanent licenses it
/// bought; a form records a new one or replaces one with the same Order ID.
#[component]
fn OrdersCard(tenant_id: Memo<String>) -> impl IntoView {
    let save = ServerAction::<RecordOrder>::new();
    let current = Resource::new(
        move || (tenant_id.get(), save.version().get()),
        |(id, _)| get_tenant_orders(id),
    );
    view! {
        {loaded(current, "Loading…", move |orders| {
            view! {
                <section class="card" data-section="orders" aria-labelledby="orders-title">
                    <h2 id="orders-title">"Orders"</h2>
                    <p class="muted">
                        "A LoadMaster takes a permanent license from one of these orders by its Order ID, as many of each license type as the order bought. Temporary and trial licenses need no order."
                    </p>
                    {table_or(
                        view! { <p class="muted">"No orders yet."</p> },
                        "data orders",
                        view! { <th>"Order ID"</th><th>"Support"</th><th>"Support until"</th><th>"Licenses"</th> },
                        orders.into_iter().map(|o| {
                            let lines = o.lines.iter().map(|l| format!(
                                "{} x {} ({} in use{})",
                                l.quantity,
                                l.license_name,
                                l.in_use,
                                l.license_ends_at.map(|t| format!(", until {}", format_date(t - 1))).unwrap_or_default()
                            )).collect::<Vec<_>>().join("; ");
                            view! {
                                <tr data-order=o.order_id.clone()>
                                    <td>{o.order_id.clone()}</td>
                                    <td>{o.support_tier.label()}{o.spla.then_some(" (SPLA)")}</td>
                                    <td>{format_date(o.support_ends_at - 1)}</td>
                                    <td>{lines}</td>
                                </tr>
                            }
                        }).collect::<Vec<_>>(),
                    )}
                    <ActionForm action=save>
                        <input type="hidden" name="tenant_id" value=tenant_id.get_untracked()/>
                        <div class="stacked-form">
                            <label>"Order ID" <input type="text" name="order_id" maxlength="64" required placeholder="e.g. ORD-2026-0042"/></label>
                            <label>"Support"
                                <select name="support_tier">
                                    {SupportTier::ALL.into_iter().map(|t| view! {
                                        <option value=t.key() selected=t == SupportTier::EnterprisePlus>{t.label()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"Support until" <input type="date" name="support_ends_on" required/></label>
                            <label>"Licenses, one license type per line: type=quantity, or type=quantity@last day of their term"
                                <textarea name="lines" rows="3" required placeholder="vlm-500=3"></textarea>
                            </label>
                            <label class="checkbox"><input type="checkbox" name="spla" value="yes"/>" Service Provider License Agreement (SPLA): its licenses cannot be transferred"</label>
                            <button type="submit" class="primary">"Record order"</button>
                        </div>
                    </ActionForm>
                </section>
            }
            .into_any()
        })}
    }
}

/// The tenant's metered contract: set once, from then on its connectors' licenses are metered.
#[component]
fn MeteredContractCard(tenant_id: Memo<String>) -> impl IntoView {
    let save = ServerAction::<SetMeteredContract>::new();
    let current = Resource::new(
        move || (tenant_id.get(), save.version().get()),
        |(id, _)| get_metered_contract(id),
    );
    view! {
        {loaded(current, "Loading…", move |contract| {
            let none = contract.is_none();
            let f = ContractForm::of(contract.as_ref());
            view! {
                <section class="card" data-section="metered-contract" aria-labelledby="metered-contract-title">
                    <h2 id="metered-contract-title">"Metered contract (MELA)"</h2>
                    <p class="muted">
                        {if none {
                            "This tenant has no metered contract: its licenses are pooled. Once it has one, the licenses its connectors grant are metered: limited by the number of activations and billed by the usage tier of each month's summed peaks."
                        } else {
                            "The licenses this tenant's connectors grant are metered: limited by the number of activations and billed by the usage tier of each month's summed peaks."
                        }}
                    </p>
                    <ActionForm action=save>
                        <input type="hidden" name="tenant_id" value=tenant_id.get_untracked()/>
                        <div class="stacked-form">
                            <label>"Contract ID" <input type="text" name="contract_id" maxlength="64" required value=f.contract_id/></label>
                            <label>"Maximum activations" <input type="number" name="max_activations" min="0" required value=f.max_activations/></label>
                            <label>"Trial ends on (empty: not a trial; a trial allows five activations)" <input type="date" name="trial_ends_on" value=f.trial_ends_on/></label>
                            <label>"Usage tiers, one per line: from Mb/s=name (the first from 0)"
                                <textarea name="tiers" rows="4" required>{f.tiers}</textarea>
                            </label>
                            <button type="submit" class="primary">"Save metered contract"</button>
                        </div>
                    </ActionForm>
                </section>
            }
            .into_any()
        })}
    }
}
