//! How a failed read shows on a page: the message for a person, never internal text. The
//! stable code stays in `data-code` for scripts and tests, out of the sentence.

use bandpool_domain::AppError;
use leptos::prelude::*;

#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    let body = error.body();
    view! {
        <div class="error-note" role="alert" data-code=body.code>
            <strong>{body.message}</strong>
        </div>
    }
}
