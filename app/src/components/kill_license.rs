//! Kill License: the dialog that opens for the selected license. The person types KILL
//! to confirm; only licenses issued through the portal can be killed (others say why not).

use super::error_note::ErrorNote;
use crate::functions::licenses::KillLicense;
use bandpool_domain::format::format_mbps;
use bandpool_domain::license::{License, LicenseStatus};
use leptos::prelude::*;

#[component]
pub fn KillLicenseDialog(
    license: License,
    on_close: Callback<()>,
    on_killed: Callback<()>,
) -> impl IntoView {
    let kill = ServerAction::<KillLicense>::new();
    let typed = RwSignal::new(String::new());
    // Tell the page once the kill went through, so the table and the pool refresh.
    Effect::new(move |_| {
        if let Some(Ok(_)) = kill.value().get() {
            on_killed.run(());
        }
    });
    let device = license
        .device_name
        .clone()
        .unwrap_or_else(|| format!("serial {}", license.serial_no));
    let why_not = if license.status == LicenseStatus::Killed {
        Some("This license is already killed; its capacity is back in the pool.".to_string())
    } else if !license.issued_through_portal {
        Some("This license was not issued through this portal, so it can only be killed where the LoadMaster was licensed.".to_string())
    } else if license.status == LicenseStatus::Expired {
        Some("This license has expired; its capacity is already back in the pool.".to_string())
    } else {
        None
    };
    let license_id = license.id.clone();
    let body = match why_not {
        Some(reason) => view! {
            <p class="note" data-not-killable="">{reason}</p>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
        }
        .into_any(),
        None => view! {
            <p>
                "Kill the " <strong>{license.license_name.clone()}</strong> " license of "
                <strong>{device.clone()}</strong> {format!(" (serial {})?", license.serial_no)}
            </p>
            <p class="muted">
                {format!(
                    "The LoadMaster is disabled through its connector and removed from the device inventory, and {} return to the pool at once.",
                    format_mbps(license.bandwidth_mbps)
                )}
            </p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                kill.dispatch(KillLicense { license_id: license_id.clone(), confirm: typed.get_untracked() });
            }>
                <label class="confirm">
                    "Type KILL to confirm"
                    <input
                        type="text"
                        name="confirm"
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby="kill-title"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))
                    />
                </label>
                <div class="dialog-actions">
                    <button type="submit" class="danger" disabled=move || kill.pending().get()>"Kill License"</button>
                    <button type="button" on:click=move |_| on_close.run(())>
                        {move || if matches!(kill.value().get(), Some(Ok(_))) { "Close" } else { "Cancel" }}
                    </button>
                </div>
            </form>
            {move || match kill.value().get() {
                Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
                Some(Ok(outcome)) => {
                    let relay = outcome
                        .relayed_to
                        .map(|c| format!(" The kill was sent through connector {c}."))
                        .unwrap_or_default();
                    view! {
                        <p class="note success" role="status" data-killed="">
                            {format!("The license is killed and its capacity is back in the pool.{relay}")}
                        </p>
                    }
                    .into_any()
                }
                None => ().into_any(),
            }}
        }
        .into_any(),
    };
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="kill-title">
                <h2 id="kill-title">"Kill License"</h2>
                {body}
            </div>
        </div>
    }
}
