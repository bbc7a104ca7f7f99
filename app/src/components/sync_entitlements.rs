//! Sync entitlements (004, top right of Usage and billing): pulls the latest entitlement
//! from the licensing server. A plain form (it works without JavaScript: the page then
//! shows the run's outcome); with JavaScript a running sync is followed until it finishes.

use super::error_note::ErrorNote;
use crate::functions::usage::{get_entitlement_sync, SyncEntitlements};
use bandpool_domain::billing::EntitlementSync;
use futures::FutureExt;
use leptos::prelude::*;

#[component]
pub fn SyncEntitlementsControl(on_finished: Callback<()>) -> impl IntoView {
    let sync = ServerAction::<SyncEntitlements>::new();
    let run = RwSignal::new(None::<EntitlementSync>);
    Effect::new(move |_| {
        if let Some(Ok(started)) = sync.value().get() {
            let done = started.finished();
            let id = started.id.clone();
            run.set(Some(started));
            if done {
                on_finished.run(());
            } else {
                follow(id, run, on_finished);
            }
        }
    });
    let busy = move || sync.pending().get() || run.get().is_some_and(|r| !r.finished());
    view! {
        <div class="sync">
            <ActionForm action=sync>
                <button type="submit" class="sync-button" disabled=busy>
                    {move || if busy() { "Syncing…" } else { "Sync entitlements" }}
                </button>
            </ActionForm>
            {move || match sync.value().get() {
                Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
                _ => ().into_any(),
            }}
            {move || run.get().map(|run| view! { <SyncOutcome run/> })}
        </div>
    }
}

fn follow(id: String, run: RwSignal<Option<EntitlementSync>>, on_finished: Callback<()>) {
    leptos::task::spawn_local(async move {
        let read = || get_entitlement_sync(id.clone()).map(|sync| sync.map(Some));
        // A failed read leaves the last state shown.
        let _ = super::follow_run(700, run, EntitlementSync::finished, on_finished, read).await;
    });
}

/// A run's state in words: running, what changed, or why it failed.
#[component]
pub fn SyncOutcome(run: EntitlementSync) -> impl IntoView {
    match run.status.as_str() {
        "running" => view! {
            <p class="sync-progress" role="status" data-entitlement-sync="running">
                "Syncing entitlements: waiting for the licensing server…"
            </p>
        }
        .into_any(),
        "failed" => view! {
            <p class="note warning sync-progress" role="alert" data-entitlement-sync="failed" data-code=run.error_code.clone().unwrap_or_default()>
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
                format!("Entitlements synced: {} change(s).", run.changes.len())
            };
            view! {
                <div class="sync-progress" role="status" data-entitlement-sync="done">
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
