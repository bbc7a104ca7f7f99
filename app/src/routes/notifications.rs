//! Notifications: the tenant's communication channels (email recipients; a webhook whose
//! messages are signed with HMAC-SHA256 and retried with backoff), the latest webhook
//! deliveries and the latest emails, failures included.

use crate::components::card::{Card, PageHead};
use crate::components::loaded::loaded;
use crate::components::table::table_or;
use crate::functions::usage::{get_channels, SetChannels};
use bandpool_domain::billing::EmailDelivery;
use bandpool_domain::format::format_datetime;
use leptos::prelude::*;

#[component]
pub fn Notifications() -> impl IntoView {
    let save = ServerAction::<SetChannels>::new();
    let channels = Resource::new(move || save.version().get(), |_| get_channels());
    view! {
        <PageHead title="Notifications"/>
        {loaded(channels, "Loading channels…", move |(channels, deliveries, emails)| view! {
                <Card heading="Communication channel">
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
                </Card>
                <Card heading="Webhook deliveries">
                    {table_or(
                        view! { <p class="empty">"No webhook message has been sent."</p> },
                        "data deliveries",
                        view! { <th>"Event"</th><th>"Created"</th><th>"Status"</th><th class="num">"Attempts"</th><th>"Next attempt"</th><th>"Last error"</th> },
                        deliveries.into_iter().map(|d| view! {
                            <tr data-delivery=d.status.clone()>
                                <td>{d.event.clone()}</td>
                                {attempt_cells(d.created_at, &d.status, "Delivered", d.attempts, d.next_attempt_at, d.last_error)}
                            </tr>
                        }).collect(),
                    )}
                </Card>
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
        <Card heading="Emails">
            {table_or(
                view! { <p class="empty">"No email has been sent."</p> },
                "data deliveries emails",
                view! { <th>"To"</th><th>"Subject"</th><th>"Created"</th><th>"Status"</th><th class="num">"Attempts"</th><th>"Next attempt"</th><th>"Last error"</th> },
                emails.into_iter().map(|e| view! {
                    <tr data-email=e.status.clone()>
                        <td>{e.to.clone()}</td>
                        <td>{e.subject.clone()}</td>
                        {attempt_cells(e.created_at, &e.status, "Sent", e.attempts, e.next_attempt_at, e.last_error)}
                    </tr>
                }).collect(),
            )}
        </Card>
    }
}

/// The cells webhook messages and emails share: when it was made, how its sending stands
/// (`delivered` names a delivered one), how often it was tried, the next try and the last
/// error. Both outboxes retry the same way, so they show their attempts the same way.
fn attempt_cells(
    created_at: i64,
    status: &str,
    delivered: &'static str,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
) -> impl IntoView {
    let status = match status {
        "delivered" => delivered,
        "failed" => "Failed (given up)",
        _ => "Pending",
    };
    view! {
        <td>{format_datetime(created_at)}</td>
        <td>{status}</td>
        <td class="num">{attempts}</td>
        <td>{next_attempt_at.map(format_datetime).unwrap_or_default()}</td>
        <td>{last_error.unwrap_or_default()}</td>
    }
}
