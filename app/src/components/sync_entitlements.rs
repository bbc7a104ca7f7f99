//! Sync entitlements (004, top right of Usage and billing): pulls the latest entitlement
//! from the licensing server. A plain form; the page it returns to shows the run's outcome,
//! followed while it runs (by the live-updates island, or a refresh without JavaScript).

use bandpool_domain::billing::EntitlementSync;
use leptos::prelude::*;

/// The button: a plain form. The server starts the run (or joins the running one) and sends
/// the page to its outcome (`?sync=<run>`), which it follows while the run lasts.
#[component]
pub fn SyncEntitlementsForm() -> impl IntoView {
    view! {
        <form class="sync" method="post" action="/_server/sync_entitlements">
            <button type="submit" class="sync-button">"Sync entitlements"</button>
        </form>
    }
}

/// A run's state in words: running, what changed, or why it failed.
#[component]
pub fn SyncOutcome(run: EntitlementSync) -> impl IntoView {
    match run.status.as_str() {
        "running" => view! {
            <div id="entitlement-sync" data-live="" data-poll="">
                <noscript><meta http-equiv="refresh" content="1"/></noscript>
                <p class="sync-progress" role="status" data-entitlement-sync="running">
                    "Syncing entitlements: waiting for the licensing server…"
                </p>
            </div>
        }
        .into_any(),
        "failed" => view! {
            <p id="entitlement-sync" data-live="" class="note warning sync-progress" role="alert" data-entitlement-sync="failed" data-code=run.error_code.clone().unwrap_or_default()>
                {format!(
                    "Sync entitlements failed: {} Nothing was changed.",
                    run.error_message.clone().unwrap_or_default()
                )}
            </p>
        }
        .into_any(),
        _ => {
            let summary = if run.changes.is_empty() {
                "Entitlements synced: nothing changed.".to_string()
            } else {
                match run.changes.len() {
                    1 => "Entitlements synced: 1 change.".to_string(),
                    n => format!("Entitlements synced: {n} changes."),
                }
            };
            view! {
                <div id="entitlement-sync" data-live="" class="sync-progress" role="status" data-entitlement-sync="done">
                    <p>{summary}</p>
                    {(!run.changes.is_empty()).then(|| view! {
                        <ul class="drift">
                            {run.changes.iter().map(|c| view! {
                                <li data-change=c.field.clone()>
                                    <strong>{c.field.clone()}</strong>
                                    {format!(": {} → {}", if c.from.is_empty() { "(none)" } else { &c.from }, if c.to.is_empty() { "(none)" } else { &c.to })}
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                </div>
            }
            .into_any()
        }
    }
}
