//! Virtual Services and the applications they are mapped to (at most 15 each; the pool
//! row is locked first so an application never takes a 16th).

use super::*;
use crate::args;

const APPLICATION_SQL: &str = "SELECT a.id, a.name, \
     (SELECT COUNT(*) FROM virtual_services v WHERE v.application_id = a.id) AS n \
     FROM applications a";

/// An application with how many Virtual Services it has (`APPLICATION_SQL`'s row).
#[derive(sqlx::FromRow)]
struct ApplicationRow {
    id: String,
    name: String,
    n: i64,
}

impl ApplicationRow {
    fn usage(self, quota: i64) -> ApplicationUsage {
        ApplicationUsage::new(self.id, self.name, self.n, quota)
    }
}

async fn vs_limit(db: &Db, tenant_id: &str) -> Result<i64> {
    Ok(db
        .fetch_optional(
            "SELECT virtual_service_limit FROM entitlements WHERE tenant_id = $1",
            tenant(tenant_id),
        )
        .await?
        .map(|r| r.try_get::<i64, _>("virtual_service_limit"))
        .transpose()?
        .unwrap_or(VIRTUAL_SERVICE_LIMIT))
}

/// One page of Mapped application usage, by name. `per_page` is 10, 20 or 50.
pub async fn applications(
    db: &Db,
    tenant_id: &str,
    page: u32,
    per_page: u32,
) -> Result<ApplicationPage> {
    if !PER_PAGE_CHOICES.contains(&per_page) {
        return Err(AppError::invalid("per_page", "must be 10, 20 or 50"));
    }
    if page == 0 || page > 1_000_000 {
        return Err(AppError::invalid("page", "must be from 1 to 1000000"));
    }
    let total: i64 = crate::db::value(
        db,
        "SELECT COUNT(*) FROM applications WHERE tenant_id = $1",
        tenant(tenant_id),
    )
    .await?;
    let offset = u64::from(page - 1) * u64::from(per_page);
    let applications = usage_by_name(db, tenant_id, Some((per_page, offset))).await?;
    Ok(ApplicationPage {
        applications,
        total: total as u64,
        page,
        per_page,
    })
}

/// Every application (the CSV's Assets section).
pub async fn all_applications(db: &Db, tenant_id: &str) -> Result<Vec<ApplicationUsage>> {
    usage_by_name(db, tenant_id, None).await
}

/// The tenant's applications by name with their usage: one page (how many per page, and how
/// many come before it), or all of them.
async fn usage_by_name(
    db: &Db,
    tenant_id: &str,
    page: Option<(u32, u64)>,
) -> Result<Vec<ApplicationUsage>> {
    let quota = vs_limit(db, tenant_id).await?;
    let limit = page
        .map(|(per_page, offset)| format!(" LIMIT {per_page} OFFSET {offset}"))
        .unwrap_or_default();
    let sql = format!("{APPLICATION_SQL} WHERE a.tenant_id = $1 ORDER BY a.name, a.id{limit}");
    Ok(db
        .fetch_all_as::<ApplicationRow>(&sql, tenant(tenant_id))
        .await?
        .into_iter()
        .map(|row| row.usage(quota))
        .collect())
}

/// The tenant's Virtual Services (at most `limit`), unmapped ones first, then by LoadMaster.
pub async fn virtual_services(db: &Db, tenant_id: &str, limit: u32) -> Result<Vec<VirtualService>> {
    db.fetch_all_as(
        &format!(
            "SELECT v.id, v.name, v.address, d.name AS device_name, a.name AS application \
             FROM virtual_services v JOIN devices d ON d.id = v.device_id \
             LEFT JOIN applications a ON a.id = v.application_id \
             WHERE v.tenant_id = $1 \
             ORDER BY CASE WHEN v.application_id IS NULL THEN 0 ELSE 1 END, d.name, v.address LIMIT {limit}"
        ),
        tenant(tenant_id),
    )
    .await
}

fn check_name(name: &str) -> Result<String> {
    Ok(bandpool_domain::names::Name::parse("name", name)?.into_string())
}

async fn name_taken(tx: &mut WriteTx, tenant_id: &str, name: &str) -> Result<bool> {
    Ok(tx
        .fetch_optional(
            "SELECT id FROM applications WHERE tenant_id = $1 AND name = $2",
            args![tenant_id.to_string(), name.to_string()],
        )
        .await?
        .is_some())
}

/// Manual mapping: a new application with these Virtual Services (each unmapped, at most
/// the Virtual Service limit). Returns its id.
pub async fn create_application(
    tx: &mut WriteTx,
    tenant_id: &str,
    name: &str,
    virtual_service_ids: &[String],
    now: i64,
) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let name = check_name(name)?;
    if name_taken(tx, tenant_id, &name).await? {
        return Err(AppError::invalid(
            "name",
            "another application has this name",
        ));
    }
    let id = tx
        .insert_with_new_id(
            "INSERT INTO applications (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
            args![tenant_id, name, now],
        )
        .await?;
    for vs in virtual_service_ids {
        map_in(tx, tenant_id, &id, vs).await?;
    }
    Ok(id)
}

/// Add one Virtual Service to an application (refused when it is full or the service is
/// another application's). Mapping it to its own application again changes nothing.
pub async fn map_virtual_service(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: &str,
    virtual_service_id: &str,
) -> Result<()> {
    tx.lock_pool(tenant_id).await?;
    map_in(tx, tenant_id, application_id, virtual_service_id).await
}

/// The application a Virtual Service is mapped to, if any.
#[derive(sqlx::FromRow)]
struct Mapping {
    application_id: Option<String>,
    name: Option<String>,
}

async fn map_in(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: &str,
    virtual_service_id: &str,
) -> Result<()> {
    let app: ApplicationRow = crate::db::find_as(
        &mut *tx,
        "The application",
        &format!("{APPLICATION_SQL} WHERE a.tenant_id = $1 AND a.id = $2"),
        args![tenant_id.to_string(), application_id.to_string()],
    )
    .await?;
    let vs: Mapping = crate::db::find_as(
        &mut *tx,
        "The Virtual Service",
        "SELECT v.application_id, a.name FROM virtual_services v \
         LEFT JOIN applications a ON a.id = v.application_id WHERE v.tenant_id = $1 AND v.id = $2",
        args![tenant_id.to_string(), virtual_service_id.to_string()],
    )
    .await?;
    match vs.application_id {
        Some(current) if current == application_id => return Ok(()),
        Some(_) => {
            return Err(AppError::VirtualServiceMapped {
                application: vs.name.unwrap_or_default(),
            })
        }
        None => {}
    }
    let limit = {
        let row = tx
            .fetch_one(
                "SELECT virtual_service_limit FROM entitlements WHERE tenant_id = $1",
                tenant(tenant_id),
            )
            .await?;
        row.try_get::<i64, _>("virtual_service_limit")?
    };
    if app.n >= limit {
        return Err(AppError::ApplicationFull { limit });
    }
    tx.execute(
        "UPDATE virtual_services SET application_id = $3 WHERE tenant_id = $1 AND id = $2",
        args![
            tenant_id.to_string(),
            virtual_service_id.to_string(),
            application_id.to_string()
        ],
    )
    .await?;
    Ok(())
}

/// An application by id and name.
#[derive(sqlx::FromRow)]
struct NamedApplication {
    id: String,
    name: String,
}

/// Take a Virtual Service out of its application (of `application_id` only, when given).
/// Returns the application's name.
pub async fn unmap_virtual_service(
    tx: &mut WriteTx,
    tenant_id: &str,
    application_id: Option<&str>,
    virtual_service_id: &str,
) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let row = tx
        .fetch_optional(
            "SELECT a.id, a.name FROM virtual_services v JOIN applications a ON a.id = v.application_id \
             WHERE v.tenant_id = $1 AND v.id = $2",
            args![tenant_id.to_string(), virtual_service_id.to_string()],
        )
        .await?;
    let Some(row) = row else {
        return Err(AppError::not_found("The mapped Virtual Service"));
    };
    let app: NamedApplication = crate::db::row_as(&row)?;
    if application_id.is_some_and(|a| a != app.id) {
        return Err(AppError::not_found(
            "The Virtual Service in this application",
        ));
    }
    tx.execute(
        "UPDATE virtual_services SET application_id = NULL WHERE tenant_id = $1 AND id = $2",
        args![tenant_id.to_string(), virtual_service_id.to_string()],
    )
    .await?;
    Ok(app.name)
}

/// Delete an application; its Virtual Services become unmapped. Returns its name.
pub async fn delete_application(tx: &mut WriteTx, tenant_id: &str, id: &str) -> Result<String> {
    tx.lock_pool(tenant_id).await?;
    let (name,): (String,) = crate::db::find_as(
        &mut *tx,
        "The application",
        "SELECT name FROM applications WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, id],
    )
    .await?;
    tx.execute(
        "UPDATE virtual_services SET application_id = NULL WHERE tenant_id = $1 AND application_id = $2",
        args![tenant_id.to_string(), id.to_string()],
    )
    .await?;
    tx.execute(
        "DELETE FROM applications WHERE tenant_id = $1 AND id = $2",
        args![tenant_id.to_string(), id.to_string()],
    )
    .await?;
    Ok(name)
}

/// An unmapped Virtual Service with its LoadMaster's name.
#[derive(sqlx::FromRow)]
struct Unmapped {
    id: String,
    name: String,
    address: String,
    device_name: String,
}

/// Quick mapping: every unmapped Virtual Service becomes an application of its own, named
/// after it (with its LoadMaster and address when the name is taken). Returns how many.
pub async fn quick_map(tx: &mut WriteTx, tenant_id: &str, now: i64) -> Result<usize> {
    tx.lock_pool(tenant_id).await?;
    let unmapped = tx
        .fetch_all(
            "SELECT v.id, v.name, v.address, d.name AS device_name FROM virtual_services v \
             JOIN devices d ON d.id = v.device_id \
             WHERE v.tenant_id = $1 AND v.application_id IS NULL ORDER BY d.name, v.address",
            tenant(tenant_id),
        )
        .await?;
    let mut made = 0;
    for row in crate::db::rows_as::<Unmapped>(&unmapped)? {
        let vs = row.id;
        let base = row.name;
        let mut name = base.chars().take(100).collect::<String>();
        if name.trim().is_empty() || name_taken(tx, tenant_id, name.trim()).await? {
            name = format!("{base} ({} {})", row.device_name, row.address)
                .chars()
                .take(100)
                .collect();
        }
        if name_taken(tx, tenant_id, name.trim()).await? {
            continue;
        }
        let app = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO applications (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
            args![
                app.clone(),
                tenant_id.to_string(),
                name.trim().to_string(),
                now
            ],
        )
        .await?;
        map_in(tx, tenant_id, &app, &vs).await?;
        made += 1;
    }
    Ok(made)
}

/// A Virtual Service as stored for its LoadMaster.
#[derive(sqlx::FromRow)]
struct KnownService {
    id: String,
    address: String,
    name: String,
}

/// A LoadMaster's Virtual Services as its connector reported them: new ones are added
/// (unmapped), gone ones removed (and so leave their application), renamed ones renamed.
pub async fn replace_device_services(
    tx: &mut WriteTx,
    tenant_id: &str,
    device_id: &str,
    services: &[bandpool_domain::connector::ReportedVirtualService],
    now: i64,
) -> Result<()> {
    let existing = tx
        .fetch_all(
            "SELECT id, address, name FROM virtual_services WHERE tenant_id = $1 AND device_id = $2",
            args![tenant_id.to_string(), device_id.to_string()],
        )
        .await?;
    let mut known = std::collections::HashMap::new();
    for row in crate::db::rows_as::<KnownService>(&existing)? {
        known.insert(row.address, (row.id, row.name));
    }
    let mut seen = std::collections::HashSet::new();
    for vs in services {
        if !seen.insert(vs.address.clone()) {
            continue;
        }
        match known.get(&vs.address) {
            Some((id, name)) if name != &vs.name => {
                tx.execute(
                    "UPDATE virtual_services SET name = $2 WHERE id = $1",
                    args![id.clone(), vs.name.clone()],
                )
                .await?;
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO virtual_services (id, tenant_id, device_id, name, address, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    args![uuid::Uuid::new_v4().to_string(), tenant_id.to_string(), device_id.to_string(), vs.name.clone(), vs.address.clone(), now],
                )
                .await?;
            }
        }
    }
    for (address, (id, _)) in known {
        if !seen.contains(&address) {
            tx.execute("DELETE FROM virtual_services WHERE id = $1", args![id])
                .await?;
        }
    }
    Ok(())
}
