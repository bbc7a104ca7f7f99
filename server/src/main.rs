//! `server [serve]`, `server migrate`, `server seed-demo [--licenses N]`,
//! `server create-tenant --name N --owner-email E`, `server create-operator --email E`,
//! `server create-connector --name N [--tenant-id T]`,
//! `server set-entitlement [--tenant-id T] [--plan P] [--base-assets N] [--add-on "d; q; status"]...`,
//! `server set-metered-contract [--tenant-id T] --contract-id C --max-activations N [--trial-days D] --tier "0=Tier 1"...`,
//! `server record-order [--tenant-id T | --tenant-name N] --order-id O --support S --support-ends YYYY-MM-DD --line "vlm-500=3[@YYYY-MM-DD]"...`,
//! `server seed-metered-history [--tenant-id T] [--months 13]`, `server sweep`.

// Leptos page types (the License Repository) need more than the default 128.
#![recursion_limit = "256"]

use bandpool_server::settings::Settings;
use bandpool_server::{accounts, telemetry, web};
use bandpool_store::seed::{seed_demo, SeedOptions};
use bandpool_store::{tenants, Clock, Db};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "server",
    about = "Bandpool: a self-hostable portal for pooled load-balancer licensing"
)]
struct Cli {
    /// A settings file (TOML); BANDPOOL_* variables override it.
    #[arg(long, env = "BANDPOOL_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default). Migrates the database first.
    Serve {
        /// Seed the demo tenant first if the database has no tenant yet.
        #[arg(long)]
        seed_demo_if_empty: bool,
    },
    /// Create or update the database schema.
    Migrate,
    /// Create a demo tenant with a believable license pool.
    SeedDemo {
        /// How many licenses to create.
        #[arg(long, default_value_t = 300)]
        licenses: usize,
        /// Do nothing when a tenant exists already.
        #[arg(long)]
        if_empty: bool,
        #[arg(long, default_value = "Demo Networks")]
        tenant_name: String,
        /// Also a second tenant, "Metered Demo", with a metered contract (the demo runs
        /// metered LoadMasters for it); its Owner is the demo Owner too.
        #[arg(long)]
        metered_tenant: bool,
    },
    /// Create a tenant with its pool and invite its first Owner by email (the link is
    /// printed too, for a setup without a mail server).
    CreateTenant {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long, default_value_t = 10_000)]
        max_capacity_mbps: i64,
        #[arg(long, default_value_t = 50)]
        loadmaster_limit: i64,
    },
    /// Make someone an operator (creates tenants). The password comes from
    /// BANDPOOL_OPERATOR_PASSWORD when set (local accounts); otherwise they sign in with
    /// single sign-on or use "Forgot password".
    CreateOperator {
        #[arg(long)]
        email: String,
    },
    /// Add a connector to a tenant (the first tenant when none is named) and print its
    /// one-time registration token on standard output, for the agent's
    /// BANDPOOL_CONNECTOR_REGISTRATION_TOKEN.
    CreateConnector {
        #[arg(long)]
        name: String,
        #[arg(long)]
        tenant_id: Option<String>,
        /// The tenant by its name instead (the demo's metered tenant is "Metered Demo").
        #[arg(long, conflicts_with = "tenant_id")]
        tenant_name: Option<String>,
    },
    /// Set a tenant's entitlement (the operator's records, the default entitlement source):
    /// what is given changes, the rest stays. Dates are YYYY-MM-DD.
    SetEntitlement(Box<EntitlementArgs>),
    /// Give a tenant (the first tenant when none is named) a metered contract (MELA): from
    /// then on the licenses its connectors grant are metered, limited by the number of
    /// activations and billed by usage tier. Given again, it replaces the contract.
    SetMeteredContract {
        #[arg(long)]
        tenant_id: Option<String>,
        #[arg(long)]
        contract_id: String,
        #[arg(long)]
        max_activations: i64,
        /// A metered trial: five activations at most, refused after this many days.
        #[arg(long)]
        trial_days: Option<i64>,
        /// A usage tier: "<from Mb/s>=<name>" (the first starts at 0), once per tier.
        #[arg(long = "tier", required = true)]
        tiers: Vec<String>,
    },
    /// Record an order for a tenant (the first tenant when none is named): the permanent
    /// licenses it bought per license type, its support tier and when support ends. Given
    /// again with the same Order ID, it replaces the order.
    RecordOrder {
        #[arg(long)]
        tenant_id: Option<String>,
        #[arg(long, conflicts_with = "tenant_id")]
        tenant_name: Option<String>,
        #[arg(long)]
        order_id: String,
        /// standard, enterprise or enterprise_plus.
        #[arg(long, default_value = "enterprise_plus")]
        support: String,
        /// The last day of support (YYYY-MM-DD).
        #[arg(long)]
        support_ends: String,
        /// "<license type>=<quantity>[@<last day of the licenses' term>]", once per type.
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        /// A Service Provider License Agreement: its licenses can never be transferred.
        #[arg(long)]
        spla: bool,
    },
    /// Write past daily and monthly peaks for a metered tenant's LoadMasters (the first
    /// tenant when none is named): every day from the first of the month `--months - 1`
    /// months back through yesterday. For demos and the benchmark; real peaks come from
    /// usage samples.
    SeedMeteredHistory {
        #[arg(long)]
        tenant_id: Option<String>,
        #[arg(long, default_value_t = 13)]
        months: u32,
    },
    /// Run the background passes once now (connector health with the metered sweeps, the
    /// expiry of usage samples, the check of metered month totals) and say what each did and
    /// how long it took. The serving
    /// portal runs them on its own timers; this is for operators and the benchmark.
    Sweep,
    /// Make a signing key for metered usage reports: prints the seed to set as
    /// `metered_reports_signing_key` (a secret) and the public key to register with the
    /// vendor's reporting service. Touches no database.
    ReportingKey,
    /// Check an offline license text against this deployment's key: prints what it grants
    /// (JSON), or why it is refused and exits 1.
    CheckLicense {
        /// The file holding the text (`-`: standard input).
        text: String,
        /// Also check that it was made for this serial number...
        #[arg(long, requires = "access_code")]
        serial: Option<String>,
        /// ...and this access code.
        #[arg(long, requires = "serial")]
        access_code: Option<String>,
    },
}

#[derive(clap::Args)]
struct EntitlementArgs {
    /// The first tenant when none is named.
    #[arg(long)]
    tenant_id: Option<String>,
    #[arg(long)]
    owner_name: Option<String>,
    #[arg(long)]
    progress_id: Option<String>,
    #[arg(long)]
    order_id: Option<String>,
    #[arg(long)]
    plan: Option<String>,
    /// Pooled licensing (only applications are used assets): true or false.
    #[arg(long)]
    pooled: Option<bool>,
    #[arg(long)]
    base_assets: Option<i64>,
    /// active, trial, suspended or expired.
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    activated_on: Option<String>,
    #[arg(long)]
    bill_on: Option<String>,
    #[arg(long)]
    next_bill_on: Option<String>,
    #[arg(long)]
    max_capacity_mbps: Option<i64>,
    #[arg(long)]
    loadmaster_limit: Option<i64>,
    /// Replaces the add-ons: "description; quantity; status[; activation date[; bill date]]",
    /// once per add-on; --clear-add-ons removes them all.
    #[arg(long = "add-on")]
    add_ons: Vec<String>,
    #[arg(long)]
    clear_add_ons: bool,
}

impl EntitlementArgs {
    /// What was given replaces the form's value; the rest stays.
    fn apply(self, form: &mut bandpool_domain::billing::EntitlementForm) {
        let set = |field: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        let number = |n: Option<i64>| n.map(|n| n.to_string());
        set(&mut form.owner_name, self.owner_name);
        set(&mut form.progress_id, self.progress_id);
        set(&mut form.order_id, self.order_id);
        set(&mut form.plan, self.plan);
        set(&mut form.base_assets, number(self.base_assets));
        set(&mut form.status, self.status);
        set(&mut form.activated_on, self.activated_on);
        set(&mut form.bill_on, self.bill_on);
        set(&mut form.next_bill_on, self.next_bill_on);
        set(&mut form.max_capacity_mbps, number(self.max_capacity_mbps));
        set(&mut form.loadmaster_limit, number(self.loadmaster_limit));
        if let Some(p) = self.pooled {
            form.pooled = p;
        }
        if self.clear_add_ons || !self.add_ons.is_empty() {
            form.add_ons = self.add_ons.join("\n");
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: settings: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(&settings.log);
    if let Err(e) = run(
        cli.command.unwrap_or(Command::Serve {
            seed_demo_if_empty: false,
        }),
        settings,
    )
    .await
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    if let Command::ReportingKey = command {
        let seed: [u8; 32] = rand::random();
        let key = bandpool_services::metered_reporting::signing_key(&hex::encode(seed))?;
        println!("metered_reports_signing_key = \"{}\"", hex::encode(seed));
        println!(
            "public key (register it with the vendor): {}",
            hex::encode(key.verifying_key().as_bytes())
        );
        return Ok(());
    }
    let db = Db::connect_with(
        settings.database.database_url.expose(),
        settings.database.db_max_connections,
    )
    .await?;
    db.migrate().await?;
    let clock = Clock::system();
    match command {
        Command::Migrate => {
            println!("database migrated ({})", settings.redacted_database_url());
        }
        Command::SeedDemo {
            licenses,
            if_empty,
            tenant_name,
            metered_tenant,
        } => {
            seed(&db, &clock, licenses, if_empty, tenant_name).await?;
            if metered_tenant
                && tenants::tenant_id_named(&db, accounts::METERED_DEMO)
                    .await?
                    .is_none()
            {
                let metered = accounts::seed_metered_demo(&db, &clock).await?;
                println!(
                    "seeded tenant {metered} ({}): a metered contract of 50 activations, for metered LoadMasters",
                    accounts::METERED_DEMO
                );
            }
        }
        Command::CreateTenant {
            name,
            owner_email,
            max_capacity_mbps,
            loadmaster_limit,
        } => {
            let services = settings.services(db.clone(), clock.clone())?;
            let actor = bandpool_services::Actor::system("command line");
            let created = bandpool_services::tenants::create(
                &services,
                &actor,
                &name,
                &owner_email,
                max_capacity_mbps,
                loadmaster_limit,
            )
            .await?;
            println!(
                "tenant {} created; {owner_email} invited as Owner:\n{}",
                created.tenant_id, created.invitation_url
            );
            // The command line has no mail sender running: send the queued invitation now.
            match bandpool_services::mail::send_due(&services).await {
                Ok(_) => {
                    let sent =
                        bandpool_services::reads::outbox::deliveries(&db, &created.tenant_id, 1)
                            .await?;
                    if sent.first().is_some_and(|m| m.status != "delivered") {
                        eprintln!(
                            "warning: the invitation email was not sent yet (it stays queued for the portal to retry); send the link above to {owner_email} yourself"
                        );
                    }
                }
                Err(error) => {
                    eprintln!("warning: {error}; send the link above to {owner_email} yourself")
                }
            }
        }
        Command::CreateOperator { email } => {
            let password = std::env::var("BANDPOOL_OPERATOR_PASSWORD").ok();
            let user_id = accounts::create_operator(&db, &clock, &email, password).await?;
            println!("{email} ({user_id}) is an operator");
        }
        Command::CreateConnector {
            name,
            tenant_id,
            tenant_name,
        } => {
            let tenant_id = tenant_named_or_first(&db, tenant_id, tenant_name).await?;
            let services = settings.services(db.clone(), clock.clone())?;
            let actor = bandpool_services::Actor::system("command line");
            let created =
                bandpool_services::connectors::create(&services, &actor, &tenant_id, &name).await?;
            let (id, token) = (created.connector.id, created.registration_token);
            eprintln!("connector {name} ({id}) created in tenant {tenant_id}; its registration token works once, for 24 hours:");
            println!("{token}");
        }
        Command::SetEntitlement(args) => {
            let tenant_id = tenant_or_first(&db, args.tenant_id.clone()).await?;
            let services = settings.services(db.clone(), clock.clone())?;
            let actor = bandpool_services::Actor::system("command line");
            let edit = |form: &mut bandpool_domain::billing::EntitlementForm| args.apply(form);
            let changes =
                bandpool_services::entitlements::edit(&services, &actor, &tenant_id, edit).await?;
            if changes.is_empty() {
                println!("nothing changed");
            }
            for c in changes {
                println!("{}: {} → {}", c.field, c.from, c.to);
            }
        }
        Command::RecordOrder {
            tenant_id,
            tenant_name,
            order_id,
            support,
            support_ends,
            lines,
            spla,
        } => {
            let tenant_id = tenant_named_or_first(&db, tenant_id, tenant_name).await?;
            let services = settings.services(db.clone(), clock.clone())?;
            let input = bandpool_domain::lifecycle::OrderInput {
                order_id,
                support_tier: bandpool_domain::lifecycle::SupportTier::from_key(&support)
                    .ok_or_else(|| {
                        bandpool_domain::AppError::invalid(
                            "support",
                            "must be standard, enterprise or enterprise_plus",
                        )
                    })?,
                support_ends_on: support_ends,
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| bandpool_domain::lifecycle::OrderLineInput::parse(i, l))
                    .collect::<Result<Vec<_>, _>>()?,
                spla,
            };
            let actor = bandpool_services::Actor::system("command line");
            let new =
                bandpool_services::lifecycle::record_order(&services, &actor, &tenant_id, &input)
                    .await?;
            println!(
                "tenant {tenant_id}: order {} {}",
                input.order_id.trim(),
                if new { "recorded" } else { "replaced" }
            );
        }
        Command::SetMeteredContract {
            tenant_id,
            contract_id,
            max_activations,
            trial_days,
            tiers,
        } => {
            let tenant_id = tenant_or_first(&db, tenant_id).await?;
            let services = settings.services(db.clone(), clock.clone())?;
            let tiers = tiers
                .iter()
                .map(|t| bandpool_domain::metered::parse_tier(t))
                .collect::<Result<Vec<_>, _>>()?;
            let contract = bandpool_services::metered::Contract {
                contract_id,
                max_activations,
                trial_ends_at: trial_days.map(|days| clock.now_ts() + days * 86_400),
            };
            bandpool_services::metered::set_contract(&services, &tenant_id, &contract, tiers)
                .await?;
            println!(
                "tenant {tenant_id} has metered contract {} ({} activations{})",
                contract.contract_id,
                contract.max_activations,
                contract
                    .trial_ends_at
                    .map(|end| format!(
                        ", a trial until {}",
                        bandpool_domain::format::format_date(end)
                    ))
                    .unwrap_or_default()
            );
        }
        Command::SeedMeteredHistory { tenant_id, months } => {
            let tenant_id = tenant_or_first(&db, tenant_id).await?;
            let progress = |done: u64, total: u64| {
                if done == total || done % 200_000 < 400 {
                    eprintln!("  {done} of {total} daily peaks");
                }
            };
            let written = bandpool_store::seed::metered_history(
                &db,
                &tenant_id,
                months,
                clock.now_ts(),
                &progress,
            )
            .await?;
            println!(
                "tenant {tenant_id}: {} daily peaks for {} metered LoadMasters over {} days",
                written.daily_peaks, written.loadmasters, written.days
            );
        }
        Command::Sweep => {
            let services = settings.services(db.clone(), clock.clone())?;
            let started = std::time::Instant::now();
            let pass = bandpool_services::connectors::health_pass(&services).await?;
            let health = started.elapsed();
            let started = std::time::Instant::now();
            let expired = bandpool_services::metered::expire_samples(&services).await?;
            let expiry = started.elapsed();
            println!(
                "health pass: {:.3} ms: {} connectors down, {} licenses expired, {} license terms ended, {} subscription warnings, {} syncs finished, {} activations blocked, {} instance checks, {} usage reports uploaded, {} failed",
                health.as_secs_f64() * 1000.0,
                pass.connectors_down,
                pass.licenses_expired,
                pass.lifecycle.terms_ended,
                pass.lifecycle.subscription_warnings,
                pass.syncs_finished,
                pass.activations_blocked,
                pass.instance_checks,
                pass.reporting.delivered,
                pass.reporting.failed
            );
            let started = std::time::Instant::now();
            let repaired = bandpool_services::metered::check_month_totals(&services).await?;
            let check = started.elapsed();
            println!(
                "sample expiry: {:.3} ms: {expired} samples deleted",
                expiry.as_secs_f64() * 1000.0
            );
            println!(
                "metered month totals: {:.3} ms: {repaired} repaired",
                check.as_secs_f64() * 1000.0
            );
            // Mail it queued (blocked activations) goes out with the serving portal's sender.
        }
        Command::CheckLicense {
            text,
            serial,
            access_code,
        } => {
            let text = if text == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&text).map_err(|e| format!("cannot read {text}: {e}"))?
            };
            let services = settings.services(db.clone(), clock.clone())?;
            let key = bandpool_services::offline::signing_key(&services).await?;
            let unit = serial.as_deref().zip(access_code.as_deref());
            let grant = bandpool_domain::offline::verify(&text, &key.verifying_key(), unit)
                .map_err(|why| format!("license text refused: {why}"))?;
            println!("{}", serde_json::to_string_pretty(&grant)?);
        }
        // Answered before the database is opened.
        Command::ReportingKey => {}
        Command::Serve { seed_demo_if_empty } => {
            if seed_demo_if_empty || settings.database.seed_demo_if_empty {
                seed(&db, &clock, 300, true, "Demo Networks".into()).await?;
            }
            web::serve(settings, db, clock).await?;
        }
    }
    Ok(())
}

async fn seed(
    db: &Db,
    clock: &Clock,
    licenses: usize,
    if_empty: bool,
    tenant_name: String,
) -> Result<(), Box<dyn std::error::Error>> {
    if if_empty && tenants::count_tenants(db).await? > 0 {
        println!("a tenant exists already; demo data not added");
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("seeding");
    let started = std::time::Instant::now();
    let options = SeedOptions {
        licenses,
        tenant_name,
        ..SeedOptions::default()
    };
    let report = seed_demo(db, clock.now(), &options, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "seeded tenant {} with {} licenses, {} history records, {} devices, {} days of allocation history; capacity {} Mb/s ({:.1}s)",
        report.tenant_id,
        report.licenses,
        report.history_records,
        report.devices,
        report.allocation_days,
        report.max_capacity_mbps,
        started.elapsed().as_secs_f64()
    );
    let from_env = std::env::var("BANDPOOL_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let demo = accounts::ensure_demo_owner(db, clock, &report.tenant_id, from_env).await?;
    // The demo's communication channel: its Owner's email.
    let mut tx = db.begin_write().await?;
    bandpool_store::notifications::set_channels(
        &mut tx,
        &report.tenant_id,
        &[accounts::DEMO_OWNER.to_string()],
        None,
        false,
        false,
        clock.now_ts(),
    )
    .await?;
    tx.commit().await?;
    match demo {
        Some(generated) => println!(
            "\n  Sign in as {} with the password {generated}\n  (generated now and shown only this once; set BANDPOOL_DEMO_PASSWORD to choose it)\n",
            accounts::DEMO_OWNER
        ),
        None => println!(
            "sign in as {} with the password in BANDPOOL_DEMO_PASSWORD (or the one printed when it was first created)",
            accounts::DEMO_OWNER
        ),
    }
    Ok(())
}

/// The tenant a command names by name, else by id, else the first one.
async fn tenant_named_or_first(
    db: &Db,
    tenant_id: Option<String>,
    tenant_name: Option<String>,
) -> Result<String, Box<dyn std::error::Error>> {
    match tenant_name {
        Some(named) => Ok(tenants::tenant_id_named(db, &named)
            .await?
            .ok_or_else(|| format!("no tenant is named {named:?}"))?),
        None => tenant_or_first(db, tenant_id).await,
    }
}

/// The tenant a command names, or else the first one (the demo's, on a demo database).
async fn tenant_or_first(
    db: &Db,
    tenant_id: Option<String>,
) -> Result<String, Box<dyn std::error::Error>> {
    match tenant_id {
        Some(id) => Ok(id),
        None => Ok(tenants::first_tenant_id(db)
            .await?
            .ok_or("no tenant exists yet: seed the demo or create a tenant first")?),
    }
}
