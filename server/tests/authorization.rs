//! The authorization matrix: every page, server function, REST route and /auth endpoint,
//! tried as anonymous, as each role, as the Owner of another tenant, as an operator, and
//! with a token of each scope. It fails on data seen or an action allowed beyond the role,
//! and it fails when the application has a route this matrix does not list.

mod common;

use std::collections::BTreeSet;

use bandpool_domain::auth::Scope;
use common::{Seed, TestApp, ADMIN, OPERATOR, OUTSIDER, OWNER, REVIEWER};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Need {
    /// Anyone (the sign-in pages, health, the API description).
    Public,
    /// Any signed-in person (sign out, switch tenant, who am I).
    SignedIn,
    /// Every member (Reviewer and up); tokens of either scope, on /api/ routes.
    Read,
    /// Admins and Owners; no token.
    Manage,
    /// Owners only; no token.
    Owners,
    /// Operators only.
    Operator,
}

/// One route: (method, pattern as the router has it, a concrete request, form fields).
struct Route {
    method: &'static str,
    pattern: &'static str,
    url: &'static str,
    fields: &'static [(&'static str, &'static str)],
    need: Need,
}

const fn r(
    method: &'static str,
    pattern: &'static str,
    url: &'static str,
    fields: &'static [(&'static str, &'static str)],
    need: Need,
) -> Route {
    Route {
        method,
        pattern,
        url,
        fields,
        need,
    }
}

const NONE: &[(&str, &str)] = &[];
const BOGUS: &str = "00000000-0000-0000-0000-000000000000";

use Need::*;

/// The matrix. A new route must be added here, with who may use it.
const MATRIX: &[Route] = &[
    // Pages
    r(
        "get",
        "/license-repository",
        "/license-repository",
        NONE,
        Read,
    ),
    r("get", "/event-log", "/event-log", NONE, Read),
    r("get", "/users", "/users", NONE, Owners),
    r("get", "/api-tokens", "/api-tokens", NONE, Manage),
    r("get", "/tenants", "/tenants", NONE, Operator),
    r("get", "/sign-in", "/sign-in", NONE, Public),
    r("get", "/forgot-password", "/forgot-password", NONE, Public),
    r(
        "get",
        "/reset-password",
        "/reset-password?token=x",
        NONE,
        Public,
    ),
    r("get", "/invitation", "/invitation?token=x", NONE, Public),
    // REST
    r("get", "/api/v1/pool", "/api/v1/pool", NONE, Read),
    r(
        "get",
        "/api/v1/pool/allocation/monthly",
        "/api/v1/pool/allocation/monthly",
        NONE,
        Read,
    ),
    r(
        "get",
        "/api/v1/pool/allocation/daily",
        "/api/v1/pool/allocation/daily?month=2026-10",
        NONE,
        Read,
    ),
    r("get", "/api/v1/licenses", "/api/v1/licenses", NONE, Read),
    r(
        "get",
        "/api/v1/licenses/{id}/history",
        "/api/v1/licenses/LICENSE/history",
        NONE,
        Read,
    ),
    r(
        "get",
        "/api/v1/licenses/export.csv",
        "/api/v1/licenses/export.csv",
        NONE,
        Read,
    ),
    r("get", "/api/v1/events", "/api/v1/events", NONE, Read),
    r(
        "get",
        "/api/v1/events/export.csv",
        "/api/v1/events/export.csv",
        NONE,
        Read,
    ),
    r(
        "get",
        "/api/v1/openapi.json",
        "/api/v1/openapi.json",
        NONE,
        Public,
    ),
    // Server functions
    r(
        "post",
        "/_server/get_pool_view",
        "/_server/get_pool_view",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/get_allocation_view",
        "/_server/get_allocation_view",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/list_license_page",
        "/_server/list_license_page",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/get_license_history",
        "/_server/get_license_history",
        &[("license_id", "LICENSE")],
        Read,
    ),
    r(
        "post",
        "/_server/list_events",
        "/_server/list_events",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/get_team",
        "/_server/get_team",
        NONE,
        Owners,
    ),
    r(
        "post",
        "/_server/invite_user",
        "/_server/invite_user",
        &[("email", "new.person@demo.test"), ("role", "owner")],
        Owners,
    ),
    r(
        "post",
        "/_server/reinvite_user",
        "/_server/reinvite_user",
        &[("invitation_id", BOGUS)],
        Owners,
    ),
    r(
        "post",
        "/_server/revoke_invitation",
        "/_server/revoke_invitation",
        &[("invitation_id", BOGUS)],
        Owners,
    ),
    r(
        "post",
        "/_server/change_role",
        "/_server/change_role",
        &[("user_id", "ADMIN_ID"), ("role", "admin")],
        Owners,
    ),
    r(
        "post",
        "/_server/remove_member",
        "/_server/remove_member",
        &[("user_id", BOGUS)],
        Owners,
    ),
    r(
        "post",
        "/_server/list_tokens",
        "/_server/list_tokens",
        NONE,
        Manage,
    ),
    r(
        "post",
        "/_server/create_token",
        "/_server/create_token",
        &[
            ("name", "matrix"),
            ("scope", "read_write"),
            ("expires_in_days", ""),
        ],
        Manage,
    ),
    r(
        "post",
        "/_server/revoke_token",
        "/_server/revoke_token",
        &[("token_id", BOGUS)],
        Manage,
    ),
    r(
        "post",
        "/_server/list_tenants",
        "/_server/list_tenants",
        NONE,
        Operator,
    ),
    r(
        "post",
        "/_server/create_tenant",
        "/_server/create_tenant",
        &[
            ("name", "Matrix Corp"),
            ("owner_email", "boss@matrix.test"),
            ("max_capacity_mbps", "100"),
            ("loadmaster_limit", "1"),
        ],
        Operator,
    ),
    r(
        "post",
        "/_server/get_viewer",
        "/_server/get_viewer",
        NONE,
        Public,
    ),
    r(
        "post",
        "/_server/get_sign_in_options",
        "/_server/get_sign_in_options",
        NONE,
        Public,
    ),
    r(
        "post",
        "/_server/get_invitation",
        "/_server/get_invitation",
        &[("token", "x")],
        Public,
    ),
    r(
        "post",
        "/_server/check_reset_link",
        "/_server/check_reset_link",
        &[("token", "x")],
        Public,
    ),
    // Sign-in endpoints
    r(
        "post",
        "/auth/sign-in",
        "/auth/sign-in",
        &[
            ("email", "nobody@demo.test"),
            ("password", "wrong password!"),
        ],
        Public,
    ),
    r("get", "/auth/sso", "/auth/sso", NONE, Public),
    r(
        "get",
        "/auth/oidc/callback",
        "/auth/oidc/callback?code=x&state=y",
        NONE,
        Public,
    ),
    r(
        "post",
        "/auth/forgot-password",
        "/auth/forgot-password",
        &[("email", "nobody@demo.test")],
        Public,
    ),
    r(
        "post",
        "/auth/reset-password",
        "/auth/reset-password",
        &[
            ("token", "x"),
            ("password", "long enough password"),
            ("confirm", "long enough password"),
        ],
        Public,
    ),
    r(
        "post",
        "/auth/invitation",
        "/auth/invitation",
        &[
            ("token", "x"),
            ("password", "long enough password"),
            ("confirm", "long enough password"),
        ],
        Public,
    ),
    r(
        "post",
        "/auth/tenant",
        "/auth/tenant",
        &[("tenant_id", "OTHER_TENANT")],
        SignedIn,
    ),
    r("post", "/auth/sign-out", "/auth/sign-out", NONE, Public),
    r(
        "post",
        "/auth/sign-out-everywhere",
        "/auth/sign-out-everywhere",
        NONE,
        SignedIn,
    ),
];

/// Every route the application serves, from the sources the router is built from.
fn application_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for page in leptos_axum::generate_route_list(app::App) {
        routes.insert(("get".to_string(), page.path().to_string()));
    }
    for (path, method) in server_fn::axum::server_fn_paths() {
        routes.insert((method.as_str().to_lowercase(), path.to_string()));
    }
    for (method, path) in bandpool_server::api::ROUTES {
        routes.insert((method.to_string(), path.to_string()));
    }
    for (method, path) in bandpool_server::auth::ROUTES {
        routes.insert((method.to_string(), path.to_string()));
    }
    routes
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
        Owners => matches!(who, Who::Owner | Who::Outsider),
    }
}

app_test!(
    each_principal_gets_exactly_its_roles_access,
    Seed::Demo(40),
    |app: TestApp| async move {
        let tenant = app.tenant_id.clone().unwrap();
        let other = app.other_tenant_id.clone().unwrap();
        let license_id = bandpool_store::licenses::list(&app.db, &tenant, &Default::default())
            .await
            .unwrap()
            .licenses[0]
            .id
            .clone();
        let admin_id = bandpool_store::accounts::user_by_email(&app.db, ADMIN)
            .await
            .unwrap()
            .unwrap()
            .id;
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
                let url = app.url(&route.url.replace("LICENSE", &license_id));
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
                let request = match route.method {
                    "get" => client.get(&url),
                    _ => client
                        .post(&url)
                        .header("accept", "application/json")
                        .header("origin", &app.base)
                        .form(&fields),
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let body = response.text().await.unwrap_or_default();
                let refused = matches!(status, 401 | 403)
                    || (status == 303 && location.starts_with("/sign-in?next="));
                let context = format!(
                    "{who:?} {} {} → {status} {location} {}",
                    route.method,
                    route.url,
                    &body[..body.len().min(300)]
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
