//! The event log: every state change, with who did it, to what, when and in which request.
//! Rows are only ever appended; nothing in the portal edits or deletes them.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The actions the log records. Stable strings: they are filter values and CSV cells.
pub const ACTIONS: &[&str] = &[
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "sign_out_everywhere",
    "password_reset_requested",
    "password_reset",
    "invitation_sent",
    "invitation_revoked",
    "invitation_accepted",
    "role_changed",
    "member_removed",
    "token_created",
    "token_revoked",
    "tenant_created",
    "connector_created",
    "connector_registered",
    "connector_down",
    "connector_up",
    "connector_address_changed",
    "connector_diagnostics_requested",
    "connector_diagnostics",
    "license_activated",
    "license_deactivated",
    "license_killed",
    "licenses_expired",
    "license_term_ended",
    "license_updated",
    "license_transferred",
    "license_owner_changed",
    "subscriptions_expiring",
    "order_recorded",
    "licenses_sync_started",
    "licenses_synced",
    "device_removed",
    "device_blocked",
    "device_unblocked",
    "device_partners_changed",
    "entitlement_changed",
    "entitlements_sync_started",
    "entitlements_synced",
    "entitlements_sync_failed",
    "application_created",
    "application_changed",
    "application_deleted",
    "applications_quick_mapped",
    "channels_changed",
    "limit_reached",
    "limit_cleared",
    "metered_activation_blocked",
    "metered_activation_unblocked",
    "metered_settings_changed",
    "metered_instances_checked",
    "metered_instances_discrepancy",
];

/// One recorded event.
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub detail: String,
}

/// The event log's filters and page, as URL parameters: actor, action, target, from, to, page, per_page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: u32,
    pub per_page: u32,
}

pub const EVENT_PARAMS: &[&str] = &[
    "actor", "action", "target", "from", "to", "page", "per_page",
];

impl EventQuery {
    pub fn parse(params: &HashMap<String, String>) -> Result<EventQuery, AppError> {
        let text = |name: &str| {
            params
                .get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let date = |name: &str| -> Result<Option<NaiveDate>, AppError> {
            text(name)
                .map(|v| {
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map_err(|_| AppError::invalid(name, "must be a date as YYYY-MM-DD"))
                })
                .transpose()
        };
        let number = |name: &str, default: u32, max: u32| -> Result<u32, AppError> {
            match text(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        AppError::invalid(name, format!("must be a whole number from 1 to {max}"))
                    }),
            }
        };
        let action = text("action");
        if let Some(action) = &action {
            if !ACTIONS.contains(&action.as_str()) {
                return Err(AppError::invalid(
                    "action",
                    "is not an action the log records",
                ));
            }
        }
        for name in ["actor", "target"] {
            if text(name).is_some_and(|v| v.chars().count() > 200) {
                return Err(AppError::invalid(name, "must be at most 200 characters"));
            }
        }
        let query = EventQuery {
            actor: text("actor"),
            action,
            target: text("target"),
            from: date("from")?,
            to: date("to")?,
            page: number("page", 1, 1_000_000)?,
            per_page: number("per_page", 50, 500)?,
        };
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                return Err(AppError::invalid("from", "must not be after 'to'"));
            }
        }
        Ok(query)
    }

    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |name, value: Option<String>| {
            if let Some(value) = value {
                out.push((name, value));
            }
        };
        push("actor", self.actor.clone());
        push("action", self.action.clone());
        push("target", self.target.clone());
        push("from", self.from.map(|d| d.to_string()));
        push("to", self.to.map(|d| d.to_string()));
        if self.page > 1 {
            out.push(("page", self.page.to_string()));
        }
        if self.per_page != 50 && self.per_page != 0 {
            out.push(("per_page", self.per_page.to_string()));
        }
        out
    }
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<Event>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_parse_and_round_trip() {
        let query = EventQuery::parse(&params(&[
            ("actor", "demo@bandpool.local"),
            ("action", "sign_in"),
            ("from", "2026-11-01"),
            ("to", "2026-11-23"),
            ("page", "2"),
        ]))
        .unwrap();
        assert_eq!(query.per_page, 50);
        let back: HashMap<String, String> = query
            .to_params()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(EventQuery::parse(&back).unwrap(), query);
    }

    #[test]
    fn bad_filters_name_their_parameter() {
        for (pairs, name) in [
            (vec![("action", "drop_table")], "action"),
            (vec![("from", "23/11/2026")], "from"),
            (vec![("from", "2026-11-02"), ("to", "2026-11-01")], "from"),
            (vec![("page", "0")], "page"),
            (vec![("per_page", "501")], "per_page"),
        ] {
            match EventQuery::parse(&params(&pairs)) {
                Err(AppError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, name),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }
}
