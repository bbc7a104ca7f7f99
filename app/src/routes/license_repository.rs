//! The License Repository: Last refreshed, the cylinder chart, the Maximum allocation
//! chart with its daily drill-down, a license's history and the License overview.

use crate::components::allocation_chart::AllocationChart;
use crate::components::card::PageHead;
use crate::components::cylinder_chart::CylinderChart;
use crate::components::error_note::ErrorNote;
use crate::components::history_panel::HistoryPanel;
use crate::components::last_refreshed::LastRefreshed;
use crate::components::license_overview::LicenseOverview;
use crate::components::loaded::{loading_card, ready_or_error};
use crate::components::sync_licenses::SyncLicensesControl;
use crate::functions::allocation::get_allocation_view;
use crate::functions::licenses::get_license_history;
use crate::functions::pool::get_pool_view;
use crate::functions::session::get_viewer;
use crate::url::PageState;
use bandpool_domain::auth::Permission;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LicenseRepository() -> impl IntoView {
    let query = use_query_map();
    let state = Memo::new(move |_| query.with(|q| PageState::from_lookup(|k| q.get(k))));
    let month = Memo::new(move |_| state.get().month);
    let history_id = Memo::new(move |_| state.get().history);

    // Bumped by a kill or a finished sync: the pool (chart, Last refreshed) and the table refetch.
    let changed = RwSignal::new(0u32);
    // Read by two boundaries (Last refreshed, the cylinder chart): one query per render.
    let pool = Resource::new(move || changed.get(), |_| get_pool_view());
    // Kill License and Sync licenses need JavaScript (a typed confirmation, a progress
    // line), so they appear after hydration, for roles that may change licenses.
    let can_change = RwSignal::new(false);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(Some(viewer)) = get_viewer().await {
                can_change.set(viewer.may(Permission::ChangeLicenses));
            }
        });
    });
    let on_synced = Callback::new(move |_| changed.update(|n| *n += 1));
    let allocation = Resource::new(move || month.get(), get_allocation_view);
    let history = Resource::new(
        move || history_id.get(),
        |id| async move {
            match id {
                Some(id) => get_license_history(id).await.map(Some),
                None => Ok(None),
            }
        },
    );

    view! {
        <PageHead title="License Repository">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    pool.await.ok().map(|view| view! { <LastRefreshed at=view.summary.last_refreshed_at/> })
                })}
            </Suspense>
            {move || can_change.get().then(|| view! { <SyncLicensesControl on_finished=on_synced/> })}
        </PageHead>
        <div class="charts">
            <Suspense fallback=|| loading_card("Loading allocation…")>
                {ready_or_error(pool, |view| view! { <CylinderChart view/> }.into_any())}
            </Suspense>
            <Transition fallback=|| loading_card("Loading allocation history…")>
                {move || {
                    let st = state.get();
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
            </Transition>
        </div>
        <Transition fallback=|| ()>
            {move || {
                let st = state.get();
                Suspend::new(async move {
                    match history.await {
                        Ok(Some(history)) => view! { <HistoryPanel history state=st/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! {
                            <aside class="card history-panel">
                                <ErrorNote error/>
                                <a href=st.with_history(None).href()>"Close"</a>
                            </aside>
                        }
                        .into_any(),
                    }
                })
            }}
        </Transition>
        <LicenseOverview state can_change=can_change.into() changed/>
    }
    .into_any()
}
