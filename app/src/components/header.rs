//! The portal's top bar: the pages this person's role opens, the tenant (with a switcher
//! when they belong to several), who is signed in, and the sign-out buttons.

use bandpool_domain::auth::{Permission, Viewer};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::functions::session::get_viewer;

#[component]
pub fn Header() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <header class="topbar">
            <a class="brand" href="/license-repository">
                <span class="brand-mark" aria-hidden="true">"▮"</span>
                "Bandpool"
            </a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match viewer.await {
                        Ok(Some(viewer)) => view! { <SignedIn viewer/> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
fn SignedIn(viewer: Viewer) -> impl IntoView {
    let links = [
        (
            Permission::ViewPool,
            "/license-repository",
            "License Repository",
        ),
        (
            Permission::ViewPool,
            "/usage-and-billing",
            "Usage and billing",
        ),
        (Permission::ViewPool, "/applications", "Applications"),
        (Permission::ViewPool, "/connectors", "Connectors"),
        (Permission::ManageUsage, "/notifications", "Notifications"),
        (Permission::ViewEvents, "/event-log", "Event log"),
        (Permission::ManageUsers, "/users", "Users"),
        (Permission::ManageTokens, "/api-tokens", "API tokens"),
        (Permission::OperateTenants, "/tenants", "Tenants"),
    ];
    let nav = links
        .into_iter()
        .filter(|(p, _, _)| viewer.may(*p))
        .map(|(_, href, label)| view! { <A href=href>{label}</A> })
        .collect_view();
    let tenant = match (&viewer.tenant, viewer.tenants.len()) {
        (Some(current), n) if n > 1 => {
            let current_id = current.tenant_id.clone();
            view! {
                <form class="tenant-switch" method="post" action="/auth/tenant">
                    <label class="sr-only" for="tenant-switch">"Tenant"</label>
                    <select id="tenant-switch" name="tenant_id">
                        {viewer.tenants.iter().map(|t| view! {
                            <option value=t.tenant_id.clone() selected=t.tenant_id == current_id>{t.tenant_name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit">"Switch"</button>
                </form>
            }
            .into_any()
        }
        (Some(current), _) => {
            view! { <span class="tenant-name">{current.tenant_name.clone()}</span> }.into_any()
        }
        (None, _) => view! { <span class="tenant-name muted">"No tenant"</span> }.into_any(),
    };
    let role = viewer
        .role()
        .map(|r| r.label())
        .unwrap_or(if viewer.operator { "Operator" } else { "" });
    view! {
        <nav aria-label="Main">{nav}</nav>
        <div class="account">
            {tenant}
            <span class="who" data-viewer=viewer.email.clone()>{viewer.email.clone()} <span class="role">{role}</span></span>
            <form method="post" action="/auth/sign-out">
                <button type="submit">"Sign out"</button>
            </form>
            <form method="post" action="/auth/sign-out-everywhere">
                <button type="submit" class="link" title="End your sessions on every device">"Sign out everywhere"</button>
            </form>
        </div>
    }
}
