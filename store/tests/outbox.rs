//! The email outbox in the data layer, on both databases: a message is queued only with the
//! transaction that queues it, claimed by one sender at a time, retried with the webhooks'
//! backoff, given up after the last attempt, listed per tenant, and its body (which can
//! hold a sign-in link) cleared once it is sent or given up.

use bandpool_store::outbox::{self, NewEmail};
use bandpool_store::{db_test, notifications, tenants, Db};

const NOW: i64 = 1_795_428_000;

async fn tenant(db: &Db) -> String {
    let mut tx = db.begin_write().await.unwrap();
    tenants::ensure_license_types(&mut tx).await.unwrap();
    let id = tenants::create_tenant(&mut tx, "Acme", 1_000, 5, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn queue(db: &Db, tenant_id: &str, to: &str, commit: bool) {
    let mut tx = db.begin_write().await.unwrap();
    let email = NewEmail {
        tenant_id: Some(tenant_id),
        to,
        subject: "License killed: lm-1",
        body: "https://portal.test/reset-password?token=pwr_secret",
    };
    outbox::queue(&mut tx, &email, NOW).await.unwrap();
    if commit {
        tx.commit().await.unwrap();
    }
}

db_test!(
    queued_with_its_change_claimed_once_retried_and_listed,
    |db: Db| async move {
        let t = tenant(&db).await;
        // A change rolled back takes its message with it.
        queue(&db, &t, "gone@acme.test", false).await;
        assert!(outbox::due(&db, NOW, 10).await.unwrap().is_empty());

        queue(&db, &t, "ops@acme.test", true).await;
        let due = outbox::due(&db, NOW, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].to, "ops@acme.test");
        assert!(due[0].body.contains("pwr_secret"));
        // Claimed: a second sender finds nothing to send.
        assert!(outbox::due(&db, NOW, 10).await.unwrap().is_empty());

        let id = due[0].id.clone();
        let mut now = NOW;
        for attempt in 1..notifications::MAX_ATTEMPTS {
            outbox::record_attempt(&db, &id, Err("refused".into()), now)
                .await
                .unwrap();
            let listed = outbox::deliveries(&db, &t, 10).await.unwrap();
            assert_eq!(
                (listed[0].status.as_str(), listed[0].attempts),
                ("pending", attempt)
            );
            assert_eq!(listed[0].last_error.as_deref(), Some("refused"));
            // Not due before its backoff; due after it.
            assert!(outbox::due(&db, now + 1, 10).await.unwrap().is_empty());
            now += notifications::backoff_secs(attempt);
            assert_eq!(outbox::due(&db, now, 10).await.unwrap().len(), 1);
        }
        outbox::record_attempt(&db, &id, Err("refused".into()), now)
            .await
            .unwrap();
        let listed = outbox::deliveries(&db, &t, 10).await.unwrap();
        assert_eq!(listed[0].status, "failed");
        assert_eq!(listed[0].attempts, notifications::MAX_ATTEMPTS);
        assert!(outbox::due(&db, now + 1_000_000, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(outbox::backlog(&db).await.unwrap(), (0, 1));

        // A message sent is recorded with its time, and its link no longer kept.
        queue(&db, &t, "billing@acme.test", true).await;
        let due = outbox::due(&db, now, 10).await.unwrap();
        outbox::record_attempt(&db, &due[0].id, Ok(()), now)
            .await
            .unwrap();
        let listed = outbox::deliveries(&db, &t, 10).await.unwrap();
        let sent = listed.iter().find(|m| m.to == "billing@acme.test").unwrap();
        assert_eq!(
            (sent.status.as_str(), sent.delivered_at),
            ("delivered", Some(now))
        );
        let kept: Vec<String> = db
            .fetch_all("SELECT body FROM email_outbox", vec![])
            .await
            .unwrap()
            .iter()
            .map(|row| sqlx::Row::try_get(row, "body").unwrap())
            .collect();
        assert!(kept.iter().all(|body| body.is_empty()), "{kept:?}");
    }
);
