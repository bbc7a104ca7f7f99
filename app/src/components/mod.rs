//! The pieces pages are made of.

pub mod action_result;
pub mod allocation_chart;
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

/// CSS placing an overlay element over a chart rectangle, in percent of the chart's size.
pub fn overlay_style(rect: &bandpool_domain::chart::Rect, width: f64, height: f64) -> String {
    format!(
        "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
        rect.x / width * 100.0,
        rect.y / height * 100.0,
        rect.w / width * 100.0,
        rect.h / height * 100.0
    )
}

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
