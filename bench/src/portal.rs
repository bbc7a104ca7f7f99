//! The portals under measurement: release `server` processes on a fresh database each,
//! seeded through the server's own command line (`seed-demo`, `create-tenant`,
//! `create-connector`), reached over loopback HTTP like any client.

use crate::Result;
use bandpool_domain::connector::{RegisterRequest, RegisterResponse, AUTH_SCHEME};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use sqlx::Connection as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The demo Owner's password in benchmark databases.
pub const DEMO_PASSWORD: &str = "benchmark demo password";
pub const DEMO_OWNER: &str = "demo@bandpool.local";

/// The database engine a portal runs on.
#[derive(Debug, Clone)]
pub enum Engine {
    Sqlite,
    /// A server URL whose database the harness may create and drop `bp_bench_*` beside.
    Postgres(String),
}

impl Engine {
    pub fn label(&self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        }
    }
}

/// Where the binaries and the site are, and a scratch folder.
#[derive(Debug, Clone)]
pub struct Setup {
    pub server: PathBuf,
    pub site_root: PathBuf,
    pub work: PathBuf,
}

impl Setup {
    /// A fresh, empty database called `name` on `engine`: its URL.
    pub async fn fresh_database(&self, engine: &Engine, name: &str) -> Result<String> {
        match engine {
            Engine::Sqlite => {
                let file = self.work.join(format!("{name}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                Ok(format!("sqlite://{}", file.display()))
            }
            Engine::Postgres(admin) => {
                let database = format!("bp_bench_{name}");
                let mut connection = sqlx::PgConnection::connect(admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                    .execute(&mut connection)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {database}"))
                    .execute(&mut connection)
                    .await?;
                connection.close().await?;
                Ok(with_database(admin, &database))
            }
        }
    }

    /// Drop what `fresh_database` made (SQLite files stay in the scratch folder, which
    /// goes as a whole).
    pub async fn drop_database(&self, engine: &Engine, name: &str) -> Result<()> {
        if let Engine::Postgres(admin) = engine {
            let mut connection = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS bp_bench_{name} WITH (FORCE)"
            ))
            .execute(&mut connection)
            .await?;
            connection.close().await?;
        }
        Ok(())
    }

    fn command(&self, database_url: &str) -> Command {
        let mut command = Command::new(&self.server);
        command
            .env("DATABASE_URL", database_url)
            .env("BANDPOOL_LOG", "warn")
            .env("BANDPOOL_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LEPTOS_SITE_ROOT", &self.site_root)
            .env("LEPTOS_ENV", "PROD")
            .kill_on_drop(true);
        command
    }

    /// Run one server command to its end; its standard output.
    pub async fn run(&self, database_url: &str, args: &[&str]) -> Result<String> {
        let output = self
            .command(database_url)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await?;
        if !output.status.success() {
            return Err(format!(
                "server {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `server migrate`.
    pub async fn migrate(&self, database_url: &str) -> Result<()> {
        self.run(database_url, &["migrate"]).await.map(drop)
    }

    /// `server seed-demo --licenses N` (the demo Owner's password is `DEMO_PASSWORD`).
    pub async fn seed_demo(&self, database_url: &str, licenses: usize) -> Result<()> {
        self.run(
            database_url,
            &["seed-demo", "--licenses", &licenses.to_string()],
        )
        .await
        .map(drop)
    }

    /// Serve the portal on `database_url` (migrated and seeded before), on a free port.
    pub async fn serve(&self, database_url: &str) -> Result<Portal> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        // Its log stays in the scratch folder (kept when a figure is missing).
        let log = std::fs::File::create(self.work.join(format!("portal-{port}.log")))?;
        let child = self
            .command(database_url)
            .arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("BANDPOOL_PUBLIC_URL", &url)
            .env("BANDPOOL_BENCHMARK_BASELINE", "true")
            // The benchmark signs in and registers more often than a person would.
            .env("BANDPOOL_RATE_SIGN_IN_PER_15_MINUTES", "10000")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let pid = child.id().ok_or("the portal exited at once")?;
        let portal = Portal {
            child,
            pid,
            url,
            client: client(Duration::from_secs(300))?,
        };
        let started = Instant::now();
        loop {
            if let Ok(answer) = portal.client.get(portal.at("/healthz")).send().await {
                if answer.status().is_success() {
                    return Ok(portal);
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("the portal did not answer /healthz within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A served portal and the database under it: a measurement makes its tenants in the
/// database (with the server's own commands) and sends its requests to the portal.
pub struct Served<'a> {
    pub setup: &'a Setup,
    pub database_url: &'a str,
    pub portal: &'a Portal,
}

impl Served<'_> {
    /// `server create-tenant`: a tenant whose pool fits `loadmasters` LoadMasters of
    /// `mbps` each; its id.
    pub async fn create_tenant(&self, name: &str, loadmasters: usize, mbps: i64) -> Result<String> {
        let owner = format!("owner@{}.bench.test", name.to_lowercase().replace(' ', "-"));
        let capacity = (loadmasters as i64 * mbps).to_string();
        let limit = loadmasters.to_string();
        let args = [
            "create-tenant",
            "--name",
            name,
            "--owner-email",
            &owner,
            "--max-capacity-mbps",
            &capacity,
            "--loadmaster-limit",
            &limit,
        ];
        let out = self.setup.run(self.database_url, &args).await?;
        out.lines()
            .find_map(|line| line.strip_prefix("tenant ")?.split_whitespace().next())
            .map(str::to_string)
            .ok_or_else(|| format!("create-tenant said nothing of a tenant id: {out}").into())
    }

    /// `server create-connector`: its one-time registration token.
    pub async fn create_connector(&self, tenant_id: &str, name: &str) -> Result<String> {
        let args = ["create-connector", "--name", name, "--tenant-id", tenant_id];
        let out = self.setup.run(self.database_url, &args).await?;
        let token = out.trim().to_string();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(format!("create-connector printed no token: {out}").into());
        }
        Ok(token)
    }
}

/// `admin` (a PostgreSQL URL) pointing at `database` instead.
fn with_database(admin: &str, database: &str) -> String {
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let cut = base[authority_end..]
        .find('/')
        .map(|i| authority_end + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{database}", &base[..cut]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

pub fn client(timeout: Duration) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()?)
}

/// A running portal; stopped when dropped.
pub struct Portal {
    child: Child,
    pub pid: u32,
    pub url: String,
    client: reqwest::Client,
}

impl Portal {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A client signed in as the demo Owner (the form sign-in, a session cookie).
    pub async fn signed_in(&self) -> Result<reqwest::Client> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let answer = client
            .post(self.at("/auth/sign-in"))
            .header("Origin", &self.url)
            .form(&[("email", DEMO_OWNER), ("password", DEMO_PASSWORD)])
            .send()
            .await?;
        if !answer.status().is_redirection() {
            return Err(format!("sign-in answered {}", answer.status()).into());
        }
        let check = client.get(self.at("/api/v1/pool")).send().await?;
        if !check.status().is_success() {
            return Err(format!("signed in, yet /api/v1/pool answered {}", check.status()).into());
        }
        Ok(client)
    }

    /// Register a connector with its registration token: a client that sends its credential.
    pub async fn connector_client(&self, registration_token: &str) -> Result<reqwest::Client> {
        let answer = self
            .client
            .post(self.at("/api/v1/connector/register"))
            .json(&RegisterRequest {
                registration_token: registration_token.into(),
                version: "bench".into(),
                address: None,
            })
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!(
                "register answered {}: {}",
                answer.status(),
                answer.text().await?
            )
            .into());
        }
        let registered: RegisterResponse = answer.json().await?;
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("{AUTH_SCHEME} {}", registered.credential))?,
        );
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(256)
            .build()?)
    }

    /// The portal's resident memory now, and its peak since the last `reset_peak` (kB).
    pub fn memory_kb(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        };
        match (field("VmRSS:"), field("VmHWM:")) {
            (Some(rss), Some(peak)) => Ok((rss, peak)),
            _ => Err("no VmRSS/VmHWM in /proc/<pid>/status".into()),
        }
    }

    /// Start the peak-memory count afresh (Linux: `5` to /proc/<pid>/clear_refs).
    pub fn reset_peak(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")?;
        Ok(())
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// POST a JSON `body` to `url`: the milliseconds until the answer was read, and the answer;
/// an answer other than success is an error that quotes it.
pub async fn post_timed(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> Result<(f64, Vec<u8>)> {
    let sent = Instant::now();
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = answer.status();
    let bytes = answer.bytes().await?;
    let millis = sent.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        return Err(format!("POST {url}: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok((millis, bytes.to_vec()))
}

/// One run of a read against its baseline: `n` GETs of `figure_url` and of `baseline_url`
/// (after a warm-up request each on the first run), the two taking turns at going first so
/// neither always meets a warmer machine; each one's p50 and p99 pushed onto `rows` (the
/// p50 row, then the p99 row).
pub async fn time_against_baseline(
    (figure_client, figure_url): (&reqwest::Client, &str),
    (baseline_client, baseline_url): (&reqwest::Client, &str),
    n: usize,
    run: usize,
    rows: &mut [crate::report::Row],
) -> Result<()> {
    if run == 0 {
        time_gets(baseline_client, baseline_url, 1).await?;
        time_gets(figure_client, figure_url, 1).await?;
    }
    let (figure, baseline) = if run.is_multiple_of(2) {
        let baseline = time_gets(baseline_client, baseline_url, n).await?;
        (time_gets(figure_client, figure_url, n).await?, baseline)
    } else {
        let figure = time_gets(figure_client, figure_url, n).await?;
        (figure, time_gets(baseline_client, baseline_url, n).await?)
    };
    let of = |millis: &[f64]| crate::stats::Latency::of(millis).ok_or("nothing timed");
    let (figure, baseline) = (of(&figure)?, of(&baseline)?);
    rows[0].runs.push(figure.p50);
    rows[0].baseline.push(baseline.p50);
    rows[1].runs.push(figure.p99);
    rows[1].baseline.push(baseline.p99);
    Ok(())
}

/// Time `n` sequential GETs of `url`, each read to its end: milliseconds per request.
pub async fn time_gets(client: &reqwest::Client, url: &str, n: usize) -> Result<Vec<f64>> {
    let mut millis = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let answer = client.get(url).send().await?;
        let status = answer.status();
        let body = answer.bytes().await?;
        if !status.is_success() {
            return Err(format!("GET {url}: {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn postgres_urls_get_another_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "bp_bench_x"),
            "postgres://postgres@127.0.0.1:5432/bp_bench_x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "y"),
            "postgres://u:p@h/y?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "z"), "postgres://h:1/z");
    }
}
