//! The demo tenant: a believable pool with licenses of every type and status, their
//! history, devices (HA pairs and GEO partners among them) and connectors, and the daily
//! allocation peaks replayed from those same licenses, so the charts and the table agree.
//!
//! The pool's capacity is chosen from the generated data so that recent months run above
//! 80% and one month (last month's migration burst) above 100%.

use crate::db::{insert_rows, Db, Value, WriteTx};
use crate::Result;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::pool::LicenseType;
use chrono::{DateTime, Months, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
const GRACE: i64 = 30 * DAY;
const HISTORY_DAYS: i64 = 400;
const SITES: [&str; 5] = ["ams", "nyc", "sfo", "fra", "sin"];

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub licenses: usize,
    pub tenant_name: String,
    pub rng_seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            licenses: 300,
            tenant_name: "Demo Networks".into(),
            rng_seed: 2026,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub tenant_id: String,
    pub licenses: usize,
    pub history_records: usize,
    pub devices: usize,
    pub allocation_days: usize,
    pub max_capacity_mbps: i64,
}

struct Generated {
    type_index: usize,
    activated: i64,
    status: LicenseStatus,
    /// (time, from, to, note) after the activation record.
    changes: Vec<(i64, LicenseStatus, LicenseStatus, &'static str)>,
    recovered: Option<i64>,
    grace_end: Option<i64>,
    /// When it stopped holding capacity, if it did.
    released: Option<i64>,
}

impl Generated {
    /// Its connector went silent at `start`: a 30-day grace period began.
    fn enter_grace(&mut self, start: i64) {
        self.grace_end = Some(start + GRACE);
        self.changes.push((
            start,
            LicenseStatus::Active,
            LicenseStatus::GracePeriod,
            "Connector stopped answering; 30-day grace period started",
        ));
    }
}

fn pick_type(rng: &mut StdRng, heavy: bool) -> usize {
    let weights: [u32; 5] = if heavy {
        [0, 0, 2, 5, 3]
    } else {
        [30, 20, 25, 17, 8]
    };
    let total: u32 = weights.iter().sum();
    let mut r = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    0
}

fn base_license(rng: &mut StdRng, now: i64) -> Generated {
    // Older activations are likelier: the pool grew fast first, then levelled off.
    let age = ((rng.gen::<f64>().sqrt()) * (HISTORY_DAYS - 2) as f64 * DAY as f64) as i64 + DAY;
    let activated = now - age;
    let mut g = Generated {
        type_index: pick_type(rng, false),
        activated,
        status: LicenseStatus::Active,
        changes: vec![],
        recovered: None,
        grace_end: None,
        released: None,
    };
    let r: f64 = rng.gen();
    if r < 0.12 {
        let at = activated + rng.gen_range(2 * DAY..150 * DAY);
        if at < now - DAY {
            g.status = LicenseStatus::Killed;
            g.recovered = Some(at);
            g.released = Some(at);
            g.changes.push((
                at,
                LicenseStatus::Active,
                LicenseStatus::Killed,
                "License killed; capacity returned to the pool",
            ));
        }
    } else if r < 0.16 {
        let start = activated + rng.gen_range(10 * DAY..200 * DAY);
        if start + GRACE < now - DAY {
            g.enter_grace(start);
            g.status = LicenseStatus::Expired;
            g.released = Some(start + GRACE);
            g.changes.push((
                start + GRACE,
                LicenseStatus::GracePeriod,
                LicenseStatus::Expired,
                "Grace period ended; capacity returned to the pool",
            ));
        }
    } else if r < 0.19 {
        let start = now - rng.gen_range(DAY..29 * DAY);
        if start > activated {
            g.enter_grace(start);
            g.status = LicenseStatus::GracePeriod;
        }
    } else if r < 0.29 && now - activated > 20 * DAY {
        let start = activated + rng.gen_range(DAY..(now - activated) / 2);
        let back = start + rng.gen_range(3600..5 * DAY);
        g.enter_grace(start);
        g.changes.push((
            back,
            LicenseStatus::GracePeriod,
            LicenseStatus::Active,
            "Connector back online; license active again",
        ));
    }
    g
}

fn killed_between(
    rng: &mut StdRng,
    from: i64,
    kill_from: i64,
    kill_to: i64,
    heavy: bool,
    note: &'static str,
) -> Generated {
    let activated = from + rng.gen_range(0..DAY);
    let killed = rng.gen_range(kill_from..kill_to);
    Generated {
        type_index: pick_type(rng, heavy),
        activated,
        status: LicenseStatus::Killed,
        changes: vec![(killed, LicenseStatus::Active, LicenseStatus::Killed, note)],
        recovered: Some(killed),
        grace_end: None,
        released: Some(killed),
    }
}

/// Per day with changes: (peak, closing), replayed from activations and releases.
fn replay(licenses: &[Generated], types: &[LicenseType]) -> BTreeMap<NaiveDate, (i64, i64)> {
    let mut events: Vec<(i64, i64)> = Vec::with_capacity(licenses.len() * 2);
    for g in licenses {
        let bw = types[g.type_index].bandwidth_mbps;
        events.push((g.activated, bw));
        if let Some(at) = g.released {
            events.push((at, -bw));
        }
    }
    events.sort();
    let mut days = BTreeMap::new();
    let mut running = 0i64;
    for (at, delta) in events {
        let day = DateTime::from_timestamp(at, 0)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let start = running;
        running += delta;
        let entry = days.entry(day).or_insert((start, start));
        entry.0 = entry.0.max(running);
        entry.1 = running;
    }
    days
}

fn peak_between(
    days: &BTreeMap<NaiveDate, (i64, i64)>,
    from: NaiveDate,
    to: NaiveDate,
) -> (i64, i64) {
    let carry = days
        .range(..from)
        .next_back()
        .map(|(_, v)| v.1)
        .unwrap_or(0);
    let (mut max, mut min) = (carry, carry);
    for (_, (peak, closing)) in days.range(from..=to) {
        max = max.max(*peak);
        min = min.min(*closing);
    }
    (max, min)
}

/// Seed a demo tenant. `progress(done, total)` is told of rows written.
pub async fn seed_demo(
    db: &Db,
    now: DateTime<Utc>,
    options: &SeedOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(options.rng_seed);
    let now_ts = now.timestamp();
    let today = now.date_naive();
    let mut tx = db.begin_write().await?;
    let types = crate::tenants::ensure_license_types(&mut tx).await?;

    let total = options.licenses;
    let base_n = if total >= 12 { total * 3 / 4 } else { total };
    let mut licenses: Vec<Generated> = (0..base_n)
        .map(|_| base_license(&mut rng, now_ts))
        .collect();

    // Capacity: recent months run at about 90% of it.
    let base_days = replay(&licenses, &types);
    let (recent_peak, _) = peak_between(&base_days, today - chrono::Days::new(60), today);
    let capacity = ((recent_peak as f64 / 0.9 / 1000.0).ceil() as i64 * 1000).max(1000);

    // Last month's migration burst: temporary licenses, overlapping mid-month, push it above 100%.
    let burst_month = bandpool_domain::allocation::first_of_month(today) - Months::new(1);
    if total >= 12 {
        let month_start = burst_month
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(now_ts);
        let (_, base_min) =
            peak_between(&base_days, burst_month, burst_month + chrono::Days::new(27));
        let mut needed = (capacity as f64 * 1.06) as i64 - base_min;
        while needed > 0 {
            let g = killed_between(
                &mut rng,
                month_start + 3 * DAY,
                month_start + 16 * DAY,
                month_start + 22 * DAY,
                true,
                "Migration project finished; license killed and capacity returned",
            );
            needed -= types[g.type_index].bandwidth_mbps;
            licenses.push(g);
        }
        // The rest of the budget: lab licenses from before the chart's window, long killed.
        let old = now_ts - HISTORY_DAYS * DAY;
        while licenses.len() < total {
            licenses.push(killed_between(
                &mut rng,
                old,
                old + 2 * DAY,
                old + 12 * DAY,
                false,
                "Lab trial ended; license killed",
            ));
        }
    }
    let days = replay(&licenses, &types);
    let holding = licenses
        .iter()
        .filter(|g| g.status.holds_capacity())
        .count() as i64;

    let tenant_id = crate::tenants::create_tenant(
        &mut tx,
        &options.tenant_name,
        capacity,
        (holding + holding / 5).max(10),
        now_ts,
    )
    .await?;

    let connectors: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let connector_rows = connectors
        .iter()
        .enumerate()
        .map(|(i, id)| {
            vec![
                Value::Text(id.clone()),
                Value::Text(tenant_id.clone()),
                Value::Text(format!("connector-{}", SITES[i])),
                Value::OptText(Some(format!("192.168.{}.10", 10 + i))),
                Value::Text("up".into()),
                Value::OptInt(Some(now_ts)),
                Value::Int(now_ts - HISTORY_DAYS * DAY),
            ]
        })
        .collect();
    insert_rows(
        &mut tx,
        "connectors",
        &[
            "id",
            "tenant_id",
            "name",
            "ip_address",
            "status",
            "last_seen_at",
            "created_at",
        ],
        connector_rows,
    )
    .await?;

    let mut device_rows = Vec::new();
    let mut license_rows = Vec::new();
    let mut history_rows = Vec::new();
    for (i, g) in licenses.iter().enumerate() {
        let t = &types[g.type_index];
        let connector = &connectors[i % connectors.len()];
        let license_id = uuid::Uuid::new_v4().to_string();
        let serial = format!("{:07}", 1_000_000 + i);
        let (device_id, name, ip) = if g.status == LicenseStatus::Killed {
            (None, None, None)
        } else {
            let id = uuid::Uuid::new_v4().to_string();
            let name = format!("lm-{}-{:04}", SITES[i % SITES.len()], i / SITES.len() + 1);
            let n = i + 1;
            let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
            device_rows.push((
                id.clone(),
                name.clone(),
                ip.clone(),
                serial.clone(),
                connector.clone(),
                g.activated,
            ));
            (Some(id), Some(name), Some(ip))
        };
        license_rows.push(vec![
            Value::Text(license_id.clone()),
            Value::Text(tenant_id.clone()),
            Value::OptText(device_id),
            Value::OptText(name),
            Value::OptText(ip),
            Value::Text(serial),
            Value::Text(t.id.clone()),
            Value::Text(t.name.clone()),
            Value::Text(g.status.key().into()),
            Value::Int(t.bandwidth_mbps),
            Value::Int(t.ssl_tps),
            Value::OptInt(g.grace_end),
            Value::Int(g.activated),
            Value::OptInt(g.recovered),
            Value::Int(i64::from(i % 10 != 9)),
            Value::OptText(Some(connector.clone())),
        ]);
        let mut push_history =
            |at: i64, from: Option<LicenseStatus>, to: LicenseStatus, note: String| {
                history_rows.push(vec![
                    Value::Text(uuid::Uuid::new_v4().to_string()),
                    Value::Text(license_id.clone()),
                    Value::Text(tenant_id.clone()),
                    Value::Int(at),
                    Value::OptText(from.map(|s| s.key().to_string())),
                    Value::Text(to.key().to_string()),
                    Value::Text(note),
                ]);
            };
        push_history(
            g.activated,
            None,
            LicenseStatus::Active,
            format!(
                "Licensed from the pool through connector-{}",
                SITES[i % connectors.len()]
            ),
        );
        for (at, from, to, note) in &g.changes {
            push_history(*at, Some(*from), *to, note.to_string());
        }
    }

    let total_rows =
        (device_rows.len() + license_rows.len() + history_rows.len() + days.len()) as u64;
    let mut done = 0u64;
    // Devices first (licenses point at them); every tenth pair is an HA pair, a few are GEO
    // partners. Partners are linked once every device exists.
    let mut rows = Vec::new();
    let mut links = Vec::new();
    for (k, (id, name, ip, serial, connector, created)) in device_rows.iter().enumerate() {
        let ha = if (k / 2) % 10 == 0 {
            let partner = if k % 2 == 0 { k + 1 } else { k - 1 };
            device_rows.get(partner).map(|d| d.0.clone())
        } else {
            None
        };
        let geo = if k % 17 == 5 {
            device_rows.get(k + 1).map(|d| d.0.clone())
        } else {
            None
        };
        if ha.is_some() || geo.is_some() {
            links.push((id.clone(), Value::OptText(ha), Value::OptText(geo)));
        }
        rows.push(vec![
            Value::Text(id.clone()),
            Value::Text(tenant_id.clone()),
            Value::Text(name.clone()),
            Value::Text(ip.clone()),
            Value::Text(serial.clone()),
            Value::OptText(Some(connector.clone())),
            Value::OptText(None),
            Value::OptText(None),
            Value::Int(*created),
        ]);
    }
    let device_count = rows.len();
    let device_columns = [
        "id",
        "tenant_id",
        "name",
        "ip_address",
        "serial_no",
        "connector_id",
        "ha_partner_id",
        "geo_partner_id",
        "created_at",
    ];
    insert_counted(
        &mut tx,
        "devices",
        &device_columns,
        rows,
        &mut done,
        total_rows,
        progress,
    )
    .await?;
    for (id, ha, geo) in links {
        tx.execute(
            "UPDATE devices SET ha_partner_id = $2, geo_partner_id = $3 WHERE id = $1",
            vec![Value::Text(id), ha, geo],
        )
        .await?;
    }

    let license_columns = [
        "id",
        "tenant_id",
        "device_id",
        "device_name",
        "ip_address",
        "serial_no",
        "license_type_id",
        "license_name",
        "status",
        "bandwidth_mbps",
        "ssl_tps",
        "grace_period_end",
        "activated_at",
        "recovered_at",
        "issued_through_portal",
        "connector_id",
    ];
    let license_count = license_rows.len();
    insert_counted(
        &mut tx,
        "licenses",
        &license_columns,
        license_rows,
        &mut done,
        total_rows,
        progress,
    )
    .await?;
    let history_count = history_rows.len();
    let history_columns = [
        "id",
        "license_id",
        "tenant_id",
        "at",
        "from_status",
        "to_status",
        "note",
    ];
    insert_counted(
        &mut tx,
        "license_history",
        &history_columns,
        history_rows,
        &mut done,
        total_rows,
        progress,
    )
    .await?;

    let day_rows: Vec<Vec<Value>> = days
        .iter()
        .map(|(day, (peak, closing))| {
            let at = day
                .and_hms_opt(12, 0, 0)
                .map(|t| t.and_utc().timestamp())
                .unwrap_or(now_ts);
            vec![
                Value::Text(tenant_id.clone()),
                Value::Text(day.format("%Y-%m-%d").to_string()),
                Value::Int(*peak),
                Value::Int(at.min(now_ts)),
                Value::Int(*closing),
            ]
        })
        .collect();
    let allocation_days = day_rows.len();
    insert_rows(
        &mut tx,
        "allocation_daily",
        &["tenant_id", "day", "peak_mbps", "peak_at", "closing_mbps"],
        day_rows,
    )
    .await?;
    progress(total_rows, total_rows);
    check_consistency(&mut tx, &tenant_id, &days).await?;
    tx.commit().await?;
    db.analyze().await?;
    Ok(SeedReport {
        tenant_id,
        licenses: license_count,
        history_records: history_count,
        devices: device_count,
        allocation_days,
        max_capacity_mbps: capacity,
    })
}

/// The replayed series must end at the licenses' own allocation.
async fn check_consistency(
    tx: &mut WriteTx,
    tenant_id: &str,
    days: &BTreeMap<NaiveDate, (i64, i64)>,
) -> Result<()> {
    let allocation = crate::allocation::current_allocation(tx, tenant_id).await?;
    let closing = days.values().next_back().map(|v| v.1).unwrap_or(0);
    if allocation != closing {
        return Err(bandpool_domain::AppError::internal(format!(
            "seeded allocation history ends at {closing} Mb/s but the licenses hold {allocation} Mb/s"
        )));
    }
    Ok(())
}

/// Insert rows a few thousand at a time, telling `progress` after each batch.
async fn insert_counted(
    tx: &mut WriteTx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    done: &mut u64,
    total: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<Vec<Value>> = rows.by_ref().take(2000).collect();
        *done += batch.len() as u64;
        insert_rows(tx, table, columns, batch).await?;
        progress(*done, total);
    }
    Ok(())
}
