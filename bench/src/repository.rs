//! (b) The License Repository with a large pool: the page's server render and
//! GET /api/v1/licenses (first page, a search, by bandwidth, the last page), and (d) the
//! allocation charts' data (monthly, and the daily drill-down of last month, over the seed's
//! 13 months), each against the same request to a portal whose pool is empty.

use crate::portal::{time_against_baseline, Engine, Portal};
use crate::report::{Row, Target, Unit};
use crate::{Result, Scale};
use bandpool_domain::license::LicensePage;

struct Request {
    id: &'static str,
    what: &'static str,
    /// The path, given the pool's number of license pages.
    path: fn(u32) -> String,
    /// Held to 3x the empty pool's p99 (the License Repository's speed goal).
    held: bool,
}

fn requests() -> Vec<Request> {
    // (b), the License Repository, is held to its speed goal; (d), the charts, is not.
    let repository = |what, path| Request {
        id: "b",
        what,
        path,
        held: true,
    };
    let chart = |what, path| Request {
        id: "d",
        what,
        path,
        held: false,
    };
    vec![
        repository("License Repository page, server render", |_| {
            "/license-repository".into()
        }),
        repository("GET /api/v1/licenses, first page", |_| {
            "/api/v1/licenses".into()
        }),
        repository("GET /api/v1/licenses, search", |_| {
            "/api/v1/licenses?q=lm-ams-01".into()
        }),
        repository("GET /api/v1/licenses, by bandwidth", |_| {
            "/api/v1/licenses?sort=bandwidth&order=desc".into()
        }),
        repository("GET /api/v1/licenses, last page", |pages| {
            format!("/api/v1/licenses?page={}", pages.max(1))
        }),
        chart("monthly allocation (13 months)", |_| {
            "/api/v1/pool/allocation/monthly".into()
        }),
        chart("daily allocation, last month", |_| {
            format!("/api/v1/pool/allocation/daily?month={}", last_month())
        }),
    ]
}

fn last_month() -> String {
    let today = crate::now().date_naive();
    let first = today - chrono::Days::new(u64::from(chrono::Datelike::day(&today)));
    first.format("%Y-%m").to_string()
}

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    let mut rows = Vec::new();
    for request in requests() {
        for (percentile, held) in [("p50", false), ("p99", request.held)] {
            let mut row = Row::new(
                request.id,
                format!(
                    "{}, {} licenses: {percentile}",
                    request.what,
                    grouped(scale.repository_licenses)
                ),
                engine.label(),
                Unit::Millis,
            )
            .baseline("empty pool");
            if held {
                row = row.target(Target::WithinOfBaseline(3.0));
            }
            rows.push(row);
        }
    }
    rows
}

pub fn grouped(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

async fn pages(client: &reqwest::Client, portal: &Portal) -> Result<u32> {
    let answer = client.get(portal.at("/api/v1/licenses")).send().await?;
    let page: LicensePage = answer.error_for_status()?.json().await?;
    Ok(page.pages)
}

pub async fn measure(
    empty: &Portal,
    large: &Portal,
    scale: &Scale,
    rows: &mut [Row],
) -> Result<()> {
    let (empty_client, large_client) = (empty.signed_in().await?, large.signed_in().await?);
    let (empty_pages, large_pages) = (
        pages(&empty_client, empty).await?,
        pages(&large_client, large).await?,
    );
    if large_pages < 2 {
        return Err(format!("the large pool has {large_pages} page(s) of licenses").into());
    }
    for run in 0..scale.runs {
        for (i, request) in requests().iter().enumerate() {
            let n = if i == 0 {
                scale.page_requests
            } else {
                scale.api_requests
            };
            let path = |pages: u32| (request.path)(pages);
            let (empty_url, large_url) =
                (empty.at(&path(empty_pages)), large.at(&path(large_pages)));
            time_against_baseline(
                (&large_client, &large_url),
                (&empty_client, &empty_url),
                n,
                run,
                &mut rows[i * 2..i * 2 + 2],
            )
            .await?;
        }
    }
    Ok(())
}
