//! GET /api/v1/licenses/export.csv: every license of the pool, all ten columns, as
//! Pool_usage_YYYYMMDD.csv. Rows stream from the database through the csv writer in
//! small chunks, so memory stays flat at a million rows.

use super::Params;
use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bandpool_domain::csv_rules::{export_file_name, header as csv_header, row};
use bandpool_domain::license::License;
use bandpool_domain::AppError;
use bytes::Bytes;
use futures::StreamExt;

const ROWS_PER_CHUNK: usize = 500;

fn encode(licenses: &[License], with_header: bool) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(licenses.len() * 96 + 128));
    if with_header {
        writer.write_record(csv_header())?;
    }
    for license in licenses {
        writer.write_record(row(license))?;
    }
    let buffer = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(Bytes::from(buffer))
}

pub async fn export_csv(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, AppError> {
    params.only(&[])?;
    let tenant = state.tenant_id().await?;
    let file_name = export_file_name(state.clock.today());
    let mut rows = bandpool_store::licenses::stream_all(&state.db, tenant);
    // Read the first row before answering, so a database failure is a clear error rather
    // than a file cut short.
    let first = rows.next().await.transpose()?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut chunk: Vec<License> = first.into_iter().collect();
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
                let bytes = match encode(&chunk, with_header) {
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
    let body = futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    });
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
