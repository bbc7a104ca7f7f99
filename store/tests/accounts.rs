//! The data layer of sign-in on SQLite and PostgreSQL: sessions, the last Owner, single-use
//! links, token lookup, sweep leases.

use bandpool_domain::auth::{Role, Scope};
use bandpool_domain::AppError;
use bandpool_store::{accounts, db_test, leases, sessions, tenants, tokens, Db};

async fn tenant_with_owner(db: &Db) -> (String, String) {
    let mut tx = db.begin_write().await.unwrap();
    tenants::ensure_license_types(&mut tx).await.unwrap();
    let tenant = tenants::create_tenant(&mut tx, "T", 100, 1, 0)
        .await
        .unwrap();
    let owner = accounts::ensure_user(&mut tx, "o@t.test", 0).await.unwrap();
    accounts::add_member(&mut tx, &tenant, &owner, Role::Owner, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (tenant, owner)
}

/// What a token's secret grants at `now`, if anything.
async fn granted(db: &Db, secret: &str, now: i64) -> Option<tokens::TokenGrant> {
    tokens::authenticate(db, secret, now).await.unwrap()
}

db_test!(
    a_sweep_lease_has_one_holder_until_it_runs_out,
    |db: Db| async move {
        // Who asks for which lease when, whether they hold it then, and why.
        for (name, holder, now, held, why) in [
            ("sweep", "a", 1_000, true, "free: a takes it"),
            ("sweep", "b", 1_010, false, "held by a"),
            ("sweep", "a", 1_050, true, "a renews"),
            ("sweep", "b", 1_100, false, "renewed until 1110"),
            ("sweep", "b", 1_110, true, "run out: b takes it"),
            ("sweep", "a", 1_120, false, "held by b"),
            ("other", "a", 1_120, true, "leases are per name"),
        ] {
            let got = leases::try_acquire(&db, name, holder, now, 60)
                .await
                .unwrap();
            assert_eq!(got, held, "{why}");
        }
    }
);

db_test!(sessions_of_a_person_end_together, |db: Db| async move {
    sessions::save(&db, "s1", Some("u1"), "{}", 100)
        .await
        .unwrap();
    sessions::save(&db, "s2", Some("u1"), "{}", 100)
        .await
        .unwrap();
    sessions::save(&db, "s3", Some("u2"), "{}", 100)
        .await
        .unwrap();
    assert!(
        !sessions::insert_new(&db, "s1", None, "{}", 100)
            .await
            .unwrap(),
        "ids are unique"
    );
    assert_eq!(sessions::count_for_user(&db, "u1", 50).await.unwrap(), 2);
    let mut tx = db.begin_write().await.unwrap();
    assert_eq!(sessions::delete_for_user(&mut tx, "u1").await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert!(sessions::load(&db, "s3", 50).await.unwrap().is_some());
    assert!(
        sessions::load(&db, "s3", 100).await.unwrap().is_none(),
        "expired at 100"
    );
    assert_eq!(sessions::delete_expired(&db, 100).await.unwrap(), 1);
});

db_test!(
    links_work_once_and_the_last_owner_stays,
    |db: Db| async move {
        let (tenant, owner) = tenant_with_owner(&db).await;
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(
            accounts::change_role(&mut tx, &tenant, &owner, Role::Admin).await,
            Err(AppError::LastOwner)
        );
        drop(tx);
        let mut tx = db.begin_write().await.unwrap();
        let (_, link) =
            accounts::invite(&mut tx, &tenant, "n@t.test", Role::Reviewer, "o@t.test", 0)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        let open = accounts::open_invitation(&db, &link, 10).await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let user = accounts::ensure_user(&mut tx, &open.email, 10)
            .await
            .unwrap();
        accounts::accept_invitation(&mut tx, &open, &user, 10)
            .await
            .unwrap();
        assert_eq!(
            accounts::accept_invitation(&mut tx, &open, &user, 11).await,
            Err(AppError::LinkExpired)
        );
        tx.commit().await.unwrap();
        assert_eq!(
            accounts::open_invitation(&db, &link, 12).await,
            Err(AppError::LinkExpired)
        );

        let mut tx = db.begin_write().await.unwrap();
        let reset = accounts::create_password_reset(&mut tx, &user, 100)
            .await
            .unwrap();
        assert_eq!(
            accounts::use_password_reset(&mut tx, &reset, 101)
                .await
                .unwrap(),
            user
        );
        assert_eq!(
            accounts::use_password_reset(&mut tx, &reset, 102).await,
            Err(AppError::LinkExpired)
        );
        tx.commit().await.unwrap();
    }
);

db_test!(
    a_token_acts_with_its_creators_current_role,
    |db: Db| async move {
        let (tenant, owner) = tenant_with_owner(&db).await;
        let mut tx = db.begin_write().await.unwrap();
        let admin = accounts::ensure_user(&mut tx, "a@t.test", 0).await.unwrap();
        accounts::add_member(&mut tx, &tenant, &admin, Role::Admin, 0)
            .await
            .unwrap();
        let made = tokens::create(
            &mut tx,
            &tenant,
            &admin,
            "ci",
            Scope::ReadWrite,
            Some(1_000),
            0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let grant = granted(&db, &made.secret, 10).await.unwrap();
        assert_eq!((grant.role, grant.scope), (Role::Admin, Scope::ReadWrite));
        let mut tx = db.begin_write().await.unwrap();
        accounts::change_role(&mut tx, &tenant, &admin, Role::Reviewer)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let grant = granted(&db, &made.secret, 10).await.unwrap();
        assert_eq!(grant.role, Role::Reviewer, "demoted creator, demoted token");
        assert!(granted(&db, &made.secret, 1_000).await.is_none(), "expired");
        assert!(granted(&db, "bp_nope", 10).await.is_none());
        assert!(
            granted(&db, "connector_secret", 10).await.is_none(),
            "only bp_ tokens"
        );
        let _ = owner;
    }
);
