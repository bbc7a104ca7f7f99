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
use routes::activations::Activations;
use routes::api_tokens::ApiTokens;
use routes::applications::Applications;
use routes::connectors::Connectors;
use routes::event_log::EventLog;
use routes::license_repository::LicenseRepository;
use routes::licenses::Licenses;
use routes::metered_report::MeteredReportPage;
use routes::metered_usage::MeteredUsage;
use routes::not_found::NotFound;
use routes::notifications::Notifications;
use routes::offline_licensing::OfflineLicensing;
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
                // Before the stylesheet: a classic script after it would wait for the CSS.
                <IslandLoader options=options.clone()/>
                // The CSS's content-hashed name (release builds), like the scripts'.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Loads the bundle and hydrates the page's islands. Leptos's own loader
/// (`<HydrationScripts islands=true/>`) waits for the browser to be idle before it even
/// imports the bundle, which on the License Repository came 20 to 100 ms after the page had
/// loaded. Here a classic script at the top of the head starts fetching and compiling the
/// WASM at once, while the rest of the page arrives and is parsed; the module script (run
/// once the page is parsed) instantiates the compiled module and hydrates every island in
/// document order. The portal's islands never nest (a nested one would need its parent's
/// children hydrated first, which Leptos's loader arranges).
#[component]
fn IslandLoader(options: LeptosOptions) -> impl IntoView {
    let (js, wasm) = bundle_files(&options);
    let nonce = leptos::nonce::use_nonce();
    // Islands mode renders the page as not hydrating (an island switches it on for itself),
    // as Leptos's own loader arranges: otherwise every resource of the page is serialized
    // into it as inline scripts (a third of the License Repository's bytes), and those
    // scripts, behind the stylesheet, held the parser until the CSS had arrived.
    if let Some(context) = leptos::reactive::owner::Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let compile = format!(
        "window.bandpoolWasm = WebAssembly.compileStreaming(fetch('{wasm}', {{ credentials: 'same-origin' }}));"
    );
    let hydrate = format!(
        "import init, * as bundle from '{js}';\n\
         await init({{ module_or_path: await window.bandpoolWasm }});\n\
         bundle.hydrate();\n\
         for (const island of document.querySelectorAll('leptos-island')) {{\n\
           const hydrate = bundle[island.dataset.component];\n\
           if (hydrate) await hydrate(island);\n\
           else console.warn('no island ' + island.dataset.component + ' in the bundle');\n\
         }}"
    );
    view! {
        <script nonce=nonce.clone() inner_html=compile></script>
        <link rel="modulepreload" href=js nonce=nonce.clone()/>
        <script type="module" nonce=nonce inner_html=hydrate></script>
    }
}

/// The bundle's JS and WASM addresses: `/pkg/bandpool.js`, or with the release build's
/// content hashes from the hash file beside the server binary (`js: <hash>`, `wasm: <hash>`).
fn bundle_files(options: &LeptosOptions) -> (String, String) {
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let hashes = options
        .hash_files
        .then(|| {
            let file = std::env::current_exe()
                .ok()?
                .parent()?
                .join(options.hash_file.as_ref());
            std::fs::read_to_string(file).ok()
        })
        .flatten()
        .unwrap_or_default();
    let named = |kind: &str| {
        hashes
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(k, _)| k.trim() == kind)
            .map(|(_, hash)| format!("{pkg}.{}.{kind}", hash.trim()))
            .unwrap_or_else(|| format!("{pkg}.{kind}"))
    };
    (named("js"), named("wasm"))
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
                    <Route path=path!("/licenses") view=Licenses ssr=SsrMode::Async/>
                    <Route path=path!("/offline-licensing") view=OfflineLicensing ssr=SsrMode::Async/>
                    <Route path=path!("/metered/activations") view=Activations ssr=SsrMode::Async/>
                    <Route path=path!("/metered/usage") view=MeteredUsage ssr=SsrMode::Async/>
                    <Route path=path!("/metered/report") view=MeteredReportPage ssr=SsrMode::Async/>
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
