//! A button in a table row that posts one change for that row (remove, revoke, unmap…). It
//! is a plain form with the row's id in hidden fields, so it works without JavaScript; with
//! JavaScript the page's action runs it and the page reloads what it shows.

use leptos::prelude::*;
use leptos::server_fn::client::Client;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::request::ClientReq;
use leptos::server_fn::{Http, ServerFn};
use serde::de::DeserializeOwned;

/// `action` posted with the hidden `fields` (name, value), in their order, by a button that
/// says `label`; `danger` marks a change that cannot be undone.
#[component]
pub fn RowAction<ServFn, OutputProtocol>(
    action: ServerAction<ServFn>,
    fields: Vec<(&'static str, String)>,
    label: &'static str,
    #[prop(optional)] danger: bool,
) -> impl IntoView
where
    ServFn: DeserializeOwned
        + ServerFn<Protocol = Http<PostUrl, OutputProtocol>>
        + Clone
        + Send
        + Sync
        + 'static,
    <<ServFn::Client as Client<ServFn::Error>>::Request as ClientReq<ServFn::Error>>::FormData:
        From<web_sys::FormData>,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
    ServFn::Client: Client<ServFn::Error>,
{
    view! {
        <ActionForm action>
            {fields
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                .collect_view()}
            // Two buttons, not an optional class: an empty class would still print `class=""`.
            {if danger {
                view! { <button type="submit" class="danger">{label}</button> }.into_any()
            } else {
                view! { <button type="submit">{label}</button> }.into_any()
            }}
        </ActionForm>
    }
}
