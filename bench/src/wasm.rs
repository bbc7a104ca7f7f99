//! (f) The browser bundle: its size raw, gzip and brotli, and the time from navigation to a
//! hydrated License Repository in headless Chromium on loopback, against a static HTML page
//! of the same size (end2end/support/hydration-bench.mjs drives the browser).

use crate::portal::{Portal, DEMO_OWNER, DEMO_PASSWORD};
use crate::report::{Row, Target, Unit};
use crate::{Result, Scale};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub fn rows() -> Vec<Row> {
    vec![
        Row::new("f", "WASM bundle, raw", "—", Unit::Kilobytes),
        Row::new("f", "WASM bundle, gzip -9", "—", Unit::Kilobytes),
        Row::new(
            "f",
            "WASM bundle, brotli (quality 11)",
            "—",
            Unit::Kilobytes,
        )
        .target(Target::Under(200.0)),
        Row::new(
            "f",
            "navigation → interactive License Repository, islands hydrated (Chromium, cold cache)",
            "SQLite",
            Unit::Millis,
        )
        .baseline("static HTML page of the same size")
        .target(Target::WithinOfBaseline(1.5)),
        Row::new(
            "f",
            "everything the License Repository loads from /pkg (WASM, JS, CSS), as sent",
            "SQLite",
            Unit::Kilobytes,
        )
        .target(Target::Under(200.0)),
        Row::new(
            "f",
            "first byte of the License Repository (Chromium, cold cache)",
            "SQLite",
            Unit::Millis,
        ),
    ]
}

/// The WASM file the License Repository loads, in the site root: named by the page the portal
/// answers (release builds put the content's hash in the name), so the bundle measured is
/// the one browsers download.
async fn served_wasm(site_root: &Path, portal: &Portal) -> Result<PathBuf> {
    let client = portal.signed_in().await?;
    let answer = client.get(portal.at("/license-repository")).send().await?;
    if !answer.status().is_success() {
        return Err(format!("/license-repository answered {}", answer.status()).into());
    }
    let page = answer.text().await?;
    let address = wasm_named_in(&page).ok_or("the License Repository names no .wasm file")?;
    let file = site_root.join(address.trim_start_matches('/'));
    if !file.is_file() {
        return Err(format!("the page names {address}, not in {}", site_root.display()).into());
    }
    Ok(file)
}

/// The first quoted address of a `.wasm` file in `page` (in the loader script the shell puts
/// at the top of the head, or a preload link).
fn wasm_named_in(page: &str) -> Option<&str> {
    page.split(['"', '\'']).find(|part| {
        part.starts_with('/') && part.ends_with(".wasm") && !part.contains(char::is_whitespace)
    })
}

/// The bundle's three sizes, in kilobytes.
pub fn sizes(wasm: &Path) -> Result<[f64; 3]> {
    let raw = std::fs::read(wasm)?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&raw)?;
    let gzip = gzip.finish()?;
    let mut brotli = Vec::new();
    brotli::BrotliCompress(
        &mut raw.as_slice(),
        &mut brotli,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        },
    )?;
    Ok([raw.len(), gzip.len(), brotli.len()].map(|n| n as f64 / 1e3))
}

#[derive(serde::Deserialize)]
struct Timings {
    hydrated: Vec<f64>,
    #[serde(rename = "static")]
    static_page: Vec<f64>,
    first_byte: Vec<f64>,
    sent: Vec<f64>,
}

pub async fn measure(
    site_root: &Path,
    end2end: &Path,
    portal: &Portal,
    scale: &Scale,
    rows: &mut [Row],
) -> Result<()> {
    // Sizes do not vary between runs: measured once (the spread column shows one run).
    let wasm = served_wasm(site_root, portal).await?;
    for (row, size) in rows.iter_mut().zip(sizes(&wasm)?) {
        row.runs.push(size);
    }
    for _ in 0..scale.runs {
        let output = tokio::process::Command::new("node")
            .arg("support/hydration-bench.mjs")
            .current_dir(end2end)
            .env("BENCH_URL", &portal.url)
            .env("BENCH_EMAIL", DEMO_OWNER)
            .env("BENCH_PASSWORD", DEMO_PASSWORD)
            .env("BENCH_NAVIGATIONS", scale.navigations.to_string())
            .output()
            .await?;
        if !output.status.success() {
            return Err(format!(
                "hydration-bench.mjs failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        let timings: Timings = serde_json::from_slice(&output.stdout)?;
        let median = |v: &[f64]| crate::stats::median(v).ok_or("no navigation was timed");
        rows[3].runs.push(median(&timings.hydrated)?);
        rows[3].baseline.push(median(&timings.static_page)?);
        rows[4].runs.push(median(&timings.sent)? / 1e3);
        rows[5].runs.push(median(&timings.first_byte)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_is_found_by_the_name_the_page_gives() {
        let page = r#"<head><link rel="modulepreload" href="/pkg/bandpool.AAAAAAAAAAAAAAAAAAAAAA.js"><link rel="preload" href="/pkg/bandpool.BBBBBBBBBBBBBBBBBBBBBB.wasm" as="fetch" type="application/wasm" crossorigin=""><script type="module">h("", "pkg", "bandpool.AAAAAAAAAAAAAAAAAAAAAA", "bandpool.BBBBBBBBBBBBBBBBBBBBBB");</script></head>"#;
        assert_eq!(
            wasm_named_in(page),
            Some("/pkg/bandpool.BBBBBBBBBBBBBBBBBBBBBB.wasm")
        );
        assert_eq!(wasm_named_in("<p>no bundle</p>"), None);
        let loader = "<head><script>window.bandpoolWasm = WebAssembly.compileStreaming(fetch('/pkg/bandpool.CCCCCCCCCCCCCCCCCCCCCC.wasm', { credentials: 'same-origin' }));</script></head>";
        assert_eq!(
            wasm_named_in(loader),
            Some("/pkg/bandpool.CCCCCCCCCCCCCCCCCCCCCC.wasm")
        );
    }
}
