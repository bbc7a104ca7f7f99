//! What a form's action answered: nothing yet, a confirmation, or the error in place.

use bandpool_domain::AppError;
use leptos::prelude::*;

use super::error_note::ErrorNote;

/// Shows the action's last error (or `done` when it succeeded), next to its form.
pub fn action_result<T, S>(value: S, done: &'static str) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
        Some(Ok(_)) if !done.is_empty() => {
            view! { <p class="notice" role="status">{done}</p> }.into_any()
        }
        _ => ().into_any(),
    }
}
