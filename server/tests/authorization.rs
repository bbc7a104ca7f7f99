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
    /// Admins and Owners; on /api/ routes also read+write tokens (not read tokens).
    Change,
    /// Connector credentials only: no session and no API token of any kind.
    ConnectorOnly,
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
    r("get", "/connectors", "/connectors", NONE, Read),
    r("get", "/usage-and-billing", "/usage-and-billing", NONE, Read),
    r("get", "/applications", "/applications", NONE, Read),
    r("get", "/notifications", "/notifications", NONE, Manage),
    r(
        "get",
        "/tenants/{id}/entitlement",
        "/tenants/OTHER_TENANT/entitlement",
        NONE,
        Operator,
    ),
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
    r(
        "post",
        "/api/v1/licenses/{id}/kill",
        "/api/v1/licenses/LICENSE/kill",
        &[("confirm", "KILL")],
        Change,
    ),
    r(
        "post",
        "/api/v1/licenses/sync",
        "/api/v1/licenses/sync",
        NONE,
        Change,
    ),
    r(
        "get",
        "/api/v1/licenses/sync/{id}",
        "/api/v1/licenses/sync/00000000-0000-0000-0000-000000000000",
        NONE,
        Read,
    ),
    r(
        "get",
        "/api/v1/connectors",
        "/api/v1/connectors",
        NONE,
        Read,
    ),
    r(
        "post",
        "/api/v1/connectors",
        "/api/v1/connectors",
        &[("name", "matrix")],
        Change,
    ),
    r("get", "/api/v1/devices", "/api/v1/devices", NONE, Read),
    r("get", "/api/v1/usage", "/api/v1/usage", NONE, Read),
    r(
        "get",
        "/api/v1/usage/export.csv",
        "/api/v1/usage/export.csv",
        NONE,
        Read,
    ),
    r("get", "/api/v1/entitlements", "/api/v1/entitlements", NONE, Read),
    r(
        "post",
        "/api/v1/entitlements/sync",
        "/api/v1/entitlements/sync",
        NONE,
        Change,
    ),
    r(
        "get",
        "/api/v1/entitlements/sync/{id}",
        "/api/v1/entitlements/sync/00000000-0000-0000-0000-000000000000",
        NONE,
        Read,
    ),
    r("get", "/api/v1/applications", "/api/v1/applications", NONE, Read),
    r(
        "post",
        "/api/v1/applications",
        "/api/v1/applications",
        &[("name", "matrix app")],
        Change,
    ),
    r(
        "post",
        "/api/v1/applications/quick-map",
        "/api/v1/applications/quick-map",
        NONE,
        Change,
    ),
    r(
        "delete",
        "/api/v1/applications/{id}",
        "/api/v1/applications/00000000-0000-0000-0000-000000000000",
        NONE,
        Change,
    ),
    r(
        "put",
        "/api/v1/applications/{id}/virtual-services/{vs}",
        "/api/v1/applications/00000000-0000-0000-0000-000000000000/virtual-services/00000000-0000-0000-0000-000000000000",
        NONE,
        Change,
    ),
    r(
        "delete",
        "/api/v1/applications/{id}/virtual-services/{vs}",
        "/api/v1/applications/00000000-0000-0000-0000-000000000000/virtual-services/00000000-0000-0000-0000-000000000000",
        NONE,
        Change,
    ),
    r(
        "get",
        "/api/v1/virtual-services",
        "/api/v1/virtual-services",
        NONE,
        Read,
    ),
    r(
        "get",
        "/api/v1/notifications/channels",
        "/api/v1/notifications/channels",
        NONE,
        Change,
    ),
    r(
        "put",
        "/api/v1/notifications/channels",
        "/api/v1/notifications/channels",
        NONE,
        Change,
    ),
    r(
        "get",
        "/api/v1/notifications/webhook-deliveries",
        "/api/v1/notifications/webhook-deliveries",
        NONE,
        Change,
    ),
    r(
        "delete",
        "/api/v1/devices/{id}",
        "/api/v1/devices/00000000-0000-0000-0000-000000000000",
        NONE,
        Change,
    ),
    r(
        "post",
        "/api/v1/devices/{id}/block",
        "/api/v1/devices/00000000-0000-0000-0000-000000000000/block",
        NONE,
        Change,
    ),
    r(
        "post",
        "/api/v1/devices/{id}/unblock",
        "/api/v1/devices/00000000-0000-0000-0000-000000000000/unblock",
        NONE,
        Change,
    ),
    r(
        "post",
        "/api/v1/connector/register",
        "/api/v1/connector/register",
        &[("registration_token", "bpr_guess"), ("version", "1")],
        Public,
    ),
    r(
        "post",
        "/api/v1/connector/heartbeat",
        "/api/v1/connector/heartbeat",
        &[("version", "1")],
        ConnectorOnly,
    ),
    r(
        "post",
        "/api/v1/connector/checks",
        "/api/v1/connector/checks",
        &[("idempotency_key", "matrix-key-1")],
        ConnectorOnly,
    ),
    r(
        "post",
        "/api/v1/connector/activations",
        "/api/v1/connector/activations",
        NONE,
        ConnectorOnly,
    ),
    r(
        "post",
        "/api/v1/connector/deactivations",
        "/api/v1/connector/deactivations",
        NONE,
        ConnectorOnly,
    ),
    r(
        "get",
        "/api/v1/connector/commands",
        "/api/v1/connector/commands",
        NONE,
        ConnectorOnly,
    ),
    r(
        "post",
        "/api/v1/connector/commands/{id}/ack",
        "/api/v1/connector/commands/00000000-0000-0000-0000-000000000000/ack",
        NONE,
        ConnectorOnly,
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
        "/_server/get_last_refreshed",
        "/_server/get_last_refreshed",
        NONE,
        Read,
    ),
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
        "/_server/kill_license",
        "/_server/kill_license",
        &[("license_id", "LICENSE"), ("confirm", "KILL")],
        Change,
    ),
    r(
        "post",
        "/_server/sync_licenses",
        "/_server/sync_licenses",
        NONE,
        Change,
    ),
    r(
        "post",
        "/_server/get_sync_run",
        "/_server/get_sync_run",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/list_connectors",
        "/_server/list_connectors",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/create_connector",
        "/_server/create_connector",
        &[("name", "matrix-fn")],
        Change,
    ),
    r(
        "post",
        "/_server/list_devices",
        "/_server/list_devices",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/change_device",
        "/_server/change_device",
        &[("device_id", BOGUS), ("change", "block")],
        Change,
    ),
    r(
        "post",
        "/_server/get_usage_overview",
        "/_server/get_usage_overview",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/list_applications",
        "/_server/list_applications",
        &[("page", "1"), ("per_page", "10")],
        Read,
    ),
    r(
        "post",
        "/_server/list_all_applications",
        "/_server/list_all_applications",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/sync_entitlements",
        "/_server/sync_entitlements",
        NONE,
        Change,
    ),
    r(
        "post",
        "/_server/get_entitlement_sync",
        "/_server/get_entitlement_sync",
        &[("id", BOGUS)],
        Read,
    ),
    r(
        "post",
        "/_server/list_virtual_services",
        "/_server/list_virtual_services",
        NONE,
        Read,
    ),
    r(
        "post",
        "/_server/change_application",
        "/_server/change_application",
        &[("op", "quick_map")],
        Change,
    ),
    r(
        "post",
        "/_server/get_channels",
        "/_server/get_channels",
        NONE,
        Change,
    ),
    r(
        "post",
        "/_server/set_channels",
        "/_server/set_channels",
        &[("email_recipients", "owner@demo.test")],
        Change,
    ),
    r(
        "post",
        "/_server/get_tenant_entitlement",
        "/_server/get_tenant_entitlement",
        &[("tenant_id", "OTHER_TENANT")],
        Operator,
    ),
    r(
        "post",
        "/_server/set_tenant_entitlement",
        "/_server/set_tenant_entitlement",
        &[
            ("tenant_id", "OTHER_TENANT"),
            ("owner_name", "Matrix Owner"),
            ("progress_id", ""),
            ("order_id", ""),
            ("plan", "LoadMaster 360 Pooled"),
            ("base_assets", "5"),
            ("status", "active"),
            ("activated_on", ""),
            ("bill_on", ""),
            ("next_bill_on", ""),
            ("max_capacity_mbps", "1000"),
            ("loadmaster_limit", "10"),
            ("add_ons", ""),
        ],
        Operator,
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
                let location = response
                    .headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let body = response.text().await.unwrap_or_default();
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
