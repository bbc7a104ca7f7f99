//! The per-connector command queue: what the portal asks of a connector (kill a license,
//! report for a sync) waits here until the connector reads it over the channel it opens and
//! acknowledges it. Delivery is at least once: a command stays pending until acknowledged,
//! and acknowledging twice is harmless.

use crate::args;
use crate::db::{Db, WriteTx};
use crate::Result;
use bandpool_domain::connector::{Command, CommandAck, CommandKind};
use bandpool_domain::AppError;

fn kind_key(kind: &CommandKind) -> &'static str {
    match kind {
        CommandKind::Kill { .. } => "kill",
        CommandKind::Sync { .. } => "sync",
    }
}

/// Queue a command for a connector of the tenant; returns its id.
pub async fn enqueue(
    tx: &mut WriteTx,
    tenant_id: &str,
    connector_id: &str,
    kind: &CommandKind,
    now: i64,
) -> Result<String> {
    let payload = serde_json::to_string(kind).map_err(AppError::internal)?;
    tx.insert_with_new_id(
        "INSERT INTO connector_commands (id, tenant_id, connector_id, kind, payload, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![tenant_id, connector_id, kind_key(kind), payload, now],
    )
    .await
}

/// A command as stored: its kind as JSON.
#[derive(sqlx::FromRow)]
struct StoredCommand {
    id: String,
    payload: String,
    issued_at: i64,
}

impl StoredCommand {
    fn command(self) -> Result<Command> {
        Ok(Command {
            kind: serde_json::from_str(&self.payload).map_err(AppError::internal)?,
            id: self.id,
            issued_at: self.issued_at,
        })
    }
}

/// The connector's commands not yet acknowledged, oldest first.
pub async fn pending(db: &Db, tenant_id: &str, connector_id: &str) -> Result<Vec<Command>> {
    db.fetch_all_as::<StoredCommand>(
        "SELECT id, payload, issued_at FROM connector_commands \
         WHERE tenant_id = $1 AND connector_id = $2 AND acked_at IS NULL \
         ORDER BY issued_at, id LIMIT 100",
        args![tenant_id.to_string(), connector_id.to_string()],
    )
    .await?
    .into_iter()
    .map(StoredCommand::command)
    .collect()
}

/// A command as stored, with when it was acknowledged (none yet: pending).
#[derive(sqlx::FromRow)]
struct AckedCommand {
    #[sqlx(flatten)]
    command: StoredCommand,
    acked_at: Option<i64>,
}

/// Acknowledge a command of this connector. Returns the command when this was its first
/// acknowledgement, `None` when it was acknowledged before (nothing changes).
pub async fn ack(
    tx: &mut WriteTx,
    tenant_id: &str,
    connector_id: &str,
    command_id: &str,
    result: &CommandAck,
    now: i64,
) -> Result<Option<Command>> {
    let stored: AckedCommand = crate::db::find_as(
        &mut *tx,
        "The command",
        "SELECT id, payload, issued_at, acked_at FROM connector_commands \
         WHERE tenant_id = $1 AND connector_id = $2 AND id = $3",
        args![
            tenant_id.to_string(),
            connector_id.to_string(),
            command_id.to_string()
        ],
    )
    .await?;
    if stored.acked_at.is_some() {
        return Ok(None);
    }
    let command = stored.command.command()?;
    match (&command.kind, result) {
        (CommandKind::Kill { .. }, CommandAck::Sync { .. }) => {
            return Err(AppError::invalid(
                "result",
                "a kill is acknowledged with done or failed",
            ))
        }
        (CommandKind::Sync { .. }, CommandAck::Done) => {
            return Err(AppError::invalid(
                "result",
                "a sync is acknowledged with its appliances",
            ))
        }
        _ => {}
    }
    tx.execute(
        "UPDATE connector_commands SET acked_at = $2, result = $3 WHERE id = $1",
        args![
            command_id.to_string(),
            now,
            serde_json::to_string(result).map_err(AppError::internal)?
        ],
    )
    .await?;
    Ok(Some(command))
}
