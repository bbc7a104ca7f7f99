//! The benchmark harness (`scripts/bench`): release portals on fresh SQLite and PostgreSQL
//! databases, filled with `server seed-demo --licenses N` and with the simulator's
//! appliances licensed through the connector API, each figure measured several times beside
//! its baseline in the same run; one table printed and written into BENCHMARKS.md.
//!
//! Every measurement declares its rows first; one that fails leaves its rows without a
//! figure and says why, and the harness exits non-zero (so `--tiny`, in the test suite,
//! asserts that each measurement produced a figure, never how fast).

mod activation;
mod checks;
mod export;
mod mela;
mod metered;
mod portal;
mod report;
mod repository;
mod stats;
mod wasm;

use clap::Parser;
use portal::{Engine, Served, Setup};
use report::Row;
use std::future::Future;
use std::path::PathBuf;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Parser, Debug)]
#[command(about = "Measure the portal against its baselines and write BENCHMARKS.md")]
struct Args {
    /// Tiny sizes (the test suite's run): checks that every measurement produces a figure.
    #[arg(long)]
    tiny: bool,
    /// The release `server` binary.
    #[arg(long)]
    server: PathBuf,
    /// The built site (target/site: pkg/*.wasm, the CSS).
    #[arg(long)]
    site_root: PathBuf,
    /// The end-to-end folder (its node_modules drive Chromium).
    #[arg(long)]
    end2end: PathBuf,
    /// A PostgreSQL server URL (the harness creates and drops bp_bench_* databases there);
    /// unset: SQLite only.
    #[arg(long, env = "BANDPOOL_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Write the table into this Markdown file, between its markers.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Runs per measurement (default: 5, tiny 2).
    #[arg(long)]
    runs: Option<usize>,
    /// Only these measurements (the letters of BENCHMARKS.md's table: a,b,c,d,e,f,g,h). (b) and (d) share their
    /// pools, so asking for either measures both.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Licenses in the large pool of (b) and (d).
    #[arg(long)]
    repository_licenses: Option<usize>,
    /// Licenses in the export's pool (c).
    #[arg(long)]
    export_licenses: Option<usize>,
}

/// How big each measurement is.
#[derive(Debug, Clone)]
pub struct Scale {
    pub name: &'static str,
    pub runs: usize,
    pub repository_licenses: usize,
    pub export_licenses: usize,
    pub page_requests: usize,
    pub api_requests: usize,
    pub racing_clients: usize,
    pub activations: usize,
    pub check_licenses: usize,
    pub check_concurrency: usize,
    pub batch_requests: usize,
    pub single_requests: usize,
    pub navigations: usize,
    pub metered_loadmasters: usize,
    /// Rounds of samples (one per LoadMaster each) per run, at each of real and bare.
    pub usage_rounds: usize,
    pub usage_batch: usize,
    pub usage_concurrency: usize,
    /// Unconfirmed activations each blocking sweep finds due.
    pub metered_unconfirmed: usize,
    /// (h): LoadMasters and days of stored samples (one every five minutes) the MELA
    /// report's downloads read. Full: 1,000 × 30 days, the 8.64 million rows the issue names
    /// (its "10,000 LoadMasters" for a month would be 86.4 million: ten times the rows, read
    /// the same way).
    pub report_loadmasters: usize,
    pub report_days: usize,
}

impl Scale {
    fn full() -> Scale {
        Scale {
            name: "full",
            runs: 5,
            repository_licenses: 100_000,
            export_licenses: 1_000_000,
            page_requests: 40,
            api_requests: 40,
            racing_clients: 100,
            activations: 1_000,
            check_licenses: 1_000,
            check_concurrency: 8,
            batch_requests: 200,
            single_requests: 2_000,
            navigations: 6,
            metered_loadmasters: 10_000,
            usage_rounds: 2,
            usage_batch: 500,
            usage_concurrency: 4,
            metered_unconfirmed: 1_000,
            report_loadmasters: 1_000,
            report_days: 30,
        }
    }

    fn tiny() -> Scale {
        Scale {
            name: "tiny",
            runs: 2,
            repository_licenses: 500,
            export_licenses: 1_000,
            page_requests: 3,
            api_requests: 3,
            racing_clients: 10,
            activations: 40,
            check_licenses: 40,
            check_concurrency: 4,
            batch_requests: 5,
            single_requests: 20,
            navigations: 1,
            metered_loadmasters: 60,
            usage_rounds: 1,
            usage_batch: 25,
            usage_concurrency: 2,
            metered_unconfirmed: 10,
            report_loadmasters: 20,
            report_days: 2,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} sizes: {} runs each; {} licenses for the License Repository and charts ({} page and {} API requests per run), {} for the export; {} activations ({} clients racing); checks over {} licenses, {} in flight, {} batches of 100 and {} single checks per run; {} navigations per run; {} metered LoadMasters, {} rounds of their samples per run, {} unconfirmed activations per blocking sweep; MELA report downloads over {} LoadMasters × {} days of samples",
            self.name,
            self.runs,
            self.repository_licenses,
            self.page_requests,
            self.api_requests,
            self.export_licenses,
            self.activations,
            self.racing_clients,
            self.check_licenses,
            self.check_concurrency,
            self.batch_requests,
            self.single_requests,
            self.navigations,
            self.metered_loadmasters,
            self.usage_rounds,
            self.metered_unconfirmed,
            self.report_loadmasters,
            self.report_days
        )
    }
}

struct Bench {
    setup: Setup,
    scale: Scale,
    only: Vec<String>,
    rows: Vec<Row>,
}

impl Bench {
    fn wants(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == id)
    }

    /// Run one measurement over its declared rows; a failure stays on those rows.
    async fn measure<F, Fut>(&mut self, mut rows: Vec<Row>, run: F)
    where
        F: FnOnce(Vec<Row>) -> Fut,
        Fut: Future<Output = (Vec<Row>, Result<()>)>,
    {
        if rows.is_empty() {
            return;
        }
        let what = rows
            .first()
            .map(|r| format!("{} {}", r.id, r.database))
            .unwrap_or_default();
        eprintln!("measuring ({what}) …");
        rows.iter_mut().for_each(|r| r.failure = None);
        let (mut rows, result) = run(rows).await;
        if let Err(error) = result {
            eprintln!("  failed: {error}");
            for row in rows.iter_mut() {
                row.failure = Some(error.to_string());
            }
        }
        self.rows.extend(rows);
    }

    /// Everything that needs a database, on one engine.
    async fn on(&mut self, engine: &Engine) {
        let setup = self.setup.clone();
        let scale = self.scale.clone();
        let tag = match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres(_) => "pg",
        };
        // (e) and (a): a pool licensed through the connector API.
        if self.wants("e") || self.wants("a") {
            let rows_e = if self.wants("e") {
                activation::rows(engine, &scale)
            } else {
                Vec::new()
            };
            let rows_a = if self.wants("a") {
                checks::rows(engine, &scale)
            } else {
                Vec::new()
            };
            let name = format!("{tag}_connector");
            let started = async {
                let url = setup.fresh_database(engine, &name).await?;
                setup.migrate(&url).await?;
                let portal = setup.serve(&url).await?;
                Ok::<_, Error>((url, portal))
            }
            .await;
            match started {
                Ok((url, portal)) => {
                    let served = Served {
                        setup: &setup,
                        database_url: &url,
                        portal: &portal,
                    };
                    self.measure(rows_e, |mut rows| async {
                        let result = activation::measure(&served, &scale, &mut rows).await;
                        (rows, result)
                    })
                    .await;
                    self.measure(rows_a, |mut rows| async {
                        let result = checks::measure(&served, &scale, &mut rows).await;
                        (rows, result)
                    })
                    .await;
                    portal.stop().await;
                }
                Err(error) => self.failed(rows_e.into_iter().chain(rows_a).collect(), error),
            }
            let _ = setup.drop_database(engine, &name).await;
        }
        // (b) and (d): a large pool against an empty one.
        if self.wants("b") || self.wants("d") {
            let rows = repository::rows(engine, &scale);
            let (empty_name, large_name) = (format!("{tag}_empty"), format!("{tag}_large"));
            let started = async {
                let empty_url = setup.fresh_database(engine, &empty_name).await?;
                setup.seed_demo(&empty_url, 0).await?;
                let large_url = setup.fresh_database(engine, &large_name).await?;
                eprintln!(
                    "seeding {} licenses ({}) …",
                    scale.repository_licenses,
                    engine.label()
                );
                setup
                    .seed_demo(&large_url, scale.repository_licenses)
                    .await?;
                Ok::<_, Error>((
                    setup.serve(&empty_url).await?,
                    setup.serve(&large_url).await?,
                ))
            }
            .await;
            match started {
                Ok((empty, large)) => {
                    self.measure(rows, |mut rows| async {
                        let result = repository::measure(&empty, &large, &scale, &mut rows).await;
                        (rows, result)
                    })
                    .await;
                    empty.stop().await;
                    large.stop().await;
                }
                Err(error) => self.failed(rows, error),
            }
            let _ = setup.drop_database(engine, &empty_name).await;
            let _ = setup.drop_database(engine, &large_name).await;
        }
        if self.wants("g") {
            self.metered(engine, tag).await;
        }
        // (h): the MELA report's downloads over a month of samples.
        if self.wants("h") {
            let name = format!("{tag}_mela");
            let started = async {
                let url = setup.fresh_database(engine, &name).await?;
                setup.seed_demo(&url, 0).await?;
                eprintln!(
                    "seeding {} LoadMasters × {} days of samples ({}) …",
                    scale.report_loadmasters,
                    scale.report_days,
                    engine.label()
                );
                let seeded = mela::seed(&url, scale.report_loadmasters, scale.report_days).await?;
                let portal = setup.serve(&url).await?;
                Ok::<_, Error>((url, seeded, portal))
            }
            .await;
            let rows = mela::rows(engine, &scale);
            match started {
                Ok((url, seeded, portal)) => {
                    self.measure(rows, |mut rows| async {
                        let result = mela::measure(&portal, &url, &seeded, &scale, &mut rows).await;
                        (rows, result)
                    })
                    .await;
                    portal.stop().await;
                }
                Err(error) => self.failed(rows, error),
            }
            let _ = setup.drop_database(engine, &name).await;
        }
        // (c): the export of a very large pool.
        if self.wants("c") {
            let name = format!("{tag}_export");
            let started = async {
                let url = setup.fresh_database(engine, &name).await?;
                eprintln!(
                    "seeding {} licenses ({}) …",
                    scale.export_licenses,
                    engine.label()
                );
                setup.seed_demo(&url, scale.export_licenses).await?;
                setup.serve(&url).await
            }
            .await;
            let rows = export::rows(engine, &scale);
            match started {
                Ok(portal) => {
                    self.measure(rows, |mut rows| async {
                        let result = export::measure(&portal, &scale, &mut rows).await;
                        (rows, result)
                    })
                    .await;
                    portal.stop().await;
                }
                Err(error) => self.failed(rows, error),
            }
            let _ = setup.drop_database(engine, &name).await;
        }
    }

    /// (g): metered licensing at scale, against a metered tenant without LoadMasters.
    async fn metered(&mut self, engine: &Engine, tag: &str) {
        let setup = self.setup.clone();
        let scale = self.scale.clone();
        let rows = metered::rows(engine, &scale);
        let (empty_name, large_name) = (format!("{tag}_metered_empty"), format!("{tag}_metered"));
        let started = async {
            let empty_url = setup.fresh_database(engine, &empty_name).await?;
            setup.seed_demo(&empty_url, 0).await?;
            let large_url = setup.fresh_database(engine, &large_name).await?;
            setup.seed_demo(&large_url, 0).await?;
            Ok::<_, Error>((empty_url, large_url))
        }
        .await;
        match started {
            Ok((empty_url, large_url)) => {
                self.measure(rows, |mut rows| async {
                    let result =
                        metered::measure(&setup, &empty_url, &large_url, &scale, &mut rows).await;
                    (rows, result)
                })
                .await;
            }
            Err(error) => self.failed(rows, error),
        }
        let _ = setup.drop_database(engine, &empty_name).await;
        let _ = setup.drop_database(engine, &large_name).await;
    }

    fn failed(&mut self, mut rows: Vec<Row>, error: Error) {
        eprintln!("  could not set up: {error}");
        for row in rows.iter_mut() {
            row.failure = Some(format!("set-up failed: {error}"));
        }
        self.rows.extend(rows);
    }

    /// (f): the bundle, and hydration against the demo-sized pool `scripts/run` serves.
    async fn browser(&mut self, end2end: &std::path::Path) {
        let setup = self.setup.clone();
        let scale = self.scale.clone();
        let started = async {
            let url = setup.fresh_database(&Engine::Sqlite, "demo").await?;
            setup.seed_demo(&url, 300).await?;
            setup.serve(&url).await
        }
        .await;
        match started {
            Ok(portal) => {
                self.measure(wasm::rows(), |mut rows| async {
                    let result =
                        wasm::measure(&setup.site_root, end2end, &portal, &scale, &mut rows).await;
                    (rows, result)
                })
                .await;
                portal.stop().await;
            }
            Err(error) => self.failed(wasm::rows(), error),
        }
    }
}

/// The time now (chrono's clock feature stays off for the workspace).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(since_epoch.as_secs() as i64, 0).unwrap_or_default()
}

/// Cores, memory and processor of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory_gib = proc_field("/proc/meminfo", "MemTotal:")
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let cpu = proc_field("/proc/cpuinfo", "model name")
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown processor".into());
    format!("{cores} cores, {memory_gib:.0} GiB memory, {cpu}")
}

/// What follows `key` on the first line of the /proc file at `path` that starts with it.
fn proc_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let rest = text.lines().find_map(|line| line.strip_prefix(key))?;
    Some(rest.to_string())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(unknown) = args
        .only
        .iter()
        .find(|o| !["a", "b", "c", "d", "e", "f", "g", "h"].contains(&o.as_str()))
    {
        eprintln!(
            "--only takes the letters a to h (the measurements of BENCHMARKS.md), not {unknown:?}"
        );
        std::process::exit(2);
    }
    let mut args = args;
    if args.only.iter().any(|o| o == "b" || o == "d") {
        for letter in ["b", "d"] {
            if !args.only.iter().any(|o| o == letter) {
                args.only.push(letter.to_string());
            }
        }
    }
    let mut scale = if args.tiny {
        Scale::tiny()
    } else {
        Scale::full()
    };
    if let Some(runs) = args.runs {
        scale.runs = runs.max(1);
    }
    if let Some(n) = args.repository_licenses {
        scale.repository_licenses = n;
    }
    if let Some(n) = args.export_licenses {
        scale.export_licenses = n;
    }
    let work = std::env::temp_dir().join(format!("bandpool-bench-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&work) {
        eprintln!("cannot make {}: {error}", work.display());
        std::process::exit(2);
    }
    let mut bench = Bench {
        setup: Setup {
            server: args.server.clone(),
            site_root: args.site_root.clone(),
            work: work.clone(),
        },
        scale: scale.clone(),
        only: args.only.clone(),
        rows: Vec::new(),
    };
    let mut engines = vec![Engine::Sqlite];
    match &args.postgres {
        Some(url) if !url.is_empty() => engines.push(Engine::Postgres(url.clone())),
        _ => eprintln!("no PostgreSQL URL (BANDPOOL_BENCH_POSTGRES_URL): SQLite only"),
    }
    for engine in &engines {
        bench.on(engine).await;
    }
    if bench.wants("f") {
        bench.browser(&args.end2end).await;
    }

    let mut rows = bench.rows;
    rows.sort_by_key(|r| r.id);
    let context = report::Context {
        date: now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: machine(),
        command: {
            let mut command = String::from("scripts/bench");
            if args.tiny {
                command.push_str(" --tiny");
            }
            if !args.only.is_empty() {
                command.push_str(&format!(" --only {}", args.only.join(",")));
            }
            command
        },
        scale: scale.describe(),
    };
    let table = report::render(&rows, &context);
    println!("{table}");
    if let Some(path) = &args.write {
        let document = std::fs::read_to_string(path).unwrap_or_default();
        if let Err(error) = std::fs::write(path, report::splice(&document, &table)) {
            eprintln!("cannot write {}: {error}", path.display());
            std::process::exit(2);
        }
        eprintln!("table written into {}", path.display());
    }
    let missing = report::missing(&rows);
    if !missing.is_empty() {
        eprintln!("{} figure(s) missing:", missing.len());
        for line in &missing {
            eprintln!("  {line}");
        }
        eprintln!("the portals' logs are in {}", work.display());
        std::process::exit(1);
    }
    let _ = std::fs::remove_dir_all(&work);
}
