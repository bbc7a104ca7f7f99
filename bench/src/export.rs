//! (c) CSV export of a large pool: rows per second of GET /api/v1/licenses/export.csv and
//! the server's peak memory while it answers, against the csv crate writing the same rows
//! into memory.

use crate::portal::{Engine, Portal};
use crate::report::{Row, Target, Unit};
use crate::{Result, Scale};
use futures::StreamExt;
use std::time::Instant;

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    let n = scale.export_licenses;
    vec![
        Row::new(
            "c",
            format!("CSV export, {n} licenses"),
            engine.label(),
            Unit::Rate("rows/s"),
        )
        .baseline("the same rows, csv crate into memory")
        .target(Target::AtLeastOfBaseline(0.5)),
        Row::new(
            "c",
            format!("CSV export, {n} licenses: server peak memory"),
            engine.label(),
            Unit::Megabytes,
        )
        .baseline("the same CSV held in memory")
        .target(Target::Under(64.0)),
    ]
}

pub async fn measure(portal: &Portal, scale: &Scale, rows: &mut [Row]) -> Result<()> {
    let client = portal.signed_in().await?;
    let mut kept: Option<Vec<u8>> = None;
    for _ in 0..scale.runs {
        portal.reset_peak()?;
        let started = Instant::now();
        let answer = client
            .get(portal.at("/api/v1/licenses/export.csv"))
            .send()
            .await?
            .error_for_status()?;
        let mut body = answer.bytes_stream();
        let (mut lines, mut bytes) = (0usize, Vec::new());
        let keep = kept.is_none();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            lines += chunk.iter().filter(|b| **b == b'\n').count();
            if keep {
                bytes.extend_from_slice(&chunk);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (_, peak_kb) = portal.memory_kb()?;
        let rows_out = lines.saturating_sub(1);
        if rows_out < scale.export_licenses {
            return Err(format!(
                "the export had {rows_out} rows, the pool {}",
                scale.export_licenses
            )
            .into());
        }
        rows[0].runs.push(rows_out as f64 / elapsed);
        rows[1].runs.push(peak_kb as f64 * 1024.0 / 1e6);
        if keep {
            kept = Some(bytes);
        }
        let csv = kept.as_deref().ok_or("no export kept")?;
        let (rate, held) = serialize_in_memory(csv)?;
        rows[0].baseline.push(rate);
        rows[1].baseline.push(held as f64 / 1e6);
    }
    Ok(())
}

/// The baseline: the export's rows (parsed beforehand, not timed) written again by the csv
/// crate into a `Vec<u8>`: rows per second, and the bytes held.
fn serialize_in_memory(csv_text: &[u8]) -> Result<(f64, usize)> {
    let records: Vec<csv::ByteRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text)
        .byte_records()
        .collect::<std::result::Result<_, _>>()?;
    let started = Instant::now();
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in &records {
        writer.write_byte_record(record)?;
    }
    let out = writer.into_inner().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok((
        (records.len().saturating_sub(1)) as f64 / elapsed,
        out.len(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_baseline_writes_every_row_again() {
        let (rate, held) =
            super::serialize_in_memory(b"a,b\n1,\"x, y\"\n2,z\n").expect("serialized");
        assert!(rate > 0.0);
        assert_eq!(held, "a,b\n1,\"x, y\"\n2,z\n".len());
    }
}
