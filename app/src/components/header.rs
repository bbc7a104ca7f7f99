//! The portal's top bar.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/license-repository">
                <span class="brand-mark" aria-hidden="true">"▮"</span>
                "Bandpool"
            </a>
            <nav aria-label="Main">
                <A href="/license-repository">"License Repository"</A>
            </nav>
        </header>
    }
}
