//! The demo tenant: a believable pool with licenses of every type and status, their
//! history, devices (HA pairs and GEO partners among them) and connectors, and the daily
//! allocation peaks replayed from those same licenses, so the charts and the table agree.
//!
//! The pool's capacity is chosen from the generated data so that recent months run above
//! 80% and one month (last month's migration burst) above 100%.

use crate::args;
use crate::db::{insert_rows, Db, Value, WriteTx};
use crate::Result;
use bandpool_domain::license::LicenseStatus;
use bandpool_domain::pool::LicenseType;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
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
            args![
                id.clone(),
                tenant_id.clone(),
                format!("connector-{}", SITES[i]),
                Some(format!("192.168.{}.10", 10 + i)),
                "up",
                Some(now_ts),
                now_ts - HISTORY_DAYS * DAY
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
        license_rows.push(args![
            license_id.clone(),
            tenant_id.clone(),
            device_id,
            name,
            ip,
            serial,
            t.id.clone(),
            t.name.clone(),
            g.status.key(),
            t.bandwidth_mbps,
            t.ssl_tps,
            g.grace_end,
            g.activated,
            g.recovered,
            i64::from(i % 10 != 9),
            Some(connector.clone())
        ]);
        let mut push_history =
            |at: i64, from: Option<LicenseStatus>, to: LicenseStatus, note: String| {
                history_rows.push(args![
                    uuid::Uuid::new_v4().to_string(),
                    license_id.clone(),
                    tenant_id.clone(),
                    at,
                    from.map(|s| s.key().to_string()),
                    to.key().to_string(),
                    note
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
        rows.push(args![
            id.clone(),
            tenant_id.clone(),
            name.clone(),
            ip.clone(),
            serial.clone(),
            Some(connector.clone()),
            None::<String>,
            None::<String>,
            *created
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
    let history_columns = crate::licenses::HISTORY_COLUMNS;
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
            args![
                tenant_id.clone(),
                day.format("%Y-%m-%d").to_string(),
                *peak,
                at.min(now_ts),
                *closing
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
    seed_usage(&mut tx, &tenant_id, &device_rows, capacity, now_ts).await?;
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

/// Names of the demo's applications (the Usage and billing guide's examples first).
const APPLICATIONS: [&str; 26] = [
    "VMware View",
    "Microsoft Exchange",
    "SharePoint",
    "Customer portal",
    "Web shop",
    "Payments API",
    "Intranet",
    "Helpdesk",
    "ERP",
    "CRM",
    "Mail relay",
    "Video streaming",
    "Partner API",
    "Search",
    "Reporting",
    "HR portal",
    "Wiki",
    "Build farm",
    "Git hosting",
    "Chat",
    "Status page",
    "Identity provider",
    "File transfer",
    "Telephony",
    "Analytics",
    "Backup gateway",
];

/// The demo's subscription and its applications: an entitlement with add-ons, one to three
/// Virtual Services on each of the first 400 LoadMasters, 26 applications holding between
/// 1 and 15 of them (so every bar colour shows), and a few Virtual Services left unmapped.
async fn seed_usage(
    tx: &mut WriteTx,
    tenant_id: &str,
    devices: &[(String, String, String, String, String, i64)],
    capacity: i64,
    now: i64,
) -> Result<()> {
    use bandpool_domain::billing::{AddOn, Entitlement, SubscriptionStatus};
    let pool = tx
        .fetch_one(
            "SELECT loadmaster_limit FROM pools WHERE tenant_id = $1",
            args![tenant_id.to_string()],
        )
        .await?;
    let year = 365 * DAY;
    let activated = now - year + 40 * DAY;
    let entitlement = Entitlement {
        owner_name: "Dana Whitfield".into(),
        progress_id: "PRG-104233".into(),
        order_id: "ORD-2026-0042".into(),
        plan: "LoadMaster 360 Pooled".into(),
        pooled: true,
        base_assets: 25,
        add_ons: vec![
            AddOn {
                description: "Additional assets (10-pack)".into(),
                quantity: 10,
                status: SubscriptionStatus::Active,
                activated_at: Some(activated + 120 * DAY),
                bill_at: Some(activated + 120 * DAY),
            },
            AddOn {
                description: "Additional assets (5-pack, trial)".into(),
                quantity: 5,
                status: SubscriptionStatus::Trial,
                activated_at: Some(now - 10 * DAY),
                bill_at: None,
            },
        ],
        virtual_service_limit: bandpool_domain::billing::VIRTUAL_SERVICE_LIMIT,
        status: SubscriptionStatus::Active,
        activated_at: Some(activated),
        bill_at: Some(activated),
        next_bill_at: Some(activated + year),
        max_capacity_mbps: capacity,
        loadmaster_limit: sqlx::Row::try_get(&pool, "loadmaster_limit")?,
    };
    crate::billing::apply_entitlement(tx, tenant_id, &entitlement, now).await?;

    const SERVICES: [(&str, u16); 3] = [("web", 443), ("mail", 25), ("api", 8443)];
    let mut services: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (k, (device_id, _, ip, _, _, created)) in devices.iter().take(400).enumerate() {
        for (name, port) in SERVICES.iter().take(1 + k % 3) {
            let id = uuid::Uuid::new_v4().to_string();
            services.push(id.clone());
            rows.push(args![
                id,
                tenant_id.to_string(),
                device_id.clone(),
                format!("{name}-{port}"),
                format!("{ip}:{port}"),
                *created
            ]);
        }
    }
    insert_rows(
        tx,
        "virtual_services",
        &[
            "id",
            "tenant_id",
            "device_id",
            "name",
            "address",
            "created_at",
        ],
        rows,
    )
    .await?;
    // 3, 8, 12, 15, ... Virtual Services: green, amber, red and full applications.
    const SIZES: [usize; 10] = [3, 8, 12, 15, 5, 14, 1, 10, 13, 7];
    let keep_unmapped = services.len() / 10;
    let mut free = services[..services.len() - keep_unmapped].iter();
    for (k, name) in APPLICATIONS.iter().enumerate() {
        let members: Vec<String> = free
            .by_ref()
            .take(SIZES[k % SIZES.len()])
            .cloned()
            .collect();
        if members.is_empty() {
            break;
        }
        crate::billing::create_application(tx, tenant_id, name, &members, now - year / 2).await?;
    }
    Ok(())
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

/// What `metered_history` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteredHistory {
    pub loadmasters: usize,
    pub days: usize,
    pub daily_peaks: usize,
}

/// Past usage for a metered tenant's LoadMasters (the benchmark's 13 months, a demo's
/// history): for each of its metered licenses, a daily peak for every UTC day from the first
/// day of the month `months - 1` months back through yesterday, following a day-and-week
/// shape at each LoadMaster's own size, and the months' peaks raised to match. Days that
/// have peaks already keep the higher figures (as a sample would leave them), so the daily
/// and monthly tables stay consistent.
pub async fn metered_history(
    db: &Db,
    tenant_id: &str,
    months: u32,
    now: i64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<MeteredHistory> {
    let today = DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive();
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(months.saturating_sub(1))))
        .unwrap_or(today);
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < today).collect();
    #[derive(sqlx::FromRow)]
    struct Metered {
        id: String,
    }
    let rows = db
        .fetch_all(
            "SELECT l.id FROM licenses l JOIN metered_activations a ON a.license_id = l.id \
             WHERE l.tenant_id = $1 AND l.metered = 1 ORDER BY l.id",
            args![tenant_id],
        )
        .await?;
    let licenses = crate::db::rows_as::<Metered>(&rows)?;
    let total = (licenses.len() * days.len()) as u64;
    let mut done = 0u64;
    // A transaction per hundred LoadMasters (each one's days and months together), so the
    // serving portal's own writes are not held off for the whole history.
    let mut touched = std::collections::BTreeSet::new();
    let mut tx = db.begin_write().await?;
    tx.lock_pool(tenant_id).await?;
    for (index, Metered { id: license_id }) in licenses.iter().enumerate() {
        if index > 0 && index % 100 == 0 {
            crate::metered::recompute_totals(
                &mut tx,
                tenant_id,
                touched.iter().map(String::as_str),
            )
            .await?;
            tx.commit().await?;
            tx = db.begin_write().await?;
            tx.lock_pool(tenant_id).await?;
        }
        // Each LoadMaster its own size: 20 Mb/s to 2 Gb/s at its busiest.
        let size = 20.0 + (index * 7_919 % 1_981) as f64;
        let mut day_rows = Vec::with_capacity(days.len());
        let mut month_peaks: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for day in &days {
            let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let wobble = ((day.ordinal() as usize * 31 + index * 17) % 23) as f64 / 23.0;
            let mbps = size * if weekend { 0.55 } else { 1.0 } * (0.8 + 0.4 * wobble);
            let bytes_per_second = (mbps * 1_000_000.0 / 8.0) as i64;
            let ssl_tps = (mbps * 2.0) as i64;
            let at = day
                .and_hms_opt(13 + (index % 5) as u32, 5 * (index % 12) as u32, 0)
                .map(|t| t.and_utc().timestamp())
                .unwrap_or(now);
            let month = day.format("%Y-%m").to_string();
            let peak = month_peaks.entry(month).or_insert((0, at, 0));
            if bytes_per_second > peak.0 {
                (peak.0, peak.1) = (bytes_per_second, at);
            }
            peak.2 = peak.2.max(ssl_tps);
            day_rows.push(args![
                tenant_id,
                license_id.clone(),
                day.format("%Y-%m-%d").to_string(),
                bytes_per_second,
                at,
                ssl_tps,
                288i64
            ]);
        }
        crate::db::insert_rows_then(
            &mut tx,
            "metered_daily",
            &crate::metered::DAILY_COLUMNS,
            day_rows,
            &crate::metered::RAISE_DAY,
        )
        .await?;
        touched.extend(month_peaks.keys().cloned());
        let month_rows = month_peaks
            .into_iter()
            .map(|(month, (bytes, at, ssl))| {
                args![tenant_id, month, license_id.clone(), 1i64, bytes, at, ssl]
            })
            .collect();
        crate::db::insert_rows_then(
            &mut tx,
            "metered_monthly",
            &crate::metered::MONTHLY_COLUMNS,
            month_rows,
            &crate::metered::RAISE_MONTH,
        )
        .await?;
        done += days.len() as u64;
        if index % 100 == 99 {
            progress(done, total);
        }
    }
    crate::metered::recompute_totals(&mut tx, tenant_id, touched.iter().map(String::as_str))
        .await?;
    tx.commit().await?;
    progress(total, total);
    db.analyze().await?;
    Ok(MeteredHistory {
        loadmasters: licenses.len(),
        days: days.len(),
        daily_peaks: total as usize,
    })
}
