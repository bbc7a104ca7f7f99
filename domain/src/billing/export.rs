//! The Usage and billing CSV.

use super::*;
use crate::csv_rules::inert;
use crate::format::format_datetime;

/// The Usage and billing CSV: the tenant's fields in the Usage and billing guide's order, then its add-ons, then its
/// applications with used and remaining Virtual Services. Every text cell is made inert.
pub fn usage_csv_rows(
    overview: &UsageOverview,
    applications: &[ApplicationUsage],
) -> Vec<Vec<String>> {
    let e = &overview.entitlement;
    let text = |s: &str| inert(s).into_owned();
    let time = |t: Option<i64>| t.map(format_datetime).unwrap_or_default();
    let mut rows = vec![
        [
            "Name",
            "Progress ID",
            "Order ID",
            "Plan",
            "Base Assets",
            "Total Assets",
            "Used Assets",
            "Remaining Assets",
            "Virtual Service Limit",
            "Status",
            "Activation Date",
            "Bill Date",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            text(&e.owner_name),
            text(&e.progress_id),
            text(&e.order_id),
            text(&e.plan),
            e.base_assets.to_string(),
            overview.total_assets.to_string(),
            overview.assets.used.to_string(),
            overview.remaining_assets().to_string(),
            e.virtual_service_limit.to_string(),
            e.status.label().to_string(),
            time(e.activated_at),
            time(e.bill_at),
        ],
        vec![],
        vec!["Add Ons".to_string()],
        [
            "Description",
            "Quantity",
            "Status",
            "Activation Date",
            "Bill Date",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in &e.add_ons {
        rows.push(vec![
            text(&a.description),
            a.quantity.to_string(),
            a.status.label().to_string(),
            time(a.activated_at),
            time(a.bill_at),
        ]);
    }
    rows.push(vec![]);
    rows.push(vec!["Assets".to_string()]);
    rows.push(
        [
            "Application",
            "Used Virtual Services",
            "Remaining Virtual Services",
        ]
        .map(String::from)
        .to_vec(),
    );
    for a in applications {
        rows.push(vec![
            text(&a.name),
            a.virtual_services.to_string(),
            a.remaining().to_string(),
        ]);
    }
    rows
}

/// `Usage_and_billing_YYYYMMDD.csv`.
pub fn usage_file_name(today: chrono::NaiveDate) -> String {
    format!("Usage_and_billing_{}.csv", today.format("%Y%m%d"))
}
