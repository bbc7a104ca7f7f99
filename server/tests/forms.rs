//! Plain forms, as a browser without JavaScript (or any form outside an island) sends them:
//! a server function answers with a redirect, back to the form's page or to the page the
//! form names, and that page says once what happened, in words for a person.

mod common;

use common::{location, Seed, TestApp};

/// Post `fields` to the server function `endpoint` as an HTML form from the page `from`.
async fn post_form(
    app: &TestApp,
    endpoint: &str,
    from: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let response = app
        .client
        .post(app.url(&format!("/_server/{endpoint}")))
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", app.url(from))
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), location(&response))
}

app_test!(
    a_form_returns_to_its_page_which_says_once_what_it_did,
    Seed::Demo(20),
    |app: TestApp| async move {
        let fields = [("email", "new.member@demo.test"), ("role", "reviewer")];
        let (status, to) = post_form(&app, "invite_user", "/users", &fields).await;
        assert_eq!((status, to.as_str()), (303, "/users"));
        let page = app.get_text_ok("/users").await;
        assert!(
            page.contains("data-flash=\"notice\"") && page.contains("The invitation is on its way"),
            "{page}"
        );
        let again = app.get_text_ok("/users").await;
        assert!(!again.contains("data-flash"), "said once only");
        // Over fetch (JSON) the answer is the body, with no redirect and nothing left behind.
        let (status, _) = app
            .call(
                &app.client,
                "invite_user",
                &[("email", "other.member@demo.test"), ("role", "reviewer")],
            )
            .await;
        assert_eq!(status, 200);
        assert!(!app.get_text_ok("/users").await.contains("data-flash"));
    }
);

app_test!(
    a_refused_form_returns_to_itself_with_the_reason_in_words,
    Seed::Demo(20),
    |app: TestApp| async move {
        let (license, _) = app.killable_license().await;
        let dialog = format!("/license-repository?kill={license}");
        let fields = [
            ("license_id", license.as_str()),
            ("confirm", "kill"),
            ("_next", "/license-repository"),
        ];
        let (status, to) = post_form(&app, "kill_license", &dialog, &fields).await;
        assert_eq!(status, 303);
        assert_eq!(to, dialog, "a refusal goes back to the form, not on");
        let page = app.get_text_ok(&dialog).await;
        assert!(
            page.contains("Type KILL to confirm that the license should be killed."),
            "{page}"
        );
        assert!(!page.contains("invalid_parameter"), "no code in the words");
        let (_, still) = app
            .get_json(&format!("/api/v1/licenses/{license}/history"))
            .await;
        assert_eq!(still["license"]["status"], "active");
    }
);

app_test!(
    a_kill_goes_on_to_the_page_the_form_names_and_never_elsewhere,
    Seed::Demo(20),
    |app: TestApp| async move {
        let (license, serial) = app.killable_license().await;
        let dialog = format!("/license-repository?q={serial}&kill={license}");
        let next = format!("/license-repository?q={serial}");
        let fields = [
            ("license_id", license.as_str()),
            ("confirm", "KILL"),
            ("_next", next.as_str()),
        ];
        let (status, to) = post_form(&app, "kill_license", &dialog, &fields).await;
        assert_eq!((status, to.as_str()), (303, next.as_str()));
        let page = app.get_text_ok(&next).await;
        assert!(page.contains("The license is killed"), "{page}");
        // Another site is never where a form leads.
        let (other, _) = app.killable_license().await;
        let fields = [
            ("license_id", other.as_str()),
            ("confirm", "KILL"),
            ("_next", "//evil.test/x"),
        ];
        let (status, to) = post_form(&app, "kill_license", "/license-repository", &fields).await;
        assert_eq!((status, to.as_str()), (303, "/license-repository"));
    }
);

app_test!(
    sync_licenses_as_a_form_leads_to_its_progress,
    Seed::Demo(20),
    |app: TestApp| async move {
        let (status, to) = post_form(&app, "sync_licenses", "/license-repository", &[]).await;
        assert_eq!(status, 303);
        assert!(to.starts_with("/license-repository?sync="), "{to}");
        let page = app.get_text_ok(&to).await;
        assert!(page.contains("data-sync="), "the progress shows: {page}");
    }
);

app_test!(
    the_columns_menu_without_javascript_is_remembered_in_a_cookie,
    Seed::Demo(20),
    |app: TestApp| async move {
        let response = app
            .client
            .post(app.url("/license-repository/columns"))
            .form(&[
                ("show", "device_name"),
                ("show", "status"),
                ("_next", "/license-repository?page=2"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/license-repository?page=2");
        let cookie = response
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.starts_with("bandpool_columns=ip_address.serial_no."),
            "{cookie}"
        );
        // The browser sends it back with every page.
        let pair = cookie.split(';').next().unwrap().to_string();
        let browser = app.client_as_with_cookie(common::OWNER, &pair).await;
        let page = browser
            .get(app.url("/license-repository"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("hide-ip_address"),
            "the table renders without the column"
        );
        assert!(!page.contains("hide-device_name"));
    }
);
