//! Metered licensing (MELA): a metered tenant is billed monthly, in arrears, for the sum
//! over its metered LoadMasters of each one's peak throughput in the month, and the sum
//! falls in one of the usage tiers its contract defines. Every five minutes each metered
//! LoadMaster reports a usage sample through its connector; the portal keeps each
//! LoadMaster's peak per UTC day and per month as the samples arrive.
//!
//! A sample's throughput is what passed through the LoadMaster: bytes in plus bytes out per
//! second. Figures are kept in bytes per second and shown in bits per second (Mb/s, Gb/s),
//! as the product's documents quote them.

use crate::names::is_plain_text;
use crate::AppError;
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

/// At most this many samples in one usage report (a connector with 1,000 LoadMasters sends
/// one report every five minutes, or a backlog in several).
pub const MAX_SAMPLES_PER_REPORT: usize = 5_000;
/// At most this many Virtual Services per sample.
pub const MAX_VIRTUAL_SERVICES_PER_SAMPLE: usize = 1_000;
/// A sample may be stamped this far ahead of the portal's clock (the agent's clock drifts).
pub const MAX_CLOCK_AHEAD_SECONDS: i64 = 300;
/// No figure in a sample may exceed this (a petabyte per second: far beyond any appliance,
/// small enough that a month's sum over a million LoadMasters stays inside `i64`).
pub const MAX_RATE: i64 = 1_000_000_000_000_000;

/// POST /api/v1/connector/usage: usage samples of many LoadMasters, as the agent queued them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageReport {
    pub idempotency_key: String,
    pub samples: Vec<UsageSample>,
}

/// One LoadMaster's usage over the five minutes before `sampled_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageSample {
    pub license_id: String,
    pub serial_no: String,
    /// When the LoadMaster took the sample (Unix seconds UTC).
    pub sampled_at: i64,
    /// Network throughput, bytes per second received and sent.
    pub bytes_in_per_second: i64,
    pub bytes_out_per_second: i64,
    /// SSL transactions per second.
    pub ssl_tps: i64,
    /// Bytes each Virtual Service transferred over the interval.
    #[serde(default)]
    pub virtual_services: Vec<VirtualServiceBytes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VirtualServiceBytes {
    /// The Virtual Service's `address:port` (or its name).
    pub name: String,
    pub bytes: i64,
}

/// The portal's answer to a usage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageReportResponse {
    /// Samples recorded now.
    pub recorded: usize,
    /// Samples the portal had already (the same LoadMaster and time): counted once.
    pub duplicates: usize,
    /// Samples not taken, each with its reason's code, in the order of the report.
    pub refused: Vec<RefusedSample>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefusedSample {
    pub license_id: String,
    pub sampled_at: i64,
    /// `unknown_license` (not a license this connector issued) or `sample_too_old` (older
    /// than the portal keeps samples).
    pub code: String,
}

impl UsageSample {
    /// The sample's throughput: bytes in plus bytes out per second.
    pub fn throughput(&self) -> i64 {
        self.bytes_in_per_second + self.bytes_out_per_second
    }

    /// Check a sample's shape against the portal's clock `now`; the refusal names the field.
    pub fn check(&self, now: i64) -> Result<(), AppError> {
        let text = |field: &str, value: &str| {
            if value.trim().is_empty() || !is_plain_text(value, 64) {
                Err(AppError::invalid(field, "must be 1 to 64 plain characters"))
            } else {
                Ok(())
            }
        };
        text("license_id", &self.license_id)?;
        text("serial_no", &self.serial_no)?;
        if self.sampled_at < 0 || self.sampled_at > now + MAX_CLOCK_AHEAD_SECONDS {
            return Err(AppError::invalid(
                "sampled_at",
                "must be a Unix time no later than the portal's clock",
            ));
        }
        for (field, value) in [
            ("bytes_in_per_second", self.bytes_in_per_second),
            ("bytes_out_per_second", self.bytes_out_per_second),
            ("ssl_tps", self.ssl_tps),
        ] {
            rate(field, value)?;
        }
        if self.virtual_services.len() > MAX_VIRTUAL_SERVICES_PER_SAMPLE {
            return Err(AppError::invalid(
                "virtual_services",
                format!("at most {MAX_VIRTUAL_SERVICES_PER_SAMPLE} per sample"),
            ));
        }
        for vs in &self.virtual_services {
            if vs.name.trim().is_empty() || !is_plain_text(&vs.name, 100) {
                return Err(AppError::invalid(
                    "virtual_services.name",
                    "must be 1 to 100 plain characters",
                ));
            }
            rate("virtual_services.bytes", vs.bytes)?;
        }
        Ok(())
    }
}

fn rate(field: &str, value: i64) -> Result<(), AppError> {
    if (0..=MAX_RATE).contains(&value) {
        Ok(())
    } else {
        Err(AppError::invalid(field, format!("must be 0 to {MAX_RATE}")))
    }
}

/// Check a whole report before any work: its size and every sample's shape.
pub fn check_report(report: &UsageReport, now: i64) -> Result<(), AppError> {
    if report.samples.len() > MAX_SAMPLES_PER_REPORT {
        return Err(AppError::invalid(
            "samples",
            format!("at most {MAX_SAMPLES_PER_REPORT} samples per report"),
        ));
    }
    report.samples.iter().try_for_each(|s| s.check(now))
}

/// The UTC day (`YYYY-MM-DD`) and month (`YYYY-MM`) a time falls in.
pub fn day_and_month(at: i64) -> (String, String) {
    let day = DateTime::from_timestamp(at, 0)
        .map(|t| t.date_naive())
        .unwrap_or(NaiveDate::MIN);
    (
        day.format("%Y-%m-%d").to_string(),
        day.format("%Y-%m").to_string(),
    )
}

/// Bytes per second as megabits per second, rounded down (what tiers are defined in).
pub fn bytes_to_mbps(bytes_per_second: i64) -> i64 {
    bytes_per_second.saturating_mul(8) / 1_000_000
}

/// A usage tier: monthly usage from `from_mbps` (inclusive) up to the next tier's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct Tier {
    pub name: String,
    pub from_mbps: i64,
}

/// A contract's tiers, checked: named, the first starting at 0, each starting above the one
/// before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiers(Vec<Tier>);

impl Tiers {
    pub const MAX: usize = 20;

    pub fn new(mut tiers: Vec<Tier>) -> Result<Tiers, AppError> {
        if tiers.is_empty() || tiers.len() > Self::MAX {
            return Err(AppError::invalid(
                "tiers",
                format!("must be 1 to {} tiers", Self::MAX),
            ));
        }
        tiers.sort_by_key(|t| t.from_mbps);
        if tiers[0].from_mbps != 0 {
            return Err(AppError::invalid(
                "tiers",
                "the first tier must start at 0 Mb/s",
            ));
        }
        for pair in tiers.windows(2) {
            if pair[0].from_mbps == pair[1].from_mbps {
                return Err(AppError::invalid(
                    "tiers",
                    format!("two tiers start at {} Mb/s", pair[0].from_mbps),
                ));
            }
        }
        for tier in &tiers {
            if tier.name.trim().is_empty() || !is_plain_text(&tier.name, 60) {
                return Err(AppError::invalid(
                    "tiers.name",
                    "must be 1 to 60 plain characters",
                ));
            }
            crate::names::capacity("tiers.from_mbps", tier.from_mbps)?;
        }
        Ok(Tiers(tiers))
    }

    pub fn as_slice(&self) -> &[Tier] {
        &self.0
    }

    /// The tier a month's usage falls in: the last whose start it has reached.
    pub fn tier_for(&self, usage_mbps: i64) -> &Tier {
        self.0
            .iter()
            .rev()
            .find(|t| usage_mbps >= t.from_mbps)
            .unwrap_or(&self.0[0])
    }
}

/// A tenant's metered contract (MELA) as the operator keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeteredContract {
    pub contract_id: String,
    /// How many metered LoadMasters may hold a license at once.
    pub max_activations: i64,
    /// A metered trial: five activations at most, refused after this time (Unix seconds).
    pub trial_ends_at: Option<i64>,
    pub tiers: Vec<Tier>,
}

/// A tier as the operator writes it: `<from Mb/s>=<name>` (`5000=Tier 2`), on the command
/// line (`--tier`) and one per line in the contract form.
pub fn parse_tier(text: &str) -> Result<Tier, AppError> {
    let (from, name) = text.split_once('=').ok_or_else(|| {
        AppError::invalid(
            "tiers",
            format!(
                "{:?}: write a tier as <from Mb/s>=<name>, like 5000=Tier 2",
                text.trim()
            ),
        )
    })?;
    let from_mbps = from.trim().replace(',', "").parse::<i64>().map_err(|_| {
        AppError::invalid(
            "tiers",
            format!(
                "{:?}: {:?} is not a whole number of Mb/s",
                text.trim(),
                from.trim()
            ),
        )
    })?;
    Ok(Tier {
        name: name.trim().to_string(),
        from_mbps,
    })
}

/// The operator's contract form as typed (every field text, tiers one per line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractForm {
    pub contract_id: String,
    pub max_activations: String,
    /// `YYYY-MM-DD`, or empty for a contract that is no trial.
    pub trial_ends_on: String,
    pub tiers: String,
}

impl ContractForm {
    /// The form showing `contract` (an empty form for a tenant without one).
    pub fn of(contract: Option<&MeteredContract>) -> ContractForm {
        let Some(c) = contract else {
            return ContractForm {
                tiers: "0=Tier 1".into(),
                ..ContractForm::default()
            };
        };
        ContractForm {
            contract_id: c.contract_id.clone(),
            max_activations: c.max_activations.to_string(),
            trial_ends_on: c
                .trial_ends_at
                .map(crate::format::format_date)
                .unwrap_or_default(),
            tiers: c
                .tiers
                .iter()
                .map(|t| format!("{}={}", t.from_mbps, t.name))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The contract the form describes, checked (the tiers by `Tiers::new`); a refusal
    /// names the field.
    pub fn parse(&self) -> Result<MeteredContract, AppError> {
        let max_activations =
            crate::billing::parse_count("max_activations", &self.max_activations)?;
        if max_activations < 0 {
            return Err(AppError::invalid("max_activations", "must be 0 or more"));
        }
        let tiers = self
            .tiers
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_tier)
            .collect::<Result<Vec<_>, _>>()?;
        let tiers = Tiers::new(tiers)?.as_slice().to_vec();
        Ok(MeteredContract {
            contract_id: self.contract_id.trim().to_string(),
            max_activations,
            trial_ends_at: crate::billing::parse_day("trial_ends_on", &self.trial_ends_on)?,
            tiers,
        })
    }
}

/// A month's metered usage as the portal shows and bills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeteredMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The sum over metered LoadMasters of each one's peak throughput in the month.
    pub usage_bytes_per_second: i64,
    pub usage_mbps: i64,
    /// Metered LoadMasters that reported in the month.
    pub loadmasters: i64,
    /// The usage tier the sum falls in (none while the tenant has no metered contract).
    pub tier: Option<Tier>,
    /// The month is still running: its figure is "so far"; a closed month's is final.
    pub so_far: bool,
}

/// A month's metered usage: the sum over metered LoadMasters of each one's peak in the month.
pub fn monthly_usage(peaks_bytes_per_second: impl IntoIterator<Item = i64>) -> i64 {
    peaks_bytes_per_second
        .into_iter()
        .fold(0i64, |sum, peak| sum.saturating_add(peak))
}

/// One LoadMaster's peaks in a month (the Metered usage page's table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct LoadMasterPeak {
    pub license_id: String,
    /// Empty once its license was killed (the name goes with the LoadMaster).
    pub device_name: String,
    pub serial_no: String,
    pub license_type: String,
    /// Counts toward metered usage (licensed through a connector under the contract).
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::Flag"))]
    pub metered: bool,
    /// The month's peak throughput, bytes in plus out per second.
    pub peak_bytes_per_second: i64,
    /// When it peaked (Unix seconds UTC).
    pub peak_at: i64,
    pub peak_ssl_tps: i64,
}

/// How the per-LoadMaster table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeakSort {
    /// Highest peak first (the default).
    Peak,
    Name,
    SslTps,
}

/// A page of the per-LoadMaster table: which month, which rows, how many in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoadMasterPeaks {
    pub month: String,
    pub loadmasters: Vec<LoadMasterPeak>,
    /// Rows matching the search, over all pages.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The per-LoadMaster table's view: month, search, order and page, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakQuery {
    /// `YYYY-MM`; none: the current month.
    pub month: Option<String>,
    pub search: Option<String>,
    pub sort: PeakSort,
    pub descending: bool,
    pub page: u32,
    pub per_page: u32,
}

impl PeakQuery {
    pub const MAX_PER_PAGE: u32 = 500;

    /// Read the view from query parameters (`month`, `search`, `sort` = peak | name |
    /// ssl_tps, `order` = asc | desc, `page`, `per_page`); a refusal names the parameter.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<PeakQuery, AppError> {
        let mut query = PeakQuery {
            month: None,
            search: None,
            sort: PeakSort::Peak,
            descending: true,
            page: 1,
            per_page: 25,
        };
        let mut order = None;
        for (name, value) in pairs {
            let value = value.trim();
            match name {
                "month" if value.is_empty() => {}
                "month" => {
                    crate::allocation::parse_month(value)
                        .ok_or_else(|| AppError::invalid("month", "must be a month as YYYY-MM"))?;
                    query.month = Some(value.to_string());
                }
                "search" if value.is_empty() => {}
                "search" => {
                    if !is_plain_text(value, 100) {
                        return Err(AppError::invalid(
                            "search",
                            "must be at most 100 plain characters",
                        ));
                    }
                    query.search = Some(value.to_string());
                }
                "sort" => {
                    query.sort = match value {
                        "peak" => PeakSort::Peak,
                        "name" => PeakSort::Name,
                        "ssl_tps" => PeakSort::SslTps,
                        _ => {
                            return Err(AppError::invalid("sort", "must be peak, name or ssl_tps"))
                        }
                    }
                }
                "order" => {
                    order = Some(match value {
                        "asc" => false,
                        "desc" => true,
                        _ => return Err(AppError::invalid("order", "must be asc or desc")),
                    })
                }
                "page" => {
                    query.page = value
                        .parse()
                        .ok()
                        .filter(|p| (1..=1_000_000).contains(p))
                        .ok_or_else(|| AppError::invalid("page", "must be a page number from 1"))?
                }
                "per_page" => {
                    query.per_page = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=Self::MAX_PER_PAGE).contains(n))
                        .ok_or_else(|| {
                            AppError::invalid(
                                "per_page",
                                format!("must be 1 to {}", Self::MAX_PER_PAGE),
                            )
                        })?
                }
                other => {
                    return Err(AppError::invalid(
                        other,
                        "is not a parameter here (month, search, sort, order, page, per_page)",
                    ))
                }
            }
        }
        // By name reads best from A; by figures, from the highest.
        query.descending = order.unwrap_or(query.sort != PeakSort::Name);
        Ok(query)
    }
}

/// One LoadMaster's peak on one UTC day (the drill-down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct DailyPeak {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub peak_bytes_per_second: i64,
    pub peak_at: i64,
    pub peak_ssl_tps: i64,
    /// Samples taken that day.
    pub samples: i64,
}

/// "Block unconfirmed activations after": the periods a tenant may choose, in seconds, with
/// their words. An activation its connector has not confirmed (no usage sample) in that time
/// is removed and its address blocked.
pub const BLOCK_AFTER_CHOICES: [(i64, &str); 6] = [
    (3_600, "1 hour"),
    (28_800, "8 hours"),
    (86_400, "1 day"),
    (172_800, "2 days"),
    (259_200, "3 days"),
    (604_800, "7 days"),
];

/// Three days: a license taken on a Friday is not blocked over the weekend.
pub const DEFAULT_BLOCK_AFTER: i64 = 259_200;

/// The words for one of the choices (or the seconds, for a value stored before a change).
pub fn block_after_label(seconds: i64) -> String {
    BLOCK_AFTER_CHOICES
        .iter()
        .find(|(s, _)| *s == seconds)
        .map(|(_, label)| label.to_string())
        .unwrap_or_else(|| format!("{seconds} seconds"))
}

/// Check a chosen period: one of the choices.
pub fn check_block_after(seconds: i64) -> Result<i64, AppError> {
    if BLOCK_AFTER_CHOICES.iter().any(|(s, _)| *s == seconds) {
        Ok(seconds)
    } else {
        Err(AppError::invalid(
            "block_unconfirmed_after_seconds",
            "must be 3600 (1 hour), 28800 (8 hours), 86400 (1 day), 172800 (2 days), 259200 (3 days) or 604800 (7 days)",
        ))
    }
}

/// A metered activation's status in the Activations table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ActivationStatus {
    /// Holds its license.
    Active,
    /// Its LoadMaster gave the license back.
    Deleted,
    /// Its license was killed or expired.
    Disabled,
    /// Removed because its connector never confirmed it; its address may not activate again
    /// until unblocked.
    Blocked,
}

stored_as_key!(ActivationStatus, "activation status");

impl ActivationStatus {
    pub const ALL: [ActivationStatus; 4] = [
        ActivationStatus::Active,
        ActivationStatus::Deleted,
        ActivationStatus::Disabled,
        ActivationStatus::Blocked,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ActivationStatus::Active => "active",
            ActivationStatus::Deleted => "deleted",
            ActivationStatus::Disabled => "disabled",
            ActivationStatus::Blocked => "blocked",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// As the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            ActivationStatus::Active => "ACTIVE",
            ActivationStatus::Deleted => "DELETED",
            ActivationStatus::Disabled => "DISABLED",
            ActivationStatus::Blocked => "BLOCKED",
        }
    }

    /// The filter's check box label.
    pub fn filter_label(self) -> &'static str {
        match self {
            ActivationStatus::Active => "Active",
            ActivationStatus::Deleted => "Deleted",
            ActivationStatus::Disabled => "Disabled",
            ActivationStatus::Blocked => "Blocked",
        }
    }

    /// Parse the statuses a filter names (`status=active&status=blocked`); none or `all`
    /// is every status.
    pub fn parse_filter<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<ActivationStatus>, AppError> {
        let mut chosen = Vec::new();
        for value in values {
            if value == "all" {
                return Ok(Self::ALL.to_vec());
            }
            let status = Self::from_key(value).ok_or_else(|| {
                AppError::invalid(
                    "status",
                    "must be active, deleted, disabled, blocked or all",
                )
            })?;
            if !chosen.contains(&status) {
                chosen.push(status);
            }
        }
        if chosen.is_empty() {
            chosen = Self::ALL.to_vec();
        }
        Ok(chosen)
    }
}

/// One row of the Activations table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct ActivationRow {
    pub license_id: String,
    /// Twelve lower-case hexadecimal digits, as the LoadMaster said.
    pub mac_address: Option<String>,
    pub loadmaster_version: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ActivationStatus,
    /// Unix seconds UTC.
    pub activated_at: i64,
    pub booted_at: Option<i64>,
    pub last_kill_at: Option<i64>,
    pub license_type: String,
    /// The hypervisor it runs on.
    pub vlm_name: Option<String>,
    pub ip_address: String,
    /// When its first usage sample arrived (none: unconfirmed).
    pub confirmed_at: Option<i64>,
}

impl ActivationRow {
    /// The MAC address as people read it (`00:50:56:00:00:02`); "—" when not known.
    pub fn mac_label(&self) -> String {
        match &self.mac_address {
            Some(mac) if mac.len() == 12 && mac.is_ascii() => mac
                .as_bytes()
                .chunks(2)
                .map(|pair| String::from_utf8_lossy(pair).into_owned())
                .collect::<Vec<_>>()
                .join(":"),
            Some(other) => other.clone(),
            None => "—".into(),
        }
    }
}

/// The Activations table: its heading figures and the rows the filter chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Activations {
    /// "Max Activations Available" (five at most on a trial).
    pub max_activations: i64,
    /// "Current Number of Activations": metered licenses held now.
    pub current_activations: i64,
    /// "Block unconfirmed activations after", in seconds.
    pub block_unconfirmed_after_seconds: i64,
    /// A trial's end, if the contract is a trial.
    pub trial_ends_at: Option<i64>,
    pub rows: Vec<ActivationRow>,
}

/// `Activations_YYYYMMDD.csv`, for the given (UTC) day.
pub fn activations_file_name(today: NaiveDate) -> String {
    format!("Activations_{}.csv", today.format("%Y%m%d"))
}

/// The Activations CSV: a header and one line per row, in the table's order.
pub fn activations_csv(rows: &[ActivationRow]) -> Vec<Vec<String>> {
    let date = |t: Option<i64>| t.map(crate::format::format_datetime).unwrap_or_default();
    let mut lines = vec![[
        "MAC Address",
        "LoadMaster Version",
        "Status",
        "Activation Date",
        "Boot Date",
        "Last Kill Date",
        "License Type",
        "VLM Name",
        "IP Address",
    ]
    .map(String::from)
    .to_vec()];
    // What a LoadMaster said about itself is kept inert for spreadsheets.
    let text =
        |s: &Option<String>| crate::csv_rules::inert(s.as_deref().unwrap_or("")).into_owned();
    for row in rows {
        lines.push(vec![
            text(&row.mac_address.as_ref().map(|_| row.mac_label())),
            text(&row.loadmaster_version),
            row.status.label().to_string(),
            date(Some(row.activated_at)),
            date(row.booted_at),
            date(row.last_kill_at),
            crate::csv_rules::inert(&row.license_type).into_owned(),
            text(&row.vlm_name),
            row.ip_address.clone(),
        ]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_form_reads_tiers_and_dates_and_names_the_bad_field() {
        let form = ContractForm {
            contract_id: " MELA-1 ".into(),
            max_activations: "1,000".into(),
            trial_ends_on: "2027-01-31".into(),
            tiers: "5000=Tier 2\n\n0=Tier 1\n".into(),
        };
        let contract = form.parse().unwrap();
        assert_eq!(contract.contract_id, "MELA-1");
        assert_eq!(contract.max_activations, 1_000);
        assert_eq!(
            contract.trial_ends_at.map(crate::format::format_date),
            Some("2027-01-31".into())
        );
        assert_eq!(
            contract
                .tiers
                .iter()
                .map(|t| t.from_mbps)
                .collect::<Vec<_>>(),
            vec![0, 5_000]
        );
        // Shown again, it reads the same.
        assert_eq!(ContractForm::of(Some(&contract)).parse().unwrap(), contract);
        let field = |f: ContractForm| match f.parse() {
            Err(AppError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let bad = |change: fn(&mut ContractForm)| {
            let mut f = form.clone();
            change(&mut f);
            field(f)
        };
        assert_eq!(
            bad(|f| f.max_activations = "many".into()),
            "max_activations"
        );
        assert_eq!(bad(|f| f.max_activations = "-1".into()), "max_activations");
        assert_eq!(
            bad(|f| f.trial_ends_on = "31/01/2027".into()),
            "trial_ends_on"
        );
        assert_eq!(bad(|f| f.tiers = "Tier 1".into()), "tiers");
        assert_eq!(bad(|f| f.tiers = "5000=Tier 2".into()), "tiers");
        assert_eq!(bad(|f| f.tiers = "x=Tier 1".into()), "tiers");
    }

    fn tiers() -> Tiers {
        Tiers::new(vec![
            Tier {
                name: "Tier 2".into(),
                from_mbps: 5_000,
            },
            Tier {
                name: "Tier 1".into(),
                from_mbps: 0,
            },
            Tier {
                name: "Tier 3".into(),
                from_mbps: 10_000,
            },
        ])
        .unwrap()
    }

    #[test]
    fn the_peak_table_query_is_checked_parameter_by_parameter() {
        let q =
            PeakQuery::from_pairs([("month", "2026-11"), ("sort", "name"), ("page", "2")]).unwrap();
        assert_eq!(
            (q.month.as_deref(), q.sort, q.descending, q.page),
            (Some("2026-11"), PeakSort::Name, false, 2)
        );
        assert!(
            PeakQuery::from_pairs([]).unwrap().descending,
            "highest peak first"
        );
        for (name, value) in [
            ("month", "2026-13"),
            ("sort", "size"),
            ("order", "up"),
            ("page", "0"),
            ("per_page", "501"),
            ("colour", "red"),
        ] {
            let refused = PeakQuery::from_pairs([(name, value)]).unwrap_err();
            assert!(refused.to_string().contains(name), "{name}: {refused}");
        }
    }

    #[test]
    fn tier_boundaries_belong_to_the_tier_they_start() {
        let tiers = tiers();
        assert_eq!(tiers.tier_for(0).name, "Tier 1");
        assert_eq!(tiers.tier_for(4_999).name, "Tier 1");
        assert_eq!(tiers.tier_for(5_000).name, "Tier 2");
        assert_eq!(tiers.tier_for(9_999).name, "Tier 2");
        assert_eq!(tiers.tier_for(10_000).name, "Tier 3");
        assert_eq!(tiers.tier_for(i64::MAX).name, "Tier 3");
    }

    #[test]
    fn tiers_must_start_at_zero_and_not_repeat() {
        let start = Tiers::new(vec![Tier {
            name: "A".into(),
            from_mbps: 10,
        }]);
        assert_eq!(start.unwrap_err().code(), "invalid_parameter");
        let twice = Tiers::new(vec![
            Tier {
                name: "A".into(),
                from_mbps: 0,
            },
            Tier {
                name: "B".into(),
                from_mbps: 0,
            },
        ]);
        assert!(twice
            .unwrap_err()
            .to_string()
            .contains("two tiers start at 0"));
        assert!(Tiers::new(vec![]).is_err());
    }

    #[test]
    fn the_documents_example_sums_each_loadmasters_peak() {
        // 1.5 + 2.7 + 5.3 = 9.5 Gb/s, in bytes per second.
        let gbps = |g: f64| (g * 1e9 / 8.0) as i64;
        let usage = monthly_usage([gbps(1.5), gbps(2.7), gbps(5.3)]);
        assert_eq!(bytes_to_mbps(usage), 9_500);
    }

    #[test]
    fn days_and_months_are_utc() {
        // 2026-01-31 23:59:59 UTC and one second later.
        assert_eq!(
            day_and_month(1_769_903_999),
            ("2026-01-31".into(), "2026-01".into())
        );
        assert_eq!(
            day_and_month(1_769_904_000),
            ("2026-02-01".into(), "2026-02".into())
        );
    }

    #[test]
    fn a_sample_is_checked_field_by_field() {
        let sample = UsageSample {
            license_id: "l".into(),
            serial_no: "s".into(),
            sampled_at: 100,
            bytes_in_per_second: 1,
            bytes_out_per_second: 2,
            ssl_tps: 3,
            virtual_services: vec![],
        };
        assert!(sample.check(100).is_ok());
        assert_eq!(sample.throughput(), 3);
        let future = UsageSample {
            sampled_at: 100 + MAX_CLOCK_AHEAD_SECONDS + 1,
            ..sample.clone()
        };
        assert!(future
            .check(100)
            .unwrap_err()
            .to_string()
            .contains("sampled_at"));
        let negative = UsageSample {
            ssl_tps: -1,
            ..sample.clone()
        };
        assert!(negative
            .check(100)
            .unwrap_err()
            .to_string()
            .contains("ssl_tps"));
        let vs = UsageSample {
            virtual_services: vec![VirtualServiceBytes {
                name: "".into(),
                bytes: 1,
            }],
            ..sample
        };
        assert!(vs.check(100).is_err());
    }
}
