//! (g) Metered licensing at scale: a tenant with a metered contract whose LoadMasters (the
//! simulator's, with their identities and traffic model) activate through the connector
//! API and report a usage sample each every five minutes, relayed in batches as the agent
//! cuts them. Measured:
//! - ingestion (samples per second) against the portal's bare handler
//!   (`POST /api/v1/connector/baseline/usage`: the same JSON through the same extractor,
//!   answered without the database);
//! - the database's growth per stored sample, beside the sample's size on the wire;
//! - the Metered usage page and its API at that many LoadMasters with 13 months of daily
//!   peaks (`server seed-metered-history`), against a metered tenant with none;
//! - the background sweep (`server sweep`: the health pass with the unconfirmed-activation
//!   sweep and the daily instance check) at that many activations, against the same sweep
//!   over none; and the same sweep when a fleet of unconfirmed activations is due to be
//!   blocked (made old enough by moving their activation times back in the database, the
//!   one thing the harness writes directly).

use crate::activation::post_activation;
use crate::portal::{post_timed, time_against_baseline, Engine, Portal, Setup};
use crate::report::{Row, Target, Unit};
use crate::repository::grouped;
use crate::stats::Latency;
use crate::{Result, Scale};
use bandpool_domain::connector::ActivationRequest;
use bandpool_domain::metered::{UsageReport, UsageReportResponse, UsageSample};
use bandpool_simulator::{naming, traffic};
use futures::stream::{self, StreamExt, TryStreamExt};
use sqlx::Connection as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const REAL: &str = "/api/v1/connector/usage";
const BARE: &str = "/api/v1/connector/baseline/usage";
/// The metered license type the fleet asks for, with the SPLA image's SKU.
const LICENSE_TYPE: &str = "vlm-200";
const SKU: &str = "VLM-SPLA";
/// Serial numbers and addresses of the metered fleet (apart from the other letters').
const SERIAL_BASE: u64 = 60_000_000;
const ADDRESSES: &str = "10.88";

/// The pages and API calls held to 3x the empty tenant's p99.
const READS: [(&str, &str); 3] = [
    ("Metered usage page, server render", "/metered/usage"),
    ("GET /api/v1/metered/usage", "/api/v1/metered/usage"),
    (
        "GET /api/v1/metered/loadmasters, first page",
        "/api/v1/metered/loadmasters",
    ),
];

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    let db = engine.label();
    let n = grouped(scale.metered_loadmasters);
    let mut rows = vec![
        Row::new(
            "g",
            format!(
                "usage samples ingested, {n} metered LoadMasters, batches of {} ({} in flight)",
                scale.usage_batch, scale.usage_concurrency
            ),
            db,
            Unit::Rate("samples/s"),
        )
        .baseline(format!("bare handler, batches of {}", scale.usage_batch))
        // What the fleet sends: one sample per LoadMaster every five minutes.
        .target(Target::AtLeast(scale.metered_loadmasters as f64 / 300.0)),
        Row::new(
            "g",
            format!(
                "usage samples, batches of {}: p99 per request",
                scale.usage_batch
            ),
            db,
            Unit::Millis,
        )
        .baseline(format!("bare handler, batches of {}", scale.usage_batch)),
        Row::new(
            "g",
            "database growth per stored usage sample",
            db,
            Unit::Bytes,
        )
        .baseline("the sample's JSON as the agent sends it"),
    ];
    for (what, _) in READS {
        for (percentile, held) in [("p50", false), ("p99", true)] {
            let mut row = Row::new(
                "g",
                format!("{what}, {n} LoadMasters, 13 months of daily peaks: {percentile}"),
                db,
                Unit::Millis,
            )
            .baseline("metered tenant without LoadMasters");
            if held {
                row = row.target(Target::WithinOfBaseline(3.0));
            }
            rows.push(row);
        }
    }
    rows.push(
        Row::new(
            "g",
            format!("sweep (health pass), {n} confirmed metered activations, none due"),
            db,
            Unit::Millis,
        )
        .baseline("the same sweep, no activations"),
    );
    rows.push(
        Row::new(
            "g",
            format!(
                "sweep blocking {} unconfirmed activations (beside {n} confirmed)",
                grouped(scale.metered_unconfirmed)
            ),
            db,
            Unit::Millis,
        )
        .baseline(format!("the same sweep, {n} activations, none due")),
    );
    rows
}

/// The tiers every benchmark contract has.
const TIERS: [&str; 4] = [
    "0=Tier 1",
    "10000=Tier 2",
    "100000=Tier 3",
    "1000000=Tier 4",
];

/// Give the database's first tenant a metered contract of `max` activations.
async fn metered_contract(setup: &Setup, url: &str, max: usize) -> Result<()> {
    let max = max.to_string();
    let mut args = vec![
        "set-metered-contract",
        "--contract-id",
        "MELA-BENCH",
        "--max-activations",
        &max,
    ];
    for tier in TIERS {
        args.extend(["--tier", tier]);
    }
    setup.run(url, &args).await.map(drop)
}

/// `server sweep` on `url`: the health pass's milliseconds and how many it blocked.
async fn sweep(setup: &Setup, url: &str) -> Result<(f64, usize)> {
    let out = setup.run(url, &["sweep"]).await?;
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("health pass: "))
        .ok_or_else(|| format!("server sweep said nothing of its health pass: {out}"))?;
    let millis: f64 = line
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no time in {line:?}"))?;
    let blocked: usize = line
        .split(", ")
        .find_map(|part| part.strip_suffix(" activations blocked"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no blocked count in {line:?}"))?;
    Ok((millis, blocked))
}

/// Activate metered appliances `from..=to` with `clients` racing: each appliance's number,
/// license, serial and address.
async fn activate_fleet(
    client: &reqwest::Client,
    portal: &Portal,
    from: usize,
    to: usize,
    clients: usize,
) -> Result<Vec<Appliance>> {
    let next = AtomicUsize::new(from);
    let started_at = crate::now().timestamp();
    let fleets: Vec<Vec<Appliance>> = stream::iter(0..clients)
        .map(|_| async {
            let mut mine = Vec::new();
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number > to {
                    return Ok::<_, crate::Error>(mine);
                }
                let ip_address = naming::ip_address(ADDRESSES, number)
                    .ok_or("too many appliances for the address prefix")?;
                let serial_no = naming::serial_no(SERIAL_BASE, number);
                let request = ActivationRequest {
                    idempotency_key: uuid::Uuid::new_v4().to_string(),
                    serial_no: serial_no.clone(),
                    device_name: naming::device_name("mela-bench", number),
                    ip_address: ip_address.clone(),
                    sku: SKU.into(),
                    license_type_id: LICENSE_TYPE.into(),
                    appliance: Some(naming::identity(number, started_at)),
                    ask: Default::default(),
                };
                let granted = post_activation(client, portal, &request).await?;
                mine.push(Appliance {
                    number,
                    license_id: granted.license_id,
                    serial_no,
                    ip_address,
                });
            }
        })
        .buffer_unordered(clients)
        .try_collect()
        .await?;
    Ok(fleets.into_iter().flatten().collect())
}

struct Appliance {
    number: usize,
    license_id: String,
    serial_no: String,
    ip_address: String,
}

/// One round of the fleet's samples at `at`, cut into reports of `batch`: their bodies.
fn reports(fleet: &[Appliance], at: i64, batch: usize) -> Result<Vec<Vec<u8>>> {
    let samples: Vec<UsageSample> = fleet
        .iter()
        .map(|a| traffic::sample(a.number, &a.ip_address, &a.license_id, &a.serial_no, at))
        .collect();
    samples
        .chunks(batch)
        .map(|chunk| {
            Ok(serde_json::to_vec(&UsageReport {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                samples: chunk.to_vec(),
            })?)
        })
        .collect()
}

/// Send `bodies` to `path` with `concurrency` in flight: samples per second and each
/// request's milliseconds; every sample must be recorded (or, at the bare handler, answered).
async fn send(
    client: &reqwest::Client,
    portal: &Portal,
    path: &str,
    bodies: &[Vec<u8>],
    samples: usize,
    concurrency: usize,
) -> Result<(f64, Vec<f64>)> {
    let next = AtomicUsize::new(0);
    let url = portal.at(path);
    let started = Instant::now();
    let answered = AtomicUsize::new(0);
    let latencies: Vec<Vec<f64>> = stream::iter(0..concurrency)
        .map(|_| async {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return Ok::<_, crate::Error>(mine);
                };
                let (millis, bytes) = post_timed(client, &url, body.clone()).await?;
                mine.push(millis);
                let answer: UsageReportResponse = serde_json::from_slice(&bytes)?;
                if !answer.refused.is_empty() {
                    return Err(format!("{path}: samples refused: {:?}", answer.refused).into());
                }
                answered.fetch_add(answer.recorded, Ordering::Relaxed);
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let answered = answered.load(Ordering::Relaxed);
    if answered != samples {
        return Err(format!("{path}: {answered} of {samples} samples recorded").into());
    }
    Ok((samples as f64 / elapsed, latencies.concat()))
}

/// A connection to the database under a portal (either engine).
pub(crate) async fn connect(url: &str) -> Result<sqlx::AnyConnection> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::AnyConnection::connect(url).await?)
}

/// The database's size in bytes, as the engine counts it (SQLite: its pages in use,
/// whether still in the write-ahead log or not; PostgreSQL: the database's files).
async fn database_bytes(url: &str) -> Result<f64> {
    let mut c = connect(url).await?;
    let (size,): (i64,) = if url.starts_with("sqlite:") {
        sqlx::query_as(
            "SELECT (page_count - freelist_count) * page_size \
             FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
        )
    } else {
        sqlx::query_as("SELECT pg_database_size(current_database())")
    }
    .fetch_one(&mut c)
    .await?;
    c.close().await?;
    Ok(size as f64)
}

/// Make the unconfirmed activations of `fleet` eight days old (older than the longest
/// "Block unconfirmed activations after"): the harness cannot wait days.
async fn age(url: &str, fleet: &[Appliance]) -> Result<()> {
    let mut c = connect(url).await?;
    let mut tx = c.begin().await?;
    for a in fleet {
        sqlx::query("UPDATE licenses SET activated_at = activated_at - 691200 WHERE id = $1")
            .bind(&a.license_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    c.close().await?;
    Ok(())
}

/// Both tenants' databases: `empty` has the metered contract and nothing else, `large`
/// the same contract for the fleet (and the unconfirmed fleets the blocking runs need).
pub async fn measure(
    setup: &Setup,
    empty_url: &str,
    large_url: &str,
    scale: &Scale,
    rows: &mut [Row],
) -> Result<()> {
    let n = scale.metered_loadmasters;
    let unconfirmed = scale.metered_unconfirmed;
    metered_contract(setup, empty_url, n).await?;
    metered_contract(setup, large_url, n + unconfirmed * scale.runs).await?;
    let empty = setup.serve(empty_url).await?;
    let large = setup.serve(large_url).await?;
    let result = async {
        let token = setup
            .run(large_url, &["create-connector", "--name", "metered bench"])
            .await?;
        let connector = large.connector_client(token.trim()).await?;
        eprintln!("activating {n} metered LoadMasters …");
        let fleet = activate_fleet(&connector, &large, 1, n, 16).await?;
        let before = database_bytes(large_url).await?;
        let (mut stored, mut wire) = (0usize, 0usize);
        // Every round is five minutes after the last, the last ending now.
        let rounds = scale.runs * scale.usage_rounds;
        let first = (crate::now().timestamp() / 300 - rounds as i64) * 300;
        for run in 0..scale.runs {
            let order = if run % 2 == 0 {
                [REAL, BARE]
            } else {
                [BARE, REAL]
            };
            for path in order {
                let (mut rates, mut millis) = (Vec::new(), Vec::new());
                for round in 0..scale.usage_rounds {
                    let at = first + ((run * scale.usage_rounds + round) * 300) as i64;
                    let bodies = reports(&fleet, at, scale.usage_batch)?;
                    let (rate, times) = send(
                        &connector,
                        &large,
                        path,
                        &bodies,
                        fleet.len(),
                        scale.usage_concurrency,
                    )
                    .await?;
                    rates.push(rate);
                    millis.extend(times);
                    if path == REAL {
                        stored += fleet.len();
                        wire += bodies.iter().map(Vec::len).sum::<usize>();
                    }
                }
                let rate = crate::stats::median(&rates).ok_or("no round was timed")?;
                let p99 = Latency::of(&millis).ok_or("no request was timed")?.p99;
                if path == REAL {
                    rows[0].runs.push(rate);
                    rows[1].runs.push(p99);
                } else {
                    rows[0].baseline.push(rate);
                    rows[1].baseline.push(p99);
                }
            }
        }
        let growth = database_bytes(large_url).await? - before;
        rows[2].runs.push(growth / stored as f64);
        rows[2].baseline.push(wire as f64 / stored as f64);

        eprintln!("seeding 13 months of daily peaks for {n} LoadMasters …");
        setup
            .run(large_url, &["seed-metered-history", "--months", "13"])
            .await?;
        let (empty_client, large_client) = (empty.signed_in().await?, large.signed_in().await?);
        for run in 0..scale.runs {
            for (i, (_, path)) in READS.iter().enumerate() {
                let count = if i == 0 {
                    scale.page_requests
                } else {
                    scale.api_requests
                };
                let (empty_at, large_at) = (empty.at(path), large.at(path));
                let at = 3 + i * 2;
                time_against_baseline(
                    (&large_client, &large_at),
                    (&empty_client, &empty_at),
                    count,
                    run,
                    &mut rows[at..at + 2],
                )
                .await?;
            }
        }

        // The unconfirmed fleets, activated while the portal serves (they are fresh, so its
        // own sweep leaves them); the sweeps run with both portals stopped, so nothing else
        // blocks them first.
        let mut waiting = Vec::new();
        for run in 0..scale.runs {
            let from = n + run * unconfirmed + 1;
            let to = n + (run + 1) * unconfirmed;
            waiting.push(activate_fleet(&connector, &large, from, to, 16).await?);
        }
        Ok::<_, crate::Error>(waiting)
    }
    .await;
    empty.stop().await;
    large.stop().await;
    let waiting = result?;
    let (sweep_at, blocking_at) = (3 + READS.len() * 2, 4 + READS.len() * 2);
    for fleet in waiting {
        let (none_due, blocked) = sweep(setup, large_url).await?;
        if blocked != 0 {
            return Err(format!("a sweep with none due blocked {blocked}").into());
        }
        rows[sweep_at].runs.push(none_due);
        rows[blocking_at].baseline.push(none_due);
        let (baseline, _) = sweep(setup, empty_url).await?;
        rows[sweep_at].baseline.push(baseline);
        age(large_url, &fleet).await?;
        let (millis, blocked) = sweep(setup, large_url).await?;
        if blocked != fleet.len() {
            return Err(format!("the sweep blocked {blocked} of {} due", fleet.len()).into());
        }
        rows[blocking_at].runs.push(millis);
    }
    Ok(())
}
