//! Single sign-on against a real OpenID Connect provider (npm oidc-provider, in a child
//! process on loopback), walked over HTTP the way a browser walks it: the portal's redirect,
//! the provider's login form, the redirect back with a code, the exchange with PKCE.

mod common;

use std::process::Child;

use bandpool_domain::auth::Role;
use common::mail::try_start_support;
use common::{Seed, TestApp, ADMIN, OWNER};

struct Idp(Child);

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn(db: &bandpool_store::testing::TestDb) -> (TestApp, Idp, String) {
    // The provider must know the portal's callback and the portal the provider's issuer:
    // bind the portal's port first, start the provider on a port the system chooses (a port
    // picked here could be taken by a parallel test before it binds), then start the portal.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (idp, ready) = try_start_support(
        "idp.mjs",
        "oidc-provider",
        &[
            ("BANDPOOL_TEST_IDP_PORT", "0".to_string()),
            (
                "BANDPOOL_TEST_IDP_REDIRECTS",
                format!("{base}/auth/oidc/callback"),
            ),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let idp = Idp(idp);
    let issuer = ready
        .trim()
        .strip_prefix("idp ready ")
        .unwrap_or_else(|| panic!("no issuer in {ready:?}"))
        .to_string();
    let app = TestApp::spawn_on(listener, db, Seed::EmptyPool, |s| {
        s.sign_in.oidc_issuer = Some(issuer.clone());
        s.sign_in.oidc_client_id = Some("bandpool".into());
        s.sign_in.oidc_client_secret = Some("bandpool-test-secret".into());
    })
    .await;
    (app, idp, issuer)
}

/// A browser: keeps cookies, follows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Start at the portal, sign in at the provider as `login`; returns the final response.
async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    start: &str,
    login: &str,
) -> reqwest::Response {
    let page = browser.get(app.url(start)).send().await.unwrap();
    let at = page.url().clone();
    let html = page.text().await.unwrap();
    let action = html
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|a| a.ends_with("/login"))
        .unwrap_or_else(|| panic!("a login form at {at}: {html}"));
    let target = at.join(action).unwrap();
    browser
        .post(target)
        .form(&[("login", login)])
        .send()
        .await
        .unwrap()
}

async fn viewer(app: &TestApp, browser: &reqwest::Client) -> serde_json::Value {
    browser
        .post(app.url("/_server/get_viewer"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn run(db: &bandpool_store::testing::TestDb) {
    let (app, _idp, issuer) = spawn(db).await;

    // A member found by the provider's verified email; the subject is linked for next time.
    let b = browser();
    let done = sign_in(&app, &b, "/auth/sso?next=%2Fevent-log", ADMIN).await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.url().path(), "/event-log");
    assert_eq!(viewer(&app, &b).await["email"], ADMIN);
    let user = bandpool_store::accounts::user_by_email(&app.db, ADMIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.oidc_subject.as_deref(), Some(ADMIN));
    assert_eq!(user.oidc_issuer.as_deref(), Some(issuer.as_str()));

    // Nobody of that address: refused, clearly.
    let b = browser();
    let refused = sign_in(&app, &b, "/auth/sso", "stranger").await;
    assert_eq!(refused.status(), 400);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("no Bandpool account for stranger@example.test"));
    assert!(viewer(&app, &b).await.is_null());

    // An unverified address never matches an account by email.
    {
        let mut tx = app.db.begin_write().await.unwrap();
        let id = bandpool_store::accounts::ensure_user(&mut tx, "unverified-uma@example.test", 0)
            .await
            .unwrap();
        bandpool_store::accounts::add_member(
            &mut tx,
            app.tenant_id.as_ref().unwrap(),
            &id,
            Role::Reviewer,
            0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let b = browser();
    let refused = sign_in(&app, &b, "/auth/sso", "unverified-uma").await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("not verified"));

    // An invitation accepted through the provider, with the invited address.
    let link = {
        let mut tx = app.db.begin_write().await.unwrap();
        let (_, link) = bandpool_store::accounts::invite(
            &mut tx,
            app.tenant_id.as_ref().unwrap(),
            "carol@example.test",
            Role::Admin,
            OWNER,
            app.clock.now_ts(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        link
    };
    let b = browser();
    let done = sign_in(&app, &b, &format!("/auth/sso?invitation={link}"), "carol").await;
    assert_eq!(done.url().path(), "/license-repository");
    let who = viewer(&app, &b).await;
    assert_eq!(
        (who["email"].as_str(), who["tenant"]["role"].as_str()),
        (Some("carol@example.test"), Some("admin"))
    );

    // The state must be this browser's, and the sign-in it started: a forged or replayed
    // callback is refused.
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let to_idp = b.get(app.url("/auth/sso")).send().await.unwrap();
    assert_eq!(to_idp.status(), 303);
    let location = to_idp.headers()["location"].to_str().unwrap().to_string();
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "scope=openid",
    ] {
        assert!(location.contains(part), "{location}");
    }
    let forged_callback = || {
        b.get(app.url("/auth/oidc/callback?code=stolen&state=forged"))
            .header("accept", "application/json")
            .send()
    };
    let response = forged_callback().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_failed");
    assert!(body["message"].as_str().unwrap().contains("state"));
    let replay = forged_callback().await.unwrap();
    assert_eq!(replay.status(), 400, "the pending sign-in is used up");

    // The nonce must be the one this sign-in sent: change it in the stored session, and the
    // provider's genuine ID token is refused.
    let b = browser();
    let page = b.get(app.url("/auth/sso")).send().await.unwrap();
    let rows = app
        .db
        .fetch_all(
            "SELECT id, data FROM sessions WHERE data LIKE '%pending_sso%'",
            vec![],
        )
        .await
        .unwrap();
    use sqlx::Row;
    for row in rows {
        let id: String = row.try_get("id").unwrap();
        let mut data: serde_json::Value =
            serde_json::from_str(&row.try_get::<String, _>("data").unwrap()).unwrap();
        data["pending_sso"]["nonce"] = serde_json::Value::String("not-the-nonce".into());
        app.db
            .execute(
                "UPDATE sessions SET data = $1 WHERE id = $2",
                vec![
                    bandpool_store::db::Value::Text(data.to_string()),
                    bandpool_store::db::Value::Text(id),
                ],
            )
            .await
            .unwrap();
    }
    let html = page.text().await.unwrap();
    let at = html
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|a| a.ends_with("/login"))
        .unwrap()
        .to_string();
    let refused = b
        .post(format!("{issuer}{at}"))
        .form(&[("login", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("nonce"));
}

db_test!(single_sign_on, run);
