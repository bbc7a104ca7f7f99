//! The reporting grace, where metered licensing is shown: how many days are left until
//! metered licensing stops for want of a usage report reaching the vendor, or that it has
//! stopped. Nothing shows without a metered contract or a vendor reporting service.

use crate::functions::metered::get_reporting_status;
use bandpool_domain::format::format_date;
use bandpool_domain::metered_reporting::GRACE_WARNINGS;
use leptos::prelude::*;

#[component]
pub fn ReportingGraceNote() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_reporting_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let status = status.await.ok().flatten()?;
                let left = status.days_left?;
                let text = match status.lapsed_at {
                    Some(at) => format!(
                        "Metered licensing stopped on {}: no usage report reached the vendor within the reporting grace. Metered LoadMasters were removed; upload a usage report on the MELA report page to start it again.",
                        format_date(at)
                    ),
                    None => format!(
                        "Metered licensing: {left} {} left until it stops unless a usage report reaches the vendor (each successful upload starts the {}-day count again).",
                        if left == 1 { "day" } else { "days" },
                        bandpool_domain::metered_reporting::GRACE_DAYS
                    ),
                };
                let urgent = status.lapsed_at.is_some() || left <= GRACE_WARNINGS[0];
                Some(view! {
                    <p class=if urgent { "note warning" } else { "note empty" } data-figure="reporting-days-left" role="status">{text}</p>
                })
            })}
        </Suspense>
    }
}
