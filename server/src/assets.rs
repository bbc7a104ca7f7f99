//! The browser bundle and the site's other files: their names, their compression, and how
//! long browsers and caches may keep them.
//!
//! A release build (`scripts/lib/common.sh`: `cargo leptos build --release --precompress`,
//! with `hash-files = true` in the workspace's Leptos table) writes the WASM, its JavaScript
//! and the CSS into `<site root>/pkg` under names carrying their content's hash
//! (`bandpool.<hash>.wasm`), a brotli (`.br`) and a gzip (`.gz`) copy beside every file of
//! the site, and the three hashes into `hash.txt` beside the server executable. Leptos reads
//! that file to name the bundle in every page (`<HydrationScripts>`, `<HashedStylesheet>`).
//!
//! - `/pkg/*` is served here (`bundle_files`): the precompressed copy the browser accepts,
//!   `Vary: Accept-Encoding`, and a hashed name cached for a year as immutable (nothing else
//!   can ever be served under it); any other name under /pkg is revalidated each time.
//!   Compressing at build time costs no request anything and gets brotli's best ratio, which
//!   a compression layer could not afford on every request for a WASM of a megabyte.
//! - The site's other files (the favicon) come through Leptos's file handler, which also
//!   serves the precompressed copies, and are cached for an hour (`site_file`).
//! - Everything else is made per request (pages, the API, redirects, refusals): `no-store`
//!   unless its handler chose otherwise (`guard::security_headers`), and compressed on the
//!   fly when it is HTML, JSON, CSV or plain text (`compression`), never an event stream.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;
use tower_http::compression::predicate::{And, DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// A content-hashed file: the name changes whenever the content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The site's other files (the favicon): an hour.
pub const SITE_FILE: &str = "public, max-age=3600";
/// A bundle file under a name that does not change with its content: asked again each time
/// (a 304 when unchanged).
pub const REVALIDATE: &str = "no-cache";
/// Pages and every other answer made per request.
pub const DYNAMIC: &str = "no-store";

/// The bundle's file names under the pkg folder, when the build hashed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// Where Leptos looks for the hash file: `hash_file` beside the running executable (where
/// cargo-leptos writes it), or `hash_file` itself when it is an absolute path.
pub fn hash_file(options: &LeptosOptions) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(options.hash_file.as_ref())
}

/// Production's start (`web::serve`): unless `LEPTOS_HASH_FILES` says otherwise, file hashing
/// is on exactly when the build left its hash file beside this executable. Every way of
/// starting a release build (scripts/run, scripts/e2e-server, the benchmark's portals, a
/// copy of `target/release` with the site) finds the hashed files without being told.
pub fn settle(options: &mut LeptosOptions) {
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = hash_file(options).is_file();
    }
}

impl Bundle {
    /// The hashed names, when file hashing is on. On without a readable hash file is an error
    /// here, at start, rather than pages naming files that do not exist (or Leptos failing
    /// every render).
    pub fn of(options: &LeptosOptions) -> Result<Option<Bundle>, String> {
        if !options.hash_files {
            return Ok(None);
        }
        let path = hash_file(options);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            format!(
                "file hashing is on but its hash file {} cannot be read ({error}): build with \
                 `cargo leptos build`, or set LEPTOS_HASH_FILES=false",
                path.display()
            )
        })?;
        Bundle::parse(&options.output_name, &text)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "the hash file {} does not give the js, wasm and css hashes",
                    path.display()
                )
            })
    }

    /// `hash.txt` as cargo-leptos writes it: `js: <hash>`, `wasm: <hash>`, `css: <hash>`.
    pub fn parse(output_name: &str, text: &str) -> Option<Bundle> {
        let name = |kind: &str| {
            text.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim() == kind)
                .map(|(_, hash)| hash.trim())
                .filter(|hash| !hash.is_empty())
                .map(|hash| format!("{output_name}.{hash}.{kind}"))
        };
        Some(Bundle {
            js: name("js")?,
            wasm: name("wasm")?,
            css: name("css")?,
        })
    }

    /// The files pages would name that the site root lacks, and their missing compressed copies.
    pub fn missing(&self, options: &LeptosOptions) -> Vec<String> {
        let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
        let mut missing = Vec::new();
        for name in [&self.js, &self.wasm, &self.css] {
            for file in [name.clone(), format!("{name}.br"), format!("{name}.gz")] {
                if !pkg.join(&file).is_file() {
                    missing.push(file);
                }
            }
        }
        missing
    }
}

/// Log what the portal will serve, and warn of what its pages name that is not there.
pub fn report(options: &LeptosOptions) {
    match Bundle::of(options) {
        Ok(Some(bundle)) => {
            let missing = bundle.missing(options);
            if missing.is_empty() {
                tracing::info!(
                    js = %bundle.js,
                    wasm = %bundle.wasm,
                    css = %bundle.css,
                    "serving the content-hashed, precompressed bundle"
                );
            } else {
                tracing::warn!(
                    site_root = %options.site_root,
                    ?missing,
                    "the site lacks files its pages name, or their compressed copies (built by \
                     `cargo leptos build --release --precompress`?)"
                );
            }
        }
        Ok(None) => tracing::info!(
            hash_file = %hash_file(options).display(),
            "file hashing is off (no hash file beside the server): the bundle is served under \
             its plain names and revalidated on every use"
        ),
        // `web::build` refuses to start on it.
        Err(_) => {}
    }
}

/// Whether `name` carries cargo-leptos's content hash: `<stem>.<hash>.<extension>`, the hash
/// an MD5 in unpadded URL-safe base64 (22 characters).
pub fn is_content_hashed(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (Some(extension), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !extension.is_empty()
        && !stem.is_empty()
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The service mounted at `/<pkg dir>` (it sees paths without that prefix): the bundle's
/// files with their precompressed copies and cache headers. With hashing on, the CSS's plain
/// name (`bandpool.css`, which the sign-in form's error page links) answers the hashed file,
/// revalidated each time.
pub fn bundle_files(options: &LeptosOptions, bundle: Option<&Bundle>) -> MethodRouter {
    let files =
        ServeDir::new(Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref()))
            .precompressed_br()
            .precompressed_gzip();
    let plain_css = bundle.map(|b| (format!("/{}.css", options.output_name), b.css.clone()));
    let serve = move |mut request: Request| {
        let files = files.clone();
        let plain_css = plain_css.clone();
        async move {
            let name = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let mut cache = if is_content_hashed(&name) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            if let Some((plain, hashed)) = &plain_css {
                if request.uri().path() == plain {
                    if let Ok(uri) = format!("/{hashed}").parse::<Uri>() {
                        *request.uri_mut() = uri;
                    }
                    cache = REVALIDATE;
                }
            }
            let mut response = match files.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            };
            let status = response.status();
            if status.is_success() || status == StatusCode::NOT_MODIFIED {
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
            response
        }
    };
    axum::routing::any(serve)
}

/// A response of Leptos's file handler (the router's fallback): a file of the site, rather
/// than the not-found page, is cached for an hour and varies with the encodings accepted.
pub fn site_file(mut response: Response) -> Response {
    let page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if response.status() == StatusCode::OK && !page {
        let headers = response.headers_mut();
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(SITE_FILE));
        }
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Brotli or gzip on the fly for what is made per request and compresses well: pages, JSON,
/// CSV and plain text above a few bytes. Never an event stream (each event must reach the
/// browser when sent), never a response already encoded (the bundle's precompressed copies).
pub fn compression() -> CompressionLayer<And<DefaultPredicate, MadePerRequest>> {
    CompressionLayer::new().compress_when(DefaultPredicate::new().and(MadePerRequest))
}

/// The content types `compression` applies to.
#[derive(Debug, Clone, Copy)]
pub struct MadePerRequest;

impl MadePerRequest {
    const TYPES: [&'static str; 4] = ["text/html", "application/json", "text/csv", "text/plain"];

    pub fn applies_to(content_type: &str) -> bool {
        let content_type = content_type.trim_start().to_ascii_lowercase();
        !content_type.starts_with("text/event-stream")
            && Self::TYPES
                .iter()
                .any(|kind| content_type.starts_with(kind))
    }
}

impl Predicate for MadePerRequest {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: http_body::Body,
    {
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(Self::applies_to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_leptos_hashes_are_recognised() {
        assert!(is_content_hashed("bandpool.Xq3vR0mZ8cYk1LwP5sTb2A.wasm"));
        assert!(is_content_hashed("bandpool.Xq3vR0mZ8cYk1LwP5sTb-_.css"));
        assert!(!is_content_hashed("bandpool.wasm"));
        assert!(!is_content_hashed("bandpool_bg.wasm"));
        assert!(!is_content_hashed("bandpool.css"));
        assert!(!is_content_hashed(".Xq3vR0mZ8cYk1LwP5sTb2A.js"));
        assert!(!is_content_hashed("bandpool.Xq3vR0mZ8cYk1LwP5sTb2.js"));
        assert!(!is_content_hashed(
            "bandpool.Xq3vR0mZ8cYk1LwP5sTb2A.wasm.br"
        ));
        assert!(!is_content_hashed("bandpool.Xq3vR0mZ8cYk1LwP5s/b2A.js"));
    }

    #[test]
    fn the_hash_file_names_the_bundle() {
        let text = "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";
        assert_eq!(
            Bundle::parse("bandpool", text),
            Some(Bundle {
                js: "bandpool.AAAAAAAAAAAAAAAAAAAAAA.js".into(),
                wasm: "bandpool.BBBBBBBBBBBBBBBBBBBBBB.wasm".into(),
                css: "bandpool.CCCCCCCCCCCCCCCCCCCCCC.css".into(),
            })
        );
        assert_eq!(Bundle::parse("bandpool", "js: A\nwasm: B\n"), None);
        assert_eq!(Bundle::parse("bandpool", "js: \nwasm: B\ncss: C\n"), None);
    }

    #[test]
    fn only_answers_made_per_request_are_compressed_on_the_fly() {
        for yes in [
            "text/html; charset=utf-8",
            "application/json",
            "text/csv; charset=utf-8",
            "text/plain; version=0.0.4",
        ] {
            assert!(MadePerRequest::applies_to(yes), "{yes}");
        }
        for no in [
            "text/event-stream",
            "application/wasm",
            "text/javascript",
            "text/css",
            "image/png",
        ] {
            assert!(!MadePerRequest::applies_to(no), "{no}");
        }
    }
}
