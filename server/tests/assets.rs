//! The browser bundle as a release build leaves it (`cargo leptos build --release
//! --precompress` with `hash-files`): pages name the content-hashed files, the browser gets
//! the precompressed copy it accepts, kept for a year; pages and the API are never stored,
//! and are compressed on the fly. The site is laid out here as cargo-leptos lays it out
//! (server/src/assets.rs), so these tests need no build and always run.

mod common;

use bandpool_server::assets;
use common::{Seed, TestApp};
use std::path::{Path, PathBuf};

const JS_HASH: &str = "Jq3vR0mZ8cYk1LwP5sTb2A";
const WASM_HASH: &str = "Wx7_Lq2Nd9Hf4Ka-Zp1RcQ";
const CSS_HASH: &str = "Cs5Tg8Ub1Vm6Yn0Xo3Pq-w";

/// A site as the release build leaves it, in a folder of its own.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    hash_file: PathBuf,
}

impl Site {
    /// The bundle's three files under their hashed names and the favicon, each with a brotli
    /// and a gzip copy beside it (their bytes say which copy they are, so a test sees which
    /// one was sent), and the hash file.
    fn released() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        let pkg = root.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        for (_, name, _) in bundle() {
            write_with_copies(&pkg, &name);
        }
        write_with_copies(&root, "favicon.svg");
        let hash_file = dir.path().join("release").join("hash.txt");
        std::fs::create_dir_all(hash_file.parent().unwrap()).unwrap();
        std::fs::write(
            &hash_file,
            format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        )
        .unwrap();
        Site {
            _dir: dir,
            root,
            hash_file,
        }
    }
}

/// What a file's copy holds: `identity`, `br` or `gzip`.
fn content(name: &str, copy: &str) -> Vec<u8> {
    format!("{copy} bytes of {name}").into_bytes()
}

fn write_with_copies(folder: &Path, name: &str) {
    std::fs::write(folder.join(name), content(name, "identity")).unwrap();
    std::fs::write(folder.join(format!("{name}.br")), content(name, "br")).unwrap();
    std::fs::write(folder.join(format!("{name}.gz")), content(name, "gzip")).unwrap();
}

/// The bundle's files: (what, name under /pkg, the content type they are served as).
fn bundle() -> [(&'static str, String, &'static str); 3] {
    [
        ("js", format!("bandpool.{JS_HASH}.js"), "javascript"),
        (
            "wasm",
            format!("bandpool.{WASM_HASH}.wasm"),
            "application/wasm",
        ),
        ("css", format!("bandpool.{CSS_HASH}.css"), "text/css"),
    ]
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn varies_with_encoding(response: &reqwest::Response) -> bool {
    response.headers().get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    })
}

/// `body` decoded from `encoding` (gzip or br), as text.
fn decoded(body: &[u8], encoding: &str) -> String {
    use std::io::Read as _;
    let mut text = String::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_string(&mut text),
        "br" => brotli::Decompressor::new(body, 4096).read_to_string(&mut text),
        other => panic!("no decoder for {other}"),
    }
    .unwrap_or_else(|error| panic!("not valid {encoding}: {error}"));
    text
}

async fn get(client: &reqwest::Client, url: String, encoding: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_sent_precompressed_under_hashed_names_kept_a_year() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let site = Site::released();
    let app = TestApp::spawn_serving(&db, Seed::EmptyPool, &site.root, &site.hash_file).await;

    // The pages name the hashed files (scripts, preload, stylesheet), never the plain names.
    for (client, path) in [
        (app.client.clone(), "/license-repository"),
        (app.anonymous(), "/sign-in"),
    ] {
        let response = get(&client, app.url(path), None).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = response.text().await.unwrap();
        for (_, name, _) in bundle() {
            assert!(assets::is_content_hashed(&name), "{name}");
            assert!(
                page.contains(&format!("/pkg/{name}")),
                "{path} names no {name}"
            );
        }
        assert!(
            page.contains(&format!(r#"href="/pkg/bandpool.{CSS_HASH}.css""#)),
            "{path}: no hashed stylesheet link"
        );
        assert!(!page.contains("/pkg/bandpool.css"), "{path}");
        assert!(!page.contains("bandpool_bg.wasm"), "{path}");
    }

    let client = app.anonymous();
    for (kind, name, content_type) in bundle() {
        let url = app.url(&format!("/pkg/{name}"));
        for (accepted, encoding) in [("br", "br"), ("gzip", "gzip")] {
            let response = get(&client, url.clone(), Some(accepted)).await;
            assert_eq!(response.status(), 200, "{kind} as {encoding}");
            assert_eq!(header(&response, "content-encoding"), encoding, "{kind}");
            assert!(
                header(&response, "content-type").contains(content_type),
                "{kind}: {}",
                header(&response, "content-type")
            );
            assert_eq!(
                header(&response, "cache-control"),
                "public, max-age=31536000, immutable",
                "{kind} as {encoding}"
            );
            assert!(varies_with_encoding(&response), "{kind} as {encoding}");
            let body = response.bytes().await.unwrap();
            assert_eq!(
                body.as_ref(),
                content(&name, encoding),
                "{kind} as {encoding}"
            );
        }
        // A client that accepts neither gets the file itself, as long-lived.
        let response = get(&client, url, None).await;
        assert_eq!(response.status(), 200, "{kind}");
        assert_eq!(header(&response, "content-encoding"), "", "{kind}");
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable",
            "{kind}"
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(body.as_ref(), content(&name, "identity"), "{kind}");
    }

    // A hashed name the build did not make is a 404 no one keeps.
    let missing = format!("/pkg/bandpool.{}.wasm", "A".repeat(22));
    let response = get(&client, app.url(&missing), Some("br")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "cache-control"), "no-store");

    // The CSS's plain name (linked by the sign-in form's error page) answers the hashed
    // file, revalidated each time since the name outlives the content.
    let css = format!("bandpool.{CSS_HASH}.css");
    let response = get(&client, app.url("/pkg/bandpool.css"), Some("br")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-encoding"), "br");
    assert_eq!(header(&response, "cache-control"), "no-cache");
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        content(&css, "br")
    );

    // The site's other files: precompressed too, kept for an hour.
    let response = get(&client, app.url("/favicon.svg"), Some("gzip")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-encoding"), "gzip");
    assert_eq!(header(&response, "cache-control"), "public, max-age=3600");
    assert!(varies_with_encoding(&response));
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        content("favicon.svg", "gzip")
    );
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_the_api_are_never_stored_and_compressed_on_the_fly() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let site = Site::released();
    let app = TestApp::spawn_serving(&db, Seed::EmptyPool, &site.root, &site.hash_file).await;
    let owner = app.client.clone();
    let anonymous = app.anonymous();

    for (client, path) in [
        (&owner, "/license-repository"),
        (&anonymous, "/sign-in"),
        (&owner, "/api/v1/pool"),
        (&anonymous, "/healthz"),
        // Redirects and refusals too.
        (&anonymous, "/license-repository"),
        (&anonymous, "/api/v1/pool"),
        (&anonymous, "/no-such-page"),
    ] {
        let response = get(client, app.url(path), None).await;
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&response, "content-encoding"), "", "{path}");
    }

    for encoding in ["gzip", "br"] {
        for (client, path, content_type) in [
            (&owner, "/license-repository", "text/html"),
            (&anonymous, "/sign-in", "text/html"),
            (
                &owner,
                "/api/v1/pool/allocation/monthly",
                "application/json",
            ),
            (&owner, "/api/v1/licenses/export.csv", "text/csv"),
        ] {
            let response = get(client, app.url(path), Some(encoding)).await;
            assert_eq!(response.status(), 200, "{path} as {encoding}");
            assert!(header(&response, "content-type").starts_with(content_type));
            assert_eq!(
                header(&response, "content-encoding"),
                encoding,
                "{path} as {encoding}"
            );
            assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
            assert!(varies_with_encoding(&response), "{path} as {encoding}");
            let body = response.bytes().await.unwrap();
            let text = decoded(&body, encoding);
            if content_type == "text/csv" {
                // A streamed download, compressed to its last row.
                assert!(text.starts_with("Device Name,"), "{path}: {text:.80}");
            } else if content_type == "text/html" {
                assert!(text.starts_with("<!DOCTYPE html>"), "{path}: {text:.80}");
                assert!(text.contains(&format!("/pkg/bandpool.{WASM_HASH}.wasm")));
            } else {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(json.is_object(), "{path}: {json}");
            }
        }
    }
    db.finish().await;
}

/// File hashing on without the hash file is refused when the portal is built, rather than
/// every page naming files that do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_without_its_hash_file_refuses_to_start() {
    let db = bandpool_store::testing::TestDb::sqlite().await;
    let site = Site::released();
    let mut options = common::leptos_options("127.0.0.1:0".parse().unwrap());
    options.site_root = site.root.to_str().unwrap().into();
    options.hash_files = true;
    let absent = site.hash_file.with_file_name("absent.txt");
    options.hash_file = absent.to_str().unwrap().into();
    let built = bandpool_server::web::build(
        &bandpool_server::settings::Settings::default(),
        db.db.clone(),
        bandpool_store::Clock::manual(common::now()),
        options,
    );
    let Err(error) = built else {
        panic!("built without its hash file");
    };
    assert!(error.contains("absent.txt"), "{error}");
    db.finish().await;
}
