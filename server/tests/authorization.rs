//! The authorization matrix: every page, server function, REST route and /auth endpoint,
//! tried as anonymous, as each role, as the Owner of another tenant, as an operator, and
//! with a token of each scope. It fails on data seen or an action allowed beyond the role,
//! and it fails when the application has a route this matrix does not list.

mod common;

use std::collections::BTreeSet;

use bandpool_domain::auth::Scope;
use common::routes::{Need::*, Route, MATRIX};
use common::{Seed, TestApp, ADMIN, OPERATOR, OUTSIDER, OWNER, REVIEWER};

/// Every route the application serves: the lists the router is built from.
fn application_routes() -> BTreeSet<(String, String)> {
    bandpool_server::web::routes().into_iter().collect()
}

#[tokio::test]
async fn every_route_has_an_entry_in_the_matrix() {
    let listed: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|r| (r.method.to_string(), r.pattern.to_string()))
        .collect();
    let served = application_routes();
    let missing: Vec<_> = served.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without an entry in the authorization matrix: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "matrix entries for routes the application does not have: {stale:?}"
    );
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    Owner,
    Admin,
    Reviewer,
    /// The Owner of another tenant.
    Outsider,
    /// An operator with no tenant.
    Operator,
    ReadToken,
    WriteToken,
}

const EVERYONE: [Who; 8] = [
    Who::Anonymous,
    Who::Owner,
    Who::Admin,
    Who::Reviewer,
    Who::Outsider,
    Who::Operator,
    Who::ReadToken,
    Who::WriteToken,
];

fn may(who: Who, route: &Route) -> bool {
    let api = route.pattern.starts_with("/api/");
    match route.need {
        Public => true,
        SignedIn => !matches!(who, Who::Anonymous | Who::ReadToken | Who::WriteToken),
        Operator => who == Who::Operator,
        // Written out here rather than asked of the policy, so a change to the policy that
        // widens a role fails this test.
        Read => match who {
            Who::Owner | Who::Outsider | Who::Admin | Who::Reviewer => true,
            Who::ReadToken | Who::WriteToken => api,
            Who::Anonymous | Who::Operator => false,
        },
        Manage => matches!(who, Who::Owner | Who::Outsider | Who::Admin),
        Change => match who {
            Who::Owner | Who::Outsider | Who::Admin => true,
            Who::WriteToken => api,
            _ => false,
        },
        ConnectorOnly => false,
        Owners => matches!(who, Who::Owner | Who::Outsider),
    }
}

app_test!(
    each_principal_gets_exactly_its_roles_access,
    Seed::Demo(40),
    |app: TestApp| async move {
        let other = app.other_tenant_id.clone().unwrap();
        let license_id = app.first_license_id().await;
        let admin_id = app.user_id(ADMIN).await;
        // Markers only the demo tenant's data contains.
        let markers = [
            license_id.clone(),
            "Demo Networks".to_string(),
            REVIEWER.to_string(),
        ];
        let read = app.token_for(OWNER, Scope::Read).await;
        let write = app.token_for(OWNER, Scope::ReadWrite).await;

        for route in MATRIX {
            for who in EVERYONE {
                let client = match who {
                    Who::Anonymous => app.anonymous(),
                    Who::Owner => app.client_as(OWNER).await,
                    Who::Admin => app.client_as(ADMIN).await,
                    Who::Reviewer => app.client_as(REVIEWER).await,
                    Who::Outsider => app.client_as(OUTSIDER).await,
                    Who::Operator => app.client_as(OPERATOR).await,
                    Who::ReadToken => app.bearer(&read),
                    Who::WriteToken => app.bearer(&write),
                };
                let url = app.url(
                    &route
                        .url
                        .replace("LICENSE", &license_id)
                        .replace("OTHER_TENANT", &other),
                );
                let fields: Vec<(String, String)> = route
                    .fields
                    .iter()
                    .map(|(k, v)| {
                        let v = v
                            .replace("LICENSE", &license_id)
                            .replace("ADMIN_ID", &admin_id)
                            .replace("OTHER_TENANT", &other);
                        (k.to_string(), v)
                    })
                    .collect();
                let api = route.pattern.starts_with("/api/");
                let request = match route.method {
                    "get" => client.get(&url),
                    "delete" => client.delete(&url).header("origin", &app.base),
                    "put" => client.put(&url).header("origin", &app.base).json(
                        &fields
                            .iter()
                            .cloned()
                            .collect::<std::collections::HashMap<_, _>>(),
                    ),
                    // The REST API takes JSON bodies.
                    _ if api => client.post(&url).header("origin", &app.base).json(
                        &fields
                            .iter()
                            .cloned()
                            .collect::<std::collections::HashMap<_, _>>(),
                    ),
                    _ => client
                        .post(&url)
                        .header("accept", "application/json")
                        .header("origin", &app.base)
                        .form(&fields),
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let location = common::location(&response);
                // A stream says nothing of anyone's data (its own test shows it); its body
                // never ends.
                let body = if common::routes::STREAMS.contains(&route.pattern) {
                    String::new()
                } else {
                    response.text().await.unwrap_or_default()
                };
                // A rate limit on guessed credentials is a refusal too.
                let refused = matches!(status, 401 | 403 | 429)
                    || (status == 303 && location.starts_with("/sign-in?next="));
                let context = format!(
                    "{who:?} {} {} → {status} {location} {}",
                    route.method,
                    route.url,
                    body.chars().take(300).collect::<String>()
                );
                if may(who, route) {
                    if route.need != Public {
                        assert!(!refused, "refused but allowed: {context}");
                        assert!(status < 500, "{context}");
                    }
                } else {
                    assert!(refused, "allowed beyond the role: {context}");
                }
                // Nobody outside the demo tenant ever sees its data (an operator sees the
                // tenant's name on the Tenants page, and nothing else of it).
                if !matches!(
                    who,
                    Who::Owner | Who::Admin | Who::Reviewer | Who::ReadToken | Who::WriteToken
                ) {
                    for marker in &markers {
                        if who == Who::Operator
                            && route.need == Operator
                            && marker == "Demo Networks"
                        {
                            continue;
                        }
                        assert!(
                            !body.contains(marker.as_str()),
                            "{who:?} saw {marker}: {context}"
                        );
                    }
                }
            }
        }
    }
);
