//! Leases: which portal instance runs a background sweep. A lease is taken for a while and
//! renewed by its holder; another instance gets it only once it has run out (its holder
//! stopped). Each sweep is also harmless to run twice, so a lease is a saving, not a lock
//! the data depends on.

use crate::args;
use crate::db::Db;
use crate::Result;

/// Take or renew the lease `name` for `holder` until `now + seconds`. True when held.
pub async fn try_acquire(
    db: &Db,
    name: &str,
    holder: &str,
    now: i64,
    seconds: i64,
) -> Result<bool> {
    let taken = db
        .execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
            args![name, holder, now + seconds, now],
        )
        .await?;
    Ok(taken == 1)
}
