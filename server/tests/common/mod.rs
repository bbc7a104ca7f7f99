//! Spawn the real application on a free port, against a fresh SQLite or PostgreSQL
//! database, with a fixed clock. `app_test!` runs a test once on each database.

#![allow(dead_code)]

use app::state::AppState;
use bandpool_store::testing::TestDb;
use bandpool_store::{Clock, Db};
use chrono::{DateTime, Utc};
use leptos::prelude::LeptosOptions;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub clock: Clock,
}

pub fn now() -> DateTime<Utc> {
    bandpool_store::testing::test_now()
}

pub enum Seed {
    /// No tenant at all.
    Nothing,
    /// A tenant whose pool has no licenses.
    EmptyPool,
    /// The demo tenant with this many licenses.
    Demo(usize),
}

impl TestApp {
    pub async fn spawn(test_db: &TestDb, seed: Seed) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            bandpool_server::telemetry::init("debug");
        }
        let db = test_db.db.clone();
        let clock = Clock::manual(now());
        match seed {
            Seed::Nothing => {}
            Seed::EmptyPool => {
                let mut tx = db.begin_write().await.unwrap();
                bandpool_store::tenants::ensure_license_types(&mut tx)
                    .await
                    .unwrap();
                bandpool_store::tenants::create_tenant(
                    &mut tx,
                    "Empty Corp",
                    50_000,
                    20,
                    now().timestamp(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
            Seed::Demo(n) => {
                bandpool_store::testing::seed_demo(&db, n).await;
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let leptos_options = LeptosOptions::builder()
            .output_name("bandpool")
            .site_root("target/site")
            .site_addr(addr)
            .build();
        let state = AppState {
            leptos_options,
            db: db.clone(),
            clock: clock.clone(),
        };
        let router = bandpool_server::web::router(state);
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base: format!("http://{addr}"),
            client,
            db,
            clock,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `app_test!(name, Seed::Demo(120), |app: TestApp| async move { ... });`
#[macro_export]
macro_rules! app_test {
    ($name:ident, $seed:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = bandpool_store::testing::TestDb::sqlite().await;
                let app = $crate::common::TestApp::spawn(&db, $seed).await;
                ($body)(app).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = bandpool_store::testing::TestDb::postgres().await {
                    let app = $crate::common::TestApp::spawn(&db, $seed).await;
                    ($body)(app).await;
                    db.finish().await;
                }
            }
        }
    };
}
