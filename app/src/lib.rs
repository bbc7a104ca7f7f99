//! Bandpool's web portal: the HTML shell, the router and the pages, rendered on the server.
//! Only the few controls that move in the browser are islands (`components::islands`): they
//! alone are compiled to WASM and hydrated; every other part is HTML and plain forms.
//!
//! - `routes/`: one module per page.
//! - `components/`: the pieces pages are made of (charts, the license table, the header).
//! - `functions/`: server functions, one file per resource the pages read. Each is one call
//!   into the service layer (`bandpool-services`) through `serve`.
//! - `serve` (server only): authorizes a server function's caller, hands it the services and
//!   gives its error the right status.

// The License Repository's view type is deep enough to need more than the default 128.
#![recursion_limit = "256"]

pub mod components;
pub mod functions;
pub mod routes;
pub mod url;

#[cfg(feature = "ssr")]
pub mod serve;

use components::flash::FlashNote;
use components::header::Header;
use components::islands::PageScript;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};
use routes::api_tokens::ApiTokens;
use routes::applications::Applications;
use routes::connectors::Connectors;
use routes::event_log::EventLog;
use routes::license_repository::LicenseRepository;
use routes::not_found::NotFound;
use routes::notifications::Notifications;
use routes::sign_in::{AcceptInvitation, ForgotPassword, ResetPassword, SignIn};
use routes::tenant_entitlement::TenantEntitlement;
use routes::tenants::Tenants;
use routes::usage_and_billing::UsageAndBilling;
use routes::users::Users;

/// The browser's entry (the `frontend` crate calls it): hydrate the page's islands. The call is
/// also what links this crate, and so its islands' exported hydrate functions, into the WASM.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
}

/// The HTML document. Its scripts carry the request's nonce (the server's security-headers
/// middleware makes it and sets the Content-Security-Policy that names it).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                // The CSS's content-hashed name (release builds), like the scripts'.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Bandpool"/>
        <Router>
            <Header/>
            <main class="page" id="main">
                <FlashNote/>
                <Routes fallback=NotFound>
                    // Async: the server waits for every resource, so the page is complete
                    // without JavaScript (charts and table included).
                    <Route path=path!("/license-repository") view=LicenseRepository ssr=SsrMode::Async/>
                    <Route path=path!("/usage-and-billing") view=UsageAndBilling ssr=SsrMode::Async/>
                    <Route path=path!("/applications") view=Applications ssr=SsrMode::Async/>
                    <Route path=path!("/notifications") view=Notifications ssr=SsrMode::Async/>
                    <Route path=path!("/connectors") view=Connectors ssr=SsrMode::Async/>
                    <Route path=path!("/event-log") view=EventLog ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=Users ssr=SsrMode::Async/>
                    <Route path=path!("/api-tokens") view=ApiTokens ssr=SsrMode::Async/>
                    <Route path=path!("/tenants") view=Tenants ssr=SsrMode::Async/>
                    <Route path=path!("/tenants/:id/entitlement") view=TenantEntitlement ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=SignIn ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=ForgotPassword ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view=ResetPassword ssr=SsrMode::Async/>
                    <Route path=path!("/invitation") view=AcceptInvitation ssr=SsrMode::Async/>
                </Routes>
            </main>
            // Last in the page: islands hydrate in document order, so this one marks them all
            // done (browser tests wait for it before they click).
            <PageScript/>
        </Router>
    }
}
