//! How a failed read shows on a page: the message and its code, never internal text.

use bandpool_domain::AppError;
use leptos::prelude::*;

#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    let body = error.body();
    let code = body.code.clone();
    view! {
        <div class="error-note" role="alert" data-code=code>
            <strong>{body.message}</strong>
            <span class="error-code">" (" {body.code} ")"</span>
        </div>
    }
}
