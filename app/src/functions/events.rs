//! The event log page: filtered, paged, newest first.

use bandpool_domain::events::EventPage;
use bandpool_domain::AppError;
use leptos::prelude::*;

/// Filters as the URL has them (all optional text, checked on the server).
#[server(prefix = "/_server", endpoint = "list_events")]
pub async fn list_events(
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
) -> Result<EventPage, AppError> {
    use bandpool_domain::auth::Permission;
    use bandpool_domain::events::EventQuery;
    crate::serve::tenant(Permission::ViewEvents, async |services, caller| {
        let params = [
            ("actor", actor),
            ("action", action),
            ("target", target),
            ("from", from),
            ("to", to),
            ("page", page),
            ("per_page", per_page),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
        let query = EventQuery::parse(&params)?;
        bandpool_services::reads::events::list(&services.db, caller.tenant_id(), &query).await
    })
    .await
}
