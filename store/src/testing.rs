//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL database on the
//! server named by BANDPOOL_TEST_POSTGRES_URL (default: the local server). In CI
//! (CI=true) an unreachable PostgreSQL fails the test instead of skipping it.

use crate::db::Db;
use sqlx::{Connection, Executor};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub db: Db,
    pub url: String,
    sqlite_path: Option<std::path::PathBuf>,
    postgres: Option<(String, String)>,
}

/// PostgreSQL tests are skipped only when asked for by name (`BANDPOOL_SKIP_POSTGRES=1`);
/// otherwise a server that does not answer fails them, so a missing database never passes
/// silently for a tested one.
fn skip_postgres() -> bool {
    std::env::var("BANDPOOL_SKIP_POSTGRES")
        .map(|v| v == "1" || v == "true")
        .unwrap_or(false)
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join("bandpool-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.db", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", path.display());
        let db = Db::connect(&url).await.expect("sqlite connects");
        db.migrate().await.expect("sqlite migrates");
        TestDb {
            db,
            url,
            sqlite_path: Some(path),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database; None (with a note) only when `BANDPOOL_SKIP_POSTGRES=1`.
    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("BANDPOOL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        if skip_postgres() {
            eprintln!("SKIPPED: PostgreSQL (BANDPOOL_SKIP_POSTGRES is set)");
            return None;
        }
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL at {admin} is unreachable ({e}): start one (scripts/test does), point \
                 BANDPOOL_TEST_POSTGRES_URL at one, or set BANDPOOL_SKIP_POSTGRES=1 to skip these tests"
            ),
        };
        let name = format!("bp_test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        let url = format!("{base}/{name}");
        let db = Db::connect(&url).await.expect("postgres connects");
        db.migrate().await.expect("postgres migrates");
        Some(TestDb {
            db,
            url,
            sqlite_path: None,
            postgres: Some((admin, name)),
        })
    }

    /// Remove the database (call at the end of a test; a failed test leaves it for the
    /// test script's sweep of bp_test_* databases).
    pub async fn finish(self) {
        self.db.pool.close().await;
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        if let Some((admin, name)) = &self.postgres {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }
}

/// Define a test that runs once on SQLite and once on PostgreSQL:
/// `db_test!(name, |db: Db| async move { ... });`
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::testing::TestDb::sqlite().await;
                ($body)(t.db.clone()).await;
                t.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(t) = $crate::testing::TestDb::postgres().await {
                    ($body)(t.db.clone()).await;
                    t.finish().await;
                }
            }
        }
    };
}

/// The instant tests call "now": 2026-11-23 10:00 UTC.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_428_000, 0).expect("a valid instant")
}

/// Seed the demo tenant with `licenses` licenses as of `test_now()`; returns its id.
pub async fn seed_demo(db: &Db, licenses: usize) -> String {
    let options = crate::seed::SeedOptions {
        licenses,
        ..crate::seed::SeedOptions::default()
    };
    crate::seed::seed_demo(db, test_now(), &options, &|_, _| {})
        .await
        .expect("seed")
        .tenant_id
}
