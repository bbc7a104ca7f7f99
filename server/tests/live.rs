//! GET /live, the change stream behind the live pages: it belongs to the signed-in person's
//! tenant, says "changed" soon after a change there, and nothing of another tenant's.

mod common;

use std::time::Duration;

use common::{Seed, TestApp, OUTSIDER};
use serde_json::json;

/// What the stream sends within `wait`, as text (empty when it sent nothing).
async fn next_text(stream: &mut reqwest::Response, wait: Duration) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, stream.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
        if text.contains("data:") {
            break;
        }
    }
    text
}

app_test!(
    the_live_stream_tells_its_tenant_of_a_kill_and_no_one_else,
    Seed::Demo(20),
    |app: TestApp| async move {
        let refused = app.anonymous().get(app.url("/live")).send().await.unwrap();
        assert_eq!(refused.status(), 401);

        let mut ours = app.client.get(app.url("/live")).send().await.unwrap();
        assert_eq!(ours.status(), 200);
        assert_eq!(
            ours.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let outsider = app.client_as(OUTSIDER).await;
        let mut theirs = outsider.get(app.url("/live")).send().await.unwrap();
        assert_eq!(theirs.status(), 200);
        // The greeting tells the browser to reconnect after a second when the stream drops.
        let greeting = next_text(&mut ours, Duration::from_secs(2)).await;
        assert!(greeting.contains("retry: 1000"), "{greeting}");
        next_text(&mut theirs, Duration::from_secs(2)).await;

        let (license, _) = app.killable_license().await;
        let (status, body) = app
            .post_json(
                &app.client,
                &format!("/api/v1/licenses/{license}/kill"),
                &json!({ "confirm": "KILL" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let said = next_text(&mut ours, Duration::from_secs(2)).await;
        assert!(
            said.contains("data: changed"),
            "within two seconds: {said:?}"
        );
        let said = next_text(&mut theirs, Duration::from_secs(2)).await;
        assert!(
            !said.contains("data:"),
            "another tenant hears nothing: {said:?}"
        );
    }
);
