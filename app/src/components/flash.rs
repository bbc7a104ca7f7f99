//! What the last plain form's post said, at the top of the page it returned to: a notice,
//! the reason it was refused, or a secret shown this once.

use crate::functions::session::Flash;
use leptos::prelude::*;

#[component]
pub fn FlashNote() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let flash = crate::serve::flash();
    #[cfg(not(feature = "ssr"))]
    let flash: Option<Flash> = None;
    flash.map(|flash| view! { <FlashView flash/> })
}

#[component]
fn FlashView(flash: Flash) -> impl IntoView {
    if flash.error {
        return view! { <div class="flash error-note" role="alert" data-flash="error"><strong>{flash.text}</strong></div> }
            .into_any();
    }
    match flash.secret {
        Some(secret) => view! {
            <div class="flash secret-once" role="status" data-flash="secret">
                <p>{flash.text}</p>
                <output class="secret" data-secret="" id="flash-secret">{secret}</output>
                // Shown once the page's script runs (it copies); without it, select and copy.
                <button type="button" class="copy" data-copy="flash-secret" hidden>"Copy"</button>
                {flash.hint.map(|hint| view! { <pre class="command">{hint}</pre> })}
            </div>
        }
        .into_any(),
        None => {
            view! { <p class="flash notice" role="status" data-flash="notice">{flash.text}</p> }
                .into_any()
        }
    }
}
