//! CSV downloads. GET /api/v1/licenses/export.csv: every license of the pool, all ten
//! columns, as Pool_usage_YYYYMMDD.csv. GET /api/v1/events/export.csv: the event log with
//! the page's filters, as Event_log_YYYYMMDD.csv. Rows stream from the database through the
//! csv writer in small chunks, so memory stays flat at a million rows.

use super::events::EventFilters;
use super::Ask;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bandpool_domain::auth::Permission;
use bandpool_domain::csv_rules::{export_file_name, header as csv_header, inert, row};
use bandpool_domain::events::{Event, EventQuery, EVENT_PARAMS};
use bandpool_domain::license::License;
use bandpool_domain::AppError;
use bytes::Bytes;
use futures::StreamExt;

const ROWS_PER_CHUNK: usize = 500;

/// How one kind of row becomes CSV.
pub(super) struct CsvShape<T> {
    pub header: Vec<&'static str>,
    pub row: fn(&T) -> Vec<String>,
}

fn encode<T>(shape: &CsvShape<T>, items: &[T], with_header: bool) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(items.len() * 96 + 128));
    if with_header {
        writer.write_record(&shape.header)?;
    }
    for item in items {
        writer.write_record((shape.row)(item))?;
    }
    let buffer = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(Bytes::from(buffer))
}

/// Every license of the pool as Pool_usage_YYYYMMDD.csv (all ten columns; Bandwidth in Mb/s),
/// in the License overview's order: `sort` and `order` as the overview takes them (by device
/// name, ascending, when not given).
#[utoipa::path(
    get, path = "/licenses/export.csv", tag = "licenses", operation_id = "exportLicenses",
    params(
        ("sort" = Option<String>, Query, description = "The overview's sort column: device_name, ip_address, serial_no, license_name, status, bandwidth, ssl_tps, grace_period, activation_date or recovery_date"),
        ("order" = Option<String>, Query, description = "asc or desc"),
    ),
    responses((status = 200, description = "CSV file", content_type = "text/csv", body = String))
)]
pub async fn export_csv(ask: Ask) -> Result<Response, AppError> {
    let (tenant, params) = ask.reads_with(&["sort", "order"], Permission::Export)?;
    let order = bandpool_domain::license::LicenseQueryParams {
        sort: params.0.get("sort").cloned(),
        order: params.0.get("order").cloned(),
        ..Default::default()
    }
    .parse()?;
    let file_name = export_file_name(ask.clock.today());
    let rows = bandpool_store::licenses::stream_all(&ask.db, tenant, order.sort, order.order);
    let shape = CsvShape {
        header: csv_header(),
        row: |license: &License| row(license).to_vec(),
    };
    csv_download(rows, shape, file_name).await
}

/// The event log as Event_log_YYYYMMDD.csv, with the same filters as the list.
#[utoipa::path(
    get, path = "/events/export.csv", tag = "events", operation_id = "exportEvents",
    params(EventFilters),
    responses((status = 200, description = "CSV file", content_type = "text/csv", body = String))
)]
pub async fn export_events(ask: Ask) -> Result<Response, AppError> {
    let tenant = ask.caller.tenant(Permission::Export)?;
    let (_, params) = ask.reads_with(EVENT_PARAMS, Permission::ViewEvents)?;
    let query = EventQuery::parse(&params.to_map())?;
    let file_name = format!("Event_log_{}.csv", ask.clock.today().format("%Y%m%d"));
    let rows = bandpool_store::events::stream(&ask.db, &tenant, &query);
    let shape = CsvShape {
        header: vec![
            "Time (UTC)",
            "Actor",
            "Action",
            "Target",
            "Detail",
            "Request ID",
        ],
        row: |event: &Event| {
            let time = chrono::DateTime::from_timestamp_millis(event.at_ms)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                .unwrap_or_default();
            // Borrowed: `inert` makes the one copy each cell needs.
            let cells: [&str; 6] = [
                &time,
                &event.actor,
                &event.action,
                &event.target,
                &event.detail,
                &event.request_id,
            ];
            cells.iter().map(|cell| inert(cell).into_owned()).collect()
        },
    };
    csv_download(rows, shape, file_name).await
}

pub(super) async fn csv_download<T: Send + 'static>(
    rows: futures::stream::BoxStream<'static, Result<T, AppError>>,
    shape: CsvShape<T>,
    file_name: String,
) -> Result<Response, AppError> {
    // Fused: an empty export ends at the first read, and the writer reads once more (the
    // row stream must not be polled after its end: that panicked, and the file came
    // without its header).
    let mut rows = rows.fuse();
    // Read the first row before answering, so a database failure is a clear error rather
    // than a file cut short.
    let first = rows.next().await.transpose()?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut chunk: Vec<T> = first.into_iter().collect();
        let mut with_header = true;
        loop {
            let next = rows.next().await;
            let done = next.is_none();
            match next {
                Some(Ok(license)) => chunk.push(license),
                Some(Err(error)) => {
                    // Abort the body: the client sees a failed download, never a silently short file.
                    tracing::error!(%error, "export stopped by a database error");
                    let _ = sender
                        .send(Err(std::io::Error::other("export failed")))
                        .await;
                    return;
                }
                None => {}
            }
            if chunk.len() >= ROWS_PER_CHUNK || done {
                let bytes = match encode(&shape, &chunk, with_header) {
                    Ok(b) => Ok(b),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                };
                with_header = false;
                chunk.clear();
                if sender.send(bytes).await.is_err() {
                    return;
                }
            }
            if done {
                return;
            }
        }
    });
    // Fused: the compression layer asks once more after the end, which a bare `unfold`
    // answers with a panic.
    let body = futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    })
    .fuse();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
