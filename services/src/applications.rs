//! Applications: Virtual Services grouped for billing (create, map, unmap, delete, quick map).

use bandpool_domain::AppError;

use crate::change::{Caller, Event};
use crate::notifications::check_limits;
use crate::Services;

// ---- applications ----

/// What a change to applications asks.
#[derive(Debug, Clone)]
pub enum ApplicationChange {
    Create {
        name: String,
        virtual_service_ids: Vec<String>,
    },
    Map {
        application_id: String,
        virtual_service_id: String,
    },
    /// `application_id`: only if it is in this application.
    Unmap {
        application_id: Option<String>,
        virtual_service_id: String,
    },
    Delete {
        application_id: String,
    },
    QuickMap,
}

/// Change the tenant's applications; returns a sentence saying what was done.
pub async fn change(
    services: &Services,
    caller: &Caller,
    change: ApplicationChange,
) -> Result<String, AppError> {
    let tenant_id = caller.tenant_id();
    let ts = services.now();
    let said = services
        .change(caller.scope(), async |tx| {
            let (action, target, said) = decide(tx, tenant_id, ts, &change).await?;
            Ok((said.clone(), Some(Event::new(action, target, said))))
        })
        .await?;
    check_limits(services, tenant_id).await;
    Ok(said)
}

/// Make the change in `tx`; says what the event log and the person are told.
async fn decide(
    tx: &mut crate::WriteTx,
    tenant_id: &str,
    ts: i64,
    change: &ApplicationChange,
) -> Result<(&'static str, String, String), AppError> {
    Ok(match change {
        ApplicationChange::Create {
            name,
            virtual_service_ids,
        } => {
            if virtual_service_ids.len() > 1000 {
                return Err(AppError::invalid("virtual_service_ids", "too many"));
            }
            bandpool_store::billing::create_application(
                tx,
                tenant_id,
                name,
                virtual_service_ids,
                ts,
            )
            .await?;
            (
                "application_created",
                name.trim().to_string(),
                format!(
                    "Application {} created with {} Virtual Service(s).",
                    name.trim(),
                    virtual_service_ids.len()
                ),
            )
        }
        ApplicationChange::Map {
            application_id,
            virtual_service_id,
        } => {
            bandpool_store::billing::map_virtual_service(
                tx,
                tenant_id,
                application_id,
                virtual_service_id,
            )
            .await?;
            (
                "application_changed",
                application_id.clone(),
                "The Virtual Service was mapped.".to_string(),
            )
        }
        ApplicationChange::Unmap {
            application_id,
            virtual_service_id,
        } => {
            let app = bandpool_store::billing::unmap_virtual_service(
                tx,
                tenant_id,
                application_id.as_deref(),
                virtual_service_id,
            )
            .await?;
            (
                "application_changed",
                app,
                "The Virtual Service was unmapped.".to_string(),
            )
        }
        ApplicationChange::Delete { application_id } => {
            let name =
                bandpool_store::billing::delete_application(tx, tenant_id, application_id).await?;
            (
                "application_deleted",
                name.clone(),
                format!("Application {name} deleted; its Virtual Services are unmapped."),
            )
        }
        ApplicationChange::QuickMap => {
            let n = bandpool_store::billing::quick_map(tx, tenant_id, ts).await?;
            (
                "applications_quick_mapped",
                "applications".to_string(),
                format!("{n} application(s) created, one per unmapped Virtual Service."),
            )
        }
    })
}
