//! A page's part that waits for a read: "Loading …" while it loads, the error in a card if
//! the read failed, else the part itself.

use super::error_note::ErrorNote;
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// `resource` shown through `ready` once it has loaded; `loading` names what it waits for.
/// While the read runs again, the part it showed last stays (a `Transition`).
pub fn loaded<T, F>(
    resource: Resource<Result<T, AppError>>,
    loading: &'static str,
    ready: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> AnyView + Clone + Send + Sync + 'static,
{
    view! {
        <Transition fallback=move || loading_card(loading)>{ready_or_error(resource, ready)}</Transition>
    }
}

/// The card that stands in for a part while its read runs; `loading` names what it waits for.
pub fn loading_card(loading: &'static str) -> impl IntoView {
    view! { <section class="card loading" role="status">{loading}</section> }
}

/// The inside of a part's `Suspense` or `Transition`: `resource` shown through `ready`, or its
/// error in a card.
pub fn ready_or_error<T>(
    resource: Resource<Result<T, AppError>>,
    ready: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    move || {
        let ready = ready.clone();
        Suspend::new(async move {
            match resource.await {
                Err(error) => {
                    view! { <section class="card"><ErrorNote error/></section> }.into_any()
                }
                Ok(value) => ready(value),
            }
        })
    }
}
