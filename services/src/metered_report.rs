//! The MELA report: its figures for a range of days (what the page, its graphs and the REST
//! API show), the summary download (a zip of CSV files written as the rows are read) and the
//! full download (every stored sample, as rows to stream).

use bandpool_domain::chart::day_lines;
use bandpool_domain::csv_rules::inert;
use bandpool_domain::metered::bytes_to_mbps;
use bandpool_domain::metered_report::{
    asl_row, csv_time, day_of, fill_days, instances_per_day, MeteredReport, ReportChart,
    ReportCharts, ReportRange, SummaryFile, TopLoadMaster, REPORT_EVENTS_SHOWN, SUMMARY_FILES,
    TOP_LOADMASTERS,
};
use bandpool_domain::AppError;
pub use bandpool_store::metered_report::StoredSample;
use bandpool_store::metered_report::{self as store, Measure};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::Services;

/// The range the caller asked for (`YYYY-MM-DD`, both optional), checked against today.
pub fn range(
    services: &Services,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<ReportRange, AppError> {
    ReportRange::parse(from, to, services.clock.today())
}

/// The tenant's MELA report for `range`.
pub async fn report(
    services: &Services,
    tenant_id: &str,
    range: &ReportRange,
) -> Result<MeteredReport, AppError> {
    let db = &services.db;
    let (start, end) = (range.start(), range.end());
    let (from_day, to_day) = (range.from_day(), range.to_day());
    let before = store::instances_before(db, tenant_id, start).await?;
    let counts = store::instance_counts(db, tenant_id, start, end).await?;
    let instances = instances_per_day(range, before, &counts);
    let (events, events_total) =
        store::latest_events(db, tenant_id, start, end, REPORT_EVENTS_SHOWN).await?;
    let top = |measure| {
        store::top_loadmasters(db, tenant_id, &from_day, &to_day, measure, TOP_LOADMASTERS)
    };
    let top_ssl_tps = top(Measure::SslTps).await?;
    let top_throughput = top(Measure::Throughput).await?;
    let aggregate = store::aggregate_throughput(db, tenant_id, &from_day, &to_day).await?;
    Ok(MeteredReport {
        tenant_name: store::tenant_name(db, tenant_id).await?,
        contract_id: bandpool_store::metered::contract(db, tenant_id)
            .await?
            .map(|c| c.contract_id),
        from: from_day,
        to: to_day,
        max_instances: instances.iter().map(|d| d.value).max().unwrap_or(before),
        instances,
        top_ssl_tps,
        top_throughput,
        aggregate_throughput: fill_days(range, &aggregate),
        events,
        events_total,
    })
}

fn chart(
    unit: &str,
    days: &[String],
    series: Vec<(String, Vec<i64>)>,
) -> Result<ReportChart, AppError> {
    let geometry = day_lines(unit, days, series);
    Ok(ReportChart {
        svg: crate::charts::lines_svg(&geometry)?,
        geometry,
    })
}

/// Draw the report's graphs: every series has a figure for each day of the range.
pub fn charts(report: &MeteredReport) -> Result<ReportCharts, AppError> {
    let days: Vec<String> = report.instances.iter().map(|d| d.day.clone()).collect();
    let per_day = |top: &TopLoadMaster, scale: fn(i64) -> i64| -> Vec<i64> {
        days.iter()
            .map(|day| {
                top.daily
                    .iter()
                    .find(|d| &d.day == day)
                    .map(|d| scale(d.value))
                    .unwrap_or(0)
            })
            .collect()
    };
    let tops = |list: &[TopLoadMaster], unit: &str, scale: fn(i64) -> i64| {
        list.iter()
            .map(|top| chart(unit, &days, vec![(top.label(), per_day(top, scale))]))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(ReportCharts {
        instances: chart(
            "Instances",
            &days,
            vec![(
                "Active metered instances".into(),
                report.instances.iter().map(|d| d.value).collect(),
            )],
        )?,
        top_ssl_tps: tops(&report.top_ssl_tps, "SSL TPS", |v| v)?,
        top_throughput: tops(&report.top_throughput, "Mb/s", bytes_to_mbps)?,
        aggregate_throughput: chart(
            "Mb/s",
            &days,
            vec![(
                "Aggregate throughput".into(),
                report
                    .aggregate_throughput
                    .iter()
                    .map(|d| bytes_to_mbps(d.value))
                    .collect(),
            )],
        )?,
    })
}

/// The report for `range` as a PDF (the "Download PDF" button, the monthly email).
pub async fn pdf(
    services: &Services,
    tenant_id: &str,
    range: &ReportRange,
) -> Result<Vec<u8>, AppError> {
    let report = report(services, tenant_id, range).await?;
    let charts = charts(&report)?;
    Ok(crate::metered_report_pdf::report_pdf(&report, &charts))
}

/// Every stored sample of the tenant in `range`, oldest first (the full download).
pub fn samples(
    services: &Services,
    tenant_id: &str,
    range: &ReportRange,
) -> BoxStream<'static, Result<StoredSample, AppError>> {
    store::stream_samples(&services.db, tenant_id, range.start(), range.end())
}

/// A full download row, in `SAMPLE_COLUMNS`' order.
pub fn sample_row(sample: &StoredSample) -> Vec<String> {
    vec![
        csv_time(sample.sampled_at),
        sample.license_id.clone(),
        sample.bytes_in_per_second.to_string(),
        sample.bytes_out_per_second.to_string(),
        sample.ssl_tps.to_string(),
    ]
}

/// Zipped bytes are handed on once this many are waiting.
const ZIP_CHUNK: usize = 64 * 1024;

/// The summary download: a zip of `SUMMARY_FILES`, each written as its rows are read from
/// the database and sent on in chunks, so memory stays flat however large the range. A
/// database failure midway ends the stream with an error (the client sees a failed download,
/// never a short file that looks whole).
pub fn summary_zip(
    services: &Services,
    tenant_id: &str,
    range: &ReportRange,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let db = services.db.clone();
    let (tenant_id, range) = (tenant_id.to_string(), *range);
    tokio::spawn(async move {
        let zipper = Zipper::new(sender.clone());
        if let Err(error) = write_summary(zipper, &db, &tenant_id, &range).await {
            // Its reader went away (a client that left, or the monthly email that stopped
            // reading at its size limit): nothing failed, and nothing is left to tell.
            if sender.is_closed() {
                tracing::debug!("the report's summary download ended early: its reader left");
                return;
            }
            tracing::error!(%error, "the report's summary download stopped");
            let _ = sender
                .send(Err(std::io::Error::other("download failed")))
                .await;
        }
    });
    futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    })
    .fuse()
    .boxed()
}

async fn write_summary(
    mut zipper: Zipper,
    db: &bandpool_store::Db,
    tenant_id: &str,
    range: &ReportRange,
) -> Result<(), AppError> {
    let [asl, devices, ssl_tps, throughput, vs_bytes] = SUMMARY_FILES;
    let (start, end) = (range.start(), range.end());
    let (from_day, to_day) = (range.from_day(), range.to_day());
    zipper
        .file(asl, store::stream_events(db, tenant_id, start, end), |e| {
            asl_row(e).to_vec()
        })
        .await?;
    zipper
        .file(devices, store::stream_active_devices(db, tenant_id), |d| {
            vec![
                d.id.clone(),
                d.device_name.clone().unwrap_or_default(),
                d.ip_address.clone().unwrap_or_default(),
                d.license_name.clone(),
                csv_time(d.activated_at),
            ]
        })
        .await?;
    // One read of the daily peaks per file: a zip is written one file after the other.
    let peak_row = |p: &store::DayPeaks, peak: i64| {
        vec![
            p.day.clone(),
            p.license_id.clone(),
            p.device_name.clone().unwrap_or_default(),
            peak.to_string(),
        ]
    };
    for (file, peak) in [
        (ssl_tps, (|p| p.peak_ssl_tps) as fn(&store::DayPeaks) -> i64),
        (throughput, |p| p.peak_bytes_per_second),
    ] {
        let rows = store::stream_daily_peaks(db, tenant_id, &from_day, &to_day);
        zipper.file(file, rows, |p| peak_row(p, peak(p))).await?;
    }
    zipper
        .file(
            vs_bytes,
            store::stream_virtual_service_days(db, tenant_id, start, end),
            |v| {
                vec![
                    day_of(v.day_number),
                    v.license_id.clone(),
                    v.name.clone(),
                    v.bytes.to_string(),
                ]
            },
        )
        .await?;
    zipper.finish().await
}

/// Where the zip writer's output collects until it is handed on.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<u8>>>);

impl Collected {
    fn len(&self) -> usize {
        self.0.lock().map(|b| b.len()).unwrap_or(0)
    }

    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl Write for Collected {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("zip buffer poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Zipper {
    zip: zip::ZipWriter<zip::write::StreamWriter<Collected>>,
    out: Collected,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

fn zip_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("writing the zip failed: {e}"))
}

impl Zipper {
    fn new(sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Zipper {
        let out = Collected::default();
        Zipper {
            zip: zip::ZipWriter::new_stream(out.clone()),
            out,
            sender,
        }
    }

    /// Hand on what has collected; the receiver gone (the client left) stops the writing.
    async fn hand_on(
        out: &Collected,
        sender: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) -> Result<(), AppError> {
        let bytes = out.take();
        if bytes.is_empty() {
            return Ok(());
        }
        sender
            .send(Ok(Bytes::from(bytes)))
            .await
            .map_err(|_| AppError::internal("the client left the download"))
    }

    async fn file<T>(
        &mut self,
        file: SummaryFile,
        mut rows: BoxStream<'static, Result<T, AppError>>,
        row: impl Fn(&T) -> Vec<String>,
    ) -> Result<(), AppError> {
        let Zipper { zip, out, sender } = self;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(file.name, options).map_err(zip_error)?;
        let mut csv = csv::Writer::from_writer(zip);
        csv.write_record(file.columns).map_err(zip_error)?;
        while let Some(item) = rows.next().await {
            let cells = row(&item?);
            csv.write_record(cells.iter().map(|c| inert(c).into_owned()))
                .map_err(zip_error)?;
            if out.len() >= ZIP_CHUNK {
                Zipper::hand_on(out, sender).await?;
            }
        }
        csv.flush().map_err(zip_error)?;
        Ok(())
    }

    async fn finish(self) -> Result<(), AppError> {
        let Zipper { zip, out, sender } = self;
        zip.finish().map_err(zip_error)?;
        Zipper::hand_on(&out, &sender).await
    }
}
