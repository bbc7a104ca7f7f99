//! GET /live: the server-sent event stream behind the live pages (the License Repository,
//! Connectors, Usage and billing). It belongs to the signed-in person's current tenant and
//! says only that something changed there; the page then asks for itself again, through the
//! same authorization as any page, so the stream can never carry another tenant's data.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bandpool_domain::auth::{Permission, Principal};
use bandpool_domain::AppError;
use bandpool_services::change::Caller;
use futures::{Stream, StreamExt};

use crate::state::AppState;

/// How often the stream looks at the tenant's event log (a change shows within two seconds).
const LOOK_EVERY: Duration = Duration::from_millis(750);
/// A stream ends after this long and the browser opens a new one, so a session that ended or
/// lost the tenant stops receiving even while its page stays open.
const STREAM_FOR: Duration = Duration::from_secs(300);

pub async fn stream(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
) -> Response {
    let caller = principal
        .ok_or(AppError::Unauthenticated)
        .and_then(|Extension(p)| Caller::authorize(&p, Permission::ViewPool));
    match caller {
        Ok(caller) => Sse::new(changes(state, caller.tenant_id().to_string()))
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(error) => error.into_response(),
    }
}

fn changes(state: AppState, tenant_id: String) -> impl Stream<Item = Result<Event, Infallible>> {
    let started = tokio::time::Instant::now();
    // A dropped stream is opened again by the browser after a second.
    let first = Event::default()
        .retry(Duration::from_secs(1))
        .comment("watching");
    let looks = futures::stream::unfold(
        (state, tenant_id, None::<(i64, i64)>),
        move |(state, tenant_id, mut seen)| async move {
            loop {
                if started.elapsed() > STREAM_FOR {
                    return None;
                }
                // The first look only finds where the log stands; later looks compare.
                match (
                    bandpool_store::events::mark(&state.db, &tenant_id).await,
                    seen,
                ) {
                    (Ok(now), Some(before)) if now != before => {
                        let event = Event::default().data("changed");
                        return Some((Ok(event), (state, tenant_id, Some(now))));
                    }
                    (Ok(now), _) => seen = Some(now),
                    // A database hiccup: look again next time.
                    (Err(error), _) => tracing::debug!(%error, "live stream could not look"),
                }
                tokio::time::sleep(LOOK_EVERY).await;
            }
        },
    );
    futures::stream::once(async move { Ok(first) }).chain(looks.fuse())
}
