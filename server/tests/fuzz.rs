//! The fuzz suite: malformed and hostile requests, generated with proptest from one concrete
//! request per route (the authorization matrix's list, so every page, REST route, server
//! function and /auth endpoint is covered) and from complete connector messages, sent over
//! HTTP to the real application on SQLite and on PostgreSQL. For every request:
//!
//! - the answer is below 500 and arrives (a panicking handler drops the connection);
//! - a refusal (4xx) carries a stable code in the portal's `{code, message}` body (a page's
//!   own not-found page excepted);
//! - nothing is logged at ERROR level and nothing panics;
//! - a refused request leaves every tenant's pool as it was (license counts and bandwidth
//!   per status, capacity and LoadMaster limit), and no request of the seeded tenant's
//!   people or connector changes the other tenant's.
//!
//! Requests per database: `BANDPOOL_FUZZ_CASES` (default 1,000; `scripts/fuzz` sends many
//! more). `BANDPOOL_FUZZ_SEED` (printed by every run) replays a run's requests.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use bandpool_domain::auth::Scope;
use bandpool_store::testing::TestDb;
use common::routes::{Need, MATRIX};
use common::{logs, Seed, TestApp, OPERATOR, OWNER};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Owner,
    Reviewer,
    Operator,
    WriteToken,
    ReadToken,
    Connector,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::Owner,
    Who::Reviewer,
    Who::Operator,
    Who::WriteToken,
    Who::ReadToken,
    Who::Connector,
];

/// How a target's fields travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    /// A JSON body (the REST API and the connector protocol).
    Json,
    /// A form body (server functions and /auth forms).
    Form,
    /// The query string (GET routes and pages).
    Query,
}

/// One route with a request that reaches its handler: what the fuzzer mutates.
#[derive(Debug, Clone)]
struct Target {
    method: &'static str,
    /// The path, with `{}` where its identifier goes (`None`: no identifier).
    path: String,
    id: Option<String>,
    carrier: Carrier,
    fields: Vec<(String, Value)>,
    who: Who,
}

/// Names of query parameters found across the portal, tried on every GET.
const QUERY_NAMES: &[&str] = &[
    "q", "status", "sort", "order", "page", "per_page", "month", "history", "actor", "action",
    "target", "from", "to", "wait", "token", "next", "code", "state", "error", "id",
];

/// What a hostile client puts where text or a number belongs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\0".to_string()),
        "[a-z@.]{0,8}\\x00[a-z]{0,8}",
        "[\\x01-\\x1f\\x7f]{1,6}",
        "\\PC{0,40}",
        "[a-zA-Z0-9 _.-]{1,30}",
        Just("=cmd|' /C calc'!A0".to_string()),
        Just("+1+1".to_string()),
        Just("-2+3".to_string()),
        Just("@SUM(A1:A9)".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("\"><img src=x onerror=alert(1)>".to_string()),
        Just("' OR '1'='1".to_string()),
        Just("'; DROP TABLE licenses; --".to_string()),
        Just("../../../../etc/passwd".to_string()),
        Just("\u{202e}gnp.exe".to_string()),
        Just("\u{feff}\u{200b}".to_string()),
        Just("x".repeat(10_000)),
        Just("9".repeat(400)),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("9223372036854775808".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("1.5".to_string()),
        Just("2026-02-30".to_string()),
        Just("0000-00-00".to_string()),
        Just("99999-12-31".to_string()),
        Just("00000000-0000-0000-0000-000000000000".to_string()),
        Just("%00".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn hostile_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => hostile_text().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        1 => any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        1 => Just(json!(-1)),
        1 => Just(json!([])),
        1 => Just(json!({})),
        1 => Just(json!([["x", 1], {"a": null}])),
        1 => Just(json!({"nested": {"deeper": "\u{0}"}})),
    ]
}

/// One change to a request.
#[derive(Debug, Clone)]
enum Mutation {
    /// A field's value replaced (the index picks the field).
    Replace(usize, Value),
    Remove(usize),
    /// A field the endpoint does not know.
    Unknown(String, Value),
    /// A field sent twice, the second time with this value.
    Repeat(usize, Value),
    /// The encoded body or query cut at this fraction (per mille) of its length.
    Truncate(u16),
    /// Arrays nested this deep in place of a field's value.
    Nest(usize, usize),
    /// A byte that is not UTF-8 put into the encoded request at this fraction (per mille).
    InvalidUtf8(u16),
    /// Broken percent-encoding put into the encoded request at this fraction (per mille).
    BadEscape(u16),
    /// The whole body replaced by a JSON value of another shape.
    Whole(Value),
    /// More than the portal takes.
    Oversize,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => (0usize..8, hostile_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => (0usize..8).prop_map(Mutation::Remove),
        2 => ("[a-z_]{1,12}|\\PC{1,8}", hostile_json()).prop_map(|(n, v)| Mutation::Unknown(n, v)),
        2 => (0usize..8, hostile_json()).prop_map(|(i, v)| Mutation::Repeat(i, v)),
        1 => (0u16..1000).prop_map(Mutation::Truncate),
        1 => (0usize..8, prop_oneof![Just(200usize), Just(5_000usize)])
            .prop_map(|(i, d)| Mutation::Nest(i, d)),
        1 => (0u16..1000).prop_map(Mutation::InvalidUtf8),
        1 => (0u16..1000).prop_map(Mutation::BadEscape),
        1 => hostile_json().prop_map(Mutation::Whole),
        1 => Just(Mutation::Oversize),
    ]
}

/// A generated request, before it is put on the wire.
#[derive(Debug, Clone)]
struct Case {
    target: usize,
    /// Someone else than the route's own principal (rarely).
    who: Option<Who>,
    /// Another method than the route's (rarely).
    method: Option<&'static str>,
    /// A hostile identifier in place of the route's (percent-encoded unless `raw_id`).
    id: Option<String>,
    raw_id: bool,
    /// Query parameters added to any request.
    query: Vec<(String, String)>,
    mutations: Vec<Mutation>,
    /// Another Content-Type than the carrier's: `Some(None)` sends none.
    content_type: Option<Option<&'static str>>,
    /// Makes the connector messages' idempotency keys differ between requests (from a small
    /// range, so keys also come back with other messages).
    nonce: u8,
}

fn case(targets: usize) -> impl Strategy<Value = Case> {
    (
        0..targets,
        prop_oneof![8 => Just(None), 2 => (0usize..EVERYONE.len()).prop_map(Some)],
        prop_oneof![
            19 => Just(None),
            1 => prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE"), Just("PATCH")]
                .prop_map(Some)
        ],
        prop_oneof![3 => Just(None), 1 => hostile_text().prop_map(Some)],
        prop_oneof![Just(false), Just(true),],
        prop_oneof![
            Just(Vec::new()),
            prop::collection::vec(
                (
                    prop_oneof![
                        3 => prop::sample::select(QUERY_NAMES).prop_map(str::to_string),
                        1 => "\\PC{0,10}",
                    ],
                    hostile_text(),
                ),
                1..3,
            ),
        ],
        prop_oneof![
            3 => Just(Vec::new()),
            7 => prop::collection::vec(mutation(), 1..4),
        ],
        prop_oneof![
            12 => Just(None),
            1 => Just(Some(None)),
            1 => Just(Some(Some("text/plain"))),
            1 => Just(Some(Some("application/json"))),
            1 => Just(Some(Some("application/x-www-form-urlencoded"))),
            1 => Just(Some(Some("multipart/form-data; boundary=x"))),
            1 => Just(Some(Some("application/json; charset=latin1"))),
        ],
        0u8..40,
    )
        .prop_map(
            |(target, who, method, id, raw_id, query, mutations, content_type, nonce)| Case {
                target,
                who: who.map(|i| EVERYONE[i]),
                method,
                id,
                raw_id,
                query,
                mutations,
                content_type,
                nonce,
            },
        )
}

/// The request as it goes on the wire.
#[derive(Debug)]
struct Wire {
    method: String,
    path_and_query: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

/// A value that travels as raw text: JSON nested deeper than is sensible to build as a
/// `Value` (serializing one recurses once per level).
const RAW: &str = "\u{1}RAW:";

fn encode_form(fields: &[(String, Value)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        let text = match value {
            Value::String(s) => s.strip_prefix(RAW).unwrap_or(s).to_string(),
            other => other.to_string(),
        };
        out.append_pair(name, &text);
    }
    out.finish()
}

/// A JSON object written by hand, so a key can appear twice.
fn encode_json(fields: &[(String, Value)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            let value = match value.as_str().and_then(|s| s.strip_prefix(RAW)) {
                Some(raw) => raw.to_string(),
                None => value.to_string(),
            };
            format!("{}:{value}", Value::String(name.clone()))
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

fn nested(depth: usize) -> Value {
    Value::String(format!("{RAW}{}{}", "[".repeat(depth), "]".repeat(depth)))
}

fn at(len: usize, per_mille: u16) -> usize {
    len * per_mille as usize / 1000
}

/// Where a target's idempotency key takes the case's nonce.
const NONCE: &str = "NONCE";

fn wire(target: &Target, case: &Case, limit: usize) -> Wire {
    let mut fields = target.fields.clone();
    for (_, value) in fields.iter_mut() {
        if let Some(text) = value.as_str().filter(|t| t.contains(NONCE)) {
            *value = Value::String(text.replace(NONCE, &case.nonce.to_string()));
        }
    }
    let mut whole: Option<Vec<u8>> = None;
    let mut post: Vec<&Mutation> = Vec::new();
    for m in &case.mutations {
        let pick = |i: &usize| {
            if fields.is_empty() {
                None
            } else {
                Some(i % fields.len())
            }
        };
        match m {
            Mutation::Replace(i, v) => {
                if let Some(i) = pick(i) {
                    fields[i].1 = v.clone();
                }
            }
            Mutation::Remove(i) => {
                if let Some(i) = pick(i) {
                    fields.remove(i);
                }
            }
            Mutation::Unknown(n, v) => fields.push((n.clone(), v.clone())),
            Mutation::Repeat(i, v) => {
                if let Some(i) = pick(i) {
                    let name = fields[i].0.clone();
                    fields.push((name, v.clone()));
                }
            }
            Mutation::Nest(i, depth) => {
                if let Some(i) = pick(i) {
                    fields[i].1 = nested(*depth);
                }
            }
            Mutation::Whole(v) => whole = Some(v.to_string().into_bytes()),
            // A URL holds at most 64 KiB (the http crate's limit, client and server alike).
            Mutation::Oversize if target.carrier == Carrier::Query => {
                whole = Some(format!("q={}", "a".repeat(60_000)).into_bytes())
            }
            Mutation::Oversize => whole = Some(vec![b'a'; limit + 1]),
            other => post.push(other),
        }
    }
    let mut encoded: Vec<u8> = match (whole, target.carrier) {
        (Some(bytes), _) => bytes,
        (None, Carrier::Json) => encode_json(&fields).into_bytes(),
        (None, _) => encode_form(&fields).into_bytes(),
    };
    for m in post {
        match m {
            Mutation::Truncate(p) => encoded.truncate(at(encoded.len(), *p)),
            Mutation::InvalidUtf8(p) => {
                let i = at(encoded.len(), *p);
                encoded.splice(i..i, [0xff, 0xfe, 0xc3]);
            }
            Mutation::BadEscape(p) => {
                let i = at(encoded.len(), *p);
                encoded.splice(i..i, *b"%zz%F");
            }
            _ => {}
        }
    }
    let method = case.method.unwrap_or(target.method).to_string();
    let mut path = match (&target.id, &case.id) {
        (Some(_), Some(hostile)) if case.raw_id => target.path.replace("{}", hostile),
        (Some(_), Some(hostile)) => {
            let segment: String =
                url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect();
            target.path.replace("{}", &segment)
        }
        (Some(id), None) => target.path.replace("{}", id),
        (None, _) => target.path.clone(),
    };
    // A raw identifier may hold characters a request line cannot: those are escaped.
    path = path
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() {
                c.to_string()
            } else {
                url::form_urlencoded::byte_serialize(c.to_string().as_bytes()).collect()
            }
        })
        .collect();
    let mut query = encode_form(
        &case
            .query
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect::<Vec<_>>(),
    )
    .into_bytes();
    let mut body = Vec::new();
    if target.carrier == Carrier::Query {
        if !query.is_empty() && !encoded.is_empty() {
            query.push(b'&');
        }
        query.extend(encoded);
    } else {
        body = encoded;
    }
    // The query must stay a valid request line: bytes that are not are escaped.
    let query: String = query
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    // A URL holds at most 64 KiB (the http crate's limit, client and server alike). What
    // was escaped is ASCII, so any byte is a place to cut.
    path_and_query.truncate(60_000);
    let content_type = match case.content_type {
        Some(chosen) => chosen,
        None => match target.carrier {
            Carrier::Json => Some("application/json"),
            Carrier::Form => Some("application/x-www-form-urlencoded"),
            Carrier::Query => None,
        },
    };
    Wire {
        method,
        path_and_query,
        content_type,
        body,
    }
}

/// The pools as a refused request must leave them: per tenant, the capacity and the
/// LoadMaster limit, and the count and bandwidth of its licenses per status.
async fn pools(app: &TestApp) -> Vec<String> {
    let mut out = rows(
        app,
        "SELECT tenant_id, max_capacity_mbps, loadmaster_limit FROM pools ORDER BY tenant_id",
        &["tenant_id", "max_capacity_mbps", "loadmaster_limit"],
    )
    .await;
    out.extend(
        rows(
            app,
            "SELECT tenant_id, status, COUNT(*) AS n, \
             CAST(COALESCE(SUM(bandwidth_mbps), 0) AS BIGINT) AS bandwidth \
             FROM licenses GROUP BY tenant_id, status ORDER BY tenant_id, status",
            &["tenant_id", "status", "n", "bandwidth"],
        )
        .await,
    );
    out
}

/// Each row of a query as one line of its columns (text or whole numbers).
async fn rows(app: &TestApp, sql: &str, columns: &[&str]) -> Vec<String> {
    use sqlx::Row;
    let rows = app.db.fetch_all(sql, vec![]).await.unwrap();
    rows.iter()
        .map(|row| {
            let cell = |c: &str| {
                row.try_get::<String, _>(c)
                    .or_else(|_| row.try_get::<i64, _>(c).map(|n| n.to_string()))
                    .unwrap()
            };
            columns
                .iter()
                .map(|c| cell(c))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The running application with its principals.
struct Fixture {
    app: TestApp,
    write_token: String,
    read_token: String,
    credential: String,
    targets: Vec<Target>,
    limit: usize,
}

impl Fixture {
    async fn new(db: &TestDb) -> Fixture {
        let app = TestApp::spawn_with(db, Seed::Demo(30), |settings| {
            // Coverage: one token sends every API request of the run.
            settings.sign_in.rate_token_requests_per_minute = 1_000_000;
            settings.sign_in.rate_bad_tokens_per_minute = 1_000_000;
        })
        .await;
        let other = app.other_tenant_id.clone().unwrap();
        let write_token = app.token_for(OWNER, Scope::ReadWrite).await;
        let read_token = app.token_for(OWNER, Scope::Read).await;
        // A connector with two licenses: one to check and deactivate, one killed so the
        // command long-poll always has a command waiting (it answers at once).
        let credential = app.register_connector("fuzz").await;
        let connector = app.connector(&credential);
        let license_type = "vlm-200";
        let mut held = Vec::new();
        for i in 0..2 {
            let request = json!({
                "idempotency_key": format!("fuzz-activation-{i}"),
                "serial_no": format!("88800{i}"),
                "device_name": format!("fuzz-lm-{i}"),
                "ip_address": format!("10.9.1.{i}"),
                "sku": "VLM-SPLA",
                "license_type_id": license_type,
            });
            let (_, answer) = app
                .post_json(&connector, "/api/v1/connector/activations", &request)
                .await;
            let id = answer["license_id"]
                .as_str()
                .unwrap_or_else(|| panic!("activation: {answer}"))
                .to_string();
            held.push((id, format!("88800{i}")));
        }
        let kill = format!("/api/v1/licenses/{}/kill", held[1].0);
        let (status, killed) = app
            .post_json(&app.client, &kill, &json!({ "confirm": "KILL" }))
            .await;
        assert_eq!(status, 200, "{killed}");
        let license = app.first_license_id().await;
        let admin = app.user_id(common::ADMIN).await;
        let now = app.clock.now_ts();
        let targets = targets(&license, &other, &admin, &held[0], license_type, now);
        Fixture {
            limit: bandpool_server::settings::Settings::default()
                .http
                .http_max_body_bytes,
            app,
            write_token,
            read_token,
            credential,
            targets,
        }
    }

    async fn client(&self, who: Who) -> reqwest::Client {
        match who {
            Who::Anonymous => self.app.anonymous(),
            Who::Owner => self.app.client_as(OWNER).await,
            Who::Reviewer => self.app.client_as(common::REVIEWER).await,
            Who::Operator => self.app.client_as(OPERATOR).await,
            Who::WriteToken => self.app.bearer(&self.write_token),
            Who::ReadToken => self.app.bearer(&self.read_token),
            Who::Connector => self.app.connector(&self.credential),
        }
    }
}

/// The targets: every route of the matrix with its example, and the connector protocol's
/// messages complete.
fn targets(
    license: &str,
    other_tenant: &str,
    admin: &str,
    held: &(String, String),
    license_type: &str,
    now: i64,
) -> Vec<Target> {
    let mut targets = Vec::new();
    // An endless stream has no input to fuzz (it reads none) and never finishes answering.
    for route in MATRIX
        .iter()
        .filter(|r| !common::routes::STREAMS.contains(&r.pattern))
    {
        let url = route
            .url
            .replace("LICENSE", license)
            .replace("OTHER_TENANT", other_tenant);
        // The identifier the route takes, if any, becomes `{}` for the fuzzer to replace.
        let (path, id) = match route.pattern.find('{') {
            Some(start) => {
                let prefix = &route.pattern[..start];
                let rest = &url[prefix.len()..];
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                (
                    format!("{prefix}{{}}{}", &rest[end..]),
                    Some(rest[..end].to_string()),
                )
            }
            None => (url.clone(), None),
        };
        let (path, query_seed) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path, None),
        };
        let mut fields: Vec<(String, Value)> = route
            .fields
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace("LICENSE", license)
                    .replace("ADMIN_ID", admin)
                    .replace("OTHER_TENANT", other_tenant);
                (k.to_string(), Value::String(v))
            })
            .collect();
        if let Some(q) = query_seed {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                fields.push((k.into_owned(), Value::String(v.into_owned())));
            }
        }
        let api = route.pattern.starts_with("/api/");
        let carrier = match route.method {
            "get" => Carrier::Query,
            _ if api => Carrier::Json,
            _ => Carrier::Form,
        };
        let who = match route.need {
            Need::Public => Who::Anonymous,
            Need::SignedIn | Need::Manage | Need::Owners => Who::Owner,
            Need::Read | Need::Change if api => Who::WriteToken,
            Need::Read | Need::Change => Who::Owner,
            Need::ConnectorOnly => Who::Connector,
            Need::Operator => Who::Operator,
        };
        let mut target = Target {
            method: match route.method {
                "get" => "GET",
                "post" => "POST",
                "put" => "PUT",
                "delete" => "DELETE",
                other => panic!("method {other}"),
            },
            path,
            id,
            carrier,
            fields,
            who,
        };
        // The connector protocol's messages, complete, so mutations reach what they check.
        let (license_id, serial) = held;
        match route.pattern {
            "/api/v1/connector/checks" => {
                target.fields = vec![
                    ("idempotency_key".into(), json!("fuzz-checks-NONCE")),
                    (
                        "checks".into(),
                        json!([{ "license_id": license_id, "serial_no": serial, "checked_at": now }]),
                    ),
                ]
            }
            "/api/v1/connector/usage" => {
                target.fields = vec![
                    ("idempotency_key".into(), json!("fuzz-usage-NONCE")),
                    (
                        "samples".into(),
                        json!([{ "license_id": license_id, "serial_no": serial, "sampled_at": now,
                                 "bytes_in_per_second": 1000, "bytes_out_per_second": 2000,
                                 "ssl_tps": 5,
                                 "virtual_services": [{ "name": "10.0.0.1:443", "bytes": 300000 }] }]),
                    ),
                ]
            }
            "/api/v1/connector/activations" => {
                target.fields = vec![
                    ("idempotency_key".into(), json!("fuzz-activation-NONCE")),
                    ("serial_no".into(), json!("8889999")),
                    ("device_name".into(), json!("fuzz-new")),
                    ("ip_address".into(), json!("10.9.2.1")),
                    ("sku".into(), json!("VLM-SPLA")),
                    ("license_type_id".into(), json!(license_type)),
                ]
            }
            "/api/v1/connector/deactivations" => {
                target.fields = vec![
                    ("idempotency_key".into(), json!("fuzz-deactivation-NONCE")),
                    ("license_id".into(), json!(license_id)),
                    ("serial_no".into(), json!(serial)),
                ]
            }
            "/api/v1/connector/heartbeat" => {
                target.fields = vec![
                    ("version".into(), json!("1.0")),
                    ("address".into(), json!("http://10.9.0.1:8470")),
                ]
            }
            "/api/v1/connector/commands/{id}/ack" => {
                target.fields = vec![
                    ("result".into(), json!("sync")),
                    (
                        "appliances".into(),
                        json!([{ "license_id": license_id, "serial_no": serial, "state": "licensed",
                                 "last_check_at": now,
                                 "virtual_services": [{ "name": "web", "address": "10.0.0.1:443" }] }]),
                    ),
                ]
            }
            "/api/v1/connector/commands" => {
                target.fields = vec![("wait".into(), json!("0"))];
            }
            "/api/v1/applications" if route.method == "post" => {
                target.fields = vec![
                    ("name".into(), json!("fuzz app")),
                    ("virtual_service_ids".into(), json!([])),
                ]
            }
            "/api/v1/notifications/channels" if route.method == "put" => {
                target.fields = vec![
                    ("email_recipients".into(), json!(["owner@demo.test"])),
                    ("webhook_url".into(), Value::Null),
                    ("rotate_secret".into(), json!(false)),
                ]
            }
            _ => {}
        }
        targets.push(target);
    }
    targets
}

/// What went wrong with one request, if anything.
async fn send(fixture: &Fixture, case: &Case) -> Result<(), String> {
    let target = &fixture.targets[case.target];
    let who = case.who.unwrap_or(target.who);
    let wire = wire(target, case, fixture.limit);
    let shown = || {
        format!(
            "{} {} as {who:?} ({:?}, {} bytes: {:?})",
            wire.method,
            wire.path_and_query.chars().take(300).collect::<String>(),
            wire.content_type,
            wire.body.len(),
            String::from_utf8_lossy(&wire.body[..wire.body.len().min(300)])
        )
    };
    let client = fixture.client(who).await;
    let before = pools(&fixture.app).await;
    let mark = logs::mark();
    let panics_before = panics().lock().unwrap().len();
    // Each request names itself, so an ERROR another request logs meanwhile (a connector's
    // long-poll from the previous database's round, still waiting when that database was
    // closed) is not blamed on this one.
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let request_id = format!(
        "fuzz-{}",
        SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let method = reqwest::Method::from_bytes(wire.method.as_bytes()).unwrap();
    let mut request = client
        .request(
            method,
            format!("{}{}", fixture.app.base, wire.path_and_query),
        )
        .header("x-request-id", &request_id)
        .header("origin", &fixture.app.base)
        .header("accept", "application/json")
        .body(wire.body.clone());
    if let Some(content_type) = wire.content_type {
        request = request.header("content-type", content_type);
    }
    let response = request
        .timeout(std::time::Duration::from_secs(40))
        .send()
        .await
        .map_err(|e| format!("no answer ({e:?}): {}", shown()))?;
    let status = response.status().as_u16();
    // The portal took the request's own id, so the ERROR lines below can be told apart.
    if response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        != Some(&request_id)
    {
        return Err(format!(
            "the answer is not under the request's id: {}",
            shown()
        ));
    }
    *statuses()
        .lock()
        .unwrap()
        .entry((target.path.clone(), status))
        .or_default() += 1;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("answer cut short ({e}): {}", shown()))?;
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]).to_string();
    if status >= 500 {
        return Err(format!("{status} {text}: {}", shown()));
    }
    let panicked: Vec<String> = panics().lock().unwrap()[panics_before..].to_vec();
    if !panicked.is_empty() {
        return Err(format!("panicked: {panicked:?}: {}", shown()));
    }
    let ours = format!("request_id={request_id}");
    let errors: Vec<String> = logs::since(mark)
        .into_iter()
        .filter(|line| line.level == tracing::Level::ERROR)
        .filter(|line| !line.text.contains("request_id=") || line.text.contains(&ours))
        .map(|line| line.text)
        .collect();
    if !errors.is_empty() {
        return Err(format!("logged at ERROR: {errors:?}: {}", shown()));
    }
    let after = pools(&fixture.app).await;
    if (400..500).contains(&status) {
        let page = content_type.starts_with("text/html");
        if !page {
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_string));
            match code {
                Some(code) if bandpool_domain::AppError::codes().any(|c| c == code) => {}
                _ => {
                    return Err(format!(
                        "refused {status} without a stable code ({content_type}: {text}): {}",
                        shown()
                    ))
                }
            }
        }
        if before != after {
            return Err(format!(
                "refused {status} but the pools changed: {before:?} → {after:?}: {}",
                shown()
            ));
        }
    }
    // Nobody of the seeded tenant changes the other tenant's pool (the operator may).
    if who != Who::Operator {
        let other = fixture.app.other_tenant_id.clone().unwrap();
        let theirs = |p: &[String]| -> Vec<String> {
            p.iter()
                .filter(|l| l.starts_with(&other))
                .cloned()
                .collect()
        };
        if theirs(&before) != theirs(&after) {
            return Err(format!(
                "the other tenant's pool changed ({status}): {}",
                shown()
            ));
        }
    }
    Ok(())
}

/// How many answers of each status each route gave, for the run's summary.
fn statuses() -> &'static Mutex<std::collections::BTreeMap<(String, u16), u64>> {
    static STATUSES: OnceLock<Mutex<std::collections::BTreeMap<(String, u16), u64>>> =
        OnceLock::new();
    STATUSES.get_or_init(Default::default)
}

/// The answers by status, and how many routes answered at least once below 400 (reached
/// their handler's success path) — so a run that only ever met a refusal shows it.
fn summary() -> String {
    let statuses = std::mem::take(&mut *statuses().lock().unwrap());
    let mut by_status = std::collections::BTreeMap::<u16, u64>::new();
    let mut routes = std::collections::BTreeSet::new();
    let mut succeeded = std::collections::BTreeSet::new();
    for ((route, status), n) in statuses {
        *by_status.entry(status).or_default() += n;
        routes.insert(route.clone());
        if status < 400 {
            succeeded.insert(route);
        }
    }
    let never: Vec<&String> = routes.difference(&succeeded).collect();
    format!(
        "answers by status {by_status:?}; {} routes tried, {} of them answered below 400 at \
         least once (never: {never:?})",
        routes.len(),
        succeeded.len()
    )
}

fn panics() -> &'static Mutex<Vec<String>> {
    static PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(p) = PANICS.get() {
                p.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(info.to_string());
            }
            previous(info);
        }));
        Mutex::new(Vec::new())
    })
}

fn cases() -> u32 {
    std::env::var("BANDPOOL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn seed() -> [u8; 32] {
    let chosen = std::env::var("BANDPOOL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(rand::random);
    eprintln!("fuzz: BANDPOOL_FUZZ_SEED={chosen} replays this run");
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&chosen.to_le_bytes());
    seed
}

/// Generate and send the requests; shrink a failing one to a small reproduction.
fn fuzz(runtime: &tokio::runtime::Runtime, fixture: &Fixture) {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed()));
    let sent = Arc::new(Mutex::new(0u64));
    let counter = sent.clone();
    let result = runner.run(&case(fixture.targets.len()), |case| {
        *counter.lock().unwrap() += 1;
        runtime
            .block_on(send(fixture, &case))
            .map_err(TestCaseError::fail)
    });
    eprintln!(
        "fuzz: {} requests sent (with shrinking); {}",
        sent.lock().unwrap(),
        summary()
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Both databases in one test: the log and panic records are per process, and requests are
/// checked against them one at a time.
#[test]
fn hostile_requests_get_clear_refusals_on_both_databases() {
    logs::capture();
    let _ = panics();
    let runtime = runtime();
    let sqlite = runtime.block_on(TestDb::sqlite());
    let fixture = runtime.block_on(Fixture::new(&sqlite));
    fuzz(&runtime, &fixture);
    drop(fixture);
    runtime.block_on(sqlite.finish());
    if let Some(postgres) = runtime.block_on(TestDb::postgres()) {
        let fixture = runtime.block_on(Fixture::new(&postgres));
        fuzz(&runtime, &fixture);
        drop(fixture);
        runtime.block_on(postgres.finish());
    }
}
