//! (a) Relayed license checks through the connector API, in batches of 100 and one at a time,
//! against the portal's bare handler (`POST /api/v1/connector/baseline/checks`: the same
//! JSON parsed by the same extractor, answered without the database).

use crate::activation::{fresh_pool, license_fleet, serial_no};
use crate::portal::{post_timed, Engine, Portal, Served};
use crate::report::{Row, Target, Unit};
use crate::stats::Latency;
use crate::{Result, Scale};
use bandpool_domain::connector::{CheckReport, CheckReportResponse, LicenseCheck};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const REAL: &str = "/api/v1/connector/checks";
const BARE: &str = "/api/v1/connector/baseline/checks";

/// One load: `requests` reports of `batch` checks each, `concurrency` in flight.
/// Checks per second, and each request's milliseconds.
async fn load(
    client: &reqwest::Client,
    portal: &Portal,
    path: &str,
    licenses: &[LicenseCheck],
    batch: usize,
    requests: usize,
    concurrency: usize,
) -> Result<(f64, Vec<f64>)> {
    let next = AtomicUsize::new(0);
    let url = portal.at(path);
    let started = Instant::now();
    let latencies: Vec<Vec<f64>> = stream::iter(0..concurrency)
        .map(|_| async {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, crate::Error>(mine);
                }
                let now = crate::now().timestamp();
                let report = CheckReport {
                    idempotency_key: uuid::Uuid::new_v4().to_string(),
                    checks: (0..batch)
                        .map(|k| LicenseCheck {
                            checked_at: now,
                            partners: None,
                            ..licenses[(i * batch + k) % licenses.len()].clone()
                        })
                        .collect(),
                };
                let (millis, bytes) =
                    post_timed(client, &url, serde_json::to_vec(&report)?).await?;
                mine.push(millis);
                let answered: CheckReportResponse = serde_json::from_slice(&bytes)?;
                if answered.results.len() != batch
                    || answered.results.iter().any(|r| r.status.is_none())
                {
                    return Err(format!("{path}: a check was not answered with a status").into());
                }
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(((requests * batch) as f64 / elapsed, latencies.concat()))
}

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    let db = engine.label();
    let mut rows = Vec::new();
    for batch in [100, 1] {
        let shape = if batch == 1 {
            "single checks".to_string()
        } else {
            format!("batches of {batch}")
        };
        let bare = format!("bare handler, {shape}");
        rows.push(
            Row::new(
                "a",
                format!(
                    "relayed checks, {shape} ({} in flight)",
                    scale.check_concurrency
                ),
                db,
                Unit::Rate("checks/s"),
            )
            .baseline(bare.clone())
            .target(Target::AtLeastOfBaseline(0.5)),
        );
        rows.push(
            Row::new(
                "a",
                format!("relayed checks, {shape}: p50 per request"),
                db,
                Unit::Millis,
            )
            .baseline(bare.clone()),
        );
        rows.push(
            Row::new(
                "a",
                format!("relayed checks, {shape}: p99 per request"),
                db,
                Unit::Millis,
            )
            .baseline(bare),
        );
    }
    rows
}

pub async fn measure(served: &Served<'_>, scale: &Scale, rows: &mut [Row]) -> Result<()> {
    let portal = served.portal;
    let client = fresh_pool(served, "Checks", scale.check_licenses).await?;
    let (_, granted) = license_fleet(&client, portal, "check", scale.check_licenses, 16).await?;
    // Each license with the serial it was granted to (the portal refuses another's check).
    let licenses: Vec<LicenseCheck> = granted
        .into_iter()
        .map(|(number, activation)| LicenseCheck {
            license_id: activation.license_id,
            serial_no: serial_no(number),
            checked_at: 0,
            partners: None,
        })
        .collect();
    for run in 0..scale.runs {
        for (i, (batch, requests)) in [(100, scale.batch_requests), (1, scale.single_requests)]
            .into_iter()
            .enumerate()
        {
            let rows = &mut rows[i * 3..i * 3 + 3];
            // Alternate which goes first, so neither always meets a warmer machine.
            let order = if run % 2 == 0 {
                [REAL, BARE]
            } else {
                [BARE, REAL]
            };
            for path in order {
                let (rate, millis) = load(
                    &client,
                    portal,
                    path,
                    &licenses,
                    batch,
                    requests,
                    scale.check_concurrency,
                )
                .await?;
                let latency = Latency::of(&millis).ok_or("no request was timed")?;
                let figures = [rate, latency.p50, latency.p99];
                for (row, figure) in rows.iter_mut().zip(figures) {
                    if path == REAL {
                        row.runs.push(figure)
                    } else {
                        row.baseline.push(figure)
                    }
                }
            }
        }
    }
    Ok(())
}
