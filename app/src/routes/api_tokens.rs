//! API tokens (Owners and Admins): tokens for automation to call the REST API with
//! `Authorization: Bearer`. The secret is shown once, when the token is made.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::row_action::RowAction;
use crate::components::table::table_or;
use crate::functions::tokens::{list_tokens, CreateToken, RevokeToken};
use bandpool_domain::format::format_datetime;
use leptos::prelude::*;

#[component]
pub fn ApiTokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let when = |at: Option<i64>, none: &'static str| {
        at.map(format_datetime).unwrap_or_else(|| none.to_string())
    };
    view! {
        <PageHead title="API tokens"/>
        <Card heading="New token">
            <ActionForm action=create>
                <div class="inline-form">
                    <label>"Name" <input type="text" name="name" maxlength="100" required placeholder="e.g. nightly usage export"/></label>
                    <label>"Scope"
                        <select name="scope">
                            <option value="read" selected>"Read"</option>
                            <option value="read_write">"Read + write"</option>
                        </select>
                    </label>
                    <label>"Expires after (days)" <input type="number" name="expires_in_days" min="1" max="3650" placeholder="never"/></label>
                    <button type="submit" class="primary">"Create token"</button>
                </div>
            </ActionForm>
        </Card>
        {loaded(tokens, "Loading tokens…", move |tokens| view! {
            <section class="card">
                {table_or(
                    view! { <p class="muted">"No API tokens yet."</p> },
                    "data tokens",
                    view! { <th>"Name"</th><th>"Token"</th><th>"Scope"</th><th>"Created by"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th><span class="sr-only">"Actions"</span></th> },
                    tokens.into_iter().map(|t| {
                        let revoked = t.revoked_at.is_some();
                        view! {
                            <tr data-token=t.name.clone()>
                                <td>{t.name.clone()}</td>
                                <td><code>{format!("{}…", t.prefix)}</code></td>
                                <td>{t.scope.label()}</td>
                                <td>{t.created_by.clone()}</td>
                                <td>{format_datetime(t.created_at)}</td>
                                <td>{when(t.expires_at, "never")}</td>
                                <td data-last-used="">{when(t.last_used_at, "never")}</td>
                                <td>{if revoked { "Revoked" } else { "Active" }}</td>
                                <td>
                                    {(!revoked).then(|| view! {
                                        <RowAction action=revoke fields=vec![("token_id", t.id.clone())] label="Revoke" danger=true/>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect(),
                )}
            </section>
        }
        .into_any())}
    }
}
