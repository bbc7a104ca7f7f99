//! Page renders under load: thousands of server renders of every page, in parallel, while
//! other portals start in the same process (starting one used to generate the route list,
//! which switches resource loading off process-wide for a moment: a render loading data just
//! then waited forever). Nothing retries a render any more, so a render that does not answer
//! is counted here as a failure, with every other failed answer.
//!
//! Renders per database: `BANDPOOL_RENDER_STRESS` (default 2,000).

mod common;

use common::{Seed, TestApp, OPERATOR};
use futures::StreamExt;
use std::time::{Duration, Instant};

/// Every page as the Owner sees it, and the operator's Tenants page.
const PAGES: &[&str] = &[
    "/license-repository",
    "/license-repository?status=active&sort=bandwidth&order=desc",
    "/usage-and-billing",
    "/usage-and-billing?page=2&per_page=20",
    "/applications",
    "/notifications",
    "/connectors",
    "/event-log",
    "/users",
    "/api-tokens",
    "/no-such-page",
];

/// A render slower than this is a stall: the slowest answers seen under this load are a
/// few seconds.
const STALL: Duration = Duration::from_secs(60);

fn renders() -> usize {
    std::env::var("BANDPOOL_RENDER_STRESS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

async fn stress(app: TestApp) {
    let owner = app.client.clone();
    let operator = app.client_as(OPERATOR).await;
    let total = renders();
    let started = Instant::now();
    // Portals starting while pages render, as parallel tests do.
    let starting = tokio::spawn(async move {
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let other = bandpool_store::testing::TestDb::sqlite().await;
            drop(TestApp::spawn(&other, Seed::Nothing).await);
            other.finish().await;
        }
    });
    let outcomes: Vec<(String, Result<u16, String>, Duration)> = futures::stream::iter(0..total)
        .map(|i| {
            let (client, path) = if i % 25 == 24 {
                (operator.clone(), "/tenants")
            } else {
                (owner.clone(), PAGES[i % PAGES.len()])
            };
            let url = format!("{}{path}", app.base);
            async move {
                let at = Instant::now();
                let answer = tokio::time::timeout(STALL, async {
                    let response = client.get(&url).send().await?;
                    let status = response.status().as_u16();
                    let body = response.text().await?;
                    Ok::<_, reqwest::Error>((status, body))
                })
                .await;
                let outcome = match answer {
                    Err(_) => Err(format!("stalled: no answer in {} s", STALL.as_secs())),
                    Ok(Err(error)) => Err(format!("request failed: {error}")),
                    Ok(Ok((status, body))) if !body.contains("</html>") => {
                        Err(format!("{status} without a whole page"))
                    }
                    Ok(Ok((status, _))) => Ok(status),
                };
                (path.to_string(), outcome, at.elapsed())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    starting.await.unwrap();
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|(path, outcome, _)| outcome.as_ref().err().map(|e| format!("{path}: {e}")))
        .collect();
    let wrong_status: Vec<_> = outcomes
        .iter()
        .filter(|(path, outcome, _)| {
            let expected = if path == "/no-such-page" { 404 } else { 200 };
            matches!(outcome, Ok(status) if *status != expected)
        })
        .map(|(path, outcome, _)| format!("{path}: {outcome:?}"))
        .collect();
    let slowest = outcomes
        .iter()
        .map(|(_, _, d)| *d)
        .max()
        .unwrap_or_default();
    eprintln!(
        "{total} renders in {:.1} s, slowest {:.2} s, {} failed",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "renders that failed: {failed:#?}");
    assert!(
        wrong_status.is_empty(),
        "unexpected statuses: {wrong_status:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_under_parallel_load_on_sqlite() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let app = TestApp::spawn(&db, Seed::Demo(300)).await;
    stress(app).await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_under_parallel_load_on_postgres() {
    if let Some(db) = bandpool_store::testing::TestDb::postgres().await {
        let app = TestApp::spawn(&db, Seed::Demo(300)).await;
        stress(app).await;
        db.finish().await;
    }
}
