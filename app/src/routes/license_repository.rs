//! The License Repository: Last refreshed and Sync licenses, the cylinder chart, the Maximum
//! allocation chart with its daily drill-down, a license's history and the License overview.
//! All of it renders on the server; the overview's controls and the live regions are islands.

use crate::components::allocation_chart::AllocationChart;
use crate::components::card::PageHead;
use crate::components::cylinder_chart::CylinderChart;
use crate::components::error_note::ErrorNote;
use crate::components::history_panel::HistoryPanel;
use crate::components::islands::LiveUpdates;
use crate::components::last_refreshed::LastRefreshed;
use crate::components::license_overview::{ColumnChoice, KillAsk, LicenseOverview};
use crate::components::loaded::{loading_card, ready_or_error};
use crate::components::reporting_grace::ReportingGraceNote;
use crate::components::sync_licenses::{SyncLicensesForm, SyncProgress};
use crate::functions::allocation::get_allocation_view;
use crate::functions::licenses::{get_license_history, get_sync_run, list_licenses};
use crate::functions::pool::get_pool_view;
use crate::functions::session::get_viewer;
use crate::url::PageState;
use bandpool_domain::auth::Permission;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LicenseRepository() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let state = PageState::from_lookup(|k| query.get(k));
    let kill = KillAsk::from_lookup(|k| query.get(k));
    let sync_id = query.get("sync").filter(|s| !s.is_empty());
    let columns = ColumnChoice::from_request();

    // Read by two boundaries (Last refreshed, the cylinder chart): one query per render.
    let pool = Resource::new(|| (), |_| get_pool_view());
    let viewer = Resource::new(|| (), |_| get_viewer());
    let month = state.month.clone();
    let allocation = Resource::new(move || month.clone(), get_allocation_view);
    let history_id = state.history.clone();
    let history = Resource::new(
        move || history_id.clone(),
        |id| async move {
            match id {
                Some(id) => get_license_history(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let raw = state.raw.clone();
    let licenses = Resource::new(move || raw.clone(), list_licenses);
    let sync = Resource::new(
        move || sync_id.clone(),
        |id| async move {
            match id {
                // With the connectors that are Up, to say which of them could not be asked.
                Some(id) => match get_sync_run(Some(id)).await? {
                    Some(run) => {
                        let up = crate::functions::connectors::list_connectors()
                            .await?
                            .into_iter()
                            .filter(|c| c.status == bandpool_domain::connector::ConnectorStatus::Up)
                            .map(|c| c.name)
                            .collect::<Vec<_>>();
                        Ok(Some((run, up)))
                    }
                    None => Ok(None),
                },
                None => Ok(None),
            }
        },
    );

    let chart_state = state.clone();
    view! {
        <PageHead title="License Repository">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ChangeLicenses));
                    view! {
                        <div id="live-refreshed" data-live="">
                            {pool.await.ok().map(|view| view! { <LastRefreshed at=view.summary.last_refreshed_at/> })}
                        </div>
                        {may.then(|| view! { <SyncLicensesForm/> })}
                    }
                })}
            </Suspense>
        </PageHead>
        <ReportingGraceNote/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match sync.await {
                    Ok(Some((run, up))) => view! { <SyncProgress run up/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <div class="charts">
            <div id="live-cylinder" data-live="">
                <Suspense fallback=|| loading_card("Loading allocation…")>
                    {ready_or_error(pool, |view| view! { <CylinderChart view/> }.into_any())}
                </Suspense>
            </div>
            <Suspense fallback=|| loading_card("Loading allocation history…")>
                {move || {
                    let st = chart_state.clone();
                    Suspend::new(async move {
                        match allocation.await {
                            Ok(view) => view! { <AllocationChart view state=st/> }.into_any(),
                            Err(error) => view! {
                                <section class="card">
                                    <ErrorNote error/>
                                    <a href=st.with_month(None).href()>"Back to all months"</a>
                                </section>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
        <Suspense fallback=|| loading_card("Loading licenses…")>
            {move || {
                let state = state.clone();
                let kill = kill.clone();
                Suspend::new(async move {
                    let can_change = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ChangeLicenses));
                    let page = licenses.await;
                    let history = match history.await {
                        Ok(Some(history)) => view! { <HistoryPanel history state=state.clone()/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! {
                            <aside class="card history-panel">
                                <ErrorNote error/>
                                <a href=state.with_history(None).href() data-history-link="">"Close"</a>
                            </aside>
                        }
                        .into_any(),
                    };
                    view! { <LicenseOverview state page can_change kill columns history/> }
                })
            }}
        </Suspense>
        <LiveUpdates/>
    }
    .into_any()
}
