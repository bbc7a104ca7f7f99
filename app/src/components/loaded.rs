//! A page's part that waits for a read: "Loading …" while it loads, the error in a card if
//! the read failed, else the part itself.

use super::error_note::ErrorNote;
use bandpool_domain::AppError;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// `resource` shown through `ready` once it has loaded; `loading` names what it waits for.
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
        <Transition fallback=move || view! { <section class="card loading" role="status">{loading}</section> }>
            {move || {
                let ready = ready.clone();
                Suspend::new(async move {
                    match resource.await {
                        Err(error) => view! { <section class="card"><ErrorNote error/></section> }.into_any(),
                        Ok(value) => ready(value),
                    }
                })
            }}
        </Transition>
    }
}
