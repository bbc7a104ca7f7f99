//! The blocks a page is made of: its head (the tab's title and the page's heading) and its
//! cards (a section under its own heading).

use leptos::prelude::*;
use leptos_meta::Title;

/// The tab's title ("… · Bandpool") and the page's heading, with what stands beside it (Last
/// refreshed, a sync button, a link).
#[component]
pub fn PageHead(
    title: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Bandpool")/>
        <div class="page-head">
            <h1>{title}</h1>
            {children.map(|children| view! { <div class="head-actions">{children()}</div> })}
        </div>
    }
}

/// A card under its heading; `section` names it for the browser tests (`data-section`).
#[component]
pub fn Card(
    #[prop(into)] heading: String,
    #[prop(optional)] section: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card" data-section=section id=section>
            <h2>{heading}</h2>
            {children()}
        </section>
    }
}
