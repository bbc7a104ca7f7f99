//! The pieces pages are made of.

pub mod action_result;
pub mod allocation_chart;
pub mod chart;
pub mod cylinder_chart;
pub mod error_note;
pub mod header;
pub mod history_panel;
pub mod kill_license;
pub mod license_overview;
pub mod loaded;
pub mod sync_entitlements;
pub mod sync_licenses;
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
