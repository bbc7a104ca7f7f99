//! Spawn the real application on a free port, against a fresh SQLite or PostgreSQL
//! database, with a fixed clock. `app_test!` runs a test once on each database.
//!
//! A seeded tenant gets three members (owner@, admin@ and reviewer@demo.test) and a second
//! tenant ("Other Corp", owner@other.test). `app.client` is signed in as the Owner;
//! `app.client_as(...)` gives a session for anyone, `app.anonymous()` none. Sessions are
//! written straight into the session table (what a sign-in leaves there), so tests do not
//! pay for Argon2 on every request; the sign-in tests go through the real form.

#![allow(dead_code)]

pub mod logs;
pub mod mail;
pub mod routes;
pub mod tls;

use bandpool_domain::auth::{Role, Scope};
use bandpool_server::settings::Settings;
use bandpool_store::testing::TestDb;
use bandpool_store::{accounts, Clock, Db};
use chrono::{DateTime, Utc};
use leptos::prelude::LeptosOptions;

pub struct TestApp {
    /// What the handlers share (the background sweeps run on it: `sweeps::health_pass`).
    pub state: bandpool_server::state::AppState,
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub clock: Clock,
    /// The seeded tenant (none for `Seed::Nothing`).
    pub tenant_id: Option<String>,
    pub other_tenant_id: Option<String>,
}

/// Poll `probe` until it answers `Some` (every 50 ms, for up to 10 s): tests wait for their
/// condition, never a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 10 s");
}

pub fn now() -> DateTime<Utc> {
    bandpool_store::testing::test_now()
}

pub enum Seed {
    /// No tenant at all.
    Nothing,
    /// A tenant whose pool has no licenses.
    EmptyPool,
    /// The demo tenant with this many licenses.
    Demo(usize),
}

pub const OWNER: &str = "owner@demo.test";
pub const ADMIN: &str = "admin@demo.test";
pub const REVIEWER: &str = "reviewer@demo.test";
pub const OUTSIDER: &str = "owner@other.test";
pub const OPERATOR: &str = "operator@bandpool.test";

impl TestApp {
    pub async fn spawn(test_db: &TestDb, seed: Seed) -> TestApp {
        Self::spawn_with(test_db, seed, |_| {}).await
    }

    /// Spawn with settings changed by `configure` (public_url is set to the test address).
    pub async fn spawn_with(
        test_db: &TestDb,
        seed: Seed,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::spawn_on(listener, test_db, seed, configure).await
    }

    /// Spawn on a listener bound beforehand, for peers that must know the portal's address
    /// before it starts (the OpenID Connect provider's redirect).
    pub async fn spawn_on(
        listener: tokio::net::TcpListener,
        test_db: &TestDb,
        seed: Seed,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let options = leptos_options(listener.local_addr().unwrap());
        Self::start(listener, test_db, seed, configure, options).await
    }

    /// Spawn serving the site at `site_root` as a release build leaves it: Leptos's file
    /// hashing on, its hash file at `hash_file` (an absolute path; production's is beside the
    /// server executable).
    pub async fn spawn_serving(
        test_db: &TestDb,
        seed: Seed,
        site_root: &std::path::Path,
        hash_file: &std::path::Path,
    ) -> TestApp {
        assert!(hash_file.is_absolute(), "{}", hash_file.display());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut options = leptos_options(listener.local_addr().unwrap());
        options.site_root = site_root.to_str().unwrap().into();
        options.hash_files = true;
        options.hash_file = hash_file.to_str().unwrap().into();
        Self::start(listener, test_db, seed, |_| {}, options).await
    }

    async fn start(
        listener: tokio::net::TcpListener,
        test_db: &TestDb,
        seed: Seed,
        configure: impl FnOnce(&mut Settings),
        leptos_options: LeptosOptions,
    ) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            bandpool_server::telemetry::init("debug");
        }
        let db = test_db.db.clone();
        let clock = Clock::manual(now());
        let tenant_id = match seed {
            Seed::Nothing => None,
            Seed::EmptyPool => {
                let mut tx = db.begin_write().await.unwrap();
                bandpool_store::tenants::ensure_license_types(&mut tx)
                    .await
                    .unwrap();
                let id = bandpool_store::tenants::create_tenant(
                    &mut tx,
                    "Empty Corp",
                    50_000,
                    20,
                    now().timestamp(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                Some(id)
            }
            Seed::Demo(n) => Some(bandpool_store::testing::seed_demo(&db, n).await),
        };
        let mut other_tenant_id = None;
        if let Some(tenant) = &tenant_id {
            let ts = now().timestamp();
            let mut tx = db.begin_write().await.unwrap();
            for (email, role) in [
                (OWNER, Role::Owner),
                (ADMIN, Role::Admin),
                (REVIEWER, Role::Reviewer),
            ] {
                let user = accounts::ensure_user(&mut tx, email, ts).await.unwrap();
                accounts::add_member(&mut tx, tenant, &user, role, ts)
                    .await
                    .unwrap();
            }
            // A second later, so "first tenant" is always the seeded one.
            let other =
                bandpool_store::tenants::create_tenant(&mut tx, "Other Corp", 1_000, 5, ts + 1)
                    .await
                    .unwrap();
            let user = accounts::ensure_user(&mut tx, OUTSIDER, ts).await.unwrap();
            accounts::add_member(&mut tx, &other, &user, Role::Owner, ts)
                .await
                .unwrap();
            let operator = accounts::ensure_user(&mut tx, OPERATOR, ts).await.unwrap();
            accounts::set_operator(&mut tx, &operator, true)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            other_tenant_id = Some(other);
        }
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut settings = Settings::default();
        settings.portal.public_url = base.clone();
        configure(&mut settings);
        let (router, state) = bandpool_server::web::build_with_state(
            &settings,
            db.clone(),
            clock.clone(),
            leptos_options,
        )
        .expect("the application builds from its settings");
        let limits = settings.http_limits();
        tokio::spawn(async move {
            bandpool_server::edge::serve(listener, router, &limits, std::future::pending())
                .await
                .unwrap();
        });
        let mut app = TestApp {
            state,
            base,
            client: reqwest::Client::new(),
            db,
            clock,
            tenant_id,
            other_tenant_id,
        };
        app.client = if app.tenant_id.is_some() {
            app.client_as(OWNER).await
        } else {
            app.anonymous()
        };
        app
    }

    /// A client with no session, no token (it keeps cookies, like a browser).
    pub fn anonymous(&self) -> reqwest::Client {
        // What a browser sends with a same-origin request.
        client_sending(&[("origin", self.base.clone())])
            .cookie_store(true)
            .build()
            .unwrap()
    }

    /// A client signed in as `email` (a session written as sign-in writes it).
    pub async fn client_as(&self, email: &str) -> reqwest::Client {
        self.client_as_with_cookie(email, "").await
    }

    /// `client_as`, also sending `cookie` (`name=value`, as a browser keeps it) with each
    /// request.
    pub async fn client_as_with_cookie(&self, email: &str, cookie: &str) -> reqwest::Client {
        let user = self.user_id(email).await;
        let tenant = accounts::tenants_of(&self.db, &user)
            .await
            .unwrap()
            .into_iter()
            .next();
        let id = tower_sessions::session::Id::default().to_string();
        let mut data = serde_json::json!({ "user_id": user });
        if let Some(t) = tenant {
            data["tenant_id"] = serde_json::Value::String(t.tenant_id);
        }
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
        bandpool_store::sessions::save(&self.db, &id, Some(&user), &data.to_string(), expires)
            .await
            .unwrap();
        let cookies = match cookie {
            "" => format!("bandpool_session={id}"),
            more => format!("bandpool_session={id}; {more}"),
        };
        client_sending(&[("cookie", cookies), ("origin", self.base.clone())])
            .build()
            .unwrap()
    }

    /// A bearer token of `scope` made by `email` in their first tenant; returns its secret.
    pub async fn token_for(&self, email: &str, scope: Scope) -> String {
        let user = self.user_id(email).await;
        let tenant = accounts::tenants_of(&self.db, &user)
            .await
            .unwrap()
            .remove(0);
        let mut tx = self.db.begin_write().await.unwrap();
        let created = bandpool_store::tokens::create(
            &mut tx,
            &tenant.tenant_id,
            &user,
            "test",
            scope,
            None,
            self.clock.now_ts(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        created.secret
    }

    /// A client that sends `Authorization: Bearer <secret>` and no cookie.
    pub fn bearer(&self, secret: &str) -> reqwest::Client {
        client_sending(&[("authorization", format!("Bearer {secret}"))])
            .build()
            .unwrap()
    }

    /// POST a JSON body to `path` as `client`: the status and the JSON answer.
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        answer(client.post(self.url(path)).json(body)).await
    }

    /// A connector of the seeded tenant, added by its Owner and registered as its agent
    /// would be: its credential.
    pub async fn register_connector(&self, name: &str) -> String {
        let body = serde_json::json!({ "name": name });
        let (_, created) = self
            .post_json(&self.client, "/api/v1/connectors", &body)
            .await;
        let body = serde_json::json!({
            "registration_token": created["registration_token"],
            "version": "test",
            "address": "http://10.9.0.1:8470",
        });
        let (_, registered) = self
            .post_json(&self.anonymous(), "/api/v1/connector/register", &body)
            .await;
        registered["credential"]
            .as_str()
            .unwrap_or_else(|| panic!("registration: {registered}"))
            .to_string()
    }

    /// A client that speaks as a connector (`Authorization: Connector <credential>`).
    pub fn connector(&self, credential: &str) -> reqwest::Client {
        client_sending(&[("authorization", format!("Connector {credential}"))])
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Call a server function with form fields, as a browser's ActionForm does.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let request = client
            .post(self.url(&format!("/_server/{endpoint}")))
            .header("accept", "application/json")
            .form(fields);
        answer(request).await
    }

    /// Post an /auth form; returns the status and the Location header.
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let response = client
            .post(self.url(path))
            .header("accept", "text/html")
            .form(fields)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), location(&response))
    }

    /// A connector of `client`'s tenant, created over REST; returns its registration token.
    pub async fn new_connector(&self, client: &reqwest::Client, name: &str) -> String {
        let response = client
            .post(self.url("/api/v1/connectors"))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        let token = body["registration_token"].as_str().unwrap().to_string();
        assert!(token.starts_with("bpr_"));
        token
    }

    /// Give a test user a password (hashed as production does).
    pub async fn set_password(&self, email: &str, password: &str) {
        let user = self.user_id(email).await;
        let hash = bandpool_server::auth::password::hash(password.to_string())
            .await
            .unwrap();
        let mut tx = self.db.begin_write().await.unwrap();
        accounts::set_password_hash(&mut tx, &user, &hash)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// GET `path` as the Owner (`app.client`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.client, path).await
    }

    /// GET `path` as `client`.
    pub async fn get_as(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        answer(self.client.get(self.url(path))).await
    }

    /// The JSON answer to a GET that must succeed (200).
    pub async fn get_json_ok(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get_json(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        assert!(!body.is_null(), "GET {path} did not answer JSON");
        body
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The page (or file) a GET that must succeed (200) answers.
    pub async fn get_text_ok(&self, path: &str) -> String {
        let (status, text) = self.get_text(path).await;
        assert_eq!(status, 200, "GET {path}");
        text
    }

    /// The id of the person signed up as `email`.
    pub async fn user_id(&self, email: &str) -> String {
        accounts::user_by_email(&self.db, email)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no test user {email}"))
            .id
    }

    /// An active license of the seeded tenant that Kill License accepts (issued through the
    /// portal): its id and serial number.
    pub async fn killable_license(&self) -> (String, String) {
        let list = self
            .get_json_ok("/api/v1/licenses?status=active&per_page=500")
            .await;
        let license = list["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["issued_through_portal"] == true)
            .expect("an active license issued through the portal")
            .clone();
        let text = |field: &str| license[field].as_str().unwrap().to_string();
        (text("id"), text("serial_no"))
    }

    /// The id of the first license the store lists for the seeded tenant (no filter, its
    /// default order).
    pub async fn first_license_id(&self) -> String {
        let tenant = self.tenant_id.as_deref().expect("a seeded tenant");
        bandpool_store::licenses::list(&self.db, tenant, &Default::default())
            .await
            .unwrap()
            .licenses[0]
            .id
            .clone()
    }
}

/// A client as the tests use one: it sends `headers` with every request, never follows a
/// redirect (tests assert them), and gives up after a minute, so a hung response fails its
/// test instead of holding the whole run.
fn client_sending(headers: &[(&'static str, String)]) -> reqwest::ClientBuilder {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .default_headers(map)
}

/// Send `request`: the status and the JSON answer (`Null` when the answer is not JSON).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Send `request` and read what it answers as text, whatever its status.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Assert that `answer` is the refusal `code` with the HTTP `status`.
pub fn assert_refused(answer: &(u16, serde_json::Value), status: u16, code: &str) {
    let (got, body) = answer;
    assert_eq!(
        (*got, body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

/// Assert that `answer` is the refusal `code` with the HTTP `status`, and that its message
/// begins with `message` (the error table's words).
pub fn assert_refused_saying(
    answer: &(u16, serde_json::Value),
    status: u16,
    code: &str,
    message: &str,
) {
    assert_refused(answer, status, code);
    let said = answer.1["message"].as_str().unwrap();
    assert!(said.starts_with(message), "{said}");
}

/// The text `field` of each item of the JSON array `list`.
pub fn field_of_each<'a>(list: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// A test once on SQLite and once on PostgreSQL, each on a fresh database:
///
/// - `app_test!(name, Seed::Demo(120), |app: TestApp| async move { ... });` spawns the
///   portal with the default settings;
/// - `app_test!(name, Seed::EmptyPool, settings = |s: &mut Settings| ..., |app| ...);` with
///   settings changed first;
/// - `app_test!(name, Seed::EmptyPool, mail, |app, mail: MailServer| ...);` with a real SMTP
///   server the portal sends to;
/// - `db_test!(name, some_fn);` calls `some_fn(&TestDb)` for tests that spawn what they
///   need themselves.
#[macro_export]
macro_rules! app_test {
    ($name:ident, $seed:expr, $body:expr) => {
        $crate::app_test!(
            $name,
            $seed,
            settings = |_: &mut bandpool_server::settings::Settings| {},
            $body
        );
    };
    ($name:ident, $seed:expr, settings = $configure:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(db: &bandpool_store::testing::TestDb) {
                let app = $crate::common::TestApp::spawn_with(db, $seed, $configure).await;
                ($body)(app).await;
            }

            $crate::db_test!(run);
        }
    };
    ($name:ident, $seed:expr, mail, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(db: &bandpool_store::testing::TestDb) {
                let mail = $crate::common::mail::MailServer::start();
                let smtp = mail.smtp_url.clone();
                let app = $crate::common::TestApp::spawn_with(db, $seed, move |s| {
                    s.mail.smtp_url = Some(smtp.into());
                    s.mail.mail_from = "Bandpool <portal@bandpool.test>".into();
                })
                .await;
                ($body)(app, mail).await;
            }

            $crate::db_test!(run);
        }
    };
}

/// `db_test!(name, some_fn)`: `some_fn(&TestDb)` once on each database, as module `name`
/// (tests `name::sqlite` and `name::postgres`); `db_test!(some_fn)` inside a module.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $run:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::db_test!($run);
        }
    };
    ($run:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            let db = bandpool_store::testing::TestDb::sqlite().await;
            $run(&db).await;
            db.finish().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            if let Some(db) = bandpool_store::testing::TestDb::postgres().await {
                $run(&db).await;
                db.finish().await;
            }
        }
    };
}

/// The Leptos options of a portal served on `addr` in a test.
pub fn leptos_options(addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("bandpool")
        .site_root("target/site")
        .site_addr(addr)
        .build()
}

/// A response's Location header ("" without one).
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
