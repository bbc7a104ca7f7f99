//! The pieces pages are made of.

use leptos::prelude::{Callable, Callback, RwSignal, Set};

pub mod allocation_chart;
pub mod card;
pub mod chart;
pub mod cylinder_chart;
pub mod error_note;
pub mod flash;
pub mod header;
pub mod history_panel;
pub mod islands;
pub mod last_refreshed;
pub mod license_overview;
pub mod loaded;
pub mod reporting_grace;
pub mod row_action;
pub mod sync_entitlements;
pub mod sync_licenses;
pub mod table;
pub mod usage_bar;

/// Wait in the browser without blocking it (the progress lines poll with it).
pub async fn sleep_ms(ms: u64) {
    use leptos::prelude::set_timeout;
    let (sender, receiver) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = sender.send(());
        },
        std::time::Duration::from_millis(ms),
    );
    let _ = receiver.await;
}

/// Follows a running sync for its progress line: every `every_ms`, `read` its state into
/// `run` until it is finished (then `on_finished` runs), the page was left (`run` is gone) or
/// there is no run to read. A failed read stops it and comes back as the error.
pub async fn follow_run<R, Fut>(
    every_ms: u64,
    run: RwSignal<Option<R>>,
    finished: fn(&R) -> bool,
    on_finished: Callback<()>,
    read: impl Fn() -> Fut,
) -> Result<(), bandpool_domain::AppError>
where
    R: Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<R>, bandpool_domain::AppError>>,
{
    loop {
        sleep_ms(every_ms).await;
        let Some(current) = read().await? else {
            return Ok(());
        };
        let done = finished(&current);
        // The page was left: stop following.
        if run.try_set(Some(current)).is_some() {
            return Ok(());
        }
        if done {
            on_finished.run(());
            return Ok(());
        }
    }
}
