//! Notifications: the tenant's communication channels (email recipients; a webhook whose
//! messages are signed with HMAC-SHA256 and retried with backoff), the latest webhook
//! deliveries and the latest emails, failures included.

use crate::components::error_note::ErrorNote;
use crate::components::loaded::loaded;
use crate::functions::usage::{get_channels, SetChannels};
use bandpool_domain::billing::EmailDelivery;
use bandpool_domain::format::format_datetime;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Notifications() -> impl IntoView {
    let save = ServerAction::<SetChannels>::new();
    let channels = Resource::new(move || save.version().get(), |_| get_channels());
    view! {
        <Title text="Notifications · Bandpool"/>
        <div class="page-head"><h1>"Notifications"</h1></div>
        {loaded(channels, "Loading channels…", move |(channels, deliveries, emails)| view! {
                <section class="card">
                    <h2>"Communication channel"</h2>
                    <p class="muted">
                        "Messages go out when the license capacity limit, the LoadMaster limit or the asset limit is reached \
                         (once per crossing), and when a connector goes down or comes back."
                    </p>
                    <ActionForm action=save>
                        <div class="stacked-form">
                            <label>"Email recipients (one per line)"
                                <textarea name="email_recipients" rows="4">{channels.email_recipients.join("\n")}</textarea>
                            </label>
                            <label>"Webhook URL (https://; empty: no webhook)"
                                <input type="url" name="webhook_url" maxlength="500" value=channels.webhook_url.clone().unwrap_or_default()/>
                            </label>
                            {channels.webhook_secret_set.then(|| view! {
                                <label class="checkbox"><input type="checkbox" name="rotate_secret" value="yes"/>" Make a new signing secret"</label>
                            })}
                            <button type="submit" class="primary">"Save"</button>
                        </div>
                    </ActionForm>
                    {move || match save.value().get() {
                        Some(Ok(Some(secret))) => view! {
                            <div class="notice" role="status">
                                <p>"Saved. The webhook's signing secret, shown once: keep it where your receiver can read it."</p>
                                <code class="secret" data-secret="">{secret}</code>
                                <p class="muted small">"Each message carries X-Bandpool-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">."</p>
                            </div>
                        }.into_any(),
                        Some(Ok(None)) => view! { <p class="notice" role="status">"Saved."</p> }.into_any(),
                        Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
                        None => ().into_any(),
                    }}
                </section>
                <section class="card">
                    <h2>"Webhook deliveries"</h2>
                    {if deliveries.is_empty() {
                        view! { <p class="empty">"No webhook message has been sent."</p> }.into_any()
                    } else {
                        view! {
                            <table class="data deliveries">
                                <thead><tr><th>"Event"</th><th>"Created"</th><th>"Status"</th><th class="num">"Attempts"</th><th>"Next attempt"</th><th>"Last error"</th></tr></thead>
                                <tbody>
                                    {deliveries.into_iter().map(|d| view! {
                                        <tr data-delivery=d.status.clone()>
                                            <td>{d.event.clone()}</td>
                                            <td>{format_datetime(d.created_at)}</td>
                                            <td>{match d.status.as_str() { "delivered" => "Delivered", "failed" => "Failed (given up)", _ => "Pending" }}</td>
                                            <td class="num">{d.attempts}</td>
                                            <td>{d.next_attempt_at.map(format_datetime).unwrap_or_default()}</td>
                                            <td>{d.last_error.clone().unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any()
                    }}
                </section>
                <EmailDeliveries emails/>
            }
            .into_any()
        )}
    }
}

/// The tenant's latest emails: a message the mail server refused is retried with backoff and
/// shown here with its error, never lost silently.
#[component]
fn EmailDeliveries(emails: Vec<EmailDelivery>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Emails"</h2>
            {if emails.is_empty() {
                view! { <p class="empty">"No email has been sent."</p> }.into_any()
            } else {
                view! {
                    <table class="data deliveries emails">
                        <thead><tr><th>"To"</th><th>"Subject"</th><th>"Created"</th><th>"Status"</th><th class="num">"Attempts"</th><th>"Next attempt"</th><th>"Last error"</th></tr></thead>
                        <tbody>
                            {emails.into_iter().map(|e| view! {
                                <tr data-email=e.status.clone()>
                                    <td>{e.to.clone()}</td>
                                    <td>{e.subject.clone()}</td>
                                    <td>{format_datetime(e.created_at)}</td>
                                    <td>{match e.status.as_str() { "delivered" => "Sent", "failed" => "Failed (given up)", _ => "Pending" }}</td>
                                    <td class="num">{e.attempts}</td>
                                    <td>{e.next_attempt_at.map(format_datetime).unwrap_or_default()}</td>
                                    <td>{e.last_error.clone().unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}
