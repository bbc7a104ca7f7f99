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
    // The daily pages stand in the bar; the administration pages share one menu, so the bar
    // fits on one line at 1024 px and collapses behind one button on a phone.
    let daily = [
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
    ];
    // Metered licensing's pages share one menu, as the administration pages do.
    let metered = [
        (Permission::ViewPool, "/metered/usage", "Metered usage"),
        (Permission::ViewPool, "/metered/activations", "Activations"),
        (Permission::ViewPool, "/metered/report", "MELA report"),
    ];
    let admin = [
        (Permission::ViewPool, "/licenses", "Licenses"),
        (
            Permission::ChangeLicenses,
            "/offline-licensing",
            "Offline Licensing",
        ),
        (Permission::ManageUsage, "/notifications", "Notifications"),
        (Permission::ViewEvents, "/event-log", "Event log"),
        (Permission::ManageUsers, "/users", "Users"),
        (Permission::ManageTokens, "/api-tokens", "API tokens"),
        (Permission::OperateTenants, "/tenants", "Tenants"),
    ];
    let links = |list: &[(Permission, &'static str, &'static str)]| {
        list.iter()
            .filter(|(p, _, _)| viewer.may(*p))
            .map(|&(_, href, label)| view! { <A href=href>{label}</A> })
            .collect::<Vec<_>>()
    };
    let daily = links(&daily);
    let metered = links(&metered);
    let metered = (!metered.is_empty()).then(|| {
        view! {
            <details class="dropdown metered-menu">
                <summary>"Metered"</summary>
                <div class="dropdown-panel">{metered}</div>
            </details>
        }
    });
    let admin = links(&admin);
    let admin = (!admin.is_empty()).then(|| {
        view! {
            <details class="dropdown admin-menu">
                <summary>"Administration"</summary>
                <div class="dropdown-panel">{admin}</div>
            </details>
        }
    });
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
        <details class="site-menu">
            <summary aria-label="Menu"><span aria-hidden="true">"☰"</span>" Menu"</summary>
            <div class="site-menu-panel">
                <nav aria-label="Main">{daily}{metered}{admin}</nav>
                <details class="dropdown account">
                    <summary>
                        <span class="who" data-viewer=viewer.email.clone()>{viewer.email.clone()} <span class="role">{role}</span></span>
                    </summary>
                    <div class="dropdown-panel account-panel">
                        {tenant}
                        <form method="post" action="/auth/sign-out">
                            <button type="submit">"Sign out"</button>
                        </form>
                        <form method="post" action="/auth/sign-out-everywhere">
                            <button type="submit" class="link">"Sign out everywhere"</button>
                            <span class="muted small">"Ends your sessions on every device."</span>
                        </form>
                    </div>
                </details>
            </div>
        </details>
    }
}
