//! The skeleton of every request that changes something: open the write transaction, make
//! the change, record its event in the same transaction, commit. Server functions, REST
//! handlers, the command line and the sweeps all go through `Services::change`, so an event
//! can be neither forgotten nor written after its change committed.

use bandpool_domain::auth::{Permission, Principal, TenantAccess};
use bandpool_domain::AppError;
use bandpool_store::events::{Actor, NewEvent};
use bandpool_store::WriteTx;

use crate::Services;

/// What the event log says of a change.
#[derive(Debug, Clone)]
pub struct Event {
    /// What was done (`connector_created`, `invitation_sent`, ...).
    pub action: &'static str,
    /// What it was done to, as people name it.
    pub target: String,
    pub detail: String,
}

impl Event {
    pub fn new(
        action: &'static str,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Event {
        Event {
            action,
            target: target.into(),
            detail: detail.into(),
        }
    }
}

/// Who changed what where: the actor and the tenant the change is scoped to (none for the
/// operator's own changes and sign-in events).
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub actor: &'a Actor,
    pub tenant_id: Option<&'a str>,
}

/// Someone authorized to act in one tenant: what every tenant use case starts from. Made
/// only by `Caller::authorize`, so holding one means the permission was checked.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub tenant: TenantAccess,
    pub actor: Actor,
}

impl Caller {
    /// The tenant `principal` may act in for `permission`, or why not (401/403).
    pub fn authorize(principal: &Principal, permission: Permission) -> Result<Caller, AppError> {
        let tenant = principal.require(permission)?.clone();
        Ok(Caller {
            actor: Actor::from(principal),
            principal: principal.clone(),
            tenant,
        })
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant.tenant_id
    }

    /// This caller's changes, in its tenant.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            actor: &self.actor,
            tenant_id: Some(&self.tenant.tenant_id),
        }
    }
}

impl Services {
    /// Run `body` in a write transaction, record the event it names in that transaction,
    /// commit. An error anywhere rolls everything back. `body` answers `None` for the
    /// event when nothing changed (a repeated request), and then nothing is recorded.
    pub async fn change<T>(
        &self,
        scope: Scope<'_>,
        body: impl AsyncFnOnce(&mut WriteTx) -> Result<(T, Option<Event>), AppError>,
    ) -> Result<T, AppError> {
        let mut tx = self.db.begin_write().await?;
        let (value, event) = body(&mut tx).await?;
        if let Some(event) = event {
            self.record(&mut tx, &scope, &event).await?;
        }
        tx.commit().await?;
        Ok(value)
    }

    /// A change a person makes to their own account (signing in or out, a password reset):
    /// like `change`, and its event is recorded in every tenant the person belongs to (in
    /// none when they belong to none, or are not known), in the change's transaction.
    pub async fn change_for_person<T>(
        &self,
        user_id: Option<&str>,
        actor: &Actor,
        body: impl AsyncFnOnce(&mut WriteTx) -> Result<(T, Event), AppError>,
    ) -> Result<T, AppError> {
        let mut tx = self.db.begin_write().await?;
        let (value, event) = body(&mut tx).await?;
        self.record_for_person(&mut tx, user_id, actor, &event)
            .await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Record a person's event in every tenant they belong to (in none when they belong to
    /// none or are not known), inside the transaction that makes the change.
    pub async fn record_for_person(
        &self,
        tx: &mut WriteTx,
        user_id: Option<&str>,
        actor: &Actor,
        event: &Event,
    ) -> Result<(), AppError> {
        let tenants = match user_id {
            Some(id) => bandpool_store::accounts::tenants_of(&mut *tx, id).await?,
            None => vec![],
        };
        let mut tenant_ids: Vec<Option<&str>> =
            tenants.iter().map(|t| Some(t.tenant_id.as_str())).collect();
        if tenant_ids.is_empty() {
            tenant_ids.push(None);
        }
        for tenant_id in tenant_ids {
            self.record(tx, &Scope { actor, tenant_id }, event).await?;
        }
        Ok(())
    }

    /// Record an event inside a transaction that makes the change it tells of: the one
    /// way to write the event log (for the transactions the data layer opens itself, such
    /// as a kill's, the data layer records its own event the same way).
    pub async fn record(
        &self,
        tx: &mut WriteTx,
        scope: &Scope<'_>,
        event: &Event,
    ) -> Result<(), AppError> {
        bandpool_store::events::record(
            tx,
            NewEvent {
                tenant_id: scope.tenant_id,
                at_ms: self.clock.now().timestamp_millis(),
                actor: scope.actor,
                action: event.action,
                target: &event.target,
                detail: &event.detail,
            },
        )
        .await
    }
}
