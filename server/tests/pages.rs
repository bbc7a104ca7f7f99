//! The License Repository as a browser without JavaScript receives it: everything is in
//! the server-rendered HTML, charts included.

mod common;

use common::{Seed, TestApp};

app_test!(
    the_page_renders_completely_on_the_server,
    Seed::Demo(120),
    |app: TestApp| async move {
        let html = app.get_text_ok("/license-repository").await;
        for needle in [
            "License Repository",
            "Last refreshed",
            "Current allocation",
            "Maximum capacity",
            "Available capacity",
            "Maximum allocation",
            "License overview",
            "Export to CSV",
            "cylinder-section",
            "data-month=\"2026-11\"",
            "data-license=",
            "Page 1 of 12",
        ] {
            assert!(html.contains(needle), "missing {needle:?}");
        }
        assert!(
            html.matches("<svg").count() >= 2,
            "both charts are drawn on the server"
        );
        assert_eq!(html.matches("<tr data-license=").count(), 10);
        assert!(
            html.contains("class=\"sr-only\""),
            "text alternatives for the charts"
        );
    }
);

app_test!(
    the_view_lives_in_the_url,
    Seed::Demo(120),
    |app: TestApp| async move {
        let (_, html) = app
            .get_text("/license-repository?month=2026-10&per_page=25&sort=bandwidth&order=desc")
            .await;
        assert!(html.contains("each day of Oct 2026"));
        assert!(html.contains("data-day=\"2026-10-31\""));
        assert!(html.contains("Back to all months"));
        assert_eq!(html.matches("<tr data-license=").count(), 25);
        assert!(html.contains("aria-sort=\"descending\""));

        let (_, html) = app.get_text("/license-repository?q=no-such-device").await;
        assert!(html.contains("No licenses match"));

        let (_, list) = app
            .get_json("/api/v1/licenses?status=active&per_page=1")
            .await;
        let id = list["licenses"][0]["id"].as_str().unwrap().to_string();
        let (_, html) = app
            .get_text(&format!("/license-repository?history={id}"))
            .await;
        assert!(html.contains("License history"));

        let html = app.get_text_ok("/license-repository?page=zero").await;
        assert!(html.contains("invalid_parameter") && html.contains("page"));
    }
);

app_test!(
    an_empty_pool_says_so,
    Seed::EmptyPool,
    |app: TestApp| async move {
        let html = app.get_text_ok("/license-repository").await;
        assert!(html.contains("This pool has no licenses yet"));
        assert!(html.contains("No allocation history yet"));
        assert!(html.contains("No licenses are allocated from this pool yet"));
    }
);

app_test!(
    root_redirects_and_unknown_pages_are_404,
    Seed::Demo(5),
    |app: TestApp| async move {
        let response = app.get("/").await;
        assert!(response.status().is_redirection());
        assert_eq!(response.headers()["location"], "/license-repository");
        let (status, html) = app.get_text("/no-such-page").await;
        assert_eq!(status, 404);
        assert!(html.contains("Page not found"));
    }
);
