//! Sync licenses (002, top right of the License Repository): asks every connected connector
//! for the current state of its LoadMasters. Progress shows while the run waits for answers;
//! connectors that do not answer in time are named; what differed is listed; Last refreshed
//! moves when it finishes.

use super::error_note::ErrorNote;
use crate::functions::licenses::{get_sync_run, SyncLicenses};
use bandpool_domain::connector::SyncRun;
use leptos::prelude::*;

#[component]
pub fn SyncLicensesControl(on_finished: Callback<()>) -> impl IntoView {
    let sync = ServerAction::<SyncLicenses>::new();
    let run = RwSignal::new(None::<SyncRun>);
    let failed = RwSignal::new(None);
    // A started run is polled once a second until it finishes.
    Effect::new(move |_| match sync.value().get() {
        Some(Ok(started)) => {
            let finished = !started.running();
            let id = started.id.clone();
            run.set(Some(started));
            if finished {
                on_finished.run(());
            } else {
                poll(id, run, failed, on_finished);
            }
        }
        Some(Err(error)) => failed.set(Some(error)),
        None => {}
    });
    let busy = move || sync.pending().get() || run.get().is_some_and(|r| r.running());
    view! {
        <div class="sync">
            <button
                type="button"
                class="sync-button"
                disabled=busy
                on:click=move |_| {
                    failed.set(None);
                    sync.dispatch(SyncLicenses {});
                }
            >
                {move || if busy() { "Syncing…" } else { "Sync licenses" }}
            </button>
            {move || failed.get().map(|error| view! { <ErrorNote error/> })}
            {move || run.get().map(|run| view! { <SyncProgress run/> })}
        </div>
    }
}

fn poll(
    id: String,
    run: RwSignal<Option<SyncRun>>,
    failed: RwSignal<Option<bandpool_domain::AppError>>,
    on_finished: Callback<()>,
) {
    leptos::task::spawn_local(async move {
        let read = || get_sync_run(Some(id.clone()));
        let finished = |run: &SyncRun| !run.running();
        if let Err(error) = super::follow_run(1000, run, finished, on_finished, read).await {
            let _ = failed.try_set(Some(error));
        }
    });
}

#[component]
fn SyncProgress(run: SyncRun) -> impl IntoView {
    if run.running() {
        let waiting = run
            .connectors
            .iter()
            .filter(|c| c.answered_at.is_none())
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let answered = run.connectors.len() - run.silent().len();
        return view! {
            <p class="sync-progress" role="status" data-sync="running">
                {format!(
                    "Syncing: {answered} of {} connector(s) answered; waiting for {waiting}…",
                    run.connectors.len()
                )}
            </p>
        }
        .into_any();
    }
    let silent = run.silent().join(", ");
    let summary = if run.connectors.is_empty() {
        "Synced: no connector is connected, so there was nothing to ask.".to_string()
    } else {
        format!(
            "Synced {} connector(s): {} difference(s) found.",
            run.connectors.len(),
            run.drift.len()
        )
    };
    let drift = run
        .drift
        .iter()
        .map(|d| {
            view! {
                <li data-drift=d.kind.key()>
                    <strong>{d.kind.label()}</strong>
                    {format!(
                        ": serial {} via {}: {}",
                        d.serial_no.clone().unwrap_or_else(|| "?".into()),
                        d.connector.clone().unwrap_or_else(|| "?".into()),
                        d.detail
                    )}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="sync-progress" role="status" data-sync="finished">
            <p>{summary}</p>
            {(!silent.is_empty()).then(|| view! {
                <p class="note warning" data-silent="">{format!("No answer in time from: {silent}.")}</p>
            })}
            {(!run.drift.is_empty()).then(|| view! { <ul class="drift">{drift}</ul> })}
        </div>
    }
    .into_any()
}
