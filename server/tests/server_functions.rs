//! The portal's server functions over HTTP, as the hydrated page calls them: an error's
//! status follows the error, and its body carries the error, never internal text.

mod common;

use common::{Seed, TestApp};

async fn post(app: &TestApp, endpoint: &str, form: &str) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}/_server/{endpoint}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

app_test!(
    errors_carry_their_status,
    Seed::Demo(30),
    |app: TestApp| async move {
        let (status, body) = post(&app, "list_license_page", "page=2&per_page=5").await;
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["licenses"].as_array().unwrap().len(), 5);

        let (status, body) = post(&app, "list_license_page", "").await;
        assert_eq!(
            status, 200,
            "no arguments at all is the default view: {body}"
        );

        let (status, body) = post(&app, "list_license_page", "page=zero").await;
        assert_eq!(status, 400, "{body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            error["code"], "invalid_parameter",
            "the REST API's shape: {body}"
        );
        assert_eq!(error["parameter"], "page");
        assert!(error["message"].as_str().unwrap().contains("page"));

        let missing = uuid::Uuid::new_v4();
        let (status, body) = post(
            &app,
            "get_license_history",
            &format!("license_id={missing}"),
        )
        .await;
        assert_eq!(status, 404, "{body}");

        let (status, body) = post(&app, "get_allocation_view", "month=2026-13").await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = post(&app, "get_allocation_view", "month=2026-10").await;
        assert_eq!(status, 200);
        let (status, _) = post(&app, "get_pool_view", "").await;
        assert_eq!(status, 200);

        app.db.pool.close().await;
        let (status, body) = post(&app, "get_pool_view", "").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("\"code\":\"database_unavailable\""), "{body}");
        assert!(!body.to_lowercase().contains("sqlx"), "{body}");
    }
);
