//! Every route the application serves, with who may use it and one concrete request that
//! reaches its handler: the authorization matrix tries each as every kind of principal, and
//! the fuzz suite grows hostile requests from them. `authorization.rs` fails when the
//! application has a route this list lacks.

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Need {
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

/// One route: its method, its pattern as the router has it, a concrete request that
/// reaches its handler (the url, with form fields), and who may use it.
pub struct Route {
    pub method: &'static str,
    pub pattern: &'static str,
    pub url: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
    pub need: Need,
}

pub const NONE: &[(&str, &str)] = &[];
pub const BOGUS: &str = "00000000-0000-0000-0000-000000000000";

/// A route whose pattern is itself a concrete request, with no form fields; `at` and `with`
/// say otherwise where a route needs them.
const fn route(method: &'static str, pattern: &'static str, need: Need) -> Route {
    Route {
        method,
        pattern,
        url: pattern,
        fields: NONE,
        need,
    }
}

const fn get(pattern: &'static str, need: Need) -> Route {
    route("get", pattern, need)
}

const fn post(pattern: &'static str, need: Need) -> Route {
    route("post", pattern, need)
}

const fn put(pattern: &'static str, need: Need) -> Route {
    route("put", pattern, need)
}

const fn delete(pattern: &'static str, need: Need) -> Route {
    route("delete", pattern, need)
}

impl Route {
    /// Request `url` (the pattern with its ids filled in, or with a query).
    const fn at(self, url: &'static str) -> Route {
        Route { url, ..self }
    }

    /// Send these form fields.
    const fn with(self, fields: &'static [(&'static str, &'static str)]) -> Route {
        Route { fields, ..self }
    }
}

/// An operator's entitlement form for the other tenant.
const ENTITLEMENT_FORM: &[(&str, &str)] = &[
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
];

/// An operator's form for a new tenant.
const NEW_TENANT_FORM: &[(&str, &str)] = &[
    ("name", "Matrix Corp"),
    ("owner_email", "boss@matrix.test"),
    ("max_capacity_mbps", "100"),
    ("loadmaster_limit", "1"),
];

/// A password chosen from an emailed link (reset or invitation), typed twice.
const PASSWORD_FORM: &[(&str, &str)] = &[
    ("token", "x"),
    ("password", "long enough password"),
    ("confirm", "long enough password"),
];

/// A trial license for one LoadMaster, offline (asked again, it is refused as a temporary
/// license on top of a temporary one: a domain refusal, never 401 or 403).
const OFFLINE_FORM: &[(&str, &str)] = &[
    ("idempotency_key", "offline-matrix-1"),
    ("platform", "hardware"),
    ("action", "trial"),
    ("serial_no", "7700001"),
    ("access_code", "LM-MATRIX-00000001"),
    ("firmware_version", "7.2.60.0"),
    ("ip_address", "10.77.0.1"),
];

/// The same, as the page's form names its fields.
const OFFLINE_PAGE_FORM: &[(&str, &str)] = &[
    ("request[idempotency_key]", "offline-matrix-2"),
    ("request[platform]", "hardware"),
    ("request[action]", "trial"),
    ("request[serial_no]", "7700002"),
    ("request[access_code]", "LM-MATRIX-00000002"),
    ("request[firmware_version]", "7.2.60.0"),
    ("request[ip_address]", "10.77.0.2"),
];

use Need::*;

/// The matrix. A new route must be added here, with who may use it.
pub const MATRIX: &[Route] = &[
    // Pages
    get("/license-repository", Read),
    get("/event-log", Read),
    get("/users", Owners),
    get("/api-tokens", Manage),
    get("/connectors", Read),
    get("/metered/activations", Read),
    get("/metered/usage", Read),
    get("/metered/report", Read),
    get("/licenses", Read),
    get("/offline-licensing", Change),
    post("/_server/get_licenses_page", Read).with(&[("sort", ""), ("order", "")]),
    post("/_server/get_metered_view", Read),
    post("/_server/get_loadmaster_peaks", Read).with(&[("month", ""), ("search", ""), ("sort", ""), ("order", ""), ("page", "")]),
    post("/_server/get_daily_peaks", Read).with(&[("license_id", BOGUS), ("month", "")]),
    get("/usage-and-billing", Read),
    get("/applications", Read),
    get("/notifications", Manage),
    get("/tenants/{id}/entitlement", Operator).at("/tenants/OTHER_TENANT/entitlement"),
    get("/tenants", Operator),
    get("/sign-in", Public),
    get("/forgot-password", Public),
    get("/reset-password", Public).at("/reset-password?token=x"),
    get("/invitation", Public).at("/invitation?token=x"),
    // REST
    get("/api/v1/pool", Read),
    get("/api/v1/pool/allocation/monthly", Read),
    get("/api/v1/pool/allocation/daily", Read).at("/api/v1/pool/allocation/daily?month=2026-10"),
    get("/api/v1/licenses", Read),
    get("/api/v1/licenses/{id}/history", Read).at("/api/v1/licenses/LICENSE/history"),
    get("/api/v1/licenses/export.csv", Read),
    post("/api/v1/licenses/{id}/kill", Change)
        .at("/api/v1/licenses/LICENSE/kill")
        .with(&[("confirm", "KILL")]),
    post("/api/v1/licenses/sync", Change),
    get("/api/v1/licenses/sync/{id}", Read)
        .at("/api/v1/licenses/sync/00000000-0000-0000-0000-000000000000"),
    get("/api/v1/connectors", Read),
    post("/api/v1/connectors", Change).with(&[("name", "matrix")]),
    post("/api/v1/connectors/{id}/diagnostics", Change)
        .at("/api/v1/connectors/00000000-0000-0000-0000-000000000000/diagnostics"),
    get("/api/v1/devices", Read),
    get("/api/v1/usage", Read),
    get("/api/v1/usage/export.csv", Read),
    get("/api/v1/entitlements", Read),
    post("/api/v1/entitlements/sync", Change),
    get("/api/v1/entitlements/sync/{id}", Read)
        .at("/api/v1/entitlements/sync/00000000-0000-0000-0000-000000000000"),
    get("/api/v1/metered/usage", Read),
    get("/api/v1/metered/months", Read),
    get("/api/v1/metered/loadmasters", Read),
    get("/api/v1/metered/loadmasters/{id}/daily", Read)
        .at("/api/v1/metered/loadmasters/00000000-0000-0000-0000-000000000000/daily"),
    get("/api/v1/metered/activations", Read),
    get("/api/v1/metered/activations.csv", Read),
    get("/api/v1/metered/report", Read),
    get("/api/v1/orders", Read),
    get("/api/v1/subscriptions", Read),
    get("/api/v1/licensing-key", Public),
    post("/api/v1/offline-licenses", Change).with(OFFLINE_FORM),
    get("/api/v1/tenants/{id}/orders", Operator).at("/api/v1/tenants/OTHER_TENANT/orders"),
    post("/api/v1/tenants/{id}/orders", Operator)
        .at("/api/v1/tenants/OTHER_TENANT/orders")
        .with(&[("order_id", "ORD-MATRIX")]),
    get("/api/v1/metered/report/download", Read),
    get("/api/v1/metered/report/pdf", Read),
    get("/api/v1/metered/reporting", Read),
    put("/api/v1/metered/reporting", Change),
    post("/api/v1/metered/reporting/upload", Change),
    post("/api/v1/metered/reporting/retry", Change),
    post("/api/v1/metered/activations/unblock", Change),
    put("/api/v1/metered/settings", Change),
    get("/api/v1/applications", Read),
    post("/api/v1/applications", Change).with(&[("name", "matrix app")]),
    post("/api/v1/applications/quick-map", Change),
    delete("/api/v1/applications/{id}", Change)
        .at("/api/v1/applications/00000000-0000-0000-0000-000000000000"),
    put("/api/v1/applications/{id}/virtual-services/{vs}", Change)
        .at("/api/v1/applications/00000000-0000-0000-0000-000000000000/virtual-services/00000000-0000-0000-0000-000000000000"),
    delete("/api/v1/applications/{id}/virtual-services/{vs}", Change)
        .at("/api/v1/applications/00000000-0000-0000-0000-000000000000/virtual-services/00000000-0000-0000-0000-000000000000"),
    get("/api/v1/virtual-services", Read),
    get("/api/v1/notifications/channels", Change),
    put("/api/v1/notifications/channels", Change),
    get("/api/v1/notifications/webhook-deliveries", Change),
    get("/api/v1/notifications/email-deliveries", Change),
    delete("/api/v1/devices/{id}", Change)
        .at("/api/v1/devices/00000000-0000-0000-0000-000000000000"),
    post("/api/v1/devices/{id}/block", Change)
        .at("/api/v1/devices/00000000-0000-0000-0000-000000000000/block"),
    post("/api/v1/devices/{id}/unblock", Change)
        .at("/api/v1/devices/00000000-0000-0000-0000-000000000000/unblock"),
    put("/api/v1/devices/{id}/partners", Change)
        .at("/api/v1/devices/00000000-0000-0000-0000-000000000000/partners"),
    post("/api/v1/connector/register", Public).with(&[
        ("registration_token", "bpr_guess"),
        ("version", "1"),
    ]),
    post("/api/v1/connector/heartbeat", ConnectorOnly).with(&[("version", "1")]),
    post("/api/v1/connector/diagnostics", ConnectorOnly),
    post("/api/v1/connector/checks", ConnectorOnly).with(&[("idempotency_key", "matrix-key-1")]),
    post("/api/v1/connector/usage", ConnectorOnly).with(&[("idempotency_key", "matrix-key-2")]),
    post("/api/v1/connector/activations", ConnectorOnly),
    post("/api/v1/connector/availability", ConnectorOnly),
    post("/api/v1/connector/updates", ConnectorOnly),
    post("/api/v1/connector/transfers", ConnectorOnly),
    post("/api/v1/connector/owner-changes", ConnectorOnly),
    post("/api/v1/connector/deactivations", ConnectorOnly),
    get("/api/v1/connector/commands", ConnectorOnly),
    post("/api/v1/connector/commands/{id}/ack", ConnectorOnly)
        .at("/api/v1/connector/commands/00000000-0000-0000-0000-000000000000/ack"),
    get("/api/v1/events", Read),
    get("/api/v1/events/export.csv", Read),
    get("/api/v1/openapi.json", Public),
    // Server functions
    post("/_server/get_pool_view", Read),
    post("/_server/get_allocation_view", Read),
    post("/_server/list_license_page", Read),
    post("/_server/get_license_history", Read).with(&[("license_id", "LICENSE")]),
    post("/_server/kill_license", Change).with(&[("license_id", "LICENSE"), ("confirm", "KILL")]),
    post("/_server/sync_licenses", Change),
    post("/_server/get_sync_run", Read),
    post("/_server/list_connectors", Read),
    post("/_server/create_connector", Change).with(&[("name", "matrix-fn")]),
    post("/_server/request_diagnostics", Change).with(&[("connector_id", BOGUS)]),
    post("/_server/list_devices", Read),
    post("/_server/get_activations", Read).with(&[("statuses", "")]),
    post("/_server/get_metered_month", Read).with(&[("month", "")]),
    post("/_server/get_metered_report", Read).with(&[("from", ""), ("to", "")]),
    post("/_server/get_reporting_status", Read),
    post("/_server/apply_reporting", Change).with(&[("upload", "on"), ("bcc", "")]),
    post("/_server/upload_report_now", Change),
    post("/_server/retry_report_upload", Change),
    post("/_server/unblock_activations", Change).with(&[("license_ids[]", BOGUS)]),
    post("/_server/set_block_after", Change).with(&[("seconds", "3600")]),
    post("/_server/change_device", Change).with(&[("device_id", BOGUS), ("change", "block")]),
    post("/_server/set_device_partners", Change).with(&[
        ("device_id", BOGUS),
        ("ha_partner_serial", ""),
        ("geo_partner_serials", ""),
    ]),
    post("/_server/get_usage_overview", Read),
    post("/_server/list_applications", Read).with(&[("page", "1"), ("per_page", "10")]),
    post("/_server/list_all_applications", Read),
    post("/_server/sync_entitlements", Change),
    post("/_server/get_entitlement_sync", Read).with(&[("id", BOGUS)]),
    post("/_server/list_virtual_services", Read),
    post("/_server/change_application", Change).with(&[("op", "quick_map")]),
    post("/_server/get_channels", Change),
    post("/_server/set_channels", Change).with(&[("email_recipients", "owner@demo.test")]),
    post("/_server/get_tenant_entitlement", Operator).with(&[("tenant_id", "OTHER_TENANT")]),
    post("/_server/set_tenant_entitlement", Operator).with(ENTITLEMENT_FORM),
    post("/_server/get_metered_contract", Operator).with(&[("tenant_id", "OTHER_TENANT")]),
    post("/_server/get_offline_form", Change),
    post("/_server/generate_offline_license", Change).with(OFFLINE_PAGE_FORM),
    post("/_server/get_tenant_orders", Operator).with(&[("tenant_id", "OTHER_TENANT")]),
    post("/_server/record_order", Operator).with(&[
        ("tenant_id", "OTHER_TENANT"),
        ("order_id", "ORD-MATRIX"),
        ("support_tier", "enterprise_plus"),
        ("support_ends_on", "2099-12-31"),
        ("lines", "vlm-500=2"),
    ]),
    post("/_server/set_metered_contract", Operator).with(&[
        ("tenant_id", "OTHER_TENANT"),
        ("contract_id", "MELA-MATRIX"),
        ("max_activations", "10"),
        ("trial_ends_on", ""),
        ("tiers", "0=Tier 1"),
    ]),
    post("/_server/list_events", Read),
    post("/_server/get_team", Owners),
    post("/_server/invite_user", Owners).with(&[
        ("email", "new.person@demo.test"),
        ("role", "owner"),
    ]),
    post("/_server/reinvite_user", Owners).with(&[("invitation_id", BOGUS)]),
    post("/_server/revoke_invitation", Owners).with(&[("invitation_id", BOGUS)]),
    post("/_server/change_role", Owners).with(&[("user_id", "ADMIN_ID"), ("role", "admin")]),
    post("/_server/remove_member", Owners).with(&[("user_id", BOGUS)]),
    post("/_server/list_tokens", Manage),
    post("/_server/create_token", Manage).with(&[
        ("name", "matrix"),
        ("scope", "read_write"),
        ("expires_in_days", ""),
    ]),
    post("/_server/revoke_token", Manage).with(&[("token_id", BOGUS)]),
    post("/_server/list_tenants", Operator),
    post("/_server/create_tenant", Operator).with(NEW_TENANT_FORM),
    post("/_server/get_viewer", Public),
    post("/_server/get_sign_in_options", Public),
    post("/_server/get_invitation", Public).with(&[("token", "x")]),
    post("/_server/check_reset_link", Public).with(&[("token", "x")]),
    // Sign-in endpoints
    post("/auth/sign-in", Public).with(&[
        ("email", "nobody@demo.test"),
        ("password", "wrong password!"),
    ]),
    get("/auth/sso", Public),
    // The way in, health, and metrics (read from this machine, as the tests are).
    get("/", Public),
    get("/healthz", Public),
    get("/metrics", Public),
    get("/auth/oidc/callback", Public).at("/auth/oidc/callback?code=x&state=y"),
    post("/auth/forgot-password", Public).with(&[("email", "nobody@demo.test")]),
    post("/auth/reset-password", Public).with(PASSWORD_FORM),
    post("/auth/invitation", Public).with(PASSWORD_FORM),
    post("/auth/tenant", SignedIn).with(&[("tenant_id", "OTHER_TENANT")]),
    post("/auth/sign-out", Public),
    post("/auth/sign-out-everywhere", SignedIn),
    // The live pages' change stream, and the Columns menu without JavaScript.
    get("/live", Read),
    post("/license-repository/columns", Public).with(&[("show", "device_name"), ("_next", "/license-repository")]),
];

/// Routes whose answer is an endless stream: a test reads their status, never their body.
pub const STREAMS: &[&str] = &["/live"];
