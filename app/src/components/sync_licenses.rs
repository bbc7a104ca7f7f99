//! Sync licenses (002, top right of the License Repository): asks every connected connector
//! for the current state of its LoadMasters. Progress shows while the run waits for answers;
//! connectors that do not answer in time are named; what differed is listed; Last refreshed
//! moves when it finishes.

use bandpool_domain::connector::SyncRun;
use leptos::prelude::*;

/// The button: a plain form. The server starts the run (or joins the running one) and sends
/// the page to its progress (`?sync=<run>`).
#[component]
pub fn SyncLicensesForm() -> impl IntoView {
    view! {
        <form class="sync" method="post" action="/_server/sync_licenses">
            <button type="submit" class="sync-button">"Sync licenses"</button>
        </form>
    }
}

/// A run's progress, as a live region: while it runs the page asks for it every second (the
/// `LiveUpdates` island, or a refresh of the page without JavaScript).
/// `up`: the names of the tenant's connectors that are Up, so a finished run can say which
/// of them it could not ask (no agent has registered for them).
#[component]
pub fn SyncProgress(run: SyncRun, up: Vec<String>) -> impl IntoView {
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
            <div id="sync-progress" data-live="" data-poll="">
                <noscript><meta http-equiv="refresh" content="1"/></noscript>
                <p class="sync-progress" role="status" data-sync="running">
                    {format!(
                        "Syncing: {answered} of {} connector(s) answered; waiting for {waiting}…",
                        run.connectors.len()
                    )}
                </p>
            </div>
        }
        .into_any();
    }
    let silent = run.silent().join(", ");
    let summary = if run.connectors.is_empty() {
        "Synced: no connector is connected, so there was nothing to ask.".to_string()
    } else {
        format!(
            "Synced {}: {}.",
            count(run.connectors.len(), "connector", "connectors"),
            count(run.drift.len(), "difference found", "differences found")
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
    let not_asked: Vec<String> = up
        .into_iter()
        .filter(|name| !run.connectors.iter().any(|c| &c.name == name))
        .collect();
    let not_asked = (!not_asked.is_empty()).then(|| {
        view! {
            <p class="muted" data-not-asked="">
                {format!(
                    "Not asked: {} ({}), shown as Up but with no agent registered, so nothing can reach {}.",
                    not_asked.join(", "),
                    count(not_asked.len(), "connector", "connectors"),
                    if not_asked.len() == 1 { "it" } else { "them" }
                )}
            </p>
        }
    });
    view! {
        <div id="sync-progress" data-live="" class="sync-progress" role="status" data-sync="finished">
            <p>{summary}</p>
            {not_asked}
            {(!silent.is_empty()).then(|| view! {
                <p class="note warning" data-silent="">{format!("No answer in time from: {silent}.")}</p>
            })}
            {(!run.drift.is_empty()).then(|| view! { <ul class="drift">{drift}</ul> })}
        </div>
    }
    .into_any()
}

/// "1 connector", "4 connectors".
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
