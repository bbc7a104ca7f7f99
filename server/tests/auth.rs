//! Sign-in and what follows from it, through the real application on SQLite and PostgreSQL:
//! local accounts, sessions, password reset and invitations by real email (a real SMTP
//! server process), the last Owner, API tokens, cross-site refusal, security headers, rate
//! limits and the event log.

mod common;

use bandpool_domain::auth::Scope;
use common::mail::MailServer;
use common::{Seed, TestApp, ADMIN, OWNER, REVIEWER};

const PASSWORD: &str = "correct horse battery staple";

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("bandpool_session="))
        .unwrap_or_default()
}

/// The session id a Set-Cookie header hands the browser.
fn session_id(cookie: &str) -> &str {
    cookie
        .trim_start_matches("bandpool_session=")
        .split(';')
        .next()
        .unwrap()
}

async fn events(app: &TestApp, query: &str) -> serde_json::Value {
    app.get_json_ok(&format!("/api/v1/events{query}")).await
}

/// The status of the pool to a browser with nothing but the session cookie `id`.
async fn pool_with_session(app: &TestApp, id: &str) -> reqwest::StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/api/v1/pool"))
        .header("cookie", format!("bandpool_session={id}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// The sign-in form posted by `browser`: the status and where it sends the browser.
async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, String) {
    let fields = [("email", email), ("password", password)];
    app.post_form(browser, "/auth/sign-in", &fields).await
}

/// The forgot-password form posted by `browser` for `email`.
async fn forgot_password(app: &TestApp, browser: &reqwest::Client, email: &str) -> (u16, String) {
    app.post_form(browser, "/auth/forgot-password", &[("email", email)])
        .await
}

/// A form that chooses a password from an emailed link (`/auth/reset-password` or
/// `/auth/invitation`), with the password typed twice as the page asks.
async fn choose_password(
    app: &TestApp,
    browser: &reqwest::Client,
    form: &str,
    token: &str,
    password: &str,
) -> (u16, String) {
    let fields = [
        ("token", token),
        ("password", password),
        ("confirm", password),
    ];
    app.post_form(browser, form, &fields).await
}

/// The newest link to `page` emailed to `to` (it carries a token).
async fn emailed_link(app: &TestApp, mail: &MailServer, to: &str, page: &str) -> String {
    mail.link(to, &format!("{}{page}?token=", app.base)).await
}

/// The token an emailed link carries.
fn token_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap()
}

/// An API token made by the Owner on the API Tokens page.
async fn create_token(
    app: &TestApp,
    name: &str,
    scope: &str,
    expires_in_days: &str,
) -> (u16, serde_json::Value) {
    let fields = [
        ("name", name),
        ("scope", scope),
        ("expires_in_days", expires_in_days),
    ];
    app.call(&app.client, "create_token", &fields).await
}

/// An invitation sent by the Owner on the Users page.
async fn invite(app: &TestApp, email: &str, role: &str) -> (u16, serde_json::Value) {
    let fields = [("email", email), ("role", role)];
    app.call(&app.client, "invite_user", &fields).await
}

/// A member's role changed by the Owner on the Users page.
async fn change_role(app: &TestApp, user_id: &str, role: &str) -> (u16, serde_json::Value) {
    let fields = [("user_id", user_id), ("role", role)];
    app.call(&app.client, "change_role", &fields).await
}

app_test!(
    local_sign_in_cycles_the_session_and_records_events,
    Seed::EmptyPool,
    |app: TestApp| async move {
        app.set_password(OWNER, PASSWORD).await;
        let browser = app.anonymous();
        // A visitor is sent to sign in, and comes back where they were going.
        let response = app.get_as(&browser, "/event-log?page=1").await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers()["location"],
            "/sign-in?next=%2Fevent-log%3Fpage%3D1"
        );

        // A wrong password: 401, the same answer as an unknown address, and an event.
        for email in [OWNER, "nobody@demo.test"] {
            let (status, _) = sign_in(&app, &browser, email, "not the password").await;
            assert_eq!(status, 401, "{email}");
        }

        // A session id planted before sign-in is not the one after it.
        let planted = tower_sessions::session::Id::default().to_string();
        bandpool_store::sessions::save(
            &app.db,
            &planted,
            None,
            "{}",
            time::OffsetDateTime::now_utc().unix_timestamp() + 600,
        )
        .await
        .unwrap();
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(app.url("/auth/sign-in"))
            .header("origin", &app.base)
            .header("cookie", format!("bandpool_session={planted}"))
            .form(&[
                ("email", "Owner@Demo.Test "),
                ("password", PASSWORD),
                ("next", "/event-log"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/event-log");
        let cookie = set_cookie(&response);
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
        let id = session_id(&cookie);
        assert_ne!(id, planted, "the session id is cycled at sign-in");
        assert!(bandpool_store::sessions::load(&app.db, &planted, 0)
            .await
            .unwrap()
            .is_none());

        // The new session works.
        assert_eq!(pool_with_session(&app, id).await, 200);

        // The member's failed attempt is in the tenant's log; the unknown address's is in no
        // tenant's (it belongs to none).
        let log = events(&app, "?action=sign_in_failed").await;
        assert_eq!(log["total"], 1, "{log}");
        assert_eq!(events(&app, "?action=sign_in").await["total"], 1);
        let first = &events(&app, "?action=sign_in").await["events"][0];
        assert_eq!(first["actor"], OWNER);
        assert!(!first["request_id"].as_str().unwrap().is_empty());
    }
);

app_test!(
    sign_in_attempts_are_limited,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let browser = app.anonymous();
        for _ in 0..10 {
            let (status, _) = sign_in(&app, &browser, OWNER, "guess guess guess").await;
            assert_eq!(status, 401);
        }
        let response = browser
            .post(app.url("/auth/sign-in"))
            .header("accept", "application/json")
            .form(&[("email", OWNER), ("password", "guess guess guess")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        let wait: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "rate_limited");
    }
);

app_test!(
    sign_out_and_sign_out_everywhere_end_sessions,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let laptop = app.client_as(OWNER).await;
        let phone = app.client_as(OWNER).await;
        let other = app.client_as(ADMIN).await;
        let pool = |c: reqwest::Client| {
            let url = app.url("/api/v1/pool");
            async move { c.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(pool(laptop.clone()).await, 200);
        let (status, location) = app.post_form(&laptop, "/auth/sign-out", &[]).await;
        assert_eq!((status, location.as_str()), (303, "/sign-in?signed_out=1"));
        assert_eq!(pool(laptop.clone()).await, 401);
        assert_eq!(
            pool(phone.clone()).await,
            200,
            "signing out here leaves other devices"
        );

        let tablet = app.client_as(OWNER).await;
        let (status, _) = app
            .post_form(&tablet, "/auth/sign-out-everywhere", &[])
            .await;
        assert_eq!(status, 303);
        assert_eq!(pool(phone).await, 401, "every session of the person ended");
        assert_eq!(pool(tablet).await, 401);
        assert_eq!(pool(other).await, 200, "nobody else's");

        // A session past its inactivity expiry is no session.
        let user = app.user_id(OWNER).await;
        let stale = tower_sessions::session::Id::default().to_string();
        let data = serde_json::json!({ "user_id": user }).to_string();
        bandpool_store::sessions::save(
            &app.db,
            &stale,
            Some(&user),
            &data,
            time::OffsetDateTime::now_utc().unix_timestamp() - 1,
        )
        .await
        .unwrap();
        assert_eq!(pool_with_session(&app, &stale).await, 401);
    }
);

mod email {
    use super::*;

    async fn spawn(db: &bandpool_store::testing::TestDb, mail: &MailServer) -> TestApp {
        let smtp = mail.smtp_url.clone();
        TestApp::spawn_with(db, Seed::EmptyPool, move |s| {
            s.mail.smtp_url = Some(smtp.into());
            s.mail.mail_from = "Bandpool <portal@bandpool.test>".into();
        })
        .await
    }

    async fn password_reset(app: TestApp, mail: MailServer) {
        app.set_password(REVIEWER, PASSWORD).await;
        let other_device = app.client_as(REVIEWER).await;
        let browser = app.anonymous();
        // An address without an account gets the same answer as one with an account, and no
        // email.
        for email in [REVIEWER, "stranger@demo.test"] {
            let (status, location) = forgot_password(&app, &browser, email).await;
            assert_eq!(
                (status, location.as_str()),
                (303, "/forgot-password?sent=1")
            );
        }
        assert!(mail.messages("stranger@demo.test").await.is_empty());

        let link = emailed_link(&app, &mail, REVIEWER, "/reset-password").await;
        let message = mail.messages(REVIEWER).await.pop().unwrap();
        assert_eq!(message["from"], "portal@bandpool.test");
        let token = token_of(&link);
        let page = common::text_of(browser.get(&link)).await;
        assert!(
            page.contains("Choose a new password") && page.contains("name=\"confirm\""),
            "{page}"
        );

        let reset = "/auth/reset-password";
        let new_password = "a brand new passphrase";
        let (status, _) = choose_password(&app, &browser, reset, token, "short").await;
        assert_eq!(
            status, 400,
            "too short is refused, and the link still works"
        );
        let (status, location) = choose_password(&app, &browser, reset, token, new_password).await;
        assert_eq!((status, location.as_str()), (303, "/sign-in?reset=1"));
        let status = app.get_as(&other_device, "/api/v1/pool").await.status();
        assert_eq!(status, 401, "a reset ends every session");
        // Single use.
        let (status, _) = choose_password(&app, &browser, reset, token, new_password).await;
        assert_eq!(status, 410);
        let (status, _) = sign_in(&app, &browser, REVIEWER, PASSWORD).await;
        assert_eq!(status, 401, "the old password is gone");
        let (status, location) = sign_in(&app, &browser, REVIEWER, new_password).await;
        assert_eq!((status, location.as_str()), (303, "/license-repository"));
        // Expiry: an hour.
        let (status, _) = forgot_password(&app, &browser, REVIEWER).await;
        assert_eq!(status, 303);
        mail.wait_for_subject(REVIEWER, "Reset your Bandpool password", 2)
            .await;
        let late = emailed_link(&app, &mail, REVIEWER, "/reset-password").await;
        assert_ne!(late, link);
        app.clock.advance(chrono::Duration::minutes(61));
        let (status, _) =
            choose_password(&app, &browser, reset, token_of(&late), new_password).await;
        assert_eq!(status, 410);
    }

    async fn invitations(app: TestApp, mail: MailServer) {
        let invitee = "new.admin@demo.test";
        let (status, body) = invite(&app, invitee, "admin").await;
        assert_eq!(status, 200, "{body}");
        let first = emailed_link(&app, &mail, invitee, "/invitation").await;
        let subject = mail.messages(invitee).await.pop().unwrap()["subject"].clone();
        assert_eq!(subject, "You are invited to Empty Corp on Bandpool");

        // Re-invite: a new link, and the first stops working.
        let team: serde_json::Value = app.call(&app.client, "get_team", &[]).await.1;
        let id = team["invitations"][0]["id"].as_str().unwrap().to_string();
        let (status, _) = app
            .call(&app.client, "reinvite_user", &[("invitation_id", &id)])
            .await;
        assert_eq!(status, 200);
        mail.wait_for_subject(invitee, "You are invited to Empty Corp on Bandpool", 2)
            .await;
        let second = emailed_link(&app, &mail, invitee, "/invitation").await;
        assert_ne!(first, second);
        let browser = app.anonymous();
        let accept = "/auth/invitation";
        let (status, _) = choose_password(&app, &browser, accept, token_of(&first), PASSWORD).await;
        assert_eq!(status, 410);

        let page = common::text_of(browser.get(&second)).await;
        assert!(
            page.contains("Empty Corp") && page.contains("Admin"),
            "{page}"
        );
        let token = token_of(&second);
        let (status, location) = choose_password(&app, &browser, accept, token, PASSWORD).await;
        assert_eq!((status, location.as_str()), (303, "/license-repository"));
        let viewer: serde_json::Value = app.call(&browser, "get_viewer", &[]).await.1;
        assert_eq!(viewer["email"], invitee);
        assert_eq!(viewer["tenant"]["role"], "admin");
        let (status, _) = choose_password(&app, &app.anonymous(), accept, token, PASSWORD).await;
        assert_eq!(status, 410, "an invitation is accepted once");

        // Links expire after 48 hours.
        let (status, _) = invite(&app, "late@demo.test", "reviewer").await;
        assert_eq!(status, 200);
        let late = emailed_link(&app, &mail, "late@demo.test", "/invitation").await;
        let look_up = || async {
            app.call(
                &app.anonymous(),
                "get_invitation",
                &[("token", token_of(&late))],
            )
            .await
        };
        app.clock.advance(chrono::Duration::hours(47));
        assert_eq!(look_up().await.0, 200);
        app.clock.advance(chrono::Duration::hours(2));
        common::assert_refused(&look_up().await, 410, "link_expired");

        let log = events(&app, "?action=invitation_accepted").await;
        assert_eq!(log["events"][0]["target"], invitee);
        assert_eq!(events(&app, "?action=invitation_sent").await["total"], 3);
    }

    async fn password_reset_by_email_on(db: &bandpool_store::testing::TestDb) {
        let mail = MailServer::start();
        password_reset(spawn(db, &mail).await, mail).await;
    }

    db_test!(password_reset_by_email, password_reset_by_email_on);

    async fn invitations_by_email_on(db: &bandpool_store::testing::TestDb) {
        let mail = MailServer::start();
        invitations(spawn(db, &mail).await, mail).await;
    }

    db_test!(invitations_by_email, invitations_by_email_on);
}

app_test!(
    the_last_owner_stays,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let owner = app.user_id(OWNER).await;
        let admin = app.user_id(ADMIN).await;
        common::assert_refused(&change_role(&app, &owner, "admin").await, 409, "last_owner");
        let removed = app
            .call(&app.client, "remove_member", &[("user_id", &owner)])
            .await;
        common::assert_refused(&removed, 409, "last_owner");
        // With a second Owner, the first may step down.
        assert_eq!(change_role(&app, &admin, "owner").await.0, 200);
        assert_eq!(change_role(&app, &owner, "reviewer").await.0, 200);
        // ...and is a Reviewer at once: the Users page is no longer theirs.
        let team = app.call(&app.client, "get_team", &[]).await;
        common::assert_refused(&team, 403, "forbidden");
        let log = events(&app, "?action=role_changed").await;
        assert_eq!(log["total"], 2);
    }
);

app_test!(
    api_tokens_are_shown_once_hashed_scoped_and_revocable,
    Seed::Demo(30),
    |app: TestApp| async move {
        let (status, created) = create_token(&app, "nightly export", "read", "30").await;
        assert_eq!(status, 200, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("bp_"));
        // Stored hashed: the secret is nowhere in the database.
        let stored: Vec<String> =
            sqlx::query_scalar::<_, String>("SELECT token_hash FROM api_tokens")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        assert!(stored.iter().all(|h| h != &secret && h.len() == 64));
        // Listed without the secret.
        let (_, list) = app.call(&app.client, "list_tokens", &[]).await;
        assert!(!list.to_string().contains(&secret));
        assert!(list[0]["last_used_at"].is_null());

        let robot = app.bearer(&secret);
        let response = app.get_as(&robot, "/api/v1/licenses?per_page=5").await;
        assert_eq!(response.status(), 200);
        let (_, list) = app.call(&app.client, "list_tokens", &[]).await;
        assert!(
            list[0]["last_used_at"].as_i64().is_some(),
            "last use is shown"
        );
        // A token opens the REST API only: not pages, not server functions.
        let page = app.get_as(&robot, "/license-repository").await;
        assert_eq!(page.status(), 303);
        assert_eq!(
            robot
                .post(app.url("/_server/get_pool_view"))
                .header("origin", &app.base)
                .send()
                .await
                .unwrap()
                .status(),
            401
        );

        // Revoked: refused at once.
        let id = list[0]["id"].as_str().unwrap();
        assert_eq!(
            app.call(&app.client, "revoke_token", &[("token_id", id)])
                .await
                .0,
            200
        );
        let response = app.get_as(&robot, "/api/v1/pool").await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_token");

        // Expired: refused.
        let (_, short) = create_token(&app, "short", "read", "1").await;
        let short = app.bearer(short["secret"].as_str().unwrap());
        assert_eq!(app.get_as(&short, "/api/v1/pool").await.status(), 200);
        app.clock.advance(chrono::Duration::hours(25));
        assert_eq!(app.get_as(&short, "/api/v1/pool").await.status(), 401);

        // A removed member's tokens stop working.
        let admin_token = app.token_for(ADMIN, Scope::ReadWrite).await;
        let admin_robot = app.bearer(&admin_token);
        assert_eq!(app.get_as(&admin_robot, "/api/v1/pool").await.status(), 200);
        let admin = app.user_id(ADMIN).await;
        assert_eq!(
            app.call(&app.client, "remove_member", &[("user_id", &admin)])
                .await
                .0,
            200
        );
        assert_eq!(app.get_as(&admin_robot, "/api/v1/pool").await.status(), 401);

        // Bad input: a clear error.
        let (status, body) = create_token(&app, "", "read", "").await;
        assert_eq!((status, body["parameter"].as_str()), (400, Some("name")));
        let (status, body) = create_token(&app, "x", "admin", "").await;
        assert_eq!((status, body["parameter"].as_str()), (400, Some("scope")));
        assert_eq!(create_token(&app, "x", "read", "-3").await.0, 400);

        let created = events(&app, "?action=token_created").await;
        assert_eq!(created["total"], 2);
        assert_eq!(events(&app, "?action=token_revoked").await["total"], 1);
    }
);

mod token_rate_limit {
    use super::*;

    async fn run(app: TestApp) {
        let robot = app.bearer(&app.token_for(OWNER, Scope::Read).await);
        for _ in 0..3 {
            assert_eq!(app.get_as(&robot, "/api/v1/pool").await.status(), 200);
        }
        let response = app.get_as(&robot, "/api/v1/pool").await;
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
        // Unknown tokens are limited per address.
        let guesser = app.bearer("bp_0000");
        for _ in 0..2 {
            assert_eq!(app.get_as(&guesser, "/api/v1/pool").await.status(), 401);
        }
        assert_eq!(app.get_as(&guesser, "/api/v1/pool").await.status(), 429);
    }

    async fn on(db: &bandpool_store::testing::TestDb) {
        let app = TestApp::spawn_with(db, Seed::EmptyPool, |s| {
            s.sign_in.rate_token_requests_per_minute = 3;
            s.sign_in.rate_bad_tokens_per_minute = 2;
        })
        .await;
        run(app).await;
    }

    db_test!(on);
}

app_test!(
    cross_site_requests_change_nothing,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let user = app.user_id(OWNER).await;
        let cookie = app.client_as(OWNER).await;
        let forged = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
            let mut request = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(app.url("/_server/create_token"))
                .form(&[
                    ("name", "forged"),
                    ("scope", "read_write"),
                    ("expires_in_days", ""),
                ]);
            if let Some(o) = origin {
                request = request.header("origin", o);
            }
            if let Some(f) = fetch_site {
                request = request.header("sec-fetch-site", f);
            }
            request
        };
        // The session cookie of a signed-in Owner, sent by a page on another site.
        let session_cookie = bandpool_store::sessions::count_for_user(&app.db, &user, 0)
            .await
            .unwrap();
        assert!(session_cookie >= 1);
        let _ = cookie;
        for (origin, site) in [
            (Some("http://evil.test"), None),
            (Some("http://evil.test"), Some("cross-site")),
            (None, Some("cross-site")),
            (None, Some("same-site")),
            (Some("null"), None),
            (None, None),
        ] {
            let response = forged(origin, site).send().await.unwrap();
            assert_eq!(response.status(), 403, "{origin:?} {site:?}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "cross_site_request");
        }
        // Even with the victim's cookie: refused before it is read.
        let sessions = app.client_as(OWNER).await;
        let response = sessions
            .post(app.url("/auth/sign-out-everywhere"))
            .header("origin", "http://evil.test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(app.get_as(&sessions, "/api/v1/pool").await.status(), 200);
        let (_, list) = app.call(&app.client, "list_tokens", &[]).await;
        assert_eq!(
            list.as_array().unwrap().len(),
            0,
            "no forged token was made"
        );
    }
);

app_test!(
    security_headers_on_pages_and_the_api,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let response = app.get("/license-repository").await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = response.text().await.unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the hydration script carries the nonce"
        );
        for part in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "'wasm-unsafe-eval'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["x-frame-options"], "DENY");
        // Another render, another nonce.
        let again = app.get("/license-repository").await;
        assert_ne!(
            again.headers()["content-security-policy"].to_str().unwrap(),
            csp
        );

        let api = app.get("/api/v1/pool").await;
        assert!(api.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    }
);

app_test!(
    the_event_log_filters_pages_and_exports,
    Seed::EmptyPool,
    |app: TestApp| async move {
        for name in ["alpha", "beta", "gamma"] {
            assert_eq!(create_token(&app, name, "read", "").await.0, 200);
            app.clock.advance(chrono::Duration::seconds(1));
        }
        app.clock.advance(chrono::Duration::days(2));
        assert_eq!(invite(&app, "=cmd@demo.test", "reviewer").await.0, 200);

        let all = events(&app, "").await;
        assert_eq!(all["total"], 4);
        assert_eq!(
            all["events"][0]["action"], "invitation_sent",
            "newest first"
        );
        let page = events(&app, "?per_page=2&page=2").await;
        assert_eq!(page["events"].as_array().unwrap().len(), 2);
        assert_eq!(
            page["events"][1]["target"]
                .as_str()
                .unwrap()
                .split(' ')
                .next(),
            Some("alpha")
        );
        assert_eq!(events(&app, "?target=BETA").await["total"], 1);
        assert_eq!(events(&app, "?actor=owner@").await["total"], 4);
        assert_eq!(events(&app, "?actor=nobody").await["total"], 0);
        assert_eq!(events(&app, "?from=2026-11-26").await["total"], 0);
        assert_eq!(events(&app, "?from=2026-11-25").await["total"], 1);
        assert_eq!(events(&app, "?to=2026-11-23").await["total"], 3);
        let response = app.get("/api/v1/events?action=drop_table").await;
        assert_eq!(response.status(), 400);

        // Reviewers read it, and export it.
        let reviewer = app.client_as(REVIEWER).await;
        let response = app
            .get_as(&reviewer, "/api/v1/events/export.csv?action=token_created")
            .await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Event_log_2026"));
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "Time (UTC),Actor,Action,Target,Detail,Request ID");
        assert_eq!(lines.len(), 4);
        // A cell a spreadsheet would run is made inert.
        let csv = app
            .get_as(
                &reviewer,
                "/api/v1/events/export.csv?action=invitation_sent",
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(csv.contains("'=cmd@demo.test"), "{csv}");

        // The page shows it.
        let (_, html) = app.get_text("/event-log?action=token_created").await;
        assert!(
            html.contains("gamma") && !html.contains("=cmd@demo.test"),
            "filtered"
        );
    }
);

mod https_cookies {
    use super::*;

    /// Served over HTTPS (public_url https://), the session cookie is Secure; it ends after the
    /// configured inactivity, in the browser and in the session table. (Behind a proxy that
    /// ends TLS: the browser's origin is the public one.)
    async fn run(app: TestApp) {
        app.set_password(OWNER, PASSWORD).await;
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(app.url("/auth/sign-in"))
            .header("origin", "https://licenses.example.com")
            .form(&[("email", OWNER), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let cookie = set_cookie(&response);
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            cookie.contains("Max-Age=1800"),
            "an inactivity expiry, not a browser-session cookie: {cookie}"
        );
        let (_, expires_at) = bandpool_store::sessions::load(&app.db, session_id(&cookie), 0)
            .await
            .unwrap()
            .unwrap();
        let idle = expires_at - time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((25 * 60..=30 * 60).contains(&idle), "{idle} s");
    }

    async fn on(db: &bandpool_store::testing::TestDb) {
        let app = TestApp::spawn_with(db, Seed::EmptyPool, |s| {
            s.portal.public_url = "https://licenses.example.com".into();
            s.portal.session_idle_minutes = 30;
        })
        .await;
        run(app).await;
    }

    db_test!(on);
}

mod mail_server_down {
    use super::*;

    async fn emails(app: &TestApp) -> serde_json::Value {
        let (status, list) = app.get_json("/api/v1/notifications/email-deliveries").await;
        assert_eq!(status, 200, "{list}");
        list
    }

    /// The mail server refuses: the invitation is made at once (a request never waits on
    /// SMTP), its email stays queued, listed with the error and retried with backoff; a
    /// portal started again with the mail server back sends it, so nothing is lost.
    async fn on(db: &bandpool_store::testing::TestDb) {
        let closed = common::mail::free_port();
        let app = TestApp::spawn_with(db, Seed::EmptyPool, |s| {
            s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{closed}").into());
        })
        .await;
        let (status, body) = invite(&app, "later@demo.test", "admin").await;
        assert_eq!(status, 200, "{body}");
        let (_, team) = app.call(&app.client, "get_team", &[]).await;
        assert_eq!(team["invitations"][0]["email"], "later@demo.test", "{team}");

        // The sender tried once: the message is listed, pending, with the refusal.
        let listed = common::eventually("the first attempt is listed", || async {
            let list = emails(&app).await;
            (list[0]["attempts"] == 1).then_some(list)
        })
        .await;
        assert_eq!(listed[0]["to"], "later@demo.test", "{listed}");
        assert_eq!(listed[0]["status"], "pending", "{listed}");
        assert_eq!(
            listed[0]["last_error"], "the mail server did not take the message",
            "{listed}"
        );
        // Not tried again before its backoff, then tried again after it.
        assert_eq!(
            bandpool_services::mail::send_due(&app.state).await.unwrap(),
            0
        );
        app.clock.advance(chrono::Duration::seconds(31));
        assert_eq!(
            bandpool_services::mail::send_due(&app.state).await.unwrap(),
            1
        );
        assert_eq!(emails(&app).await[0]["attempts"], 2);

        // Re-invite still answers at once, with a new message queued.
        let id = team["invitations"][0]["id"].as_str().unwrap();
        let (status, _) = app
            .call(&app.client, "reinvite_user", &[("invitation_id", id)])
            .await;
        assert_eq!(status, 200);
        assert_eq!(emails(&app).await.as_array().unwrap().len(), 2);

        // Another portal on the same database, its mail server answering: once the retries
        // are due, both messages go out.
        let mail = MailServer::start();
        let smtp = mail.smtp_url.clone();
        let again = TestApp::spawn_with(db, Seed::Nothing, move |s| {
            s.mail.smtp_url = Some(smtp.into());
        })
        .await;
        again.clock.advance(chrono::Duration::hours(1));
        again.state.outbox.wake();
        let link = emailed_link(&app, &mail, "later@demo.test", "/invitation").await;
        assert!(link.contains("token="), "{link}");
        common::eventually("both messages are sent", || async {
            let list = emails(&app).await;
            let sent = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["status"] == "delivered")
                .count();
            (sent == 2).then_some(())
        })
        .await;
    }

    db_test!(on);
}

app_test!(
    a_refused_form_links_back_to_itself,
    Seed::EmptyPool,
    |app: TestApp| async move {
        // A too-short password chosen on the page at `referer`.
        let refused = |referer: String, token: &'static str| {
            app.anonymous()
                .post(app.url("/auth/reset-password"))
                .header("accept", "text/html")
                .header("referer", referer)
                .form(&[
                    ("token", token),
                    ("password", "short"),
                    ("confirm", "short"),
                ])
                .send()
        };
        let form = format!("{}/reset-password?token=pwr_abc", app.base);
        let page = refused(form, "pwr_abc").await.unwrap();
        assert_eq!(page.status(), 400);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("href=\"/reset-password?token=pwr_abc\""),
            "{html}"
        );
        assert!(html.contains("at least 12 characters"), "{html}");
        // Another site's page is never the way back.
        let page = refused("http://evil.test/reset-password".into(), "x")
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("href=\"/sign-in\""), "{page}");
    }
);

app_test!(
    a_member_of_two_tenants_switches_between_them,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let other = app.other_tenant_id.clone().unwrap();
        let admin = app.user_id(ADMIN).await;
        let mut tx = app.db.begin_write().await.unwrap();
        bandpool_store::accounts::add_member(
            &mut tx,
            &other,
            &admin,
            bandpool_domain::auth::Role::Reviewer,
            0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let browser = app.client_as(ADMIN).await;
        let pool = |b: reqwest::Client| {
            let url = app.url("/api/v1/pool");
            async move {
                b.get(url)
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(pool(browser.clone()).await["tenant_name"], "Empty Corp");
        let viewer = app.call(&browser, "get_viewer", &[]).await.1;
        assert_eq!(viewer["tenants"].as_array().unwrap().len(), 2);
        let (status, location) = app
            .post_form(&browser, "/auth/tenant", &[("tenant_id", &other)])
            .await;
        assert_eq!((status, location.as_str()), (303, "/license-repository"));
        assert_eq!(pool(browser.clone()).await["tenant_name"], "Other Corp");
        let viewer = app.call(&browser, "get_viewer", &[]).await.1;
        assert_eq!(
            viewer["tenant"]["role"], "reviewer",
            "the role of the tenant shown"
        );
        // A tenant one does not belong to: refused, and the view stays.
        let (status, _) = app
            .post_form(
                &browser,
                "/auth/tenant",
                &[("tenant_id", "00000000-0000-0000-0000-000000000000")],
            )
            .await;
        assert_eq!(status, 404);
        assert_eq!(pool(browser).await["tenant_name"], "Other Corp");
    }
);
